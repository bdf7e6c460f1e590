"""Find quotations in prose: who speaks is decided later, here we only find what is spoken.

A Quotation is one stretch of speech, possibly in several pieces: `"Well," said he, "I
think..."` is one quotation in two pieces, and a speech that runs over several paragraphs
(no closing mark until its last paragraph, each new paragraph re-opening with a quote mark)
is one quotation with a piece per paragraph. Offsets are 0-based, end-exclusive, into the
text passed in, and cover the content only (never the quote marks), so callers can slice.

Styles handled: straight and curly double quotes, guillemets, British single quotes
(chosen per text when single-quote openers outnumber double ones; apostrophes in don't,
Bennets', 'tis and o'clock are told apart from closers), em-dash dialogue (a paragraph that
opens with a dash) and play/script speaker lines (`NAME: speech` at line start).
Paragraphs are separated by blank lines; a text without any blank line is read one
paragraph per line (that is how single-spaced chapter text usually arrives).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from narration.cast.script import script_quotations
from narration.cast.tags import tag_after

_PARA_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")
_LINE_BREAK = re.compile(r"\n")

DOUBLE_MARKS = '"“”„«»'
SINGLE_MARKS = "'‘’‚"
_OPEN_GLYPHS = "“„«‘‚"
_CLOSE_GLYPHS = "”»’"
# Characters after which a mark starts a quote (a space, a bracket, a dash, another mark).
_OPEN_CONTEXT = set(" \t\n\r([{—–-/" + DOUBLE_MARKS + SINGLE_MARKS)
_CLOSE_NEXT = set(" \t\n\r)]}.,;:!?—–-/…*_" + DOUBLE_MARKS + SINGLE_MARKS)
# Words that start with an elided letter: 'tis, 'em, 'twas. An apostrophe before them
# in narration is not an opening quote.
_ELISIONS = re.compile(
    r"(?:tis|twas|twere|twill|twould|em|cause|gainst|neath|til|till|n|un|ere|ow|e|im|er)\b",
    re.IGNORECASE,
)
_DASH_OPENER = re.compile(r"[ \t]*(?:—|―|–(?=\s))[ \t]*")


@dataclass(frozen=True)
class Quotation:
    """One quotation: its content pieces (offsets without quote marks) and joined text.

    `style` is "double", "single", "dash" or "script"; `label` is the speaker name written
    in the text for script lines (`HAMLET: ...`), else None.
    """

    pieces: list[tuple[int, int]]
    text: str
    style: str = "double"
    label: str | None = None
    paragraphs: list[int] = field(default_factory=list)  # paragraph index of each piece

    @property
    def start(self) -> int:
        return self.pieces[0][0]

    @property
    def end(self) -> int:
        return self.pieces[-1][1]


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Paragraph (start, end) spans, blank-line separated; one per line if no blank lines."""
    splitter = _PARA_BREAK if _PARA_BREAK.search(text) else _LINE_BREAK
    spans: list[tuple[int, int]] = []
    pos = 0
    for match in splitter.finditer(text):
        _add_span(text, pos, match.start(), spans)
        pos = match.end()
    _add_span(text, pos, len(text), spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def _flanks(text: str, i: int, lo: int, hi: int) -> tuple[bool, bool]:
    """(can open, can close) for a mark at i from its neighbours inside [lo, hi)."""
    before = text[i - 1] if i > lo else " "
    after = text[i + 1] if i + 1 < hi else " "
    left = before in _OPEN_CONTEXT and not after.isspace()
    right = not before.isspace() and (after in _CLOSE_NEXT)
    return left, right


def _double_direction(text: str, i: int, lo: int, hi: int) -> str | None:
    left, right = _flanks(text, i, lo, hi)
    if left and not right:
        return "open"
    if right and not left:
        return "close"
    mark = text[i]
    if mark in _OPEN_GLYPHS:
        return "open"
    if mark in _CLOSE_GLYPHS:
        return "close"
    return None  # straight quote between two letters or two spaces: let parity decide


def _is_apostrophe(text: str, i: int, lo: int, hi: int) -> bool:
    before = text[i - 1] if i > lo else " "
    after = text[i + 1] if i + 1 < hi else " "
    return before.isalnum() and after.isalnum()


def _single_opens(text: str, i: int, lo: int, hi: int, at_start: bool) -> bool:
    """A single mark that opens a quote: word-initial, not ’ (an elision), not 'tis."""
    mark = text[i]
    if mark == "’" or _is_apostrophe(text, i, lo, hi):
        return False
    left, _ = _flanks(text, i, lo, hi)
    if not left and not (mark == "‘" and (i == lo or text[i - 1] in _OPEN_CONTEXT)):
        return False  # (a curly ‘ opens even before a space, as in tokenized text)
    # 'tis and 'em in narration are elisions; at a paragraph's start the mark opens a quote.
    return at_start or not _ELISIONS.match(text, i + 1)


def _single_closes(text: str, i: int, lo: int, hi: int) -> bool:
    if text[i] in "‘‚" or _is_apostrophe(text, i, lo, hi):
        return False
    _, right = _flanks(text, i, lo, hi)
    if right:
        return True
    # A curly ’ standing alone between spaces (tokenized text) closes too.
    after = text[i + 1] if i + 1 < hi else " "
    return text[i] == "’" and i > lo and text[i - 1].isspace() and after in _CLOSE_NEXT


def _pick_single_close(text: str, candidates: list[int]) -> int:
    """Choose the closer among candidate marks: a mark after punctuation closes first.

    A mark after a letter may be a plural possessive (the Bennets’ house) or a dropped g
    (goin’), so it closes only if it is the last candidate before the next opener.
    """
    for i in candidates:
        if not text[i - 1].isalnum():
            return i
    return candidates[-1]


@dataclass
class _Open:
    """A quotation being built: pieces so far and where the current piece started."""

    pieces: list[tuple[int, int]]
    paragraphs: list[int]
    style: str
    content_start: int
    label: str | None = None

    def add_piece(self, text: str, start: int, end: int, paragraph: int) -> None:
        """Add text[start:end] without its edge spaces (nothing, if that leaves nothing)."""
        piece = _trimmed(text, start, end)
        if piece:
            self.pieces.append(piece)
            self.paragraphs.append(paragraph)


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


def _choose_style(text: str) -> str:
    """'single' for texts whose dialogue is in single quotes (British style), else 'double'."""
    counts: Counter[str] = Counter()
    for match in re.finditer(r"[\"“„«'‘]", text):
        i = match.start()
        if i > 0 and text[i - 1] not in _OPEN_CONTEXT:
            continue
        if match.group() in "\"'" and (i + 1 >= len(text) or text[i + 1].isspace()):
            continue  # a straight mark before a space closes rather than opens
        if match.group() in "'‘":
            if not _ELISIONS.match(text, i + 1):
                counts["single"] += 1
        else:
            counts["double"] += 1
    return "single" if counts["single"] > counts["double"] else "double"


def _scan_paragraph(
    text: str, lo: int, hi: int, p_index: int, style: str, carried: _Open | None
) -> tuple[list[_Open], _Open | None]:
    """Quote pieces of one paragraph; returns finished quotes and one left open at its end."""
    marks = DOUBLE_MARKS if style == "double" else SINGLE_MARKS
    done: list[_Open] = []
    current = carried
    first_mark = True
    depth = 0  # nesting of curly double quotes inside the current quote
    i = lo
    while i < hi:
        ch = text[i]
        if ch not in marks:
            i += 1
            continue
        at_start = text[lo:i].strip() == ""
        if current is None:
            if style == "double":
                opens = _double_direction(text, i, lo, hi) != "close"
            else:
                opens = _single_opens(text, i, lo, hi, at_start)
            if opens:
                current = _Open([], [], style, i + 1)
        elif first_mark and at_start and current.content_start < lo:
            # A carried quote re-opened by this paragraph's first mark: continue it here.
            current.content_start = i + 1
        elif style == "double":
            direction = _double_direction(text, i, lo, hi)
            if ch != '"' and direction == "open":
                depth += 1  # “a curly quote inside” a curly quote nests
            elif ch != '"' and depth > 0:
                depth -= 1
            elif direction != "open" or ch == '"':
                current.add_piece(text, current.content_start, i, p_index)
                done.append(current)
                current = None
        else:
            if _single_closes(text, i, lo, hi):
                candidates = _single_candidates(text, i, lo, hi)
                close_at = _pick_single_close(text, candidates)
                current.add_piece(text, current.content_start, close_at, p_index)
                done.append(current)
                current = None
                i = close_at
        first_mark = False
        i += 1
    if current is not None:
        current.add_piece(text, max(current.content_start, lo), hi, p_index)
        current.content_start = -1  # marks "carried over from an earlier paragraph"
    return done, current


def _single_candidates(text: str, i: int, lo: int, hi: int) -> list[int]:
    """Closing-mark candidates from i up to the next opening single mark or paragraph end."""
    found = [i]
    j = i + 1
    while j < hi:
        if text[j] in SINGLE_MARKS:
            if _single_closes(text, j, lo, hi):
                found.append(j)
            elif _single_opens(text, j, lo, hi, False):
                break
        j += 1
    return found


def _starts_with_opener(text: str, lo: int, hi: int, style: str) -> bool:
    j = lo
    while j < hi and text[j].isspace():
        j += 1
    if j >= hi:
        return False
    if style == "double":
        return text[j] in DOUBLE_MARKS and _double_direction(text, j, lo, hi) != "close"
    return text[j] in SINGLE_MARKS and _single_opens(text, j, lo, hi, True)


def _dash_quotation(text: str, lo: int, hi: int, p_index: int) -> _Open | None:
    """Em-dash dialogue: `—Speech —said he—. More speech` gives two pieces."""
    match = _DASH_OPENER.match(text, lo, hi)
    if not match:
        return None
    pieces: list[tuple[int, int]] = []
    start = match.end()
    aside = re.compile(r"\s[—―]")
    while start < hi:
        cut = aside.search(text, start, hi)
        end = cut.start() if cut else hi
        piece = _trimmed(text, start, end)
        if piece:
            pieces.append(piece)
        if not cut:
            break
        resume = re.compile(r"[—―][ \t]*[.,;:]?[ \t]*").search(text, cut.end(), hi)
        if not resume:
            break
        start = resume.end()
    if not pieces:
        return None
    return _Open(pieces, [p_index] * len(pieces), "dash", lo)


def _merge_in_paragraph(text: str, quotes: list[_Open], para_end: int) -> list[_Open]:
    """Join quotes of one paragraph into one quotation when only narration separates them.

    A paragraph is normally one speaker's turn, so later quotes join the first
    (`"Well," said he, "I think..."`), unless the narration between them finishes a
    sentence and the later quote carries its own speech tag (`"Yes," said Tom. "No," cried
    Ann.` stays two): then someone else may be speaking.
    """
    merged: list[_Open] = []
    for n, quote in enumerate(quotes):
        if merged and merged[-1].paragraphs and quote.paragraphs:
            prev = merged[-1]
            following = quotes[n + 1].pieces[0][0] if n + 1 < len(quotes) else para_end
            if prev.paragraphs[-1] == quote.paragraphs[0] and _joins(text, prev, quote, following):
                prev.pieces.extend(quote.pieces)
                prev.paragraphs.extend(quote.paragraphs)
                continue
        merged.append(quote)
    return merged


_SENTENCE_END = re.compile(r"[.!?]['’\"”]?\s+\S")


def _joins(text: str, prev: _Open, quote: _Open, following: int) -> bool:
    gap = text[prev.pieces[-1][1] : quote.pieces[0][0]]
    if not _SENTENCE_END.search(gap) and not re.search(r"[.!?]\s*$", text[slice(*prev.pieces[-1])]):
        return True
    return tag_after(text, quote.pieces[-1][1], following) is None


def find_quotations(text: str) -> list[Quotation]:
    """All top-level quotations in `text`, in text order (see the module docstring)."""
    return list(_find(text))


@lru_cache(maxsize=4)
def _find(text: str) -> tuple[Quotation, ...]:
    """find_quotations, cached: the cast finder and the attributor read the same text."""
    style = _choose_style(text)
    spans = paragraph_spans(text)
    scripted = script_quotations(text, spans)
    found: list[_Open] = []
    carried: _Open | None = None
    for p_index, (lo, hi) in enumerate(spans):
        if p_index in scripted:
            if carried is not None:
                found.append(carried)
                carried = None
            for label, pieces in scripted[p_index]:
                if label is None and found and found[-1].style == "script":
                    found[-1].pieces.extend(pieces)  # a script turn running on
                    found[-1].paragraphs.extend([p_index] * len(pieces))
                else:
                    found.append(_Open(pieces, [p_index] * len(pieces), "script", lo, label))
            continue
        if carried is not None and not _starts_with_opener(text, lo, hi, style):
            found.append(carried)  # never re-opened: an unclosed quote ends with its paragraph
            carried = None
        if carried is None:
            dash = _dash_quotation(text, lo, hi, p_index)
            if dash is not None:
                found.append(dash)
                continue
        done, carried = _scan_paragraph(text, lo, hi, p_index, style, carried)
        found.extend(_merge_in_paragraph(text, done, hi))
    if carried is not None:
        found.append(carried)
    result: list[Quotation] = []
    for q in found:
        if q.pieces:
            joined = " ".join(text[s:e] for s, e in q.pieces)
            result.append(Quotation(list(q.pieces), joined, q.style, q.label, list(q.paragraphs)))
    return tuple(result)
