"""Memory: the heap bound (narration.heap) and the memory benchmark's arithmetic."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

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


def _grown_mib(mode: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _CHURN, mode], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_bound_heap_returns_what_threads_freed() -> None:
    assert bound_heap()
    # medians of three: where the small survivors land varies from run to run
    bound = sorted(_grown_mib("bound") for _ in range(3))[1]
    default = sorted(_grown_mib("default") for _ in range(3))[1]
    assert bound < 60, f"the process kept {bound:.0f} MiB after its threads freed everything"
    assert bound < default / 2, f"kept {bound:.0f} MiB bound, {default:.0f} MiB at the defaults"


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
