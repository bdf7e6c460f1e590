"""cast.toml: who speaks with which voice, written on the first run and respected afterwards.

The file lives in the book's output folder. The first run writes what the caster chose; the
user may then edit it (rename a character, fix a gender, pick another voice), and later runs
read it back, merge newly discovered characters in and rewrite it with tomlkit, which keeps
the user's comments, order and formatting of untouched entries.

Merge rules (merge_cast):
- A character in the file is matched to a discovered one by name or alias (case-insensitive).
  Its name, aliases, gender and voice are the user's; only `lines` is refreshed.
- Discovered characters matching nobody are appended, in discovery order, and get a voice.
- Characters in the file that the book no longer yields are kept as they are.
- A character deleted from the file comes back on the next run if the book still has lines
  for it: the file cannot tell a deletion from a character never seen. To silence one, set
  `voice = "narrator"`; to fold it into another, add its name to the other's aliases.
- If a voice's gender contradicts the character's (the user changed `gender`), the voice is
  dropped so that the caster picks one of the right gender. Give the voice `gender = "U"`
  to keep a deliberate cross-gender choice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from narration.atomic import atomic_write_text
from narration.audio.voicefx import check_effects
from narration.errors import InputError
from narration.model import Voice

NARRATOR_VOICE_SPEC = "narrator"  # a character's `voice = "narrator"`: read by the narrator
GENDERS = ("M", "F", "U")
_VOICE_KEYS = ("engine", "model", "name", "gender", "params", "effects")
_CHARACTER_KEYS = ("aliases", "gender", "lines", "voice")

HEADER = """\
Cast of this book: who speaks with which voice. Edit freely; later runs keep your edits.
- gender: "M", "F" or "U". Change it and the voice is recast to match on the next run.
- [characters."Name".voice]: edit engine/model/name/params/effects, delete the table to
  have a voice picked, or put voice = "narrator" under the character instead.
  effects: pitch_median_hz (target median F0), formant_ratio, pitch_range, tempo (duration
  factor: > 1 slower); params: engine settings such as Piper's length_scale (> 1 slower).
- To rename a character keep the old name in its aliases; to merge two, add one's name to
  the other's aliases and delete it. A deleted character that still speaks comes back.
- "Narrator" is the book's first-person narrator ("I"): their quoted lines are read in the
  narrator's voice, so that character's voice is always "narrator".
