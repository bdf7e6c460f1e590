"""One numbered MP3 per chapter, in a folder."""

from __future__ import annotations

from pathlib import Path

from narration.outputs import BOOK, PODCAST, Context, Step


def _write(context: Context, target: Path) -> None:
    from narration.audio.package import encode_chapter_files

    encode_chapter_files(
        context.chapter_files, context.titles, target, bitrate=context.job.settings.bitrate,
        **context.encoder_options(),
    )  # fmt: skip


STEP = Step(
    name="chapters",
    order=30,
    help="one MP3 per chapter",
    target=lambda out_dir, stem: out_dir / "chapters",
    write=_write,
    kinds=frozenset({BOOK, PODCAST}),
)
