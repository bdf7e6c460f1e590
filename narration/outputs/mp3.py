"""One MP3 with ID3v2 chapter frames (CHAP/CTOC), tags and cover."""

from __future__ import annotations

from pathlib import Path

from narration.outputs import BOOK, PODCAST, Context, Step


def _write(context: Context, target: Path) -> None:
    from narration.audio.package import encode_mp3

    encode_mp3(
        context.chapter_files, context.titles, target, bitrate=context.job.settings.bitrate,
        **context.encoder_options(),
    )  # fmt: skip


STEP = Step(
    name="mp3",
    order=20,
    help="one MP3 with chapter frames",
    target=lambda out_dir, stem: out_dir / f"{stem}.mp3",
    write=_write,
    kinds=frozenset({BOOK, PODCAST}),
    default_for=frozenset({PODCAST}),
    audio=True,
)
