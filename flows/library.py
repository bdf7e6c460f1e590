"""The overnight job: every new or changed book in an inbox folder, within a time window.

A book is finished when its build.json records the same book content (sha256 of the file),
the same settings and a fingerprint, and its outputs exist: it is skipped without being read.
Any other book is narrated (as a subflow, here or fanned out to a pool); a failed book is
logged and the night goes on. After `stop_after` (a time of day) no new book is started; the
next night picks up where this one stopped, since every finished segment is kept.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from flows.narrate import narrate_book
from narration.job_settings import JobSettings, output_dir, output_mirror, resolve_settings
from narration.jobstate import file_sha256

BOOK_SUFFIXES = frozenset({".epub", ".txt", ".md", ".markdown"})


def inbox_books(inbox: Path) -> list[Path]:
    return sorted(p for p in inbox.iterdir() if p.is_file() and p.suffix.lower() in BOOK_SUFFIXES)


def is_finished(book: Path, settings: JobSettings) -> bool:
    """Built from this very file with these settings, outputs in place (nothing is read)."""
    build_json = output_dir(settings, book) / "build.json"
    mirror = output_mirror(settings, book)
    if mirror is not None:
        mirror.fetch(build_json)
    try:
        state = json.loads(build_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        bool(state.get("fingerprint"))
        and state.get("book_sha256") == file_sha256(book)
        and state.get("settings") == settings.to_dict()
        and all(
            Path(p).exists() or (mirror is not None and mirror.exists(Path(p)))
            for p in state.get("outputs", [])
        )
    )


def window_end(started: dt.datetime, stop_after: str | None) -> dt.datetime | None:
    """The first `stop_after` ("HH:MM", local time) after `started`; None: no window."""
    if not stop_after:
        return None
    hour, minute = (int(part) for part in stop_after.split(":", 1))
    end = started.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return end if end > started else end + dt.timedelta(days=1)


def _now() -> dt.datetime:
    return dt.datetime.now()


@flow(name="narrate-library")
def narrate_library(
    inbox: str = "books",
    settings: dict[str, Any] | None = None,
    stop_after: str | None = "07:00",
    chapter_deployment: str | None = None,
) -> list[dict[str, Any]]:
    """Narrate every new or changed book in `inbox` until `stop_after`."""
    logger = get_run_logger()
    job_settings = resolve_settings(JobSettings(**(settings or {})))
    deadline = window_end(_now(), stop_after)
    results: list[dict[str, Any]] = []
    for book in inbox_books(Path(inbox)):
        if deadline is not None and _now() >= deadline:
            logger.warning("%s: the window closed at %s; left for the next run", book, stop_after)
            results.append({"book": str(book), "state": "left for the next run"})
            continue
        if is_finished(book, job_settings):
            results.append({"book": str(book), "state": "up to date"})
            continue
        try:
            summary = narrate_book(
                str(book), job_settings.to_dict(), chapter_deployment=chapter_deployment
            )
            results.append({"book": str(book), "state": "done", **summary})
        except Exception as exc:  # one bad book must not stop the night's run
            logger.error("%s: %s", book, exc)
            results.append({"book": str(book), "state": "failed", "error": str(exc)})
    return results
