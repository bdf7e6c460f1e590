"""Progress events from the library and flows to whoever shows them (the CLI's progress bar).

The flow runs in the CLI's process, so a module-level reporter is the simplest channel that
keeps Prefect task parameters plain. With no reporter set, events are dropped (a deployment
logs through Prefect instead).
"""

from __future__ import annotations

import threading
from typing import Protocol


class Reporter(Protocol):
    def job_started(self, chapters: int, segments: int, cached_segments: int) -> None: ...
    def segment_rendered(self, seconds: float) -> None: ...
    def chapter_done(self, chapter_index: int, title: str) -> None: ...
    def stage(self, message: str) -> None: ...


class _Silent:
    def job_started(self, chapters: int, segments: int, cached_segments: int) -> None:
        pass

    def segment_rendered(self, seconds: float) -> None:
        pass

    def chapter_done(self, chapter_index: int, title: str) -> None:
        pass

    def stage(self, message: str) -> None:
        pass


_lock = threading.Lock()
_reporter: Reporter = _Silent()


def set_reporter(reporter: Reporter | None) -> None:
    global _reporter
    with _lock:
        _reporter = reporter or _Silent()


def reporter() -> Reporter:
    return _reporter
