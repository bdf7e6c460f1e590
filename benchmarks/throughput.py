"""Raw Piper vs the whole pipeline (EPUB -> M4B), side by side in one run, on the same text.

raw:      the segments `narrate --no-cast` renders (the same texts and seed), synthesised by bare
          Piper in N processes x 1 onnxruntime thread (model load excluded, nothing written),
          its graph run whole as Piper runs it: the ceiling a Piper-based tool has here.
engine:   the same, through the narration engine as its workers run it (the decoder in windows
          with 2-D convolutions, narration.engines.piper_decoder and onnx_conv2d): what the
          pipeline's own ceiling is, so engine / pipeline is what the rest of the pipeline costs.
pipeline: `narrate BOOK` as a user runs it, fresh output folder: reading, planning, Prefect
          (ephemeral server start included), rendering, mastering, AAC encoding, chapters.

All are reported in x real time of *speech* (the summed segment durations, so the pipeline's
added pauses do not flatter it) and as wall seconds; ratio = raw wall / pipeline wall.
Run: python benchmarks/throughput.py [--book PATH] [--chapters 1-10] [--skip-cast] [--repeats N]
     [--json OUT]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from proc_cpu import CpuByKind

from narration.atomic import atomic_write_json

REPO = Path(__file__).resolve().parents[1]
CORPUS_BOOK = (
    REPO.parent / "shared/corpus/epub/valid/standardebooks_jane-austen_pride-and-prejudice.epub"
)
SAMPLE_BOOK = REPO / "books/the-lighthouse-keeper.epub"

_VOICE = None
_SEED = 0


def _load(seed: int, as_engine: bool) -> None:
    global _VOICE, _SEED
    from narration.engines.piper_engine import PiperEngine

    _VOICE, _SEED = PiperEngine(threads=1, decoder_windows=as_engine), seed
    _VOICE.load()


def _speak(text: str) -> float:
    from narration.engines.base import SynthesisItem

    assert _VOICE is not None
    (audio,) = _VOICE.synthesize([SynthesisItem(text, _VOICE.default_voice(), _SEED)])
    return len(audio) / _VOICE.sample_rate


def _warm(_: int) -> int:
    time.sleep(0.2)  # let every worker run its initializer before the clock starts
    return os.getpid()


def raw_piper(texts: list[str], seed: int, processes: int, as_engine: bool = False) -> dict:
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes, initializer=_load, initargs=(seed, as_engine)) as pool:
        pool.map(_warm, range(processes * 2))
        started = time.monotonic()
        durations = list(pool.imap_unordered(_speak, texts, chunksize=4))
        wall = time.monotonic() - started
    speech = sum(durations)
    return {"wall_s": wall, "speech_s": speech, "x_realtime": speech / wall}


def pipeline(book: Path, chapters: str | None, processes: int, cast: bool) -> dict:
    from narration.store import read_manifest

    with tempfile.TemporaryDirectory() as out:
        command = [
            sys.executable,
            "-m",
            "narration",
            str(book),
            "--out",
            out,
            "-j",
            str(processes),
            "--cast" if cast else "--no-cast",
        ]
        if chapters:
            command += ["--chapters", chapters]
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu = CpuByKind(process.pid)
        if process.wait() != 0:
            raise SystemExit(f"pipeline failed: {' '.join(command)}")
        wall = time.monotonic() - started
        cpu_s = cpu.stop()
        (folder,) = [p for p in Path(out).iterdir() if p.is_dir()]
        rows = read_manifest(folder / "plan.parquet")
        unique = {r["key"]: r["duration_s"] for r in rows}
        speech = sum(unique.values())
    return {"wall_s": wall, "speech_s": speech, "x_realtime": speech / wall, "cpu_s": cpu_s}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default_book = CORPUS_BOOK if CORPUS_BOOK.exists() else SAMPLE_BOOK
    parser.add_argument("--book", type=Path, default=default_book)
    # Ten chapters (77 min of speech, ~100 s of raw Piper here): long enough that the fixed
    # start-up costs (Prefect's server, imports, model loads: ~10 s) do not decide the ratio.
    parser.add_argument("--chapters", default="1-10" if default_book == CORPUS_BOOK else None)
    parser.add_argument("--skip-cast", action="store_true", help="Skip the character-voice run.")
    parser.add_argument(
        "--repeats", type=int, default=1, help="Raw/pipeline pairs to run; the median ratio."
    )
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks/results/throughput.json")
    args = parser.parse_args()

    from narration.cli import parse_chapters
    from narration.pipeline import JobSettings, prepare_job

    # The plan the paired pipeline run renders: with the cast, dialogue is cut into segments of
    # its own (other texts: 1006 segments and 84,667 characters against 839 and 86,206 on P&P
    # 1-10), so raw would not be doing the same work.
    settings = JobSettings(chapters=parse_chapters(args.chapters), cast=False)
    job = prepare_job(args.book, settings)
    texts = list(dict.fromkeys(s.spoken_text for s in job.plan.segments))
    print(
        f"{args.book.name} chapters {args.chapters or 'all'}: {len(texts)} unique segments, "
        f"{sum(len(t) for t in texts)} characters, {args.processes} processes"
    )

    # Raw and pipeline alternate, `--repeats` times: this machine's speed drifts by a few
    # per cent over minutes, so each ratio is taken from a raw run and the pipeline run
    # right after it, and the median of those ratios is the result.
    pairs, engine_ratios = [], []
    for attempt in range(args.repeats):
        raw = raw_piper(texts, job.settings.seed, args.processes)
        engine = raw_piper(texts, job.settings.seed, args.processes, as_engine=True)
        for label, run in (("raw piper", raw), ("narration engine", engine)):
            print(
                f"{label:19}: {run['wall_s']:7.1f} s wall, "
                f"{run['speech_s'] / 60:5.1f} min speech, "
                f"{run['x_realtime']:5.1f}x real time"
            )
        # --no-cast does the same synthesis as raw (one voice); the default also runs the
        # character-voice effects (parselmouth) on every dialogue segment, work raw Piper skips.
        full = pipeline(args.book, args.chapters, args.processes, cast=False)
        pairs.append((raw, full))
        engine_ratios.append(engine["wall_s"] / full["wall_s"])
        if args.repeats > 1:
            print(
                f"pipeline --no-cast : {full['wall_s']:7.1f} s wall, ratio "
                f"{raw['wall_s'] / full['wall_s']:.3f} (pair {attempt + 1} of {args.repeats}), "
                f"{engine_ratios[-1]:.3f} of the engine's throughput, "
                f"CPU seconds by process: {full['cpu_s']}"
            )
    ratios = sorted(r["wall_s"] / f["wall_s"] for r, f in pairs)
    raw, full = min(
        pairs, key=lambda pair: abs(pair[0]["wall_s"] / pair[1]["wall_s"] - median(ratios))
    )
    cast = None if args.skip_cast else pipeline(args.book, args.chapters, args.processes, True)
    for label, run in (("pipeline --no-cast", full), ("pipeline (cast)", cast)):
        if run is None:
            continue
        print(
            f"{label:19}: {run['wall_s']:7.1f} s wall, {run['speech_s'] / 60:5.1f} min speech, "
            f"{run['x_realtime']:5.1f}x real time, ratio {raw['wall_s'] / run['wall_s']:.3f}"
        )
        print(f"{'':19}  CPU seconds by process: {run['cpu_s']}")
    ratio = median(ratios)
    spread = f" (median of {len(ratios)}: {', '.join(f'{r:.3f}' for r in ratios)})"
    print(
        f"ratio (pipeline --no-cast / raw throughput): {ratio:.3f}"
        f"{spread if len(ratios) > 1 else ''}  (target >= 0.85)"
    )
    print(
        f"ratio (pipeline --no-cast / narration engine throughput): {median(engine_ratios):.3f}"
        f" ({', '.join(f'{r:.3f}' for r in engine_ratios)})"
    )
    result = {
        "book": args.book.name,
        "chapters": args.chapters,
        "processes": args.processes,
        "segments": len(texts),
        "raw": raw,
        "pipeline": full,
        "pipeline_cast": cast,
        "ratio": ratio,
        "ratios": ratios,
        "ratio_cast": raw["wall_s"] / cast["wall_s"] if cast else None,
        "engine_ratio": median(engine_ratios),
        "engine_ratios": engine_ratios,
        "target": 0.85,
    }
    atomic_write_json(args.json, result)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
