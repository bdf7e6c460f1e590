"""Chapter titles as a listener meets them: title case for titles set in capitals, and a
parent's title carried by its children.

Titles set in capitals ("192 THE REAL PRINCESS") are typography, not emphasis: shown in a
player's chapter list and spoken by a voice they read better in title case ("192 The Real
Princess"). Roman numerals stay in capitals ("Chapter XII"), and so do titles that already
mix cases: those are the author's or publisher's choice.
"""

from __future__ import annotations

import re

_SMALL_WORDS = {
    "a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "nor", "of", "on",
    "or", "over", "the", "to", "upon", "via", "vs", "with",
}  # fmt: skip
_ROMAN = re.compile(r"M{0,4}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})")
# Words after which a numeral is a number, even one that could be a word ("Chapter LIV").
_NUMBERING_WORDS = {
    "act", "appendix", "book", "canto", "chapter", "letter", "no", "number", "part", "psalm",
    "scene", "section", "stave", "vol", "volume",
}  # fmt: skip
_PARTS = re.compile(r"([-—–/])")  # hyphenated and dashed compounds: each part is cased
_CORE = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)


def display_title(title: str) -> str:
    """`title` in title case when it is set all in capitals; otherwise unchanged."""
    letters = [c for c in title if c.isalpha()]
    if len(letters) < 2 or any(c.islower() for c in letters) or not title.isupper():
        return title
    words = title.split(" ")
    out: list[str] = []
    previous = ""
    for position, word in enumerate(words):
        is_edge = position == 0 or position == len(words) - 1 or _ends_phrase(previous)
        out.append(_case_word(word, previous, is_edge, alone=len(words) == 1))
        if word:
            previous = word
    return " ".join(out)


def _ends_phrase(word: str) -> bool:
    """After "I." or "192" or "Part:" a new phrase starts, so its small word is capitalised."""
    core = _CORE.match(word)
    stripped = core.group(2) if core else word
    return bool(re.search(r"[.:!?—–-]$", word)) or stripped.isdigit() or _is_numeral(word, "")


def _is_numeral(word: str, previous: str, alone: bool = False) -> bool:
    core = _CORE.match(word)
    value = core.group(2) if core else word
    if not value or not _ROMAN.fullmatch(value):
        return False
    # I, V and X alone make words only as "I"; L, C, D, M make many ("MIX", "DC", "LI"),
    # so those count as numerals only where a number is expected ("Chapter LIV", "LXI.").
    after_numbering = _plain(previous) in _NUMBERING_WORDS
    return set(value) <= set("IVX") or after_numbering or word.endswith(".") or alone


def _plain(word: str) -> str:
    return re.sub(r"\W", "", word).casefold()


def _case_word(word: str, previous: str, is_edge: bool, alone: bool) -> str:
    if _is_numeral(word, previous, alone):
        return word
    pieces = _PARTS.split(word)
    cased = []
    for index, piece in enumerate(pieces):
        lead, core, trail = _CORE.match(piece).groups()  # type: ignore[union-attr]
        # A small word opening a quotation or a bracket starts a phrase: capitalised.
        small = core.casefold() in _SMALL_WORDS and not (is_edge or lead or index)
        cased.append(lead + (core.lower() if small else _capitalise(core)) + trail)
    return "".join(cased)


def _capitalise(core: str) -> str:
    # "O'BRIEN" -> "O'Brien", but "EMPEROR'S" -> "Emperor's".
    match = re.match(r"^([A-Z])(['’])([A-Z].*)$", core)
    if match:
        return match.group(1) + match.group(2) + _capitalise(match.group(3))
    return core[:1].upper() + core[1:].lower()


def _tokens(text: str) -> list[str]:
    return re.sub(r"[^\w\s]", " ", text.casefold()).split()


def says_already(title: str, context: str) -> bool:
    """True when `title` already names `context` ("A Scandal in Bohemia, Part I" under "A
    Scandal in Bohemia"), so prefixing it again would say it twice."""
    small, big = _tokens(context), _tokens(title)
    if not small:
        return True
    return any(big[i : i + len(small)] == small for i in range(len(big) - len(small) + 1))


def join_titles(parts: list[str]) -> str:
    """The parts joined as "Part One: Chapter 1", each in display case, colons not doubled."""
    kept = [part.strip() for part in parts if part.strip(" :")]
    if not kept:  # nothing but separators: say what there is rather than nothing
        return " ".join(" ".join(parts).split())
    heads = [display_title(part.rstrip(" :")) for part in kept[:-1]]
    return ": ".join([*heads, display_title(kept[-1])])
