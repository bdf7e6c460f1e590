"""The protocol of engines that run under another interpreter (narration.engines.external),
against a stand-in child process (tests/fake_engine_child.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from narration.engines.base import SynthesisItem
from narration.engines.external import ChildOutOfMemory, EngineChild, synthesize_in_child
from narration.errors import EngineError
from narration.model import Voice
from narration.render.takes import is_out_of_memory

CHILD = Path(__file__).with_name("fake_engine_child.py")
VOICE = Voice(engine="fake", model_id="fake", params=(("prompt_text", "hello"),))


@pytest.fixture
def child(tmp_path):
    process = EngineChild("fake", [sys.executable, str(CHILD), str(tmp_path / "killed")])
    yield process
    process.stop()


def _items(*texts: str, seed: int = 0) -> list[SynthesisItem]:
    return [SynthesisItem(text, VOICE, seed) for text in texts]


def test_a_batch_goes_out_as_one_line_and_comes_back_through_files(child, tmp_path):
    audio = synthesize_in_child(child, _items("one", "three", seed=1))
    assert [len(a) for a in audio] == [720, 1200] and audio[1][0] == pytest.approx(1.1)
    assert child.info["sample_rate"] == 24000 and child.starts == 1
    assert not list(Path(child._dir.name).iterdir())  # the files were taken and removed


def test_a_child_killed_mid_batch_is_started_again_and_the_batch_retried(child, tmp_path):
    synthesize_in_child(child, _items("warm"))
    first_pid = child.process.pid
    audio = synthesize_in_child(child, _items("kill me", "and me"))
    assert (tmp_path / "killed").read_text() == str(first_pid)
    assert [len(a) for a in audio] == [1680, 1440] and child.starts == 2


def test_errors_are_one_line_and_out_of_memory_is_recognised(child):
    with pytest.raises(EngineError, match="fake: bad text"):
        synthesize_in_child(child, _items("fail"))
    with pytest.raises(ChildOutOfMemory) as caught:
        synthesize_in_child(child, _items("oom"))
    assert is_out_of_memory(caught.value)  # the render layer halves the batch
    assert child.starts == 1  # an error answer is not a crash: the same child goes on
    assert np.all(synthesize_in_child(child, _items("ok"))[0] == np.float32(0.1))


def test_a_child_that_cannot_start_says_so(tmp_path):
    script = tmp_path / "broken.py"
    script.write_text('import json; print(json.dumps({"ready": False, "error": "no model"}))\n')
    child = EngineChild("broken", [sys.executable, str(script)])
    with pytest.raises(EngineError, match="could not load: no model"):
        child.start()
    missing = EngineChild("missing", [str(tmp_path / "no-python"), "x"])
    with pytest.raises(EngineError, match="cannot start"):
        missing.start()
