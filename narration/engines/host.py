"""Runs an engine in worker processes and writes what they render into the segment store.

Each worker loads the model once (engine.load()) and writes its segments straight to the store,
so audio never crosses a process boundary. Work is handed out in small batches (the engine's
batch_size) so every process stays busy until the end of the book.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from narration.engines.base import Engine, SynthesisItem
from narration.engines.registry import create_engine
from narration.errors import EngineError
from narration.model import Voice
from narration.store import SegmentStore


@dataclass(frozen=True)
class RenderJob:
    key: str
    text: str  # the normalised text the engine speaks
    voice: Voice
    seed: int = 0


@dataclass
class _Worker:
    engine: Engine | None = None
    store: SegmentStore | None = None


_WORKER = _Worker()


def _init_worker(engine_name: str, options: dict[str, Any], store_root: str) -> None:
    _WORKER.engine = create_engine(engine_name, **options)
    _WORKER.engine.load()
    _WORKER.store = SegmentStore(store_root)


def _render_batch(batch: list[RenderJob]) -> list[tuple[str, float]]:
    engine, store = _WORKER.engine, _WORKER.store
    assert engine is not None and store is not None, "worker not initialised"
    items = [SynthesisItem(job.text, job.voice, job.seed) for job in batch]
    audios = engine.synthesize(items)
    if len(audios) != len(batch):
        raise EngineError(f"engine {engine.name} returned {len(audios)} clips for {len(batch)}")
    done = []
    for job, audio in zip(batch, audios, strict=True):
        if job.voice.effects:
            from narration.audio.voicefx import apply_voice_effects

            audio = apply_voice_effects(audio, engine.sample_rate, dict(job.voice.effects))
        done.append((job.key, store.write(job.key, audio, engine.sample_rate)))
    return done


def _batches(jobs: list[RenderJob], size: int, processes: int) -> list[list[RenderJob]]:
    """`jobs` in batches of `size`, except that the last few go one by one.

    Nothing after the last segment can start (its chapter's mastering waits for it), so the
    workers should run out of work together: with whole batches at the end, one worker
    idled for up to a batch (about a second) while the other finished its own."""
    singles = min(len(jobs), 2 * processes * size) if size > 1 else 0
    cut = len(jobs) - singles
    return [jobs[i : min(i + size, cut)] for i in range(0, cut, size)] + [[j] for j in jobs[cut:]]


def _started() -> int:
    return os.getpid()  # nothing to do: submitting it makes the pool start a worker


@dataclass
class EngineHost:
    """A pool of engine processes (or the calling process when processes == 1)."""

    engine_name: str
    store_root: str
    engine_options: dict[str, Any] = field(default_factory=dict)
    processes: int = 1
    batch_size: int = 4
    _pool: ProcessPoolExecutor | None = field(default=None, init=False, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)
    _inflight: dict[str, Future] = field(default_factory=dict, init=False, repr=False)
    # Called once per rendered segment (key, duration_s), from whichever thread sees it land.
    on_segment: Callable[[str, float], None] | None = field(default=None, repr=False)
    rendered: int = field(default=0, init=False)  # segments this host has written

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # spawn, not fork: the parent runs Prefect's threads, and forking a threaded
                # process can deadlock the child.
                self._pool = ProcessPoolExecutor(
                    max_workers=self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(self.engine_name, self.engine_options, self.store_root),
                )
            return self._pool

    def warm(self) -> None:
        """Start every worker (and its model load) now, without waiting for it."""
        if self.processes > 1:
            pool = self._executor()
            for _ in range(self.processes):
                pool.submit(_started)

    def submit(self, jobs: Iterable[RenderJob]) -> dict[str, Future]:
        """Queue jobs without waiting; a key already queued or running is not queued twice.

        The CLI calls this before Prefect's start-up so the workers are busy meanwhile;
        the flow's render tasks then wait on the same futures.
        """
        pool = self._executor()
        wanted: dict[str, Future] = {}
        fresh: list[RenderJob] = []
        with self._lock:
            for job in jobs:
                future = self._inflight.get(job.key)
                if future is not None and not (future.done() and future.exception()):
                    wanted[job.key] = future
                elif job.key not in wanted:
                    fresh.append(job)
                    wanted[job.key] = None  # type: ignore[assignment]
            for batch in _batches(fresh, self.batch_size, self.processes):
                future = pool.submit(_render_batch, batch)
                future.add_done_callback(self._report)
                for job in batch:
                    self._inflight[job.key] = future
                    wanted[job.key] = future
        return wanted

    def _report(self, future: Future) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        for key, seconds in future.result():
            self._landed(key, seconds)

    def _landed(self, key: str, seconds: float) -> None:
        with self._lock:
            self.rendered += 1
        if self.on_segment is not None:
            self.on_segment(key, seconds)

    def render(self, jobs: Iterable[RenderJob]) -> dict[str, float]:
        """Render every job (waiting on any already in flight); returns key -> duration_s."""
        jobs = list(jobs)
        durations: dict[str, float] = {}
        if self.processes <= 1:
            if _WORKER.engine is None or _WORKER.engine.name != self.engine_name:
                _init_worker(self.engine_name, self.engine_options, self.store_root)
            for i in range(0, len(jobs), self.batch_size):
                for key, seconds in _render_batch(jobs[i : i + self.batch_size]):
                    durations[key] = seconds
                    self._landed(key, seconds)
            return durations
        try:
            wanted = self.submit(jobs)
            by_future: dict[Future, list[str]] = {}
            for key, future in wanted.items():
                by_future.setdefault(future, []).append(key)
            pending = set(by_future)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    results = dict(future.result())
                    for key in by_future[future]:
                        durations[key] = results[key]
        except BrokenProcessPool as exc:
            self.close()  # the next render() starts fresh workers; finished segments are kept
            raise EngineError(f"an engine worker process died: {exc}") from exc
        return durations

    def wait_idle(self) -> bool:
        """Wait until everything queued so far has been rendered or has failed; True when
        nothing failed (then every queued segment is in the store)."""
        with self._lock:
            futures = list(self._inflight.values())
        done, _ = wait(futures)
        return not any(f.cancelled() or f.exception() is not None for f in done)

    def close(self, wait: bool = True) -> None:
        """Stop the workers. wait=False returns at once and lets them exit in the background
        (a worker's exit takes about half a second: onnxruntime and the model unloading)."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=wait, cancel_futures=True)
                self._pool = None
            self._inflight.clear()


_SHARED: dict[tuple, EngineHost] = {}
_SHARED_LOCK = threading.Lock()


def shared_host(
    engine_name: str,
    store_root: str,
    engine_options: dict[str, Any],
    processes: int,
    batch_size: int,
) -> tuple[EngineHost, bool]:
    """The running host for this engine and store, or a new one; True when the caller created
    it (and so must close it). Lets a flow reuse workers the CLI started and already fed."""
    key = (engine_name, store_root, repr(sorted(engine_options.items())), processes)
    with _SHARED_LOCK:
        host = _SHARED.get(key)
        if host is not None and host._pool is not None:
            return host, False
        host = EngineHost(engine_name, store_root, dict(engine_options), processes, batch_size)
        _SHARED[key] = host
        return host, True


def release_host(host: EngineHost) -> None:
    host.close()
    with _SHARED_LOCK:
        for key, value in list(_SHARED.items()):
            if value is host:
                del _SHARED[key]
