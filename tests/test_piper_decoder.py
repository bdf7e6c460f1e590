"""Piper's decoder run in windows (issue 16): the same samples as the whole graph, and a
worker's memory that does not follow the longest sentence it has spoken."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from narration.engines.base import SynthesisItem
from narration.engines.onnx_records import GRAPH_NODE, MODEL_GRAPH, messages, record, records
from narration.engines.piper_decoder import WindowedSession, split_decoder
from narration.engines.piper_engine import PiperEngine
from narration.engines.piper_noise import seeded_model

# 379 characters, about 21 s of speech: 1800 frames, fifteen windows of 128.
LONG = (
    "It is a truth universally acknowledged, that a single man in possession of a good "
    "fortune, must be in want of a wife, and however little known the feelings or views of "
    "such a man may be on his first entering a neighbourhood, this truth is so well fixed in "
    "the minds of the surrounding families, that he is considered the rightful property of "
    "some one or other of their daughters, as everybody knows."
)


# About 5 s: longer than one window with its context.
MEDIUM = "The keeper climbed the stairs at dusk, slowly, and lit the great lamp above the sea."


@pytest.fixture(scope="module")
def windowed() -> PiperEngine:
    engine = PiperEngine()
    engine.load()
    return engine


def _speak(engine: PiperEngine, text: str, seed: int = 3) -> np.ndarray:
    return engine.synthesize([SynthesisItem(text, engine.default_voice(), seed)])[0]


def test_the_bundled_voice_splits_at_its_decoder():
    model, _ = seeded_model(PiperEngine().model_path.read_bytes())
    split = split_decoder(model)
    assert split is not None
    assert split.frames_input == "/Mul_7_output_0"  # z * y_mask, VITS's decoder input
    assert split.outputs == ("output", "noise_0_shape", "noise_1_shape")
    # The weights are divided, not copied: the decoder is the small HiFi-GAN part.
    assert len(split.front) + len(split.decoder) < len(model) * 1.01
    assert 3_000_000 < len(split.decoder) < 15_000_000
    front, decoder = _node_names(split.front), _node_names(split.decoder)
    assert len(front) + len(decoder) == len(_node_names(model))
    assert not any(name.startswith("/dec/") for name in front)
    assert decoder[0] == "/dec/conv_pre/Conv" and decoder[-1] == "/Unsqueeze_11"


def _node_names(model: bytes) -> list[str]:
    graph = next(r for r in records(model, 0, len(model)) if r[0] == MODEL_GRAPH)
    node = messages()["Node"]
    return [
        node.FromString(model[r[2] : r[3]]).name
        for r in records(model, graph[2], graph[3])
        if r[0] == GRAPH_NODE
    ]


def test_windows_give_the_whole_graph_samples(windowed):
    whole = PiperEngine(decoder_windows=False)
    expected = _speak(whole, LONG)
    runs = []
    session = windowed._noise.session
    assert isinstance(session, WindowedSession)
    decoder_run = session.decoder.run
    session.decoder.run = lambda names, feed: runs.append(feed) or decoder_run(names, feed)
    try:
        got = _speak(windowed, LONG)
    finally:
        del session.decoder.run
    assert got.shape == expected.shape and len(got) > 18 * PiperEngine.sample_rate
    assert np.max(np.abs(got - expected)) < 1e-5
    windows = [feed[session._frames].shape[-1] for feed in runs]
    assert len(windows) >= 6 and max(windows) == session.window + 2 * session.context


def test_the_receptive_field_is_measured_on_the_decoder(windowed):
    _speak(windowed, "A short one.")
    session = windowed._noise.session
    assert session.hop == 256  # samples per frame of the joe voice
    assert 4 <= session.context <= 32
    assert session.window == 128


def test_a_model_without_a_decoder_module_is_left_whole():
    node = messages()["Node"](op_type="Identity", name="/enc/Identity", input=["x"], output=["y"])
    graph = messages()["Graph"](node=[node])
    assert split_decoder(record(MODEL_GRAPH, graph.SerializeToString())) is None


_RSS_PROBE = """
import json, sys
from narration.engines.base import SynthesisItem
from narration.engines.piper_engine import PiperEngine

def rss_mb():
    with open("/proc/self/status") as status:
        return int(status.read().split("VmRSS:")[1].split()[0]) / 1024

engine = PiperEngine(decoder_windows=sys.argv[1] == "windows")
voice = engine.default_voice()
engine.synthesize([SynthesisItem(sys.argv[2], voice, 1)])
short = rss_mb()
engine.synthesize([SynthesisItem(sys.argv[3], voice, 1)])
print(json.dumps({"short": short, "long": rss_mb()}))
"""


def _growth_mb(mode: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, mode, MEDIUM, LONG],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    sizes = json.loads(done.stdout.strip().splitlines()[-1])
    return sizes["long"] - sizes["short"]


def test_a_long_sentence_no_longer_grows_the_worker():
    """The whole graph keeps a long sentence's decoder activations (hundreds of MB) in its
    arena; in windows a 21-second sentence needs about what a 5-second one needs."""
    whole, windows = _growth_mb("whole"), _growth_mb("windows")
    assert whole > windows + 150, (whole, windows)  # the measurement can see the growth
    assert windows < 80, windows  # the front's frames (1800 here), not the decoder's samples
