"""EPUB -> Book: follow the spine, cut it into chapters where the TOC points, title them
from the TOC, leave front/back matter out (saying so), and place notes by policy.

Chapter rules (documented for users in read_book's docstring):
- Every linked TOC entry, at any depth, starts a piece of text; `file#id` entries split one
  document at that element. A piece becomes a chapter titled with its TOC entry.
- A piece with nothing to read but its own heading (a part title page, a section heading
  followed straight by its first chapter) is not a chapter: its title, with any unlinked TOC
  labels above an entry (e.g. an author's name grouping stories), prefixes the next
  chapter's title ("Part One: Chapter 1"), so the structure is still announced once.
- Spine documents without a TOC entry are appended to the chapter before them; when nothing
  precedes them they open the book as a chapter titled from their own heading (or the
  document <title>). A book with no usable TOC gets one chapter per spine document.
- Leading headings that repeat the TOC title are dropped: the pipeline announces the title.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lxml import etree

from narration.errors import InputError
from narration.ingest.epub_toc import TocEntry, read_toc
from narration.ingest.matter import (
    matter_from_filename,
    matter_from_title,
    matter_from_types,
)
from narration.ingest.notes import NoteIndex, collect_notes, local
from narration.ingest.package import Package, read_package
from narration.ingest.safety import SafeZip, open_zip, parse_content
from narration.ingest.xhtml import Item, NoteRefs, Skip, Split, Walker
from narration.model import Block, BlockKind, Book, Chapter, SkippedSection

log = logging.getLogger(__name__)
NOTE_POLICIES = ("skip", "inline", "chapter-end")


@dataclass
class _Piece:
    href: str  # document, plus #fragment when it starts inside one
    entries: list[TocEntry]
    linear: bool
    at_doc_start: bool
    items: list[Item] = field(default_factory=list)


def read_epub(path: Path, *, include_front_matter: bool, notes: str) -> Book:
    archive = open_zip(path)
    try:
        return _read(archive, include_front_matter, notes)
    finally:
        archive.close()


def _read(archive: SafeZip, include_matter: bool, notes: str) -> Book:
    package = read_package(archive)
    toc = read_toc(archive, package)
    docs: dict[str, etree._Element] = {}
    for spine_item in package.spine:
        href = spine_item.item.href
        if spine_item.item.is_html and href not in docs:
            docs[href] = parse_content(archive.read(href), archive.path, href)
    note_index = collect_notes(docs)
    landmarks = {(href, frag): matter_from_types(types) for types, href, frag in toc.landmarks}

    pieces = _pieces(package, docs, toc.entries, note_index, include_matter)
    book = Book(
        title=package.title or archive.path.stem,
        author=" and ".join(package.authors) or "Unknown",
        language=package.language or "en",
        source_path=str(archive.path),
    )
    _assemble(book, pieces, docs, note_index, notes, include_matter, landmarks)
    if not book.chapters and not include_matter and book.skipped:
        # Everything looked like front/back matter: better to read it than to read nothing.
        return _read(archive, True, notes)
    if not book.chapters:
        raise InputError(archive.path, "EPUB contains no readable text")
    if package.cover is not None and package.cover.href in archive.names:
        book.cover_image = archive.read(package.cover.href)
        book.cover_mime = package.cover.media_type.replace("image/jpg", "image/jpeg")
    return book


def _pieces(
    package: Package,
    docs: dict[str, etree._Element],
    entries: list[TocEntry],
    note_index: NoteIndex,
    include_matter: bool,
) -> list[_Piece]:
    by_doc: dict[str, list[TocEntry]] = {}
    for entry in entries:
        by_doc.setdefault(entry.href, []).append(entry)
    pieces: list[_Piece] = []
    seen: set[str] = set()
    for spine_item in package.spine:
        href = spine_item.item.href
        if href not in docs or href in seen:
            continue
        seen.add(href)
        root = docs[href]
        ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
        listed = by_doc.get(href, [])
        # An entry whose #fragment is missing counts as the document's start only when it is
        # the document's first entry; later dangling entries have no place and are dropped.
        at_start = [
            e for i, e in enumerate(listed) if not e.fragment or (e.fragment not in ids and i == 0)
        ]
        at_id: dict[str, list[TocEntry]] = {}
        for e in by_doc.get(href, []):
            if e.fragment and e.fragment in ids:
                at_id.setdefault(e.fragment, []).append(e)
        walker = Walker(href, set(at_id), note_index, include_matter)
        current = _Piece(href, at_start, spine_item.linear, True)
        for item in walker.run(root):
            if isinstance(item, Split):
                pieces.append(current)
                current = _Piece(
                    f"{href}#{item.anchor}", at_id[item.anchor], spine_item.linear, False
                )
            else:
                current.items.append(item)
        pieces.append(current)
    return pieces


def _assemble(
    book: Book,
    pieces: list[_Piece],
    docs: dict[str, etree._Element],
    note_index: NoteIndex,
    notes: str,
    include_matter: bool,
    landmarks: dict[tuple[str, str | None], str | None],
) -> None:
    prefix: list[str] = []
    end_notes: dict[int, list[str]] = {}
    # Without any TOC, each spine document is a chapter titled from its own heading.
    has_toc = any(piece.entries for piece in pieces)
    for piece in pieces:
        for entry in piece.entries:
            prefix.extend(entry.labels)
        prefix.extend(e.title for e in piece.entries[:-1])
        title = piece.entries[-1].title if piece.entries else ""
        blocks, keys = _place_notes(piece.items, note_index, notes)
        skips = [i for i in piece.items if isinstance(i, Skip)]
        has_text = any(b.text for b in blocks)
        name = title or PurePosixPath(piece.href.split("#")[0]).stem

        if not include_matter:
            if not piece.linear and has_text:
                book.skipped.append(SkippedSection(name, "non-linear (supplementary) document"))
                continue
            doc_href, _, frag = piece.href.partition("#")
            reason = matter_from_title(title) if title else None
            if reason is None and not title and piece.at_doc_start and not book.chapters:
                reason = matter_from_filename(doc_href)
            reason = reason or landmarks.get((doc_href, frag or None))
            if reason and has_text:
                book.skipped.append(SkippedSection(name, reason))
                continue
        for skip in skips:
            book.skipped.append(SkippedSection(title or skip.title or skip.reason, skip.reason))

        blocks = _drop_title_headings(blocks, title)
        if not any(b.text for b in blocks):
            if title and not skips:
                if piece.entries[-1].has_children:
                    prefix.append(title)  # a part page: announce it with its first chapter
                else:
                    book.skipped.append(SkippedSection(title, "no readable text"))
            continue
        if not title and book.chapters and (has_toc or not piece.at_doc_start):
            book.chapters[-1].blocks.extend(blocks)
            end_notes.setdefault(book.chapters[-1].index, []).extend(keys)
            continue
        if not title:
            title = _fallback_title(blocks, docs.get(piece.href.split("#")[0]), book.title)
            if title == book.title and book.chapters:
                title = f"Section {len(book.chapters) + 1}"
            blocks = _drop_title_headings(blocks, title)
        full_title = ": ".join([*(p.rstrip(" :") for p in prefix), title])
        prefix = []
        chapter = Chapter(len(book.chapters) + 1, full_title, blocks, piece.href)
        book.chapters.append(chapter)
        end_notes[chapter.index] = list(keys)

    if notes == "chapter-end":
        for chapter in book.chapters:
            seen: set[str] = set()
            for key in end_notes.get(chapter.index, []):
                if key not in seen and key in note_index.bodies:
                    seen.add(key)
                    chapter.blocks.append(Block(f"Note: {note_index.bodies[key]}", BlockKind.NOTE))
    for chapter in book.chapters:
        chapter.blocks = _tidy_breaks(chapter.blocks)


def _place_notes(
    items: list[Item], note_index: NoteIndex, notes: str
) -> tuple[list[Block], list[str]]:
    """Blocks of a piece with inline notes placed; keys referenced, for chapter-end notes."""
    blocks: list[Block] = []
    keys: list[str] = []
    read: set[str] = set()
    for item in items:
        if isinstance(item, Block):
            blocks.append(item)
        elif isinstance(item, NoteRefs):
            keys.extend(item.keys)
            if notes == "inline":
                for key in item.keys:
                    if key in note_index.bodies and key not in read:
                        read.add(key)
                        blocks.append(Block(f"Note: {note_index.bodies[key]}", BlockKind.NOTE))
    return blocks, keys


_NUMBERING = re.compile(r"^(chapter|part|book|section|canto|act|scene)?\s*([ivxlcdm]+|\d+)\b\.?\s*")


def _tokens(text: str) -> list[str]:
    return re.sub(r"[^\w\s]", " ", text.casefold()).split()


def _heading_repeats_title(heading: str, title: str) -> bool:
    h, t = _tokens(heading), _tokens(title)
    if not h or not t:
        return False
    if _contains(t, h) or _contains(h, t):
        return True
    # "1. The Rabbi and The Diadem" vs TOC "I. The Rabbi and the Diadem"
    h2 = _tokens(_NUMBERING.sub("", " ".join(h)))
    t2 = _tokens(_NUMBERING.sub("", " ".join(t)))
    return bool(h2) and h2 == t2


def _contains(big: list[str], small: list[str]) -> bool:
    n = len(small)
    return any(big[i : i + n] == small for i in range(len(big) - n + 1))


def _drop_title_headings(blocks: list[Block], title: str) -> list[Block]:
    if not title:
        return blocks
    i = 0
    while i < len(blocks) and blocks[i].kind in (BlockKind.HEADING, BlockKind.SECTION_BREAK):
        if blocks[i].kind == BlockKind.HEADING and not _heading_repeats_title(
            blocks[i].text, title
        ):
            break
        i += 1
    return blocks[i:]


def _fallback_title(blocks: list[Block], root: etree._Element | None, book_title: str) -> str:
    """A title for untitled opening text: its own heading, else the document <title>."""
    for block in blocks:
        if block.kind == BlockKind.HEADING:
            return block.text
        if block.text:
            break
    if root is not None:
        for el in root.iter():
            if local(el) == "title" and (el.text or "").strip():
                return " ".join(el.text.split())
    return book_title


def _tidy_breaks(blocks: list[Block]) -> list[Block]:
    """No section break at either end of a chapter, and never two in a row."""
    out: list[Block] = []
    for block in blocks:
        if block.kind == BlockKind.SECTION_BREAK and (
            not out or out[-1].kind == BlockKind.SECTION_BREAK
        ):
            continue
        out.append(block)
    while out and out[-1].kind == BlockKind.SECTION_BREAK:
        out.pop()
    return out
