"""The shared state of one attribution run: paragraphs, quotations, cast, mentions.

Built once per text (twice when nicknames are learned): paragraph spans, quotations, the
cast index, every character mention (mentions.py), conversation breaks (headings and long
narration paragraphs) and the salience model the resolver reads (resolve.py).
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import replace

from narration.cast.characters import Character, discover_characters
from narration.cast.mentions import build_mentions
from narration.cast.quotes import Quotation, find_quotations, paragraph_spans
from narration.cast.resolve import CastIndex, Salience

_VOCATIVE_BEFORE = re.compile(
    r"(?:^|[,;!?:—–-]|\b(?:my\s+)?(?:dear|dearest|oh|ah|o|good|my)\b)\W*$", re.IGNORECASE
)
_VOCATIVE_AFTER = re.compile(r"^\s*(?:[,;.!?:—–-]|$)")
_HEADING = re.compile(r"^(?:chapter|book|part|volume|act|scene)\b|^[IVXLC]+\.?$", re.IGNORECASE)
_LONG_NARRATION = 120  # words: a narration paragraph this long ends a conversation
_HEADING = re.compile(r"^(?:chapter|book|part|volume|act|scene)\b|^[IVXLC]+\.?$", re.IGNORECASE)
LONG_NARRATION = 120  # words: a narration paragraph this long ends a conversation
_NAME_RUN = re.compile(r"(?:[A-Z][a-z]*\.?\s+)*[A-Z][a-z]+")


def is_heading(paragraph: str) -> bool:
    """A chapter or part heading ("CHAPTER IV.", "Book Two", "XII")."""
    return bool(_HEADING.match(paragraph.strip()))


class Context:
    """Everything one attribution run shares: text, paragraphs, cast, mentions, turns."""

    def __init__(self, text: str, characters: list[Character] | None) -> None:
        self.text = text
        self.paragraphs = paragraph_spans(text)
        self.para_starts = [s for s, _ in self.paragraphs]
        self.quotations = find_quotations(text)
        if characters is None:
            characters = discover_characters(text, self.quotations)
        lower = Counter(re.findall(r"\b[a-z]+\b", text))
        self.index = CastIndex(
            [replace(c, aliases=list(c.aliases)) for c in characters],
            common_words=frozenset(w for w, n in lower.items() if n >= 2),
        )
        pieces = sorted(p for q in self.quotations for p in q.pieces)
        self.piece_starts = [s for s, _ in pieces]
        self.piece_ends = [e for _, e in pieces]
        quote_paragraphs = {p for q in self.quotations for p in q.paragraphs}
        headings, breaks = [], []
        for p, (s, e) in enumerate(self.paragraphs):
            if p in quote_paragraphs:
                continue
            if is_heading(text[s:e]):
                headings.append(p)
                breaks.append(p)
            elif len(text[s:e].split()) > LONG_NARRATION:
                breaks.append(p)
        self.mentions = build_mentions(text, self.paragraphs, self.quotations, self.index, headings)
        tails: dict[int, int] = {}
        for q in self.quotations:
            for (_, e), p in zip(q.pieces, q.paragraphs, strict=False):
                tails[p] = max(tails.get(p, -1), e)
        self.salience = Salience(
            self.index, self.mentions, quote_paragraphs, tails, breaks, headings
        )

    def paragraph_of(self, pos: int) -> int:
        return max(0, bisect.bisect_right(self.para_starts, pos) - 1)

    def words(self, paragraph: int) -> int:
        s, e = self.paragraphs[paragraph]
        return len(self.text[s:e].split())

    def vocatives(self, q: Quotation) -> set[int]:
        """Characters a quotation addresses by name ("My dear Mr. Bennet," / "..., Lizzy.")."""
        found: set[int] = set()
        starts = self.salience.starts
        for s, e in q.pieces:
            k = bisect.bisect_left(starts, s)
            while k < len(starts) and starts[k] < e:
                m = self.mentions[k]
                k += 1
                before = self.text[s : m.start]
                after_at = self._mention_end(m.start, e)
                if _VOCATIVE_BEFORE.search(before) and _VOCATIVE_AFTER.match(self.text[after_at:e]):
                    found.add(m.char)
        return found

    def last_quote_end(self, start: int, end: int) -> int:
        """End of the last quotation piece inside [start, end), or -1."""
        k = bisect.bisect_left(self.piece_starts, end) - 1
        if k >= 0 and self.piece_ends[k] > start:
            return self.piece_ends[k]
        return -1

    def _mention_end(self, start: int, limit: int) -> int:
        m = _NAME_RUN.match(self.text, start, limit)
        return m.end() if m else start
