"""Segment-level matching when a chapter mixes engines: each engine (and voice) speaks at its
own level (ChatTTS well below Piper, say), and passage mastering levels a passage as a whole,
so without this a line of dialogue would jump against the narration around it. Every segment
is brought to one reference loudness first; mastering then sets the target as usual."""

from __future__ import annotations

import math

import numpy as np

from narration.audio.meter import integrated_lufs

SEGMENT_REFERENCE_LUFS = -23.0
MAX_SEGMENT_GAIN_DB = 18.0  # a nearly silent take is not blown up into noise


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """High-quality sample-rate conversion (soxr, VHQ): 22.05 kHz and 24 kHz engines mixed."""
    if from_rate == to_rate:
        return audio
    import soxr

    return soxr.resample(audio, from_rate, to_rate, quality="VHQ").astype(np.float32, copy=False)


def match_segment_level(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """`audio` brought to SEGMENT_REFERENCE_LUFS (gated BS.1770), within MAX_SEGMENT_GAIN_DB."""
    loudness = integrated_lufs(audio, sample_rate)
    if not math.isfinite(loudness):
        return audio
    gain_db = float(np.clip(SEGMENT_REFERENCE_LUFS - loudness, -MAX_SEGMENT_GAIN_DB,
                            MAX_SEGMENT_GAIN_DB))  # fmt: skip
    return (audio * np.float32(10 ** (gain_db / 20))).astype(np.float32, copy=False)
