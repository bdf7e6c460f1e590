"""Find name-like mentions in prose: `Mr. Darcy`, `Elizabeth Bennet`, `the Mock Turtle`.

This is the raw material for the cast: every run of capitalised words (with an optional
title and an optional leading "the"), where it is, whether it opens a sentence, whether
it sits inside a quotation, and whether a place preposition precedes it ("at Netherfield").
Deciding which of these are people, and which name the same person, is characters.py.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache

from narration.cast.lexicon import GIVEN_NOT_NAMES, NOT_NAMES, TITLE_ALT, TITLES, words

_WORD = r"[A-Z][a-z]+(?:-[A-Za-z][a-z]+)*"
_PARTICLE = r"(?:de|De|du|van|von|der|den|le|la|di|da|del|ten|ter)"
_PARTICLES = words("de De du van von der den le la di da del ten ter")
_CANDIDATE = re.compile(
    rf"(?:\b(?P<the>[Tt]he)\s+)?"
    rf"(?:\b(?P<title>{TITLE_ALT})\.?\s+(?=(?:{_PARTICLE}\s+){{0,2}}[A-Z]))?"
    rf"(?P<name>(?:(?<=\s)(?:{_PARTICLE}\s+){{1,2}})?\b{_WORD}"
    rf"(?:[ \t]*\n?[ \t]*(?:{_PARTICLE}\s+){{0,2}}{_WORD}){{0,3}})"
)
_CONTRACTION = re.compile(r"['’](?:t|ll|re|ve|d|m|am)\b")
_PLACE_WORDS = words("at in to from near into of towards toward through around across within upon")
_ABBREVIATED = words("Mr Mrs Ms Mx Dr Col Capt Gen Lt Sgt Maj Prof Rev Messrs Mme Mlle M")
_PREV_WORD = re.compile(r"([A-Za-z]+)\W*$")


@dataclass(frozen=True)
class NameMention:
    """One name-like mention. `key` identifies the written form (see `name_key`)."""

    start: int
    end: int
    form: str  # as written, whitespace collapsed: "Mr. Darcy", "the March Hare"
    key: str
    title: str | None  # canonical title without period: "Mr", "Lady"; None if untitled
    words: tuple[str, ...]  # the name words after any title: ("Elizabeth", "Bennet")
    the: bool  # written with a leading "the" (the Hatter, the King)
    initial: bool  # first word of a sentence or of a quotation
    in_quote: bool
    place: bool  # preceded by a place preposition (at, in, to, from...)


def name_key(form: str) -> str:
    """Comparison key: lower case, no periods, no leading article, single spaces."""
    key = re.sub(r"\s+", " ", form.replace(".", " ")).strip().lower()
    return re.sub(r"^(?:the|a|an) ", "", key)


def _join_particles(words: list[str]) -> list[str]:
    """Keep "van der Luyden" and "de Bourgh" as one (surname) word."""
    joined: list[str] = []
    pending: list[str] = []
    for w in words:
        if w in _PARTICLES:
            pending.append(w)
            continue
        joined.append(" ".join([*pending, w]))
        pending = []
    return joined


def _canonical_title(raw: str) -> str:
    for title in TITLES:
        if title.lower() == raw.lower():
            return title
    return raw


def _sentence_initial(text: str, i: int) -> bool:
    j = i - 1
    while j >= 0 and text[j] in " \t\r\n\"'“”‘’([_*—-":
        if text[j] in "\"“‘'(" and (j == 0 or text[j - 1].isspace()):
            return True  # first word of a quotation or parenthesis
        if text[j] == "\n" and j > 0 and text[j - 1] == "\n":
            return True
        j -= 1
    return j < 0 or text[j] in ".!?:"


def _inside(spans: list[tuple[int, int]], starts: list[int], pos: int) -> bool:
    k = bisect.bisect_right(starts, pos) - 1
    return k >= 0 and spans[k][0] <= pos < spans[k][1]


def scan_names(text: str, quote_spans: list[tuple[int, int]]) -> list[NameMention]:
    """Every capitalised-name mention, leading non-name words (Poor, Dear, When) dropped."""
    return list(_scan(text, tuple(sorted(quote_spans))))


@lru_cache(maxsize=4)
def _scan(text: str, spans: tuple[tuple[int, int], ...]) -> tuple[NameMention, ...]:
    """scan_names, cached: discovery and attribution scan the same book several times."""
    starts = [s for s, _ in spans]
    found: list[NameMention] = []
    for m in _CANDIDATE.finditer(text):
        if _CONTRACTION.match(text, m.end()):
            continue
        words = _join_particles(re.split(r"\s+", m["name"]))
        start = m.start("name")
        if words and words[0].split()[0] in _PARTICLES and not m["title"]:
            continue  # "van der Luyden" without a title is too easily a phrase
        title = _canonical_title(m["title"]) if m["title"] else None
        the = bool(m["the"])
        # Drop leading words that are not names ("When Jane" -> "Jane").
        while words and words[0] in NOT_NAMES and not (the and words[0] in TITLES):
            if words[0] in GIVEN_NOT_NAMES and not m["title"] and not the:
                # "said May", "May Welland": maybe a given name (characters.py decides).
                if len(words) > 1 and words[1] not in NOT_NAMES:
                    break
                if not _sentence_initial(text, start):
                    break
            start = text.index(words[0], start) + len(words[0])
            words = words[1:]
            title, the = None, False
            while start < len(text) and text[start].isspace():
                start += 1
        end = m.end()
        # Drop trailing words that are not names ("Colonel Brandon Monday", "Miss Lucy Mrs").
        cut = len(words)
        for i in range(1, len(words)):
            if words[i] in NOT_NAMES or words[i] in TITLES:
                cut = i
                break
        if 0 < cut < len(words):
            words = words[:cut]
            last = words[-1].split()[-1]
            end = text.index(last, start) + len(last)
        if not words:
            continue
        if title is None and not the and words[0] in TITLES and len(words) > 1:
            title, words = words[0], words[1:]  # "Colonel Forster" written without period
        if m["title"] and title and m.start("name") == start:
            begin = m.start("title")
        elif the and m.start("name") == start:
            begin = m.start("the")
        else:
            begin = start
        if the and m.start("name") != start:
            the = False
        prefix = "the " if the else ""
        if title:
            prefix += f"{title}. " if title in _ABBREVIATED else f"{title} "
        form = prefix + " ".join(words)
        prev = _PREV_WORD.search(text, max(0, begin - 20), begin)
        place = bool(prev) and prev.group(1).lower() in _PLACE_WORDS and not title
        found.append(
            NameMention(
                start=begin,
                end=end,
                form=form,
                key=name_key(form),
                title=title,
                words=tuple(words),
                the=the,
                initial=_sentence_initial(text, begin),
                in_quote=_inside(spans, starts, begin),
                place=place,
            )
        )
    return tuple(found)
