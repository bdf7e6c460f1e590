"""The CosyVoice3 Triton client against a stand-in server (tests/triton_standin.py) that serves
the official model's interface over real KServe v2 HTTP and Triton gRPC: the requests it sends,
the concurrency it keeps, and the errors it gives."""

from __future__ import annotations

import importlib.util
import re
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("tritonclient.http")

from triton_standin import (  # noqa: E402 (after the skip)
    INPUTS,
    MODEL,
    OUTPUTS,
    GrpcStandin,
    StandinModel,
    TritonStandin,
    tone,
)

from narration.engines.base import SynthesisItem  # noqa: E402
from narration.engines.cosyvoice3_triton import (  # noqa: E402
    PROMPT_RATE,
    CosyVoice3TritonEngine,
    ServedModel,
)
from narration.engines.prompts import prompt_voice, register_prompt  # noqa: E402
from narration.engines.registry import create_engine  # noqa: E402
from narration.errors import EngineError  # noqa: E402
from narration.model import Voice  # noqa: E402
from narration.render.router import Renderer  # noqa: E402
from narration.render.takes import RenderJob  # noqa: E402
from narration.store import SegmentStore, segment_key  # noqa: E402

SPEC = "narration.engines.cosyvoice3_triton:CosyVoice3TritonEngine"
VENDORED = (
    Path(__file__).resolve().parents[2] / "shared" / "vendor" / "cosyvoice" / "runtime"
    / "triton_trtllm" / "model_repo_cosyvoice3" / "cosyvoice3" / "config.pbtxt"
)  # fmt: skip
TRANSCRIPT = "The lamp was lit at dusk, as it had been for forty years."
CLIP_RATE = 44100


