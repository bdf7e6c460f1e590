"""The caster: the derived palette and who gets which voice."""

from __future__ import annotations

import random
from itertools import combinations

import numpy as np
import pytest

from narration.audio.voicefx import check_effects, semitones
from narration.cast.castfile import CastMember
from narration.cast.voices import (
    BUNDLED_MEDIAN_F0_HZ,
    BUNDLED_VOICE,
    cast_voices,
    derive_variants,
    measure_base_median_f0_hz,
    voice_distance,
)
from narration.model import Voice

NARRATOR = BUNDLED_VOICE
PALETTE = derive_variants(pace_param="length_scale")
AVAILABLE = [NARRATOR, *PALETTE]


def members(*specs: tuple[str, str, int]) -> list[CastMember]:
    return [CastMember(name, [], gender, lines) for name, gender, lines in specs]


def target(voice: Voice) -> float:
    return voice.effect("pitch_median_hz")


# ----------------------------------------------------------------- the palette


def test_palette_has_distinct_male_and_female_variants_of_the_bundled_voice():
    males = [v for v in PALETTE if v.gender == "M"]
    females = [v for v in PALETTE if v.gender == "F"]
    assert len(males) >= 3 and len(females) >= 3
    assert len({v.name for v in PALETTE}) == len(PALETTE)
    assert NARRATOR not in PALETTE
    for voice in PALETTE:
        assert (voice.engine, voice.model_id) == (NARRATOR.engine, NARRATOR.model_id)
        check_effects(dict(voice.effects))
        assert 0.85 <= voice.param("length_scale") <= 1.15
    for a, b in combinations(males, 2):
        assert abs(semitones(target(a), target(b))) >= 2.0
    for a, b in combinations(females, 2):
        assert abs(semitones(target(a), target(b))) >= 2.0
    for voice in males:  # and clear of the narrator's own median
        assert abs(semitones(BUNDLED_MEDIAN_F0_HZ, target(voice))) >= 2.0
    for voice in females:
        assert 170.0 <= target(voice) <= 235.0
        assert 1.12 <= voice.effect("formant_ratio") <= 1.2


def test_palette_is_deterministic_and_canonical():
    assert derive_variants(pace_param="length_scale") == PALETTE
    for voice in PALETTE:
        assert list(voice.effects) == sorted(voice.effects)
        assert list(voice.params) == sorted(voice.params)


def test_male_offsets_follow_the_base_median():
    higher = derive_variants(NARRATOR, BUNDLED_MEDIAN_F0_HZ * 2 ** (2 / 12))
    for old, new in zip(PALETTE, higher, strict=True):
        if old.gender == "M":
            assert semitones(target(old), target(new)) == pytest.approx(2.0, abs=0.05)
        else:  # female targets are absolute
            assert target(old) == target(new)


def test_a_female_base_mirrors_the_palette():
    base = Voice(engine="piper", model_id="en_GB-alba-medium", name="alba", gender="F")
    variants = derive_variants(base, 190.0)
    males = [v for v in variants if v.gender == "M"]
    assert males and all(target(v) < 150.0 and v.effect("formant_ratio") < 1.0 for v in males)
    assert all(v.name.startswith("alba-") for v in variants)


def test_engines_without_length_scale_get_pace_as_tempo():
    base = Voice(engine="other", model_id="m", name="x", gender="M")
    variants = derive_variants(base, 100.0)
    assert all(v.param("length_scale") is None for v in variants)
    assert any(v.effect("tempo", 1.0) != 1.0 for v in variants)


def test_bad_base_median_is_refused():
    with pytest.raises(ValueError):
        derive_variants(NARRATOR, float("nan"))


def test_measure_base_median_uses_the_given_synthesizer():
    def synth(text: str) -> np.ndarray:
        t = np.arange(int(0.05 * len(text) * 22050)) / 22050
        return (0.3 * np.sin(2 * np.pi * 120.0 * t)).astype(np.float32)

    assert measure_base_median_f0_hz(synth) == pytest.approx(120.0, rel=0.02)


