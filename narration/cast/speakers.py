"""Who speaks each segment: attribution over the whole book, the cast file, and voices.

The book's voiced text is attributed once as one document (so speech tags, anaphora and
turn-taking see across paragraphs), cached in the output folder by a hash of the text and
of the attribution code, and mapped back onto blocks as runs: narration between quotation
pieces, dialogue for each piece with its speaker. The cast file (cast.toml) is written on the
first run and read on later ones, so a user's fix to a name or voice holds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

from narration.atomic import atomic_write_text
from narration.cast import attribute as attribute_module
from narration.cast.attribute import UNKNOWN, AttributedQuote, attribute, with_line_counts
from narration.cast.castfile import (
    CastMember,
    apply_casting,
    merge_cast,
    read_cast,
    render_cast,
    speaker_index,
)
from narration.cast.characters import NARRATOR as FIRST_PERSON_NARRATOR
from narration.cast.characters import Character
from narration.cast.voices import cast_voices
from narration.model import Book, Chapter, Voice
from narration.plan import NARRATOR, SpeechRun, block_runs

_QUOTE_MARKS = "\"'“”‘’«»—– "
_CAST_SOURCES = sorted(Path(attribute_module.__file__).parent.glob("*.py"))


@dataclass(frozen=True)
class Dialogue:
    pieces: tuple[tuple[int, int], ...]
    speaker: str
    confidence: float


@dataclass
class BookText:
    """The voiced chapters as one document, and where each block sits in it."""

    text: str
    spans: dict[tuple[int, int], tuple[int, int]]  # (chapter index, block no.) -> (start, end)


def book_text(book: Book) -> BookText:
    parts: list[str] = []
    spans: dict[tuple[int, int], tuple[int, int]] = {}
    position = 0
    for chapter in book.chapters:
        for number, block in enumerate(chapter.blocks):
            spans[(chapter.index, number)] = (position, position + len(block.text))
            parts.append(block.text)
            position += len(block.text) + 2
    return BookText("\n\n".join(parts), spans)


def _code_version() -> str:
    digest = hashlib.sha256()
    for path in _CAST_SOURCES:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def attribute_cached(text: str, cache_path: Path) -> tuple[list[Dialogue], list[Character]]:
    """attribute() on the book text, cached on disk: a re-run that changes nothing must not
    spend seconds re-attributing a novel before it can say "up to date"."""
    key = hashlib.sha256(text.encode()).hexdigest() + _code_version()
    try:
        cached = json.loads(cache_path.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            dialogue = [
                Dialogue(tuple(map(tuple, d["pieces"])), d["speaker"], d["confidence"])
                for d in cached["quotes"]
            ]
            return dialogue, [Character(**c) for c in cached["characters"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    quotes: list[AttributedQuote] = attribute(text)
    characters = [c for c in with_line_counts(_characters(text), quotes) if c.lines > 0]
    dialogue = [Dialogue(tuple(q.quotation.pieces), q.speaker, q.confidence) for q in quotes]
    payload = {
        "key": key,
        "quotes": [
            {"pieces": d.pieces, "speaker": d.speaker, "confidence": d.confidence} for d in dialogue
        ],
        "characters": [c.__dict__ for c in characters],
    }
    atomic_write_text(cache_path, json.dumps(payload))
    return dialogue, characters


def _characters(text: str) -> list[Character]:
    from narration.cast.characters import discover_characters

    return discover_characters(text)


def _narration(text: str) -> str:
    """A stretch between quotation pieces, without the quote marks and joining commas."""
    return text.strip(_QUOTE_MARKS + ",;:")


def runs_for_block(
    block_text: str, start: int, pieces: list[tuple[int, int, str]]
) -> list[SpeechRun]:
    """Split a block at the quotation pieces inside it (absolute offsets, sorted)."""
    runs: list[SpeechRun] = []
    cursor = 0
    for piece_start, piece_end, speaker in pieces:
        lo, hi = max(piece_start - start, 0), min(piece_end - start, len(block_text))
        if hi <= lo:
            continue
        between = block_text[cursor:lo]
        if _narration(between):
            runs.append(SpeechRun(_narration(between)))
        runs.append(SpeechRun(block_text[lo:hi].strip(), "dialogue", speaker))
        cursor = hi
    rest = block_text[cursor:]
    if _narration(rest):
        runs.append(SpeechRun(rest.strip().lstrip(_QUOTE_MARKS + ",;:")))
    return runs


class BookAttributor:
    """An Attributor (see narration.plan) backed by whole-book attribution."""

    def __init__(self, layout: BookText, dialogue: list[Dialogue], names: dict[str, str]):
        self.layout = layout
        self.pieces = sorted(
            (s, e, names.get(d.speaker.casefold(), d.speaker))
            for d in dialogue
            for s, e in d.pieces
        )

    def __call__(self, chapter: Chapter) -> list[list[SpeechRun]]:
        import bisect

        starts = [p[0] for p in self.pieces]
        result = []
        for number, block in enumerate(chapter.blocks):
            span = self.layout.spans.get((chapter.index, number))
            if span is None or block.speaker:
                result.append(block_runs(block))
                continue
            start, end = span
            lo = bisect.bisect_left(starts, start)
            inside = []
            for piece in self.pieces[max(lo - 1, 0) :]:
                if piece[0] >= end:
                    break
                if piece[1] > start:
                    inside.append(piece)
            result.append(
                runs_for_block(block.text, start, inside) if inside else block_runs(block)
            )
        return result


def _routed(members: list[CastMember], narrator: Voice, engines: set[str]) -> list[CastMember]:
    """Characters whose voice belongs to an engine that no longer speaks dialogue (the user
    switched --dialogue-engine) are cast again from the new engine's voices."""
    return [
        m
        if m.voice is None or m.voice == narrator or m.voice.engine in engines
        else replace(m, voice=None)
        for m in members
    ]


