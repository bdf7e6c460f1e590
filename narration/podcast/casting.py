"""One distinct, stable voice per speaker, kept in one cast file per show.

The file is the books' cast.toml format (narration.cast.castfile), read, merged and written
with the same functions, and the voices are picked by the same caster (narration.cast.voices),
so a user edits a show's cast exactly as a book's. What differs for a podcast:
- The file belongs to the show, not the episode (`show_cast_path`), so a host keeps their
  voice from episode to episode and a returning guest gets theirs back.
- The host reads with the narrator's voice (`voice = "narrator"` in the file): the intro,
  the outro and any untagged text are theirs, and it is the engine's best voice.
- Everyone gets a voice of their own, however many speakers there are: when the engines'
  palette is shorter than the cast, it is extended with further variants (`extend_palette`).
- The front matter's `cast` wins over the file for this episode and is written to it: a
  voice name (as `narrate engines` lists it), "narrator", or a table as in cast.toml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from narration.atomic import atomic_write_text
from narration.audio.package import safe_filename
from narration.audio.voicefx import EFFECT_RANGES
from narration.cast.castfile import (
    NARRATOR_VOICE_SPEC,
    CastMember,
    apply_casting,
    merge_cast,
    read_cast,
    render_cast,
    voice_from_spec,
)
from narration.cast.voices import cast_voices
from narration.errors import InputError
from narration.model import Voice
from narration.plan import NARRATOR
from narration.podcast.model import Episode

HEADER = """\
Cast of this show: who speaks with which voice, kept from episode to episode.
Edit freely; later episodes keep your edits. The host reads with the narrator's voice
(voice = "narrator"). Voice tables are as in a book's cast.toml: engine, model, name,
gender, params, effects. Delete a speaker's voice table to have one picked again.
"""
_HOST_SPECS = (NARRATOR_VOICE_SPEC, "host")
# How far apart extra variants sit: a semitone and a quarter, alternately up and down.
_EXTRA_STEP_SEMITONES = 1.25
_SEED_STRIDE = 7919  # a prime: new speaker seeds never land on the engine's own palette


def show_cast_path(root: str | Path, episode: Episode) -> Path:
    """Where a show's cast file lives: ROOT/<show>/cast.toml (ROOT/<episode title>/ for an
    episode that names no show, which then has a cast of its own)."""
    name = episode.meta.show or episode.meta.title
    return Path(root) / safe_filename(name) / "cast.toml"


def _clamp(key: str, value: float) -> float:
    low, high = EFFECT_RANGES[key]
    return round(min(max(value, low), high), 3)


def _extra_voice(voice: Voice, k: int) -> Voice:
    """The k-th extra variant of `voice` (k >= 1): a new speaker seed for a sampling engine,
    else a pitch and formant shift on top of its effects."""
    name = f"{voice.name or voice.model_id}-x{k}"
    params = dict(voice.params)
    if "speaker_seed" in params:
        params["speaker_seed"] = int(params["speaker_seed"]) + _SEED_STRIDE * k
        return replace(voice, name=name, params=tuple(sorted(params.items())))
    sign = 1 if k % 2 else -1
    step = _EXTRA_STEP_SEMITONES * ((k + 1) // 2) * sign
    effects = dict(voice.effects)
    if "pitch_median_hz" in effects:
        hz = float(effects["pitch_median_hz"]) * 2 ** (step / 12)
        effects["pitch_median_hz"] = _clamp("pitch_median_hz", hz)
    formant = float(effects.get("formant_ratio", 1.0)) * 2 ** (step / 48)
    effects["formant_ratio"] = _clamp("formant_ratio", formant)
    return replace(voice, name=name, effects=tuple(sorted(effects.items())))


def extend_palette(palette: list[Voice], need: int) -> list[Voice]:
    """`palette` grown to at least `need` distinct voices, deterministically, by variants
    of its own voices in turn (the palette's order decides which are varied first)."""
    voices = list(dict.fromkeys(palette))
    if not voices:
        return voices
    k = 1
    while len(voices) < need:
        for voice in list(dict.fromkeys(palette)):
            extra = _extra_voice(voice, k)
            if extra not in voices:
                voices.append(extra)
            if len(voices) >= need:
                break
        k += 1
    return voices


def _front_matter_voice(
    where: Path, name: str, spec: Any, narrator: Voice, known: list[Voice]
) -> Voice:
    if isinstance(spec, str):
        if spec.strip().lower() in _HOST_SPECS:
            return narrator
        for voice in [narrator, *known]:
            if spec in (voice.name, voice.model_id):
                return voice
        names = ", ".join(sorted({v.name or v.model_id for v in known}))
        raise InputError(where, f"front matter: cast.{name}: no voice {spec!r} (voices: {names})")
    if isinstance(spec, Mapping):
        return voice_from_spec(where, f"front matter: cast.{name}", dict(spec))
    raise InputError(where, f"front matter: cast.{name}: a voice name or table, not {spec!r}")


def cast_episode(
    episode: Episode,
    cast_path: str | Path,
    narrator_default: Voice,
    engine_voices: list[Voice],
) -> tuple[dict[str, Voice], list[CastMember]]:
    """Give every speaker a voice, merge with the show's cast file and write it back.

    Returns ({speaker: voice, "narrator": host's voice}, the cast file's members). An
    episode whose front matter names no host gets the show's (`episode.meta.host`): the
    speaker the file has reading in the narrator's voice, when they are in this episode.
    `narrator_default` is the narration engine's voice; `engine_voices` the palette of the
    engines that speak dialogue (Engine.character_voices())."""
    cast_path = Path(cast_path)
    existing_text = cast_path.read_text(encoding="utf-8") if cast_path.is_file() else None
    narrator, existing = read_cast(cast_path) if existing_text else (narrator_default, [])
    if narrator.engine != narrator_default.engine:
        # another narration engine this run: the host moves to it, and so does whoever the
        # file had reading in the old narrator's voice
        existing = [replace(m, voice=narrator_default) if m.voice == narrator else m
                    for m in existing]  # fmt: skip
        narrator = narrator_default
    counts = episode.line_counts()
    discovered = [CastMember(name, [], "U", counts[name]) for name in episode.speakers]
    members = merge_cast(existing, discovered, narrator)

    palette = [v for v in engine_voices if v != narrator]
    source = Path(episode.source_path or "<script>")
    chosen = {
        name: _front_matter_voice(source, name, spec, narrator, palette)
        for name, spec in episode.meta.cast.items()
    }
    if not episode.meta.host:
        # The show's host is whoever the file has reading in the narrator's voice, when they
        # speak in this episode; else the first speaker would take that voice too, and two
        # people in one episode would sound alike.
        hosts = [m.name for m in existing if m.voice == narrator]
        episode.meta.host = next((name for name in episode.speakers if name in hosts), None)
    host = episode.host
    here = set(episode.speakers)
    members = [
        replace(m, voice=chosen.get(m.name, narrator if m.name == host and m.voice is None
                                    else m.voice))
        for m in members
    ]  # fmt: skip
    # A host named in the front matter who reads in the narrator's voice (a new host does):
    # anyone else in this episode whom the file had in it gets a voice of their own.
    if any(m.name == host and m.voice == narrator for m in members):
        members = [
            replace(m, voice=None)
            if m.name in here and m.name != host and m.voice == narrator and m.name not in chosen
            else m
            for m in members
        ]
    # Everyone still without a voice gets one nobody else in the file has.
    taken = {m.voice for m in members if m.voice is not None}
    need = len(taken - {narrator}) + sum(m.voice is None for m in members)
    palette = extend_palette(palette, need)
    casting = cast_voices(members, narrator, palette, max_distinct=max(8, len(members)))
    members = apply_casting(members, casting)

    text = render_cast(members, narrator, existing_text or _header())
    if text != existing_text:
        atomic_write_text(cast_path, text)
    voices = {NARRATOR: narrator}
    for member in members:
        voices[member.name] = member.voice or narrator
    return voices, members


def _header() -> str:
    return "".join(f"# {line}\n" if line else "#\n" for line in HEADER.splitlines()) + "\n"


def speaker_engines(voices: Mapping[str, Voice]) -> dict[str | None, str]:
    """{speaker: engine name}, with None for the narrator, as book.tokens_by_engine wants."""
    engines: dict[str | None, str] = {
        name: voice.engine for name, voice in voices.items() if name != NARRATOR
    }
    engines[None] = voices[NARRATOR].engine
    return engines
