"""A podcast script as a narration job: read, cast and planned into the same `Job` a book
becomes, so the book flow renders it (checkpoints, retries, fan-out) and the output chain
(narration.outputs) packages it.

What differs from a book: every turn's speaker is known (no attribution), the cast file is
the show's (so voices carry over between episodes), the host speaks the intro and outro,
chapter titles are not read out, and the job is mastered to the podcast profile.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from narration.job_settings import PODCAST, JobSettings, output_dir
from narration.outputs import default_formats, format_names, step
from narration.pipeline import Job, make_engines, plan_book
from narration.podcast.book import episode_book, tokens_by_engine
from narration.podcast.casting import cast_episode, show_cast_path, speaker_engines
from narration.podcast.hostlines import host_lines
from narration.podcast.model import Episode
from narration.podcast.music import music_files
from narration.podcast.script import read_script
from narration.storage import Mirror, is_url, mirror_root

# The podcast loudness profile (Apple's and most hosts' recommendation), and the end of a turn
# kept short: people answer each other faster than a narrator turns a page.
PODCAST_MASTER = {"target_lufs": -16.0, "peak_dbtp": -1.0}


def podcast_settings(settings: JobSettings) -> JobSettings:
    """`settings` as a podcast job: the podcast master profile under the user's overrides,
    and the podcast's default outputs when no podcast audio format was chosen (a flow given
    plain settings with only `kind: "podcast"` gets a publishable episode too)."""
    # A book's default (m4b) or any other format a podcast has no step for is not asked of it.
    formats = [f for f in settings.formats if f in format_names(PODCAST)]
    if not any(step(f).audio for f in formats):
        formats = [*default_formats(PODCAST), *formats]
    formats = list(dict.fromkeys(formats))
    return replace(
        settings, kind=PODCAST, formats=formats, master={**PODCAST_MASTER, **settings.master}
    )


def prepare_episode(script: str | Path, settings: JobSettings) -> Job:
    """Read, cast and plan an episode. Like prepare_job: no audio, no engine loading."""
    script, settings = Path(script), podcast_settings(settings)
    episode = read_script(script)
    # Checked before anything is cast or rendered: a wrong music path is one line, at once.
    music = music_files(settings, episode, script)
    episode.music = {role: str(path) for role, path in music.items()}
    engines_by_role = make_engines(settings)
    narrator = engines_by_role[settings.narration_engine]
    speakers = engines_by_role[settings.dialogue_engine]
    cast_path, mirror = _show_cast(settings, episode)
    voices, _members = cast_episode(
        episode, cast_path, narrator.default_voice(), speakers.character_voices()
    )
    if mirror is not None and cast_path.is_file():
        mirror.publish(cast_path)
    intro, outro = host_lines(episode, settings.templates) if settings.intro else ([], [])
    episode.intro_lines, episode.outro_lines = intro, outro
    book = episode_book(
        episode,
        tokens_for=tokens_by_engine(speaker_engines(voices)),
        intro=intro,
        outro=outro,
    )
    plan = plan_book(book, settings, engines_by_role, voices, announce_titles=False)
    out_dir = output_dir(settings, script)
    return Job(script, out_dir, settings, book, plan, engines_by_role, episode=episode)


def _show_cast(settings: JobSettings, episode: Episode) -> tuple[Path, Mirror | None]:
    """The show's cast file here, and the mirror of the output root when OUT is a URL: the
    file is then kept at URL/<show>/cast.toml (fetched before casting, published after), so
    a host keeps their voice whichever machine renders the next episode."""
    if not is_url(settings.out_root):
        return show_cast_path(settings.out_root, episode), None
    mirror = Mirror(settings.out_root, mirror_root(settings.out_root))
    path = show_cast_path(mirror.local, episode)
    mirror.fetch(path)
    return path, mirror
