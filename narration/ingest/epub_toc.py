"""The table of contents: EPUB3 navigation document, else EPUB2 NCX, flattened in order.

Chapter titles come from here and nowhere else, because the TOC is the one place where the
publisher states the name a listener should hear ("Chapter 1. Loomings."), where headings in
the text may be split across elements, decorated, or missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import unquote

from lxml import etree

from narration.errors import InputError
from narration.ingest.package import Package, resolve
from narration.ingest.safety import SafeZip, parse_xml

OPS_NS = "http://www.idpf.org/2007/ops"
NCX_NS = "http://www.daisy.org/z3986/2005/ncx/"
log = logging.getLogger(__name__)


@dataclass
class TocEntry:
    """One linked TOC entry. `labels` are unlinked headings (e.g. an author's name grouping
    stories) that open just above it, outermost first: announced with its title. `parent` is
    the entry or unlinked label it sits under, which every sibling may need as context."""

    title: str
    href: str  # archive path of the document
    fragment: str | None
    depth: int
    labels: list[str] = field(default_factory=list)  # unlinked group labels just above
    has_children: bool = False  # a part: deeper entries follow it
    parent: TocParent | None = None


@dataclass
class TocParent:
    """What a TOC entry is nested under: a linked entry, or an unlinked label."""

    title: str
    entry: TocEntry | None = None  # None: an unlinked label


@dataclass
class Toc:
    entries: list[TocEntry]
    landmarks: list[tuple[set[str], str, str | None]]  # (types, href, fragment)


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _clean(text: str) -> str:
    return " ".join(text.split())


def epub_types(el: etree._Element) -> set[str]:
    raw = (el.get(f"{{{OPS_NS}}}type") or el.get("epub:type") or "").split()
    raw += [r.removeprefix("doc-") for r in (el.get("role") or "").split()]
    out = set(raw)
    out.update(t.split(":", 1)[1] for t in raw if ":" in t)
    return out


def _split_href(base: str, href: str) -> tuple[str, str | None]:
    href = href.strip()
    fragment = unquote(href.split("#", 1)[1]) if "#" in href else None
    return resolve(base, href), (fragment or None)


def read_toc(archive: SafeZip, package: Package) -> Toc:
    """Nav first (EPUB3), NCX as the fallback; an unreadable TOC gives an empty one."""
    entries: list[TocEntry] = []
    landmarks: list[tuple[set[str], str, str | None]] = []
    if package.nav is not None:
        root = _parse_toc_doc(archive, package.nav.href)
        navs = [el for el in root.iter() if _local(el) == "nav"]
        toc_nav = next((n for n in navs if "toc" in epub_types(n)), None)
        if toc_nav is not None:
            _walk_nav(toc_nav, package.nav.href, 0, [], entries)
        for nav in navs:
            if "landmarks" in epub_types(nav):
                for a in nav.iter():
                    if _local(a) == "a" and a.get("href"):
                        href, frag = _split_href(package.nav.href, a.get("href", ""))
                        landmarks.append((epub_types(a), href, frag))
    if not entries and package.ncx is not None:
        root = _parse_toc_doc(archive, package.ncx.href)
        nav_map = next((el for el in root.iter() if _local(el) == "navMap"), None)
        if nav_map is not None:
            _walk_ncx(nav_map, package.ncx.href, 0, [], entries, None)
    for here, after in zip(entries, entries[1:], strict=False):
        here.has_children = after.depth > here.depth
    for kind, href in package.guide:
        landmarks.append(({kind}, href, None))
    return Toc(entries, landmarks)


def _parse_toc_doc(archive: SafeZip, href: str) -> etree._Element:
    """A damaged TOC is not fatal (titles fall back to the NCX or to headings); a hostile
    one (entity tricks) still is."""
    try:
        return parse_xml(archive.read(href), archive.path, href, recover=True)
    except InputError as exc:
        if "refused" in exc.problem:
            raise
        log.warning("%s: unreadable table of contents %s (%s)", archive.path, href, exc.problem)
        return etree.Element("empty")


def _walk_nav(
    container: etree._Element, base: str, depth: int, labels: list[str], out: list[TocEntry]
) -> None:
    """Walk <ol>/<li> lists, wherever they sit inside the nav (some wrap them in divs)."""
    for child in container:
        name = _local(child)
        if name in ("ol", "ul"):
            for li in child:
                if _local(li) == "li":
                    _nav_item(li, base, depth, labels, out, None)
        elif name not in ("h1", "h2", "h3", "h4", "h5", "h6", "header", "li", ""):
            _walk_nav(child, base, depth, labels, out)


def _nav_item(
    li: etree._Element,
    base: str,
    depth: int,
    labels: list[str],
    out: list[TocEntry],
    parent: TocParent | None,
) -> None:
    link = next((el for el in li if _local(el) == "a"), None)
    label_el = (
        link
        if link is not None
        else next((el for el in li if _local(el) not in ("ol", "ul", "")), None)
    )
    title = _clean("".join(label_el.itertext())) if label_el is not None else ""
    child_labels = list(labels)
    child_parent = parent
    if link is not None and link.get("href") and title:
        href, fragment = _split_href(base, link.get("href", ""))
        entry = TocEntry(title, href, fragment, depth, list(labels), parent=parent)
        out.append(entry)
        child_labels = []
        child_parent = TocParent(title, entry)
    elif title:
        child_labels = labels + [title]
        child_parent = TocParent(title)
    for sub in li:
        if _local(sub) in ("ol", "ul"):
            for sub_li in sub:
                if _local(sub_li) == "li":
                    _nav_item(sub_li, base, depth + 1, child_labels, out, child_parent)
                    child_labels = []  # a label is announced with the first entry below it


def _walk_ncx(
    container: etree._Element,
    base: str,
    depth: int,
    labels: list[str],
    out: list[TocEntry],
    parent: TocParent | None,
) -> None:
    for point in container:
        if _local(point) != "navPoint":
            continue
        label = next((el for el in point if _local(el) == "navLabel"), None)
        content = next((el for el in point if _local(el) == "content"), None)
        title = _clean("".join(label.itertext())) if label is not None else ""
        child_labels, child_parent = [], parent
        if content is not None and content.get("src") and title:
            href, fragment = _split_href(base, content.get("src", ""))
            entry = TocEntry(title, href, fragment, depth, list(labels), parent=parent)
            out.append(entry)
            child_parent = TocParent(title, entry)
        elif title:  # a navPoint without a target: a label over the points inside it
            child_labels, child_parent = [*labels, title], TocParent(title)
        labels = []  # announced once, with the first entry after them
        _walk_ncx(point, base, depth + 1, child_labels, out, child_parent)
