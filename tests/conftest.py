import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
SAMPLE_BOOK = REPO / "books" / "the-lighthouse-keeper.epub"
PRIDE = CORPUS / "epub" / "valid" / "standardebooks_jane-austen_pride-and-prejudice.epub"


def narrate_command() -> list[str]:
    """The installed console script when there is one, else the same entry point via -m."""
    exe = shutil.which("narrate")
    return [exe] if exe else [sys.executable, "-m", "narration"]


def run_narrate(*args: str, timeout: float = 900, env: dict | None = None):
    return subprocess.run(
        [*narrate_command(), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    return CORPUS
