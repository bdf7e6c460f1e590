"""One job at a time per output folder.

Two jobs rendering the same book into the same folder would delete each other's temp files
(a starting job sweeps the leftovers of a killed one) and could leave one of them waiting on
work that will never land. So a job holds an exclusive lock on `<folder>/.lock` while it
writes; a second job refuses at once, with a one-line error naming the folder and the holder.

The lock is flock(2): the kernel drops it when the holder exits, however it exits, so a
killed job never leaves a stale lock behind. Within one process it is re-entrant (the CLI
takes it, then the Prefect flow it runs takes it again).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from narration.errors import NarrationError

try:
    import fcntl
except ImportError:  # not POSIX: no locking, as before
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lock"

_held: dict[str, tuple[int, int]] = {}  # lock path -> (file descriptor, depth)
_guard = threading.Lock()


def _holder(fd: int) -> str:
    """' (pid N)' from what the holder wrote into the lock file, or ''."""
    try:
        text = os.pread(fd, 64, 0).decode("ascii", errors="replace").strip()
    except OSError:
        return ""
    return f" (pid {text})" if text.isdigit() else ""


def _acquire(path: str, folder: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise NarrationError(
            f"{folder}: another narrate job is writing this book{holder}; "
            "wait for it to finish, or give this one another --out"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


@contextmanager
def job_lock(folder: Path) -> Iterator[None]:
    """Hold the folder's job lock for the duration; NarrationError if another job holds it."""
    if fcntl is None:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = str((folder / LOCK_NAME).resolve())
    with _guard:
        fd, depth = _held.get(path, (-1, 0))
        if depth == 0:
            fd = _acquire(path, folder)
        _held[path] = (fd, depth + 1)
    try:
        yield
    finally:
        with _guard:
            fd, depth = _held.pop(path)
            if depth > 1:
                _held[path] = (fd, depth - 1)
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
