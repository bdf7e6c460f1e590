"""Rules for dotted acronyms, initials, leftover symbols and spacing.

espeak (under Piper) ends a sentence at "U.S." and at the "C." of "C. S. Lewis"; the
periods go, the letters stay, so "US Army" and "CS Lewis" are read as letters in one breath.
"""

from __future__ import annotations

import re

from narration.text.rulebase import SENTENCE_STARTERS, Rule, sentence_may_end


def _acronym(match: re.Match[str]) -> str:
    letters = re.sub(r"[.\s]", "", match.group(0))
    period = "." if sentence_may_end(match.string, match.end()) else ""
    return letters + period


DOTTED_ACRONYMS = Rule(
    "dotted_acronyms",
    re.compile(r"(?<![\w.])(?:[A-Z]\.\s?)+[A-Z]\.(?!\w)"),
    _acronym,
    (
        ("C. S. Lewis", "CS Lewis"),
        ("the U.S. Army", "the US Army"),
        ("born in the U.S.A.", "born in the USA."),
    ),
    prefilter=re.compile(r"[A-Z]\.\s?[A-Z]\."),
)


def _initial(match: re.Match[str]) -> str:
    following = match["next"]
    if following in SENTENCE_STARTERS:
        return match.group(0)
    return match["letter"] + match["space"] + following


# A single initial before a surname: "T. Egerton" -> "T Egerton". "A" and "I" are words, and
# a sentence-opening word after the period means the period ends a sentence ("Plan B. Then").
INITIALS = Rule(
    "initials",
    re.compile(r"(?<![\w.])(?P<letter>[B-HJ-Z])\.(?P<space>\s+)(?P<next>[A-Z][A-Za-z]+)"),
    _initial,
    (
        ("Printed for T. Egerton", "Printed for T Egerton"),
        ("E. GARDINER.", "E GARDINER."),
        ("It was Plan B. Then we left", "It was Plan B. Then we left"),
    ),
    prefilter=re.compile(r"[B-HJ-Z]\.\s"),  # no \b: the engine then skips to the letters
)

_SYMBOL_WORDS = {
    "&": "and", "+": "plus", "=": "equals", "°": "degrees", "º": "degrees", "§": "section",
    "¶": "paragraph", "@": "at", "×": "times", "%": "percent", "‰": "per mille", "#": "hash",
    "$": "dollar", "€": "euro", "£": "pound", "¥": "yen", "₩": "won", "₹": "rupee",
}  # fmt: skip


def _symbol(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    before = " " if start > 0 and not text[start - 1].isspace() else ""
    after = " " if end < len(text) and not text[end].isspace() else ""
    return f"{before}{_SYMBOL_WORDS[match.group(0)]}{after}"


SYMBOLS = Rule(
    "symbols",
    re.compile("[" + re.escape("".join(_SYMBOL_WORDS)) + "]"),
    _symbol,
    (
        ("Smith & Sons", "Smith and Sons"),
        ("x + y = z", "x plus y equals z"),
        ("§ and ¶", "section and paragraph"),
    ),
    prefilter=re.compile("[" + re.escape("".join(_SYMBOL_WORDS)) + "]"),
)

_SPACE_RUNS = re.compile(r"[ \t]{2,}")


def tidy_spaces(text: str) -> str:
    """Collapse the runs of spaces that replacements leave and trim the ends."""
    return _SPACE_RUNS.sub(" ", text).strip()
