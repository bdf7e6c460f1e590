"""Show notes, Markdown and HTML: chapter timestamps (read back from the audio file) and the
transcript."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from narration.outputs import PODCAST, Context, Step


def _writer(fmt: str) -> Callable[[Context, Path], None]:
    def write(context: Context, target: Path) -> None:
        _write(context, target, fmt)

    return write


def _write(context: Context, target: Path, fmt: str) -> None:
    from narration.atomic import atomic_write_text
    from narration.outputs._episode import episode_of, marks
    from narration.podcast.feed import show_notes

    settings = context.job.settings
    audio = context.audio()
    url = f"{settings.base_url.rstrip('/')}/{audio.name}" if settings.base_url else audio.name
    text = show_notes(
        episode_of(context), marks(context), fmt=fmt, templates=settings.templates,
        audio_url=url,
    )  # fmt: skip
    atomic_write_text(target, text)


def _step(fmt: str, name: str, order: int) -> Step:
    return Step(
        name=name,
        order=order,
        help=f"show notes ({fmt}) with chapter times and the transcript",
        target=lambda out_dir, stem: out_dir / f"{stem}.notes.{fmt}",
        write=_writer(fmt),
        kinds=frozenset({PODCAST}),
        default_for=frozenset({PODCAST}),
        needs_audio=True,
    )


STEPS = (_step("md", "notes", 50), _step("html", "notes-html", 51))
