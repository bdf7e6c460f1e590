"""Read a book file (EPUB, plain text, Markdown) into a `narration.model.Book`, safely.

`read_book` is the only entry point the pipeline uses. It dispatches on content, not on the
name alone: a ZIP signature means EPUB, whatever the extension; otherwise .txt / .md /
.markdown are read as text. Anything wrong with the input (missing, unreadable, not a book,
hostile) raises `InputError` with a one-line message.

EPUB chapter rules:
- Chapters follow the spine and take their titles from the table of contents (EPUB3 nav,
  else NCX). TOC entries that point into one document by `#fragment` split it there.
- Nested TOCs: every linked entry at any depth can be a chapter. An entry whose text is only
  its own heading (a part page) is not voiced as a chapter; its title, and any unlinked group
  label above an entry, prefixes the next chapter's title ("Part One: Chapter 1").
- Spine documents with no TOC entry join the chapter before them (or open the book, titled
  from their own heading), so no text is dropped. With no usable TOC at all, each spine
  document is a chapter titled from its heading.
- Front/back matter (title page, copyright, contents, dedication, index, notes pages, ...)
  and non-linear spine documents are skipped unless `include_front_matter`; each skip is
  listed in `Book.skipped` with its reason. Headings that repeat the TOC title are dropped
  (the pipeline announces the title itself). A chapter under a parent that is no chapter
  itself carries the parent's title ("A Scandal in Bohemia: II"); titles set in capitals
  are shown (and spoken) in title case.
- Project Gutenberg books (EPUB and plain text): the header, the licence and transcriber's
  notes are left out unless `include_boilerplate`, and listed in `Book.skipped` with their
  length ("Project Gutenberg licence", "boilerplate, 3,012 words"); see gutenberg.py.
- notes: "skip" drops note references and bodies; "inline" reads each note (as a NOTE block,
  "Note: ...") after the paragraph that references it; "chapter-end" reads them at the end
  of the referencing chapter.
"""

from __future__ import annotations

import logging
from pathlib import Path

from narration.errors import InputError
from narration.model import Book

__all__ = ["read_book", "NOTE_POLICIES", "TEXT_SUFFIXES"]

log = logging.getLogger(__name__)
NOTE_POLICIES = ("skip", "inline", "chapter-end")
TEXT_SUFFIXES = (".txt", ".text", ".md", ".markdown")


def read_book(
    path: str | Path,
    *,
    include_front_matter: bool = False,
    notes: str = "skip",
    include_boilerplate: bool = False,
) -> Book:
    """Parse `path` into a Book, or raise InputError saying in one line what is wrong.

    `include_boilerplate` reads Project Gutenberg's header, licence and transcriber's notes,
    which are otherwise left out (EPUB and plain text) and listed in `Book.skipped`."""
    from narration.ingest.epub import read_epub
    from narration.ingest.markdown import read_markdown
    from narration.ingest.safety import check_file, is_zip, read_limited
    from narration.ingest.text import decode, read_txt

    if notes not in NOTE_POLICIES:
        raise ValueError(f"notes must be one of {NOTE_POLICIES}, not {notes!r}")
    path = Path(path)
    head = check_file(path)
    try:
        if is_zip(head):
            return read_epub(
                path,
                include_front_matter=include_front_matter,
                notes=notes,
                include_boilerplate=include_boilerplate,
            )
        suffix = path.suffix.lower()
        if suffix == ".epub":
            raise InputError(path, "not an EPUB: the file is not a ZIP archive")
        if suffix not in TEXT_SUFFIXES:
            raise InputError(
                path, f"unsupported file type {suffix or '(none)'!r}; use .epub, .txt or .md"
            )
        text = decode(read_limited(path), path)
        if suffix in (".md", ".markdown"):
            return read_markdown(path, text, include_front_matter=include_front_matter, notes=notes)
        return read_txt(
            path,
            text,
            include_front_matter=include_front_matter,
            include_boilerplate=include_boilerplate,
        )
    except InputError:
        raise
    except RecursionError:
        raise InputError(path, "document structure is nested too deeply") from None
    except MemoryError:
        raise InputError(path, "document is too large to read") from None
    except Exception as exc:  # a parser surprise on malformed input must not escape as a crash
        log.debug("unexpected error reading %s", path, exc_info=True)
        raise InputError(path, f"could not read book ({type(exc).__name__}: {exc})") from None
