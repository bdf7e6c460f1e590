"""The one place that runs ffmpeg.

The system ffmpeg is used when there is one (it may have better encoders); otherwise the static
binary from the imageio-ffmpeg wheel, so a pip install alone is enough. That binary has AAC and
MP3 encoders but no ffprobe, so nothing here needs ffprobe: the sample rate of a decoded stream
is read from ffmpeg's own report of its output stream.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np

from narration.errors import NarrationError

_QUIET = ["-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
# "Stream #0:0: Audio: pcm_f32le, 22050 Hz, mono, flt, 705 kb/s" in the Output section
_OUTPUT_RATE = re.compile(r"Stream #\d+:\d+.*?: Audio: pcm_f32le.*?, (\d+) Hz")


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg to run: the system one on PATH, else imageio-ffmpeg's static binary."""
    system = shutil.which("ffmpeg")
    if system:
        return system
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # ImportError, or its RuntimeError when the binary is missing
        raise NarrationError(f"ffmpeg not found: install ffmpeg or imageio-ffmpeg ({exc})") from exc


def _last_line(stderr: str, returncode: int) -> str:
    """ffmpeg's last error line, skipping its generic sign-offs for the line that has the cause."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    lines = [line for line in lines if line != "Conversion failed!"]
    if not lines:
        return f"exit code {returncode}"
    if lines[-1].startswith("Error opening") and len(lines) > 1:
        return f"{lines[-2]}; {lines[-1]}"  # the line before names the file
    return lines[-1]


def run_ffmpeg(args: list[str], *, what: str) -> None:
    """Run ffmpeg quietly; a failure becomes one NarrationError line naming what we were doing."""
    command = [ffmpeg_exe(), *_QUIET, *args]
    try:
        result = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise NarrationError(f"ffmpeg failed while {what}: {exc}") from exc
    if result.returncode != 0:
        raise NarrationError(
            f"ffmpeg failed while {what}: {_last_line(result.stderr, result.returncode)}"
        )


def decode_to_float(path: str | Path, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Decode the first audio stream of any file to mono float32, at its own rate or `sample_rate`.

    The whole file is held in memory (4 bytes a sample), so this is for tests and for verifying
    what was encoded, not for streaming a book through.
    """
    path = Path(path)
    if not path.is_file():
        raise NarrationError(f"{path}: no such audio file")
    rate_args = ["-ar", str(int(sample_rate))] if sample_rate else []
    # loglevel info (not error) so that ffmpeg prints the output stream, which carries the rate
    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:a:0"]
    command += ["-ac", "1", *rate_args, "-c:a", "pcm_f32le", "-f", "f32le", "-"]
    try:
        result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    except OSError as exc:
        raise NarrationError(f"ffmpeg failed while decoding {path}: {exc}") from exc
    stderr = result.stderr.decode("utf-8", errors="replace")
    if result.returncode != 0:
        detail = _last_line(stderr, result.returncode)
        raise NarrationError(f"ffmpeg failed while decoding {path}: {detail}")
    if sample_rate:
        rate = int(sample_rate)
    else:
        output_part = stderr[stderr.find("Output #0") :] if "Output #0" in stderr else stderr
        match = _OUTPUT_RATE.search(output_part)
        if match is None:
            raise NarrationError(f"ffmpeg failed while decoding {path}: no output sample rate")
        rate = int(match.group(1))
    return np.frombuffer(result.stdout, dtype="<f4").copy(), rate


_SUMMARY_LUFS = re.compile(r"^\s*I:\s+(-?[\d.]+|-inf) LUFS", re.MULTILINE)
_SUMMARY_PEAK = re.compile(r"^\s*Peak:\s+(-?[\d.]+|-inf) dBFS", re.MULTILINE)


def measure_levels(path: str | Path) -> dict[str, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of a file, by ffmpeg's ebur128 filter.

    It streams, so it costs one decode and no memory: this is how a packaged book of any length
    is checked after lossy encoding. Values come at ffmpeg's 0.1 dB resolution; -inf is silence.
    """
    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "info", "-i", str(path)]
    command += ["-map", "0:a:0", "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"]
    try:
        result = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise NarrationError(f"ffmpeg failed while measuring {path}: {exc}") from exc
    summary = result.stderr[result.stderr.rfind("Summary:") :]
    lufs, peak = _SUMMARY_LUFS.search(summary), _SUMMARY_PEAK.search(summary)
    if result.returncode != 0 or "Summary:" not in result.stderr or not (lufs and peak):
        detail = _last_line(result.stderr, result.returncode)
        raise NarrationError(f"ffmpeg failed while measuring {path}: {detail}")
    return {"integrated_lufs": float(lufs.group(1)), "true_peak_dbtp": float(peak.group(1))}
