"""A stand-in for the official CosyVoice3 Triton server, on 127.0.0.1, for the engine's tests.

`TritonStandin` speaks the KServe v2 HTTP protocol the way tritonserver does for what
tritonclient.http uses: health, model readiness, metadata, config (max_batch_size, instance
groups, decoupled or not), and inference with a JSON header followed by binary tensors
(`Inference-Header-Content-Length`, `binary_data_size`), or all-JSON bodies as the official
`client_http.py` sends them. Standard library and numpy only.

`GrpcStandin` serves the same model over Triton's gRPC service (needs grpcio and tritonclient,
which bring the generated stubs), including the streaming call a decoupled model requires.

Both serve the model `cosyvoice3` with the inputs and outputs of the vendored
`runtime/triton_trtllm/model_repo_cosyvoice3/cosyvoice3/config.pbtxt`, reject what tritonserver
rejects (an unknown input, a wrong datatype or shape: HTTP 400; plain inference on a decoupled
model: 501 / UNIMPLEMENTED), record every request's decoded inputs, count the requests in
flight, and answer with a tone as long as the target text takes to read (15 characters a
second, at 24 kHz).
"""

from __future__ import annotations

import json
import re
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import numpy as np

MODEL = "cosyvoice3"
VERSION = "1"
OUTPUT_RATE = 24000
CHARS_PER_S = 15.0
# name -> (datatype, dims without the batch dimension, optional): config.pbtxt's input/output
INPUTS: dict[str, tuple[str, tuple[int, ...], bool]] = {
    "reference_wav": ("FP32", (-1,), True),
    "reference_wav_len": ("INT32", (1,), True),
    "reference_text": ("BYTES", (1,), True),
    "target_text": ("BYTES", (1,), False),
}
OUTPUTS: dict[str, tuple[str, tuple[int, ...]]] = {"waveform": ("FP32", (-1,))}
NUMPY_TYPES = {
    "BOOL": np.bool_, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
    "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
    "FP16": np.float16, "FP32": np.float32, "FP64": np.float64,
}  # fmt: skip


