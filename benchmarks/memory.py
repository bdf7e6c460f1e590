"""Memory of a whole run: the process tree's RSS sampled each second while `narrate` renders a book.

The tree is everything the CLI starts: the CLI itself, its engine workers, the temporary Prefect
server, ffmpeg. Each second the benchmark sums the RSS (and PSS, which shares a shared page among
the processes mapping it) of every live process in the tree, by kind, and reads the store's
journal (`.cache/segments/rendered.jsonl`) to know how much audio is rendered by then.

It prints and writes JSON: the tree's peak; the RSS at 10%, 50% and 90% of the run (by wall
time); the slope of the tree's RSS per hour of rendered audio (a least-squares line over the
rendering part of the run: flat memory is ~0); each kind's peak; and the host's share, what the
tree holds as a share of this machine's memory. On a unified-memory machine (a DGX Spark) that
share is taken straight out of what the GPU can batch with.

Run: python benchmarks/memory.py [--book PATH] [--hours H] [--no-cast] [--chapters 1-10]
     [--json OUT] [--keep DIR]
--hours H: a synthetic book of about H hours of speech, a Markdown book with one `# Chapter`
heading per chapter: the book's chapters, then the other corpus EPUBs' (P&P then Moby-Dick is
about 30 h).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from narration.atomic import atomic_write_json

REPO = Path(__file__).resolve().parents[1]
CORPUS_BOOK = (
    REPO.parent / "shared/corpus/epub/valid/standardebooks_jane-austen_pride-and-prejudice.epub"
)
GIB = 1 << 30
SPEECH_CHARS_PER_HOUR = 17.6 * 3600  # the joe voice on P&P: 679,627 characters in 10.7 h


def _kind(process: psutil.Process, root_pid: int) -> str:
    if process.pid == root_pid:
        return "cli"
    try:
        command = " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "other"
    if "ffmpeg" in command:
        return "ffmpeg"
    if "prefect" in command and ("server" in command or "uvicorn" in command):
        return "prefect-server"
    if "multiprocessing" in command or "spawn_main" in command:
        return "engine-worker"
    return "other"


class TreeSampler(threading.Thread):
    """Samples the tree under `root_pid` every `interval_s` until stopped; rendered audio is
    read from the journal of the book folder the CLI makes under `out` (its name is the CLI's
    to choose, so it is looked for until it appears)."""

    def __init__(self, root_pid: int, out: Path, interval_s: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.root_pid, self.out, self.interval_s = root_pid, out, interval_s
        self.samples: list[dict] = []
        self._halt = threading.Event()
        self._journal: Path | None = None
        self._journal_offset, self._audio_s = 0, 0.0

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def _rendered_audio_s(self) -> float:
        """Seconds of speech journalled so far (read incrementally: the journal only grows)."""
        if self._journal is None:
            self._journal = next(self.out.glob("*/.cache/segments/rendered.jsonl"), None)
            if self._journal is None:
                return self._audio_s
        try:
            with self._journal.open("rb") as handle:
                handle.seek(self._journal_offset)
                chunk = handle.read()
        except OSError:
            return self._audio_s
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._journal_offset += len(complete)
        for line in complete.splitlines():
            try:
                self._audio_s += float(json.loads(line).get("duration_s", 0.0))
            except (ValueError, AttributeError):
                continue
        return self._audio_s

    def _sample(self, started: float) -> dict:
        try:
            root = psutil.Process(self.root_pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return {}
        by_kind: dict[str, dict[str, float]] = {}
        for process in processes:
            try:
                info = process.memory_full_info()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            kind = by_kind.setdefault(_kind(process, self.root_pid), {"rss": 0, "pss": 0, "n": 0})
            kind["rss"] += info.rss
            kind["pss"] += getattr(info, "pss", info.rss)
            kind["n"] += 1
        return {
            "t_s": round(time.monotonic() - started, 2),
            "audio_s": round(self._rendered_audio_s(), 1),
            "rss": sum(kind["rss"] for kind in by_kind.values()),
            "pss": sum(kind["pss"] for kind in by_kind.values()),
            "kinds": by_kind,
        }

    def run(self) -> None:
        started = time.monotonic()
        while not self._halt.is_set():
            sample = self._sample(started)
            if sample:
                self.samples.append(sample)
            self._halt.wait(self.interval_s)


def synthetic_book(book: Path, hours: float, folder: Path) -> Path:
    """A plain-text book of about `hours` of speech: the book's chapters, then the other corpus
    EPUBs' (largest first), until long enough. Real, distinct prose: the store renders each
    sentence once, so repeating a book would not be work."""
    from narration.ingest import read_book

    others = sorted(CORPUS_BOOK.parent.glob("*.epub"), key=lambda p: -p.stat().st_size)
    wanted = hours * SPEECH_CHARS_PER_HOUR
    parts, total = [], 0
    for source in [book, *(p for p in others if p.resolve() != book.resolve())]:
        for chapter in read_book(source).chapters:
            body = "\n\n".join(block.text for block in chapter.blocks)
            if not body.strip():
                continue
            parts.append(f"# {chapter.title}\n\n{body}\n")
            total += len(body)
            if total >= wanted:
                path = folder / f"{book.stem}-{hours:g}h.md"
                path.write_text("\n".join(parts), encoding="utf-8")
                return path
    raise SystemExit(f"{book}: the corpus holds only {total / SPEECH_CHARS_PER_HOUR:.1f} h of text")


def _at_fraction(samples: list[dict], fraction: float) -> dict:
    end = samples[-1]["t_s"]
    return min(samples, key=lambda s: abs(s["t_s"] - fraction * end))


def _slope_gib_per_audio_hour(samples: list[dict]) -> float | None:
    """Least-squares slope of the tree's RSS against rendered audio, over the rendering part of
    the run (from the first audio to the last new audio), in GiB per hour of audio."""
    rendering = [s for s in samples if s["audio_s"] > 0]
    last = max((s["audio_s"] for s in rendering), default=0)
    rendering = [s for s in rendering if s["audio_s"] < last] or rendering
    if len(rendering) < 3:
        return None
    xs = [s["audio_s"] / 3600 for s in rendering]
    ys = [s["rss"] / GIB for s in rendering]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def summarise(samples: list[dict], wall_s: float, returncode: int) -> dict:
    peak = max(samples, key=lambda s: s["rss"])
    kinds = sorted({kind for s in samples for kind in s["kinds"]})
    at = {f"{int(f * 100)}%": _at_fraction(samples, f) for f in (0.1, 0.5, 0.9)}
    total = psutil.virtual_memory().total
    audio_h = samples[-1]["audio_s"] / 3600
    return {
        "returncode": returncode,
        "wall_s": round(wall_s, 1),
        "audio_h": round(audio_h, 2),
        "x_realtime": round(samples[-1]["audio_s"] / wall_s, 1) if wall_s else None,
        "peak_rss_gib": round(peak["rss"] / GIB, 3),
        "peak_pss_gib": round(max(s["pss"] for s in samples) / GIB, 3),
        "rss_gib_at": {k: round(s["rss"] / GIB, 3) for k, s in at.items()},
        "flat_90_vs_10": round(at["90%"]["rss"] / at["10%"]["rss"] - 1, 3),
        "slope_gib_per_audio_hour": _round(_slope_gib_per_audio_hour(samples)),
        "peak_rss_gib_by_kind": {
            kind: round(max(s["kinds"].get(kind, {}).get("rss", 0) for s in samples) / GIB, 3)
            for kind in kinds
        },
        "host_memory_gib": round(total / GIB, 1),
        "host_share_at_peak": round(peak["rss"] / total, 4),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def run(book: Path, out: Path, extra: list[str]) -> tuple[dict, list[dict]]:
    command = [sys.executable, "-m", "narration", str(book), "--out", str(out), *extra]
    # stderr to a file, not a pipe: an hours-long run's progress would fill a pipe nobody reads
    with tempfile.TemporaryFile() as log:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        sampler = TreeSampler(process.pid, out)
        sampler.start()
        process.wait()
        wall = time.monotonic() - started
        sampler.stop()
        if process.returncode:
            log.seek(0)
            print(log.read().decode(errors="replace").strip()[-2000:], file=sys.stderr)
    return summarise(sampler.samples, wall, process.returncode), sampler.samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=CORPUS_BOOK)
    parser.add_argument("--hours", type=float, help="a synthetic book of about this much speech")
    parser.add_argument("--no-cast", action="store_true", help="narrator only (faster planning)")
    parser.add_argument("--chapters", help="chapter ranges, as `narrate --chapters`")
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks/results/memory.json")
    parser.add_argument("--keep", type=Path, help="output folder to keep (default: a temp one)")
    args = parser.parse_args()

    extra = ["--no-cast"] if args.no_cast else []
    if args.chapters:
        extra += ["--chapters", args.chapters]
    with tempfile.TemporaryDirectory(prefix="narration-memory-") as scratch:
        book = args.book
        if args.hours:
            book = synthetic_book(args.book, args.hours, Path(scratch))
        out = args.keep or Path(scratch) / "out"
        result, samples = run(book, out, extra)
    result.update(book=str(args.book), hours_asked=args.hours, options=extra, cpus=os.cpu_count())
    print(json.dumps(result, indent=2))
    atomic_write_json(args.json, {**result, "samples": samples})
    if result["returncode"]:
        sys.exit(result["returncode"])


if __name__ == "__main__":
    main()
