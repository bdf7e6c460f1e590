"""Project Gutenberg's header, footer, licence and transcriber's notes: found and measured.

Most public-domain books come from Project Gutenberg, as EPUB and as plain text, wrapped in
boilerplate that nobody wants read aloud (the licence alone runs to some 3,000 words). Its
edges follow well-known markers, matched case-insensitively over paragraphs (plain-text
paragraphs or EPUB blocks, in reading order):

- Header: everything up to and including the start marker ("*** START OF THE/THIS PROJECT
  GUTENBERG EBOOK ... ***", with or without a space after the stars) or, in texts of the
  1990s that have none, the end of the small print ("*END*THE SMALL PRINT! ... *END*"), then
  the production credits straight after it ("Produced by ...").
- Footer: from the first end marker after the header to the end: "*** END OF THE/THIS
  PROJECT GUTENBERG EBOOK", "End of the Project Gutenberg EBook of ...", "End of Project
  Gutenberg's ...", "START: FULL LICENSE" or "THE FULL PROJECT GUTENBERG LICENSE".
- Transcriber's notes: paragraphs that open with "Transcriber's Note(s)" (boxed or bracketed
  too), and bracketed "[Transcriber's note: ...]" / "[TN: ...]" inside a paragraph.

Body text is never cut on a guess: the unstarred markers count only at the start of a
paragraph or line, the end-of-small-print marker only before any footer marker, and a header
or footer far longer than Project Gutenberg ever writes is left in place (with a warning),
since it would mean the marker is not where Project Gutenberg puts it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from narration.model import Block, BlockKind, SkippedSection

log = logging.getLogger(__name__)

HEADER_TITLE = "Project Gutenberg header"
FOOTER_TITLE = "Project Gutenberg licence"
NOTES_TITLE = "Transcriber's notes"
# Longest header (1990s small print: ~2,000 words) and footer (full licence: ~3,500 words)
# Project Gutenberg writes, with room to spare; beyond these a marker is out of place.
MAX_HEADER_WORDS = 8_000
MAX_FOOTER_WORDS = 12_000
_CREDIT_SEARCH = 4  # paragraphs after the start marker that may hold production credits

_START = re.compile(
    r"\*{2,}\s*START\s+OF\s+(?:THE\s+|THIS\s+)?PROJECT\s+GUTENBERG[^*\n]*(?:\*+|$)",
    re.I | re.M,
)
_SMALL_PRINT_END = re.compile(
    r"\*\s*END\s*\*?\s*THE\s+SMALL\s+PRINT[^\n]*?\*\s*END\s*\*|"
    r"\*\s*END\s*\*?\s*THE\s+SMALL\s+PRINT[^\n]*$",
    re.I | re.M,
)
_END_STARRED = re.compile(r"\*{2,}\s*END\s+OF\s+(?:THE\s+|THIS\s+)?PROJECT\s+GUTENBERG", re.I)
_END_AT_LINE = re.compile(
    r"^[ \t*]*(?:End\s+of\s+(?:the\s+|this\s+)?Project\s+Gutenberg|"
    r"START:\s*FULL\s+LICEN[CS]E|THE\s+FULL\s+PROJECT\s+GUTENBERG(?:-tm)?\s+LICEN[CS]E)",
    re.I | re.M,
)
# "End of the Project Gutenberg EBook of X" run into one block with the starred marker just
# after it (an EPUB made from a <pre> footer): counted from where it begins.
_END_LOOSE = re.compile(r"\bEnd\s+of\s+(?:the\s+|this\s+)?Project\s+Gutenberg", re.I)
_CREDIT = re.compile(
    r"^[\s\[(]*(?:(?:this|the|an?)\s+)?"
    r"(?:(?:illustrated|e-?text|e-?book|html|text|file|version|edition|transcription)\s+){0,3}"
    r"(?:(?:was|is|has\s+been)\s+)?"
    r"(?:produced|prepared|transcribed|digiti[sz]ed|scanned|proof-?read|created|converted)\b"
    r"[^.]{0,200}?\bby\b",
    re.I,
)
_NOTE_LABEL = r"transcriber(?:['’`‘]?s|s['’])?\s+notes?\b"
_NOTE_START = re.compile(rf"^[\s+|\-=*_\[(]*(?:original\s+)?{_NOTE_LABEL}", re.I)
_NOTE_BARE = re.compile(rf"^[\s+|\-=*_\[(]*(?:original\s+)?{_NOTE_LABEL}[\s:.\])]*$", re.I)
_NOTE_INLINE = re.compile(rf"\s*\[\s*(?:{_NOTE_LABEL}\s*[:.—–-]?|TN\s*:)[^\]\[]{{0,1000}}\]", re.I)
_SENTENCE_END = re.compile(r"[.!?:;)\]\"'”’]\s*[|+\-=*]*\s*$")


@dataclass
class Parts:
    """One paragraph split into the boilerplate before the work, the work, and after it."""

    header: str = ""
    body: str = ""
    footer: str = ""


def words(texts: list[str]) -> int:
    return sum(len(text.split()) for text in texts)


def partition(texts: list[str]) -> list[Parts]:
    """Split each paragraph of a book (in reading order) into header, body and footer."""
    start = _header_end(texts)
    # Volumes joined into one file each keep their start marker: the footer is the last one's.
    end = _footer_start(texts, _last_start(texts) or start or (0, 0))
    if start is not None and words(_before(texts, start)) > MAX_HEADER_WORDS:
        log.warning("a Project Gutenberg start marker far into the book: header kept")
        start = None
    if end is not None and words(_after(texts, end)) > MAX_FOOTER_WORDS:
        log.warning("a Project Gutenberg end marker far from the end: footer kept")
        end = None
    parts = []
    for index, text in enumerate(texts):
        lo = 0 if start is None else _cut_in(index, start, len(text))
        hi = len(text) if end is None else max(_cut_in(index, end, len(text)), lo)
        parts.append(Parts(text[:lo].strip(), text[lo:hi].strip(), text[hi:].strip()))
    if start is not None:
        _move_credits(parts, start[0])
    return parts


def _cut_in(index: int, at: tuple[int, int], length: int) -> int:
    """Where paragraph `index` (of `length` characters) is cut by the cut point `at`, a
    (paragraph, offset) pair: all of it lies before a later paragraph's cut."""
    if index == at[0]:
        return at[1]
    return length if index < at[0] else 0


