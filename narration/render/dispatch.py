"""Worker-process backends: `pool` (CPU processes) and `device` (one process owns the
accelerator). Both hand batches from one queue, kept in reading order, to worker processes
(narration.render.worker) over pipes, from one dispatcher thread; they differ in how a batch
is formed (the Policy).

- pool: the first `batch_size` queued segments, and one by one at the end of the queue so
  every process runs out of work together (nothing after the last segment can start before
  its chapter is mastered).
- device: the first queued segment and, from the segments after it that may share its call
  (the engine's batch_key: same voice and settings), those closest to it in length (a batch
  runs until its longest item ends), as many as the memory budget allows (render.sizing).
  One batch waits in the pipe while another runs, so the device is never idle between them.

A worker that dies (killed, crashed, out of host memory) is replaced and its batches queued
again; a segment whose worker died twice fails. An out-of-memory error halves the batch and
sets the run's ceiling. Each queued segment has a Future that its renderer waits on.
"""

from __future__ import annotations

import bisect
import contextlib
import multiprocessing
import os
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_ready
from typing import Any

from narration.errors import EngineError, is_out_of_space
from narration.render import all_succeeded
from narration.render.sizing import BatchSizer
from narration.render.takes import Landed, RenderJob
from narration.render.worker import WorkerSpec, worker_main

_MAX_DEATHS = 2  # a segment whose worker died this often fails instead of killing another
_MAX_FRUITLESS_RESTARTS = 4  # workers dying with nothing rendered between: give up


@dataclass(order=True)
class _Queued:
    seq: int
    job: RenderJob = field(compare=False)
    deaths: int = field(default=0, compare=False)


@dataclass
class _Worker:
    process: Any
    conn: Connection
    ready: bool = False
    batches: dict[int, list[_Queued]] = field(default_factory=dict)  # sent, in order


