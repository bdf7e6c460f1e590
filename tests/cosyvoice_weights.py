"""Generate a CosyVoice3 model folder with random weights, in the released folder's layout.

The Fun-CosyVoice3-0.5B-2512 weights cannot be downloaded here, yet the engine must be proven on
the real FunAudioLLM code. So this builds every module with that code (the official training
config, loaded by HyperPyYAML exactly as ``CosyVoice3.__init__`` does), saves seeded random state
dicts, and writes what else ``AutoModel(model_dir=...)`` opens: ``CosyVoice-BlankEN/`` (a Qwen2
config, safetensors and a BPE tokenizer in Qwen2's vocab.json/merges.txt format) and two ONNX
stand-ins with the real input/output signatures. Runs under the engine venv (vendored code,
torch, hyperpyyaml, transformers, onnx), with the vendored code importable or found beside the
repository in ../shared/vendor.

"tiny" shrinks only widths and depths the code reads from the yaml or the Qwen2 config; it keeps
24 kHz, 80 mel bins, the 192-d speaker embedding, the 6561 FSQ speech tokens (+200 LLM specials)
and the Qwen2 text vocabulary (151936): ``llm.py`` hard-codes 151646 for ``<|endofprompt|>``.
"real" keeps the official dimensions (Qwen2 0.5B, DiT 1024 x 22, HiFT 512): ~4 GB, for GPU runs.

    python tests/cosyvoice_weights.py OUT_DIR [--size tiny|real] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

VENDOR = Path(__file__).resolve().parents[2] / "shared" / "vendor"
if not any((Path(p) / "cosyvoice" / "cli").is_dir() for p in sys.path if p):
    sys.path[:0] = [str(VENDOR / "cosyvoice"), str(VENDOR / "matcha-tts")]

import cosyvoice  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
from hyperpyyaml import load_hyperpyyaml  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from tokenizers import Tokenizer, models, pre_tokenizers, trainers  # noqa: E402

OFFICIAL_YAML = (
    Path(cosyvoice.__file__)
    .resolve()
    .parents[1]
    .joinpath("examples/libritts/cosyvoice3/conf/cosyvoice3.yaml")
)
QWEN_VOCAB = 151936  # Qwen2's embedding rows; CosyVoice3's added specials end at 151923
QWEN_BASE_TOKENS = 151643  # regular BPE ids; <|endoftext|>, <|im_start|>, <|im_end|> follow
SPEECH_TOKENS = 6561  # FSQ 3^8: flow vocab_size and CosyVoice3LM speech_token_size

# (yaml key path) -> value, per size. Paths are checked: a vendored config that moved a key fails.
TINY_YAML: dict[tuple[str, ...], Any] = {
    ("llm_input_size",): 32,
    ("llm_output_size",): 32,
    ("flow", "pre_lookahead_layer", "channels"): 64,
    ("flow", "decoder", "estimator", "dim"): 64,
    ("flow", "decoder", "estimator", "depth"): 2,
    ("flow", "decoder", "estimator", "heads"): 2,
    ("flow", "decoder", "estimator", "dim_head"): 32,
    ("hift", "base_channels"): 64,
    ("hift", "f0_predictor", "cond_channels"): 64,
}
# The Qwen2 inside CosyVoice3LM (hidden = llm_input_size); "real" is Qwen2-0.5B.
QWEN2_FIELDS = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads")
QWEN2: dict[str, dict[str, int]] = {
    size: dict(zip((*QWEN2_FIELDS, "num_key_value_heads"), shape, strict=True))
    for size, shape in {"tiny": (32, 64, 2, 2, 1), "real": (896, 4864, 24, 14, 2)}.items()
}
SEED_FNS = ("random.seed", "numpy.random.seed", "torch.manual_seed", "torch.cuda.manual_seed_all")
# BPE training text: whole words become single tokens, which keeps tiny runs short (the LLM may
# emit up to 20 speech tokens per text token, a cap the yaml cannot change).
CORPUS = (
    "You are a helpful assistant. Please speak slowly, calmly and clearly. "
    "The quick brown fox jumps over the lazy dog. Hello there, this is a short test sentence. "
    "Chapter one. It was a bright cold day in April, and the clocks were striking thirteen. "
    "She opened the door and looked out at the rain. He said nothing for a long time. "
    "Where are you going? I will be back before the night is over. We read the book together."
)


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write via a temp file in the same folder, then rename: a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; released model files are world-readable
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_text(path: Path, text: str) -> None:
    _atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def derive_yaml(size: str, seed: int) -> str:
    """The official training config with per-size values replaced, keyed by indentation path."""
    overrides = dict(TINY_YAML) if size == "tiny" else {}
    for i, fn in enumerate(SEED_FNS, 1):  # upstream seeds init and sampling here with 1986
        overrides[(f"__set_seed{i}",)] = f"!apply:{fn} [{seed}]"
    out, stack, done = [], [], set()
    for line in OFFICIAL_YAML.read_text(encoding="utf-8").splitlines():
        body = line.lstrip(" ")
        key, sep, value = body.partition(":")
        if sep and key.isidentifier() and not body.startswith("#"):
            indent = len(line) - len(body)
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, key))
            path = tuple(k for _, k in stack)
            if path in overrides:
                old = value.split("#")[0].strip()
                line = f"{' ' * indent}{key}: {overrides[path]}  # official: {old}"
                done.add(path)
        out.append(line)
    missing = set(overrides) - done
    if missing:
        raise KeyError(f"keys not found in {OFFICIAL_YAML}: {sorted(missing)}")
    return "\n".join(out) + "\n"


def write_blank_en(folder: Path, size: str, seed: int) -> None:
    """CosyVoice-BlankEN/: what Qwen2Encoder's from_pretrained and get_qwen_tokenizer read."""
    folder.mkdir(parents=True, exist_ok=True)
    # Tokenizer: byte-level BPE trained on CORPUS, then padded with unreachable filler entries
    # to Qwen2's 151643 regular ids, so that <|endoftext|> is 151643 and the tokens CosyVoice3
    # adds start at 151646 = <|endofprompt|>, the id llm.py asserts.
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.train_from_iterator(
        [CORPUS],
        trainers.BpeTrainer(
            vocab_size=1000,
            show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    model = json.loads(bpe.to_str())["model"]
    vocab: dict[str, int] = model["vocab"]
    vocab.update({f"<r{i}>": i for i in range(len(vocab), QWEN_BASE_TOKENS)})
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    _write_text(folder / "vocab.json", json.dumps(vocab, ensure_ascii=False))
    _write_text(folder / "merges.txt", "#version: 0.2\n" + "\n".join(merges) + "\n")
    special = dict.fromkeys(("lstrip", "normalized", "rstrip", "single_word"), False)
    special["special"] = True
    names = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    _write_text(
        folder / "tokenizer_config.json",
        json.dumps(
            {
                "add_prefix_space": False,
                "added_tokens_decoder": {
                    str(QWEN_BASE_TOKENS + i): {"content": n, **special}
                    for i, n in enumerate(names)
                },
                "additional_special_tokens": names[1:],
                "bos_token": None,
                "clean_up_tokenization_spaces": False,
                "eos_token": names[0],
                "errors": "replace",
                "model_max_length": 32768,
                "pad_token": names[0],
                "split_special_tokens": False,
                "tokenizer_class": "Qwen2Tokenizer",
                "unk_token": None,
            },
            indent=2,
        ),
    )
    # Model: the Qwen2-0.5B config fields (bf16, tied embeddings) with the per-size shape.
    from transformers import Qwen2Config, Qwen2ForCausalLM

    ids = {"bos_token_id": QWEN_BASE_TOKENS, "eos_token_id": QWEN_BASE_TOKENS}
    config = {
        "architectures": ["Qwen2ForCausalLM"],
        "attention_dropout": 0.0,
        **ids,
        "hidden_act": "silu",
        "initializer_range": 0.02,
        "max_position_embeddings": 32768,
        "max_window_layers": QWEN2[size]["num_hidden_layers"],
        "model_type": "qwen2",
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "sliding_window": 32768,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": QWEN_VOCAB,
        **QWEN2[size],
    }
    torch.manual_seed(seed)
    qwen = Qwen2ForCausalLM(Qwen2Config(**config))
    state = {
        k: v.detach().to(torch.bfloat16).contiguous()
        for k, v in qwen.state_dict().items()
        if k != "lm_head.weight"
    }  # tied
    _atomic_write(
        folder / "model.safetensors", lambda p: save_file(state, str(p), metadata={"format": "pt"})
    )
    _write_text(folder / "generation_config.json", json.dumps({**ids, "max_new_tokens": 2048}))
    _write_text(folder / "config.json", json.dumps(config, indent=2))


def _save_onnx(
    path: Path,
    nodes: list[Any],
    inputs: list[Any],
    outputs: list[Any],
    weights: dict[str, torch.Tensor],
) -> None:
    # Built with onnx.helper rather than torch.onnx.export: exact names and dtypes, no exporter
    # (torch >= 2.9 defaults to the dynamo exporter, which needs onnxscript).
    inits = [numpy_helper.from_array(w.numpy(), name) for name, w in weights.items()]
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, inits)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="narration-tests"
    )
    model.ir_version = 8  # readable by onnxruntime >= 1.14
    onnx.checker.check_model(model)
    _atomic_write(path, lambda p: onnx.save(model, str(p)))


