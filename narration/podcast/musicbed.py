"""Intro and outro music laid under a mastered chapter: pure numpy, mono float32.

The intro is the music's head at full level for a short pre-roll, then ducked under the
host's intro lines (smooth ramps, so the duck is not heard as a switch) and faded out after
them. The outro mirrors it with the music's tail: faded in under the outro lines, raised to
full level once the speech ends, then faded out. "Full level" is the episode's loudness
target, so the music sits as loud as the voices and the episode's integrated loudness stays
on target; after mixing, loudness is re-checked against the unmixed chapter (the music is
turned down if it moved it) and true peaks are limited again to the mastering ceiling.

The pre-roll is prepended, so everything in the chapter moves later by exactly `shift`
samples: the caller shifts the chapter's segment spans by the same amount (captions and
chapter marks are derived from those spans and from the files' lengths).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from narration.audio.limiter import _apply_gain_and_limit, _db_to_gain, _limiter_block
from narration.audio.master import MasterSettings
from narration.audio.meter import _true_peak_blocks, integrated_lufs, true_peak_dbtp

Span = tuple[float, float] | None


@dataclass(frozen=True)
class MusicBed:
    """How music is laid under speech; hashed into the mixed chapters' names."""

    pre_roll_s: float = 4.0  # music alone at full level before the first words
    post_roll_s: float = 4.0  # music alone at full level after the last words
    duck_db: float = -18.0  # music under speech, relative to full level
    ramp_s: float = 0.5  # raised-cosine ramp between full and ducked level
    fade_s: float = 2.0  # fade from/to silence (after the intro lines, before the outro's)
    edge_fade_s: float = 0.02  # where the music file itself starts or ends (no click)
    max_gain_db: float = 24.0  # a near-silent music file is not blown up into noise
    version: int = 1  # bump when the mix changes for the same settings

    def key(self) -> str:
        return repr(sorted(asdict(self).items()))


@dataclass
class Mixed:
    audio: np.ndarray
    shift: int  # samples prepended: every span moves this much later
    music_down_db: float  # how far the music was turned down to keep the loudness (<= 0)


def _envelope(n: int, knots: Sequence[tuple[int, float]]) -> np.ndarray:
    """Gain per sample through (sample, gain) knots, raised-cosine between neighbours and
    held before the first and after the last."""
    out = np.empty(n, dtype=np.float32)
    pos = [min(max(int(s), 0), n) for s, _ in knots]
    pos = list(np.maximum.accumulate(pos))  # a knot before the previous one waits for it
    out[: pos[0]] = knots[0][1]
    for i in range(len(knots) - 1):
        a, b = pos[i], pos[i + 1]
        g0, g1 = knots[i][1], knots[i + 1][1]
        if b > a:
            t = (np.arange(b - a, dtype=np.float64) + 0.5) / (b - a)
            out[a:b] = g0 + (g1 - g0) * (1 - np.cos(np.pi * t)) / 2
    out[pos[-1] :] = knots[-1][1]
    return out


