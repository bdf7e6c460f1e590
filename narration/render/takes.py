"""One batch through an engine into the store, with a guard against implausible takes.

Sampling engines sometimes repeat a phrase, drop one or babble on: the take is then far longer
or shorter than its text can be spoken in. Each take's duration is checked against the voice's
speaking rate as measured on the takes accepted so far (a nominal rate until there are enough);
an implausible one is rendered again with another seed, up to the engine's `max_retakes`, and
the closest take is kept. What was redone is written beside the segment (store.write_take), so
a re-run finds the accepted take and renders nothing.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from narration.engines.base import Engine, SynthesisItem
from narration.errors import EngineError
from narration.model import Voice
from narration.store import SegmentStore

NOMINAL_CHARS_PER_S = 15.0  # English read aloud, spaces and punctuation counted
_RETAKE_SEED_STEP = 7919  # a retake's seed: seed + attempt * step (deterministic)


@dataclass(frozen=True)
class RenderJob:
    """One segment to render: its store key, the text the engine speaks, the voice, the seed."""

    key: str
    text: str
    voice: Voice
    seed: int = 0


@dataclass(frozen=True)
class Landed:
    """A segment written to the store: the accepted take's duration and seed, and how many
    takes it needed (1: the first was accepted)."""

    key: str
    duration_s: float
    seed: int
    takes: int = 1


class DurationGuard:
    """Plausible durations per voice: within [low, high] times the expected duration, with
    `slack_s` either way for very short texts."""

    def __init__(
        self, low: float = 0.4, high: float = 2.5, slack_s: float = 1.0, min_takes: int = 8
    ) -> None:
        self.low, self.high, self.slack_s, self.min_takes = low, high, slack_s, min_takes
        self._rates: dict[str, deque[float]] = {}

    def expected_s(self, voice: Voice, text: str) -> float:
        rates = self._rates.get(voice.fingerprint())
        if rates is not None and len(rates) >= self.min_takes:
            rate = float(np.median(rates))
        else:
            rate = NOMINAL_CHARS_PER_S
        return len(text) / rate

    def plausible(self, voice: Voice, text: str, duration_s: float) -> bool:
        expected = self.expected_s(voice, text)
        return (
            expected * self.low - self.slack_s <= duration_s <= expected * self.high + self.slack_s
        )

    def distance(self, voice: Voice, text: str, duration_s: float) -> float:
        """How far a take is from the expected duration (log ratio): the closest is kept."""
        expected = max(self.expected_s(voice, text), 1e-3)
        return abs(math.log(max(duration_s, 1e-3) / expected))

    def accept(self, voice: Voice, text: str, duration_s: float) -> None:
        if duration_s > 0 and len(text) >= 20:  # short texts say little about the rate
            rates = self._rates.setdefault(voice.fingerprint(), deque(maxlen=200))
            rates.append(len(text) / duration_s)


def _synthesize(engine: Engine, jobs: Sequence[RenderJob], seeds: Sequence[int]) -> list:
    items = [SynthesisItem(j.text, j.voice, s) for j, s in zip(jobs, seeds, strict=True)]
    audios = engine.synthesize(items)
    if len(audios) != len(items):
        raise EngineError(f"engine {engine.name} returned {len(audios)} clips for {len(items)}")
    out = []
    for job, audio in zip(jobs, audios, strict=True):
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        if job.voice.effects:
            from narration.audio.voicefx import apply_voice_effects

            audio = apply_voice_effects(audio, engine.sample_rate, dict(job.voice.effects))
        out.append(audio)
    return out


def render_batch(
    engine: Engine, store: SegmentStore, jobs: Sequence[RenderJob], guard: DurationGuard
) -> list[Landed]:
    """Synthesize `jobs` (one batch: the engine's batch_key is equal for all), retake the
    implausible ones, write every accepted take to the store; returns them in order."""
    rate = engine.sample_rate
    retakes = int(engine.options.get("max_retakes", engine.max_retakes))
    best: dict[int, tuple[float, np.ndarray, int]] = {}  # index -> (distance, audio, seed)
    takes = dict.fromkeys(range(len(jobs)), 0)
    todo = list(range(len(jobs)))
    for attempt in range(retakes + 1):
        batch = [jobs[i] for i in todo]
        seeds = [jobs[i].seed + attempt * _RETAKE_SEED_STEP for i in todo]
        retry = []
        for i, seed, audio in zip(todo, seeds, _synthesize(engine, batch, seeds), strict=True):
            takes[i] += 1
            if retakes == 0:  # nothing to compare (the embedded engine: the hot path)
                best[i] = (0.0, audio, seed)
                continue
            job, seconds = jobs[i], len(audio) / rate
            score = guard.distance(job.voice, job.text, seconds)
            if i not in best or score < best[i][0]:
                best[i] = (score, audio, seed)
            if attempt < retakes and not guard.plausible(job.voice, job.text, seconds):
                retry.append(i)
        if not retry:
            break
        todo = retry
    landed = []
    for i, job in enumerate(jobs):
        _, audio, seed = best[i]
        if takes[i] > 1:
            store.write_take(job.key, seed=seed, takes=takes[i])
        seconds = store.write(job.key, audio, rate)
        store.journal(job.key, seconds, takes[i])
        if retakes:
            guard.accept(job.voice, job.text, seconds)
        landed.append(Landed(job.key, seconds, seed, takes[i]))
    return landed


def is_out_of_memory(exc: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError (and its kin in other frameworks), without importing torch."""
    if isinstance(exc, MemoryError):
        return True
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()
