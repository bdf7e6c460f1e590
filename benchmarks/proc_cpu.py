"""CPU seconds used by a process and its descendants, by kind (Linux /proc; benchmarks only).

Sampled every 0.2 s while the process runs, so a child that lives less than that is missed
(ffmpeg's short runs); the long-lived ones (engine workers, Prefect's server, the streaming
encoder) are all counted.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from pathlib import Path

_HZ = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _HZ  # ppid, utime + stime


def _kind(pid: int, root: int) -> str:
    if pid == root:
        return "main"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "other"
    if "uvicorn" in command:
        return "prefect_server"
    if "spawn_main" in command:
        return "engine_workers"
    if "ffmpeg" in command:
        return "ffmpeg"
    return "other"


class CpuByKind:
    """Start with the root pid; stop() returns {kind: cpu_seconds}."""

    def __init__(self, root: int, interval_s: float = 0.2) -> None:
        self.root, self.interval_s = root, interval_s
        self._last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (stat := _stat(int(entry))) is not None:
                stats[int(entry)] = stat
        tree, grew = {self.root}, True
        while grew:
            grew = False
            for pid, (ppid, _cpu) in stats.items():
                if ppid in tree and pid not in tree:
                    tree.add(pid)
                    grew = True
        for pid in tree & stats.keys():
            kind = self._last[pid][0] if pid in self._last else _kind(pid, self.root)
            self._last[pid] = (kind, stats[pid][1])

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            time.sleep(self.interval_s)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        totals: dict[str, float] = defaultdict(float)
        for kind, cpu in self._last.values():
            totals[kind] += cpu
        return {kind: round(cpu, 1) for kind, cpu in sorted(totals.items())}
