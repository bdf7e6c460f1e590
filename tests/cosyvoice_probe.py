"""Prove the CosyVoice3 calls our engine makes on the real FunAudioLLM code and a model folder.

Runs under the engine venv. Loads MODEL_DIR with the real ``AutoModel(model_dir=...)`` (hub
downloads are made to fail loudly), registers the prompt voice once with ``add_zero_shot_spk``,
renders several texts with ``inference_zero_shot(..., zero_shot_spk_id=...)`` and one with
``inference_instruct2``, and prints one JSON object: sample rate, every clip's length, dtype and
peak, timings, the text frontend in use, the LLM's dtype, and a check that the LLM's cached
decode step (the code path ``Qwen2LM.inference_wrapper`` takes) matches a full forward.

    python tests/cosyvoice_probe.py MODEL_DIR [--generate tiny|real] [--seed N] [--wav-dir DIR]

``--generate`` first writes a random-weights folder there (tests/cosyvoice_weights.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
# cosyvoice_weights puts the vendored code on sys.path: import it before cosyvoice.*
from cosyvoice_weights import VENDOR, generate_cosyvoice3_model  # noqa: E402

PROMPT_WAV = VENDOR / "cosyvoice" / "asset" / "zero_shot_prompt.wav"  # 3.5 s, 24 kHz
PROMPT_TRANSCRIPT = "希望你以后能够做的比我还好呦。"  # its transcript, from upstream example.py
# CosyVoice3LM asserts token 151646 (<|endofprompt|>) is in prompt_text + text (llm.py
# Qwen2LM.inference); upstream's examples put this system prefix before the transcript.
PROMPT_TEXT = "You are a helpful assistant.<|endofprompt|>" + PROMPT_TRANSCRIPT
INSTRUCT_TEXT = "You are a helpful assistant. Please speak slowly and calmly.<|endofprompt|>"
TEXTS = [
    "Chapter one.",
    "It was a bright cold day in April, and the clocks were striking thirteen.",
    "She opened the door and looked out at the rain.",
    "Where are you going? I will be back before the night is over.",
]


def soundfile_torchaudio_load() -> str:
    """torchaudio >= 2.9 decodes only through TorchCodec, which needs system FFmpeg libraries;
    without them upstream's load_wav (``torchaudio.load(wav, backend='soundfile')``) fails. Put
    back what that call did before 2.9: libsndfile decode, float32, (channels, frames)."""
    try:
        import torchcodec.decoders  # noqa: F401

        return "torchcodec"
    except (ImportError, OSError, RuntimeError):
        import soundfile
        import torchaudio

        def load(uri: Any, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, int]:
            data, rate = soundfile.read(uri, dtype="float32", always_2d=True)
            return torch.from_numpy(data.T.copy()), rate

        torchaudio.load = load
        return "soundfile shim"


def _no_download(*args: Any, **kwargs: Any) -> str:
    raise RuntimeError(f"CosyVoice tried to download from a model hub: {args} {kwargs}")


THREAD_ERRORS: list[BaseException] = []


def _keep_thread_error(args: threading.ExceptHookArgs) -> None:
    THREAD_ERRORS.append(args.exc_value or RuntimeError(str(args.exc_type)))
    threading.__excepthook__(args)


def _render(gen: Any, sr: int, wav_dir: Path | None, name: str) -> dict[str, Any]:
    """Drain one inference generator; chunks are the code's own text splits.

    The LLM runs in a thread (CosyVoice2Model.tts -> llm_job) whose exceptions upstream never
    re-raises: the clip is then vocoded from zero tokens and fails later, misleadingly."""
    start = time.perf_counter()
    THREAD_ERRORS.clear()
    try:
        chunks = [out["tts_speech"] for out in gen]
    except Exception as exc:
        if THREAD_ERRORS:
            raise RuntimeError(f"LLM thread failed: {THREAD_ERRORS[0]!r}") from exc
        raise
    if THREAD_ERRORS:
        raise RuntimeError(f"LLM thread failed: {THREAD_ERRORS[0]!r}")
    elapsed = time.perf_counter() - start
    speech = torch.cat(chunks, dim=1)
    if wav_dir is not None:
        import soundfile

        wav_dir.mkdir(parents=True, exist_ok=True)
        soundfile.write(wav_dir / f"{name}.wav", speech.squeeze(0).numpy(), sr)
    seconds = speech.shape[1] / sr
    return {
        "chunks": len(chunks),
        "shape": list(speech.shape),
        "samples": speech.shape[1],
        "seconds": round(seconds, 3),
        "dtype": str(speech.dtype),
        "peak": round(float(speech.abs().max()), 4),
        "elapsed_s": round(elapsed, 3),
        "rtf": round(elapsed / seconds, 3) if seconds else None,
        "finite": bool(torch.isfinite(speech).all()),
    }


@torch.inference_mode()
def decode_step_check(llm: Any, prompt_len: int = 12) -> dict[str, Any]:
    """Check the LLM's cached one-token decode step against an uncached forward.

    ``Qwen2LM.inference_wrapper`` (the non-streaming-text path) passes a mask built over the new
    token only (length 1, not cache + 1); ``inference_bistream`` passes cache + 1. Both are
    compared with the full forward: if only the wrapper's step is off, the transformers version
    reads that short mask differently from the one upstream was written for."""
    qwen = llm.llm  # cosyvoice.llm.llm.Qwen2Encoder
    param = next(qwen.parameters())
    gen = torch.Generator().manual_seed(0)
    seq = torch.randn(1, prompt_len + 1, llm.llm_input_size, generator=gen)
    seq = seq.to(param.device, param.dtype)

    def step(mask_len: int) -> torch.Tensor:
        tril = torch.tril(torch.ones((1, prompt_len, prompt_len), device=param.device)).bool()
        _, cache = qwen.forward_one_step(seq[:, :prompt_len], masks=tril, cache=None)
        mask = torch.ones((1, 1, mask_len), device=param.device).bool()
        out, _ = qwen.forward_one_step(seq[:, prompt_len:], masks=mask, cache=cache)
        return out[:, -1].float()

    full = qwen(seq, torch.tensor([prompt_len + 1], device=param.device))[0][:, -1].float()
    wrapper = (step(1) - full).abs().max().item()
    bistream = (step(prompt_len + 1) - full).abs().max().item()
    return {
        "llm_dtype": str(param.dtype),
        "wrapper_step_diff": wrapper,
        "bistream_step_diff": bistream,
        "output_scale": full.abs().max().item(),
        "consistent": wrapper <= max(2 * bistream, 1e-4 * full.abs().max().item()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--generate", choices=["tiny", "real"], default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--wav-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"torch": torch.__version__}
    threading.excepthook = _keep_thread_error
    if args.generate:
        start = time.perf_counter()
        generate_cosyvoice3_model(args.model_dir, seed=args.seed, size=args.generate)
        report["generate_s"] = round(time.perf_counter() - start, 3)
    if not (args.model_dir / "cosyvoice3.yaml").is_file():
        parser.error(f"{args.model_dir} has no cosyvoice3.yaml (AutoModel would try a hub)")
    from cosyvoice.cli import cosyvoice as cli

    cli.snapshot_download = _no_download  # AutoModel downloads when model_dir does not exist
    report["audio_loader"] = soundfile_torchaudio_load()

    start = time.perf_counter()
    model = cli.AutoModel(model_dir=str(args.model_dir))
    report["load_s"] = round(time.perf_counter() - start, 3)
    report["class"] = type(model).__name__
    report["sample_rate"] = sr = model.sample_rate
    report["device"] = str(model.model.device)
    report["text_frontend"] = model.frontend.text_frontend or "none"
    import transformers

    report["transformers"] = transformers.__version__
    report["decode_step"] = decode_step_check(model.model.llm)

    torch.manual_seed(args.seed)  # the LLM samples with the global RNG
    start = time.perf_counter()
    assert model.add_zero_shot_spk(PROMPT_TEXT, str(PROMPT_WAV), "narrator") is True
    report["add_zero_shot_spk_s"] = round(time.perf_counter() - start, 3)
    spk = model.frontend.spk2info["narrator"]
    report["voice"] = {k: "x".join(map(str, v.shape)) for k, v in spk.items()}
    report["normalize_sample"] = model.frontend.text_normalize(
        "Chapter 12 cost $5.50.", split=False
    )

    clips = []
    for i, text in enumerate(TEXTS):
        gen = model.inference_zero_shot(
            text, PROMPT_TEXT, str(PROMPT_WAV), zero_shot_spk_id="narrator", stream=False
        )
        clip = _render(gen, sr, args.wav_dir, f"zero_shot_{i}")
        # The LLM stops by itself or after 20 speech tokens (960 samples each) per text token.
        tokens = len(model.frontend.tokenizer.encode(text))
        clip.update(text_tokens=tokens, speech_tokens=clip["samples"] / (sr // 25))
        clips.append({"kind": "zero_shot", "text": text, **clip})
    # No zero_shot_spk_id here: with one, frontend_instruct2 takes the stored voice's
    # prompt_text and silently drops instruct_text.
    gen = model.inference_instruct2(TEXTS[2], INSTRUCT_TEXT, str(PROMPT_WAV), stream=False)
    clips.append(
        {"kind": "instruct2", "text": TEXTS[2], **_render(gen, sr, args.wav_dir, "instruct2")}
    )
    report["clips"] = clips
    report["ok"] = (
        sr == 24000
        and report["decode_step"]["consistent"]
        and all(c["samples"] > 0 and c["finite"] for c in clips)
    )
    print(json.dumps(report, indent=1, ensure_ascii=False))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
