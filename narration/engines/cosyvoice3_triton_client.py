"""The Triton connection the cosyvoice3-triton engine uses: HTTP or gRPC (streaming when
the model is served decoupled), the served model's interface and capacity. See
narration.engines.cosyvoice3_triton for the facts about the official server."""

from __future__ import annotations

import contextlib
import queue
from dataclasses import dataclass
from typing import Any

import numpy as np

from narration.errors import EngineError

DEFAULT_MODEL = "cosyvoice3"
DEFAULT_VERSION = "1"  # the only version directory of the official model repository
WEIGHTS = "Fun-CosyVoice3-0.5B-2512"
PROMPT_RATE = 16000  # what the served model takes (its clients assert it)
OUTPUT_RATE = 24000
MAX_PROMPT_S = 30.0  # the speaker embedding's largest input: 3000 fbank frames
FALLBACK_CONCURRENCY = 16  # when the served model's config cannot be read
PROBE_TIMEOUT_S = 2.0  # availability(): routing asks every engine, so it must be quick
CONTROL_TIMEOUT_S = 10.0  # readiness and config calls, and connecting
SYSTEM_PROMPT = "You are a helpful assistant."
END_OF_PROMPT = "<|endofprompt|>"
# The served model's interface: name -> (datatype, dims without the batch dimension).
INPUTS = {
    "reference_wav": ("FP32", (-1,)),
    "reference_wav_len": ("INT32", (1,)),
    "reference_text": ("BYTES", (1,)),
    "target_text": ("BYTES", (1,)),
}
OUTPUTS = {"waveform": ("FP32", (-1,))}
INSTALL_HINT = "pip install 'narration[cosyvoice3-triton]'"


def one_line(value: Any, limit: int = 240) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def error_text(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    text = message() if callable(message) else str(exc)
    return one_line(text or type(exc).__name__)


@dataclass(frozen=True)
class Target:
    """Where the server is: protocol ("http" or "grpc"), host:port[/path], TLS or not."""

    protocol: str
    address: str
    ssl: bool = False

    @classmethod
    def parse(cls, url: str) -> Target:
        url = url.strip().rstrip("/")
        schemes = {"grpc": ("grpc", False), "grpcs": ("grpc", True),
                   "http": ("http", False), "https": ("http", True)}  # fmt: skip
        scheme, sep, rest = url.partition("://")
        if not sep:
            return cls("http", url)
        if scheme.lower() not in schemes:
            raise EngineError(f"engine 'cosyvoice3-triton': url {url!r} has an unknown scheme "
                              "(use host:port, http://host:port or grpc://host:port)")  # fmt: skip
        protocol, ssl = schemes[scheme.lower()]
        return cls(protocol, rest, ssl)


@dataclass(frozen=True)
class ServedModel:
    """What the server's model config says about how many requests it runs at once."""

    max_batch_size: int
    instances: int
    decoupled: bool

    @property
    def capacity(self) -> int:
        return max(1, self.max_batch_size) * max(1, self.instances)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ServedModel:
        """From a model config as JSON: HTTP's document, or gRPC's {"config": {...}} (which
        leaves out fields at their defaults)."""
        config = config.get("config", config)
        groups = config.get("instance_group") or []
        instances = sum(int(g.get("count", 1) or 1) for g in groups) if groups else 1
        policy = config.get("model_transaction_policy") or {}
        return cls(
            max_batch_size=int(config.get("max_batch_size", 0) or 0),
            instances=instances,
            decoupled=bool(policy.get("decoupled", False)),
        )


class Connection:
    """One tritonclient client (they are not thread-safe: one per thread)."""

    def __init__(self, target: Target, timeout_s: float) -> None:
        """`timeout_s` bounds an inference; connecting and the other calls take at most
        CONTROL_TIMEOUT_S of it (a server that does not answer is said soon)."""
        self.target, self.timeout_s = target, timeout_s
        self.control_s = min(timeout_s, CONTROL_TIMEOUT_S)
        if target.protocol == "grpc":
            import tritonclient.grpc as proto
        else:
            import tritonclient.http as proto
        self.proto = proto
        if target.protocol == "grpc":
            self.client = proto.InferenceServerClient(target.address, ssl=target.ssl)
        else:
            self.client = proto.InferenceServerClient(
                target.address, connection_timeout=self.control_s, network_timeout=timeout_s,
                ssl=target.ssl,
            )  # fmt: skip

    def _timeout(self) -> dict[str, Any]:
        return {"client_timeout": self.control_s} if self.target.protocol == "grpc" else {}

    def model_ready(self, model: str, version: str) -> bool:
        return bool(self.client.is_model_ready(model, version, **self._timeout()))

    def config(self, model: str, version: str) -> dict[str, Any]:
        if self.target.protocol == "grpc":  # as JSON: {"config": {...}}
            return dict(self.client.get_model_config(model, version, as_json=True,
                                                     **self._timeout()))  # fmt: skip
        return dict(self.client.get_model_config(model, version))

    def metadata(self, model: str, version: str) -> dict[str, Any]:
        if self.target.protocol == "grpc":
            return dict(self.client.get_model_metadata(model, version, as_json=True,
                                                       **self._timeout()))  # fmt: skip
        return dict(self.client.get_model_metadata(model, version))

    def infer(
        self,
        model: str,
        version: str,
        tensors: dict[str, np.ndarray],
        request_id: str,
        stream: bool,
    ) -> np.ndarray:
        inputs = []
        for name, array in tensors.items():
            tensor = self.proto.InferInput(name, list(array.shape), INPUTS[name][0])
            tensor.set_data_from_numpy(array)
            inputs.append(tensor)
        outputs = [self.proto.InferRequestedOutput(name) for name in OUTPUTS]
        if stream:
            return self._stream(model, version, inputs, outputs, request_id)
        timeout = {"client_timeout": self.timeout_s} if self.target.protocol == "grpc" else {}
        result = self.client.infer(
            model, inputs, model_version=version, outputs=outputs, request_id=request_id,
            **timeout,
        )  # fmt: skip
        waveform = result.as_numpy("waveform")
        return np.zeros(0, np.float32) if waveform is None else waveform.reshape(-1)

    def _stream(
        self, model: str, version: str, inputs: list, outputs: list, request_id: str
    ) -> np.ndarray:
        """A decoupled model over gRPC: chunks until the empty final response."""
        responses: queue.Queue = queue.Queue()
        self.client.start_stream(
            callback=lambda result, error: responses.put((result, error)),
            stream_timeout=self.timeout_s,
        )
        finished = False
        try:
            self.client.async_stream_infer(
                model, inputs, model_version=version, outputs=outputs, request_id=request_id,
                enable_empty_final_response=True,
            )  # fmt: skip
            chunks = []
            while True:
                try:
                    result, error = responses.get(timeout=self.timeout_s + 5)
                except queue.Empty:
                    raise EngineError(f"no answer in {self.timeout_s:g} s") from None
                if error is not None:
                    raise error
                response = result.get_response()
                if len(response.outputs):
                    waveform = result.as_numpy("waveform")
                    if waveform is not None:
                        chunks.append(waveform.reshape(-1))
                final = response.parameters.get("triton_final_response")
                if final is not None and final.bool_param:
                    break
            finished = True
        finally:
            self.client.stop_stream(cancel_requests=not finished)
        return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a connection that already broke
            self.client.close()