def _before(texts: list[str], at: tuple[int, int]) -> list[str]:
    return [*texts[: at[0]], texts[at[0]][: at[1]]]


def _after(texts: list[str], at: tuple[int, int]) -> list[str]:
    return [texts[at[0]][at[1] :], *texts[at[0] + 1 :]]


def _header_end(texts: list[str]) -> tuple[int, int] | None:
    for index, text in enumerate(texts):
        match = _START.search(text)
        if match:
            return index, match.end()
    # No start marker: a 1990s text ends its header with the small print, which later texts
    # put in the footer instead, so it counts only before any footer marker.
    footer = _footer_start(texts, (0, 0))
    for index, text in enumerate(texts):
        match = _SMALL_PRINT_END.search(text)
        if match and (footer is None or (index, match.start()) < footer):
            return index, match.end()
    return None


def _last_start(texts: list[str]) -> tuple[int, int] | None:
    for index in range(len(texts) - 1, -1, -1):
        matches = list(_START.finditer(texts[index]))
        if matches:
            return index, matches[-1].end()
    return None


def _footer_start(texts: list[str], after: tuple[int, int]) -> tuple[int, int] | None:
    for index in range(after[0], len(texts)):
        offset = after[1] if index == after[0] else 0
        text = texts[index]
        found = [m.start() for m in (_END_AT_LINE.search(text, offset),) if m]
        starred = _END_STARRED.search(text, offset)
        if starred:
            found.append(starred.start())
            loose = _END_LOOSE.search(text, max(offset, starred.start() - 400), starred.start())
            if loose:
                found.append(loose.start())
        if found:
            return index, min(found)
    return None