def write_onnx_standins(folder: Path, seed: int) -> None:
    """campplus.onnx and speech_tokenizer_v3.onnx with the signatures frontend.py feeds."""
    gen = torch.Generator().manual_seed(seed + 1)
    f32, i32, i64 = TensorProto.FLOAT, TensorProto.INT32, TensorProto.INT64
    # CAM++ speaker embedding: input (B, frames, 80) mean-removed kaldi fbank -> (B, 192).
    _save_onnx(
        folder / "campplus.onnx",
        [
            helper.make_node("ReduceMean", ["input"], ["pooled"], axes=[1], keepdims=0),
            helper.make_node("MatMul", ["pooled", "w"], ["output"]),
        ],
        [helper.make_tensor_value_info("input", f32, ["B", "T", 80])],
        [helper.make_tensor_value_info("output", f32, ["B", 192])],
        {"w": torch.randn(80, 192, generator=gen)},
    )
    # Speech tokenizer v3: whisper log-mel (1, 128, frames) at 100 Hz + its length (int32)
    # -> int64 token ids (1, frames // 4) at 25 Hz. Like the real FSQ tokenizer, each frame is
    # projected to 8 values, each quantised to {0, 1, 2}, read as a base-3 number < 6561.
    powers = torch.tensor([[3.0**i] for i in range(8)])
    _save_onnx(
        folder / "speech_tokenizer_v3.onnx",
        [
            helper.make_node("AveragePool", ["feats"], ["pooled"], kernel_shape=[4], strides=[4]),
            helper.make_node("Transpose", ["pooled"], ["frames"], perm=[0, 2, 1]),
            helper.make_node("MatMul", ["frames", "proj"], ["proj8"]),
            helper.make_node("Tanh", ["proj8"], ["squashed"]),
            helper.make_node("Add", ["squashed", "one"], ["shifted"]),
            helper.make_node("Round", ["shifted"], ["digits"]),
            helper.make_node("MatMul", ["digits", "powers"], ["code"]),
            helper.make_node("Squeeze", ["code", "last"], ["code2"]),
            # feats_length is an input of the real model: consume it (times zero) to keep it.
            helper.make_node("Cast", ["feats_length"], ["len_f"], to=f32),
            helper.make_node("Unsqueeze", ["len_f", "last"], ["len_col"]),
            helper.make_node("Mul", ["len_col", "zero"], ["len_zero"]),
            helper.make_node("Add", ["code2", "len_zero"], ["code3"]),
            helper.make_node("Cast", ["code3"], ["indices"], to=i64),
        ],
        [
            helper.make_tensor_value_info("feats", f32, ["B", 128, "T"]),
            helper.make_tensor_value_info("feats_length", i32, ["B"]),
        ],
        [helper.make_tensor_value_info("indices", i64, ["B", "T4"])],
        {
            "proj": torch.randn(128, 8, generator=gen) * 4,
            "one": torch.ones(1),
            "zero": torch.zeros(1),
            "powers": powers,
            "last": torch.tensor([-1]),
        },
    )


