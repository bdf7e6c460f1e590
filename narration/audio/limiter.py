"""The look-ahead true-peak limiter: plan a gain reduction per 0.5 ms block, apply it.

The gain reduction is planned on the true-peak envelope (not reacted to), so the ceiling holds
at every inter-sample peak and nothing is clipped; only samples near a reduction are touched.
Used by narration.audio.master, which chooses the gain and checks the result.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, eq=False)  # arrays: compare with np.array_equal
class ReductionPlan:
    """A limiter plan stored only over the windows around the blocks that pass the threshold.

    `indices` (increasing) are every block of those windows, `reduction_db` the plan there.
    Each window ends in blocks where the plan no longer changes, so outside the windows the
    plan holds the value at the last window block before (0 before the first window): the
    moving average's rounding residue, about 1e-14 dB, kept so `dense()` is bit-identical to
    planning every block.
    """

    blocks: int
    indices: np.ndarray
    reduction_db: np.ndarray

    def spread(self, values: np.ndarray, before: float | bool) -> np.ndarray:
        """Per block: `values` (one per window block) held up to the next window block, and
        `before` ahead of the first window."""
        held_for = np.diff(self.indices, append=self.blocks)
        head = np.full(self.indices[0], before, dtype=values.dtype)
        return np.concatenate([head, np.repeat(values, held_for)])

    def dense(self) -> np.ndarray:
        """The reduction (dB) of every block."""
        return self.spread(self.reduction_db, 0.0)


def _plan_windows(
    over: np.ndarray, need: np.ndarray, blocks: int, ahead_blocks: int, release_per_block: float
) -> tuple[np.ndarray, np.ndarray]:
    """Starts and (exclusive) stops of the merged windows that hold every non-zero step of the
    plan for the blocks `over`, with all-zero margins so no filter mixes adjacent windows."""
    if release_per_block <= 0:  # a reduction is never released: one window, the whole chapter
        return np.zeros(1, dtype=np.int64), np.full(1, blocks, dtype=np.int64)
    # The held reduction starts ahead_blocks + 1 blocks before an over block, holds its need
    # up to the block after it and is exactly 0 from need / release blocks later on (one
    # block more allows for rounding when that is a whole number).
    first_held = over - (ahead_blocks + 1)
    last_held = over + 1 + np.ceil(need / release_per_block).astype(np.int64)
    # The moving average's running sum takes in a block as it drops the one ahead_blocks + 1
    # blocks before, and holds its final residue ahead_blocks + 1 blocks after the last
    # non-zero one: margins of that many zero blocks keep both within a window.
    margin = ahead_blocks + 1
    starts = np.maximum(first_held - margin, 0)
    stops = np.maximum.accumulate(np.minimum(last_held + margin + 1, blocks))
    opens = np.flatnonzero(starts[1:] > stops[:-1]) + 1  # the over blocks that open a window
    return starts[np.r_[0, opens]], stops[np.r_[opens - 1, len(over) - 1]]


def _plan_reduction_db(
    peaks: np.ndarray, threshold: float, block: int, sample_rate: int, settings: MasterSettings
) -> ReductionPlan | None:
    """The gain reduction (dB, >= 0) per block so that no block's true peak passes `threshold`.

    The need of each block is held one block either side (covering the oversampling filter's
    reach and the interpolation between block centres), spread back over the look-ahead,
    released at a fixed dB/s, and smoothed by a moving average over the look-ahead. Each step
    only raises the reduction, and the average at a block sees only values at least the need
    of that block and its neighbours, so the ceiling holds. None when nothing passes.

    Only windows around the passing blocks are planned (a fraction of a chapter), laid end to
    end in one array: every step is local or, like the running max and the moving average's
    running sum, carries nothing across the all-zero margins but its exact state. The result
    is a ReductionPlan over those windows, equal bit for bit to planning every block.
    """
    over = np.flatnonzero(peaks > threshold)
    if over.size == 0:
        return None
    need = 20.0 * np.log10(peaks[over].astype(np.float64) / threshold)
    ahead_blocks = max(1, round(settings.limiter_lookahead_s * sample_rate / block))
    release_per_block = settings.limiter_release_db_per_s * block / sample_rate
    starts, stops = _plan_windows(over, need, len(peaks), ahead_blocks, release_per_block)
    lengths = stops - starts
    # a window's block indices are its positions in the windows laid end to end, shifted
    shift = starts - (np.cumsum(lengths) - lengths)
    indices = np.arange(int(lengths.sum())) + np.repeat(shift, lengths)
    need_at = np.zeros(len(indices))
    need_at[over - shift[np.searchsorted(starts, over, side="right") - 1]] = need
    size = ahead_blocks + 3  # window [k - 1, k + ahead + 1]
    ahead = ndimage.maximum_filter1d(need_at, size=size, origin=1 - size // 2, mode="constant")
    # On the real block indices, so the release between windows counts the blocks skipped.
    ramp = indices * release_per_block
    held = np.maximum.accumulate(ahead + ramp) - ramp  # max over past needs, minus release
    width = ahead_blocks + 1  # moving average over [k - ahead, k]
    reduction = ndimage.uniform_filter1d(held, size=width, origin=(width - 1) // 2, mode="constant")
    return ReductionPlan(len(peaks), indices, reduction)


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
    plan = _plan_reduction_db(peaks, _db_to_gain(ceiling_db) / gain, block, sample_rate, settings)
    if plan is None:
        return padded[:n], np.zeros(0, dtype=np.int64)
    block_gain = plan.spread((10.0 ** (-plan.reduction_db / 20.0)).astype(np.float32), 1.0)
    reduced = plan.spread(plan.reduction_db > 0, False)
    near = reduced.copy()  # reduced, or next to a reduced block
    near[1:] |= reduced[:-1]
    near[:-1] |= reduced[1:]
    rows = np.flatnonzero(near)
    _apply_block_gains(padded, block_gain, rows, block)
    return padded[:n], rows


def _apply_block_gains(
    padded: np.ndarray, block_gain: np.ndarray, rows: np.ndarray, block: int
) -> None:
    """Scale the blocks `rows` of `padded` (whole blocks) in place by the per-block gains,
    interpolated per sample between block centres."""
    blocks = len(block_gain)
    # Sample o of a block sits at (o + 0.5) / block - 0.5 blocks from its centre: the first
    # half interpolates towards the previous block's gain, the second towards the next one's.
    offset = (np.arange(block, dtype=np.float32) + 0.5) / block - 0.5
    to_prev, to_next = np.maximum(-offset, 0.0), np.maximum(offset, 0.0)
    prev_gain = block_gain[np.maximum(rows - 1, 0)][:, None]
    next_gain = block_gain[np.minimum(rows + 1, blocks - 1)][:, None]
    own_gain = block_gain[rows][:, None]
    sample_gain = own_gain * (1.0 - to_prev - to_next) + prev_gain * to_prev + next_gain * to_next
    padded.reshape(blocks, block)[rows] *= sample_gain


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