def _first_person(members: list[CastMember]) -> str | None:
    """The cast's name for the first-person narrator: the character named "Narrator" or
    aliased so, or (a user's rename that dropped that alias) the one aliased "I"."""
    index = speaker_index(members)
    return index.get(FIRST_PERSON_NARRATOR.casefold()) or index.get("i")


def _first_person_as_narrator(members: list[CastMember], narrator: Voice) -> list[CastMember]:
    """A first-person narrator's own quoted lines are read in the narrator's voice ("I said"
    is the same person as the narration), so the cast says so: that character's voice is
    the narrator's (written `voice = "narrator"`), whatever the file had, and takes none of
    the distinct voices the other characters need."""
    first_person = _first_person(members)
    return [replace(m, voice=narrator) if m.name == first_person else m for m in members]


def cast_book(
    book: Book, out_dir: Path, narrator_default: Voice, engine_voices: list[Voice]
) -> tuple[BookAttributor, dict[str, Voice], list[CastMember]]:
    """Attribute, merge with cast.toml, cast voices, write cast.toml if it changed."""
    layout = book_text(book)
    dialogue, characters = attribute_cached(layout.text, out_dir / ".cache" / "attribution.json")
    discovered = [
        CastMember(c.name, list(c.aliases), c.gender, c.lines)
        for c in characters
        if c.name != UNKNOWN
    ]
    cast_path = out_dir / "cast.toml"
    existing_text = cast_path.read_text(encoding="utf-8") if cast_path.is_file() else None
    narrator_voice, existing = read_cast(cast_path) if existing_text else (narrator_default, [])
    cloned = narrator_default.param("prompt_sha256") is not None
    if narrator_voice.engine != narrator_default.engine or (
        cloned and narrator_voice != narrator_default
    ):
        # another narration engine, or a prompt clip given for this run: it is the narrator,
        # and characters the narrator read (voice = "narrator") go on being read by them
        existing = [
            replace(m, voice=narrator_default) if m.voice == narrator_voice else m for m in existing
        ]
        narrator_voice = narrator_default
    existing = _routed(existing, narrator_voice, {v.engine for v in engine_voices})
    members = _first_person_as_narrator(
        merge_cast(existing, discovered, narrator_voice), narrator_voice
    )
    others = [v for v in engine_voices if v != narrator_voice]
    casting = cast_voices(members, narrator_voice, others)
    members = apply_casting(members, casting)
    text = render_cast(members, narrator_voice, existing_text)
    if text != existing_text:
        atomic_write_text(cast_path, text)
    voices = {NARRATOR: narrator_voice, FIRST_PERSON_NARRATOR: narrator_voice}
    for member in members:
        voices[member.name] = member.voice or narrator_voice
    names = speaker_index(members)
    first_person = _first_person(members)
    if first_person:  # attribution calls them "Narrator", whatever the file calls them
        names[FIRST_PERSON_NARRATOR.casefold()] = first_person
    return BookAttributor(layout, dialogue, names), voices, members
