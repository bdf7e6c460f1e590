"""Engines for the render layer's tests, named to the registry as `render_engines:Class` (the
tests folder is on sys.path, and spawned workers inherit it).

They make tones whose length follows the text, so duration checks and mastering behave as with
speech, and they record what happened to them (loads, threads, batches) in a log file whose
path is an engine option: the test reads what the worker process did.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from narration.engines.base import Engine, SynthesisItem
from narration.model import Voice

RATE = 24000
CHARS_PER_S = 15.0


def tone(text: str, seed: int, seconds: float | None = None, rate: int = RATE) -> np.ndarray:
    seconds = len(text) / CHARS_PER_S if seconds is None else seconds
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    return (0.2 * np.sin(2 * np.pi * 180 * t) + 0.01 * rng.standard_normal(len(t))).astype(
        np.float32
    )


class FakeMeter:
    """Reports `budget_bytes` free, and a batch's peak as base + per_char_item * n * longest."""

    device = "fake:0"
    unified = False
    reserve_bytes = 0

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self.peak = 0

    def free_bytes(self) -> int:
        return self.budget

    def reset_peak(self) -> None:
        self.peak = 0

    def peak_bytes(self) -> int:
        return self.peak


class DeviceEngine(Engine):
    """A `device` engine with a memory model. Options:
    log: a file to append events to (JSON lines);
    budget_bytes: the free memory its meter reports;
    oom_above_bytes: a batch costing more raises torch.cuda.OutOfMemoryError (the real one);
    kill_marker: a path; the first batch of >= 2 items seen while it does not exist creates
        it and SIGKILLs its own process mid-batch;
    babble: texts containing this word come out 30 s long unless the seed was changed."""

    name: ClassVar[str] = "fake-device"
    sample_rate: ClassVar[int] = RATE
    placement: ClassVar[str] = "device"
    roles: ClassVar[tuple[str, ...]] = ()
    code_license: ClassVar[str] = "test"
    weights_license: ClassVar[str] = "test"
    batch_size: int = 4
    max_batch_size: int = 16
    BASE_BYTES: ClassVar[int] = 1000
    PER_CHAR_ITEM_BYTES: ClassVar[int] = 10

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.loaded = 0

    def _log(self, **event: Any) -> None:
        if self.options.get("log"):
            with open(self.options["log"], "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"pid": os.getpid(), **event}) + "\n")

    def model_version(self) -> str:
        return "fake 1"

    def default_voice(self) -> Voice:
        return Voice(engine=self.name, model_id="fake", name="fake-narrator")

    def character_voices(self) -> list[Voice]:
        return [
            Voice(engine=self.name, model_id="fake", name=f"fake-{g}{i}", gender=g)
            for g in "MF"
            for i in range(3)
        ]

    def load(self) -> None:
        self.loaded += 1
        self._log(event="load", count=self.loaded, thread=threading.get_ident())
        time.sleep(0.05)

    def memory_meter(self) -> FakeMeter | None:
        if "budget_bytes" not in self.options:
            return None
        self._meter = FakeMeter(int(self.options["budget_bytes"]))
        return self._meter

    def synthesize(self, items: Sequence[SynthesisItem]) -> list[np.ndarray]:
        longest = max(len(i.text) for i in items)
        cost = self.BASE_BYTES + self.PER_CHAR_ITEM_BYTES * len(items) * longest
        keys = sorted({str(self.batch_key(i)) for i in items})
        self._log(event="batch", size=len(items), longest=longest, cost=cost, keys=keys,
                  thread=threading.get_ident())  # fmt: skip
        marker = self.options.get("kill_marker")
        if marker and len(items) >= 2 and not Path(marker).exists():
            Path(marker).write_text("killed")
            os.kill(os.getpid(), signal.SIGKILL)
        limit = self.options.get("oom_above_bytes")
        if limit is not None and cost > int(limit):
            import torch

            raise torch.cuda.OutOfMemoryError(f"CUDA out of memory (fake): {cost} > {limit}")
        if getattr(self, "_meter", None) is not None:
            self._meter.peak = cost
        babble = self.options.get("babble")
        return [
            tone(i.text, i.seed, 30.0 if babble and babble in i.text and i.seed == 0 else None)
            for i in items
        ]


class PoolEngine(DeviceEngine):
    """The same tones from CPU worker processes (a second engine to route to). Option
    delay_s: seconds each call takes (a slow engine)."""

    name: ClassVar[str] = "fake-pool"
    sample_rate: ClassVar[int] = 22050
    placement: ClassVar[str] = "pool"

    def recommended_processes(self) -> int:
        return 2

    def synthesize(self, items: Sequence[SynthesisItem]) -> list[np.ndarray]:
        self._log(event="batch", size=len(items), thread=threading.get_ident())
        time.sleep(float(self.options.get("delay_s", 0)))
        return [tone(i.text, i.seed, rate=self.sample_rate) for i in items]


class FlakyEngine(PoolEngine):
    """A pool engine that fails on purpose. Options:
    counter: a file counting synthesize calls across all its worker processes;
    fail_first: the first this-many calls (counted there) raise;
    fail_word: any item containing this word raises, every time."""

    name: ClassVar[str] = "fake-flaky"

    def synthesize(self, items: Sequence[SynthesisItem]) -> list[np.ndarray]:
        import fcntl

        word = self.options.get("fail_word")
        if word and any(word in i.text for i in items):
            raise RuntimeError(f"cannot say {word!r}")
        counter = self.options.get("counter")
        if counter:
            with open(counter, "a+", encoding="utf-8") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                handle.seek(0)
                calls = len(handle.read()) + 1
                handle.write("x")
            if calls <= int(self.options.get("fail_first", 0)):
                raise RuntimeError(f"transient failure {calls}")
        return super().synthesize(items)


class RemoteEngine(DeviceEngine):
    """A client of a tone server on 127.0.0.1 (option `url`), `concurrency` requests at once."""

    name: ClassVar[str] = "fake-remote"
    placement: ClassVar[str] = "remote"

    def max_concurrency(self) -> int:
        return int(self.options.get("concurrency", 2))

    def synthesize(self, items: Sequence[SynthesisItem]) -> list[np.ndarray]:
        import urllib.request

        out = []
        for item in items:
            body = json.dumps({"text": item.text, "seed": item.seed}).encode()
            request = urllib.request.Request(self.options["url"], data=body, method="POST")
            with urllib.request.urlopen(request, timeout=30) as response:
                out.append(np.frombuffer(response.read(), dtype=np.float32).copy())
        return out
