"""Checks on a job's output folder that several end-to-end tests share."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from narration.audio.ffmpeg import ffmpeg_exe
from narration.store import read_manifest


def check_no_partial_final_files(book_dir: Path) -> None:
    """Every file under a final name (not a dot-named temp file) is complete and readable."""
    for path in book_dir.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.suffix == ".wav":
            info = sf.info(path)
            expected = 44 + info.frames * 2  # 16-bit mono PCM with a plain header
            assert path.stat().st_size >= expected, path
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".jsonl":
            pass  # an append-only journal: a line cut by a kill is skipped by its readers
        elif path.suffix == ".parquet":
            read_manifest(path)
        elif path.suffix == ".m4b":
            decode_m4b(path)
        elif path.suffix == ".toml":
            import tomllib

            tomllib.loads(path.read_text(encoding="utf-8"))


def decode_m4b(m4b: Path) -> np.ndarray:
    pcm = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(m4b), "-f", "s16le", "-ac", "1", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(pcm, dtype=np.int16)