def _move_credits(parts: list[Parts], first: int) -> None:
    """Production credits ("Produced by ...") just after the start marker belong to the
    header: they are Project Gutenberg's, not the work's."""
    seen = 0
    for part in parts[first:]:
        if not part.body:
            continue
        seen += 1
        if seen > _CREDIT_SEARCH:
            return
        if _CREDIT.match(part.body) and len(part.body.split()) <= 80:
            part.header = f"{part.header}\n\n{part.body}".strip()
            part.body = ""
        elif not _NOTE_START.match(part.body):
            return


_GUTENBERG_TITLE = re.compile(
    r"^\s*(?:the\s+)?project\s+gutenberg(?:['’]s)?\s+(?:e-?book|e-?text|etext)?\s*(?:of\s+)?",
    re.I,
)


def work_title(title: str) -> str:
    """The work's own title inside one Project Gutenberg gave a document or a TOC entry:
    "The Project Gutenberg eBook of Persuasion, by Jane Austen" -> "Persuasion"."""
    match = _GUTENBERG_TITLE.match(title)
    if match is None:
        return title
    rest = title[match.end() :]
    byline = rest.casefold().rfind(", by ")  # ", by Author" closes such titles
    return (rest[:byline] if byline > 0 else rest).strip(" ,.:;") or title


def header_metadata(header: str) -> dict[str, str]:
    """Title and author from the header's "Title:" and "Author:" lines."""
    meta = {}
    for key in ("title", "author"):
        match = re.search(rf"^\s*{key}:\s*(.+)$", header, re.I | re.M)
        if match:
            meta[key] = match.group(1).strip()
    return meta


@dataclass
class Removed:
    """The boilerplate taken out of a book, as text, for the skipped list."""

    header: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)


def strip_blocks(groups: list[list[Any]], notes_apply: list[bool]) -> Removed:
    """Take the boilerplate out of the Blocks in `groups` (item lists in reading order, e.g.
    an EPUB's pieces; other items are left alone), in place: a block is shortened, or
    dropped when nothing of it is left. Transcriber's notes are taken only from groups where
    `notes_apply`. Returns what was taken out."""
    blocks = [item for group in groups for item in group if isinstance(item, Block)]
    parts = partition([block.text for block in blocks])
    in_scope = [
        apply
        for group, apply in zip(groups, notes_apply, strict=True)
        for item in group
        if isinstance(item, Block)
    ]
    headings = [block.kind == BlockKind.HEADING for block in blocks]
    # Out of scope, a block is blank to the note finder, so no note runs into or out of it.
    scoped = [part.body if ok else "" for part, ok in zip(parts, in_scope, strict=True)]
    notes = split_notes(scoped, headings)
    removed = Removed(
        [p.header for p in parts if p.header], [], [p.footer for p in parts if p.footer]
    )
    kept: dict[int, str] = {}
    for block, part, ok, (body, note) in zip(blocks, parts, in_scope, notes, strict=True):
        kept[id(block)] = body if ok else part.body
        if ok and note:
            removed.notes.append(note)
    for group in groups:
        texts = [(item, kept.get(id(item))) for item in group]
        group[:] = [item for item, text in texts if text is None or text or not item.text]
        for item, text in texts:
            if text:
                item.text = text
    return removed


# Block elements that Distributed Proofreaders' books mark as transcriber's notes.
_NOTE_MARKS = re.compile(r"^(?:trans-?notes?|tnotes?|transcriber-?s?-?notes?|tnbox)$", re.I)
_NOTE_ELEMENTS = {"div", "p", "section", "aside", "blockquote", "table", "ul", "ol", "dl"}


