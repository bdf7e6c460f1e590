"""Plain data classes for a podcast episode: metadata, chapters, turns, cues and events.

A turn's text is kept as pieces (strings and `Cue`s) rather than one string, because what a
cue becomes depends on the engine that speaks the turn (ChatTTS has a `[laugh]` token, Piper
has nothing), and that is known only once the speaker has a voice.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cue:
    """A non-verbal sound written in the text: `name` is neutral ("laugh"), `source` the
    words as written ("laughs"), kept for transcripts."""

    name: str
    source: str


Piece = str | Cue


@dataclass
class Turn:
    """What one speaker says before the next speaks: one or more paragraphs.

    `speaker` None is untagged text before any speaker (read by the host)."""

    speaker: str | None
    paragraphs: list[tuple[Piece, ...]] = field(default_factory=list)
    line: int = 0  # 1-based line in the source file, for messages

    def transcript(self) -> list[str]:
        """The paragraphs as a reader sees them, cues in brackets as written."""
        return [
            join_words(p if isinstance(p, str) else f"[{p.source}]" for p in paragraph)
            for paragraph in self.paragraphs
        ]

    def spoken(self, tokens: dict[str, str] | None = None) -> list[str]:
        """The paragraphs as an engine is given them: each cue becomes `tokens[cue.name]`,
        or nothing when the engine has no token for it."""
        tokens = tokens or {}
        result = []
        for paragraph in self.paragraphs:
            text = ""
            for piece in paragraph:
                if isinstance(piece, str):
                    text = join_words((text, piece))
                elif piece.name in tokens:
                    text = _place_token(text, tokens[piece.name])
            if text:
                result.append(text)
        return result

    @property
    def words(self) -> int:
        return sum(len(p.split()) for p in self.spoken())


@dataclass
class Event:
    """Something in the running order that is not spoken: `kind` "music" (a music cue
    posing as a speaker, "**Song of Arrakis:** [07:18]") or "direction" (a stage direction)."""

    kind: str
    text: str
    line: int = 0


@dataclass
class EpisodeChapter:
    title: str
    items: list[Turn | Event] = field(default_factory=list)

    @property
    def turns(self) -> list[Turn]:
        return [item for item in self.items if isinstance(item, Turn)]


@dataclass
class EpisodeMeta:
    """Front matter: every field optional. `cast` maps a speaker to a voice (a voice name,
    or a table as in cast.toml); `extra` keeps keys this module does not know."""

    title: str = ""
    show: str = ""
    number: int | None = None
    season: int | None = None
    date: datetime.date | None = None
    description: str = ""
    host: str | None = None
    cast: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Episode:
    """A script as read. The job fills in what it decided (narration.podcast.job): the
    host's intro and outro lines as spoken, and the music files ({"intro"/"outro": path}),
    which the music mixer reads after mastering (narration.podcast.music)."""

    meta: EpisodeMeta
    chapters: list[EpisodeChapter] = field(default_factory=list)
    source_path: str = ""
    intro_lines: list[str] = field(default_factory=list)
    outro_lines: list[str] = field(default_factory=list)
    music: dict[str, str] = field(default_factory=dict)

    @property
    def turns(self) -> list[Turn]:
        return [turn for chapter in self.chapters for turn in chapter.turns]

    def line_counts(self) -> Counter[str]:
        """Turns per named speaker."""
        return Counter(turn.speaker for turn in self.turns if turn.speaker)

    @property
    def speakers(self) -> list[str]:
        """Named speakers in order of first appearance."""
        return list(dict.fromkeys(turn.speaker for turn in self.turns if turn.speaker))

    @property
    def host(self) -> str | None:
        """Who reads the intro and outro: the front matter's host, else the first speaker."""
        if self.meta.host:
            return self.meta.host
        speakers = self.speakers
        return speakers[0] if speakers else None


_TRAILING_PUNCT = ".!?…"
_CLOSERS = "\"'”’)»"
_NO_SPACE_BEFORE = ",.;:!?…”’)»"


def join_words(parts: Any) -> str:
    """Join pieces with single spaces, none before punctuation (a cue dropped from
    "great [laughs]." must not leave "great .")."""
    text = ""
    for part in parts:
        part = " ".join(part.split())
        if not part:
            continue
        if text and part[0] not in _NO_SPACE_BEFORE:
            text += " "
        text += part
    return text


def _place_token(text: str, token: str) -> str:
    """A cue after a sentence's end goes before its final punctuation ("great [laugh]."):
    on its own it would be planned as a sentence with nothing to say."""
    body = text.rstrip(_CLOSERS)
    if body and body[-1] in _TRAILING_PUNCT:
        cut = len(body)
        while cut and body[cut - 1] in _TRAILING_PUNCT:
            cut -= 1
        return join_words((text[:cut], token)) + text[cut:]
    return join_words((text, token))
