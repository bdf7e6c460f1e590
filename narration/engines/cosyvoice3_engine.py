"""CosyVoice3 (Fun-CosyVoice3-0.5B): the narration engine, out of process.

The official code (FunAudioLLM/CosyVoice, Apache-2.0) pins packages Prefect 3 cannot share an
environment with, and is not on PyPI (PyPI's `cosyvoice` is an unrelated fork). So it runs
under its own interpreter: `narrate engines install cosyvoice3 --source DIR` makes a virtual
environment for a checkout DIR of that code and records it in the config file; this engine
starts `cosyvoice3_child.py` with that interpreter (narration.engines.external), which loads
`AutoModel(model_dir=...)` once and renders batches whose audio comes back through files.

The narrator is a cloned voice: a prompt clip and its exact transcript (`--narrator-prompt`,
`--narrator-prompt-text`, or the narrator's params in cast.toml), kept by content hash
(narration.engines.prompts) so segment keys hash the clip's audio and transcript, not its
path. The child registers each prompt once (`add_zero_shot_spk`) and then renders by its id;
a voice with an `instruct` param ("calm, warm storyteller") goes through `inference_instruct2`.
Texts are split by us to the model's comfortable length (`max_segment_chars`); its own
splitting makes chunks that sound different from each other.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Hashable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from narration.engines.base import Availability, Engine, SynthesisItem
from narration.engines.external import EngineChild, synthesize_in_child
from narration.errors import EngineError
from narration.model import Voice
from narration.render.memory import cuda_gpu_present

CHILD_SCRIPT = Path(__file__).with_name("cosyvoice3_child.py")
REQUIREMENTS = Path(__file__).with_name("cosyvoice3_requirements.txt")


class CosyVoice3Engine(Engine):
    name: ClassVar[str] = "cosyvoice3"
    sample_rate: ClassVar[int] = 24000
    # ~20 s of speech: past ~30 s its output cuts off or babbles.
    max_segment_chars: ClassVar[int] = 300
    placement: ClassVar[str] = "device"
    roles: ClassVar[tuple[str, ...]] = ("narration",)
    priority: ClassVar[int] = 10
    code_license: ClassVar[str] = "Apache-2.0"
    weights_license: ClassVar[str] = "Apache-2.0"
    max_retakes: ClassVar[int] = 2
    clones_voices: ClassVar[bool] = True
    # One item at a time in the child, whose sampling is seeded per segment from its seed and
    # text (cosyvoice3_child.segment_seed): repeatable on the same device.
    repeatable: ClassVar[bool] = True
    # The official PyTorch path renders one text at a time (its flow asserts batch 1): a
    # batch only saves round trips to the child.
    batch_size: int = 4
    max_batch_size: int = 8

    def __init__(
        self,
        python: str | None = None,
        source: str | None = None,
        matcha: str | None = None,
        model_dir: str | None = None,
        device: str = "auto",
        prompt_wav: str | None = None,
        prompt_text: str | None = None,
        instruct: str = "",
        **options: Any,
    ) -> None:
        super().__init__(**options)
        from narration.config import weights_root

        self.python = python
        self.source = Path(source).expanduser() if source else None
        self.matcha = Path(matcha).expanduser() if matcha else None
        self.model_dir = (
            Path(model_dir).expanduser() if model_dir else weights_root() / "cosyvoice3"
        )
        self.device = device
        self.prompt_wav, self.prompt_text, self.instruct = prompt_wav, prompt_text, instruct
        self._child: EngineChild | None = None

    # ---------------------------------------------------------------- what it declares

    def model_version(self) -> str:
        return f"cosyvoice3 {_folder_digest(self.model_dir)}"

    def default_voice(self) -> Voice:
        if not (self.prompt_wav and self.prompt_text):
            raise EngineError(
                "cosyvoice3 clones its narrator from a clip: give --narrator-prompt clip.wav "
                '--narrator-prompt-text "its exact transcript" (or prompt_wav and prompt_text '
                "under [engines.cosyvoice3] in the config file)"
            )
        from narration.engines.prompts import prompt_voice, register_prompt

        sha = register_prompt(self.prompt_wav)
        return prompt_voice(self.name, sha, self.prompt_text, "narrator", self.instruct)

    def voices(self) -> list[Voice]:
        """The narrator, once a prompt is configured (none is bundled)."""
        return [self.default_voice()] if self.prompt_wav and self.prompt_text else []

    def weights_folder(self) -> Path:
        return self.model_dir

    def availability(self) -> Availability:
        if not self.python or not Path(self.python).is_file():
            return Availability(False, "not installed (narrate engines install cosyvoice3 "
                                       "--source DIR)")  # fmt: skip
        if not (self.model_dir / "cosyvoice3.yaml").is_file():
            return Availability(False, f"no model in {self.model_dir}", None)
        if not (self.prompt_wav and self.prompt_text):
            return Availability(
                False, "no narrator prompt (--narrator-prompt)", str(self.model_dir)
            )
        if self.device == "auto" and not cuda_gpu_present():
            return Availability(False, "no CUDA GPU found (-O cosyvoice3.device=cpu runs it "
                                       "slowly on the CPU)", str(self.model_dir))  # fmt: skip
        device = "cuda" if self.device == "auto" else self.device
        return Availability(True, "", str(self.model_dir), device)

    def install(self, source: Path, folder: Path) -> dict[str, Any]:
        source = source.resolve()
        matcha = source / "third_party" / "Matcha-TTS"  # a git checkout's submodule
        if not (matcha / "matcha").is_dir():
            matcha = source.parent / "matcha-tts"  # an export with Matcha-TTS beside it
        if not (matcha / "matcha").is_dir():
            raise EngineError(f"{source}: Matcha-TTS not found (third_party/Matcha-TTS, or "
                              "matcha-tts beside it): run git submodule update --init")  # fmt: skip
        python = install_environment(source, folder)
        return {"python": str(python), "source": str(source), "matcha": str(matcha)}

    def batch_key(self, item: SynthesisItem) -> Hashable:
        return (item.voice.fingerprint(), item.seed)

    # ---------------------------------------------------------------- in the worker

    def _command(self) -> list[str]:
        if not self.python or self.source is None:
            raise EngineError("cosyvoice3 is not installed: narrate engines install cosyvoice3 "
                              "--source DIR (a checkout of FunAudioLLM/CosyVoice)")  # fmt: skip
        matcha = self.matcha or self.source / "third_party" / "Matcha-TTS"
        return [
            self.python, str(CHILD_SCRIPT), "--source", str(self.source), "--matcha", str(matcha),
            "--model-dir", str(self.model_dir), "--device", self.device,
        ]  # fmt: skip

    def load(self) -> None:
        if self._child is None:
            self._child = EngineChild(self.name, self._command())
        if not self._child.alive:
            self._child.start()

    def synthesize(self, items: Sequence[SynthesisItem]) -> list[np.ndarray]:
        self.load()
        assert self._child is not None
        from narration.engines.prompts import prompt_path

        resolved = []
        for item in items:  # the child reads each voice's clip from the prompts folder
            sha = item.voice.param("prompt_sha256")
            clip = prompt_path(sha) if sha else None
            if clip is None or not clip.is_file():
                raise EngineError(f"voice {item.voice.name!r} has no prompt clip registered")
            params = tuple(sorted({**dict(item.voice.params), "prompt_wav": str(clip)}.items()))
            resolved.append(replace(item, voice=replace(item.voice, params=params)))
        return synthesize_in_child(self._child, resolved)

    def release_memory(self) -> None:
        if self._child is not None:
            self._child.stop()  # a fresh child starts with the device's memory free


def _folder_digest(folder: Path) -> str:
    """Identifies the model: the yaml's bytes and each weight file's size (hashing gigabytes
    on every run would cost seconds)."""
    import hashlib

    digest = hashlib.sha256()
    yaml = folder / "cosyvoice3.yaml"
    digest.update(yaml.read_bytes() if yaml.is_file() else b"missing")
    for name in ("llm.pt", "flow.pt", "hift.pt", "campplus.onnx", "speech_tokenizer_v3.onnx"):
        path = folder / name
        digest.update(f"{name}:{path.stat().st_size if path.is_file() else -1}".encode())
    return digest.hexdigest()[:12]


def install_environment(source: Path, folder: Path, *, python: str = sys.executable) -> Path:
    """Make a virtual environment for a CosyVoice checkout at `folder` (its own interpreter:
    the code's pinned packages cannot share ours) and install what the code needs; returns the
    environment's interpreter."""
    import subprocess

    if not (source / "cosyvoice" / "cli" / "cosyvoice.py").is_file():
        raise EngineError(f"{source}: not a CosyVoice checkout (no cosyvoice/cli/cosyvoice.py)")
    env_python = folder / "bin" / "python"
    if not env_python.is_file():
        subprocess.run([python, "-m", "venv", str(folder)], check=True)
    command = [str(env_python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)]
    done = subprocess.run(command, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    if done.returncode != 0:
        raise EngineError(f"installing cosyvoice3's packages into {folder} failed "
                          f"(exit code {done.returncode})")  # fmt: skip
    return env_python
