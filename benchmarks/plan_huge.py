"""`narrate plan` on a huge input: a generated single-paragraph text with no punctuation.

    python benchmarks/plan_huge.py [--mb 50] [--keep]

Generates the text (words of the sample book's vocabulary, capitals kept, punctuation and
digits dropped, one line), runs `narrate plan` on it in a subprocess, samples the resident
memory of it and its children every 0.1 s, and prints the wall time and the peak RSS (the
kernel's own peak for the process, and the sampled peak of the whole tree). The issue's bar:
50 MB in under 60 s and under 1 GB. Results go to benchmarks/results/plan_huge.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "plan_huge.json"
SAMPLE = REPO / "books" / "the-lighthouse-keeper.epub"


def vocabulary() -> list[str]:
    from narration.ingest import read_book

    book = read_book(SAMPLE)
    text = " ".join(block.text for chapter in book.chapters for block in chapter.blocks)
    return re.findall(r"[A-Za-z]+", text)  # with repeats: common words stay common


def generate(path: Path, megabytes: float, seed: int = 15) -> int:
    words = vocabulary()
    rng = random.Random(seed)
    target = int(megabytes * 1_000_000)
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        while written < target:
            chunk = " ".join(rng.choices(words, k=10_000)) + " "
            out.write(chunk)
            written += len(chunk)
        out.write("\n")
    return written + 1


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of `pid` and its descendants, from /proc (0 where it has gone)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while todo:
        current = todo.pop()
        with contextlib.suppress(OSError, IndexError, ValueError):  # it may have exited
            total += int(Path(f"/proc/{current}/statm").read_text().split()[1]) * page
        todo.extend(children.get(current, []))
    return total


def run_plan(book: Path, out: Path) -> dict[str, float]:
    command = [sys.executable, "-m", "narration", "plan", str(book), "--out", str(out)]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss_bytes(process.pid))
        time.sleep(0.1)
    wall = time.monotonic() - started
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        sys.exit(f"narrate plan failed ({process.returncode}): {stderr.decode()[-2000:]}")
    kernel_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    return {
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(kernel_peak / 1e6, 1),
        "sampled_tree_peak_rss_mb": round(peak / 1e6, 1),
        "summary": stdout.decode().strip().splitlines()[-2:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0, help="size of the generated text")
    parser.add_argument("--keep", action="store_true", help="keep the generated text")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plan-huge-") as folder:
        book = Path(folder) / "huge.txt"
        size = generate(book, args.mb)
        result = {"input_bytes": size, **run_plan(book, Path(folder) / "out")}
        if args.keep:
            kept = Path(tempfile.gettempdir()) / f"plan-huge-{args.mb:g}mb.txt"
            book.replace(kept)
            result["kept"] = str(kept)
    print(
        f"narrate plan on {size / 1e6:.1f} MB: {result['wall_s']:.1f} s wall, "
        f"peak RSS {result['peak_rss_mb']:.0f} MB "
        f"(sampled tree peak {result['sampled_tree_peak_rss_mb']:.0f} MB)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
