"""ChatTTS throughput against batch size, with generated (random) weights of the real shapes.

Random weights say nothing about how speech sounds, but speed and memory depend only on the
shapes: with --size real (the released architecture: Llama 768 x 20 layers, real Embed, DVAE,
Decoder, Vocos) the work per GPT step is the released model's. min_new_token == max_new_token,
so every item runs exactly that many GPT steps and every batch size does the same work per item.

Per batch size: one warm-up call, then --repeats timed calls of chat.infer(texts,
split_text=False, skip_refine_text=True). Reported: seconds of audio per wall second (the
median call), wall seconds per batch, peak memory (CUDA: max_memory_allocated after
reset_peak_memory_stats; CPU: peak RSS above the pre-call RSS, polled, if psutil is installed),
and throughput relative to batch 1.

Needs only torch, torchaudio, chattts (+ its deps), numpy, safetensors, tokenizers,
transformers; it imports tests/chattts_weights.py from this repository.
Run: python benchmarks/gpu_batching.py [--size tiny|real] [--device cuda|cpu]
     [--batch-sizes 1,2,4,8] [--max-new-token N] [--repeats N] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path
from statistics import median
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import ChatTTS  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from chattts_weights import generate_chattts_weights, load_chat  # noqa: E402

# Similar lengths on purpose: prompts are left-padded to the longest in a batch.
TEXTS = [
    "the keeper climbed the stairs and lit the lamp before the storm came in.",
    "she read the letter twice, then folded it and put it back in the drawer.",
    "a cold wind moved across the harbour and the boats knocked against the pier.",
    "he said nothing for a while, and then he laughed at the whole idea.",
    "the train was late again, so they walked the last mile into the village.",
    "by morning the snow had covered the road, the fields and the old stone wall.",
    "we will need more rope, more lamps and a great deal more patience.",
    "the children ran down to the water as soon as the tide went out.",
]


def log(msg: str) -> None:
    print(msg, flush=True)


class PeakRss:
    """Peak resident memory above the value at start, sampled every 5 ms in a thread."""

    def __init__(self) -> None:
        try:
            import psutil
        except ImportError:
            self.proc = None
        else:
            self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self) -> PeakRss:
        if self.proc is not None:
            self.base = self.peak = self.proc.memory_info().rss
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def _poll(self) -> None:
        assert self.proc is not None
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def delta_mb(self) -> float | None:
        return None if self.proc is None else (self.peak - self.base) / 2**20


def machine_info(device: torch.device) -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "torch_threads": torch.get_num_threads(),
    }
    for pkg in ("chattts", "transformers", "torchaudio", "vocos"):
        try:
            info[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            info[pkg] = None
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info["device_name"] = props.name
        info["device_memory_gb"] = round(props.total_memory / 1e9, 1)
        info["device_capability"] = ".".join(map(str, torch.cuda.get_device_capability(device)))
    else:
        info["device_name"] = platform.processor() or platform.machine()
    return info


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_batch(
    chat: ChatTTS.Chat, texts: list[str], spk: str, steps: int, seed: int
) -> list[np.ndarray]:
    # A fresh params object per call; split_text=False keeps one clip per text.
    params = ChatTTS.Chat.InferCodeParams(
        spk_emb=spk,
        manual_seed=seed,
        max_new_token=steps,
        min_new_token=steps,
        show_tqdm=False,
    )
    wavs = chat.infer(texts, split_text=False, skip_refine_text=True, params_infer_code=params)
    if len(wavs) != len(texts):
        raise RuntimeError(f"{len(texts)} texts gave {len(wavs)} clips")
    return wavs


def measure(
    chat: ChatTTS.Chat, device: torch.device, batch: int, steps: int, repeats: int, spk: str
) -> dict[str, Any]:
    texts = [TEXTS[i % len(TEXTS)] for i in range(batch)]
    rate = chat.config.vocos.feature_extractor.init_args.sample_rate
    run_batch(chat, texts, spk, steps, seed=1)  # warm-up: allocator, kernels, caches
    sync(device)
    walls, audio_s = [], []
    if device.type == "cuda":
        torch.cuda.empty_cache()
        base_alloc = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
    with PeakRss() as rss:
        for r in range(repeats):
            t0 = time.perf_counter()
            wavs = run_batch(chat, texts, spk, steps, seed=2 + r)
            sync(device)
            walls.append(time.perf_counter() - t0)
            audio_s.append(sum(len(w) for w in wavs) / rate)
    wall = median(walls)
    out: dict[str, Any] = {
        "batch": batch,
        "wall_s": round(wall, 4),
        "walls_s": [round(w, 4) for w in walls],
        "audio_s": round(median(audio_s), 3),
        "audio_s_per_s": round(median(audio_s) / wall, 3),
        "gpt_steps_per_s": round(batch * steps / wall, 1),
    }
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device)
        out["peak_mem_mb"] = round(peak / 2**20, 1)
        out["peak_above_weights_mb"] = round((peak - base_alloc) / 2**20, 1)
    else:
        delta = rss.delta_mb
        out["peak_mem_mb"] = None if delta is None else round(delta, 1)
        out["peak_mem_kind"] = "rss_delta"
    return out


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def table(rows: list[dict[str, Any]]) -> str:
    head = f"{'batch':>5} {'wall s':>8} {'audio s':>8} {'audio s/s':>10} {'x batch1':>9}"
    head += f" {'peak MB':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['batch']:>5} {r['error']}")
            continue
        mem = "n/a" if r["peak_mem_mb"] is None else f"{r['peak_mem_mb']:.0f}"
        vs = "n/a" if r.get("vs_batch1") is None else f"{r['vs_batch1']:.2f}"
        lines.append(
            f"{r['batch']:>5} {r['wall_s']:>8.2f} {r['audio_s']:>8.1f} {r['audio_s_per_s']:>10.2f}"
            f" {vs:>9} {mem:>9}"
        )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--size", choices=["tiny", "real"], help="default: real on CUDA, else tiny")
    ap.add_argument("--batch-sizes", help="comma list; default 1..64 on CUDA, 1,2,4 on CPU")
    ap.add_argument("--max-new-token", type=int, help="GPT steps per item; 300 CUDA, 50 CPU")
    ap.add_argument("--repeats", type=int, default=3, help="timed calls per batch size")
    ap.add_argument("--seed", type=int, default=0, help="weights and speaker seed")
    ap.add_argument("--weights-dir", type=Path, help="reuse/keep weights here (default: temp)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks/results/gpu_batching.json")
    args = ap.parse_args()
    cuda = args.device.startswith("cuda")
    args.size = args.size or ("real" if cuda else "tiny")
    args.batch_sizes = [
        int(b) for b in (args.batch_sizes or ("1,2,4,8,16,32,64" if cuda else "1,2,4")).split(",")
    ]
    args.max_new_token = args.max_new_token or (300 if cuda else 50)
    return args


def main() -> int:
    args = parse_args()
    device = torch.device(args.device)
    logging.getLogger("ChatTTS").setLevel(logging.ERROR)  # "hit max_new_token" is intended
    t_start = time.perf_counter()
    log(
        f"device {device}, size {args.size}, batches {args.batch_sizes}, steps {args.max_new_token}"
    )

    with tempfile.TemporaryDirectory(prefix="chattts_bench_") as tmp:
        folder = args.weights_dir or Path(tmp)
        t0 = time.perf_counter()
        if (folder / "sha256_map.json").exists():
            log(f"reusing weights in {folder}")
        else:
            generate_chattts_weights(folder, size=args.size, seed=args.seed)
        gen_s = time.perf_counter() - t0
        log(f"weights ready in {gen_s:.1f} s")
        t0 = time.perf_counter()
        chat = load_chat(folder, device=args.device)
        load_s = time.perf_counter() - t0
        log(f"loaded in {load_s:.1f} s")

    torch.manual_seed(args.seed)
    spk = chat.sample_random_speaker()
    rows: list[dict[str, Any]] = []
    for batch in args.batch_sizes:
        try:
            row = measure(chat, device, batch, args.max_new_token, args.repeats, spk)
        except torch.cuda.OutOfMemoryError as e:
            rows.append({"batch": batch, "error": f"out of memory: {e}".splitlines()[0]})
            log(f"batch {batch}: out of memory, stopping")
            break
        rows.append(row)
        log(
            f"batch {batch}: {row['wall_s']:.2f} s/batch, {row['audio_s_per_s']:.2f} audio s/s, "
            f"peak {row['peak_mem_mb']} MB ({time.perf_counter() - t_start:.0f} s elapsed)"
        )
    base = next((r["audio_s_per_s"] for r in rows if r["batch"] == 1 and "error" not in r), None)
    for r in rows:
        if "error" not in r:
            r["vs_batch1"] = round(r["audio_s_per_s"] / base, 3) if base else None

    result = {
        "benchmark": "chattts_gpu_batching",
        "weights": "generated random weights (tests/chattts_weights.py)",
        "size": args.size,
        "device": str(device),
        "max_new_token": args.max_new_token,
        "min_new_token": args.max_new_token,
        "repeats": args.repeats,
        "sample_rate": chat.config.vocos.feature_extractor.init_args.sample_rate,
        "weights_s": round(gen_s, 2),
        "load_s": round(load_s, 2),
        "total_s": round(time.perf_counter() - t_start, 1),
        "machine": machine_info(device),
        "rows": rows,
    }
    log("")
    log(table(rows))
    write_json_atomic(args.out, result)
    log(f"\nwrote {args.out} ({result['total_s']} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
