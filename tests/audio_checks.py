"""Shared checks on encoded outputs: decode, loudness, true peak, chapters (mutagen/ffprobe)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile as sf

from narration.audio.ffmpeg import decode_to_float
from narration.audio.master import true_peak_dbtp


def decoded(path: Path, rate: int = 22050) -> np.ndarray:
    audio, _ = decode_to_float(path, rate)
    return audio


def loudness_lufs(audio: np.ndarray, rate: int = 22050) -> float:
    return float(pyloudnorm.Meter(rate).integrated_loudness(audio.astype(np.float64)))


def peak_dbtp(audio: np.ndarray, rate: int = 22050) -> float:
    return true_peak_dbtp(audio, rate)


def mutagen_chapters(path: Path) -> list[tuple[str, float]]:
    from mutagen.mp4 import MP4

    return [(c.title, c.start) for c in MP4(path).chapters]


def ffprobe_chapters(path: Path) -> list[tuple[str, float]] | None:
    """Chapters as ffprobe reads them, or None where ffprobe is not installed."""
    exe = shutil.which("ffprobe")
    if exe is None:
        return None
    out = subprocess.run(
        [exe, "-v", "error", "-show_chapters", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [(c["tags"]["title"], float(c["start_time"])) for c in json.loads(out)["chapters"]]


def chapter_file_starts(chapter_dir: Path) -> list[float]:
    """Where each mastered chapter begins in the book: cumulative durations, in order."""
    starts, t = [], 0.0
    for path in sorted(chapter_dir.glob("[0-9]*.wav")):
        starts.append(t)
        info = sf.info(path)
        t += info.frames / info.samplerate
    return starts


def rms_dbfs(audio: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(audio.astype(np.float64) ** 2) + 1e-20))