@pytest.fixture(autouse=True)
def _own_folders(tmp_path, monkeypatch):
    """Prompts are kept beside the weights: both under tmp_path, and no user config."""
    monkeypatch.setenv("NARRATION_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("NARRATION_WEIGHTS", str(tmp_path / "data" / "weights"))


@pytest.fixture
def clip(tmp_path) -> Path:
    """A 1.5 s stereo clip at 44.1 kHz: the engine must send it as 16 kHz mono."""
    t = np.arange(int(1.5 * CLIP_RATE)) / CLIP_RATE
    left = 0.3 * np.sin(2 * np.pi * 150 * t)
    right = 0.1 * np.sin(2 * np.pi * 300 * t)
    path = tmp_path / "narrator.wav"
    sf.write(path, np.stack([left, right], axis=1), CLIP_RATE, subtype="FLOAT")
    return path


def expected_prompt(path: Path) -> np.ndarray:
    import soxr

    data, rate = sf.read(path, dtype="float32", always_2d=True)
    return soxr.resample(data.mean(axis=1), rate, PROMPT_RATE).astype(np.float32)


def narrator(clip: Path, instruct: str = ""):
    return prompt_voice(
        "cosyvoice3-triton", register_prompt(clip), TRANSCRIPT, "narrator", instruct
    )


def options(url: str, clip: Path, **more) -> dict:
    """The engine's options as a job gives them: the config file's url, and the narrator
    prompt that --narrator-prompt / --narrator-prompt-text add."""
    return {"url": url, "prompt_wav": str(clip), "prompt_text": TRANSCRIPT, **more}


def texts(n: int) -> list[str]:
    return [f"Sentence number {i} of the chapter, read in the keeper's voice." for i in range(n)]


def render(store: Path, options: dict, voice, lines: list[str]) -> tuple[dict, Renderer]:
    renderer = Renderer(str(store), {SPEC: options})
    engine = renderer.engine("cosyvoice3-triton")
    jobs = [
        RenderJob(segment_key(engine.name, engine.model_version(), voice, 0, text), text, voice)
        for text in lines
    ]
    try:
        return renderer.render(jobs), renderer
    finally:
        renderer.close()
        engine.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- the request format


def test_the_standin_serves_the_vendored_models_interface():
    """The stand-in's model is the official one: name, inputs, outputs, datatypes, dims."""
    if not VENDORED.is_file():
        pytest.skip(f"vendored CosyVoice source not found at {VENDORED}")
    text = VENDORED.read_text(encoding="utf-8")
    assert re.search(r'^name:\s*"(\w+)"', text, re.M).group(1) == MODEL
    tensor = re.compile(r'name:\s*"(\w+)"\s*data_type:\s*TYPE_(\w+)\s*dims:\s*\[([^\]]*)\]')

    def section(word: str) -> dict:
        body = re.search(rf"^{word} \[(.*?)^\]", text, re.M | re.S).group(1)
        return {
            n: ("BYTES" if t == "STRING" else t, tuple(int(d) for d in dims.split(",")))
            for n, t, dims in tensor.findall(body)
        }

    assert section("input") == {n: (d, dims) for n, (d, dims, _) in INPUTS.items()}
    assert section("output") == OUTPUTS


def test_renders_a_cloned_narrator_within_the_servers_batch(tmp_path, clip):
    voice = narrator(clip)
    lines = texts(12)
    with TritonStandin(max_batch_size=2, instances=2, delay_s=0.15) as server:
        engine = create_engine(SPEC, **options(server.url, clip))
        assert engine.availability().usable
        assert engine.default_voice() == voice
        assert engine.max_concurrency() == 4  # max_batch_size x instances, from the config
        started = time.monotonic()
        durations, renderer = render(tmp_path / "store", options(server.url, clip), voice, lines)
        elapsed = time.monotonic() - started
    model = server.model
    assert renderer.stats()["cosyvoice3-triton"]["concurrency"] == 4
    assert model.most_in_flight == 4  # the cap was reached, and never passed
    assert elapsed < 12 * 0.15  # so the requests did overlap
    assert len(durations) == 12 and len(model.requests) == 12
    store = SegmentStore(tmp_path / "store")
    for key, seconds in durations.items():
        audio, rate = store.read(key)
        assert rate == 24000 and abs(len(audio) / rate - seconds) < 1e-3
    assert sorted(r.target_text for r in model.requests) == sorted(lines)
    prompt = expected_prompt(clip)
    for request in model.requests:
        assert request.protocol == "http" and request.model_version == "1"
        assert request.shapes == {"reference_wav": (1, len(prompt)), "reference_wav_len": (1, 1),
                                  "reference_text": (1, 1), "target_text": (1, 1)}  # fmt: skip
        assert request.reference_wav_len == len(prompt) == int(1.5 * PROMPT_RATE)
        np.testing.assert_allclose(request.reference_wav.reshape(-1), prompt, atol=1e-6)
        assert request.reference_text == TRANSCRIPT  # bare: the server adds the system prompt


def test_a_style_instruction_goes_in_the_system_prompt(clip):
    with TritonStandin(max_batch_size=1) as server:
        engine = CosyVoice3TritonEngine(url=f"http://{server.url}")
        engine.load()
        (audio,) = engine.synthesize([SynthesisItem("Hello there.", narrator(clip, "calm"))])
        engine.close()
    assert audio.dtype == np.float32 and len(audio) == len(tone("Hello there."))
    assert server.model.requests[0].reference_text == (
        f"You are a helpful assistant. calm<|endofprompt|>{TRANSCRIPT}"
    )


def test_streams_from_a_decoupled_model_over_grpc(tmp_path, clip):
    """run_cosyvoice3.sh serves the model decoupled: only gRPC streaming reaches it, and the
    waveform comes back in chunks that make up the whole segment."""
    pytest.importorskip("tritonclient.grpc")
    voice = narrator(clip)
    lines = texts(9)
    with GrpcStandin(max_batch_size=1, instances=3, decoupled=True, delay_s=0.1,
                     chunk_s=0.4) as server:  # fmt: skip
        engine = create_engine(SPEC, **options(server.url, clip))
        assert engine.availability().usable
        assert engine.max_concurrency() == 3
        durations, _ = render(tmp_path / "store", options(server.url, clip), voice, lines)
    model = server.model
    assert model.most_in_flight == 3 and len(model.requests) == 9
    store = SegmentStore(tmp_path / "store")
    by_text = {r.target_text: r for r in model.requests}
    for text in lines:
        key = segment_key("cosyvoice3-triton", engine.model_version(), voice, 0, text)
        audio, rate = store.read(key)
        assert rate == 24000 and len(audio) == len(tone(text))  # every chunk, in order
        assert by_text[text].reference_text == TRANSCRIPT
        assert by_text[text].shapes["reference_wav"] == (1, int(1.5 * PROMPT_RATE))
    assert len(durations) == 9


def test_unary_grpc_to_an_offline_model(clip):
    pytest.importorskip("tritonclient.grpc")
    with GrpcStandin(max_batch_size=1, instances=2) as server:
        engine = CosyVoice3TritonEngine(url=server.url)
        assert engine.max_concurrency() == 2
        (audio,) = engine.synthesize([SynthesisItem("Good evening.", narrator(clip))])
        engine.close()
    assert len(audio) == len(tone("Good evening."))
    assert server.model.requests[0].reference_text == TRANSCRIPT


def test_the_standin_takes_the_official_http_clients_json_body():
    """client_http.py posts all-JSON tensors (nested lists, shape [1, 1] texts)."""
    import json
    import urllib.request

    wav = [[0.0, 0.1, -0.1, 0.0]]
    body = {
        "inputs": [
            {"name": "reference_wav", "shape": [1, 4], "datatype": "FP32", "data": wav},
            {"name": "reference_wav_len", "shape": [1, 1], "datatype": "INT32", "data": [[4]]},
            {"name": "reference_text", "shape": [1, 1], "datatype": "BYTES", "data": ["Hi."]},
            {"name": "target_text", "shape": [1, 1], "datatype": "BYTES", "data": ["Hello."]},
        ]
    }
    with TritonStandin(max_batch_size=1) as server:
        request = urllib.request.Request(
            f"http://{server.url}/v2/models/{MODEL}/infer?request_id=0",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
    (output,) = answer["outputs"]
    assert output["name"] == "waveform" and len(output["data"]) == len(tone("Hello."))
    (received,) = server.model.requests
    assert received.reference_wav_len == 4 and received.reference_text == "Hi."


def test_http_to_a_decoupled_model_is_refused_with_the_way_out(clip):
    with TritonStandin(max_batch_size=1, decoupled=True) as server:
        engine = CosyVoice3TritonEngine(**options(server.url, clip))
        state = engine.availability()
        with pytest.raises(EngineError) as caught:
            engine.load()
        engine.close()
    assert not state.usable and "grpc://" in state.reason
    assert "decoupled" in str(caught.value) and "\n" not in str(caught.value)


# ---------------------------------------------------------------- availability and errors


def test_availability_needs_a_url_a_prompt_and_a_server_that_answers(clip):
    assert "no server configured" in CosyVoice3TritonEngine().availability().reason
    assert not CosyVoice3TritonEngine(**options("ftp://x:1", clip)).availability().usable
    url = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    state = CosyVoice3TritonEngine(**options(url, clip)).availability()
    assert not state.usable and "no Triton server answers" in state.reason and url in state.reason
    assert time.monotonic() - started < 3
    if importlib.util.find_spec("grpc") is not None:
        state = CosyVoice3TritonEngine(**options(f"grpc://{url}", clip)).availability()
        assert not state.usable and url in state.reason
        assert time.monotonic() - started < 6
    with TritonStandin(max_batch_size=8, instances=2) as server:
        state = CosyVoice3TritonEngine(url=server.url).availability()
        assert not state.usable and "--narrator-prompt" in state.reason
        engine = CosyVoice3TritonEngine(**options(server.url, clip))
        state = engine.availability()
        assert state.usable, state.reason
        assert engine.max_concurrency() == 16
        fixed = CosyVoice3TritonEngine(**options(server.url, clip, concurrency=3))
        assert fixed.max_concurrency() == 3
        other = CosyVoice3TritonEngine(**options(server.url, clip, model="other"))
        assert not other.availability().usable


def test_a_model_that_is_not_ready_is_one_line(clip):
    with TritonStandin(ready=False) as server:
        engine = CosyVoice3TritonEngine(**options(server.url, clip))
        assert "not ready" in engine.availability().reason
        with pytest.raises(EngineError) as caught:
            engine.load()
        engine.close()
    message = str(caught.value)
    assert "not ready" in message and server.url in message and "\n" not in message


def test_no_server_at_load_is_one_line():
    engine = CosyVoice3TritonEngine(url=f"127.0.0.1:{free_port()}", timeout_s=2)
    with pytest.raises(EngineError) as caught:
        engine.load()
    engine.close()
    assert "no Triton server answers" in str(caught.value) and "\n" not in str(caught.value)


def test_a_server_error_names_the_engine(tmp_path, clip):
    def fail(request) -> str | None:
        return "LLM generated no speech tokens" if "number 3 " in request.target_text else None

    with TritonStandin(max_batch_size=2, fail=fail) as server, pytest.raises(EngineError) as caught:
        render(tmp_path / "store", options(server.url, clip), narrator(clip), texts(6))
    message = str(caught.value)
    assert "cosyvoice3-triton" in message and "LLM generated no speech tokens" in message


def test_the_server_rejects_what_tritonserver_rejects(clip):
    """The stand-in is strict: a wrong datatype or shape is a 400, which the engine reports."""
    import tritonclient.http as http
    from tritonclient.utils import InferenceServerException

    with TritonStandin(max_batch_size=1) as server:
        client = http.InferenceServerClient(server.url)
        wav = http.InferInput("reference_wav", [1, 4], "FP64")
        wav.set_data_from_numpy(np.zeros((1, 4), np.float64))
        text = http.InferInput("target_text", [1, 1], "BYTES")
        text.set_data_from_numpy(np.array([[b"hi"]], dtype=np.object_))
        with pytest.raises(InferenceServerException, match="data-type is 'FP64'"):
            client.infer(MODEL, [wav, text])
        wide = http.InferInput("target_text", [2, 1], "BYTES")
        wide.set_data_from_numpy(np.array([[b"a"], [b"b"]], dtype=np.object_))
        with pytest.raises(InferenceServerException, match="unexpected shape"):
            client.infer(MODEL, [wide])  # a batch of 2 where the model takes 1
        client.close()
    assert server.model.requests == []


# ---------------------------------------------------------------- voices


def test_the_narrator_comes_from_the_prompt_options(clip):
    engine = CosyVoice3TritonEngine(**options("127.0.0.1:1", clip, instruct="calm"))
    voice = engine.default_voice()
    assert voice == narrator(clip, "calm") and voice.engine == engine.name
    assert engine.voices() == [voice]
    assert engine.model_version() == CosyVoice3TritonEngine().model_version()  # no network


def test_without_a_prompt_there_is_no_narrator(clip):
    """No vendored clip stands in: the job stops when it is planned, naming the flags."""
    engine = CosyVoice3TritonEngine(url="127.0.0.1:1")
    assert engine.voices() == []
    for half in ({"prompt_wav": str(clip)}, {"prompt_text": TRANSCRIPT}, {}):
        with pytest.raises(EngineError, match="--narrator-prompt") as caught:
            CosyVoice3TritonEngine(url="127.0.0.1:1", **half).default_voice()
        assert "\n" not in str(caught.value)
    with TritonStandin(max_batch_size=1) as server:
        engine = CosyVoice3TritonEngine(url=server.url)
        engine.load()
        bare = Voice(engine=engine.name, model_id=engine.name, name="someone")
        with pytest.raises(EngineError, match="--narrator-prompt"):
            engine.synthesize([SynthesisItem("Hello.", bare)])
        engine.close()
    assert server.model.requests == []


def test_served_model_reads_both_config_documents():
    http_doc = StandinModel(max_batch_size=1, instances=10, decoupled=True).config()
    assert ServedModel.from_config(http_doc) == ServedModel(1, 10, True)
    grpc_doc = {"config": {"name": MODEL, "instance_group": [{"count": 10}, {"count": 2}]}}
    assert ServedModel.from_config(grpc_doc) == ServedModel(0, 12, False)
    assert ServedModel.from_config(grpc_doc).capacity == 12
