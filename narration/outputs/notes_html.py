"""Show notes as HTML: chapter timestamps (read back from the audio file) and the transcript."""

from __future__ import annotations

from pathlib import Path

from narration.outputs import PODCAST, Context, Step


def _write(context: Context, target: Path) -> None:
    from narration.atomic import atomic_write_text
    from narration.outputs._episode import episode_of, marks
    from narration.podcast.feed import show_notes

    settings = context.job.settings
    audio = context.audio()
    url = f"{settings.base_url.rstrip('/')}/{audio.name}" if settings.base_url else audio.name
    text = show_notes(
        episode_of(context), marks(context), fmt="html", templates=settings.templates,
        audio_url=url,
    )  # fmt: skip
    atomic_write_text(target, text)


STEP = Step(
    name="notes-html",
    order=51,
    help="show notes (html) with chapter times and the transcript",
    target=lambda out_dir, stem: out_dir / f"{stem}.notes.html",
    write=_write,
    kinds=frozenset({PODCAST}),
    default_for=frozenset({PODCAST}),
    needs_audio=True,
)
