"""One job per output folder: a second job on the same book refuses, it never interleaves."""

import subprocess
import sys
import textwrap

import pytest
from conftest import SAMPLE_BOOK, run_narrate

from narration.errors import NarrationError
from narration.job_settings import book_slug
from narration.joblock import LOCK_NAME, job_lock

# Another process holding a folder's lock the way a running job does, until its stdin closes.
_HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from narration.joblock import job_lock
    with job_lock(Path(sys.argv[1])):
        print("holding", flush=True)
        sys.stdin.read()
    """
)


def _start_holder(folder) -> subprocess.Popen:
    """A process that has taken the folder's lock (it holds it until its stdin closes)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "holding"
    return holder


@pytest.fixture
def held(tmp_path):
    """Start a process that holds the lock on a folder; yields (folder, pid)."""

    def hold(folder):
        holders.append(_start_holder(folder))
        return holders[-1].pid

    holders: list[subprocess.Popen] = []
    yield hold
    for holder in holders:
        holder.stdin.close()
        holder.wait(timeout=10)


def _can_take(folder) -> bool:
    """Whether a fresh process could take the lock now."""
    probe = (
        "import sys; from pathlib import Path; from narration.joblock import job_lock\n"
        "try:\n    with job_lock(Path(sys.argv[1])): pass\nexcept Exception: sys.exit(3)"
    )
    return subprocess.run([sys.executable, "-c", probe, str(folder)]).returncode == 0


def test_second_job_refuses_naming_the_folder_and_holder(tmp_path, held):
    pid = held(tmp_path)
    with pytest.raises(NarrationError) as caught, job_lock(tmp_path):
        pytest.fail("the lock was taken twice")
    message = str(caught.value)
    assert str(tmp_path) in message and f"pid {pid}" in message and "\n" not in message


def test_lock_is_reentrant_in_one_process_and_released_after(tmp_path):
    with job_lock(tmp_path):
        with job_lock(tmp_path):  # the CLI holds it, then the flow takes it again
            assert not _can_take(tmp_path)
        assert not _can_take(tmp_path)  # still held by the outer holder
    assert _can_take(tmp_path)
    assert (tmp_path / LOCK_NAME).exists()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    holder = _start_holder(tmp_path)
    holder.kill()
    holder.wait(timeout=10)
    assert _can_take(tmp_path)


def test_cli_refuses_a_book_another_job_is_writing(tmp_path, held):
    out = tmp_path / "out"
    pid = held(out / book_slug(SAMPLE_BOOK))
    result = run_narrate(SAMPLE_BOOK, "--out", out, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    text = result.stdout + result.stderr
    assert "another narrate job is writing this book" in text and f"pid {pid}" in text
    assert "Traceback" not in text
    assert not list((out / book_slug(SAMPLE_BOOK)).glob("*.m4b"))