@pytest.mark.slow
def test_bundled_median_constant_matches_a_fresh_measurement():
    pytest.importorskip("piper")
    assert abs(semitones(BUNDLED_MEDIAN_F0_HZ, measure_base_median_f0_hz())) < 0.5


# ----------------------------------------------------------------- casting


def test_genders_match_and_the_narrator_voice_is_not_reused():
    cast = members(("Ann", "F", 50), ("Bob", "M", 40), ("Cat", "F", 30), ("Dan", "M", 20))
    casting = cast_voices(cast, NARRATOR, AVAILABLE)
    assert set(casting) == {"Ann", "Bob", "Cat", "Dan"}
    for member in cast:
        assert casting[member.name].gender == member.gender
        assert casting[member.name] != NARRATOR
    assert len(set(casting.values())) == 4


def test_casting_is_deterministic_whatever_the_input_order():
    cast = members(*[(f"C{i}", "MFU"[i % 3], 100 - i) for i in range(15)])
    first = cast_voices(cast, NARRATOR, AVAILABLE)
    shuffled = cast[:]
    random.Random(7).shuffle(shuffled)
    assert cast_voices(shuffled, NARRATOR, AVAILABLE) == first
    assert cast_voices(cast, NARRATOR, AVAILABLE) == first


def test_the_leads_get_the_most_distinct_voices():
    cast = members(("Lead", "M", 500), ("Second", "M", 100), ("Third", "M", 50))
    casting = cast_voices(cast, NARRATOR, AVAILABLE)
    lead_distance = voice_distance(casting["Lead"], NARRATOR)
    males = [v for v in PALETTE if v.gender == "M"]
    assert lead_distance == max(voice_distance(v, NARRATOR) for v in males)
    # the second is chosen to stand apart from both the narrator and the lead
    assert casting["Second"] not in (casting["Lead"], NARRATOR)


def test_minor_characters_share_by_gender_and_spare_the_leads():
    cast = members(*[(f"M{i}", "M", 100 - i) for i in range(9)])
    cast += members(*[(f"F{i}", "F", 50 - i) for i in range(6)])
    casting = cast_voices(cast, NARRATOR, AVAILABLE, max_distinct=8)
    assert len(set(casting.values())) <= 8
    assert all(casting[m.name].gender == m.gender for m in cast)
    leads = [casting["M0"], casting["M1"]]
    shared = [casting[m.name] for m in cast[2:] if m.gender == "M"]
    assert not set(leads) & set(shared)


def test_max_distinct_caps_the_number_of_voices():
    cast = members(*[(f"C{i}", "M", 100 - i) for i in range(6)])
    casting = cast_voices(cast, NARRATOR, AVAILABLE, max_distinct=2)
    assert len(set(casting.values())) == 2


def test_unknown_gender_takes_any_voice_and_real_voices_come_first():
    alba = Voice(engine="piper", model_id="en_GB-alba-medium", name="alba", gender="F")
    cast = members(("Ann", "F", 50), ("Kid", "U", 5))
    casting = cast_voices(cast, NARRATOR, [*AVAILABLE, alba])
    assert casting["Ann"] == alba  # another model beats any derived variant
    assert casting["Kid"] in PALETTE


def test_a_users_voice_is_kept():
    chosen = PALETTE[-1]
    cast = [CastMember("Bob", [], "M", 10, voice=chosen), CastMember("Al", [], "M", 20)]
    casting = cast_voices(cast, NARRATOR, AVAILABLE)
    assert casting["Bob"] == chosen
    assert casting["Al"] != chosen


def test_fallbacks_when_the_pool_is_thin():
    cast = members(("Ann", "F", 5))
    assert cast_voices(cast, NARRATOR, [NARRATOR]) == {"Ann": NARRATOR}
    males_only = [v for v in PALETTE if v.gender == "M"]
    voice = cast_voices(cast, NARRATOR, males_only)["Ann"]
    assert voice in males_only  # wrong gender beats the narrator's own voice
