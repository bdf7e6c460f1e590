"""Footnotes and endnotes: find the note bodies, so the reader can place them by policy.

A note is identified by its target: the element a noteref link points at. Bodies are found
across the whole book first, because endnotes usually live in another file than the
references to them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from narration.ingest.epub_toc import epub_types
from narration.ingest.package import resolve

NOTE_TYPES = {"footnote", "endnote", "rearnote", "note"}
NOTE_SECTION_TYPES = {"footnotes", "endnotes", "rearnotes"}
BACKLINK_TYPES = {"backlink", "referrer"}
NOTE_CLASSES = re.compile(r"\b(foot|end|rear)?notes?\b|\bfn\d*\b", re.IGNORECASE)
BLOCKISH = {"p", "li", "div", "aside", "dd", "section", "blockquote", "td"}
_MARKER = re.compile(r"^\s*[\[(]?(\d+|[*†‡§¶]|[ivxlc]+)[\])]?\.?\s*$", re.IGNORECASE)
_CITATION = re.compile(r"^\s*\[\s*\d{1,4}[a-z]?\s*\]\s*$")
_LEADING_MARKER = re.compile(r"^\s*[\[(](\d+|[*†‡§])[\])]\.?\s+|^\s*\d+\.\s+(?=\D)")


def local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def link_key(doc_href: str, href: str) -> str | None:
    """`file#id` for a link with a fragment, resolved against the linking document."""
    if "#" not in href or href.strip().startswith(("http:", "https:", "mailto:")):
        return None
    fragment = href.split("#", 1)[1]
    return f"{resolve(doc_href, href)}#{fragment}" if fragment else None


@dataclass
class NoteIndex:
    """Note bodies by `file#id`, and the elements that are bodies (never read in place)."""

    bodies: dict[str, str]
    elements: set[etree._Element]

    def is_noteref(self, doc_href: str, a: etree._Element) -> str | None:
        """The note key if this <a> is a note reference, else None."""
        key = link_key(doc_href, a.get("href") or "")
        types = epub_types(a)
        if "noteref" in types:
            return key or ""
        if key is not None and key in self.bodies:
            return key
        if key is not None and _CITATION.match("".join(a.itertext())):
            return key  # "[12]" linking anywhere in the book: a citation marker, never read
        return None


def collect_notes(docs: dict[str, etree._Element]) -> NoteIndex:
    """Find every note body in the book (documents keyed by archive path)."""
    targets: set[str] = set()
    noteref_targets: set[str] = set()
    for href, root in docs.items():
        for a in root.iter("{*}a", "a"):
            key = link_key(href, a.get("href") or "")
            if key:
                targets.add(key)
                if "noteref" in epub_types(a):
                    noteref_targets.add(key)
    bodies: dict[str, str] = {}
    elements: set[etree._Element] = set()
    for href, root in docs.items():
        for el in root.iter():
            el_id = el.get("id") if isinstance(el.tag, str) else None
            if not el_id:
                continue
            key = f"{href}#{el_id}"
            body = _note_body(el, key, targets, noteref_targets)
            if body is None or body in elements:
                continue
            text = note_text(body)
            if text:
                bodies[key] = text
                elements.add(body)
    return NoteIndex(bodies, elements)


def _note_body(
    el: etree._Element, key: str, targets: set[str], noteref_targets: set[str]
) -> etree._Element | None:
    types = epub_types(el)
    if types & NOTE_TYPES and "noteref" not in types:
        return el
    if key not in targets:
        return None
    in_notes_section = any(epub_types(anc) & NOTE_SECTION_TYPES for anc in el.iterancestors())
    looks_like_note = (
        key in noteref_targets
        or local(el) == "aside"
        or in_notes_section
        or NOTE_CLASSES.search(el.get("class") or "") is not None
    )
    if not looks_like_note:
        return None
    if local(el) in BLOCKISH:
        return el
    # An anchor inside the note (<p><a id="fn1">1</a> text</p>): the body is its block.
    parent = el.getparent()
    while parent is not None and local(parent) not in BLOCKISH:
        parent = parent.getparent()
    if parent is None or local(parent) in ("section", "body") or epub_types(parent) & {"noteref"}:
        return None
    return parent


def note_text(body: etree._Element) -> str:
    """The readable text of a note body: no backlinks, markers, page numbers."""
    parts: list[str] = []

    def walk(el: etree._Element) -> None:
        name = local(el)
        types = epub_types(el)
        skip = (
            name in ("script", "style", "rt", "rp", "img", "svg")
            or types & BACKLINK_TYPES
            or "pagebreak" in types
            or (name == "a" and _MARKER.match("".join(el.itertext()) or "x"))
            or (name == "a" and "".join(el.itertext()).strip() in ("↩", "↩︎", "↑", "^"))
        )
        if not skip:
            parts.append(el.text or "")
            for child in el:
                walk(child)
                parts.append(child.tail or "")
        parts.append(" " if name in BLOCKISH or name == "br" else "")

    parts.append("")
    walk(body)
    text = " ".join("".join(parts).split())
    return _LEADING_MARKER.sub("", text, count=1).strip()