def _fp32_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """fp32 like the released .pt files; tied tensors (Qwen2's embedding and lm_head) stay one
    tensor, so that torch.save stores them once."""
    done: dict[int, torch.Tensor] = {}
    state = {}
    for key, value in module.state_dict().items():
        ptr = value.data_ptr() if value.numel() else -len(state) - 1  # empty ones never shared
        if ptr not in done:
            done[ptr] = value.detach().float().contiguous()
        state[key] = done[ptr]
    return state


def generate_cosyvoice3_model(folder: Path, *, seed: int = 0, size: str = "tiny") -> Path:
    """Write a complete CosyVoice3 model folder; return it. The yaml is written last."""
    if size not in QWEN2:
        raise ValueError(f"size must be one of {sorted(QWEN2)}, not {size!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cosyvoice3.yaml").unlink(missing_ok=True)  # no yaml = not (yet) complete
    yaml_text = derive_yaml(size, seed)
    write_blank_en(folder / "CosyVoice-BlankEN", size, seed)
    write_onnx_standins(folder, seed)
    # Build llm/flow/hift exactly as CosyVoice3.__init__ does (its yaml seeds the init).
    configs = load_hyperpyyaml(
        yaml_text, overrides={"qwen_pretrain_path": str(folder / "CosyVoice-BlankEN")}
    )
    llm = configs["llm"]
    with torch.no_grad():
        # Zero the decoder rows of the 200 stop/special ids: a random LM then cannot end a clip
        # before its first speech token (CosyVoice3's min-length mask only covers id 6561).
        llm.llm_decoder.weight[SPEECH_TOKENS:] = 0
    for name in ("llm", "flow", "hift"):
        state = _fp32_state(configs[name])
        _atomic_write(folder / f"{name}.pt", lambda p, s=state: torch.save(s, p))
    _write_text(folder / "cosyvoice3.yaml", yaml_text)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--size", choices=sorted(QWEN2), default="tiny")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    folder = generate_cosyvoice3_model(args.out_dir, seed=args.seed, size=args.size)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    print(json.dumps({str(p.relative_to(folder)): p.stat().st_size for p in files}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
