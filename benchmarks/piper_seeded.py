"""Piper's seeded noise against its own in-graph noise, side by side in one process: speed
(seconds of CPU per second of audio, alternating the two paths sentence by sentence) and
quality (durations, loudness, spectral centroid: the seeded path must match the unseeded one
in distribution, as it draws the same standard normal noise from another generator).

    python benchmarks/piper_seeded.py [--sentences 40] [--repeats 3]

Prints a table and writes benchmarks/results/piper_seeded.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import pyloudnorm

from narration.engines.base import SynthesisItem
from narration.engines.piper_engine import PiperEngine

RESULTS = Path(__file__).resolve().parent / "results" / "piper_seeded.json"
BOOK = Path(__file__).resolve().parents[1] / "books" / "the-lighthouse-keeper.epub"


def sentences(count: int) -> list[str]:
    from narration.ingest import read_book
    from narration.text.sentences import split_sentences

    book = read_book(BOOK)
    found: list[str] = []
    for chapter in book.chapters:
        for block in chapter.blocks:
            found.extend(s for s in split_sentences(block.text) if len(s) > 3)
    return found[:count]


def unseeded_engine() -> PiperEngine:
    """The engine as it was: the voice's own graph, noise drawn inside onnxruntime."""
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    engine = PiperEngine()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    config = json.loads(Path(f"{engine.model_path}.json").read_text(encoding="utf-8"))
    session = onnxruntime.InferenceSession(
        str(engine.model_path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    engine._voice = PiperVoice(config=PiperConfig.from_dict(config), session=session)
    return engine


def features(audio: np.ndarray, rate: int) -> dict[str, float]:
    spectrum = np.abs(np.fft.rfft(audio))
    freqs = np.fft.rfftfreq(len(audio), 1 / rate)
    return {
        "seconds": len(audio) / rate,
        "lufs": float(pyloudnorm.Meter(rate).integrated_loudness(audio.astype(np.float64))),
        "peak": float(np.max(np.abs(audio))),
        "centroid_hz": float((spectrum * freqs).sum() / max(spectrum.sum(), 1e-9)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    texts = sentences(args.sentences)
    seeded, unseeded = PiperEngine(), unseeded_engine()
    seeded.load()
    voice = seeded.default_voice()
    cpu = {"seeded": 0.0, "unseeded": 0.0}
    audio_s = {"seeded": 0.0, "unseeded": 0.0}
    stats: dict[str, list[dict[str, float]]] = {"seeded": [], "unseeded": []}
    for repeat in range(args.repeats):
        for i, text in enumerate(texts):
            item = SynthesisItem(text, voice, seed=repeat)
            order = [("seeded", seeded), ("unseeded", unseeded)]
            for name, engine in order if i % 2 else order[::-1]:
                start = time.process_time()
                (audio,) = engine.synthesize([item])
                cpu[name] += time.process_time() - start
                audio_s[name] += len(audio) / engine.sample_rate
                stats[name].append(features(audio, engine.sample_rate))
    report: dict[str, dict[str, float]] = {}
    for name in cpu:
        rows = stats[name]
        report[name] = {
            "cpu_s_per_audio_s": cpu[name] / audio_s[name],
            "audio_s": audio_s[name],
            **{
                f"{key}_{fn.__name__}": fn(r[key] for r in rows)
                for key in ("seconds", "lufs", "peak", "centroid_hz")
                for fn in (statistics.mean, statistics.stdev)
            },
        }
    report["ratio"] = {
        "speed_seeded_over_unseeded": report["unseeded"]["cpu_s_per_audio_s"]
        / report["seeded"]["cpu_s_per_audio_s"]
    }
    for name, row in report.items():
        print(name, " ".join(f"{k}={v:.4g}" for k, v in row.items()))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {"sentences": len(texts), "repeats": args.repeats, **report}
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
