"""The Rule type shared by the normalisation rule modules, and small context helpers.

A rule is a compiled regex plus a replacement function. Rules run in a fixed order (see
normalize.RULES); every replacement produces words without digits, so a later rule never
re-reads what an earlier one wrote.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

Replacement = Callable[[re.Match[str]], str]


class Prefilter(Protocol):
    """A compiled regex, or anything else whose search(text) is falsy when the rule cannot
    match."""

    def search(self, text: str, /) -> object: ...


@dataclass(frozen=True)
class Rule:
    """One normalisation step.

    `prefilter`, when set, is searched first and the rule is skipped when it finds nothing:
    most sentences of a novel hold no digit, so the numeric rules cost one search each.
    `examples` are (written, spoken) pairs; the test suite checks every one through
    normalize(), so they document and pin the rule at once.
    """

    name: str
    pattern: re.Pattern[str]
    replace: Replacement
    examples: tuple[tuple[str, str], ...] = ()
    prefilter: Prefilter | None = None

    def apply(self, text: str) -> str:
        if self.prefilter is not None and not self.prefilter.search(text):
            return text
        return self.pattern.sub(self.replace, text)


HAS_DIGIT = re.compile(r"\d")

# Written numbers: grouped "1,234,567(.89)", plain "1234(.5)", or a bare decimal ".5".
NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"

# A minus sign only where a number starts a word: "-2", "(-3", "?-3", but not "covid-19"
# or "1-4".
SIGN = r"(?:(?<![\w\-−–])[-−])"

# Capitalised words that usually open a sentence. After an abbreviation's period they make
# the period a sentence end too ("... Elm St. It was ..."), and a capitalised word from
# this list is never a royal name before a Roman numeral ("May I", "Then I").
SENTENCE_STARTERS = frozenset((
    "A", "An", "The", "He", "She", "It", "They", "We", "I", "You", "This", "That", "These", "Those",
    "There", "Then", "Thus", "Here", "Now", "But", "And", "So", "Yet", "Or", "Nor", "For", "If",
    "When", "While", "After", "Before", "As", "At", "In", "On", "Of", "To", "By", "With", "From",
    "His", "Her", "Its", "Their", "Our", "My", "Your", "One", "What", "Who", "Whom", "Whose", "Why",
    "How", "Where", "Which", "No", "Yes", "Not", "All", "Some", "Many", "Much", "Most", "Such",
    "Each", "Every", "Both", "Either", "Neither", "Oh", "Ah", "Well", "Still", "Again", "Do",
    "Does", "Did", "Have", "Has", "Had", "Am", "Is", "Are", "Was", "Were", "Be", "May", "Might",
    "Can", "Could", "Shall", "Should", "Will", "Would", "Must", "Let", "Said", "Says", "Cried",
    "Replied", "Asked", "Thought", "Indeed", "Perhaps", "However", "Although", "Though", "Because",
    "Since", "Until", "Unless",
))  # fmt: skip

_NEXT_WORD = re.compile(r"\s+([\"'“‘(\[]?)([A-Za-z]+)")
_CLOSERS = "\"'”’)]»"


def sentence_may_end(text: str, pos: int, *, capital_is_enough: bool = False) -> bool:
    """Whether an abbreviation's period that ends at `pos` may also end the sentence.

    True at the end of the text (after any closing quotes), before an opening quote, and
    before a capitalised sentence-opening word; with capital_is_enough, before any
    capitalised word (right for "etc." and "Street", wrong for "U.S. Army").
    """
    rest = text[pos:]
    stripped = rest.lstrip(_CLOSERS)
    if not stripped.strip():
        return True
    match = _NEXT_WORD.match(stripped)
    if not match:
        return False
    if match.group(1):
        return True
    word = match.group(2)
    if not word[0].isupper():
        return False
    return capital_is_enough or word in SENTENCE_STARTERS


def spaced(match: re.Match[str], words: str) -> str:
    """Put spaces between spoken words and letters glued to the match: "12text" -> "twelve text"."""
    text = match.string
    start, end = match.span()
    before = " " if start > 0 and text[start - 1].isalpha() else ""
    after = " " if end < len(text) and text[end].isalpha() else ""
    return f"{before}{words}{after}"


def keep_case(source: str, words: str) -> str:
    """Capitalise the expansion when the abbreviation was capitalised: "E.g." -> "For example"."""
    if source[:1].isupper() and words[:1].islower():
        return words[0].upper() + words[1:]
    return words
