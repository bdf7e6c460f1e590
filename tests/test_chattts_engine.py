"""Our ChatTTS engine on the real `chattts` library, with weights the tests generate in the
library's file layout (tests/chattts_weights.py): through the render layer's device backend,
and end to end through the real CLI and flow, dialogue by ChatTTS and narration by Piper."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from audio_checks import decoded, loudness_lufs, peak_dbtp
from chattts_weights import generate_chattts_weights
from conftest import SAMPLE_BOOK, run_narrate

from narration.engines.base import SynthesisItem
from narration.engines.chattts_engine import ChatTTSEngine, speaker_voice
from narration.engines.registry import create_engine
from narration.render.router import Renderer
from narration.render.takes import RenderJob
from narration.store import SegmentStore

TEXTS = [
    "Where are you going at this hour?",
    "To the lighthouse, of course.",
    "In this weather? You will be soaked through.",
    "Then I shall be soaked. Someone must keep the lamp.",
]
OPTIONS = {"device": "cpu", "max_new_token": 24, "max_retakes": 0}


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chattts-weights")
    generate_chattts_weights(folder, size="tiny", seed=7)
    return folder


@pytest.fixture(scope="module")
def engine(weights):
    engine = create_engine("chattts", weights_dir=str(weights), **OPTIONS)
    engine.load()
    return engine


def test_declares_what_the_render_layer_and_router_read(weights):
    engine = create_engine("chattts", weights_dir=str(weights), **OPTIONS)
    assert isinstance(engine, ChatTTSEngine)
    assert (engine.placement, engine.sample_rate, engine.roles) == ("device", 24000, ("dialogue",))
    assert engine.weights_license == "CC BY-NC 4.0" and "non-commercial" in engine.licence_notice
    assert engine.availability().usable  # weights found, device given
    missing = create_engine("chattts", weights_dir=str(weights / "nowhere"))
    state = missing.availability()
    assert not state.usable and "no weights" in state.reason
    # the model version names the weights: other weights, other segment keys
    assert engine.model_version() != missing.model_version()


def test_one_batched_call_per_speaker_in_order_at_24_khz(engine):
    voices = [speaker_voice(1111), speaker_voice(2222)]
    outputs = {}
    for voice in voices:
        items = [SynthesisItem(text, voice, seed=5) for text in TEXTS]
        clips = engine.synthesize(items)
        assert len(clips) == len(TEXTS)
        assert all(c.dtype == np.float32 and c.ndim == 1 and len(c) > 0 for c in clips)
        outputs[voice.name] = clips
        # order: the batch's n-th clip is the n-th text's (rendered alone, it is the same
        # length: the tiny model stops at max_new_token, so length shows the decode, and the
        # text shows in the audio only through the seed-pinned sampling)
    again = engine.synthesize([SynthesisItem(t, voices[0], seed=5) for t in TEXTS])
    assert all(np.array_equal(a, b) for a, b in zip(again, outputs[voices[0].name], strict=True))
    other_seed = engine.synthesize([SynthesisItem(t, voices[0], seed=6) for t in TEXTS])
    assert not np.array_equal(other_seed[0], outputs[voices[0].name][0])
    assert not np.array_equal(outputs["chattts-1111"][0], outputs["chattts-2222"][0])


def test_a_speaker_is_the_same_in_every_process(engine, weights):
    """A character's voice is sampled from its stored seed: another process (a re-run, a
    restarted worker) gets the same embedding."""
    import subprocess
    import sys

    code = (
        "import json,sys; from narration.engines.registry import create_engine; "
        "from narration.engines.chattts_engine import speaker_voice; "
        f"e = create_engine('chattts', weights_dir={str(weights)!r}, device='cpu'); e.load(); "
        "print(e._speaker(speaker_voice(3333)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == engine._speaker(speaker_voice(3333))


def test_the_device_backend_renders_a_mixed_batch_into_the_store(weights, tmp_path):
    renderer = Renderer(
        str(tmp_path / "store"), {"chattts": {"weights_dir": str(weights), **OPTIONS}}
    )
    jobs = [
        RenderJob(f"k{i}{v}", text, speaker_voice(v), 0)
        for v in (1111, 2222)
        for i, text in enumerate(TEXTS)
    ]
    try:
        durations = renderer.render(jobs)
        stats = renderer.stats()["chattts"]
    finally:
        renderer.close()
    store = SegmentStore(tmp_path / "store")
    assert set(durations) == {j.key for j in jobs}
    assert {store.read(j.key)[1] for j in jobs} == {24000}
    assert stats["placement"] == "device" and stats["devices"] == ["cpu"]
    assert sum(stats["batch_sizes"].values()) == 2  # one call per speaker (4 texts each)


@pytest.mark.slow
def test_dialogue_by_chattts_and_narration_by_piper_end_to_end(weights, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        "[engines.chattts]\n"
        f"weights_dir = {json.dumps(str(weights))}\n"
        'device = "cpu"\nmax_new_token = 40\nmax_retakes = 0\n',
        encoding="utf-8",
    )
    env = {"NARRATION_CONFIG": str(config), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = run_narrate(SAMPLE_BOOK, "--dialogue-engine", "chattts", "--out", tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "CC BY-NC 4.0" in result.stderr  # said once, plainly
    out = tmp_path / SAMPLE_BOOK.stem
    rows = pq.read_table(out / "plan.parquet").to_pylist()
    dialogue = [r for r in rows if r["kind"] == "dialogue" and r["speaker"] != "I"]
    narration = [r for r in rows if r["kind"] == "narration"]
    assert dialogue and narration
    assert {r["engine"] for r in dialogue} == {"chattts"}
    assert {r["engine"] for r in narration} == {"piper"}
    assert all(r["duration_s"] and r["takes"] == 1 for r in rows)
    # each character keeps the ChatTTS speaker stored for them in cast.toml
    cast = tomllib.loads((out / "cast.toml").read_text(encoding="utf-8"))
    stored = {
        name: c["voice"]["params"]["speaker_seed"]
        for name, c in cast["characters"].items()
        if isinstance(c.get("voice"), dict)
    }
    assert stored and all(isinstance(seed, int) for seed in stored.values())
    for row in dialogue:
        assert row["voice"] == f"chattts-{stored[row['speaker']]}"
    store = SegmentStore(out / ".cache" / "segments")
    assert {store.read(r["key"])[1] for r in dialogue} == {24000}
    assert {store.read(r["key"])[1] for r in narration} == {22050}
    build = json.loads((out / "build.json").read_text(encoding="utf-8"))
    assert set(build["engines"]) == {"piper", "chattts"}
    assert build["engines"]["chattts"]["weights_license"] == "CC BY-NC 4.0"
    assert build["render"]["chattts"]["placement"] == "device"
    m4b = out / f"{SAMPLE_BOOK.stem}.m4b"
    from mutagen.mp4 import MP4

    tags = MP4(m4b).tags
    assert "chattts" in tags["\xa9cmt"][0] and "CC BY-NC 4.0" in tags["\xa9cmt"][0]
    chapter_files = sorted((out / ".cache" / "chapters").glob("*.wav"))
    assert {sf.info(p).samplerate for p in chapter_files} == {24000}  # mixed at one rate
    audio = decoded(m4b, 24000)
    assert loudness_lufs(audio, 24000) == pytest.approx(-19.0, abs=1.0)
    assert peak_dbtp(audio, 24000) <= -3.0
    again = run_narrate(SAMPLE_BOOK, "--dialogue-engine", "chattts", "--out", tmp_path, env=env)
    assert again.returncode == 0 and "up to date" in again.stderr


def test_a_shorter_item_loses_the_tail_decoded_from_padding():
    """The library decodes a batch at its longest item's length; the wrapper zeroes what lies
    past each item's own codes (which infer's silence stripping then drops)."""
    import torch

    from narration.engines.chattts_engine import _zero_padding_tails

    def decode(result_list, use_decoder):  # as the library: padded to the longest, then decoded
        out = np.ones((len(result_list), 512 * max(r.size(0) for r in result_list)), np.float32)
        result_list.clear()  # the library frees the codes while decoding
        return out

    wavs = _zero_padding_tails(decode)([torch.zeros(10, 4), torch.zeros(4, 4)], True)
    assert wavs.shape == (2, 5120)
    assert np.count_nonzero(wavs[0]) == 5120 and np.count_nonzero(wavs[1]) == 2048


def test_speakers_do_not_depend_on_the_device_generator(engine):
    """Sampled from a CPU generator of their own: the global RNG is neither used nor moved."""
    import torch

    torch.manual_seed(1)
    before = torch.random.get_rng_state()
    first = engine._speaker(speaker_voice(4242))
    assert torch.equal(torch.random.get_rng_state(), before)
    engine._speakers.clear()
    torch.manual_seed(99)
    assert engine._speaker(speaker_voice(4242)) == first
