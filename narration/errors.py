"""The project's own errors. Anything a user can cause is an InputError with a one-line message."""

from __future__ import annotations

import errno
from pathlib import Path


class NarrationError(Exception):
    """Base class for errors the CLI reports as one line, without a traceback."""


class InputError(NarrationError):
    """The input file is missing, unreadable, malformed or refused (unsafe, DRM, ...)."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class EngineError(NarrationError):
    """An engine could not be found, loaded or run."""


class SegmentsFailed(EngineError):
    """Segments the engine could not render, each with its reason (key -> one line)."""

    def __init__(self, failures: dict[str, str]) -> None:
        self.failures = dict(failures)
        first = next(iter(self.failures.values()), "no reason given")
        more = len(self.failures) - 1
        super().__init__(first + (f" (and {more} more segments)" if more else ""))

    def __reduce__(self) -> tuple:  # Prefect pickles a failed task's exception
        return (type(self), (self.failures,))


class ChaptersFailed(NarrationError):
    """Some chapters could not be finished; the others were (the report names each)."""

    def __init__(self, report: str) -> None:
        super().__init__(report)

    def __reduce__(self) -> tuple:
        return (type(self), (str(self),))


class OutOfSpace(NarrationError):
    """A disk filled up: the job stops at once (retrying cannot help), keeping what is done."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = str(folder)
        super().__init__(
            f"{self.folder}: no space left on device; free some space and run the same command "
            "again (everything finished is kept)"
        )

    def __reduce__(self) -> tuple:
        return (type(self), (self.folder,))


def is_out_of_space(error: BaseException | str) -> bool:
    """ENOSPC however it reached us: the OSError itself, or a message that carries it (from an
    engine worker over its pipe, from ffmpeg's stderr)."""
    if isinstance(error, OutOfSpace):
        return True
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return True
    return "no space left on device" in str(error).lower()
