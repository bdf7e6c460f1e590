"""`narrate podcast SCRIPT`: a script or transcript into a publishable episode.

The episode runs as a book job of kind "podcast" (narration.podcast.job): the same Prefect
flow, segment store, checkpoints and retries; its outputs are the podcast steps of
narration.outputs (the audio, captions, show notes, the feed).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from narration.cli import (
    OutRoot,
    _quiet_prefect,
    _resolved_settings,
    _settings_from_options,
    app,
    narrate_job,
)
from narration.outputs import PODCAST, default_formats, steps

_AUDIO = [s.name for s in steps() if s.audio and PODCAST in s.kinds]


@app.command("podcast")
@click.argument("script", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--templates",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder of templates overriding ours (intro.txt.j2, outro.txt.j2, notes.md.j2, "
    "notes.html.j2, feed.xml.j2).",
)
@click.option("--no-intro", is_flag=True, help="No host intro and outro lines.")
@click.option(
    "--intro-music",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Music before the first words, ducked under the host's intro (WAV, FLAC, MP3, ...; "
    "else the front matter's intro_music).",
)
@click.option(
    "--outro-music",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Music under the host's outro, rising after the last words (else the front "
    "matter's outro_music).",
)
@click.option("--base-url", default="", metavar="URL", help="Where the episode's files are served.")
@click.option(
    "--format",
    "audio_format",
    type=click.Choice(_AUDIO),
    default="mp3",
    show_default=True,
    help="The episode's audio file (with chapters and tags).",
)
@click.option("--chapters", "-c", metavar="RANGES", help="Only some chapters: 1-3,7.")
@click.option("--engine", metavar="NAME", help="Engine for every voice [default: auto].")
@click.option("--processes", "-j", type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--bitrate", default="96k", show_default=True, help="Audio bitrate.")
@click.option(
    "--out",
    "-o",
    type=OutRoot(),
    default="output",
    show_default=True,
    help="Output root: the episode goes to OUT/<script name>/, the show's cast to "
    "OUT/<show>/cast.toml.",
)
@click.option("--verbose", "-v", is_flag=True, help="Show Prefect's logs.")
def podcast(
    script: Path,
    templates: Path | None,
    no_intro: bool,
    intro_music: Path | None,
    outro_music: Path | None,
    base_url: str,
    audio_format: str,
    verbose: bool,
    **opts: Any,
) -> None:
    """Turn SCRIPT (NAME: line, or a Markdown transcript of **Name:** turns) into an episode:
    a mastered MP3 (or M4A) with chapters and tags, SRT and WebVTT captions, show notes and
    an RSS feed, in OUT/<script name>/.

    Every speaker gets a voice of their own, kept per show; editing one line re-renders
    only that line.
    """
    _quiet_prefect(verbose)
    from narration.podcast.job import PODCAST_MASTER, podcast_settings

    documents = [name for name in default_formats(PODCAST) if name not in _AUDIO]
    given = {
        **opts,
        "narration_engine": None,
        "dialogue_engine": None,
        "engine_option": (),
        "narrator_prompt": None,
        "narrator_prompt_text": None,
        "voice": None,
        "notes": "skip",
        "front_matter": False,
        "gutenberg_boilerplate": False,
        "cast": True,
        "lexicon": (),
        "formats": (audio_format, *documents),
        "aac_coder": "fast",
        "target_lufs": PODCAST_MASTER["target_lufs"],
        "peak_dbtp": PODCAST_MASTER["peak_dbtp"],
        "passage_chars": 2000,
    }
    job_settings, routing_note = _resolved_settings(_settings_from_options(given))
    job_settings = replace(
        podcast_settings(job_settings),
        templates=str(templates.resolve()) if templates else None,
        base_url=base_url,
        intro=not no_intro,
        # absolute: the flow may run elsewhere than the shell's folder; checked when planned
        intro_music=str(intro_music.absolute()) if intro_music else None,
        outro_music=str(outro_music.absolute()) if outro_music else None,
    )
    narrate_job(script, job_settings, routing_note)
