"""Front and back matter: what a listener does not want read aloud by default.

Publishers mark these with EPUB structural semantics (epub:type / ARIA role). Older books
do not, so the TOC title and the file name are checked against the usual names too. Matter
that is part of the work (preface, introduction, epigraph, prologue, epilogue, afterword) is
always read.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

# epub:type / role values (without the doc- prefix) for pages not worth voicing.
SKIP_TYPES: dict[str, str] = {
    "cover": "cover page",
    "titlepage": "title page",
    "halftitlepage": "half-title page",
    "fulltitle": "title page",
    "imprint": "imprint",
    "colophon": "colophon",
    "copyright-page": "copyright page",
    "copyright": "copyright page",
    "toc": "table of contents",
    "landmarks": "landmarks",
    "page-list": "page list",
    "loi": "list of illustrations",
    "lot": "list of tables",
    "dedication": "dedication",
    "acknowledgments": "acknowledgments",
    "acknowledgements": "acknowledgments",
    "index": "index",
    "uncopyright": "licence page",
    "endnotes": "notes section",
    "footnotes": "notes section",
    "rearnotes": "notes section",
    "bibliography": "bibliography",
    "errata": "errata",
    "seriespage": "series page",
    "other-credits": "credits",
    "contributors": "contributors list",
    "glossary": "glossary",
}

TRANSCRIBER_NOTES = "transcriber's notes"

# Normalised TOC titles for the same pages, for books without semantics.
_TITLE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(front )?cover( page| image)?"), "cover page"),
    (re.compile(r"(half )?title( page)?|titlepage"), "title page"),
    (re.compile(r"copyright( page| notice)?|imprint|colophon|legal notice"), "copyright page"),
    (re.compile(r"uncopyright|licen[cs]e"), "licence page"),
    (re.compile(r"(table of )?contents|toc"), "table of contents"),
    (re.compile(r"dedication"), "dedication"),
    (re.compile(r"acknowledge?ments?"), "acknowledgments"),
    (re.compile(r"index"), "index"),
    (re.compile(r"(end ?|foot ?)?notes"), "notes section"),
    (re.compile(r"(list of )?(illustrations|figures|tables)"), "list of illustrations"),
    (re.compile(r"bibliography|works cited|references"), "bibliography"),
    (re.compile(r"(also )?by the same author|other books by .*|also by .*"), "series page"),
    (re.compile(r"about the (author|publisher|translator)s?"), "about the author"),
    (re.compile(r"(original )?transcribers?( s)? notes?"), TRANSCRIBER_NOTES),
]
_FILE_STEMS = {
    "cover": "cover page",
    "titlepage": "title page",
    "title": "title page",
    "halftitle": "half-title page",
    "imprint": "imprint",
    "colophon": "colophon",
    "copyright": "copyright page",
    "uncopyright": "licence page",
    "toc": "table of contents",
    "nav": "table of contents",
    "dedication": "dedication",
    "acknowledgments": "acknowledgments",
    "index": "index",
    "endnotes": "notes section",
    "footnotes": "notes section",
    "loi": "list of illustrations",
}


def matter_from_types(types: set[str]) -> str | None:
    """The reason to skip an element with these semantics, if it is skippable matter."""
    for kind in types:
        if kind in SKIP_TYPES:
            return SKIP_TYPES[kind]
    return None


def _norm(title: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", title.casefold()).split())


def matter_from_title(title: str) -> str | None:
    norm = _norm(title)
    for pattern, reason in _TITLE_PATTERNS:
        if pattern.fullmatch(norm):
            return reason
    return None


def matter_from_filename(href: str) -> str | None:
    stem = re.sub(r"[-_ ]?\d+$", "", PurePosixPath(href).stem.casefold())
    return _FILE_STEMS.get(stem.replace("-", "").replace("_", ""))