class StandinError(Exception):
    """A request the server refuses: the HTTP status and Triton's error text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Received:
    """One inference request as the model saw it."""

    protocol: str
    model_version: str
    request_id: str
    shapes: dict[str, tuple[int, ...]]
    reference_wav: np.ndarray | None
    reference_wav_len: int | None
    reference_text: str | None
    target_text: str


def tone(text: str, rate: int = OUTPUT_RATE) -> np.ndarray:
    n = max(int(len(text) / CHARS_PER_S * rate), rate // 5)
    t = np.arange(n) / rate
    return (0.2 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)


def decode_bytes(raw: bytes) -> list[bytes]:
    """Triton's BYTES wire format: each element as a 4-byte little-endian length + bytes."""
    out, offset = [], 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise StandinError(400, "malformed BYTES tensor")
        (size,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + size > len(raw):
            raise StandinError(400, "malformed BYTES tensor")
        out.append(raw[offset : offset + size])
        offset += size
    return out


def encode_bytes(values: list[bytes]) -> bytes:
    return b"".join(struct.pack("<I", len(v)) + v for v in values)


@dataclass
class StandinModel:
    """The served model: its config, and what happened to it."""

    max_batch_size: int = 4
    instances: int = 1
    decoupled: bool = False
    ready: bool = True
    delay_s: float = 0.0
    chunk_s: float = 0.5  # decoupled: the waveform goes out in chunks this long
    fail: Callable[[Received], str | None] | None = None  # a message: that request fails
    name: str = MODEL
    requests: list[Received] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()

    # ---------------------------------------------------------------- what it declares

    def shape(self, dims: tuple[int, ...]) -> list[int]:
        return ([-1] if self.max_batch_size > 0 else []) + list(dims)

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "versions": [VERSION],
            "platform": "python",
            "inputs": [{"name": n, "datatype": d, "shape": self.shape(dims)}
                       for n, (d, dims, _) in INPUTS.items()],
            "outputs": [{"name": n, "datatype": d, "shape": self.shape(dims)}
                        for n, (d, dims) in OUTPUTS.items()],
        }  # fmt: skip

    def config(self) -> dict[str, Any]:
        """As tritonserver's HTTP endpoint prints it (int64 fields as strings)."""

        def tensor(name: str, datatype: str, dims: tuple[int, ...], optional: bool) -> dict:
            return {
                "name": name,
                "data_type": "TYPE_STRING" if datatype == "BYTES" else f"TYPE_{datatype}",
                "format": "FORMAT_NONE",
                "dims": [str(d) for d in dims],
                "is_shape_tensor": False,
                "allow_ragged_batch": False,
                "optional": optional,
            }

        return {
            "name": self.name,
            "platform": "",
            "backend": "python",
            "version_policy": {"latest": {"num_versions": 1}},
            "max_batch_size": self.max_batch_size,
            "input": [tensor(n, d, dims, opt) for n, (d, dims, opt) in INPUTS.items()],
            "output": [
                {k: v for k, v in tensor(n, d, dims, False).items() if k != "optional"}
                for n, (d, dims) in OUTPUTS.items()
            ],
            "dynamic_batching": {"preferred_batch_size": [], "max_queue_delay_microseconds": "0"},
            "instance_group": [
                {
                    "name": f"{self.name}_0",
                    "kind": "KIND_CPU",
                    "count": self.instances,
                    "gpus": [],
                    "profile": [],
                    "passive": False,
                    "host_policy": "",
                }
            ],
            "model_transaction_policy": {"decoupled": self.decoupled},
            "parameters": {"model_dir": {"string_value": "/workspace/Fun-CosyVoice3-0.5B-2512"}},
        }

    # ---------------------------------------------------------------- inference

    def check_version(self, version: str) -> None:
        if version not in ("", VERSION):
            raise StandinError(400, f"Request for unknown model: '{self.name}' version "
                               f"{version} is not found")  # fmt: skip
        if not self.ready:
            raise StandinError(400, f"Request for unknown model: '{self.name}' has no "
                               "available versions")  # fmt: skip

    def validate(self, tensors: dict[str, tuple[str, list[int], Any]]) -> int:
        """Names, datatypes and shapes as tritonserver checks them; returns the batch size."""
        batches = set()
        for name, (datatype, shape, _) in tensors.items():
            if name not in INPUTS:
                raise StandinError(400, f"unexpected inference input '{name}' for model "
                                   f"'{self.name}'")  # fmt: skip
            want, dims, _ = INPUTS[name]
            if datatype != want:
                raise StandinError(400, f"inference input '{name}' data-type is '{datatype}', "
                                   f"but model '{self.name}' expects '{want}'")  # fmt: skip
            full = self.shape(dims)
            ok = len(shape) == len(full)
            ok = ok and all(w in (-1, s) for w, s in zip(full, shape, strict=True))
            if self.max_batch_size > 0 and ok:
                ok = 1 <= shape[0] <= self.max_batch_size
                batches.add(shape[0])
            if not ok:
                raise StandinError(400, f"unexpected shape for input '{name}' for model "
                                   f"'{self.name}'. Expected {full}, got {shape}")  # fmt: skip
        for name, (_, _, optional) in INPUTS.items():
            if not optional and name not in tensors:
                raise StandinError(400, f"missing required input '{name}' for model '{self.name}'")
        if len(batches) > 1:
            raise StandinError(400, "inputs have different batch sizes")
        return batches.pop() if batches else 1

    def run(
        self, protocol: str, version: str, request_id: str, tensors: dict[str, tuple]
    ) -> np.ndarray:
        """Validate, record and answer one request: the waveform as [batch, samples]."""
        self.check_version(version)
        self.validate(tensors)
        arrays = {name: value for name, (_, _, value) in tensors.items()}

        def text(name: str) -> str | None:
            return None if name not in arrays else arrays[name].reshape(-1)[0].decode("utf-8")

        wav_len = arrays.get("reference_wav_len")
        received = Received(
            protocol=protocol,
            model_version=version,
            request_id=request_id,
            shapes={name: tuple(shape) for name, (_, shape, _) in tensors.items()},
            reference_wav=arrays.get("reference_wav"),
            reference_wav_len=None if wav_len is None else int(wav_len.reshape(-1)[0]),
            reference_text=text("reference_text"),
            target_text=text("target_text") or "",
        )
        with self.lock:
            self.requests.append(received)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(self.delay_s)
            message = self.fail(received) if self.fail is not None else None
            if message:
                raise StandinError(500, message)
            audio = tone(received.target_text)
            return audio.reshape(1, -1) if self.max_batch_size > 0 else audio
        finally:
            with self.lock:
                self.in_flight -= 1

    def chunks(self, waveform: np.ndarray) -> list[np.ndarray]:
        step = max(1, int(self.chunk_s * OUTPUT_RATE))
        flat = waveform.reshape(-1)
        pieces = [flat[i : i + step] for i in range(0, len(flat), step)]
        return [p.reshape(1, -1) if waveform.ndim == 2 else p for p in pieces]