def _edge_fades(music: np.ndarray, rate: int, bed: MusicBed) -> np.ndarray:
    music = music.astype(np.float32, copy=True)
    k = min(len(music) // 2, round(bed.edge_fade_s * rate))
    if k:
        ramp = np.sin(np.linspace(0, np.pi / 2, k, dtype=np.float32)) ** 2
        music[:k] *= ramp
        music[-k:] *= ramp[::-1]
    return music


def _full_level_gain_db(music: np.ndarray, rate: int, target_lufs: float, bed: MusicBed) -> float:
    loudness = integrated_lufs(music, rate)
    if not math.isfinite(loudness):
        return 0.0  # silence stays silence
    return float(min(target_lufs - loudness, bed.max_gain_db))


def speech_bounds(spans: Sequence[Span], first: int, count: int) -> tuple[float, float] | None:
    """(start, end) seconds of spans[first:first+count] that sounded, None if none did."""
    found = [s for s in spans[first : first + count] if s is not None]
    return (found[0][0], found[-1][1]) if found else None


def intro_layer(
    music: np.ndarray, rate: int, speech: tuple[float, float], bed: MusicBed
) -> tuple[np.ndarray, int]:
    """The intro music at unit gain on the mixed timeline and the pre-roll's length.

    `speech` is (start, end) of the intro lines in the unmixed chapter. The duck completes
    as the pre-roll ends; the chapter's own head of room tone follows before the words."""
    pre = min(round(bed.pre_roll_s * rate), len(music))
    ramp, fade = round(bed.ramp_s * rate), round(bed.fade_s * rate)
    end = pre + round(speech[1] * rate)  # the last intro word, on the mixed timeline
    used = _edge_fades(music[: end + fade], rate, bed)
    duck = _db_to_gain(bed.duck_db)
    knots = [(pre - ramp, 1.0), (pre, duck), (end, duck), (end + fade, 0.0)]
    return used * _envelope(len(used), knots), pre


def outro_layer(
    music: np.ndarray, rate: int, speech: tuple[float, float], bed: MusicBed
) -> tuple[np.ndarray, int]:
    """The outro music at unit gain and where it starts on the chapter's timeline.

    The music's tail is used, so a theme ends on its own ending (then faded). It fades in
    from silence to the ducked level just before the outro lines, rises to full after the
    last word, plays `post_roll_s` and fades out."""
    ramp, fade = round(bed.ramp_s * rate), round(bed.fade_s * rate)
    start_s, end_s = round(speech[0] * rate), round(speech[1] * rate)
    length = (end_s - start_s) + fade + ramp + round(bed.post_roll_s * rate) + fade
    used = _edge_fades(music[-length:], rate, bed)
    begin = start_s - fade + (length - len(used))  # a short file starts later, ends the same
    duck = _db_to_gain(bed.duck_db)
    rel = [  # knots relative to the layer's first sample
        (start_s - fade - begin, 0.0),
        (start_s - begin, duck),
        (end_s - begin, duck),
        (end_s + ramp - begin, 1.0),
        (len(used) - fade, 1.0),
        (len(used), 0.0),
    ]
    return used * _envelope(len(used), rel), begin


def _add(bed_audio: np.ndarray, layer: np.ndarray, at: int) -> np.ndarray:
    """`bed_audio` with `layer` added from sample `at` (lengthened if the layer runs past)."""
    cut = max(0, -at)
    layer, at = layer[cut:], max(at, 0)
    stop = at + len(layer)
    if stop > len(bed_audio):
        bed_audio = np.concatenate([bed_audio, np.zeros(stop - len(bed_audio), np.float32)])
    bed_audio[at:stop] += layer
    return bed_audio


def limit_region(
    audio: np.ndarray, rate: int, start: int, stop: int, settings: MasterSettings
) -> np.ndarray:
    """True peaks in audio[start:stop] (plus a margin) brought under the mastering ceiling by
    the project's look-ahead limiter; the speech outside was limited when it was mastered."""
    margin = rate // 2
    a, b = max(0, start - margin), min(len(audio), stop + margin)
    region = audio[a:b]
    ceiling = settings.ceiling_dbtp
    if region.size == 0 or true_peak_dbtp(region, rate) <= ceiling:
        return audio
    block = _limiter_block(rate)
    peaks = _true_peak_blocks(region, block, _db_to_gain(ceiling - 6.0))
    limited, _rows = _apply_gain_and_limit(region, peaks, 0.0, ceiling - 0.05, rate, settings)
    over = true_peak_dbtp(limited, rate) - ceiling
    if over > 0:  # the planned reduction under-shot: a plain gain keeps the promise
        limited = limited * np.float32(_db_to_gain(-over - 0.05))
    audio[a:b] = limited
    return audio


def mix_music(
    chapter: np.ndarray,
    rate: int,
    settings: MasterSettings,
    bed: MusicBed,
    *,
    intro: tuple[np.ndarray, tuple[float, float]] | None = None,
    outro: tuple[np.ndarray, tuple[float, float]] | None = None,
) -> Mixed:
    """The chapter with intro and/or outro music (each: music at `rate`, and the (start, end)
    seconds of the lines it goes under, on the unmixed chapter's timeline)."""
    chapter = np.asarray(chapter, dtype=np.float32)
    # (unit-gain layer, its start on the mixed timeline, the gain bringing its file to full
    # level): intro and outro may be different files, each measured on its own.
    layers: list[tuple[np.ndarray, int, float]] = []
    shift = 0
    if intro is not None:
        layer, shift = intro_layer(intro[0], rate, intro[1], bed)
        layers.append((layer, 0, _full_level_gain_db(intro[0], rate, settings.target_lufs, bed)))
    if outro is not None:
        layer, begin = outro_layer(outro[0], rate, outro[1], bed)
        gain = _full_level_gain_db(outro[0], rate, settings.target_lufs, bed)
        layers.append((layer, begin + shift, gain))
    if not layers:
        return Mixed(chapter.copy(), 0, 0.0)
    base = np.concatenate([np.zeros(shift, np.float32), chapter])
    track = np.zeros(0, np.float32)  # all the music at full level, on the mixed timeline
    for layer, at, gain_db in layers:
        track = _add(track, layer * np.float32(_db_to_gain(gain_db)), at)
    if len(track) > len(base):
        base = np.concatenate([base, np.zeros(len(track) - len(base), np.float32)])
    track = np.concatenate([track, np.zeros(len(base) - len(track), np.float32)])
    down_db = _keep_loudness(chapter, base, track, rate, settings.loudness_tolerance_lu)
    out = base + track * np.float32(_db_to_gain(-down_db))
    for layer, at, _gain in layers:
        out = limit_region(out, rate, max(at, 0), at + len(layer), settings)
    return Mixed(out, shift, -down_db)


def _keep_loudness(
    chapter: np.ndarray, base: np.ndarray, track: np.ndarray, rate: int, tolerance: float
) -> float:
    """How far (dB) to turn the music down so that the mix is no louder than the chapter was
    mastered (within `tolerance` LU): 0 when it is already. Music as loud as speech where
    nobody speaks moves the integrated loudness little, but a short chapter under a long or
    uneven pre-roll would be lifted. Bisection, to 0.1 dB: loudness is monotonic in it."""
    before = integrated_lufs(chapter, rate)
    if not math.isfinite(before):
        return 0.0

    def too_loud(down_db: float) -> bool:
        mix = base + track * np.float32(_db_to_gain(-down_db))
        return integrated_lufs(mix, rate) - before > tolerance

    if not too_loud(0.0):
        return 0.0
    low, high = 0.0, 60.0
    while high - low > 0.1:
        middle = (low + high) / 2
        low, high = (middle, high) if too_loud(middle) else (low, middle)
    return high


def shifted(spans: Sequence[Span], shift_s: float) -> list[Span]:
    return [None if s is None else (s[0] + shift_s, s[1] + shift_s) for s in spans]
