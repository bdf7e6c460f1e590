"""Plain text and Markdown -> Book.

Chapters come from headings: Markdown `#` lines (the level that repeats; a lone top heading
is the book title), or in plain text lines such as "CHAPTER IV", "Chapter 4. Title", a bare
"IV." or an all-caps short line standing alone. Blank lines separate paragraphs; single line
breaks inside a paragraph are spaces. Text before the first heading is read as an opening
chapter when it is substantial (100+ words) and otherwise treated as front matter (a title
page, a contents list). A heading with no text under it ("VOL. II.", "BOOK ONE") is announced
with the next chapter; a book, part or volume heading goes on being carried by the chapters
after it ("Book One: Chapter II") until the next one. Headings set in capitals are shown in
title case.

Project Gutenberg's header, licence and transcriber's notes (see gutenberg.py) are left out
and listed in `Book.skipped`, or with `include_boilerplate` read as chapters of their own.
"""

from __future__ import annotations

import codecs
import logging
import re
from pathlib import Path

from narration.errors import InputError
from narration.ingest import gutenberg
from narration.ingest.matter import matter_from_title
from narration.ingest.titles import display_title, join_titles, says_already
from narration.model import Block, BlockKind, Book, Chapter, SkippedSection

log = logging.getLogger(__name__)

PREAMBLE_MIN_WORDS = 100
_CHAPTER_LINE = re.compile(
    r"^(chapter|book|part|canto|letter|stave|act|vol\.?|volume)\s+([ivxlcdm]+|\d+|[a-z]+(-[a-z]+)?)\b[.:]?"
    r"(\s*[-—–:.]?\s*\S.*)?$",
    re.IGNORECASE,
)
_NUMERAL_LINE = re.compile(r"^([IVXLCDM]+|\d{1,3})\.?$")
_SPECIAL = re.compile(
    r"^(prologue|epilogue|preface|introduction|afterword|foreword)\b.{0,60}$", re.I
)
_BREAK = re.compile(r"^\s*([*⁂•·~#]\s*){1,5}$|^\s*([-_*]\s*){3,}$")
_PART_LINE = re.compile(r"^(book|part|vol\.?|volume)\s", re.I)  # a heading over chapters


# --- decoding ----------------------------------------------------------------------------


def decode(data: bytes, path: Path) -> str:
    """UTF-8 (BOM or not), UTF-16 with BOM, else a detected 8-bit encoding with a warning."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):  # fmt: skip
        if data.startswith(bom):
            try:
                return data.decode(codec).lstrip("\ufeff")
            except UnicodeDecodeError:
                raise InputError(
                    path, f"text has a {codec} byte-order mark but is not {codec}"
                ) from None
    if b"\x00" in data[:65536] or _control_ratio(data[:65536]) > 0.01:
        raise InputError(path, "file looks binary, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    encoding = _detect(data)
    if encoding is None:
        raise InputError(path, "text is not UTF-8 and its encoding could not be identified")
    log.warning("%s: not UTF-8; decoding as %s", path, encoding)
    return data.decode(encoding, errors="replace")


def _control_ratio(data: bytes) -> float:
    if not data:
        return 0.0
    bad = sum(1 for b in data if b < 0x20 and b not in (0x09, 0x0A, 0x0C, 0x0D, 0x1A))
    return bad / len(data)


_LATIN_8BIT = {
    "cp1250", "cp1252", "cp1254", "cp1257", "latin_1", "iso8859_2", "iso8859_9", "iso8859_15",
    "cp850", "cp437", "mac_roman", "mac_latin2", "ascii",
}  # fmt: skip


def _detect(data: bytes) -> str | None:
    """Name a legacy encoding. Latin-script guesses resolve to cp1252: the detector cannot
    tell cp1250 from cp1252 on short English text, and Windows-1252 is by far the commoner
    source of non-UTF-8 English books. Other scripts (e.g. cp1251 Cyrillic) are kept."""
    guess = None
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # optional dependency: fall back to the cp1252 / latin-1 heuristic
        from_bytes = None
    if from_bytes is not None:
        best = from_bytes(data[:1_000_000]).best()
        if best is None or best.chaos > 0.3:
            return None
        guess = best.encoding
    if guess is not None and guess not in _LATIN_8BIT:
        return guess
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


# --- shared paragraph handling -------------------------------------------------------------


def _paragraphs(text: str) -> list[str]:
    """Split on blank lines; keep each paragraph's lines (headings are judged line-wise)."""
    return [p.strip("\n") for p in re.split(r"\n[ \t]*\n", text) if p.strip()]


