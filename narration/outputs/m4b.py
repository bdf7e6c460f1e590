"""The audiobook: one AAC .m4b with chapters, tags and cover."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from narration.outputs import BOOK, Context, Step

if TYPE_CHECKING:
    from narration.audio.aac_stream import AacStream


def _write(context: Context, target: Path) -> None:
    from narration.audio.package import encode_m4b

    settings, options = context.job.settings, context.encoder_options()
    stream = context.stream
    # The M4B encoded while the book rendered, when it passed its checks: only a remux left.
    if stream is not None and streamed_m4b(
        stream, context.chapter_files, context.titles, target, options
    ):
        return
    encode_m4b(
        context.chapter_files, context.titles, target, bitrate=settings.bitrate,
        coder=settings.aac_coder, **options,
    )  # fmt: skip


def streamed_m4b(
    stream: AacStream,
    chapter_files: list[Path],
    titles: list[str],
    out: Path,
    options: dict[str, Any],
) -> bool:
    """True when the streamed encode became `out`; False sends the caller to a fresh encode
    (the stream failed, or its measured peak or length is off)."""
    from narration.audio.package import m4b_from_stream
    from narration.errors import NarrationError, OutOfSpace, is_out_of_space

    try:
        streamed = stream.finish()
        marks = m4b_from_stream(streamed, chapter_files, titles, out, **options)
        return marks is not None
    except NarrationError as exc:
        if is_out_of_space(exc):  # a fresh encode would need the same space
            raise OutOfSpace(out.parent) from exc
        logging.getLogger(__name__).warning("%s; encoding the chapter files instead", exc)
        return False
    finally:
        stream.close()


STEP = Step(
    name="m4b",
    order=10,
    help="one AAC audiobook file with chapters",
    target=lambda out_dir, stem: out_dir / f"{stem}.m4b",
    write=_write,
    kinds=frozenset({BOOK}),
    default_for=frozenset({BOOK}),
    audio=True,
)
