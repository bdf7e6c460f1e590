import numpy as np
import pytest

from narration.model import Voice
from narration.store import SegmentStore, read_manifest, segment_key, write_manifest

VOICE = Voice(engine="piper", model_id="m", name="joe")


def test_key_changes_with_every_input():
    base = segment_key("piper", "v1", VOICE, 0, "Hello there.")
    assert base == segment_key("piper", "v1", VOICE, 0, "Hello there.")
    variants = {
        segment_key("other", "v1", VOICE, 0, "Hello there."),
        segment_key("piper", "v2", VOICE, 0, "Hello there."),
        segment_key(
            "piper",
            "v1",
            Voice("piper", "m", "joe", params=(("length_scale", 1.1),)),
            0,
            "Hello there.",
        ),
        segment_key(
            "piper",
            "v1",
            Voice("piper", "m", "joe", effects=(("formant_ratio", 1.1),)),
            0,
            "Hello there.",
        ),
        segment_key("piper", "v1", VOICE, 1, "Hello there."),
        segment_key("piper", "v1", VOICE, 0, "Hello there!"),
    }
    assert base not in variants and len(variants) == 6


def test_store_round_trip_within_16_bit_quantisation(tmp_path):
    store = SegmentStore(tmp_path)
    audio = (np.sin(np.linspace(0, 200, 22050)) * 0.5).astype(np.float32)
    key = "ab" + "0" * 62
    assert not store.has(key)
    seconds = store.write(key, audio, 22050)
    assert seconds == pytest.approx(1.0)
    assert store.has(key) and store.path(key).parent.name == "ab"
    back, rate = store.read(key)
    # 16-bit: each sample within one step (libsndfile writes x * 32767, reads n / 32768)
    assert rate == 22050 and np.max(np.abs(back - audio)) <= 1 / 32768
    assert np.max(np.abs(back - audio)) > 0  # and it really is quantised, not stored as float
    assert store.duration_s(key) == pytest.approx(1.0)
    assert not list(tmp_path.rglob("*.part*")), "temp files must not be left behind"


def test_manifest_round_trip(tmp_path):
    rows = [
        {
            "chapter_index": 1,
            "chapter_title": "I",
            "index": 0,
            "kind": "narration",
            "speaker": "narrator",
            "voice": "joe",
            "text": "It is.",
            "spoken_text": "It is.",
            "pause_after": "sentence",
            "key": "k1",
            "engine": "piper",
            "duration_s": 1.5,
            "takes": 1,
            "error": None,
        },
        {
            "chapter_index": 1,
            "chapter_title": "I",
            "index": 1,
            "kind": "dialogue",
            "speaker": "Elizabeth",
            "voice": "alto",
            "text": "No.",
            "spoken_text": "No.",
            "pause_after": "paragraph",
            "key": "k2",
            "engine": "chattts",
            "duration_s": None,
            "takes": None,
            "error": "engine 'chattts' failed: boom",
        },
    ]
    write_manifest(tmp_path / "plan.parquet", rows)
    assert read_manifest(tmp_path / "plan.parquet") == rows


def test_pcm16_conversion_is_the_one_libsndfile_makes(tmp_path):
    import soundfile as sf

    from narration.store import to_pcm16

    rng = np.random.default_rng(3)
    audio = (rng.standard_normal(50_000) * 0.4).astype(np.float32)
    audio[:6] = [1.0, -1.0, 0.5 / 32768, -0.5 / 32768, 32767.5 / 32768, -32768.5 / 32768]
    clipped = np.clip(audio, -1.0, 1.0)
    sf.write(tmp_path / "ref.wav", clipped, 22050, subtype="PCM_16", format="WAV")
    reference, _ = sf.read(tmp_path / "ref.wav", dtype="int16")
    np.testing.assert_array_equal(to_pcm16(clipped), reference)
    assert to_pcm16(np.array([1.7, -2.0], dtype=np.float32)).tolist() == [32767, -32768]
