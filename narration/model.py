"""Plain data classes that every stage shares: Book, Chapter, Block, Segment, Voice.

Stages depend on this module and on earlier stages only (ingest knows nothing of audio).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class BlockKind(str, Enum):
    """What a block of text is, which decides how it is read and paused."""

    PARAGRAPH = "paragraph"
    HEADING = "heading"
    VERSE_LINE = "verse_line"  # poetry: a line break is a short pause, not a run-on
    SECTION_BREAK = "section_break"  # a scene break (<hr/>, "* * *"): a long pause
    NOTE = "note"  # a footnote or endnote body, read only under a notes policy
    SPEAKER_TURN = "speaker_turn"  # a play or script turn with a named speaker


class Pause(str, Enum):
    """The pause that follows a segment, shortest to longest."""

    SENTENCE = "sentence"
    LINE = "line"
    PARAGRAPH = "paragraph"
    SECTION = "section"


@dataclass
class Block:
    """One run of text from the source: a paragraph, a verse line, a heading, a turn."""

    text: str
    kind: BlockKind = BlockKind.PARAGRAPH
    speaker: str | None = None  # set for plays and podcast scripts


@dataclass
class Chapter:
    """A chapter in reading order; its title comes from the table of contents."""

    index: int  # 1-based position among the chapters that will be voiced
    title: str
    blocks: list[Block] = field(default_factory=list)
    source_href: str = ""  # spine document (and #fragment) it came from

    @property
    def words(self) -> int:
        return sum(count_words(b.text) for b in self.blocks if b.kind != BlockKind.NOTE)


_WORD = re.compile(r"\S+")


def count_words(text: str) -> int:
    """Words in `text`; a huge block (a 50 MB paragraph) is counted without a list of them
    (split() would hold ten million strings at once, half a gigabyte)."""
    if len(text) < 1 << 20:
        return len(text.split())
    return sum(1 for _ in _WORD.finditer(text))


@dataclass
class SkippedSection:
    """A part of the source that is not voiced by default, and why."""

    title: str
    reason: str


@dataclass
class Book:
    """A parsed book: metadata plus the chapters to voice."""

    title: str
    author: str
    language: str = "en"
    chapters: list[Chapter] = field(default_factory=list)
    skipped: list[SkippedSection] = field(default_factory=list)
    cover_image: bytes | None = None
    cover_mime: str | None = None
    source_path: str = ""
    # Recoverable defects of the input, read past (a missing document, a TOC entry pointing
    # nowhere): each one line, said when the book is read and listed in the job's report.
    defects: list[str] = field(default_factory=list)

    @property
    def words(self) -> int:
        return sum(c.words for c in self.chapters)


@dataclass(frozen=True)
class Voice:
    """A voice an engine can speak with.

    `params` are engine parameters (e.g. Piper's length_scale); `effects` are post-synthesis
    transforms (e.g. a pitch/formant shift that derives a character voice from one model).
    Both are part of every segment key, so changing either re-renders only that voice.
    """

    engine: str
    model_id: str
    name: str = ""
    params: tuple[tuple[str, Any], ...] = ()
    effects: tuple[tuple[str, Any], ...] = ()
    gender: str = "U"  # M / F / U: used by the caster

    def param(self, key: str, default: Any = None) -> Any:
        return dict(self.params).get(key, default)

    def effect(self, key: str, default: Any = None) -> Any:
        return dict(self.effects).get(key, default)

    def fingerprint(self) -> str:
        payload = json.dumps(
            {
                "engine": self.engine,
                "model": self.model_id,
                "params": self.params,
                "fx": self.effects,
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass
class Segment:
    """One unit of synthesis: a few sentences from one speaker, with the pause that follows."""

    chapter_index: int
    index: int  # position within the chapter
    text: str  # source text, for people
    spoken_text: str  # normalised text that is actually synthesised (and hashed)
    pause_after: Pause = Pause.SENTENCE
    kind: str = "narration"  # narration / dialogue
    speaker: str = "narrator"
    key: str = ""  # content address of the rendered audio

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["pause_after"] = self.pause_after.value
        return row