def take_transcriber_notes(root: etree._Element, keep_ids: set[str]) -> list[str]:
    """Take the elements marked as transcriber's notes (<div class="transnote">) out of a
    parsed document, keeping the text around them; returns their text. Inline marks are left
    alone (a <span class="tnote"> can wrap a corrected word of the work), and so is an
    element holding an id a TOC entry points at."""
    marked = [
        el
        for el in root.iter()
        if isinstance(el.tag, str)
        and etree.QName(el).localname in _NOTE_ELEMENTS
        and any(_NOTE_MARKS.match(m) for m in [*(el.get("class") or "").split(), el.get("id", "")])
    ]
    texts = []
    for el in marked:
        parent = el.getparent()
        ids = {sub.get("id") for sub in el.iter() if isinstance(sub.tag, str)}
        if parent is None or ids & keep_ids or any(a in marked for a in el.iterancestors()):
            continue
        texts.append(" ".join(" ".join(el.itertext()).split()))  # block edges part words
        _remove_keeping_tail(el, parent)
    return [text for text in texts if text]


def _remove_keeping_tail(el: etree._Element, parent: etree._Element) -> None:
    if el.tail:
        previous = el.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


# --- transcriber's notes ---------------------------------------------------------------------


def split_notes(texts: list[str], headings: list[bool] | None = None) -> list[tuple[str, str]]:
    """(text without transcriber's notes, the notes) for each paragraph of the body.

    A paragraph that is only the label ("Transcriber's Notes:") takes the paragraphs after it
    along when it stands at the end of the book, or near its start up to the first paragraph
    that does not end like a sentence (a title); elsewhere it goes alone, never guessing.
    `headings` marks headings, which always end a note.
    """
    heading = headings or [False] * len(texts)
    out = [(text, "") for text in texts]
    index = 0
    while index < len(texts):
        text = texts[index]
        if not _NOTE_START.match(text):
            cleaned = _NOTE_INLINE.sub("", text)
            if cleaned != text:
                out[index] = (" ".join(cleaned.split()), " ".join(_NOTE_INLINE.findall(text)))
            index += 1
            continue
        last = _note_run(texts, index, heading)
        for k in range(index, last + 1):
            out[k] = ("", texts[k])
        index = last + 1
    return out


def _note_run(texts: list[str], first: int, heading: list[bool]) -> int:
    """The index of the last paragraph of the note that opens at `first`."""
    text = texts[first]
    if text.lstrip().startswith("[") and "]" not in text:  # a bracketed note over paragraphs
        for k in range(first + 1, min(first + 9, len(texts))):
            if heading[k]:
                break
            if "]" in texts[k]:
                return k
        return first
    if not _NOTE_BARE.match(text):
        return first
    rest = range(first + 1, len(texts))
    after, before = words(texts[first + 1 :]), words(texts[:first])
    closes_book = len(rest) <= 30 and after <= 2000 and before >= 4 * after
    if closes_book and not any(heading[k] for k in rest):
        return len(texts) - 1  # the notes close the book
    if sum(1 for t in texts[:first] if t.strip()) > 10:
        return first
    last = first
    for k in range(first + 1, min(first + 11, len(texts))):
        if heading[k] or not _SENTENCE_END.search(texts[k]):
            break
        last = k
    return last


def skipped_sections(
    header: list[str], notes: list[str], footer: list[str]
) -> tuple[list[SkippedSection], list[SkippedSection]]:
    """What `narrate plan` lists for the boilerplate taken out ("Project Gutenberg licence
    (boilerplate, 3,012 words)"): the entries before the book's own, and those after."""

    def entries(*found: tuple[str, list[str]]) -> list[SkippedSection]:
        return [
            SkippedSection(title, f"boilerplate, {words(texts):,} words")
            for title, texts in found
            if words(texts)
        ]

    return entries((HEADER_TITLE, header), (NOTES_TITLE, notes)), entries((FOOTER_TITLE, footer))
