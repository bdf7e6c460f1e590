"""Prefect artifacts for a book: a progress bar while it renders, a Markdown summary at the end.

The progress artifact's description says chapters done, minutes of audio and an ETA from the
speed measured so far (audio seconds per wall second, and audio seconds per character of the
chapters done, applied to the characters left). An artifact that cannot be written is logged
and skipped: it never fails the job.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any

from narration import pipeline
from narration.plan import ChapterPlan

log = logging.getLogger(__name__)
_NOMINAL_CHARS_PER_S = 15.0  # until a chapter is done and the voice's speed is measured


def artifact_key(job: pipeline.Job, kind: str) -> str:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    slug = re.sub(r"[^a-z0-9]+", "-", job.out_dir.name.lower()).strip("-") or "book"
    return f"{kind}-{slug}"[:120]


def _chars(chapter: ChapterPlan) -> int:
    return sum(len(s.spoken_text) for s in chapter.segments)


class BookProgress:
    def __init__(self, job: pipeline.Job) -> None:
        self.job = job
        self.started = time.monotonic()
        self.total_chars = sum(_chars(c) for c in job.plan.chapters) or 1
        self.done_chars = 0
        self.done_audio_s = 0.0
        self.done = 0
        self.artifact_id: Any = None
        try:
            from prefect.artifacts import create_progress_artifact

            self.artifact_id = create_progress_artifact(
                progress=0.0,
                key=artifact_key(job, "progress"),
                description=f"{job.book.title}: starting, {len(job.plan.chapters)} chapters",
            )
        except Exception as exc:  # noqa: BLE001  (progress is a courtesy)
            log.warning("no progress artifact: %s", exc)

    def chapter_done(self, chapter: ChapterPlan, path: Path) -> None:
        self.done += 1
        self.done_chars += _chars(chapter)
        self.done_audio_s += pipeline.audio_duration_s([path])
        if self.artifact_id is None:
            return
        elapsed = time.monotonic() - self.started
        chars_per_audio_s = self.done_chars / self.done_audio_s if self.done_audio_s else None
        left_audio_s = (self.total_chars - self.done_chars) / (
            chars_per_audio_s or _NOMINAL_CHARS_PER_S
        )
        speed = self.done_audio_s / elapsed if elapsed > 0 else 0.0  # x real time
        eta = f"{left_audio_s / speed / 60:.1f} min" if speed > 0 else "unknown"
        description = (
            f"{self.job.book.title}: {self.done}/{len(self.job.plan.chapters)} chapters, "
            f"{self.done_audio_s / 60:.1f} min of audio, {speed:.1f}x real time, ETA {eta}"
        )
        try:
            from prefect.artifacts import update_progress_artifact

            percent = 100.0 * self.done_chars / self.total_chars
            update_progress_artifact(self.artifact_id, percent, description=description)
        except Exception as exc:  # noqa: BLE001
            log.warning("progress artifact not updated: %s", exc)

    @staticmethod
    def summary(
        job: pipeline.Job, outputs: list[str], stats: dict[str, Any], failed: dict[int, str]
    ) -> None:
        """A Markdown artifact: the outputs, the figures, each chapter's state."""
        titles = {c.index: c.title for c in job.plan.chapters}
        lines = [
            f"# {job.book.title}",
            "",
            f"**{'failed' if failed else 'done'}**: {stats['audio_s'] / 60:.1f} min of audio "
            f"in {stats['wall_s']:.1f} s; {stats['segments_rendered']} of "
            f"{stats['segments']} segments rendered in this run.",
            "",
        ]
        lines += [f"- output: `{p}`" for p in outputs]
        lines += [f"- read past in the input: {defect}" for defect in job.book.defects]
        if failed:
            lines += ["", "| chapter | title | error |", "|---|---|---|"]
            for index, why in failed.items():
                lines.append(f"| {index} | {titles[index]} | {why.replace('|', '/')} |")
        try:
            from prefect.artifacts import create_markdown_artifact

            create_markdown_artifact(
                "\n".join(lines), key=artifact_key(job, "summary"), description=job.book.title
            )
        except Exception as exc:  # noqa: BLE001
            log.warning("no summary artifact: %s", exc)
