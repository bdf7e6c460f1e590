"""A planned job, saved once per run, so every task and every machine works from the same plan.

Reading, casting and planning a book is done once (by the CLI, or by the flow when a
deployment starts it); the result is written beside the book's outputs, named by the job's
fingerprint, and flows and tasks take only its path: a plain value any Prefect worker can be
handed. A process that planned the job keeps it in memory, so loading it there costs nothing.

The file is a pickle of plain data classes (the book, the plan, the settings). It lives in the
job's own output folder, written and read by the same narration version (the version is in
its name: another version plans again instead of reading it).
"""

from __future__ import annotations

import pickle
import threading
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from narration.atomic import atomic_write_bytes
from narration.errors import NarrationError
from narration.job_settings import output_dir
from narration.pipeline import Job, job_fingerprint, make_engines
from narration.storage import is_url

_lock = threading.Lock()
_in_memory: dict[str, Job] = {}  # job file -> the Job this process planned or loaded


@dataclass
class _Saved:
    book_path: Path
    settings: object
    book: object
    plan: object
    episode: object = None  # a podcast job's script as read


def job_file_path(job: Job) -> Path:
    return (
        job.out_dir / ".cache" / "jobs" / f"{job_fingerprint(job)[:16]}-{version('narration')}.pkl"
    )


def save_job(job: Job) -> str:
    """Write the job (atomically) and return where it is, the value flows and tasks are given:
    its path, or its URL when the outputs live at one (so any machine can read it)."""
    path = job_file_path(job)
    saved = _Saved(job.book_path, job.settings, job.book, job.plan, job.episode)
    atomic_write_bytes(path, pickle.dumps(saved, protocol=pickle.HIGHEST_PROTOCOL))
    for stale in path.parent.glob("*.pkl"):  # an earlier plan of this book is never read again
        if stale != path:
            stale.unlink(missing_ok=True)
    location = str(path)
    if job.mirror is not None:
        job.mirror.publish(path)
        location = job.mirror.remote(path)
    with _lock:
        _in_memory[location] = job
    return location


def _read(location: str) -> bytes:
    if not is_url(location):
        return Path(location).read_bytes()
    import fsspec

    with fsspec.open(location, "rb") as remote:
        return remote.read()


def load_job(location: str) -> Job:
    """The job saved at `location` (from memory when this process saved or loaded it). The
    book's folder is this machine's: the same path, or its own mirror of the output URL."""
    with _lock:
        job = _in_memory.get(location)
    if job is not None:
        return job
    try:
        saved: _Saved = pickle.loads(_read(location))  # noqa: S301  (our own file)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
        raise NarrationError(f"{location}: cannot read the planned job ({exc})") from exc
    job = Job(
        saved.book_path,
        output_dir(saved.settings, saved.book_path),  # type: ignore[arg-type]
        saved.settings,  # type: ignore[arg-type]
        saved.book,  # type: ignore[arg-type]
        saved.plan,  # type: ignore[arg-type]
        make_engines(saved.settings),  # type: ignore[arg-type]
        getattr(saved, "episode", None),  # type: ignore[arg-type]
    )
    with _lock:
        _in_memory[location] = job
    return job


def forget_job(path: str) -> None:
    """Drop the in-memory copy (a long-lived worker must not keep every book it has seen)."""
    with _lock:
        _in_memory.pop(path, None)
