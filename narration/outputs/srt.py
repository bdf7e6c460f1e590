"""Captions as SRT, one per spoken segment with its speaker, timed from the audio."""

from __future__ import annotations

from pathlib import Path

from narration.outputs import PODCAST, Context, Step


def _write(context: Context, target: Path) -> None:
    from narration.atomic import atomic_write_text
    from narration.audio.captions import srt_text
    from narration.outputs._episode import cues

    atomic_write_text(target, srt_text(cues(context)))


STEP = Step(
    name="srt",
    order=40,
    help="captions (srt) with speaker names",
    target=lambda out_dir, stem: out_dir / f"{stem}.srt",
    write=_write,
    kinds=frozenset({PODCAST}),
    default_for=frozenset({PODCAST}),
    needs_audio=True,
)