class PoolPolicy:
    """Fixed batches for CPU processes; singles at the tail."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self.sizer: BatchSizer | None = None

    def _singles(self, workers: int) -> int:
        """How many of the last queued segments go one by one."""
        return 2 * workers * self.size if self.size > 1 else 0

    def depth(self, queued: int, workers: int) -> int:
        return 1 if queued <= self._singles(workers) else 2

    def take(self, queue: list[_Queued], workers: int) -> list[_Queued]:
        n = max(1, min(self.size, len(queue) - self._singles(workers)))
        batch = queue[:n]
        del queue[:n]
        return batch


class DevicePolicy:
    """Batches of one batch_key, similar lengths, sized by the memory budget."""

    def __init__(
        self, batch_key: Callable[[RenderJob], Hashable], sizer: BatchSizer | None = None
    ) -> None:
        self.batch_key = batch_key
        self.sizer = sizer

    def depth(self, queued: int, workers: int) -> int:
        # While calibrating, each batch's measurement decides the next one's size.
        return 1 if self.sizer is None or self.sizer.calibrating else 2

    def take(self, queue: list[_Queued], workers: int) -> list[_Queued]:
        head = queue[0]
        key = self.batch_key(head.job)
        # Look ahead a few batches' worth: far enough to find similar lengths, near enough
        # that the passages being mastered next are not kept waiting.
        window = queue[: 8 * self.sizer.max_size]
        same = [q for q in window if self.batch_key(q.job) == key]
        if self.sizer.calibrating:  # calibrate on typical lengths, not on a chapter title
            lengths = sorted(len(q.job.text) for q in same)
            target = lengths[len(lengths) // 2]
            anchor = min(same, key=lambda q: (abs(len(q.job.text) - target), q.seq))
        else:
            anchor = head
        same.sort(key=lambda q: (abs(len(q.job.text) - len(anchor.job.text)), q.seq))
        chosen: list[_Queued] = []
        longest = 0
        for q in same:
            longer = max(longest, len(q.job.text))
            if chosen and len(chosen) + 1 > self.sizer.cap(longer):
                break
            chosen.append(q)
            longest = longer
        taken = {id(q) for q in chosen}
        queue[:] = [q for q in queue if id(q) not in taken]
        return sorted(chosen)


class WorkerBackend:
    """Worker processes fed from one queue by a dispatcher thread (see the module doc)."""

    def __init__(
        self,
        spec: WorkerSpec,
        *,
        processes: int,
        policy: PoolPolicy | DevicePolicy,
        on_landed: Callable[[Landed], None] | None = None,
        sizer_factory: Callable[[dict[str, Any]], BatchSizer] | None = None,
    ) -> None:
        self.spec = spec
        self.processes = max(1, processes)
        self.policy = policy
        self.on_landed = on_landed
        self._sizer_factory = sizer_factory
        self._lock = threading.RLock()
        self._queue: list[_Queued] = []
        self._futures: dict[str, Future] = {}
        self._workers: list[_Worker] = []
        self._seq = 0
        self._batch_id = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = multiprocessing.Pipe(duplex=False)
        self.rendered = 0
        self.restarts = 0
        self._fruitless = 0  # restarts since the last rendered batch
        self.retaken = 0
        self.batch_sizes: Counter[int] = Counter()
        self.devices: set[str] = set()

    # ------------------------------------------------------------------ the caller's side

    def warm(self) -> None:
        """Start the workers (and their model loads) now, without waiting for them."""
        with self._lock:
            self._start()

    def submit(self, jobs: Iterable[RenderJob]) -> dict[str, Future]:
        """Queue jobs in the order given; a key queued, running or done is not queued again."""
        wanted: dict[str, Future] = {}
        with self._lock:
            if self._closed:
                raise EngineError("the render backend is closed")
            for job in jobs:
                future = self._futures.get(job.key)
                if future is None or (future.done() and future.exception() is not None):
                    future = self._futures[job.key] = Future()
                    self._seq += 1
                    self._queue.append(_Queued(self._seq, job))
                wanted[job.key] = future
            self._start()
        self._wake()
        return wanted

    def wait_idle(self) -> bool:
        """Wait for everything queued so far; True when nothing failed."""
        with self._lock:
            futures = list(self._futures.values())
        return all_succeeded(futures)

    def close(self, wait: bool = True) -> None:
        """Stop the workers; wait=False lets them exit in the background."""
        with self._lock:
            self._closed = True
            self._fail_all("the render backend was closed")  # whatever was still queued
            workers, self._workers = self._workers, []
            for worker in workers:
                with contextlib.suppress(OSError):  # already gone
                    worker.conn.send(("stop",))
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if wait:
            for worker in workers:
                worker.process.join(timeout=10)
                if worker.process.is_alive():
                    worker.process.terminate()
                    worker.process.join(timeout=5)

    @property
    def closed(self) -> bool:
        return self._closed

    def stats(self) -> dict[str, Any]:
        with self._lock:
            out: dict[str, Any] = {
                "processes": self.processes,
                "segments_rendered": self.rendered,
                "segments_retaken": self.retaken,
                "worker_restarts": self.restarts,
                "batch_sizes": {str(k): v for k, v in sorted(self.batch_sizes.items())},
                "devices": sorted(self.devices),
            }
            if self.policy.sizer is not None:
                out["memory"] = self.policy.sizer.describe()
            return out

    # ------------------------------------------------------------------ the dispatcher

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # closed: nobody to wake
            self._wake_w.send_bytes(b"")

    def _start(self) -> None:
        """Spawn workers up to `processes` (lock held)."""
        if self._closed:
            return
        ctx = multiprocessing.get_context("spawn")  # the parent runs threads: never fork
        while len(self._workers) < self.processes:
            parent, child = ctx.Pipe()
            process = ctx.Process(target=worker_main, args=(child, self.spec), daemon=True)
            process.start()
            child.close()
            self._workers.append(_Worker(process, parent))
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="render-dispatch", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                waitables: list[Any] = [self._wake_r]
                for worker in self._workers:
                    waitables += [worker.conn, worker.process.sentinel]
            ready = wait_ready(waitables, timeout=5.0)
            landed: list[Landed] = []
            with self._lock:
                if self._closed:
                    return
                if self._wake_r in ready:
                    while self._wake_r.poll():
                        self._wake_r.recv_bytes()
                for worker in list(self._workers):
                    self._read(worker, landed)
                self._dispatch()
            if self.on_landed is not None:
                for item in landed:
                    self.on_landed(item)

    def _read(self, worker: _Worker, landed: list[Landed]) -> None:
        try:
            while worker.conn.poll():
                self._handle(worker, worker.conn.recv(), landed)
        except (EOFError, OSError):
            pass
        if not worker.process.is_alive() and worker in self._workers:
            self._replace(worker)

    def _handle(self, worker: _Worker, message: tuple, landed: list[Landed]) -> None:
        kind = message[0]
        if kind == "ready":
            worker.ready = True
            info = message[1]
            self.devices.add(info["device"])
            if self._sizer_factory is not None and self.policy.sizer is None:
                self.policy.sizer = self._sizer_factory(info)
        elif kind == "broken":  # the engine cannot load: nothing can render
            self._fail_all(f"engine {self.spec.engine!r} could not start: {message[1]}")
            self._closed = True
        elif kind == "done":
            _, batch_id, results, peak, failures = message
            batch = worker.batches.pop(batch_id)
            self._fruitless = 0
            self.batch_sizes[len(batch)] += 1
            failed = dict(failures)
            self._fail(
                [q for q in batch if q.job.key in failed],
                f"engine {self.spec.engine!r} failed",
                failed,
            )
            if self.policy.sizer is not None and peak is not None:
                longest = max(len(q.job.text) for q in batch)
                self.policy.sizer.observe(len(batch), longest, peak)
            for result in results:
                self.rendered += 1
                self.retaken += result.takes > 1
                future = self._futures.get(result.key)
                if future is not None and not future.done():
                    future.set_result(result.duration_s)
                landed.append(result)
        elif kind == "failed":
            _, batch_id, out_of_memory, text = message
            batch = worker.batches.pop(batch_id)
            if out_of_memory and len(batch) > 1 and self.policy.sizer is not None:
                self.policy.sizer.out_of_memory(len(batch))
                self._requeue(batch)
            elif is_out_of_space(text):  # every other batch would fail the same way: stop
                self._fail(batch, text)
                self._fail_all(text)
            else:
                self._fail(batch, f"engine {self.spec.engine!r} failed: {text}")

    def _replace(self, worker: _Worker) -> None:
        """A worker died: queue its batches again (the one it was running counts a death)."""
        self._workers.remove(worker)
        worker.conn.close()
        code = worker.process.exitcode
        for number, batch in enumerate(worker.batches.values()):
            if number == 0:
                for q in batch:
                    q.deaths += 1
            dead = [q for q in batch if q.deaths >= _MAX_DEATHS]
            if dead:
                self._fail(dead, f"an engine worker died twice rendering it (exit code {code})")
            self._requeue([q for q in batch if q.deaths < _MAX_DEATHS])
        if self._closed:
            return
        self.restarts += 1
        self._fruitless += 1
        if self._fruitless > _MAX_FRUITLESS_RESTARTS:
            self._fail_all(f"engine {self.spec.engine!r} workers keep dying (exit code {code})")
            self._closed = True
            return
        self._start()

    def _requeue(self, batch: list[_Queued]) -> None:
        for q in batch:
            bisect.insort(self._queue, q)

    def _fail(self, batch: list[_Queued], text: str, reasons: dict[str, str] | None = None) -> None:
        for q in batch:
            future = self._futures.get(q.job.key)
            if future is not None and not future.done():
                why = f"{text}: {reasons[q.job.key]}" if reasons else text
                future.set_exception(EngineError(f"{why} (segment {q.job.key[:12]})"))

    def _fail_all(self, text: str) -> None:
        self._fail(self._queue, text)
        self._queue.clear()
        for worker in self._workers:
            for batch in worker.batches.values():
                self._fail(batch, text)
            worker.batches.clear()

    def _dispatch(self) -> None:
        workers = [w for w in self._workers if w.ready]
        for worker in workers:
            while self._queue and len(worker.batches) < self.policy.depth(
                len(self._queue), len(workers)
            ):
                batch = self.policy.take(self._queue, len(workers))
                self._batch_id += 1
                worker.batches[self._batch_id] = batch
                try:
                    worker.conn.send(("batch", self._batch_id, [q.job for q in batch]))
                except OSError:
                    break  # it died: _read() replaces it and queues the batch again


def default_processes() -> int:
    return max(1, min(os.cpu_count() or 1, 8))
