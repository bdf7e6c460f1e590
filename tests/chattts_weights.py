"""Generate ChatTTS model folders with random weights, in the library's real file layout.

The released ChatTTS weights cannot be downloaded here, yet our engine code must be proven
against the real library code. So we build every module with the library's own classes and its
own ``Config`` (the same constructor calls ``Chat._load`` makes), save seeded random
state dicts with safetensors, and write a sha256 map of the files we made, because
``Chat.load(source="custom")`` refuses any file whose hash is not in ``chat.sha256_map``.

Only what the library reads from the files can shrink. ``Chat._load`` builds Embed, DVAE,
Decoder, Vocos and Speaker from ``Config()`` defaults, so those keep their real sizes (hidden
768, 21178 text tokens, 626 audio tokens, 4 codebooks, 24 kHz Vocos). The Llama body is read
from ``asset/gpt/config.json`` by ``LlamaModel.from_pretrained``, so "tiny" shrinks its layers and
MLP width there; its hidden size must stay 768 (Embed, Speaker and the Decoder input use it).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import ChatTTS
import torch
from ChatTTS.config import Config
from ChatTTS.model import DVAE, Embed
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers
from tokenizers.models import WordPiece
from transformers import LlamaConfig, LlamaModel
from vocos import Vocos
from vocos.pretrained import instantiate_class

# Llama overrides per size. "real" is LlamaConfig(**asdict(Config().gpt)), exactly what
# GPT._build_llama_config makes: 20 layers, 12 heads, MLP 3072, vocab 32000. embed_tokens is
# deleted after loading, but the released file carries it: ours is 853,423,872 bytes too.
GPT_SIZES: dict[str, dict[str, int]] = {
    "real": {},
    "tiny": {"num_hidden_layers": 2, "intermediate_size": 256, "vocab_size": 16},
}

# Text vocabulary size the library hard-codes for Embed (emb_text, head_text). The refine step
# samples ids up to this, so the tokenizer is padded to exactly this many tokens.
NUM_TEXT_TOKENS = Config().embed.num_text_tokens
_BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Control tokens the library looks up or writes (speaker.py, tokenizer.py, core.py defaults)
# or that users put in text. Tokens kept in refined text must sort before [break_0]:
# core._infer drops every refined id >= [break_0].
_KEPT_CONTROLS = ["[uv_break]", "[laugh]", "[lbreak]", "[Stts]", "[spk_emb]", "[empty_spk]"]
_KEPT_CONTROLS += ["[Ptts]", "[Etts]", "[Sbreak]", "[Pbreak]"]
_DROPPED_CONTROLS = (
    [f"[break_{i}]" for i in range(8)]
    + ["[Ebreak]"]
    + [f"[speed_{i}]" for i in range(10)]
    + [f"[oral_{i}]" for i in range(10)]
    + [f"[laugh_{i}]" for i in range(3)]
)
_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789" + ".,!?;:'\"-()，。、"

SHA256_MAP_NAME = "sha256_map.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _map_key(rel: Path) -> str:
    # Same rule as ChatTTS.utils.dl.check_folder: folders joined by "_", dots become "_".
    return "sha256_" + "_".join([*rel.parts[:-1], rel.name.replace(".", "_")])


def _save(module: torch.nn.Module, path: Path) -> None:
    # contiguous(): safetensors refuses views; the "pt" format tag is what transformers checks.
    state = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
    save_file(state, str(path), metadata={"format": "pt"})


def _write_vocos(cfg: Config, path: Path) -> None:
    # Same three instantiate_class calls as Chat._load, so keys and shapes match by construction.
    vocos = Vocos(
        feature_extractor=instantiate_class(args=(), init=asdict(cfg.vocos.feature_extractor)),
        backbone=instantiate_class(args=(), init=asdict(cfg.vocos.backbone)),
        head=instantiate_class(args=(), init=asdict(cfg.vocos.head)),
    )
    _save(vocos, path)


def _write_dvae_and_decoder(cfg: Config, dvae_path: Path, decoder_path: Path) -> None:
    # DVAE (encoder + GFSQ + decoder) is used by sample_audio_speaker and use_decoder=False;
    # the Decoder turns GPT hidden states (768 = 2 x idim 384) into 100-band mel frames.
    dvae = DVAE(
        decoder_config=asdict(cfg.dvae.decoder),
        encoder_config=asdict(cfg.dvae.encoder),
        vq_config=asdict(cfg.dvae.vq),
        dim=cfg.dvae.decoder.idim,
    )
    _save(dvae, dvae_path)
    # Chat._load hands the DVAE's mel scaling (coef) to the Decoder: share it here too.
    decoder = DVAE(decoder_config=asdict(cfg.decoder), dim=cfg.decoder.idim, coef=str(dvae))
    _save(decoder, decoder_path)


def _write_embed(cfg: Config, path: Path) -> None:
    e = cfg.embed
    _save(Embed(e.hidden_size, e.num_audio_tokens, e.num_text_tokens, e.num_vq), path)


def _write_gpt(cfg: Config, size: str, folder: Path) -> None:
    # float32 like the released file, written into config.json so from_pretrained keeps it.
    llama_config = LlamaConfig(**{**asdict(cfg.gpt), **GPT_SIZES[size]}, dtype="float32")
    folder.mkdir(parents=True, exist_ok=True)
    model = LlamaModel(llama_config)
    _save(model, folder / "model.safetensors")
    llama_config.to_json_file(str(folder / "config.json"))


def _write_tokenizer(folder: Path) -> None:
    # A BERT WordPiece pipeline like the released tokenizer (BertTokenizerFast): single
    # characters and their "##" continuations, padded with unused tokens so len() == 21178.
    folder.mkdir(parents=True, exist_ok=True)
    pieces = [*_BERT_SPECIALS, *_CHARS, *(f"##{c}" for c in _CHARS)]
    controls = [*_KEPT_CONTROLS, *_DROPPED_CONTROLS]
    n_unused = NUM_TEXT_TOKENS - len(pieces) - len(controls)
    vocab_list = [*pieces, *(f"[unused{i}]" for i in range(n_unused)), *controls]
    vocab = {tok: i for i, tok in enumerate(vocab_list)}
    tok = Tokenizer(WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    # Registered as added tokens so "[spk_emb]" is matched whole before pre-tokenisation;
    # they are already in the vocabulary, so they keep the ids above.
    tok.add_special_tokens([*_BERT_SPECIALS, *controls])
    tok.save(str(folder / "tokenizer.json"))
    special = {
        "unk_token": "[UNK]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
    }
    config = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": True,
        "tokenize_chinese_chars": True,
        "strip_accents": None,
        "clean_up_tokenization_spaces": True,
        "model_max_length": 1000000000000000019884624838656,
        **special,
    }
    for name, data in (("special_tokens_map.json", special), ("tokenizer_config.json", config)):
        (folder / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def generate_chattts_weights(folder: Path, *, size: str = "tiny", seed: int = 0) -> dict[str, str]:
    """Write a complete ChatTTS model folder under ``folder`` and return its sha256 map.

    ``folder`` gets ``asset/...`` (the layout ``Chat.load(source="custom")`` checks) and
    ``sha256_map.json`` with keys named like the library's ``res/sha256_map.json``.
    The same ``seed`` gives the same files; the global torch RNG is left untouched.
    """
    if size not in GPT_SIZES:
        raise ValueError(f"size must be one of {sorted(GPT_SIZES)}, not {size!r}")
    folder = Path(folder)
    asset = folder / "asset"
    asset.mkdir(parents=True, exist_ok=True)
    cfg = Config()
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        _write_vocos(cfg, asset / "Vocos.safetensors")
        _write_dvae_and_decoder(cfg, asset / "DVAE.safetensors", asset / "Decoder.safetensors")
        _write_embed(cfg, asset / "Embed.safetensors")
        _write_gpt(cfg, size, asset / "gpt")
    _write_tokenizer(asset / "tokenizer")

    files = sorted(p for p in asset.rglob("*") if p.is_file())
    sha_map = {_map_key(p.relative_to(folder)): _sha256(p) for p in files}
    # The library's own map names every file it checks (ChatTTS.Chat reads the same file).
    stock = Path(ChatTTS.__file__).parent / "res" / "sha256_map.json"
    expected = set(json.loads(stock.read_text(encoding="utf-8")))
    if set(sha_map) != expected:  # the library's check would KeyError on a missing key
        raise RuntimeError(f"generated files {sorted(sha_map)} != expected {sorted(expected)}")
    tmp = folder / (SHA256_MAP_NAME + ".tmp")
    tmp.write_text(json.dumps(sha_map, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, folder / SHA256_MAP_NAME)
    return sha_map


def read_sha256_map(folder: Path) -> dict[str, str]:
    """The map written by :func:`generate_chattts_weights` beside the assets."""
    return json.loads((Path(folder) / SHA256_MAP_NAME).read_text(encoding="utf-8"))


def load_chat(folder: Path, device: str = "cpu", **load_kwargs: Any) -> ChatTTS.Chat:
    """Load a generated folder through the library's real ``Chat.load(source="custom")``."""
    chat = ChatTTS.Chat()
    # An instance attribute read in Chat.__init__: replacing it is the supported way to point
    # the hash check at files that are not the released ones.
    chat.sha256_map = read_sha256_map(folder)
    ok = chat.load(
        source="custom",
        custom_path=str(folder),
        device=torch.device(device),
        compile=False,
        **load_kwargs,
    )
    if not ok:
        raise RuntimeError(
            f"ChatTTS refused to load {folder} (hash mismatch or missing module; see its log)"
        )
    return chat
