"""Checkpoints: a killed job resumes without redoing work; an edit re-renders only itself."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import REPO, narrate_command, run_narrate

pytestmark = pytest.mark.slow

PARAGRAPHS = [
    "The harbour was quiet in the morning. Boats rocked against the wall. A gull cried twice.",
    "Old Mr. Pascoe mended nets by the slipway. He had done so for 41 years. "
    "He said the sea had never once said thank you.",
    "At noon the ferry came in from St. Mary's. It carried 12 passengers and a goat. "
    "Nobody could say who owned the goat.",
    "By evening the wind rose. The boats were pulled higher. The lamps were lit one by one.",
]


def _write_book(path: Path, paragraphs: list[str]) -> None:
    body = "\n\n".join(paragraphs)
    path.write_text(
        f"# Harbour Days\n\n## Morning\n\n{body}\n\n## Evening\n\nThe end came softly.\n"
    )


def _state(out: Path, stem: str) -> dict:
    return json.loads((out / stem / "build.json").read_text())


def _stored(out: Path, stem: str) -> int:
    """Finished segments: temp files (".<name>.<random>.part.wav") are not counted."""
    found = (out / stem / ".cache" / "segments").rglob("*.wav")
    return sum(1 for path in found if not path.name.startswith("."))


def _wait_until_group_is_gone(pgid: int, timeout_s: float = 20.0) -> None:
    """SIGKILL is delivered asynchronously and the engine workers are not our children: wait
    until no live process is left in the group, so nothing lands after we count."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        alive = False
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp
                alive = True
                break
        if not alive:
            return
        time.sleep(0.05)
    raise AssertionError(f"processes of group {pgid} still alive {timeout_s} s after SIGKILL")


def test_editing_one_sentence_rerenders_only_that_segment(tmp_path):
    book, out = tmp_path / "harbour.md", tmp_path / "out"
    _write_book(book, PARAGRAPHS)
    first = run_narrate(book, "--out", out, "-j", "2")
    assert first.returncode == 0, first.stderr
    total = _state(out, "harbour")["segments"]
    assert _state(out, "harbour")["segments_rendered"] == total
    m4b = out / "harbour" / "harbour.m4b"
    first_bytes = m4b.read_bytes()

    edited = list(PARAGRAPHS)
    edited[1] = edited[1].replace("41 years", "42 years")
    _write_book(book, edited)
    second = run_narrate(book, "--out", out, "-j", "2")
    assert second.returncode == 0, second.stderr
    assert _state(out, "harbour")["segments_rendered"] == 1
    assert m4b.read_bytes() != first_bytes


def test_killed_job_resumes_where_it_stopped(tmp_path):
    book, out = tmp_path / "harbour.md", tmp_path / "out"
    _write_book(book, PARAGRAPHS * 6)  # long enough to kill mid-way
    process = subprocess.Popen(
        [*narrate_command(), str(book), "--out", str(out), "-j", "2"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while _stored(out, "harbour") < 8 if (out / "harbour").exists() else True:
        assert process.poll() is None, "the job finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # the CLI and its engine workers, mid-write
    process.wait()
    _wait_until_group_is_gone(process.pid)
    assert not (out / "harbour" / "harbour.m4b").exists()
    done_before = _stored(out, "harbour")

    resumed = run_narrate(book, "--out", out, "-j", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr
    state = _state(out, "harbour")
    # Sentences repeat six times in this book, so unique segments are what gets rendered.
    unique = len({r for r in _manifest_keys(out)})
    assert state["segments_rendered"] == unique - done_before
    assert not list((out / "harbour").rglob("*.part*")), "temp files from the kill are cleaned"


def _manifest_keys(out: Path) -> list[str]:
    from narration.store import read_manifest

    return [row["key"] for row in read_manifest(out / "harbour" / "plan.parquet")]
