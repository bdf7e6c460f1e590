"""ChatTTS, the dialogue engine: PyPI `chattts`, import `ChatTTS`; `pip install narration[chattts]`.

Its prosody is made for conversation. Facts this module relies on (ChatTTS 0.2.5):
- Weights live in a folder with the library's layout (`asset/gpt/config.json`,
  `asset/*.safetensors`, `asset/tokenizer/`), checked against a map of sha256 hashes at load.
  The library's own map describes the released weights; a folder with its own
  `sha256_map.json` (weights converted or generated elsewhere) is checked against that one
  instead. Only `source="custom"` is used: the library's default source downloads into the
  working directory when files are missing.
- `infer` takes one speaker and one parameter set per call, so a batch is one voice and seed
  (batch_key); a batch decodes until its longest item ends. Its `InferCodeParams` default is
  shared and mutated by the library: a fresh one is made for every call.
- Texts reach it already normalised by us (its own normaliser deletes digits, apostrophes and
  question marks), so its normalisation and text refinement are off; control tokens such as
  `[laugh]` and `[uv_break]` in a text pass through to the model.
- A character's voice is a speaker embedding sampled once from a seed (`speaker_seed`, stored
  in cast.toml), the same for the whole book and across runs; `spk_emb` in a voice's params
  gives an embedding string outright instead. It is sampled on the CPU with its own generator
  (the library samples on the model's device, so the same seed would be another voice on a
  GPU than on a CPU).
- A batch is decoded at its longest item's length: the shorter items come back with a tail
  decoded from padding (not silence). Each item's code length is read as the batch goes to
  the decoder and the tail past it zeroed, which the library's own silence stripping removes.
- With a seed, an end token sampled at the first step empties the whole batch: at least one
  token is always generated (`min_new_token`).
- Output: float32 at 24 kHz. Weights are CC BY-NC 4.0 (non-commercial), code AGPL-3.0.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import warnings
from collections.abc import Hashable, Mapping, Sequence
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from narration.engines.base import Availability, Engine, SynthesisItem
from narration.errors import EngineError
from narration.model import Voice
from narration.render.memory import cuda_gpu_present

HUB_REPO = "2Noise/ChatTTS"
_ASSETS = (
    "asset/gpt/config.json",
    "asset/gpt/model.safetensors",
    "asset/Embed.safetensors",
    "asset/Decoder.safetensors",
    "asset/DVAE.safetensors",
    "asset/Vocos.safetensors",
    "asset/tokenizer/tokenizer.json",
)
# Speakers offered to the caster: seeds of sampled embeddings (gender unknown until heard).
_PALETTE_SEEDS = (1111, 2222, 3333, 4444, 5555, 6666, 7777, 8888, 9999, 1234, 4321, 2468)
_NARRATOR_SEED = 2024


def _library_version() -> str:
    try:
        return version("chattts")
    except PackageNotFoundError:
        return "not installed"


@lru_cache(maxsize=8)
def _hash_map_digest(folder: str) -> str:
    """Identifies the weights: the hashes load() verifies them against, hashed."""
    own = Path(folder) / "sha256_map.json"
    if own.is_file():
        text = own.read_text(encoding="utf-8")
    else:
        spec = importlib.util.find_spec("ChatTTS")
        if spec is None or spec.origin is None:
            return "unknown"
        text = (Path(spec.origin).parent / "res" / "sha256_map.json").read_text(encoding="utf-8")
    canonical = json.dumps(json.loads(text), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def speaker_voice(seed: int, name: str | None = None, gender: str = "U") -> Voice:
    return Voice(
        engine="chattts",
        model_id="chattts",
        name=name or f"chattts-{seed}",
        params=(("speaker_seed", seed),),
        gender=gender,
    )


class ChatTTSEngine(Engine):
    name: ClassVar[str] = "chattts"
    sample_rate: ClassVar[int] = 24000
    # ~30 s of speech: longer segments cut off or babble (ChatTTS #557, #687).
    max_segment_chars: ClassVar[int] = 300
    cue_tokens: ClassVar[Mapping[str, str]] = {
        "laugh": "[laugh]", "breath": "[uv_break]", "pause": "[uv_break]",
    }  # fmt: skip
    placement: ClassVar[str] = "device"
    roles: ClassVar[tuple[str, ...]] = ("dialogue",)
    priority: ClassVar[int] = 10
    code_license: ClassVar[str] = "AGPL-3.0"
    weights_license: ClassVar[str] = "CC BY-NC 4.0"
    licence_notice: ClassVar[str] = (
        "ChatTTS's weights are licensed CC BY-NC 4.0: audio made with them is for "
        "non-commercial use only."
    )
    max_retakes: ClassVar[int] = 2
    # Not repeatable per segment: a batch samples all its items from one generator (re-seeded
    # with manual_seed at every step), so an item's draws follow its row in the batch, and a
    # batch's logits differ in their last bits from a lone item's (padding, matrix shapes).
    # The same batch with the same seed gives the same audio; a segment rendered in another
    # batch is another take.
    repeatable: ClassVar[bool] = False
    batch_size: int = 8  # until the device's memory has been measured (and on a CPU)
    max_batch_size: int = 64

    def __init__(
        self,
        weights_dir: str | None = None,
        device: str = "auto",
        temperature: float = 0.3,
        top_p: float = 0.7,
        top_k: int = 20,
        max_new_token: int = 2048,
        compile: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        from narration.config import weights_root

        self.folder = Path(weights_dir).expanduser() if weights_dir else weights_root() / "chattts"
        self.device = device
        self.temperature, self.top_p, self.top_k = temperature, top_p, top_k
        self.max_new_token = max_new_token
        self.compile = compile
        self._chat: Any = None
        self._speakers: dict[int, str] = {}

    # ---------------------------------------------------------------- what it declares

    def model_version(self) -> str:
        return f"chattts {_library_version()} weights {_hash_map_digest(str(self.folder))}"

    def default_voice(self) -> Voice:
        return speaker_voice(_NARRATOR_SEED)

    def character_voices(self) -> list[Voice]:
        return [speaker_voice(seed) for seed in _PALETTE_SEEDS]

    def weights_folder(self) -> Path:
        return self.folder

    def missing_weights(self) -> list[str]:
        return [name for name in _ASSETS if not (self.folder / name).is_file()]

    def availability(self) -> Availability:
        if importlib.util.find_spec("ChatTTS") is None:
            return Availability(False, "not installed (pip install 'narration[chattts]')")
        if self.missing_weights():
            return Availability(
                False, f"no weights in {self.folder} (narrate engines fetch chattts)"
            )
        if self.device in ("cpu",) or self.device.startswith("cuda"):
            return Availability(True, "", str(self.folder), self.device)
        if not cuda_gpu_present():
            return Availability(
                False, "no CUDA GPU found (-O chattts.device=cpu runs it slowly on the CPU)",
                str(self.folder),
            )  # fmt: skip
        return Availability(True, "", str(self.folder), "cuda")

    def batch_key(self, item: SynthesisItem) -> Hashable:
        return (item.voice.fingerprint(), item.seed)  # one speaker, one seed per infer call

    def fetch_weights(self) -> Path:
        try:
            from huggingface_hub import snapshot_download
        except ImportError:
            raise EngineError("fetching weights needs huggingface_hub (pip install "
                              "huggingface_hub)") from None  # fmt: skip
        try:
            snapshot_download(
                repo_id=HUB_REPO,
                local_dir=str(self.folder),
                allow_patterns=["asset/*", "asset/**/*", "config/*"],
            )
        except Exception as exc:
            raise EngineError(
                f"could not download {HUB_REPO} into {self.folder}: "
                f"{' '.join(str(exc).split())[:200]} (offline? copy the weights there by hand)"
            ) from None
        return self.folder

    # ---------------------------------------------------------------- in the worker

    def _torch_device(self) -> Any:
        import torch

        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    def load(self) -> None:
        if self._chat is not None:
            return
        missing = self.missing_weights()
        if missing:
            raise EngineError(f"{self.folder}: ChatTTS weights missing ({', '.join(missing)})")
        # Quiet: its per-batch "hit max_new_token" warnings and transformers' load progress
        # bars would scroll over the progress bar (the duration guard judges takes instead).
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        warnings.filterwarnings("ignore", category=FutureWarning)
        import ChatTTS

        logger = logging.getLogger("narration.chattts")
        logger.setLevel(logging.ERROR)
        chat = ChatTTS.Chat(logger)
        own_map = self.folder / "sha256_map.json"
        if own_map.is_file():
            chat.sha256_map = json.loads(own_map.read_text(encoding="utf-8"))
        loaded = chat.load(
            source="custom",
            custom_path=str(self.folder),
            device=self._torch_device(),
            compile=self.compile,
        )
        if not loaded:
            raise EngineError(f"{self.folder}: ChatTTS could not load these weights "
                              "(a file is missing or its hash does not match)")  # fmt: skip
        chat._decode_to_wavs = _zero_padding_tails(chat._decode_to_wavs)
        self._chat = chat

    def memory_meter(self) -> Any:
        from narration.render.memory import torch_meter

        return torch_meter(self._torch_device())

    def release_memory(self) -> None:
        import gc

        import torch

        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _speaker(self, voice: Voice) -> str:
        explicit = voice.param("spk_emb")
        if explicit:
            return str(explicit)
        seed = int(voice.param("speaker_seed", _NARRATOR_SEED))
        if seed not in self._speakers:
            import torch

            speaker = self._chat.speaker  # the released speaker statistics (std, mean)
            std, mean = speaker.std.float().cpu(), speaker.mean.float().cpu()
            noise = torch.randn(speaker.dim, generator=torch.Generator().manual_seed(seed))
            self._speakers[seed] = speaker._encode(noise * std + mean)
        return self._speakers[seed]

    def synthesize(self, items: Sequence[SynthesisItem]) -> list[np.ndarray]:
        self.load()
        if not items:
            return []
        keys = {self.batch_key(item) for item in items}
        if len(keys) != 1:
            raise EngineError("a ChatTTS call takes one speaker and one seed")
        import ChatTTS

        first = items[0]
        params = ChatTTS.Chat.InferCodeParams(  # fresh: the library mutates its default
            spk_emb=self._speaker(first.voice),
            manual_seed=first.seed,
            temperature=float(first.voice.param("temperature", self.temperature)),
            top_P=self.top_p,
            top_K=self.top_k,
            max_new_token=self.max_new_token,
            min_new_token=1,
            show_tqdm=False,
        )
        wavs = self._chat.infer(
            [item.text for item in items],
            split_text=False,
            skip_refine_text=True,
            do_text_normalization=False,
            do_homophone_replacement=False,
            params_infer_code=params,
        )
        if len(wavs) != len(items):
            raise EngineError(f"ChatTTS returned {len(wavs)} clips for {len(items)} texts")
        return [np.asarray(w, dtype=np.float32).reshape(-1) for w in wavs]


def _zero_padding_tails(decode: Any) -> Any:
    """Wrap Chat._decode_to_wavs (codes of a batch -> one array of equal-length clips) so each
    clip's samples past its own code length are zeroed; `infer` then strips them with the rest
    of its silence. Lengths scale with code frames (the decoder and vocoder upsample evenly)."""

    def decode_trimmed(result_list: list, use_decoder: bool) -> Any:
        lengths = [int(result.size(0)) for result in result_list]  # read before it frees them
        wavs = decode(result_list, use_decoder)
        longest = max(lengths, default=0)
        if longest and getattr(wavs, "ndim", 0) == 2:
            for row, length in zip(wavs, lengths, strict=True):
                row[round(wavs.shape[1] * length / longest) :] = 0.0
        return wavs

    return decode_trimmed