_JOIN_CHUNK = 1 << 20
_WHITESPACE = re.compile(r"\s")
_UNTIDY_SPACE = re.compile(r"[^\S ]|  ")


def _join(lines: str) -> str:
    """The paragraph's words joined by single spaces (" ".join(lines.split())), a chunk of
    about a megabyte at a time: split() of a 50 MB paragraph would hold ten million word
    objects at once."""
    if not _UNTIDY_SPACE.search(lines):
        return lines.strip(" ")
    if len(lines) <= _JOIN_CHUNK:
        return " ".join(lines.split())
    pieces: list[str] = []
    start = 0
    while start < len(lines):
        found = _WHITESPACE.search(lines, start + _JOIN_CHUNK)  # never cut inside a word
        end = found.start() if found else len(lines)
        piece = " ".join(lines[start:end].split())
        if piece:
            pieces.append(piece)
        start = end
    return " ".join(pieces)


# Two lines of at most 80 characters, with room for indentation: longer is never a heading.
_HEADING_MAX_CHARS = 1000


def _heading_class(para: str) -> tuple[int, str] | None:
    """(strength, heading text) if this paragraph looks like a chapter heading.

    Strength 3: "CHAPTER IV" / "Chapter 4. Title" (optionally a subtitle line below);
    2: a bare numeral ("IV.", "12"); 1: a short all-caps line standing alone. Only the
    strongest kind present in a book is used, so letters' salutations ("MY DEAR SIR,") in a
    book with CHAPTER headings are not mistaken for chapters. Prologue-like words count as 3.
    """
    if len(para) > _HEADING_MAX_CHARS:  # decided at once, without copying a huge paragraph
        return None
    lines = [ln.strip() for ln in para.splitlines() if ln.strip()]
    if not lines or len(lines) > 2 or any(len(ln) > 80 for ln in lines):
        return None
    first = lines[0]
    if len(lines) == 2 and len(lines[1].split()) > 10:
        return None
    if _CHAPTER_LINE.match(first) or _SPECIAL.match(first):
        return 3, " ".join(lines)
    if _NUMERAL_LINE.match(first):
        return 2, " ".join(lines)
    caps = len(lines) == 1 and first.isupper() and 1 <= len(first.split()) <= 8
    if caps and re.search(r"[A-Z]{2}", first) and not re.search(r"[\"“”,;]", first):
        return 1, first
    return None


def _block(para: str) -> Block:
    text = _join(para)
    if _BREAK.match(text):
        return Block("", BlockKind.SECTION_BREAK)
    return Block(text)


# An emphasised span is looked for up to this far: unbounded, each unclosed "_" would scan to
# the end of its line, and a 50 MB one-line paragraph with many would take hours.
_EMPHASIS_MAX_CHARS = 2000
_EMPHASIS = re.compile(
    rf"(?<![\w*])(\*{{1,3}}|_{{1,3}})(?=\S)(.{{1,{_EMPHASIS_MAX_CHARS}}}?)(?<=\S)\1(?![\w*])"
)


def _strip_emphasis(text: str) -> str:
    # _word_ and *word* are markup in both Gutenberg text and Markdown, not words to read.
    if "*" not in text and "_" not in text:
        return text
    return _EMPHASIS.sub(r"\2", text)


# --- books -------------------------------------------------------------------------------


def _book(path: Path, title: str, author: str, sections: list[tuple[str | None, list[Block]]],
          include_matter: bool) -> Book:  # fmt: skip
    """Assemble chapters from (heading, blocks) sections; None heading = preamble."""
    book = Book(title=title, author=author, source_path=str(path))
    prefix: list[str] = []  # headings without text, announced with the next chapter
    current_part = ""  # the book, part or volume heading the chapters are under
    last_number: int | None = None  # the chapter number last seen under it
    for heading, blocks in sections:
        blocks = _tidy(blocks)
        if not any(b.text for b in blocks):
            if heading:  # "VOL. II." straight before "CHAPTER I.": announce it with that chapter
                prefix.append(heading.rstrip(" .:"))
                if _PART_LINE.match(heading):
                    current_part, last_number = heading.rstrip(" .:"), None
            continue
        if heading is None:
            words = sum(len(b.text.split()) for b in blocks)
            if words < PREAMBLE_MIN_WORDS and not include_matter:
                book.skipped.append(SkippedSection("Opening text", "untitled front matter"))
                continue
            heading = title
        reason = None if include_matter or len(sections) == 1 else matter_from_title(heading)
        if reason:
            book.skipped.append(SkippedSection(heading, reason))
            prefix = []
            continue
        number = _chapter_number(heading)
        restarted = number is not None and last_number is not None and number <= last_number
        if _PART_LINE.match(heading) or _SPECIAL.match(heading) or restarted:
            # a part that is a chapter itself, a prologue, or numbering starting again under
            # a part heading this text does not have: under no part we can name
            current_part = ""
        last_number = number if number is not None else last_number
        said = [*(p for p in prefix if not says_already(heading, p)), heading]
        carried = current_part and not any(says_already(t, current_part) for t in said)
        full = join_titles([current_part, *said] if carried else said)
        prefix = []
        book.chapters.append(Chapter(len(book.chapters) + 1, full, blocks, path.name))
    if not book.chapters:
        raise InputError(path, "no readable text found")
    return book


