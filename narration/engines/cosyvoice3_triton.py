"""CosyVoice3 served by NVIDIA Triton with TensorRT-LLM (the official runtime), for narration.

A client of the server that CosyVoice's `runtime/triton_trtllm/run_cosyvoice3.sh` starts (stages
0-3; `docker-compose.cosyvoice3.yml`); install with `pip install narration[cosyvoice3-triton]`
(tritonclient). Nothing heavy runs here: the server holds the weights and the GPU. Facts this
module relies on, from that runtime (paths under `runtime/triton_trtllm/`):
- The entry model is `cosyvoice3` (`model_repo_cosyvoice3/cosyvoice3/config.pbtxt`): inputs
  `reference_wav` FP32 dims [-1], `reference_wav_len` INT32 [1], `reference_text` BYTES [1]
  (those three optional), `target_text` BYTES [1]; output `waveform` FP32 [-1]. Its
  `max_batch_size` is a template value (`TRITON_MAX_BATCH_SIZE=1` in run_cosyvoice3.sh), so
  every tensor carries a leading batch dimension of 1, as the official clients send them
  (`client_grpc.py` prepare_request_input_output, `client_http.py` prepare_request).
- The reference clip goes as 16 kHz mono float32 with its length (the clients assert 16 kHz,
  "hard coding in server"; the server resamples it 16 -> 24 kHz for its mel features). The
  waveform comes back at 24 kHz (the clients save it at 24000).
- The clients send the clip's transcript as it is; the server puts
  "You are a helpful assistant.<|endofprompt|>" in front when the text has no
  `<|endofprompt|>` (`cosyvoice3/1/model.py` _prepare_prompt), so the transcript is sent bare.
  A voice's optional style instruction goes into that system part instead:
  "You are a helpful assistant. <instruct><|endofprompt|><transcript>", which the server passes
  through unchanged (CosyVoice3's instruct form; the server still conditions on the clip's
  speech tokens, unlike the PyTorch `inference_instruct2`).
- The server caches a speaker's prompt features by that reference text alone: two clips with
  the same transcript on one server share the first one's features until it restarts.
- run_cosyvoice3.sh serves the model decoupled (`DECOUPLED_MODE=True`, streaming): Triton then
  refuses plain inference on HTTP and gRPC alike, and only gRPC streaming reaches it (the
  waveform arrives in chunks, then an empty final response). `url = "grpc://host:18001"` works
  with either mode; an `http://` url needs `DECOUPLED_MODE=False` (offline, also the better
  choice for narration: whole-segment flow matching instead of chunks).
- It starts tritonserver on ports 18000 (HTTP) and 18001 (gRPC): 8000 is trtllm-serve's LLM.
- Sampling (temperature 0.8, top-p 0.95, top-k 50) happens on the server with no seed, so a
  segment's seed does not make it repeatable; a retake is simply another request.
- Concurrency: Triton executes up to max_batch_size x instance count requests of a model at
  once (1 x `bls_instance_num` = 10 as shipped) and queues the rest; the LLM behind it batches
  up to 64 (trtllm-serve), token2wav runs one at a time. That product, read from the served
  model's config, is the default number of requests in flight (option `concurrency` overrides).
- Code Apache-2.0 (the runtime; its clients carry NVIDIA's BSD-3 headers), weights
  Fun-CosyVoice3-0.5B-2512 Apache-2.0 (per its model card; the vendored README names none).

The narrator is a cloned voice (narration.engines.prompts): `prompt_wav` + `prompt_text`, which
--narrator-prompt / --narrator-prompt-text set. Without them the engine is not usable for
auto-routing and planning a book with it stops at once, naming those flags: no bundled clip
stands in (the runtime's own asset clip is a Mandarin speaker, and is not installed with us).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from narration.engines.base import Availability, Engine, SynthesisItem
from narration.engines.cosyvoice3_triton_client import (
    DEFAULT_MODEL,
    DEFAULT_VERSION,
    END_OF_PROMPT,
    FALLBACK_CONCURRENCY,
    INPUTS,
    INSTALL_HINT,
    MAX_PROMPT_S,
    OUTPUT_RATE,
    PROBE_TIMEOUT_S,
    PROMPT_RATE,
    SYSTEM_PROMPT,
    WEIGHTS,
    Connection,
    ServedModel,
    Target,
    error_text,
    one_line,
)
from narration.errors import EngineError
from narration.model import Voice


class CosyVoice3TritonEngine(Engine):
    """Options (config file `[engines."cosyvoice3-triton"]`, or -O cosyvoice3-triton.KEY=...):
    url ("host:port" or "http://host:port" for HTTP, "grpc://host:port" for gRPC; required),
    model ("cosyvoice3"), version ("1": the model version requested and named in segment
    keys; "" lets the server choose), concurrency (requests in flight; default: the served
    model's max_batch_size x instance count), timeout_s (one request, 300), prompt_wav +
    prompt_text (the narrator's clip and its exact transcript), instruct (a style
    instruction for that narrator), weights (a label for what the server loaded, part of every
    segment key: change it when the server's weights change)."""

    name: ClassVar[str] = "cosyvoice3-triton"
    sample_rate: ClassVar[int] = OUTPUT_RATE
    # ~20 s of speech: the server caps the LLM at 750 speech tokens (30 s at 25 per second).
    max_segment_chars: ClassVar[int] = 300
    placement: ClassVar[str] = "remote"
    roles: ClassVar[tuple[str, ...]] = ("narration",)
    priority: ClassVar[int] = 20
    code_license: ClassVar[str] = "Apache-2.0"
    weights_license: ClassVar[str] = "Apache-2.0"
    max_retakes: ClassVar[int] = 2
    clones_voices: ClassVar[bool] = True

    def __init__(
        self,
        url: str | None = None,
        model: str = DEFAULT_MODEL,
        version: str = DEFAULT_VERSION,
        concurrency: int | None = None,
        timeout_s: float = 300.0,
        prompt_wav: str | None = None,
        prompt_text: str | None = None,
        instruct: str = "",
        weights: str = WEIGHTS,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.url = str(url).strip() if url else None
        self.target: Target | None = None
        self._url_error = ""
        if self.url:
            try:
                self.target = Target.parse(self.url)
            except EngineError as exc:  # said by availability() and load(), not at creation
                self._url_error = str(exc)
        self.model, self.version = str(model), str(version or "")
        self.concurrency = None if concurrency in (None, "") else max(1, int(concurrency))
        self.timeout_s = float(timeout_s)
        self.prompt_wav, self.prompt_text = prompt_wav, prompt_text
        self.instruct = instruct or ""
        self.weights = weights
        self._served: ServedModel | None = None
        self._loaded = False
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[Connection] = []
        self._prompts: dict[str, np.ndarray] = {}
        self._voice: Voice | None = None
        self._ids = itertools.count(1)

    # ---------------------------------------------------------------- what it declares

    def model_version(self) -> str:
        """The served model as configured (never the network: a segment key must not depend
        on whether the server answered when the book was planned)."""
        return f"triton {self.model}/{self.version or 'latest'} {self.weights}"

    def _no_prompt(self) -> str:
        return (f"engine {self.name!r} clones its narrator from a clip: give --narrator-prompt "
                'clip.wav --narrator-prompt-text "its exact transcript" (or prompt_wav and '
                f'prompt_text under [engines."{self.name}"] in the config file)')  # fmt: skip

    def default_voice(self) -> Voice:
        """The narrator cloned from `prompt_wav` + `prompt_text` (--narrator-prompt and
        --narrator-prompt-text arrive as these options). Without them there is no narrator:
        an error when the book is planned, not one per segment."""
        if self._voice is not None:
            return self._voice
        if not (self.prompt_wav and self.prompt_text):
            raise EngineError(self._no_prompt())
        from narration.engines.prompts import prompt_voice, register_prompt

        sha = register_prompt(Path(self.prompt_wav).expanduser())
        self._voice = prompt_voice(self.name, sha, self.prompt_text, "narrator", self.instruct)
        return self._voice

    def voices(self) -> list[Voice]:
        """The configured narrator, if any (`narrate engines` lists it without a prompt)."""
        return [self.default_voice()] if self.prompt_wav and self.prompt_text else []

    def availability(self) -> Availability:
        if self._url_error:
            return Availability(False, self._url_error)
        if self.target is None:
            return Availability(False, f'no server configured (url under [engines."{self.name}"]'
                                ', e.g. "grpc://127.0.0.1:18001")')  # fmt: skip
        if not (self.prompt_wav and self.prompt_text):
            return Availability(False, "no narrator prompt (--narrator-prompt clip.wav "
                                "--narrator-prompt-text ...)")  # fmt: skip
        if not Path(self.prompt_wav).expanduser().is_file():
            return Availability(False, f"narrator prompt {self.prompt_wav} not found")
        try:
            connection = Connection(self.target, PROBE_TIMEOUT_S)
        except ImportError:
            return Availability(False, f"not installed ({INSTALL_HINT})")
        except Exception as exc:
            return Availability(False, f"cannot reach {self.url}: {error_text(exc)}")
        try:
            if not connection.model_ready(self.model, self.version):
                return Availability(False, f"model {self.model!r} is not ready at {self.url}")
            served = ServedModel.from_config(connection.config(self.model, self.version))
        except Exception as exc:
            return Availability(False, f"no Triton server answers at {self.url}: "
                                f"{error_text(exc)}")  # fmt: skip
        finally:
            connection.close()
        if served.decoupled and self.target.protocol == "http":
            return Availability(False, self._decoupled_message())
        with self._lock:
            self._served = self._served or served
        return Availability(True, "", None, f"Triton at {self.target.address}")

    def max_concurrency(self) -> int:
        if self.concurrency is not None:
            return self.concurrency
        served = self._served
        if served is None and self.target is not None:
            try:
                connection = Connection(self.target, PROBE_TIMEOUT_S)
                try:
                    served = ServedModel.from_config(connection.config(self.model, self.version))
                finally:
                    connection.close()
            except Exception:  # unreachable now: load() will say so
                return FALLBACK_CONCURRENCY
            with self._lock:
                self._served = self._served or served
        return served.capacity if served is not None else FALLBACK_CONCURRENCY

    def _decoupled_message(self) -> str:
        return (f"model {self.model!r} at {self.url} is decoupled (streaming): Triton answers it "
                "only over gRPC streaming; use url = \"grpc://host:<grpc port>\" (18001 in "
                "run_cosyvoice3.sh) or serve it with DECOUPLED_MODE=False")  # fmt: skip

    # ---------------------------------------------------------------- the client

    def _connection(self) -> Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            if self._url_error:
                raise EngineError(self._url_error)
            if self.target is None:
                raise EngineError(f"engine {self.name!r}: no server configured (set url under "
                                  f'[engines."{self.name}"])')  # fmt: skip
            try:
                connection = Connection(self.target, self.timeout_s)
            except ImportError as exc:
                raise EngineError(f"engine {self.name!r} needs tritonclient ({INSTALL_HINT}): "
                                  f"{exc}") from None  # fmt: skip
            except Exception as exc:
                raise EngineError(f"engine {self.name!r}: cannot reach {self.url}: "
                                  f"{error_text(exc)}") from None  # fmt: skip
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def load(self) -> None:
        connection = self._connection()
        where = f"model {self.model!r} (version {self.version or 'latest'}) at {self.url}"
        try:
            ready = connection.model_ready(self.model, self.version)
        except Exception as exc:
            raise EngineError(f"engine {self.name!r}: no Triton server answers at {self.url}: "
                              f"{error_text(exc)}") from None  # fmt: skip
        if not ready:
            raise EngineError(f"engine {self.name!r}: {where} is not ready")
        try:
            served = ServedModel.from_config(connection.config(self.model, self.version))
            metadata = connection.metadata(self.model, self.version)
        except Exception as exc:
            raise EngineError(f"engine {self.name!r}: cannot read {where}: "
                              f"{error_text(exc)}") from None  # fmt: skip
        if served.decoupled and connection.target.protocol == "http":
            raise EngineError(f"engine {self.name!r}: {self._decoupled_message()}")
        served_inputs = {t["name"]: t["datatype"] for t in metadata.get("inputs", [])}
        wanted = {name: spec[0] for name, spec in INPUTS.items()}
        if any(served_inputs.get(name) != dtype for name, dtype in wanted.items()):
            raise EngineError(f"engine {self.name!r}: {where} does not take CosyVoice3's inputs "
                              f"(it takes {served_inputs or 'none'})")  # fmt: skip
        with self._lock:
            self._served = served
            self._loaded = True

    def close(self) -> None:
        """Close every connection this engine opened (the render layer lets them go at exit)."""
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()

    # ---------------------------------------------------------------- synthesis

    def _prompt_audio(self, sha: str) -> np.ndarray:
        with self._lock:
            audio = self._prompts.get(sha)
        if audio is not None:
            return audio
        import soundfile as sf

        from narration.engines.prompts import prompt_path

        path = prompt_path(sha)
        try:
            data, rate = sf.read(path, dtype="float32", always_2d=True)
        except Exception as exc:
            raise EngineError(f"engine {self.name!r}: cannot read the voice prompt {path}: "
                              f"{error_text(exc)}") from None  # fmt: skip
        audio = data.mean(axis=1, dtype=np.float32)
        if rate != PROMPT_RATE:
            import soxr

            audio = soxr.resample(audio, rate, PROMPT_RATE).astype(np.float32)
        if len(audio) > MAX_PROMPT_S * PROMPT_RATE:
            raise EngineError(f"engine {self.name!r}: the voice prompt {path} lasts "
                              f"{len(audio) / PROMPT_RATE:.1f} s; CosyVoice3 takes at most "
                              f"{MAX_PROMPT_S:g} s")  # fmt: skip
        if not len(audio):
            raise EngineError(f"engine {self.name!r}: the voice prompt {path} is empty")
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        with self._lock:
            self._prompts[sha] = audio
        return audio

    def reference_text(self, voice: Voice) -> str:
        """What goes in `reference_text`: the transcript bare, as the official clients send it
        (the server adds the system prompt), or with the voice's instruction in front."""
        transcript = str(voice.param("prompt_text", ""))
        instruct = str(voice.param("instruct", "") or "").strip()
        if instruct and END_OF_PROMPT not in transcript:
            return f"{SYSTEM_PROMPT} {instruct}{END_OF_PROMPT}{transcript}"
        return transcript

    def request_tensors(self, voice: Voice, text: str) -> dict[str, np.ndarray]:
        """The four inputs of one request, shaped as the served model declares them."""
        sha, transcript = voice.param("prompt_sha256"), voice.param("prompt_text")
        if not sha or not transcript:
            raise EngineError(f"{self._no_prompt()}; voice {voice.name!r} has no prompt")
        wav = self._prompt_audio(str(sha))
        served = self._served
        batch = (1,) if served is None or served.max_batch_size > 0 else ()

        def text_tensor(value: str) -> np.ndarray:
            return np.array([value.encode("utf-8")], dtype=np.object_).reshape(*batch, 1)

        return {
            "reference_wav": wav.reshape(*batch, -1),
            "reference_wav_len": np.array([len(wav)], dtype=np.int32).reshape(*batch, 1),
            "reference_text": text_tensor(self.reference_text(voice)),
            "target_text": text_tensor(text),
        }

    def synthesize(self, items: Sequence[SynthesisItem]) -> list[np.ndarray]:
        if not self._loaded:
            self.load()
        served = self._served
        stream = bool(served and served.decoupled)
        connection = self._connection()
        out = []
        for item in items:
            tensors = self.request_tensors(item.voice, item.text)
            request_id = f"narration-{os.getpid()}-{next(self._ids)}"
            try:
                audio = connection.infer(self.model, self.version, tensors, request_id, stream)
            except EngineError as exc:
                raise EngineError(
                    f"engine {self.name!r}: request to {self.url} failed: {exc}"
                ) from None
            except Exception as exc:
                raise EngineError(f"engine {self.name!r}: request to {self.url} failed: "
                                  f"{error_text(exc)}") from None  # fmt: skip
            if not audio.size:
                raise EngineError(f"engine {self.name!r}: {self.url} returned no audio for "
                                  f"{one_line(item.text, 60)!r}")  # fmt: skip
            out.append(np.ascontiguousarray(audio, dtype=np.float32))
        return out
