"""The job's outputs as a chain of small steps, one module each, found here by discovery.

Each module in this package defines `STEP`, a `Step` (or `STEPS`, several made alike): the name
users pass to `--format`, its place in the chain, the job kinds that offer it, the path it
writes and the function that writes it. Everything that used to list formats by hand (the CLI's
choices, JobSettings' FORMATS, Job.output_paths, pipeline.package) reads `steps()`, so a new
output is one new module in this folder and nothing else.

Step modules import only the standard library at the top (their work imports lazily), so
this registry stays as light as narration.job_settings, which the CLI imports first.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from narration.audio.aac_stream import AacStream
    from narration.pipeline import Job

BOOK, PODCAST = "book", "podcast"
KINDS = (BOOK, PODCAST)


@dataclass
class Context:
    """What a step is given: the job, its mastered chapter files, and what earlier steps in
    the chain wrote (`written`, by step name), e.g. the feed's enclosure is the MP3."""

    job: Job
    chapter_files: list[Path]
    stream: AacStream | None = None
    written: dict[str, Path] = field(default_factory=dict)

    @property
    def titles(self) -> list[str]:
        return [chapter.title for chapter in self.job.plan.chapters]

    def encoder_options(self) -> dict[str, Any]:
        """Tags, cover and peak limit, as every encoder of narration.audio.package takes them."""
        from narration.tags import book_tags

        book = self.job.book
        # MP4 and ID3 carry JPEG or PNG covers only; an SVG cover (Standard Ebooks) is left out.
        cover_ok = book.cover_mime in ("image/jpeg", "image/png")
        return {
            "tags": book_tags(self.job),
            "cover": book.cover_image if cover_ok else None,
            "cover_mime": book.cover_mime if cover_ok else None,
            "max_true_peak_dbtp": self.job.settings.master_settings().peak_dbtp,
        }

    def audio(self) -> Path:
        """The job's main audio file, written earlier in the chain (for what reads it back)."""
        for step in steps():
            if step.audio and step.name in self.written:
                return self.written[step.name]
        raise LookupError("no audio output was written before this step")


@dataclass(frozen=True)
class Step:
    """One output. `target(out_dir, stem)` is where it goes (a file or a folder); `write`
    makes it from a Context. `audio`: it is a whole-episode audio file that later steps may
    read (captions, notes, feed need one). `default_for`: kinds that write it unasked."""

    name: str
    order: int
    help: str
    target: Callable[[Path, str], Path]
    write: Callable[[Context, Path], None]
    kinds: frozenset[str] = frozenset({BOOK})
    default_for: frozenset[str] = frozenset()
    audio: bool = False
    needs_audio: bool = False


@cache
def steps() -> tuple[Step, ...]:
    """Every step in chain order (audio encoders first, then what reads their files)."""
    found = []
    for module in pkgutil.iter_modules(__path__):
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        found += [s for s in getattr(loaded, "STEPS", (getattr(loaded, "STEP", None),))
                  if isinstance(s, Step)]  # fmt: skip
    return tuple(sorted(found, key=lambda s: (s.order, s.name)))


def step(name: str) -> Step:
    for each in steps():
        if each.name == name:
            return each
    raise KeyError(f"no output step {name!r}; known: {', '.join(format_names())}")


def format_names(kind: str | None = None) -> tuple[str, ...]:
    """The `--format` values (of one kind of job, or of any)."""
    return tuple(s.name for s in steps() if kind is None or kind in s.kinds)


def default_formats(kind: str) -> list[str]:
    return [s.name for s in steps() if kind in s.default_for]


def chosen(kind: str, formats: list[str]) -> list[Step]:
    """The steps a job runs, in chain order: the formats asked for that its kind offers."""
    picked = [s for s in steps() if s.name in formats and kind in s.kinds]
    if any(s.needs_audio for s in picked) and not any(s.audio for s in picked):
        needing = ", ".join(s.name for s in picked if s.needs_audio)
        raise ValueError(f"{needing}: need an audio format (read back from its file)")
    return picked


def output_paths(job: Job) -> list[Path]:
    """Every output of the job, in chain order."""
    stem = job.out_dir.name
    return [s.target(job.out_dir, stem) for s in chosen(job.settings.kind, job.settings.formats)]


def run_chain(job: Job, chapter_files: list[Path], stream: AacStream | None = None) -> list[Path]:
    """Run the job's steps in order, publishing each output as soon as it is written."""
    if job.episode is not None:  # an episode's intro/outro music, mixed into copies
        from narration.podcast.music import with_music

        chapter_files = with_music(job, chapter_files)
    context = Context(job, chapter_files, stream)
    written = []
    for each in chosen(job.settings.kind, job.settings.formats):
        target = each.target(job.out_dir, job.out_dir.name)
        each.write(context, target)
        context.written[each.name] = target
        job.publish(target)
        written.append(target)
    return written