_NUMBERED = re.compile(r"^(?:(?:chapter|letter|stave|canto)\s+)?([ivxlcdm]+|\d{1,4})\b", re.I)
_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}


def _chapter_number(heading: str) -> int | None:
    """12 for "CHAPTER XII." or "12. The Storm"; None for headings without a number."""
    match = _NUMBERED.match(heading.strip())
    if match is None:
        return None
    value = match.group(1).lower()
    if value.isdigit():
        return int(value)
    digits = [_ROMAN_VALUES[c] for c in value]
    return sum(-d if d < nxt else d for d, nxt in zip(digits, [*digits[1:], 0], strict=True))


def _tidy(blocks: list[Block]) -> list[Block]:
    out: list[Block] = []
    for b in blocks:
        if b.kind == BlockKind.SECTION_BREAK and (
            not out or out[-1].kind == BlockKind.SECTION_BREAK
        ):
            continue
        out.append(b)
    while out and out[-1].kind == BlockKind.SECTION_BREAK:
        out.pop()
    return out


def _title_from_stem(path: Path) -> str:
    return " ".join(re.sub(r"[_\-.]+", " ", path.stem).split()) or path.name


def read_txt(
    path: Path, text: str, *, include_front_matter: bool, include_boilerplate: bool = False
) -> Book:
    paras = _paragraphs(text.replace("\r\n", "\n").replace("\r", "\n"))
    parts = gutenberg.partition(paras)
    header = [part.header for part in parts if part.header]
    footer = [part.footer for part in parts if part.footer]
    meta = gutenberg.header_metadata("\n\n".join(header))
    paras = [part.body for part in parts if part.body]
    leading: list[SkippedSection] = []
    trailing: list[SkippedSection] = []
    if not include_boilerplate:
        split = gutenberg.split_notes(paras)
        paras = [body for body, _ in split if body]
        notes = [note for _, note in split if note]
        leading, trailing = gutenberg.skipped_sections(header, notes, footer)
    title, author = meta.get("title", ""), meta.get("author", "")
    # A leading "Title" paragraph followed by "by Author".
    byline = len(paras) >= 2 and re.match(r"^by\s+\S", paras[1].strip(), re.I) is not None
    if byline and len(paras[0]) < 120 and not _CHAPTER_LINE.match(paras[0].strip()):
        title = title or display_title(_join(paras[0]))
        author = author or _join(re.sub(r"^by\s+", "", paras[1].strip(), flags=re.I))
        paras = paras[2:]
    classes = [_heading_class(p) for p in paras]
    strengths = [c[0] for c in classes if c]
    # One explicit "Chapter" line is enough; weaker kinds must repeat to count as a pattern.
    mode = next((k for k, n in ((3, 1), (2, 2), (1, 2)) if strengths.count(k) >= n), 4)
    sections: list[tuple[str | None, list[Block]]] = [(None, [])]
    for para, cls in zip(paras, classes, strict=True):
        if cls and cls[0] >= mode:
            sections.append((_strip_emphasis(cls[1]), []))
        else:
            sections[-1][1].append(_block(_strip_emphasis(para)))
    if len(sections) == 1:
        sections = [(title or _title_from_stem(path), sections[0][1])]
    if header and include_boilerplate:  # asked for: read as chapters of their own
        sections.insert(0, (gutenberg.HEADER_TITLE, [Block(_join(p)) for p in header]))
    if footer and include_boilerplate:
        sections.append((gutenberg.FOOTER_TITLE, [Block(_join(p)) for p in footer]))
    book = _book(path, title or _title_from_stem(path), author or "Unknown", sections,
                 include_front_matter)  # fmt: skip
    book.skipped = [*leading, *book.skipped, *trailing]
    return book
