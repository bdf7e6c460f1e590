"""CosyVoice3 on the real official code (../shared/vendor/cosyvoice), in the environment
`narrate engines install cosyvoice3` makes, with a model folder the tests generate (random
weights for the modules of the official cosyvoice3.yaml, shrunk; stand-in ONNX files with the
real signatures; a BlankEN tokenizer): tests/cosyvoice_weights.py. The environment (~6 GB,
about 2.5 minutes to install) is kept in the temp folder between runs on one machine."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS, REPO, SAMPLE_BOOK, run_narrate

from narration import config
from narration.engines.base import SynthesisItem
from narration.engines.registry import create_engine
from narration.render.router import Renderer
from narration.render.takes import RenderJob
from narration.store import SegmentStore

VENDOR = CORPUS.parent / "vendor"
SOURCE = VENDOR / "cosyvoice"
PROMPT_WAV = SOURCE / "asset" / "zero_shot_prompt.wav"
PROMPT_TEXT = "希望你以后能够做的比我还好呦。"  # the clip's exact transcript (upstream example.py)
ROOT = Path(tempfile.gettempdir()) / "narration-test-cosyvoice3"
TEXTS = [
    "Hello.",
    "The keeper climbed the stairs.",
    "It was a dark and stormy night, and the rain fell on the old lighthouse.",
    "The end of it.",
]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`narrate engines install cosyvoice3 --source ...`, the real command, into a config."""
    if not SOURCE.is_dir():
        pytest.fail(f"the vendored CosyVoice source is missing: {SOURCE}")
    folder = tmp_path_factory.mktemp("cosyvoice3")
    env = {
        "NARRATION_CONFIG": str(folder / "config.toml"),
        "NARRATION_WEIGHTS": str(ROOT / "weights"),
    }
    result = run_narrate("engines", "install", "cosyvoice3", "--source", SOURCE, env=env,
                         timeout=1800)  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    recorded = tomllib.loads((folder / "config.toml").read_text())["engines"]["cosyvoice3"]
    python = recorded["python"]
    assert Path(python).is_file() and Path(python).parent.parent == ROOT / "envs" / "cosyvoice3"
    # the generator builds ONNX stand-ins: a test-only package in that environment
    subprocess.run([python, "-m", "pip", "install", "-q", "onnx==1.23.2"], check=True)
    model = folder / "model"
    subprocess.run(
        [python, str(REPO / "tests" / "cosyvoice_weights.py"), str(model), "--size", "tiny"],
        check=True, capture_output=True,
    )  # fmt: skip
    options = {
        **recorded,
        "model_dir": str(model),
        "device": "cpu",
        "prompt_wav": str(PROMPT_WAV),
        "prompt_text": PROMPT_TEXT,
    }
    return {"env": env, "options": options, "folder": folder}


@pytest.fixture
def engine(installed, monkeypatch):
    monkeypatch.setenv("NARRATION_WEIGHTS", installed["env"]["NARRATION_WEIGHTS"])
    config._load.cache_clear()
    engine = create_engine("cosyvoice3", **installed["options"])
    yield engine
    if engine._child is not None:
        engine._child.stop()


def test_the_real_automodel_renders_a_batch_in_order_with_one_registered_voice(engine):
    voice = engine.default_voice()
    assert dict(voice.params)["prompt_text"] == PROMPT_TEXT  # the transcript, as given
    engine.load()
    assert engine._child.info["sample_rate"] == 24000
    clips = engine.synthesize([SynthesisItem(t, voice, 0) for t in TEXTS])
    assert len(clips) == 4 and all(c.dtype == np.float32 and len(c) for c in clips)
    # the tiny model speaks until its cap, which grows with the text: order shows in lengths
    lengths = [len(c) for c in clips]
    assert lengths[0] < lengths[1] < lengths[2] and lengths[3] < lengths[2]
    again = engine.synthesize([SynthesisItem(TEXTS[1], voice, 0)])[0]
    assert np.array_equal(again, clips[1])  # seeded: the same take
    # the voice was registered once, under its content hash, and used by id after that
    assert engine._child.last_reply["speakers"] == [voice.param("prompt_sha256")]


def test_an_instructed_voice_goes_through_instruct2(engine):
    from narration.engines.prompts import prompt_voice

    voice = engine.default_voice()
    styled = prompt_voice("cosyvoice3", voice.param("prompt_sha256"), PROMPT_TEXT,
                          instruct="calm, warm storyteller")  # fmt: skip
    (clip,) = engine.synthesize([SynthesisItem(TEXTS[1], styled, 0)])
    assert len(clip) > 0 and np.isfinite(clip).all()