# -------------------------------------------------------------------- HTTP


_MODEL_PATH = re.compile(
    r"^/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?(?P<what>/ready|/config|/infer)?$"
)


def _from_json(datatype: str, shape: list[int], data: Any) -> np.ndarray:
    if datatype == "BYTES":
        flat = np.array(data, dtype=np.object_).reshape(-1)
        values = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in flat]
        array = np.array(values, dtype=np.object_)
    else:
        array = np.array(data, dtype=NUMPY_TYPES[datatype]).reshape(-1)
    if array.size != int(np.prod(shape)):
        raise StandinError(400, f"unexpected number of elements: {array.size} for shape {shape}")
    return array.reshape(shape)


def _from_binary(datatype: str, shape: list[int], raw: bytes) -> np.ndarray:
    count = int(np.prod(shape))
    if datatype == "BYTES":
        values = decode_bytes(raw)
        if len(values) != count:
            raise StandinError(400, f"expected {count} strings, got {len(values)}")
        return np.array(values, dtype=np.object_).reshape(shape)
    if datatype not in NUMPY_TYPES:
        raise StandinError(400, f"invalid datatype '{datatype}'")
    dtype = np.dtype(NUMPY_TYPES[datatype]).newbyteorder("<")
    if len(raw) != count * dtype.itemsize:
        raise StandinError(400, f"unexpected total byte size {len(raw)} for shape {shape} "
                           f"of {datatype}")  # fmt: skip
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as tritonclient's connection pool expects
    server: _HTTPServer

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def _model(self, name: str) -> StandinModel:
        model = self.server.model
        if unquote(name) != model.name:
            raise StandinError(400, f"Request for unknown model: '{unquote(name)}' is not found")
        return model

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        try:
            model = self.server.model
            path = self.path.split("?", 1)[0]
            if path in ("/v2/health/ready", "/v2/health/live"):
                return self._send(200)
            if path == "/v2":
                return self._json(200, {"name": "triton", "version": "2.59.0", "extensions": []})
            match = _MODEL_PATH.match(path)
            if match is None or match["what"] == "/infer":
                return self._error(404, "Not Found")
            model = self._model(match["name"])
            version = match["version"] or ""
            if match["what"] == "/ready":
                ready = model.ready and version in ("", VERSION) and model.name == match["name"]
                return self._send(200 if ready else 400)
            model.check_version(version)
            if match["what"] == "/config":
                return self._json(200, model.config())
            return self._json(200, model.metadata())
        except StandinError as exc:
            return self._error(exc.status, str(exc))

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            match = _MODEL_PATH.match(self.path.split("?", 1)[0])
            if match is None or match["what"] != "/infer":
                raise StandinError(404, "Not Found")
            model = self._model(match["name"])
            if model.decoupled:
                raise StandinError(501, "HTTP end point doesn't support models with decoupled "
                                   "transaction policy")  # fmt: skip
            self._infer(model, match["version"] or "", body)
        except StandinError as exc:
            self._error(exc.status, str(exc))

    def _infer(self, model: StandinModel, version: str, body: bytes) -> None:
        header_size = int(self.headers.get("Inference-Header-Content-Length") or len(body))
        try:
            request = json.loads(body[:header_size])
        except ValueError as exc:
            raise StandinError(400, f"failed to parse the request JSON buffer: {exc}") from None
        binary, offset = body[header_size:], 0
        tensors: dict[str, tuple] = {}
        for item in request.get("inputs", []):
            name, datatype, shape = item["name"], item["datatype"], [int(s) for s in item["shape"]]
            size = (item.get("parameters") or {}).get("binary_data_size")
            if size is not None:
                array = _from_binary(datatype, shape, binary[offset : offset + int(size)])
                offset += int(size)
            elif "data" in item:
                array = _from_json(datatype, shape, item["data"])
            else:
                raise StandinError(400, f"input '{name}' has no data")
            tensors[name] = (datatype, shape, array)
        if offset != len(binary):
            raise StandinError(400, "unexpected additional input data")
        wanted = request.get("outputs") or [{"name": n} for n in OUTPUTS]
        for output in wanted:
            if output["name"] not in OUTPUTS:
                raise StandinError(400, f"unexpected inference output '{output['name']}' for "
                                   f"model '{model.name}'")  # fmt: skip
        waveform = model.run("http", version, str(request.get("id", "")), tensors)
        all_binary = bool((request.get("parameters") or {}).get("binary_data_output"))
        outputs, blobs = [], []
        for output in wanted:
            entry = {"name": output["name"], "datatype": "FP32", "shape": list(waveform.shape)}
            if all_binary or (output.get("parameters") or {}).get("binary_data"):
                blob = waveform.astype("<f4").tobytes()
                entry["parameters"] = {"binary_data_size": len(blob)}
                blobs.append(blob)
            else:
                entry["data"] = waveform.reshape(-1).tolist()
            outputs.append(entry)
        response = {"model_name": model.name, "model_version": VERSION, "outputs": outputs}
        if "id" in request:
            response["id"] = request["id"]
        header = json.dumps(response).encode()
        if not blobs:
            return self._json(200, response)
        self._send(200, header + b"".join(blobs), {
            "Content-Type": "application/octet-stream",
            "Inference-Header-Content-Length": str(len(header)),
        })  # fmt: skip


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    model: StandinModel


