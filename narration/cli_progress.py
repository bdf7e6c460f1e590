"""The CLI's progress display: chapters and segments done, audio minutes rendered, ETA."""

from __future__ import annotations

import threading
import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RichReporter:
    """Implements narration.progress.Reporter with a rich progress bar on stderr."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[audio]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            refresh_per_second=2,  # a night-long job needs no 10 Hz redraw stealing CPU
        )
        self._lock = threading.Lock()
        self._segments: TaskID | None = None
        self._chapters: TaskID | None = None
        self.audio_rendered_s = 0.0
        self.started = time.monotonic()

    def __enter__(self) -> RichReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def job_started(self, chapters: int, segments: int, cached_segments: int) -> None:
        with self._lock:
            if self._segments is not None:  # the CLI already announced this job
                return
            self._segments = self.progress.add_task(
                "segments", total=segments, completed=cached_segments, audio=""
            )
            self._chapters = self.progress.add_task("chapters", total=chapters, audio="")
        if cached_segments:
            self.console.print(
                f"resuming: {cached_segments} of {segments} segments already rendered"
            )

    def segment_rendered(self, seconds: float) -> None:
        with self._lock:
            self.audio_rendered_s += seconds
            if self._segments is not None:
                self.progress.update(
                    self._segments,
                    advance=1,
                    audio=f"{self.audio_rendered_s / 60:.1f} min audio",
                )

    def chapter_done(self, chapter_index: int, title: str) -> None:
        with self._lock:
            if self._chapters is not None:
                self.progress.update(self._chapters, advance=1, audio=title[:30])

    def stage(self, message: str) -> None:
        with self._lock:
            if self._chapters is not None:
                self.progress.update(self._chapters, audio=message)