def test_killing_the_engine_process_mid_batch_still_completes(engine):
    voice = engine.default_voice()
    engine.load()
    victim = engine._child.process.pid
    killer = threading.Timer(1.0, os.kill, (victim, 9))
    killer.start()
    started = time.monotonic()
    clips = engine.synthesize([SynthesisItem(t, voice, 3) for t in TEXTS * 2])
    killer.join()
    assert len(clips) == 8 and all(len(c) for c in clips)
    assert engine._child.starts == 2 and engine._child.process.pid != victim
    assert time.monotonic() - started < 300


def test_an_implausible_take_is_rendered_again_with_other_seeds(installed, tmp_path, monkeypatch):
    """A very short text comes out far too long from the random model: the duration guard
    retakes it with other seeds (the closest take is kept, the takes recorded)."""
    monkeypatch.setenv("NARRATION_WEIGHTS", installed["env"]["NARRATION_WEIGHTS"])
    config._load.cache_clear()
    options = {**installed["options"], "max_retakes": 2}
    renderer = Renderer(str(tmp_path / "store"), {"cosyvoice3": options})
    voice = renderer.engine("cosyvoice3").default_voice()
    try:
        renderer.render([RenderJob("k-short", "Hi.", voice, 0)])
        stats = renderer.stats()["cosyvoice3"]
    finally:
        renderer.close()
    store = SegmentStore(tmp_path / "store")
    assert store.takes("k-short") == 3 and stats["segments_retaken"] == 1
    # every take as long (the random model speaks to its cap): the first, closest, is kept
    assert json.loads(store.take_path("k-short").read_text())["seed"] in (0, 7919, 15838)
    assert store.read("k-short")[1] == 24000


def test_narration_by_cosyvoice3_and_dialogue_by_chattts_end_to_end(installed, tmp_path):
    import pyarrow.parquet as pq
    import soundfile as sf
    from audio_checks import decoded, loudness_lufs, peak_dbtp
    from chattts_weights import generate_chattts_weights

    chattts = tmp_path / "chattts"
    generate_chattts_weights(chattts, size="tiny", seed=3)
    options = {k: v for k, v in installed["options"].items() if not k.startswith("prompt")}
    lines = ["[engines.cosyvoice3]"] + [f"{k} = {json.dumps(v)}" for k, v in options.items()]
    lines += ["max_retakes = 0", "", "[engines.chattts]", 'device = "cpu"',
              f"weights_dir = {json.dumps(str(chattts))}", "max_new_token = 40",
              "max_retakes = 0"]  # fmt: skip
    (tmp_path / "config.toml").write_text("\n".join(lines) + "\n")
    env = {**installed["env"], "NARRATION_CONFIG": str(tmp_path / "config.toml"),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}  # fmt: skip
    args = [SAMPLE_BOOK, "--narration-engine", "cosyvoice3", "--dialogue-engine", "chattts",
            "--narrator-prompt", PROMPT_WAV, "--narrator-prompt-text", PROMPT_TEXT,
            "--out", tmp_path]  # fmt: skip
    result = run_narrate(*args, env=env, timeout=1800)
    assert result.returncode == 0, result.stderr
    out = tmp_path / SAMPLE_BOOK.stem
    rows = pq.read_table(out / "plan.parquet").to_pylist()
    narration = [r for r in rows if r["kind"] == "narration"]
    dialogue = [r for r in rows if r["kind"] == "dialogue" and r["speaker"] != "I"]
    assert {r["engine"] for r in narration} == {"cosyvoice3"}
    assert {r["engine"] for r in dialogue} == {"chattts"}
    assert all(r["duration_s"] for r in rows)
    chapters = sorted((out / ".cache" / "chapters").glob("*.wav"))
    assert {sf.info(p).samplerate for p in chapters} == {24000}  # mixed at one rate
    audio = decoded(out / f"{SAMPLE_BOOK.stem}.m4b", 24000)
    assert loudness_lufs(audio, 24000) == pytest.approx(-19.0, abs=1.0)
    assert peak_dbtp(audio, 24000) <= -3.0
    build = json.loads((out / "build.json").read_text())
    assert set(build["engines"]) == {"cosyvoice3", "chattts"}
    cast = tomllib.loads((out / "cast.toml").read_text())
    assert cast["narrator"]["engine"] == "cosyvoice3"
    assert cast["narrator"]["params"]["prompt_text"] == PROMPT_TEXT
