"""Renderer: one render backend per engine, and each segment routed to its voice's engine."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from typing import Any, Protocol

from narration.engines.base import Engine, SynthesisItem
from narration.engines.registry import create_engine
from narration.errors import EngineError, SegmentsFailed
from narration.render.takes import Landed, RenderJob


class Backend(Protocol):
    closed: bool

    def warm(self) -> None: ...
    def submit(self, jobs: Iterable[RenderJob]) -> dict[str, Future]: ...
    def wait_idle(self) -> bool: ...
    def close(self, wait: bool = True) -> None: ...
    def stats(self) -> dict[str, Any]: ...


class Renderer:
    """Routes segments to backends by their voice's engine.

    `engines` maps an engine (registry name or module:Class) to its options; `processes`
    overrides a pool engine's own choice. `on_segment(key, duration_s)` is called once per
    rendered segment, from a backend's thread."""

    def __init__(
        self,
        store_root: str,
        engines: Mapping[str, Mapping[str, Any]],
        *,
        processes: int | None = None,
        on_segment: Callable[[str, float], None] | None = None,
        mirror: Any = None,
    ) -> None:
        self.store_root = store_root
        self.mirror = mirror  # a narration.storage.Mirror: the store also lives at its URL
        self.processes = processes
        self.on_segment = on_segment
        self._lock = threading.Lock()
        self._engines: dict[str, tuple[str, dict[str, Any], Engine]] = {}
        for spec, options in engines.items():
            engine = create_engine(spec, **dict(options))
            self._engines[engine.name] = (spec, dict(options), engine)
        self._backends: dict[str, Backend] = {}
        self._stopped: str | None = None  # why no more work is taken (see stop())

    def engine(self, name: str) -> Engine:
        try:
            return self._engines[name][2]
        except KeyError:
            known = ", ".join(sorted(self._engines))
            raise EngineError(f"no engine {name!r} in this job (routed: {known})") from None

    def _landed(self, landed: Landed) -> None:
        if self.on_segment is not None:
            self.on_segment(landed.key, landed.duration_s)

    def backend(self, name: str) -> Backend:
        with self._lock:
            if self._stopped is not None:
                raise EngineError(self._stopped)
            backend = self._backends.get(name)
            if backend is None or backend.closed:  # a closed one's work is done: start anew
                backend = self._backends[name] = self._open(name)
            return backend

    def _open(self, name: str) -> Backend:
        from narration.render.dispatch import DevicePolicy, PoolPolicy, WorkerBackend
        from narration.render.worker import WorkerSpec

        self.engine(name)  # an engine this job does not route to: raises, naming those it does
        spec, options, engine = self._engines[name]
        worker = WorkerSpec(spec, options, self.store_root, self.mirror)
        if engine.placement == "pool":
            processes = self.processes or engine.recommended_processes()
            return WorkerBackend(
                worker, processes=processes, policy=PoolPolicy(engine.batch_size),
                on_landed=self._landed,
            )  # fmt: skip
        if engine.placement == "device":
            from narration.render.sizing import BatchSizer

            def batch_key(job: RenderJob) -> Any:
                return engine.batch_key(SynthesisItem(job.text, job.voice, job.seed))

            def sizer(info: dict[str, Any]) -> BatchSizer:
                key = f"{engine.name}|{info['device']}|{engine.model_version()}"
                budget = info.get("budget_bytes")
                return BatchSizer.for_device(engine.batch_size, engine.max_batch_size, key, budget)

            return WorkerBackend(
                worker, processes=1, policy=DevicePolicy(batch_key), on_landed=self._landed,
                sizer_factory=sizer,
            )  # fmt: skip
        if engine.placement == "remote":
            from narration.render.remote import RemoteBackend

            return RemoteBackend(
                engine, self.store_root, on_landed=self._landed, mirror=self.mirror
            )
        raise EngineError(f"engine {name!r} declares an unknown placement {engine.placement!r}")

    def warm(self, names: Iterable[str] | None = None) -> None:
        """Start the backends (worker processes, model loads) now, without waiting."""
        for name in names if names is not None else list(self._engines):
            self.backend(name).warm()

    def submit(self, jobs: Iterable[RenderJob]) -> dict[str, Future]:
        """Queue jobs (in reading order) without waiting; key -> Future of duration_s."""
        by_engine: dict[str, list[RenderJob]] = {}
        for job in jobs:
            by_engine.setdefault(job.voice.engine, []).append(job)
        wanted: dict[str, Future] = {}
        for name, group in by_engine.items():
            wanted.update(self.backend(name).submit(group))
        return wanted

    def render(self, jobs: Iterable[RenderJob]) -> dict[str, float]:
        """Render every job (waiting on any already queued); key -> duration_s. Raises
        SegmentsFailed naming each segment that failed and why, once all have been tried."""
        wanted = self.submit(jobs)
        wait_futures(list(wanted.values()))
        failures = {
            key: str(future.exception())
            for key, future in wanted.items()
            if future.exception() is not None
        }
        if failures:
            raise SegmentsFailed(failures)
        return {key: future.result() for key, future in wanted.items()}

    def wait_idle(self) -> bool:
        """Wait for everything queued so far; True when nothing failed."""
        with self._lock:
            backends = list(self._backends.values())
        return all([backend.wait_idle() for backend in backends])

    @property
    def rendered(self) -> int:
        return sum(b.stats()["segments_rendered"] for b in list(self._backends.values()))

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per engine: placement, batches, memory sizing, restarts, retakes (for build.json)."""
        out = {}
        for name, backend in list(self._backends.items()):
            engine = self._engines[name][2]
            out[name] = {"placement": engine.placement, **backend.stats()}
        return out

    def stop(self, reason: str) -> None:
        """Close for good: queued work fails with `reason`, and no new work is taken (a job
        that cannot go on, such as on a full disk, must not restart its workers)."""
        with self._lock:
            self._stopped = reason
        self.close(wait=False)

    def close(self, wait: bool = True) -> None:
        """Stop every backend's workers (their stats stay readable; a later render starts
        new ones)."""
        with self._lock:
            backends = list(self._backends.values())
        for backend in backends:
            backend.close(wait=wait)
