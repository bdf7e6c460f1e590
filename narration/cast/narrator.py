"""The first-person narrator: is there one, and what do the other characters call them?

A text has a first-person narrator when I/me/my are frequent in its narration (outside
quotations): at least 8 per 1,000 words. Third-person novels stay under 3 even with
letters and asides; first-person ones run 30 and more.

The narrator's own name is rarely in the narration, but the people they talk to use it:
"Why, if it isn't too delightful to see you again, Mr. Hastings". So around each
paragraph where the narration says "I said" / "said I", the quotations of the paragraphs
just before and after are searched for a name used as a vocative; the name most often
found there (at least 3 times and in at least half of those paragraphs' vocatives) is
taken as the narrator's.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter

from narration.cast.names import NameMention
from narration.cast.quotes import Quotation, paragraph_spans

_FIRST_PERSON = re.compile(r"\b(?:I|me|my|myself)\b")
_I_SAID = re.compile(
    r"\bI\s+(?:[a-z]+ly\s+)?(?:said|asked|replied|cried|answered|remarked|observed|exclaimed|"
    r"suggested|returned|added|continued|began|inquired|enquired|murmured|whispered|"
    r"protested|explained|admitted|agreed|objected|retorted|called|shouted)\b|"
    r"\b(?:said|asked|replied|cried|answered|returned|observed|added)\s+I\b"
)
_VOCATIVE_BEFORE = re.compile(r"(?:^|[,;!?:—–-]|\b(?:dear|dearest|oh|ah|my|good)\b)\W*$", re.I)
_VOCATIVE_AFTER = re.compile(r"^\s*(?:[,;.!?:—–-]|$)")


def first_person_rate(text: str, quotations: list[Quotation]) -> float:
    """First-person pronouns per 1,000 words of narration (text outside quotations)."""
    pieces = sorted(p for q in quotations for p in q.pieces)
    parts, pos = [], 0
    for s, e in pieces:
        parts.append(text[pos : max(pos, s - 1)])
        pos = max(pos, e + 1)
    parts.append(text[pos:])
    narration = " ".join(parts)
    words = max(1, len(narration.split()))
    return 1000 * len(_FIRST_PERSON.findall(narration)) / words


def narrator_name_key(
    text: str, quotations: list[Quotation], mentions: list[NameMention]
) -> str | None:
    """The key (names.name_key) of the name others call the narrator by, if the text says.

    Vocatives near the narrator's own speech count double; a name the narration itself
    uses often (a third person the narrator talks about) does not qualify."""
    spans = paragraph_spans(text)
    pieces_by_para: dict[int, list[tuple[int, int]]] = {}
    for q in quotations:
        for piece, p in zip(q.pieces, q.paragraphs, strict=False):
            pieces_by_para.setdefault(p, []).append(piece)
    near_i: set[int] = set()
    for p, (s, e) in enumerate(spans):
        narration = text[s:e]
        for a, b in sorted(pieces_by_para.get(p, []), reverse=True):
            narration = narration[: a - s] + " " * (b - a) + narration[b - s :]
        if _I_SAID.search(narration):
            near_i.update((p - 1, p + 1))
    in_narration = Counter(m.key for m in mentions if not m.in_quote)
    votes: Counter[str] = Counter()
    quoted = sorted((m.start, m) for m in mentions if m.in_quote)
    quoted_starts = [s for s, _ in quoted]
    for p, pieces in pieces_by_para.items():
        for a, b in pieces:
            k = bisect.bisect_left(quoted_starts, a)
            while k < len(quoted) and quoted[k][0] < b:
                m = quoted[k][1]
                k += 1
                if _VOCATIVE_BEFORE.search(text[a : m.start]) and _VOCATIVE_AFTER.match(
                    text[m.end : b]
                ):
                    votes[m.key] += 2 if p in near_i else 1
    ranked = [(n, key) for key, n in votes.items() if n >= 4 and in_narration[key] * 3 <= n]
    return max(ranked)[1] if ranked else None
