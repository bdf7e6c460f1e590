"""Crash safety: the real CLI killed with SIGKILL at random moments of synthesis, mastering and
muxing, restarted each time, ends with the audio of an uninterrupted run, never shows a partial
file under a final name, redoes at most the batches in flight, and leaves no process behind.

The moments are drawn from a seeded generator (printed), as points in the job's own progress:
so many segments in the store's journal, a chapter's mastered file appearing, the final
M4B's temporary file appearing.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import soundfile as sf
from conftest import REPO, SAMPLE_BOOK, narrate_command
from output_checks import check_no_partial_final_files, decode_m4b

from narration.engines.piper_engine import PiperEngine
from narration.store import read_manifest

pytestmark = pytest.mark.slow
SEED = 20261205
SYNTHESIS_KILLS, MASTERING_KILLS, MUXING_KILLS = 6, 2, 2
# What a killed run can have in flight: 2 Piper workers x 2 batches queued x 4 segments.
IN_FLIGHT = 2 * 2 * PiperEngine.batch_size


def _start(out: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*narrate_command(), str(SAMPLE_BOOK), "--out", str(out), "--no-cast"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=log.open("ab"),
    )  # fmt: skip


def _journal_keys(book_dir: Path) -> list[str]:
    path = book_dir / ".cache" / "segments" / "rendered.jsonl"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["key"] for line in lines if line.endswith("}")]


def _mastered(book_dir: Path) -> int:
    return len(list((book_dir / ".cache" / "chapters").glob("[0-9][0-9][0-9]-*.wav")))


def _muxing(book_dir: Path) -> bool:
    return any(book_dir.glob(".*.m4b.*part*"))


def _kill_when(process: subprocess.Popen, moment, timeout_s: float = 300) -> bool:
    """SIGKILL `process` once moment() is true; False if it finished first. Waits for every
    process it started (engine workers, Prefect server, ffmpeg) to be gone too."""
    children: set[psutil.Process] = set()
    deadline = time.monotonic() + timeout_s
    while process.poll() is None:
        assert time.monotonic() < deadline, "the job hung"
        try:
            children |= set(psutil.Process(process.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            break
        if moment():
            process.send_signal(signal.SIGKILL)
            process.wait()
            gone, alive = psutil.wait_procs(list(children), timeout=30)
            assert not alive, f"left behind: {[p.cmdline()[:3] for p in alive]}"
            return True
        time.sleep(0.005)
    return False


def test_sigkill_at_random_moments_loses_nothing_and_changes_nothing(tmp_path):
    rng = random.Random(SEED)
    print(f"kill moments drawn with seed {SEED}")
    reference = tmp_path / "reference"
    done = _start(reference, tmp_path / "reference.log")
    assert done.wait(timeout=600) == 0, (tmp_path / "reference.log").read_text()
    ref_dir = reference / SAMPLE_BOOK.stem
    ref_rows = read_manifest(ref_dir / "plan.parquet")
    segments = len({row["key"] for row in ref_rows})

    out = tmp_path / "killed"
    book_dir = out / SAMPLE_BOOK.stem
    chapters = len({row["chapter_index"] for row in ref_rows})
    moments = [
        (lambda n=n: len(set(_journal_keys(book_dir))) >= n)
        for n in sorted(rng.sample(range(1, segments), SYNTHESIS_KILLS))
    ]
    moments += [
        (lambda n=n: _mastered(book_dir) >= n)
        for n in sorted(rng.sample(range(1, chapters + 1), MASTERING_KILLS))
    ]
    moments += [lambda: _muxing(book_dir)] * MUXING_KILLS
    kills = 0
    for moment in moments:
        log = tmp_path / "killed.log"
        if _kill_when(_start(out, log), moment):
            kills += 1
        check_no_partial_final_files(book_dir)
    final = _start(out, tmp_path / "killed.log")
    assert final.wait(timeout=600) == 0, (tmp_path / "killed.log").read_text()[-2000:]
    check_no_partial_final_files(book_dir)

    assert kills >= 10, f"only {kills} kills landed before the job finished"
    rows = read_manifest(book_dir / "plan.parquet")
    assert [r["key"] for r in rows] == [r["key"] for r in ref_rows]
    assert all(r["duration_s"] for r in rows)
    ref_chapters = sorted(p.name for p in (ref_dir / ".cache" / "chapters").glob("*.wav"))
    got_chapters = sorted(p.name for p in (book_dir / ".cache" / "chapters").glob("*.wav"))
    assert got_chapters == ref_chapters  # named by the fingerprint of their segments

    synthesised = len(_journal_keys(book_dir))
    redone = synthesised - segments
    print(
        f"{kills} kills; {synthesised} segments synthesised for {segments}: {redone} redone "
        f"(bound {kills} x {IN_FLIGHT} in flight = {kills * IN_FLIGHT})"
    )
    assert synthesised <= segments + kills * IN_FLIGHT

    if getattr(PiperEngine, "repeatable", False):  # the same samples, not only the same keys
        for name in ref_chapters:
            ref_audio, _ = sf.read(ref_dir / ".cache" / "chapters" / name, dtype="int16")
            got_audio, _ = sf.read(book_dir / ".cache" / "chapters" / name, dtype="int16")
            assert np.array_equal(ref_audio, got_audio), name
        m4b = f"{SAMPLE_BOOK.stem}.m4b"
        assert np.array_equal(decode_m4b(ref_dir / m4b), decode_m4b(book_dir / m4b))
