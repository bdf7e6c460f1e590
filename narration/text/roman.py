"""Roman numerals, read only where they are numerals.

Three contexts make an upper-case Roman numeral a number; everywhere else it is a word
("I", "MIX", "CIVIL", "DC") and is left alone:

1. after a numbering word: "Chapter IV" -> "Chapter four", "World War II" -> "World War two";
2. after a name, as a regnal number: "Henry VIII" -> "Henry the eighth" (up to XXXIX, so
   "Wilson MD" stays);
3. as a whole heading: "XII." -> "twelve.".

The pronoun "I" is the hard case. It becomes "the first" only after a name and before
punctuation ("Francis I, king"), never before a word ("Sam I am", "May I come in?"), and
never after a sentence-opening or modal word ("May I?").
"""

from __future__ import annotations

import re

from narration.text import numbers
from narration.text.rulebase import SENTENCE_STARTERS, Rule

_ROMAN = r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
_VALID_ROMAN = re.compile(rf"(?:{_ROMAN})")
_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def roman_value(numeral: str) -> int | None:
    """ "XIV" -> 14; None for anything that is not a well-formed numeral ("IIII", "MIXX")."""
    numeral = numeral.upper()
    if not numeral or not _VALID_ROMAN.fullmatch(numeral):
        return None
    total = 0
    for i, ch in enumerate(numeral):
        value = _VALUES[ch]
        if i + 1 < len(numeral) and _VALUES[numeral[i + 1]] > value:
            total -= value
        else:
            total += value
    return total


_TRIGGERS = (
    "chapter|book|part|volume|vol\\.|act|scene|canto|section|article|appendix|psalm|letter"
    "|phase|stage|level|class|type|grade|title|series|number|plate|figure|table|lesson|unit"
    "|episode|season|stave|fytte|world war"
)
# A lone "I" after a numbering word must be followed by punctuation, the end, or a word a
# pronoun never precedes; "for my part I think" keeps its pronoun.
_LONE_I_FOLLOW = r"(?=\s*$|\s*[.,:;!?)\]—–-]|\s+(?:of|and|in|to|from|the|a)\b)"

_AFTER_TRIGGER = re.compile(
    rf"\b(?P<trigger>(?i:{_TRIGGERS}))(?P<space>\s+)"
    rf"(?P<roman>(?=[IVXLCDM]{{2,}}\b|[VX]\b){_ROMAN}|I{_LONE_I_FOLLOW}|(?<=[Ww]ar\s)I"
    r"|(?<=WAR\s)I|(?=[ivxlc]{2,}\b)[ivxlc]+)(?![\w'’-])"
)


class _TriggerThenRoman:
    """Whether AFTER_NUMBERING_WORD can match: a whole word of Roman letters after a space
    (upper case, or two or more lower case) whose previous word is a numbering word. Found
    from the numeral back, because the pattern itself, led by thirty case-blind words, is
    tried at every character; most sentences have no numeral but the pronoun "I"."""

    _NUMERAL = re.compile(r"\s(?:[IVXLCDM]+|[ivxlc]{2,})(?![\w'’-])")
    _TRIGGER_BEFORE = re.compile(rf"\b(?i:{_TRIGGERS})\s*$")
    _LONGEST_TRIGGER = max(len(t) for t in _TRIGGERS.split("|"))

    def search(self, text: str) -> bool:
        for numeral in self._NUMERAL.finditer(text):
            end = numeral.start() + 1
            while end > 0 and text[end - 1].isspace():
                end -= 1
            start = max(0, end - self._LONGEST_TRIGGER - 1)  # one more for the \b
            if self._TRIGGER_BEFORE.search(text, start, end):
                return True
        return False


def _after_trigger(match: re.Match[str]) -> str:
    value = roman_value(match["roman"])
    lone_pronoun = match["roman"] == "I" and match["trigger"].islower()
    if value is None or (lone_pronoun and match["trigger"] != "world war"):
        return match.group(0)
    return f"{match['trigger']}{match['space']}{numbers.cardinal(value)}"


AFTER_NUMBERING_WORD = Rule(
    "roman_after_numbering_word",
    _AFTER_TRIGGER,
    _after_trigger,
    (
        ("Chapter IV", "Chapter four"),
        ("CHAPTER I.", "CHAPTER one."),
        ("PART XL", "PART forty"),
        ("World War II ended", "World War two ended"),
        ("World War I began", "World War one began"),
        ("Appendix C", "Appendix C"),
        ("act iii, scene ii", "act three, scene two"),
        ("for my part I think", "for my part I think"),
    ),
    prefilter=_TriggerThenRoman(),
)

_REGNAL = r"X{0,3}(?:IX|IV|V?I{0,3})"
_AFTER_NAME = re.compile(
    rf"\b(?P<name>[A-Z][a-z]+)(?P<space>\s)(?P<roman>(?=[IVX]{{2,}}\b|[VX]\b){_REGNAL}"
    rf"|I(?=\s*$|\s*[.,:;!?)\]—–]|--|['’]s\b))(?![\w])(?!-(?!-))(?!['’](?!s\b))"
)
# Names where a following "X" or "V" is a letter, not a regnal number ("Malcolm X").
_NOT_REGNAL = frozenset((
    "Malcolm", "Generation", "Project", "Planet", "Agent", "Brand", "Plan", "Mister", "Doctor",
    "Factor", "Vitamin",
))  # fmt: skip


def _after_name(match: re.Match[str]) -> str:
    name = match["name"]
    if name in SENTENCE_STARTERS or name in _NOT_REGNAL:
        return match.group(0)
    value = roman_value(match["roman"])
    if value is None:
        return match.group(0)
    return f"{name}{match['space']}the {numbers.ordinal(value)}"


AFTER_NAME = Rule(
    "roman_regnal_number",
    _AFTER_NAME,
    _after_name,
    (
        ("Henry VIII", "Henry the eighth"),
        ("Louis XIV's court", "Louis the fourteenth's court"),
        ("Francis I, king", "Francis the first, king"),
        ("Sam and I", "Sam and I"),
        ("Sam I am", "Sam I am"),
        ("May I?", "May I?"),
        ("Wilson MD", "Wilson MD"),
        ("a MIX of CIVIL words", "a MIX of CIVIL words"),
    ),
    prefilter=re.compile(r"[IVX]"),
)

_HEADING = re.compile(
    rf"^(?P<lead>\s*)(?P<roman>(?=[IVXLCDM]{{2,}}\b|[VX]\b|I\.){_ROMAN})"
    r"(?P<tail>\.?\s*$|\.\s+(?=[A-Z\"“]))"
)


def _heading(match: re.Match[str]) -> str:
    value = roman_value(match["roman"])
    if value is None:
        return match.group(0)
    return f"{match['lead']}{numbers.cardinal(value).capitalize()}{match['tail']}"


HEADING = Rule(
    "roman_heading",
    _HEADING,
    _heading,
    (("XII.", "Twelve."), ("IV. The Return", "Four. The Return"), ("I", "I")),
    prefilter=re.compile(r"^\s*[IVXLCDM]"),
)
