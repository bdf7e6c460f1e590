"""Repeatable audio (issue 15, item 2): the same text, voice, engine version and seed give the
same samples. Piper's noise used to be drawn inside its ONNX graph by a generator seeded once
per session, so a segment's audio depended on what its worker had rendered before."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from conftest import SAMPLE_BOOK, run_narrate

from narration.audio.ffmpeg import ffmpeg_exe
from narration.engines import piper_noise
from narration.engines.base import Engine, SynthesisItem
from narration.engines.piper_engine import PiperEngine

TEXTS = [
    "The keeper climbed the stairs at dusk.",
    "Mr. Bennet! Come here. No, wait.",  # several sentences in one item: one run each
    "Rain fell on the lamp room all night, and the glass sang in the wind.",
]


@pytest.fixture(scope="module")
def engines() -> tuple[PiperEngine, PiperEngine]:
    """Two engines: two workers, each with its own session."""
    first, second = PiperEngine(), PiperEngine()
    first.load()
    second.load()
    return first, second


def _items(engine: Engine, seed: int = 7) -> list[SynthesisItem]:
    return [SynthesisItem(text, engine.default_voice(), seed) for text in TEXTS]


def test_a_segment_sounds_the_same_alone_in_a_batch_and_in_any_worker_order(engines):
    first, second = engines
    items = _items(first)
    alone = [first.synthesize([item])[0] for item in items]
    batched = second.synthesize(items[::-1])[::-1]  # another worker, another order
    again = first.synthesize(items + items)  # after other segments in the same session
    for i in range(len(items)):
        assert np.array_equal(alone[i], batched[i])
        assert np.array_equal(alone[i], again[i])
        assert np.array_equal(alone[i], again[i + len(items)])


def test_the_seed_and_the_text_choose_the_noise(engines):
    engine, _ = engines
    seven = engine.synthesize(_items(engine, seed=7))
    eight = engine.synthesize(_items(engine, seed=8))
    for a, b in zip(seven, eight, strict=True):
        assert not (len(a) == len(b) and np.array_equal(a, b))  # another take


def test_too_few_frames_drawn_runs_again_with_the_same_noise(engines, monkeypatch):
    engine, _ = engines
    items = _items(engine)
    normal = engine.synthesize(items)
    reruns = 0
    session = engine._noise.session
    real_run = session.run

    class Counting:
        def __getattr__(self, name):
            return getattr(session, name)

        def run(self, names, feed):
            nonlocal reruns
            reruns += 1
            return real_run(names, feed)

    monkeypatch.setattr(piper_noise, "_FRAMES_PER_ID", 0.5)  # always short at first
    monkeypatch.setattr(piper_noise, "_FRAMES_MARGIN", 0)
    monkeypatch.setattr(engine._noise, "session", Counting())
    short_first = engine.synthesize(items)
    assert reruns > len(items)  # some runs were repeated
    for a, b in zip(normal, short_first, strict=True):
        assert np.array_equal(a, b)


def test_the_voice_graph_draws_no_noise_of_its_own():
    model, count = piper_noise.seeded_model(PiperEngine().model_path.read_bytes())
    assert count == 2  # the duration predictor's and the flow's
    op_type = b'"\x10RandomNormalLike'  # NodeProto.op_type (field 4), 16 bytes long
    assert op_type in PiperEngine().model_path.read_bytes()
    assert op_type not in model


def test_engines_declare_whether_they_repeat():
    from narration.engines.chattts_engine import ChatTTSEngine
    from narration.engines.cosyvoice3_engine import CosyVoice3Engine

    assert PiperEngine.repeatable
    assert CosyVoice3Engine.repeatable
    assert not ChatTTSEngine.repeatable  # a batch's sampling depends on its neighbours
    assert not Engine.repeatable  # an engine is repeatable only when it says so


def test_chattts_says_rightly_that_it_is_not_repeatable(tmp_path):
    """Its declaration is measured, not assumed: with the same seed, a clip rendered alone and
    the same text inside a batch differ (if this ever fails, ChatTTS became repeatable)."""
    from chattts_weights import generate_chattts_weights

    from narration.engines.chattts_engine import speaker_voice
    from narration.engines.registry import create_engine

    generate_chattts_weights(tmp_path, size="tiny", seed=7)
    engine = create_engine("chattts", weights_dir=str(tmp_path), device="cpu", max_new_token=24)
    voice = speaker_voice(1111)
    texts = ["Where are you going at this hour?", "To the lighthouse, of course."]
    alone = engine.synthesize([SynthesisItem(texts[0], voice, 5)])[0]
    batched = engine.synthesize([SynthesisItem(text, voice, 5) for text in texts])[0]
    assert np.array_equal(alone, engine.synthesize([SynthesisItem(texts[0], voice, 5)])[0])
    assert not np.array_equal(alone, batched)


def _pcm(m4b) -> bytes:
    command = [ffmpeg_exe(), "-v", "error", "-i", str(m4b), "-f", "s16le", "-ac", "1", "-"]
    return subprocess.run(command, capture_output=True, check=True).stdout


def _two_clean_runs(tmp_path, *options: str) -> list[bytes]:
    decoded = []
    for run in ("one", "two"):
        result = run_narrate(SAMPLE_BOOK, "--out", tmp_path / run, *options)
        assert result.returncode == 0, result.stderr[-2000:]
        (m4b,) = (tmp_path / run).glob("*/*.m4b")
        decoded.append(_pcm(m4b))
    assert len(decoded[0]) > 22050 * 2 * 60  # over a minute of audio
    return decoded


@pytest.mark.slow
def test_two_clean_runs_of_the_sample_book_give_the_same_samples(tmp_path):
    """Narrator only: every segment is Piper's, with no post-processing of its own."""
    one, two = _two_clean_runs(tmp_path, "--no-cast")
    assert one == two


@pytest.mark.slow
def test_two_clean_runs_with_character_voices_give_the_same_samples(tmp_path):
    one, two = _two_clean_runs(tmp_path)
    assert one == two
