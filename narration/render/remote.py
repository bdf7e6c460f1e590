"""The `remote` backend: concurrent requests to a model server.

The engine object is a client: it is loaded once here, and `max_concurrency()` threads call
its synthesize() with one segment each (the server batches what arrives together), so no
more requests are ever in flight than the server's batch. Each result goes through the same
duration guard and store as the worker backends'.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from narration.engines.base import Engine
from narration.errors import EngineError
from narration.render import all_succeeded
from narration.render.takes import DurationGuard, Landed, RenderJob, render_batch
from narration.store import SegmentStore


class RemoteBackend:
    def __init__(
        self,
        engine: Engine,
        store_root: str,
        *,
        on_landed: Callable[[Landed], None] | None = None,
        mirror: Any = None,
    ) -> None:
        self.engine = engine
        self.store = SegmentStore(store_root, mirror)
        self.on_landed = on_landed
        self.concurrency = max(1, engine.max_concurrency())
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._futures: dict[str, Future] = {}
        self._guard = DurationGuard()
        self._loaded = False
        self.closed = False
        self.rendered = 0
        self.retaken = 0

    def warm(self) -> None:
        with self._lock:
            self._executor()

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="render-remote")
        return self._pool

    def _render_one(self, job: RenderJob) -> float:
        with self._lock:
            if not self._loaded:
                self.engine.load()
                self._loaded = True
        try:
            (landed,) = render_batch(self.engine, self.store, [job], self._guard)
        except EngineError:
            raise
        except Exception as exc:  # a server's error: one line for the chapter's report
            raise EngineError(f"engine {self.engine.name!r} failed: {exc}") from exc
        with self._lock:
            self.rendered += 1
            self.retaken += landed.takes > 1
        if self.on_landed is not None:
            self.on_landed(landed)
        return landed.duration_s

    def submit(self, jobs: Iterable[RenderJob]) -> dict[str, Future]:
        wanted: dict[str, Future] = {}
        with self._lock:
            pool = self._executor()
            for job in jobs:
                future = self._futures.get(job.key)
                if future is None or (future.done() and future.exception() is not None):
                    future = self._futures[job.key] = pool.submit(self._render_one, job)
                wanted[job.key] = future
        return wanted

    def wait_idle(self) -> bool:
        with self._lock:
            futures = list(self._futures.values())
        return all_succeeded(futures)

    def close(self, wait: bool = True) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            self.closed = True
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)

    def stats(self) -> dict[str, Any]:
        return {
            "concurrency": self.concurrency,
            "segments_rendered": self.rendered,
            "segments_retaken": self.retaken,
        }
