"""Mastering: loudness normalisation and true-peak limiting of assembled audio (a chapter, or a
passage of one: see narration.plan.passages). Assembly (pauses of set lengths over room tone)
is narration.audio.assemble, re-exported here.

Pure numpy on mono float32 arrays; the sample rate is always passed explicitly.

Mastering targets an audiobook spec (ACX-like): integrated loudness `target_lufs` (BS.1770
gated) and a true peak of at most `peak_dbtp - encode_headroom_db` before the lossy encoder,
because AAC/MP3 decoding overshoots the source's peaks (by up to ~0.9 dB at 64 kb/s, measured
by benchmarks/master_speed.py).

Speed matters (a chapter is 10-60 minutes), so nothing here loops over samples in Python:

- Loudness and true peak are measured by narration.audio.meter (vectorised BS.1770, true
  peak oversampled only where a bound says it could matter).
- The limiter is a look-ahead brickwall on the true-peak envelope: the gain reduction is
  planned per 0.5 ms block (not reacted to), so the ceiling holds at every inter-sample peak
  and nothing is clipped; only samples near a reduction are touched.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass

import numpy as np

from narration.audio.assemble import assemble_chapter, room_tone
from narration.audio.limiter import (
    _apply_gain_and_limit,
    _db_to_gain,
    _limiter_block,
    _output_peak,
    _plan_reduction_db,
)
from narration.audio.meter import (
    _gated_loudness,
    _mono_float32,
    _true_peak_blocks,
    gating_layout,
    integrated_lufs,
    k_weighted_block_energy,
    measure,
    true_peak_dbtp,
)
from narration.model import Pause

log = logging.getLogger(__name__)

# Bump when the algorithm changes in a way that changes output for the same settings: it is
# part of the fingerprint, so cached masters are redone.
_ALGORITHM_VERSION = 3  # 2: room tone is a tiled loop; 3: long paragraphs cut (plan.passages)

_QUIET_FLOOR_LUFS = -55.0  # quieter than this is room tone or silence: never boost it
_LOUDNESS_STEP_TOL_LU = 0.05  # iterate until this close; the promise is settings.tolerance
_MAX_GAIN_STEPS = 8
_CEILING_MARGIN_DB = 0.05
_MAX_MAKEUP_DB = 12.0  # gain above the unlimited one, to win back what limiting costs
_SCAN_MARGIN_DB = 6.0  # oversample peaks this far below the ceiling, for later gain steps


@dataclass(frozen=True)
class MasterSettings:
    """Everything that decides how a chapter sounds after assembly; hashed by `fingerprint`."""

    target_lufs: float = -19.0
    peak_dbtp: float = -3.0
    encode_headroom_db: float = 1.5  # AAC/MP3 at 64k overshoot by up to ~0.9 dB (see benchmark)
    loudness_tolerance_lu: float = 0.3
    sentence_pause_s: float = 0.35
    line_pause_s: float = 0.25
    paragraph_pause_s: float = 0.8
    section_pause_s: float = 1.8
    head_s: float = 0.6  # room tone before the first words of a chapter
    tail_s: float = 1.5  # room tone after the last words (replaces the last piece's pause)
    room_tone_dbfs: float = -66.0  # RMS of the room-tone bed, before the mastering gain
    room_tone_cutoff_hz: float = 1000.0
    room_tone_seed: int = 1770
    trim_threshold_dbfs: float = -60.0  # below this a piece's edge counts as padding
    edge_keep_s: float = 0.010  # padding kept beyond the first/last audible sample
    fade_s: float = 0.005  # raised-cosine fade at each piece's edges (no clicks)
    limiter_lookahead_s: float = 0.005  # attack ramp length
    limiter_release_db_per_s: float = 40.0  # gain recovery speed after a peak
    # Loudness is levelled per passage of about this much spoken text (~2 minutes), cut at
    # paragraph ends (narration.plan.passages); 0: per chapter. A passage is mastered as soon
    # as its segments are rendered, so only the book's last passage is left at the end.
    passage_chars: int = 2000

    @property
    def ceiling_dbtp(self) -> float:
        """The true-peak ceiling the limiter enforces before encoding."""
        return self.peak_dbtp - self.encode_headroom_db

    def pause_s(self, pause: Pause) -> float:
        """Silence after a piece that ends with `pause`, from last sound to next sound."""
        return {
            Pause.SENTENCE: self.sentence_pause_s,
            Pause.LINE: self.line_pause_s,
            Pause.PARAGRAPH: self.paragraph_pause_s,
            Pause.SECTION: self.section_pause_s,
        }[Pause(pause)]

    def fingerprint(self) -> str:
        payload = json.dumps(
            {"v": _ALGORITHM_VERSION, **asdict(self)}, sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


class _LoudnessModel:
    """Predicts a chapter's loudness after a gain and the limiter, from per-block numbers only.

    The K-weighted energy of every limiter block is measured once; a gain and the limiter's
    planned reduction then scale those blocks, and the gating blocks are sums of them. This
    ignores the per-sample gain interpolation and the filter's memory, so it is off by a small,
    near-constant amount, which master_chapter learns from each exact measurement. It lets the
    gain be solved in a few millisecond steps instead of re-mastering the whole chapter per step.
    """

    def __init__(
        self, audio: np.ndarray, sample_rate: int, block: int, settings: MasterSettings
    ) -> None:
        self.sample_rate, self.block, self.settings = sample_rate, block, settings
        self.energy = k_weighted_block_energy(audio, sample_rate, block)
        lo, hi, self.length = gating_layout(len(audio), sample_rate)
        self.lo = np.minimum(np.round(lo / block).astype(np.int64), len(self.energy))
        self.hi = np.minimum(np.round(hi / block).astype(np.int64), len(self.energy))

    def unlimited_lufs(self) -> float:
        prefix = np.concatenate([[0.0], np.cumsum(self.energy)])
        return _gated_loudness((prefix[self.hi] - prefix[self.lo]) / self.length)

    def lufs(self, gain_db: float, peaks: np.ndarray, limit_db: float) -> float:
        threshold = _db_to_gain(limit_db) / _db_to_gain(gain_db)
        plan = _plan_reduction_db(peaks, threshold, self.block, self.sample_rate, self.settings)
        energy = self.energy * 10.0 ** (gain_db / 10.0)
        if plan is not None:
            # Summed in the same order over the same products as with a dense plan: a sum
            # reordered to apply the gain after it, or to add only the windows' change, differs
            # in its last bits, which moves the solved gain and a few samples of the output.
            energy *= plan.spread(10.0 ** (-plan.reduction_db / 10.0), 1.0)
        prefix = np.empty(len(energy) + 1)
        prefix[0] = 0.0
        np.cumsum(energy, out=prefix[1:])
        return _gated_loudness((prefix[self.hi] - prefix[self.lo]) / self.length)

    def solve(self, target: float, gain_db: float, peaks: np.ndarray, limit_db: float) -> float:
        """The gain whose predicted loudness is `target` (secant steps; more gain is louder)."""
        g0, f0 = gain_db, self.lufs(gain_db, peaks, limit_db) - target
        if abs(f0) < 0.005:
            return g0
        g1 = g0 - f0  # a dB of gain is at most a dB of loudness
        for _ in range(12):
            f1 = self.lufs(g1, peaks, limit_db) - target
            if abs(f1) < 0.005 or abs(g1 - g0) < 1e-4:
                break
            slope = min(1.0, max(0.05, (f1 - f0) / (g1 - g0)))
            g0, f0, g1 = g1, f1, g1 - f1 / slope
        return g1


def master_chapter(
    audio: np.ndarray, sample_rate: int, settings: MasterSettings | None = None
) -> np.ndarray:
    """Normalise to `target_lufs` and limit true peaks to `ceiling_dbtp`; returns float32.

    Limiting lowers the loudness a little, so the gain is corrected and the limiter re-planned
    until the loudness is within 0.05 LU of target (two or three passes). Silence, and room tone
    alone (quieter than -55 LUFS), are not boosted; their peaks are still limited. Audio shorter
    than a 400 ms gating block is measured as one ungated block.
    """
    settings = settings or MasterSettings()
    audio = _mono_float32(audio)
    if audio.size == 0 or not np.any(audio):
        return audio.copy()
    block = _limiter_block(sample_rate)
    predictor = _LoudnessModel(audio, sample_rate, block, settings)
    loudness = predictor.unlimited_lufs()  # within ~0.01 LU of integrated_lufs: a start
    normalise = loudness > _QUIET_FLOOR_LUFS
    gain_db = settings.target_lufs - loudness if normalise else 0.0
    first_gain_db = gain_db
    ceiling = settings.ceiling_dbtp
    limit_db = ceiling - _CEILING_MARGIN_DB
    scanned_db = np.inf  # peaks are exact above this level of the unscaled audio
    out, final_lufs = audio, loudness
    model = predictor if normalise else None
    for _attempt in range(3):
        offset = 0.0  # exact loudness minus the model's, learnt from each exact measurement
        for _step in range(_MAX_GAIN_STEPS):
            for _scan in range(3):
                if limit_db - gain_db < scanned_db:  # first pass, or the gain grew past it
                    scanned_db = limit_db - gain_db - _SCAN_MARGIN_DB
                    peaks = _true_peak_blocks(audio, block, _db_to_gain(scanned_db))
                if model is None:
                    break
                solved = model.solve(settings.target_lufs - offset, gain_db, peaks, limit_db)
                # Past a point more gain only deepens the limiting, and loudness stops
                # following it (it even falls, as the release ducks the speech after each
                # peak): the secant then finds spurious roots 80 dB up that master a chapter
                # to near silence. Gain beyond this much makeup is never the answer.
                solved = min(solved, first_gain_db + _MAX_MAKEUP_DB)
                if limit_db - solved >= scanned_db:
                    gain_db = solved
                    break
                gain_db = solved  # past the scanned range: scan further, solve again
            out, rows = _apply_gain_and_limit(
                audio, peaks, gain_db, limit_db, sample_rate, settings
            )
            if model is None:
                break
            final_lufs = integrated_lufs(out, sample_rate)
            if abs(settings.target_lufs - final_lufs) <= _LOUDNESS_STEP_TOL_LU:
                break
            offset = final_lufs - model.lufs(gain_db, peaks, limit_db)
        # exact wherever a peak could pass the ceiling, an upper bound below it elsewhere
        peak = 20.0 * np.log10(max(_output_peak(out, peaks, gain_db, rows, block), 1e-12))
        if peak <= ceiling:
            break
        limit_db -= peak - ceiling + _CEILING_MARGIN_DB  # the plan under-shot: aim lower
    else:  # never seen; a plain gain keeps the promise on the peak at the cost of loudness
        out *= np.float32(_db_to_gain(ceiling - peak - _CEILING_MARGIN_DB))
        final_lufs = integrated_lufs(out, sample_rate)
    if normalise and abs(final_lufs - settings.target_lufs) > settings.loudness_tolerance_lu:
        log.warning("mastered to %.2f LUFS, target %.1f", final_lufs, settings.target_lufs)
    return out


__all__ = [
    "MasterSettings",
    "assemble_chapter",
    "integrated_lufs",
    "room_tone",
    "master_chapter",
    "measure",
    "true_peak_dbtp",
]
