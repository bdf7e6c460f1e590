"""Memory: the heap bound (narration.heap) and the memory benchmark's arithmetic."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import narrate_command

from narration.heap import bound_heap

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared/corpus/epub/valid"

_CHURN = """
import ctypes, sys, psutil, numpy as np, threading
from narration.heap import bound_heap
if sys.argv[1] == "bound":
    assert bound_heap()
rss = lambda: psutil.Process().memory_info().rss
def churn(seed):
    # a sentence's tensors: many sizes, from kilobytes to tens of megabytes, freed unevenly
    rng = np.random.default_rng(seed)
    kept = []
    for i in range(300):
        block = np.ones(int(rng.integers(1_000, 12_000_000)) // 8)
        if i % 7 == 0:
            kept.append(block[:1000].copy())  # a small survivor pins its neighbourhood
    return kept
before = rss()
threads = [threading.Thread(target=churn, args=(n,)) for n in range(6)]
for t in threads: t.start()
for t in threads: t.join()
if sys.argv[1] == "bound":
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # the free pages inside the heap, too
print((rss() - before) / 2**20)
"""


def _grown_mib(script: str, *args: str) -> float:
    """What a fresh process running `script` kept, in MiB (the script prints it)."""
    out = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_bound_heap_returns_what_threads_freed() -> None:
    assert bound_heap()
    # medians of three: where the small survivors land varies from run to run
    bound = sorted(_grown_mib(_CHURN, "bound") for _ in range(3))[1]
    default = sorted(_grown_mib(_CHURN, "default") for _ in range(3))[1]
    assert bound < 60, f"the process kept {bound:.0f} MiB after its threads freed everything"
    assert bound < default / 2, f"kept {bound:.0f} MiB bound, {default:.0f} MiB at the defaults"


_PASSAGES = """
import numpy as np, psutil
from narration.heap import bound_heap
assert bound_heap()
rss = lambda: psutil.Process().memory_info().rss
before = rss()
rng = np.random.default_rng(0)
survivors, held = [], []
for _ in range(200):
    held.append(np.ones(int(rng.integers(1_000_000, 3_000_000))))  # a passage: 8-24 MB
    survivors.append(np.ones(int(rng.integers(100, 5_000))))  # small objects made between
    if len(held) > 3:  # a few passages in flight, as while mastering and streaming
        held.pop(0)
held.clear()
print((rss() - before) / 2**20)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_passage_buffers_go_back_to_the_system_when_freed() -> None:
    """Passage-sized buffers are mapped on their own, so small objects made between them do
    not pin their memory (a 256 MiB mmap threshold kept ~150 MiB here)."""
    assert _grown_mib(_PASSAGES) < 40


def _benchmark() -> object:
    spec = importlib.util.spec_from_file_location("memory_bench", REPO / "benchmarks/memory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _samples(rss_gib: list[float], audio_step_s: float = 600.0) -> list[dict]:
    return [
        {
            "t_s": float(i),
            "audio_s": i * audio_step_s,
            "rss": int(r * (1 << 30)),
            "pss": int(r * (1 << 30)),
            "kinds": {"cli": {"rss": int(r * (1 << 30)), "pss": 0, "n": 1}},
        }
        for i, r in enumerate(rss_gib)
    ]


def test_summary_of_a_flat_and_a_growing_run() -> None:
    bench = _benchmark()
    flat = bench.summarise(_samples([1.0] * 11), wall_s=10.0, returncode=0)
    assert flat["flat_90_vs_10"] == 0
    assert flat["slope_gib_per_audio_hour"] == pytest.approx(0.0)
    # 0.1 GiB more every 600 s of audio: 0.6 GiB per audio hour
    growing = bench.summarise(
        _samples([1.0 + 0.1 * i for i in range(11)]), wall_s=10.0, returncode=0
    )
    assert growing["peak_rss_gib"] == pytest.approx(2.0)
    assert growing["rss_gib_at"]["10%"] == pytest.approx(1.1)
    assert growing["rss_gib_at"]["90%"] == pytest.approx(1.9)
    assert growing["slope_gib_per_audio_hour"] == pytest.approx(0.6)
    assert growing["peak_rss_gib_by_kind"]["cli"] == pytest.approx(2.0)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="needs ../shared/corpus")
def test_synthetic_book_is_long_distinct_prose(tmp_path: Path) -> None:
    from narration.ingest import read_book

    bench = _benchmark()
    path = bench.synthetic_book(bench.CORPUS_BOOK, 14.0, tmp_path)
    book = read_book(path)
    chars = sum(len(b.text) for c in book.chapters for b in c.blocks)
    assert chars >= 14.0 * bench.SPEECH_CHARS_PER_HOUR
    # past Pride and Prejudice's 12.6 estimated hours: the next corpus book, not a repeat
    texts = [" ".join(b.text for b in c.blocks) for c in book.chapters]
    assert len(set(texts)) == len(texts)


@pytest.mark.slow
def test_a_long_book_runs_its_chapters_in_a_few_threads(tmp_path: Path) -> None:
    """Prefect's default task runner starts one thread per submitted chapter, each alive until
    the run ends; the book flow's runner is bounded, so a 40-chapter book runs in the threads
    of a short one (and finishes: later chapters wait for a thread, never for each other)."""
    chapters = 40
    book = tmp_path / "long.md"
    book.write_text(
        "# Long\n\n"
        + "".join(f"## Part {n}\n\nPart {n} has one sentence.\n\n" for n in range(chapters)),
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "tests"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    command = [*narrate_command(), str(book), "--out", str(tmp_path / "out")]
    # a slow engine: every chapter's task is waiting for its sentence while the rest are submitted
    engine = "render_engines:PoolEngine"
    command += ["--engine", engine, "-O", f"{engine}.delay_s=0.2", "--no-cast"]
    cli = subprocess.Popen(command, env=env, cwd=REPO, stderr=subprocess.PIPE, text=True)
    most = 0
    deadline = time.monotonic() + 600
    while cli.poll() is None and time.monotonic() < deadline:
        try:
            most = max(most, psutil.Process(cli.pid).num_threads())
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    _, stderr = cli.communicate(timeout=60)
    assert cli.returncode == 0, stderr
    assert (tmp_path / "out" / "long" / "long.m4b").is_file()
    # ~14 threads bounded (main, Prefect's client, engine pool feeders, the encoders' pipes and
    # the chapters' few); unbounded, 35-45 here: a thread for each chapter waiting its turn
    assert 0 < most <= 24, f"the CLI ran {most} threads for {chapters} chapters"
