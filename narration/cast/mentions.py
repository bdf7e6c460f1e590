"""Character mentions in text order: names, plus narration pronouns resolved by a chain.

Names come from names.py, mapped to the cast. A name counts as a subject when it opens a
sentence or is followed by a verb ("and Elizabeth smiled"). In narration (paragraphs
without quotations, and the lead-in before a paragraph's first quotation) each "he"/"she"
is taken to mean the latest character of that gender the narration named or meant,
within the last two paragraphs and not across a chapter heading: "Elizabeth ... She grew
ashamed ... she cried" keeps Elizabeth in focus. With no one of that gender named lately,
"he"/"she" means the narration's lead of that gender, when there is a clear one (named
at least twice as often as anyone else of that gender): a point-of-view character is
"he" for pages. Those pronouns become subject mentions, so a later "said she" can find
who the narration was about.
"""

from __future__ import annotations

import bisect
import re

from narration.cast.lexicon import words
from narration.cast.names import scan_names
from narration.cast.quotes import Quotation
from narration.cast.resolve import CastIndex, Mention

_PRONOUN = re.compile(r"\b(?:he|she|He|She)\b")
_FUNCTION = words(
    """
    and or but nor who whom whose which that to in at of with for as on by from the
    a an his her its their into upon after before if when while than so was were had
    """
)
_LEAD_RATIO = 2.0  # a gender's lead is named at least this many times as often as the next
_NEXT_WORD = re.compile(r"[\s,]*(?:[a-z]+ly\s+)?([a-z]+)")


def _is_subject(text: str, start: int, end: int, initial: bool) -> bool:
    if initial:
        return True
    m = _NEXT_WORD.match(text, end)
    return bool(m) and m.group(1) not in _FUNCTION and not text[end : m.start(1)].strip(" \t\n")


def _narration_spans(
    paragraphs: list[tuple[int, int]], quotations: list[Quotation]
) -> list[tuple[int, int, int]]:
    """(start, end, paragraph) of narration where pronouns are chained."""
    first_piece: dict[int, int] = {}
    covered: set[int] = set()
    for q in quotations:
        for (s, _), p in zip(q.pieces, q.paragraphs, strict=False):
            first_piece[p] = min(first_piece.get(p, s), s)
            covered.add(p)
    spans = []
    for p, (s, e) in enumerate(paragraphs):
        if p not in covered:
            spans.append((s, e, p))
        elif first_piece[p] > s + 1:
            spans.append((s, first_piece[p] - 1, p))
    return spans


def _leads(names: list[Mention], index: CastIndex) -> dict[str, int]:
    """The lead of each gender: named in narration at least twice as often as any other."""
    leads: dict[str, int] = {}
    for gender in ("M", "F"):
        counts: dict[int, int] = {}
        for m in names:
            if index.gender(m.char) == gender:
                counts[m.char] = counts.get(m.char, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])
        if ranked and (len(ranked) == 1 or ranked[0][1] >= _LEAD_RATIO * ranked[1][1]):
            leads[gender] = ranked[0][0]
    return leads


def build_mentions(
    text: str,
    paragraphs: list[tuple[int, int]],
    quotations: list[Quotation],
    index: CastIndex,
    headings: list[int],
) -> list[Mention]:
    """All mentions of cast members, sorted by position (see the module docstring)."""
    starts = [s for s, _ in paragraphs]

    def paragraph_of(pos: int) -> int:
        return max(0, bisect.bisect_right(starts, pos) - 1)

    pieces = [p for q in quotations for p in q.pieces]
    mentions: list[Mention] = []
    for m in scan_names(text, pieces):
        char = index.lookup(m.form)
        if char is not None:
            subject = _is_subject(text, m.start, m.end, m.initial)
            mentions.append(Mention(m.start, char, paragraph_of(m.start), m.in_quote, subject))
    names = sorted((m for m in mentions if not m.in_quote), key=lambda m: m.start)
    name_starts = [m.start for m in names]
    heading_set = set(headings)
    leads = _leads(names, index)
    pronouns: list[Mention] = []
    focus: dict[str, tuple[int, int]] = {}  # gender -> (character, paragraph)
    k = 0
    for start, end, p in _narration_spans(paragraphs, quotations):
        if p in heading_set:
            focus.clear()
            continue
        for hit in _PRONOUN.finditer(text, start, end):
            while k < len(names) and name_starts[k] < hit.start():
                named = names[k]
                gender = index.gender(named.char)
                if gender in ("M", "F"):
                    focus[gender] = (named.char, named.paragraph)
                k += 1
            gender = "M" if hit.group().lower() == "he" else "F"
            if gender in focus and p - focus[gender][1] <= 2:
                char = focus[gender][0]
                pronouns.append(Mention(hit.start(), char, p, False, True, True))
                focus[gender] = (char, p)
            elif gender in leads:
                # No one of that gender named lately: the narration follows its lead.
                pronouns.append(Mention(hit.start(), leads[gender], p, False, True, True))
    mentions.extend(pronouns)
    mentions.sort(key=lambda m: m.start)
    return mentions
