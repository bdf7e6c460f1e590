"""The engine's side of a render worker: a process that loads the model once and renders the
batches its parent sends over a pipe, writing each segment straight into the store (audio never
crosses the pipe). Everything it holds is local to `worker_main`: no module-level state.

Messages, parent -> worker: ("batch", id, [RenderJob]) or ("stop",).
Worker -> parent: ("ready", info), ("broken", message) when the engine cannot load,
("done", id, [Landed], peak_bytes, [(key, message)]) (the pairs: segments that failed
alone), ("failed", id, out_of_memory, message).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from narration.render.takes import DurationGuard, is_out_of_memory, render_batch


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process needs: plain values, so it can be spawned anywhere."""

    engine: str  # a registry name or module:Class
    options: dict[str, Any] = field(default_factory=dict)
    store_root: str = ""
    mirror: Any = None  # a narration.storage.Mirror when the store lives at a URL


def one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def _one_by_one(
    engine: Any, store: Any, jobs: list, guard: DurationGuard
) -> tuple[list, None, list[tuple[str, str]]]:
    """A batch failed: render its segments one at a time, so one bad segment fails alone and
    its neighbours land (the error then names the segment that caused it)."""
    landed, failures = [], []
    for job in jobs:
        try:
            landed += render_batch(engine, store, [job], guard)
        except Exception as exc:
            if is_out_of_memory(exc):
                engine.release_memory()
            failures.append((job.key, one_line(exc)))
    return landed, None, failures


def worker_main(conn: Connection, spec: WorkerSpec) -> None:
    from narration.engines.registry import create_engine
    from narration.store import SegmentStore

    try:
        engine = create_engine(spec.engine, **spec.options)
        engine.load()
        meter = engine.memory_meter() if engine.placement == "device" else None
        info = {"pid": os.getpid(), "device": "cpu", "free_bytes": None, "unified": False}
        if meter is not None:
            free = meter.free_bytes()
            info.update(device=meter.device, unified=meter.unified, free_bytes=free)
            info["budget_bytes"] = max(0, free - meter.reserve_bytes)
        conn.send(("ready", info))
    except Exception as exc:
        conn.send(("broken", one_line(exc)))
        return
    store, guard = SegmentStore(spec.store_root, spec.mirror), DurationGuard()
    parent = os.getppid()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        # A parent killed outright leaves its batches in the pipe: nobody would read them.
        if message[0] == "stop" or os.getppid() != parent:
            return
        _, batch_id, jobs = message
        try:
            if meter is not None:
                meter.reset_peak()
            landed = render_batch(engine, store, jobs, guard)
            peak = meter.peak_bytes() if meter is not None else None
            reply: tuple = ("done", batch_id, landed, peak, [])
        except Exception as exc:
            out_of_memory = is_out_of_memory(exc)
            if out_of_memory:
                engine.release_memory()  # the halved batch must not meet the failed one's cache
                reply = ("failed", batch_id, True, one_line(exc))
            elif len(jobs) > 1:
                reply = ("done", batch_id, *_one_by_one(engine, store, jobs, guard))
            else:
                reply = ("failed", batch_id, False, one_line(exc))
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return
