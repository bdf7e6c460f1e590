"""The look-ahead true-peak limiter: plan a gain reduction per 0.5 ms block, apply it.

The gain reduction is planned on the true-peak envelope (not reacted to), so the ceiling holds
at every inter-sample peak and nothing is clipped; only samples near a reduction are touched.
Used by narration.audio.master, which chooses the gain and checks the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from narration.audio.meter import _TP_CONTEXT, _block_runs, _exact_runs

if TYPE_CHECKING:
    from narration.audio.master import MasterSettings


def _db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def _limiter_block(sample_rate: int) -> int:
    """Samples per planning block: 0.5 ms, fine enough for a 5 ms attack ramp."""
    return max(1, round(sample_rate * 0.0005))


def _plan_reduction_db(
    peaks: np.ndarray, threshold: float, block: int, sample_rate: int, settings: MasterSettings
) -> np.ndarray | None:
    """Gain reduction (dB, >= 0) per block so that no block's true peak passes `threshold`.

    The need of each block is held one block either side (covering the oversampling filter's
    reach and the interpolation between block centres), spread back over the look-ahead,
    released at a fixed dB/s, and smoothed by a moving average over the look-ahead. Each step
    only raises the reduction, and the average at a block sees only values at least the need
    of that block and its neighbours, so the ceiling holds. None when nothing passes.
    """
    over = np.flatnonzero(peaks > threshold)
    if over.size == 0:
        return None
    need = np.zeros(len(peaks))
    need[over] = 20.0 * np.log10(peaks[over].astype(np.float64) / threshold)
    ahead_blocks = max(1, round(settings.limiter_lookahead_s * sample_rate / block))
    size = ahead_blocks + 3  # window [k - 1, k + ahead + 1]
    ahead = ndimage.maximum_filter1d(need, size=size, origin=1 - size // 2, mode="constant")
    ramp = np.arange(len(peaks)) * (settings.limiter_release_db_per_s * block / sample_rate)
    held = np.maximum.accumulate(ahead + ramp) - ramp  # max over past needs, minus release
    width = ahead_blocks + 1  # moving average over [k - ahead, k]
    return ndimage.uniform_filter1d(held, size=width, origin=(width - 1) // 2, mode="constant")


def _apply_gain_and_limit(
    audio: np.ndarray,
    peaks: np.ndarray,
    gain_db: float,
    ceiling_db: float,
    sample_rate: int,
    settings: MasterSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """audio * gain, with a planned gain reduction wherever the true peak would pass the ceiling.

    `peaks` are the unscaled audio's per-block true peaks (they scale with the gain). The plan
    is per block; per sample the gain is interpolated linearly between block centres, only in
    blocks that have (or neighbour) some reduction. Returns the audio and those blocks' indices.
    """
    gain = _db_to_gain(gain_db)
    block = _limiter_block(sample_rate)
    n, blocks = len(audio), len(peaks)
    padded = np.zeros(blocks * block, dtype=np.float32)  # whole blocks, so rows are blocks
    np.multiply(audio, np.float32(gain), out=padded[:n])
    reduction = _plan_reduction_db(
        peaks, _db_to_gain(ceiling_db) / gain, block, sample_rate, settings
    )
    if reduction is None:
        return padded[:n], np.zeros(0, dtype=np.int64)
    block_gain = (10.0 ** (-reduction / 20.0)).astype(np.float32)
    rows = np.flatnonzero(ndimage.maximum_filter1d(reduction, size=3) > 0)
    # Sample o of a block sits at (o + 0.5) / block - 0.5 blocks from its centre: the first
    # half interpolates towards the previous block's gain, the second towards the next one's.
    offset = (np.arange(block, dtype=np.float32) + 0.5) / block - 0.5
    to_prev, to_next = np.maximum(-offset, 0.0), np.maximum(offset, 0.0)
    prev_gain = block_gain[np.maximum(rows - 1, 0)][:, None]
    next_gain = block_gain[np.minimum(rows + 1, blocks - 1)][:, None]
    own_gain = block_gain[rows][:, None]
    sample_gain = own_gain * (1.0 - to_prev - to_next) + prev_gain * to_prev + next_gain * to_next
    matrix = padded.reshape(blocks, block)
    matrix[rows] *= sample_gain
    return padded[:n], rows


def _output_peak(
    out: np.ndarray, peaks: np.ndarray, gain_db: float, rows: np.ndarray, block: int
) -> float:
    """The true peak of `out` = audio * gain, limited in `rows`, without scanning it all.

    Away from the limited blocks the output is the input times the gain, so its block peaks
    are `peaks` times the gain (exact wherever they could matter, see _true_peak_blocks).
    Only the limited blocks, and those within the oversampling filter's reach, are measured.
    """
    gain = _db_to_gain(gain_db)
    touched = np.zeros(len(peaks), dtype=bool)
    touched[rows] = True
    reach = -(-_TP_CONTEXT // block)
    touched = ndimage.maximum_filter1d(touched.view(np.int8), 2 * reach + 1) > 0
    best = float(peaks[~touched].max()) * gain if (~touched).any() else 0.0
    exact = np.zeros(len(peaks), dtype=np.float32)
    _exact_runs(out, _block_runs(touched, block, len(out)), block, exact)
    return max(best, float(exact.max()) if len(exact) else 0.0)