"""


@dataclass
class CastMember:
    """A speaking character as the cast file sees it; `voice` None means not cast yet."""

    name: str
    aliases: list[str] = field(default_factory=list)
    gender: str = "U"
    lines: int = 0
    voice: Voice | None = None


# ---------------------------------------------------------------- voice <-> TOML spec


def voice_to_spec(voice: Voice) -> dict[str, Any]:
    """The readable table for a voice: engine, model, name, gender, params, effects."""
    spec: dict[str, Any] = {"engine": voice.engine, "model": voice.model_id}
    if voice.name:
        spec["name"] = voice.name
    spec["gender"] = voice.gender
    if voice.params:
        spec["params"] = dict(voice.params)
    if voice.effects:
        spec["effects"] = dict(voice.effects)
    return spec


def _inline(spec: Mapping[str, Any]) -> Any:
    table = tomlkit.inline_table()
    for key, value in spec.items():
        table[key] = _inline(value) if isinstance(value, Mapping) else value
    return table


def _fail(path: Path, where: str, problem: str) -> InputError:
    return InputError(path, f"{where}: {problem}")


def _string(path: Path, where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, where, f"must be a non-empty string, not {value!r}")
    return value


def _gender(path: Path, where: str, value: Any) -> str:
    if value not in GENDERS:
        raise _fail(path, where, f'must be "M", "F" or "U", not {value!r}')
    return value


def _check_keys(path: Path, where: str, table: Mapping[str, Any], known: Iterable[str]) -> None:
    known = tuple(known)
    for key in table:
        if key not in known:
            raise _fail(path, f"{where}.{key}", f"unknown key (known: {', '.join(known)})")


def voice_from_spec(path: Path, where: str, spec: Any) -> Voice:
    """Parse and validate a voice table; raises InputError naming the file and the key."""
    if not isinstance(spec, Mapping):
        raise _fail(path, where, f'must be a table or "{NARRATOR_VOICE_SPEC}", not {spec!r}')
    _check_keys(path, where, spec, _VOICE_KEYS)
    for key in ("engine", "model"):
        if key not in spec:
            raise _fail(path, where, f"missing {key!r}")
    name = spec.get("name", "")
    if not isinstance(name, str):
        raise _fail(path, f"{where}.name", f"must be a string, not {name!r}")
    params = spec.get("params", {})
    if not isinstance(params, Mapping):
        raise _fail(path, f"{where}.params", f"must be a table, not {params!r}")
    for key, value in params.items():
        if not isinstance(value, str | int | float | bool):
            raise _fail(path, f"{where}.params.{key}", f"must be a plain value, not {value!r}")
    effects = spec.get("effects", {})
    if not isinstance(effects, Mapping):
        raise _fail(path, f"{where}.effects", f"must be a table, not {effects!r}")
    try:
        check_effects(effects)
    except ValueError as exc:
        raise _fail(path, f"{where}.effects", str(exc)) from None
    return Voice(
        engine=_string(path, f"{where}.engine", spec["engine"]),
        model_id=_string(path, f"{where}.model", spec["model"]),
        name=name,
        params=tuple(sorted(params.items())),
        # floats: 1 and 1.0 must give the same fingerprint, or an edit re-renders for nothing
        effects=tuple(sorted((key, float(value)) for key, value in effects.items())),
        gender=_gender(path, f"{where}.gender", spec.get("gender", "U")),
    )


# ---------------------------------------------------------------- read


def _parse(path: Path) -> tomlkit.TOMLDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read: {exc}") from None
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise InputError(path, "not valid TOML: " + " ".join(str(exc).split())) from None


def _member(path: Path, name: str, table: Any, narrator: Voice) -> CastMember:
    where = f"characters.{tomlkit.key(name).as_string()}"
    if not isinstance(table, Mapping):
        raise _fail(path, where, f"must be a table, not {table!r}")
    _check_keys(path, where, table, _CHARACTER_KEYS)
    aliases = table.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise _fail(path, f"{where}.aliases", f"must be a list of strings, not {aliases!r}")
    lines = table.get("lines", 0)
    if isinstance(lines, bool) or not isinstance(lines, int) or lines < 0:
        raise _fail(path, f"{where}.lines", f"must be a whole number >= 0, not {lines!r}")
    spec = table.get("voice")
    if spec is None:
        voice = None
    elif spec == NARRATOR_VOICE_SPEC:
        voice = narrator
    else:
        voice = voice_from_spec(path, f"{where}.voice", spec)
    return CastMember(
        name=_string(path, where, name),
        aliases=list(aliases),
        gender=_gender(path, f"{where}.gender", table.get("gender", "U")),
        lines=lines,
        voice=voice,
    )


def read_cast(path: str | Path) -> tuple[Voice, list[CastMember]]:
    """Read cast.toml: the narrator's voice and the characters in file order.

    Raises InputError ("path: key: problem", one line) for a missing file, bad TOML, an
    unknown key or a bad value, so a typo stops the run before any audio is made.
    """
    path = Path(path)
    data = _parse(path).unwrap()
    if "narrator" not in data:
        raise _fail(path, "narrator", "missing [narrator] table")
    narrator = voice_from_spec(path, "narrator", data["narrator"])
    characters = data.get("characters", {})
    if not isinstance(characters, Mapping):
        raise _fail(path, "characters", f"must be a table, not {characters!r}")
    _check_keys(path, "(top level)", data, ("narrator", "characters"))
    members = [_member(path, name, table, narrator) for name, table in characters.items()]
    return narrator, members


# ---------------------------------------------------------------- write


def _set_if_changed(table: Any, key: str, value: Any) -> None:
    """Assign only real changes, so untouched values keep the user's formatting/comments."""
    current = table.get(key)
    plain = current.unwrap() if hasattr(current, "unwrap") else current
    wanted = value.unwrap() if hasattr(value, "unwrap") else value
    if key not in table or plain != wanted:
        table[key] = value


def _fill_voice(table: Any, voice: Voice) -> None:
    """Make a voice table (the narrator's or a character's) say `voice`, editing in place."""
    spec = voice_to_spec(voice)
    for key in [key for key in table if key not in spec]:
        del table[key]
    for key, value in spec.items():
        _set_if_changed(table, key, _inline(value) if isinstance(value, Mapping) else value)


def _fill_character(table: Any, member: CastMember, narrator: Voice) -> None:
    _set_if_changed(table, "aliases", list(member.aliases))
    _set_if_changed(table, "gender", member.gender)
    _set_if_changed(table, "lines", member.lines)
    current = table.get("voice")
    if member.voice is None:
        if "voice" in table:
            del table["voice"]
    elif member.voice == narrator:
        _set_if_changed(table, "voice", NARRATOR_VOICE_SPEC)
    elif isinstance(current, Mapping):
        _fill_voice(current, member.voice)
    else:
        # a [characters."Name".voice] sub-table: one readable line per field
        voice_table = tomlkit.table()
        _fill_voice(voice_table, member.voice)
        table["voice"] = voice_table


