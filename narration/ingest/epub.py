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
- A chapter under a TOC entry or label that is not a chapter itself (a part page, an
  author's name over stories) carries that parent's title ("A Scandal in Bohemia: II"),
  unless its own title already says it. Titles set in capitals are shown in title case.
- Leading headings that repeat the TOC title are dropped: the pipeline announces the title.
- Project Gutenberg's header, licence and transcriber's notes are taken out unless
  `include_boilerplate` (see gutenberg.py), and listed in `Book.skipped` with their length.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lxml import etree

from narration.errors import InputError
from narration.ingest import gutenberg
from narration.ingest.epub_toc import TocEntry, read_toc
from narration.ingest.matter import (
    TRANSCRIBER_NOTES,
    matter_from_filename,
    matter_from_title,
    matter_from_types,
)
from narration.ingest.notes import NoteIndex, collect_notes, local
from narration.ingest.package import Package, read_package
from narration.ingest.safety import SafeZip, open_zip, parse_content
from narration.ingest.titles import join_titles, says_already
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
    emptied: bool = False  # all its text was Project Gutenberg's boilerplate


def read_epub(
    path: Path, *, include_front_matter: bool, notes: str, include_boilerplate: bool = False
) -> Book:
    archive = open_zip(path)
    try:
        return _read(archive, include_front_matter, notes, include_boilerplate)
    finally:
        archive.close()


def _read(archive: SafeZip, include_matter: bool, notes: str, include_boilerplate: bool) -> Book:
    package = read_package(archive)
    toc = read_toc(archive, package)
    docs: dict[str, etree._Element] = {}
    for spine_item in package.spine:
        href = spine_item.item.href
        if spine_item.item.is_html and href not in docs:
            docs[href] = parse_content(archive.read(href), archive.path, href)
    marked_notes: list[str] = []
    if not include_boilerplate:
        targets = {entry.fragment for entry in toc.entries if entry.fragment}
        for root in docs.values():
            marked_notes += gutenberg.take_transcriber_notes(root, targets)
    note_index = collect_notes(docs)
    landmarks = {(href, frag): matter_from_types(types) for types, href, frag in toc.landmarks}

    pieces = _pieces(package, docs, toc.entries, note_index, include_matter)
    leading, trailing = [], []
    if not include_boilerplate:
        leading, trailing = _strip_boilerplate(pieces, note_index, notes, marked_notes)
        pieces = [piece for piece in pieces if not piece.emptied]
    book = Book(
        title=package.title or archive.path.stem,
        author=" and ".join(package.authors) or "Unknown",
        language=package.language or "en",
        source_path=str(archive.path),
    )
    _assemble(book, pieces, docs, note_index, notes, include_matter, landmarks)
    if not book.chapters and not include_matter and book.skipped:
        # Everything looked like front/back matter: better to read it than to read nothing.
        return _read(archive, True, notes, include_boilerplate)
    book.skipped = [*leading, *book.skipped, *trailing]
    if not book.chapters:
        raise InputError(archive.path, "EPUB contains no readable text")
    book.defects = [*package.defects, *_toc_defects(toc.entries, archive.names)]
    for defect in book.defects:
        log.warning("%s: %s", archive.path, defect)
    if package.cover is not None and package.cover.href in archive.names:
        book.cover_image = archive.read(package.cover.href)
        book.cover_mime = package.cover.media_type.replace("image/jpg", "image/jpeg")
    return book


def _toc_defects(entries: list[TocEntry], names: Iterable[str]) -> list[str]:
    present = set(names)
    return [
        f"table of contents entry {entry.title!r} points to '{entry.href}', which is not in "
        "the EPUB; skipped"
        for entry in entries
        if entry.href not in present
    ]


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


def _strip_boilerplate(
    pieces: list[_Piece], note_index: NoteIndex, note_policy: str, marked_notes: list[str]
) -> tuple[list[SkippedSection], list[SkippedSection]]:
    """Take Project Gutenberg's header, licence and transcriber's notes out of the pieces,
    in place (see gutenberg.py). A piece whose text was all boilerplate is marked emptied,
    unless its entry is a part whose title the chapters below it still need. A piece the TOC
    titles "Transcriber's Notes" is front matter, left to those rules. `marked_notes` were
    taken out of the documents already (by their class). Returns the skipped entries to list
    before the book's own, and after them."""
    had_text = [_has_text(piece.items) for piece in pieces]
    notes_section = [
        bool(piece.entries) and matter_from_title(piece.entries[-1].title) == TRANSCRIBER_NOTES
        for piece in pieces
    ]
    removed = gutenberg.strip_blocks(
        [piece.items for piece in pieces], [not n for n in notes_section]
    )
    removed.notes[:0] = marked_notes
    for key, body in list(note_index.bodies.items()):
        if gutenberg.split_notes([body]) == [("", body)]:  # a footnote that is only a TN
            del note_index.bodies[key]
            if note_policy != "skip":  # listed only where the policy would have read it
                removed.notes.append(body)
    for piece, had in zip(pieces, had_text, strict=True):
        for entry in piece.entries:  # "The Project Gutenberg eBook of X" names the work X
            entry.title = gutenberg.work_title(entry.title)
        is_part = bool(piece.entries) and piece.entries[-1].has_children
        piece.emptied = had and not _has_text(piece.items) and not is_part
    return gutenberg.skipped_sections(removed.header, removed.notes, removed.footer)


def _has_text(items: list[Item]) -> bool:
    return any(isinstance(item, Block) and item.text for item in items)


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
    chapter_entries: set[int] = set()  # ids of the TOC entries that became chapters
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
            if reason is None and not book.chapters and _is_title_page(blocks, title, book):
                reason, name = "title page", title or book.title
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
        entry = piece.entries[-1] if piece.entries else None
        prefix = [p for p in prefix if not says_already(title, p)]  # "Part Two, Chapter 1"
        context = _parent_context(entry, [*prefix, title], book.title, chapter_entries)
        full_title = join_titles([*prefix, *context, title])
        prefix = []
        if entry is not None:
            chapter_entries.add(id(entry))
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


_TITLE_PAGE_WORDS = 40
# Credit lines of a title page: "By Anna Marsh", "Translated by ...", "With illustrations".
_TITLE_PAGE_LINE = re.compile(
    r"^\W*(by|translated|illustrated|edited|with\s+(an?\s+)?(illustrations|introduction|notes|"
    r"preface|frontispiece))\b",
    re.I,
)


def _is_title_page(blocks: list[Block], title: str, book: Book) -> bool:
    """Before the first chapter, a few lines under no title or the book's own, each a heading
    or naming the book, its author or who made it ("by Anna Marsh"), are a title page (as a
    Project Gutenberg book has after its header), not a chapter."""
    texts = [block for block in blocks if block.text]
    if not texts or sum(len(b.text.split()) for b in texts) >= _TITLE_PAGE_WORDS:
        return False
    if title and _tokens(title) != _tokens(book.title):
        return False
    names = [_tokens(book.title), _tokens(book.author)]
    return all(
        block.kind == BlockKind.HEADING
        or _TITLE_PAGE_LINE.match(block.text)
        or any(name and _contains(_tokens(block.text), name) for name in names)
        for block in texts
    )


def _parent_context(
    entry: TocEntry | None, said: list[str], book_title: str, chapter_entries: set[int]
) -> list[str]:
    """The title of what `entry` sits under, when its chapter needs it: the parent is no
    chapter of its own (a part page, an unlinked label), is not the book itself, and `said`
    (the titles announced with the chapter) does not already name it. "II" alone means
    nothing in a chapter list; "A Scandal in Bohemia: II" does."""
    parent = entry.parent if entry is not None else None
    if parent is None or (parent.entry is not None and id(parent.entry) in chapter_entries):
        return []
    if _tokens(parent.title) == _tokens(book_title):
        return []
    if any(says_already(title, parent.title) for title in said):
        return []
    return [parent.title]


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
                return gutenberg.work_title(" ".join(el.text.split()))
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
