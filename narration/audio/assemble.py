"""Chapter assembly: rendered pieces joined by set pauses over a continuous room-tone bed.

Pure numpy on mono float32 arrays; the sample rate is always passed explicitly.

`ChapterAssembler` lays pieces down one at a time and hands out the finished audio as it goes
(`take()` at a paragraph, `finish()` at the end), so a chapter can be mastered passage by
passage while its later segments are still being rendered. The pieces it hands out, joined,
are exactly `assemble_chapter` of all the pieces at once: the bed is one loop laid from the
chapter's first sample, and every piece sits where the whole-chapter layout puts it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from scipy import signal

from narration.audio.limiter import _db_to_gain
from narration.audio.meter import _mono_float32
from narration.model import Pause

if TYPE_CHECKING:
    from narration.audio.master import MasterSettings

_ROOM_TONE_LOOP_S = 23.0  # long enough that nobody hears a loop in noise at -66 dBFS
_ROOM_TONE_SEAM_S = 0.05  # crossfade that makes the loop seamless


@lru_cache(maxsize=8)
def _room_tone_loop(sample_rate: int, dbfs: float, cutoff_hz: float, seed: int) -> np.ndarray:
    """A seamless loop of low-passed noise at `dbfs` RMS (read-only; tile it)."""
    sos = signal.butter(2, cutoff_hz, fs=sample_rate, output="sos")
    impulse = np.zeros(sample_rate)
    impulse[0] = 1.0
    # white noise of unit variance comes out with variance sum(h^2): scale for the target RMS
    noise_rms = np.sqrt(np.sum(signal.sosfilt(sos, impulse) ** 2))
    loop = round(_ROOM_TONE_LOOP_S * sample_rate)
    seam = round(_ROOM_TONE_SEAM_S * sample_rate)
    rng = np.random.default_rng(seed)
    settle = sample_rate // 10  # filter output before this is discarded: the filter settles
    noise = signal.sosfilt(sos, rng.standard_normal(settle + loop + seam))[settle:]
    noise *= _db_to_gain(dbfs) / noise_rms
    # equal-power crossfade of the run-out into the start: the loop's end flows into its head
    fade = np.sin(np.linspace(0.0, np.pi / 2, seam))
    noise[:seam] = noise[:seam] * fade + noise[loop:] * fade[::-1]
    out = noise[:loop].astype(np.float32)
    out.flags.writeable = False
    return out


def room_tone(
    n_samples: int, sample_rate: int, settings: MasterSettings, start: int = 0
) -> np.ndarray:
    """Deterministic low-passed noise at `room_tone_dbfs` RMS: the floor between words.

    A cached loop is tiled (generating and filtering fresh noise for an hour-long chapter
    cost a third of a second per 18 minutes, every chapter). `start`: where in the chapter
    this stretch begins, so stretches laid one after another continue one bed."""
    loop = _room_tone_loop(
        sample_rate,
        settings.room_tone_dbfs,
        settings.room_tone_cutoff_hz,
        settings.room_tone_seed,
    )
    shift = start % len(loop)
    if shift:
        loop = np.concatenate([loop[shift:], loop[:shift]])
    return np.resize(loop, n_samples)  # a fresh, writable array, the loop repeated


def _trim(piece: np.ndarray, threshold: float, keep: int) -> tuple[np.ndarray, int, int] | None:
    """Cut padding beyond `keep` samples of the first/last audible sample; None if all quiet.

    Returns the trimmed piece and how many quiet samples it still has at its head and tail.
    """
    loud = np.abs(piece) > threshold
    if not loud.any():
        return None
    first = int(np.argmax(loud))
    last = len(piece) - 1 - int(np.argmax(loud[::-1]))
    start, stop = max(0, first - keep), min(len(piece), last + 1 + keep)
    return piece[start:stop].copy(), first - start, stop - (last + 1)


def _fade_edges(piece: np.ndarray, fade: int) -> None:
    fade = min(fade, len(piece) // 2)
    if fade < 2:
        return
    ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade))).astype(np.float32)
    piece[:fade] *= ramp
    piece[-fade:] *= ramp[::-1]


class ChapterAssembler:
    """Joins a chapter's rendered pieces with set pauses over a continuous room-tone bed.

    Each piece's padding (Piper adds some) is trimmed to `edge_keep_s` around its first and
    last audible sample, so the silence from one piece's last sound to the next piece's first
    sound is exactly its pause. The chapter starts with `head_s` and ends with `tail_s` of room
    tone (the tail replaces the last piece's pause). A piece with no audible sample adds
    nothing, but its pause still counts: the longer of it and the pending pause is used. The
    bed runs under the whole chapter, so there is never digital silence, even inside a piece.
    """

    def __init__(self, sample_rate: int, settings: MasterSettings) -> None:
        self.sample_rate, self.settings = sample_rate, settings
        self._threshold = _db_to_gain(settings.trim_threshold_dbfs)
        self._keep = round(settings.edge_keep_s * sample_rate)
        self._fade = round(settings.fade_s * sample_rate)
        self._emitted = 0  # chapter samples handed out so far
        self._placed: list[tuple[int, np.ndarray]] = []  # (chapter offset, piece), not yet out
        # the last audible piece: where it ends, its quiet tail, the pause after it
        self._last: tuple[int, int, float] | None = None
        self._pending_pause_s = 0.0  # pauses of quiet pieces since the last audible one

    def add(self, audio: np.ndarray, pause: Pause) -> None:
        """The next piece of the chapter and the pause that follows it."""
        trimmed = _trim(_mono_float32(audio), self._threshold, self._keep)
        if trimmed is None:
            self._pending_pause_s = max(self._pending_pause_s, self.settings.pause_s(pause))
            return
        piece, quiet_head, quiet_tail = trimmed
        _fade_edges(piece, self._fade)
        if self._last is None:
            head = round(self.settings.head_s * self.sample_rate)
            offset = max(self._emitted, head - quiet_head)
        else:
            end, last_quiet_tail, pause_s = self._last
            pause_s = max(pause_s, self._pending_pause_s)
            gap = round(pause_s * self.sample_rate) - last_quiet_tail - quiet_head
            offset = max(self._emitted, end + max(0, gap))
        self._pending_pause_s = 0.0
        self._placed.append((offset, piece))
        self._last = (offset + len(piece), quiet_tail, self.settings.pause_s(pause))

    def take(self) -> np.ndarray:
        """The chapter from where the last take() stopped to a point in the pause after the
        last piece added: the next piece cannot start before it, whatever it is (its quiet
        head is at most `edge_keep_s`), and neither can the chapter's end."""
        if self._last is None:
            return self._lay(self._emitted)
        end, quiet_tail, pause_s = self._last
        pause = round(max(pause_s, self._pending_pause_s) * self.sample_rate)
        tail = round(self.settings.tail_s * self.sample_rate)
        share = min(tail - quiet_tail, (pause - quiet_tail - self._keep) // 2)
        return self._lay(end + max(0, share))

    def finish(self) -> np.ndarray:
        """The rest of the chapter, ending with `tail_s` of room tone after the last sound."""
        if self._last is None:
            stop = self._emitted + round(
                (self.settings.head_s + self.settings.tail_s) * self.sample_rate
            )
        else:
            end, quiet_tail, _pause_s = self._last
            stop = end + max(0, round(self.settings.tail_s * self.sample_rate) - quiet_tail)
        return self._lay(max(stop, self._emitted))

    def _lay(self, stop: int) -> np.ndarray:
        start = self._emitted
        out = room_tone(stop - start, self.sample_rate, self.settings, start=start)
        for offset, piece in self._placed:
            out[offset - start : offset - start + len(piece)] += piece
        self._placed.clear()
        self._emitted = stop
        return out


def assemble_chapter(
    pieces: Iterable[tuple[np.ndarray, Pause]],
    sample_rate: int,
    settings: MasterSettings | None = None,
) -> np.ndarray:
    """A whole chapter at once (see ChapterAssembler)."""
    if settings is None:
        from narration.audio.master import MasterSettings

        settings = MasterSettings()
    assembler = ChapterAssembler(sample_rate, settings)
    for audio, pause in pieces:
        assembler.add(audio, pause)
    return assembler.finish()
