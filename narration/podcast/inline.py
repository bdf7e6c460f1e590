"""Inline text of one paragraph of a script -> pieces: words to say, and non-verbal cues.

Transcripts are full of things that must not be read aloud: Markdown escapes and emphasis,
links, timestamps (`\\[00:11:37.19\\]`, `[11:37]`), transcriber's markers (`[unintelligible
00:07:38.13]`, `[crosstalk]`) and stage directions (`[to Bob]`). A bracketed non-verbal sound
(`[laughs]`, `(sighs)`) is kept as a `Cue`, which an engine with a matching token voices.
Round brackets are ordinary punctuation in speech, so only a cue or a timestamp inside them
is taken out; anything else in them stays.
"""

from __future__ import annotations

import re

from narration.podcast.model import Cue, Piece, join_words

# Neutral cue names and the words transcripts use for them. An engine maps a name to its own
# token (each engine's `cue_tokens`); names it lacks are dropped.
CUE_WORDS: dict[str, tuple[str, ...]] = {
    "laugh": ("laugh", "laughs", "laughing", "laughter", "chuckle", "chuckles", "chuckling",
              "giggle", "giggles", "giggling"),
    "sigh": ("sigh", "sighs", "sighing"),
    "breath": ("breath", "breathes", "inhales", "exhales", "breathing", "gasps"),
    "pause": ("pause", "pauses", "beat", "silence", "long pause"),
    "cough": ("cough", "coughs", "coughing", "clears throat", "clears his throat",
              "clears her throat"),
}  # fmt: skip
_CUE_BY_WORD = {word: name for name, words in CUE_WORDS.items() for word in words}

_TIMESTAMP = re.compile(r"\d{1,2}(?::\d{2}){1,2}(?:[.,]\d{1,3})?")
# Transcriber's markers: never spoken, with or without a timestamp inside.
_MARKER = re.compile(
    r"(?:unintelligible|inaudible|indiscernible|incomprehensible|crosstalk|cross-talk|"
    r"overlapping|audio (?:cuts|drops)|static|\?+)\b",
    re.IGNORECASE,
)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"(?<!\\)\[([^\]\\]+)\]\((?:[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~])")
_EMPHASIS = re.compile(r"(?<![\w*\\])(\*{1,3}|_{1,3})(?=\S)(.+?)(?<=[^\s\\])\1(?![\w*])")
_CODE = re.compile(r"`([^`]*)`")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_BRACKETED = re.compile(r"\[([^\[\]]*)\]|\(([^()]*)\)")
_WORD = re.compile(r"\w")


def markdown_to_plain(text: str) -> str:
    """Markdown markup removed, escapes resolved; brackets are left for `pieces`."""
    text = _IMAGE.sub("", text)  # alt text is not read
    text = _LINK.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    text = _EMPHASIS.sub(r"\2", text)
    # Escaped brackets become real ones, so "\[laughs\]" is a cue like "[laughs]".
    return _ESCAPE.sub(r"\1", text)


def classify(inner: str) -> Cue | str | None:
    """What a bracketed note is: a Cue, "drop" (timestamp, marker, direction), or None
    (not a note: round brackets in ordinary speech)."""
    words = " ".join(inner.lower().strip(" .!*_").split())
    if words in _CUE_BY_WORD:
        return Cue(_CUE_BY_WORD[words], inner.strip())
    if _TIMESTAMP.fullmatch(words) or _MARKER.match(words) or _TIMESTAMP.search(words):
        return "drop"
    return None


def pieces(text: str, *, markdown: bool = True) -> tuple[Piece, ...]:
    """Split one paragraph into words and cues, dropping what is not to be spoken.

    Square brackets hold notes, never speech, so an unknown one is a stage direction and
    dropped; round brackets are dropped only around a cue or a timestamp."""
    if markdown:
        text = markdown_to_plain(text)
    result: list[Piece] = []
    position = 0
    for match in _BRACKETED.finditer(text):
        square = match.group(1) is not None
        inner = match.group(1) if square else match.group(2)
        kind = classify(inner)
        if kind is None and not square:
            continue  # a parenthesis in speech: keep it as text
        result.append(text[position : match.start()])
        if isinstance(kind, Cue):
            result.append(kind)
        position = match.end()
    result.append(text[position:])
    merged: list[Piece] = []
    for piece in result:
        if isinstance(piece, str):
            piece = " ".join(piece.split())
            if not piece:
                continue
            if merged and isinstance(merged[-1], str):
                merged[-1] = join_words((merged[-1], piece))
                continue
        merged.append(piece)
    return tuple(merged)


def has_words(parts: tuple[Piece, ...]) -> bool:
    """Whether anything in `parts` would be spoken (cues alone are not a line)."""
    return any(isinstance(p, str) and _WORD.search(p) for p in parts)


_LEADING_DIRECTION = re.compile(r"\s*\(([^()]{1,60})\)\s*")


def strip_leading_direction(text: str) -> str:
    """A play's `HAMLET: (aside) A little more than kin`: a short parenthesis right after
    the speaker's name is a direction to the actor, not speech."""
    match = _LEADING_DIRECTION.match(text)
    if match and len(match.group(1).split()) <= 5 and text[match.end() :].strip():
        return text[match.end() :]
    return text
