"""The project's own errors. Anything a user can cause is an InputError with a one-line message."""

from __future__ import annotations

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