def render_cast(
    members: list[CastMember], narrator_voice: Voice, existing_text: str | None = None
) -> str:
    """The TOML text for this cast; with `existing_text`, that document edited in place."""
    doc = tomlkit.parse(existing_text) if existing_text else tomlkit.document()
    if not existing_text:
        for line in HEADER.splitlines():
            doc.add(tomlkit.comment(line))
        doc.add(tomlkit.nl())
    if not isinstance(doc.get("narrator"), Mapping):
        doc["narrator"] = tomlkit.table()
    _fill_voice(doc["narrator"], narrator_voice)
    if not isinstance(doc.get("characters"), Mapping):
        doc["characters"] = tomlkit.table(is_super_table=True)
    characters = doc["characters"]
    wanted = {member.name for member in members}
    for name in [name for name in characters if name not in wanted]:
        del characters[name]
    for member in members:
        if member.name not in characters:
            characters[member.name] = tomlkit.table()
        _fill_character(characters[member.name], member, narrator_voice)
    return tomlkit.dumps(doc)


def write_cast(path: str | Path, members: list[CastMember], narrator_voice: Voice) -> None:
    """Write cast.toml atomically; an existing file is edited in place (comments kept).

    Raises InputError if the existing file is not valid TOML: overwriting it would lose the
    user's edits, so they fix it first.
    """
    path = Path(path)
    existing = _parse(path).as_string() if path.exists() else None
    atomic_write_text(path, render_cast(members, narrator_voice, existing))


# ---------------------------------------------------------------- merge


def _keys(member: CastMember) -> list[str]:
    return [member.name.casefold(), *(alias.casefold() for alias in member.aliases)]


def _contradicts(member: CastMember, narrator_voice: Voice | None) -> bool:
    voice = member.voice
    if voice is None or voice == narrator_voice:
        return False
    both_known = member.gender in ("M", "F") and voice.gender in ("M", "F")
    return both_known and voice.gender != member.gender


def merge_cast(
    existing: list[CastMember],
    discovered: list[CastMember],
    narrator_voice: Voice | None = None,
) -> list[CastMember]:
    """Merge this run's characters into the file's (see the module doc for the rules).

    Returns the file's characters in file order (lines refreshed), then the new ones.
    `narrator_voice` exempts `voice = "narrator"` choices from the gender check.
    """
    by_name: dict[str, int] = {}
    by_alias: dict[str, int] = {}
    for index, member in enumerate(existing):
        by_name.setdefault(member.name.casefold(), index)
        for alias in member.aliases:
            by_alias.setdefault(alias.casefold(), index)

    found_lines: dict[int, int] = {}
    appended: list[CastMember] = []
    for member in discovered:
        keys = _keys(member)
        match = next((by_name[k] for k in keys if k in by_name), None)
        if match is None:
            match = next((by_alias[k] for k in keys if k in by_alias), None)
        if match is None:
            twin = next((m for m in appended if m.name.casefold() == keys[0]), None)
            if twin is None:
                appended.append(replace(member, aliases=list(member.aliases)))
            else:  # the same name reported twice: one character
                twin.lines += member.lines
        else:
            found_lines[match] = found_lines.get(match, 0) + member.lines

    merged = []
    for index, member in enumerate(existing):
        kept = replace(member, aliases=list(member.aliases))
        if index in found_lines:
            kept.lines = found_lines[index]
        if _contradicts(kept, narrator_voice):
            kept.voice = None
        merged.append(kept)
    return merged + appended


def apply_casting(members: list[CastMember], casting: Mapping[str, Voice]) -> list[CastMember]:
    """Copies of `members` with the caster's voices filled in (as write_cast wants them)."""
    return [
        replace(m, voice=casting.get(m.name, m.voice), aliases=list(m.aliases)) for m in members
    ]


def speaker_index(members: list[CastMember]) -> dict[str, str]:
    """Map every casefolded name and alias to its character's name (names win over aliases),
    so a speaker the attributor reports by a nickname finds the cast entry's voice."""
    index: dict[str, str] = {}
    for member in members:
        index.setdefault(member.name.casefold(), member.name)
    for member in members:
        for alias in member.aliases:
            index.setdefault(alias.casefold(), member.name)
    return index
