"""What is done, chapter by chapter, in files that every machine and `narrate status` can read.

A chapter's record (`.cache/chapters/NNN.json`) says whether it is done or failed, where and
when, and for a failure why and which segments. The segment store and plan.parquet say the
rest: `book_status` reads them without Prefect and without loading any engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from narration.atomic import atomic_write_json

DONE, FAILED = "done", "failed"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def chapter_record_path(out_dir: Path, index: int) -> Path:
    return out_dir / ".cache" / "chapters" / f"{index:03d}.json"


def write_chapter_record(
    out_dir: Path, index: int, title: str, state: str, **details: Any
) -> dict[str, Any]:
    """Record chapter `index` (1-based, the plan's numbering) as `state`, with who did it."""
    record = {
        "index": index,
        "title": title,
        "state": state,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "parent_pid": os.getppid(),  # a Prefect worker's flow runs are its children
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **details,
    }
    atomic_write_json(chapter_record_path(out_dir, index), record)
    return record


def read_chapter_record(out_dir: Path, index: int) -> dict[str, Any] | None:
    try:
        return json.loads(chapter_record_path(out_dir, index).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@dataclass
class ChapterStatus:
    index: int
    title: str
    segments: int
    rendered: int
    state: str  # done, failed, rendering, waiting
    error: str | None = None
    host: str | None = None


@dataclass
class BookStatus:
    folder: Path
    title: str
    state: str  # done, failed, in progress, not started
    outputs: list[str] = field(default_factory=list)
    audio_s: float | None = None
    chapters: list[ChapterStatus] = field(default_factory=list)

    @property
    def segments(self) -> int:
        return sum(c.segments for c in self.chapters)

    @property
    def rendered(self) -> int:
        return sum(c.rendered for c in self.chapters)


def book_folders(root: Path) -> list[Path]:
    """`root` itself when it is a book's output folder, else the book folders inside it."""
    if (root / "plan.parquet").is_file():
        return [root]
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / "plan.parquet").is_file())


def book_status(folder: Path) -> BookStatus:
    """A book's state from its manifest, store, chapter records and build.json."""
    from narration.store import SegmentStore, read_manifest

    rows = read_manifest(folder / "plan.parquet")
    store = SegmentStore(folder / ".cache" / "segments")
    try:
        build = json.loads((folder / "build.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        build = {}
    by_chapter: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_chapter.setdefault(int(row["chapter_index"]), []).append(row)
    chapters = []
    for index, chapter_rows in sorted(by_chapter.items()):
        keys = {row["key"] for row in chapter_rows}
        rendered = sum(1 for key in keys if store.has(key))
        record = read_chapter_record(folder, index) or {}
        state = record.get("state") or ("rendering" if rendered else "waiting")
        if state == FAILED and rendered == len(keys):
            state = "rendering"  # rendered since it failed: a later run is finishing it
        chapters.append(
            ChapterStatus(
                index,
                chapter_rows[0]["chapter_title"],
                len(keys),
                rendered,
                state,
                record.get("error"),
                record.get("host"),
            )  # fmt: skip
        )
    outputs = [p for p in build.get("outputs", []) if Path(p).exists()]
    if build.get("failed_chapters"):
        state = "failed"
    elif build.get("fingerprint") and outputs:
        state = "done"
    elif any(c.rendered for c in chapters):
        state = "in progress"
    else:
        state = "not started"
    title = build.get("title") or folder.name
    return BookStatus(folder, title, state, outputs, build.get("audio_s"), chapters)


def describe(status: BookStatus, *, chapters: bool = True) -> list[str]:
    """Lines for a person: the book, then each chapter."""
    done = sum(1 for c in status.chapters if c.state == DONE)
    head = (
        f"{status.title} [{status.state}] {status.folder}: {done}/{len(status.chapters)} "
        f"chapters done, {status.rendered}/{status.segments} segments rendered"
    )
    if status.audio_s:
        head += f", {status.audio_s / 60:.1f} min of audio"
    lines = [head]
    if status.outputs:
        lines.append(f"  outputs: {', '.join(status.outputs)}")
    if chapters:
        for c in status.chapters:
            line = f"  {c.index:>3} {c.title[:40]:<40} {c.state:<9} {c.rendered}/{c.segments}"
            if c.host:
                line += f"  on {c.host}"
            if c.error:
                line += f"  {c.error}"
            lines.append(line)
    return lines
