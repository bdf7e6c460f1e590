"""A podcast episode as AAC in MP4 (.m4a) with chapters and tags (not marked an audiobook)."""

from __future__ import annotations

from pathlib import Path

from narration.outputs import PODCAST, Context, Step


def _write(context: Context, target: Path) -> None:
    from narration.audio.package import encode_m4b

    settings = context.job.settings
    encode_m4b(
        context.chapter_files, context.titles, target, bitrate=settings.bitrate,
        coder=settings.aac_coder, audiobook=False, **context.encoder_options(),
    )  # fmt: skip


STEP = Step(
    name="m4a",
    order=15,
    help="AAC in MP4 with chapters (podcasts)",
    target=lambda out_dir, stem: out_dir / f"{stem}.m4a",
    write=_write,
    kinds=frozenset({PODCAST}),
    audio=True,
)
