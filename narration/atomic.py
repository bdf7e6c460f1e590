"""Atomic file writes: write to a temp file in the same folder, fsync, rename.

A reader never sees a half-written checkpoint or output: either the old file or the new one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _process_umask() -> int:
    """The process's umask, read without changing it where the system says (Linux), since
    setting it to read it back would race with other threads creating files."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files; a finished output gets what open() would have given it, so a
# media server running as another user can read the audiobook.
_FILE_MODE = 0o666 & ~_process_umask()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temp path beside `target`; on success fsync it and rename it over `target`.

    The temp name keeps the target's suffix (or `suffix`) so tools that sniff the format
    from the extension (ffmpeg, soundfile) still work.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f".part{suffix or target.suffix}", dir=target.parent
    )
    os.chmod(tmp_name, _FILE_MODE)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | Path, text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))


def atomic_write_json(target: str | Path, data: object) -> None:
    """`data` as indented JSON (non-ASCII kept, anything else as str), written atomically."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    atomic_write_text(target, text + "\n")
