"""The limiter's sparse plan against the dense plan it replaced, bit for bit.

The oracle below plans every block the way the limiter did before it planned only windows
around the blocks over the threshold; the sparse plan, the limited audio and the loudness
model's prediction must all equal what it gives.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import ndimage

from narration.audio import meter
from narration.audio.limiter import (
    _apply_block_gains,
    _apply_gain_and_limit,
    _limiter_block,
    _plan_reduction_db,
)
from narration.audio.master import MasterSettings, _LoudnessModel

SR = 22050
BLOCK = _limiter_block(SR)
SETTINGS = MasterSettings()


def dense_plan(
    peaks: np.ndarray, threshold: float, block: int, sample_rate: int, settings: MasterSettings
) -> np.ndarray | None:
    """The reduction (dB) of every block, planned over the whole array (the former algorithm)."""
    over = np.flatnonzero(peaks > threshold)
    if over.size == 0:
        return None
    need = np.zeros(len(peaks))
    need[over] = 20.0 * np.log10(peaks[over].astype(np.float64) / threshold)
    ahead_blocks = max(1, round(settings.limiter_lookahead_s * sample_rate / block))
    size = ahead_blocks + 3
    ahead = ndimage.maximum_filter1d(need, size=size, origin=1 - size // 2, mode="constant")
    ramp = np.arange(len(peaks)) * (settings.limiter_release_db_per_s * block / sample_rate)
    held = np.maximum.accumulate(ahead + ramp) - ramp
    width = ahead_blocks + 1
    return ndimage.uniform_filter1d(held, size=width, origin=(width - 1) // 2, mode="constant")


def dense_apply(
    audio: np.ndarray, peaks: np.ndarray, gain_db: float, ceiling_db: float
) -> tuple[np.ndarray, np.ndarray]:
    """The former _apply_gain_and_limit, on the dense plan."""
    gain = float(10.0 ** (gain_db / 20.0))
    n, blocks = len(audio), len(peaks)
    padded = np.zeros(blocks * BLOCK, dtype=np.float32)
    np.multiply(audio, np.float32(gain), out=padded[:n])
    threshold = float(10.0 ** (ceiling_db / 20.0)) / gain
    reduction = dense_plan(peaks, threshold, BLOCK, SR, SETTINGS)
    if reduction is None:
        return padded[:n], np.zeros(0, dtype=np.int64)
    block_gain = (10.0 ** (-reduction / 20.0)).astype(np.float32)
    rows = np.flatnonzero(ndimage.maximum_filter1d(reduction, size=3) > 0)
    # the per-sample interpolation is shared: the sparse change is in the plan and the rows
    _apply_block_gains(padded, block_gain, rows, BLOCK)
    return padded[:n], rows


def random_peaks(seed: int, blocks: int = 20_000) -> np.ndarray:
    """Block peaks of speech-like level with sparse loud bursts (float32, as metered)."""
    rng = np.random.default_rng(seed)
    peaks = rng.lognormal(mean=np.log(0.1), sigma=0.6, size=blocks)
    bursts = rng.choice(blocks, size=blocks // 200, replace=False)
    peaks[bursts] *= rng.uniform(2.0, 12.0, size=bursts.size)
    return peaks.astype(np.float32)


def assert_plan_matches(
    peaks: np.ndarray,
    threshold: float,
    settings: MasterSettings = SETTINGS,
    sample_rate: int = SR,
) -> np.ndarray | None:
    block = _limiter_block(sample_rate)
    expected = dense_plan(peaks, threshold, block, sample_rate, settings)
    plan = _plan_reduction_db(peaks, threshold, block, sample_rate, settings)
    if expected is None:
        assert plan is None
        return None
    assert plan is not None
    assert np.all(np.diff(plan.indices) > 0)
    assert np.array_equal(plan.dense(), expected)
    return expected


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("quantile", [0.5, 0.9, 0.99, 0.999])
def test_sparse_plan_equals_dense_plan(seed, quantile):
    peaks = random_peaks(seed)
    assert_plan_matches(peaks, float(np.quantile(peaks, quantile)))


@pytest.mark.parametrize("sample_rate", [16000, 44100, 48000])
@pytest.mark.parametrize(
    "changes",
    [{}, {"limiter_lookahead_s": 0.002}, {"limiter_release_db_per_s": 400.0}],
)
def test_sparse_plan_equals_dense_plan_for_other_rates_and_settings(sample_rate, changes):
    peaks = random_peaks(7)
    settings = dataclasses.replace(SETTINGS, **changes)
    assert_plan_matches(peaks, float(np.quantile(peaks, 0.99)), settings, sample_rate)


def test_a_reduction_never_released_is_planned_to_the_end():
    peaks = random_peaks(3)
    settings = dataclasses.replace(SETTINGS, limiter_release_db_per_s=0.0)
    assert_plan_matches(peaks, float(np.quantile(peaks, 0.999)), settings)


def test_nothing_over_the_threshold_gives_no_plan():
    peaks = random_peaks(4)
    assert assert_plan_matches(peaks, float(peaks.max())) is None


def test_a_single_block_over_the_threshold():
    peaks = random_peaks(5)
    top, second = np.sort(peaks)[-1], np.sort(peaks)[-2]
    reduction = assert_plan_matches(peaks, float((top + second) / 2))
    assert reduction is not None and np.count_nonzero(reduction > 1e-9) > 1


@pytest.mark.parametrize("spikes", [[0], [-1], [0, -1], [1, -2]])
def test_over_blocks_at_the_first_and_last_blocks(spikes):
    peaks = np.full(3000, 0.1, dtype=np.float32)
    peaks[spikes] = 1.0
    assert_plan_matches(peaks, 0.5)


def test_windows_that_touch_nearly_touch_or_stand_apart():
    # Two spikes, 1.37 and 2.71 dB over, moved apart block by block: their windows overlap,
    # touch, then leave gaps of one block and more. A gap keeps the average's rounding residue.
    threshold = 0.5
    residue_seen = False
    for spacing in range(1, 260):
        peaks = np.full(2000, 0.1, dtype=np.float32)
        peaks[[500, 500 + spacing]] = threshold * 10 ** (np.array([1.37, 2.71]) / 20)
        reduction = assert_plan_matches(peaks, threshold)
        residue_seen |= bool(np.any((reduction != 0) & (np.abs(reduction) < 1e-9)))
    assert residue_seen


def test_many_windows_keep_the_running_residue_across_gaps():
    rng = np.random.default_rng(11)
    peaks = np.full(50_000, 0.1, dtype=np.float32)
    spikes = np.sort(rng.choice(50_000, size=300, replace=False))
    peaks[spikes] = rng.uniform(0.6, 3.0, size=spikes.size).astype(np.float32)
    assert_plan_matches(peaks, 0.5)


def speech_with_bursts(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    envelope = 0.1 * (1.2 + np.sin(2 * np.pi * 4.0 * np.arange(n) / SR))
    audio = rng.standard_normal(n) * envelope
    for start in rng.choice(n - 200, size=int(seconds * 3), replace=False):
        audio[start : start + 200] *= 6.0
    return np.clip(audio, -1.0, 1.0).astype(np.float32)


@pytest.mark.parametrize("gain_db", [-3.0, 0.0, 4.0, 9.0])
def test_loudness_model_equals_the_dense_computation(gain_db):
    audio = speech_with_bursts(30.0, seed=int(gain_db) + 20)
    model = _LoudnessModel(audio, SR, BLOCK, SETTINGS)
    peaks = meter._true_peak_blocks(audio, BLOCK)
    limit_db = -4.55
    threshold = float(10.0 ** (limit_db / 20.0)) / float(10.0 ** (gain_db / 20.0))
    reduction = dense_plan(peaks, threshold, BLOCK, SR, SETTINGS)
    energy = model.energy * 10.0 ** (gain_db / 10.0)
    if reduction is not None:
        energy = energy * 10.0 ** (-reduction / 10.0)
    prefix = np.concatenate([[0.0], np.cumsum(energy)])
    expected = meter._gated_loudness((prefix[model.hi] - prefix[model.lo]) / model.length)
    assert model.lufs(gain_db, peaks, limit_db) == expected  # summed in the same order


@pytest.mark.parametrize("gain_db", [-20.0, 0.0, 4.0, 9.0])
def test_gain_and_limit_output_is_unchanged(gain_db):
    audio = speech_with_bursts(20.0, seed=int(gain_db) + 40)
    peaks = meter._true_peak_blocks(audio, BLOCK)
    out, rows = _apply_gain_and_limit(audio, peaks, gain_db, -4.55, SR, SETTINGS)
    expected_out, expected_rows = dense_apply(audio, peaks, gain_db, -4.55)
    assert np.array_equal(out, expected_out)
    assert np.array_equal(rows, expected_rows)


@pytest.mark.parametrize(("seed", "ceiling_db"), [(0, -10.0), (4, -8.0), (9, -8.0)])
def test_gain_and_limit_output_is_unchanged_where_the_plan_holds_a_positive_residue(
    seed, ceiling_db
):
    # Between windows a positive residue (~1e-14 dB) still counts as a reduction: those blocks
    # are rows, and their interpolated float32 gain may round away from 1.
    peaks = random_peaks(seed)
    reduction = dense_plan(peaks, float(10.0 ** (ceiling_db / 20.0)), BLOCK, SR, SETTINGS)
    assert np.any((reduction > 0) & (reduction < 1e-9))
    rng = np.random.default_rng(seed)
    audio = rng.uniform(-0.3, 0.3, size=len(peaks) * BLOCK - 3).astype(np.float32)
    out, rows = _apply_gain_and_limit(audio, peaks, 0.0, ceiling_db, SR, SETTINGS)
    expected_out, expected_rows = dense_apply(audio, peaks, 0.0, ceiling_db)
    assert np.array_equal(out, expected_out)
    assert np.array_equal(rows, expected_rows)
