"""Derive character voices from one neural voice: pitch, formant and tempo changes.

Only one Piper voice ships with the project, so character voices are made from it after
synthesis with Praat's "Change gender" (PSOLA resynthesis plus a resampling formant shift),
through praat-parselmouth. Measured on the bundled joe voice (see benchmarks/voices.py), it
moves the median F0 to within 0.2 semitone of the target, every sentence within half a
semitone of the others, for ~15 ms of CPU per second of audio, keeping length and level.

Effects are a plain dict, usually `dict(voice.effects)`:

- `pitch_median_hz`: ABSOLUTE target median F0 of every segment. It is fixed once at casting
  time (not a relative shift), so a character sounds the same in a three-word reply and in a
  long speech, whatever the base voice did with the intonation of each sentence.
- `formant_ratio`: vocal-tract length change; > 1 shortens it (smaller, more feminine or
  younger), < 1 lengthens it (bigger, deeper). 1.0 = unchanged.
- `pitch_range`: factor on the F0 excursions around the median; > 1 livelier, < 1 flatter.
- `tempo`: a DURATION factor (as Praat's "duration factor"): 1.1 makes speech 10% longer,
  that is slower; 0.9 faster. For pace, Piper's own `length_scale` sounds more natural and
  is what the caster uses; `tempo` is for engines without one.

Every effect keeps float32 mono at the input sample rate, the RMS level of the input, and a
peak no higher than max(input peak, 0.99), so an effect never adds clipping or a level jump.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Mapping

import numpy as np

# Valid range of each effect. Outside these the result is not speech any more (or Praat
# refuses), so a typo in cast.toml is caught at read time instead of mid-book.
EFFECT_RANGES: dict[str, tuple[float, float]] = {
    "pitch_median_hz": (40.0, 600.0),
    "formant_ratio": (0.7, 1.5),
    "pitch_range": (0.0, 4.0),
    "tempo": (0.5, 2.0),
}

# Pitch analysis band. 60 Hz floor: the bundled voice dips to ~65 Hz at phrase ends and a
# lowered variant goes further; 500 Hz ceiling covers the highest female variant's peaks.
# (The floor also sets the analysis window, 3 periods = 50 ms.)
ANALYSIS_FLOOR_HZ = 60.0
ANALYSIS_CEILING_HZ = 500.0
MEASURE_FLOOR_HZ = 50.0  # measurement only: lowered male variants sit near 70 Hz

# Praat needs a few periods of the floor pitch to analyse; shorter clips are padded.
_MIN_ANALYSIS_S = 0.1
_PEAK_CEILING = 0.99


def check_effects(effects: Mapping[str, object]) -> None:
    """Raise ValueError (one line) naming the first unknown key or out-of-range value."""
    for key, value in effects.items():
        if key not in EFFECT_RANGES:
            known = ", ".join(sorted(EFFECT_RANGES))
            raise ValueError(f"unknown voice effect {key!r} (known: {known})")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"voice effect {key!r} must be a number, not {value!r}")
        low, high = EFFECT_RANGES[key]
        if not (math.isfinite(value) and low <= value <= high):
            raise ValueError(f"voice effect {key!r} = {value} is outside {low:g}..{high:g}")


def _is_identity(effects: Mapping[str, float]) -> bool:
    neutral = {"formant_ratio": 1.0, "pitch_range": 1.0, "tempo": 1.0}
    return all(key in neutral and float(value) == neutral[key] for key, value in effects.items())


def _match_level(out: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Scale `out` to the RMS of `reference`, then lower it if its peak would rise past
    max(reference peak, 0.99): resynthesis moves energy between harmonics and formants,
    which would otherwise show up as a level jump between narrator and character."""
    ref_rms = float(np.sqrt(np.mean(np.square(reference, dtype=np.float64))))
    out_rms = float(np.sqrt(np.mean(np.square(out, dtype=np.float64))))
    if out_rms > 0.0 and ref_rms > 0.0:
        out = out * (ref_rms / out_rms)
    ceiling = max(float(np.max(np.abs(reference))) if reference.size else 0.0, _PEAK_CEILING)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > ceiling:
        out = out * (ceiling / peak)
    return out