class TritonStandin:
    """`with TritonStandin(max_batch_size=4, delay_s=0.1) as server:` ... `server.url`."""

    def __init__(self, model: StandinModel | None = None, **options: Any) -> None:
        self.model = model or StandinModel(**options)
        self._server: _HTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> TritonStandin:
        self._server = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._server.model = self.model
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# -------------------------------------------------------------------- gRPC


class GrpcStandin:
    """The same model over Triton's gRPC service, streaming included (grpcio, tritonclient)."""

    def __init__(self, model: StandinModel | None = None, **options: Any) -> None:
        self.model = model or StandinModel(**options)
        self._server: Any = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"grpc://127.0.0.1:{self.port}"

    def __enter__(self) -> GrpcStandin:
        from concurrent.futures import ThreadPoolExecutor

        import grpc
        from tritonclient.grpc import service_pb2_grpc

        self._server = grpc.server(ThreadPoolExecutor(max_workers=32))
        service_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(
            _servicer(self.model), self._server
        )
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.stop(grace=None)
            self._server = None


def _servicer(model: StandinModel) -> Any:
    import grpc
    from google.protobuf import json_format
    from tritonclient.grpc import model_config_pb2, service_pb2, service_pb2_grpc

    codes = {400: grpc.StatusCode.INVALID_ARGUMENT, 404: grpc.StatusCode.NOT_FOUND,
             500: grpc.StatusCode.INTERNAL, 501: grpc.StatusCode.UNIMPLEMENTED}  # fmt: skip

    def check_name(name: str) -> None:
        if name != model.name:
            raise StandinError(400, f"Request for unknown model: '{name}' is not found")

    def decode(request: Any) -> dict[str, tuple]:
        tensors = {}
        raw = list(request.raw_input_contents)
        for i, item in enumerate(request.inputs):
            shape = [int(s) for s in item.shape]
            if raw:
                array = _from_binary(item.datatype, shape, raw[i])
            elif item.datatype == "BYTES":
                array = _from_json("BYTES", shape, list(item.contents.bytes_contents))
            elif item.datatype.startswith("FP"):
                array = _from_json(item.datatype, shape, list(item.contents.fp32_contents))
            else:
                array = _from_json(item.datatype, shape, list(item.contents.int_contents))
            tensors[item.name] = (item.datatype, shape, array)
        for output in request.outputs:
            if output.name not in OUTPUTS:
                raise StandinError(400, f"unexpected inference output '{output.name}'")
        return tensors

    def response(request: Any, waveform: np.ndarray | None, final: bool | None) -> Any:
        out = service_pb2.ModelInferResponse(
            model_name=model.name, model_version=VERSION, id=request.id
        )
        if waveform is not None:
            out.outputs.add(name="waveform", datatype="FP32", shape=list(waveform.shape))
            out.raw_output_contents.append(waveform.astype("<f4").tobytes())
        if final is not None:
            out.parameters["triton_final_response"].bool_param = final
        return out

    class Servicer(service_pb2_grpc.GRPCInferenceServiceServicer):
        def _abort(self, context: Any, exc: StandinError) -> None:
            context.abort(codes.get(exc.status, grpc.StatusCode.INTERNAL), str(exc))

        def ServerLive(self, request, context):  # noqa: N802 (the service's names)
            return service_pb2.ServerLiveResponse(live=True)

        def ServerReady(self, request, context):  # noqa: N802
            return service_pb2.ServerReadyResponse(ready=True)

        def ModelReady(self, request, context):  # noqa: N802
            ready = (model.ready and request.name == model.name
                     and request.version in ("", VERSION))  # fmt: skip
            return service_pb2.ModelReadyResponse(ready=ready)

        def ModelMetadata(self, request, context):  # noqa: N802
            try:
                check_name(request.name)
                model.check_version(request.version)
            except StandinError as exc:
                self._abort(context, exc)
            return json_format.ParseDict(model.metadata(), service_pb2.ModelMetadataResponse())

        def ModelConfig(self, request, context):  # noqa: N802
            try:
                check_name(request.name)
                model.check_version(request.version)
            except StandinError as exc:
                self._abort(context, exc)
            config = json_format.ParseDict(
                model.config(), model_config_pb2.ModelConfig(), ignore_unknown_fields=True
            )
            return service_pb2.ModelConfigResponse(config=config)

        def ModelInfer(self, request, context):  # noqa: N802
            try:
                check_name(request.model_name)
                if model.decoupled:
                    raise StandinError(501, "ModelInfer RPC doesn't support models with "
                                       "decoupled transaction policy")  # fmt: skip
                waveform = model.run("grpc", request.model_version, request.id, decode(request))
            except StandinError as exc:
                self._abort(context, exc)
            return response(request, waveform, None)

        def ModelStreamInfer(self, request_iterator, context):  # noqa: N802
            for request in request_iterator:
                params = request.parameters
                flag = "triton_enable_empty_final_response"
                empty_final = flag in params and params[flag].bool_param
                try:
                    check_name(request.model_name)
                    waveform = model.run("grpc", request.model_version, request.id,
                                         decode(request))  # fmt: skip
                except StandinError as exc:
                    yield service_pb2.ModelStreamInferResponse(error_message=str(exc))
                    continue
                if not model.decoupled:
                    yield service_pb2.ModelStreamInferResponse(
                        infer_response=response(request, waveform, True)
                    )
                    continue
                for chunk in model.chunks(waveform):
                    yield service_pb2.ModelStreamInferResponse(
                        infer_response=response(request, chunk, False)
                    )
                if empty_final:
                    yield service_pb2.ModelStreamInferResponse(
                        infer_response=response(request, None, True)
                    )

    return Servicer()
