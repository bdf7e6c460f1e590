"""Engines whose model code runs under another interpreter.

Some engines cannot share our environment (CosyVoice3 pins Python-3.10-era packages that
Prefect 3 cannot live with). Such an engine's model runs in a child process started with the
engine's own interpreter (a virtual environment made by `narrate engines install NAME`),
running a small standalone script of the engine's. The two talk over the child's stdin and
stdout, one JSON object per line; audio goes through files in a folder of ours (float32 raw
samples), never through the pipe:

    us -> child   {"op": "synthesize", "id": 7, "items": [{"text", "voice", "seed"}], "dir": D}
    child -> us   {"id": 7, "ok": true, "files": ["D/7-0.f32", ...], "sample_rate": 24000}
                  {"id": 7, "ok": false, "error": "one line", "out_of_memory": false}
    first line    {"ready": true, "sample_rate": 24000, "version": "..."} (or "ready": false)

The child loads the model once. If it dies, the next call starts it again and the batch is
retried once; the render layer restarts our side of it like any other worker.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from narration.engines.base import SynthesisItem
from narration.errors import EngineError

_START_TIMEOUT_S = 900.0  # a first load can compile kernels or read gigabytes


class ChildOutOfMemory(EngineError):
    """The child ran out of device memory (named so the render layer halves the batch)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"out of memory: {message}")


class EngineChild:
    """One child process running an engine's script under its own interpreter."""

    def __init__(self, name: str, command: Sequence[str], env: dict[str, str] | None = None):
        self.name = name
        self.command = list(command)
        self.env = env
        self.process: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}  # its ready line
        self.last_reply: dict[str, Any] = {}
        self._next_id = 0
        self._lock = threading.Lock()
        self._dir = tempfile.TemporaryDirectory(prefix=f"narration-{name}-")
        self.starts = 0

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> dict[str, Any]:
        self.stop()
        self.starts += 1
        try:
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=None,  # the child's own errors reach the terminal and logs
                text=True,
                bufsize=1,
                env={**os.environ, **(self.env or {})},
            )
        except OSError as exc:
            raise EngineError(f"{self.name}: cannot start {self.command[0]}: {exc}") from None
        first = self._read_line(_START_TIMEOUT_S)
        if not first.get("ready"):
            self.stop()
            raise EngineError(f"{self.name}: the engine process could not load: "
                              f"{first.get('error', 'no reason given')}")  # fmt: skip
        self.info = first
        return first

    def _read_line(self, timeout_s: float) -> dict[str, Any]:
        process = self.process
        assert process is not None and process.stdout is not None
        stdout = process.stdout
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout_s)
        if reader.is_alive():
            raise EngineError(f"{self.name}: no answer in {timeout_s:g} s")
        line = result[0] if result else ""
        if not line:  # end of its output: it is ending (wait for it, to say how)
            try:
                code = process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                code = None
            raise EngineError(f"{self.name}: the engine process ended (exit code {code})")
        try:
            return json.loads(line)
        except ValueError:
            raise EngineError(f"{self.name}: not a protocol line: {line[:120]!r}") from None

    def request(self, items: list[dict[str, Any]], timeout_s: float = 3600.0) -> list[np.ndarray]:
        """One batch; the child is (re)started when it is not running."""
        with self._lock:
            if not self.alive:
                self.start()
            assert self.process is not None and self.process.stdin is not None
            self._next_id += 1
            message = {"op": "synthesize", "id": self._next_id, "items": items,
                       "dir": self._dir.name}  # fmt: skip
            try:
                self.process.stdin.write(json.dumps(message) + "\n")
                self.process.stdin.flush()
            except (BrokenPipeError, OSError):
                raise EngineError(f"{self.name}: the engine process is gone") from None
            reply = self.last_reply = self._read_line(timeout_s)
            if not reply.get("ok"):
                error = str(reply.get("error", "failed"))
                if reply.get("out_of_memory"):
                    raise ChildOutOfMemory(error)
                raise EngineError(f"{self.name}: {error}")
            audio = []
            for name in reply["files"]:
                path = Path(name)
                audio.append(np.fromfile(path, dtype=np.float32))
                path.unlink(missing_ok=True)
            return audio

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(OSError):
            if process.stdin is not None:
                process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def items_for_child(items: Sequence[SynthesisItem]) -> list[dict[str, Any]]:
    return [
        {"text": item.text, "seed": item.seed, "voice": dict(item.voice.params)} for item in items
    ]


def synthesize_in_child(child: EngineChild, items: Sequence[SynthesisItem]) -> list[np.ndarray]:
    """A batch through the child; if it died on the way, once more in a fresh one."""
    payload = items_for_child(items)
    try:
        return child.request(payload)
    except ChildOutOfMemory:
        raise
    except EngineError:
        if child.alive:
            raise  # the child answered with an error: not a crash, do not hide it
        return child.request(payload)