def apply_voice_effects(
    audio: np.ndarray, sample_rate: int, effects: Mapping[str, float]
) -> np.ndarray:
    """Return `audio` (mono float) transformed by `effects`; see the module doc for the keys.

    Empty or neutral effects return the input unchanged (same object), so the narrator's
    voice costs nothing. Raises ValueError on unknown keys, bad values or non-mono audio.
    """
    if not effects or _is_identity(effects):
        return audio
    check_effects(effects)
    samples = np.asarray(audio)
    if samples.ndim != 1:
        raise ValueError(f"voice effects need mono audio, got shape {samples.shape}")
    if samples.size == 0:
        return samples.astype(np.float32)

    tempo = float(effects.get("tempo", 1.0))
    expected_len = int(round(samples.size * tempo))
    min_len = int(math.ceil(_MIN_ANALYSIS_S * sample_rate))
    padded = samples.astype(np.float64)
    if padded.size < min_len:
        # Too short for pitch analysis (a breath, a click): pad with silence, trim after.
        padded = np.concatenate([padded, np.zeros(min_len - padded.size)])

    # Imported here: Praat costs a process 70 MB, and only the render workers change voices.
    import parselmouth
    from parselmouth.praat import call

    sound = parselmouth.Sound(padded, sampling_frequency=float(sample_rate))
    # Praat's resynthesis draws random numbers: seeded from the clip and the effects, the same
    # segment gets the same samples on every run, in any worker (repeatable audio).
    digest = hashlib.sha256(padded.tobytes() + repr(sorted(effects.items())).encode()).digest()
    seed = int.from_bytes(digest[:6], "little")
    parselmouth.praat.run(f"random_initializeWithSeedUnsafelyButPredictably ({seed})")
    with warnings.catch_warnings():
        # "no voiced segments found" on silence or a whisper: the output is then just the
        # (formant-shifted, retimed) input, which is what we want.
        warnings.simplefilter("ignore")
        changed = call(
            sound,
            "Change gender",
            ANALYSIS_FLOOR_HZ,
            ANALYSIS_CEILING_HZ,
            float(effects.get("formant_ratio", 1.0)),
            float(effects.get("pitch_median_hz", 0.0)),  # 0 = keep the median
            float(effects.get("pitch_range", 1.0)),
            tempo,
        )
    if int(round(changed.sampling_frequency)) != int(sample_rate):
        changed = call(changed, "Resample", float(sample_rate), 50)
    out = np.asarray(changed.values[0], dtype=np.float64)
    if out.size >= expected_len:
        out = out[:expected_len]
    else:
        out = np.concatenate([out, np.zeros(expected_len - out.size)])
    return _match_level(out, samples.astype(np.float64)).astype(np.float32)


def median_f0_hz(
    audio: np.ndarray,
    sample_rate: int,
    floor_hz: float = MEASURE_FLOOR_HZ,
    ceiling_hz: float = ANALYSIS_CEILING_HZ,
) -> float:
    """Median F0 of the voiced frames (Praat autocorrelation pitch), or NaN if none are."""
    samples = np.asarray(audio, dtype=np.float64)
    if samples.ndim != 1:
        raise ValueError(f"median_f0_hz needs mono audio, got shape {samples.shape}")
    if samples.size < 3.0 / floor_hz * sample_rate:
        return math.nan
    import parselmouth

    sound = parselmouth.Sound(samples, sampling_frequency=float(sample_rate))
    pitch = sound.to_pitch(pitch_floor=floor_hz, pitch_ceiling=ceiling_hz)
    f0 = pitch.selected_array["frequency"]
    voiced = f0[f0 > 0]
    return float(np.median(voiced)) if voiced.size else math.nan


def semitones(from_hz: float, to_hz: float) -> float:
    """Signed distance in semitones from one frequency to another."""
    return 12.0 * math.log2(to_hz / from_hz)
