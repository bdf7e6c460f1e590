"""Read an EPUB's container and package document (OPF): metadata, manifest, spine, cover.

We read the OPF ourselves with the hardened parser rather than through ebooklib: ebooklib
parses in recover mode with entity handling we do not control, reads every manifest item
into memory, and replaces a cover page's real id and href with its own defaults. The OPF is a
small, well-specified document, so a direct reading is both safer and clearer.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from narration.errors import InputError
from narration.ingest.safety import SafeZip, parse_xml

OPF_NS = "http://www.idpf.org/2007/opf"
DC_NS = "http://purl.org/dc/elements/1.1/"
CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"

HTML_TYPES = {"application/xhtml+xml", "text/html", "application/html", "text/x-oeb1-document"}
IMAGE_TYPES = {"image/jpeg", "image/jpg", "image/png", "image/gif", "image/svg+xml", "image/webp"}


@dataclass
class ManifestItem:
    id: str
    href: str  # full path inside the archive, normalised
    media_type: str
    properties: set[str] = field(default_factory=set)

    @property
    def is_html(self) -> bool:
        return self.media_type in HTML_TYPES or self.href.lower().endswith((".xhtml", ".html"))


@dataclass
class SpineItem:
    item: ManifestItem
    linear: bool


@dataclass
class Package:
    title: str
    authors: list[str]
    language: str
    manifest: dict[str, ManifestItem]  # by id
    spine: list[SpineItem]
    nav: ManifestItem | None  # EPUB3 navigation document
    ncx: ManifestItem | None  # EPUB2 table of contents
    cover: ManifestItem | None  # cover image
    guide: list[tuple[str, str]]  # (type, full href) from the EPUB2 <guide>
    defects: list[str] = field(default_factory=list)  # read past, each said in one line


def resolve(base_file: str, href: str) -> str:
    """Resolve an href relative to the archive member that contains it (fragment dropped)."""
    href = unquote(href.split("#", 1)[0].strip())
    if not href:
        return base_file
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(base_file), href))
    return joined.lstrip("/")


def _text(el: etree._Element | None) -> str:
    return " ".join("".join(el.itertext()).split()) if el is not None else ""


def find_opf(archive: SafeZip) -> str:
    """The package document's path, from META-INF/container.xml (or a lone .opf)."""
    if "META-INF/container.xml" in archive.names:
        root = parse_xml(archive.read("META-INF/container.xml"), archive.path, "container.xml")
        for rootfile in root.iter(f"{{{CONTAINER_NS}}}rootfile", "rootfile"):
            full = (rootfile.get("full-path") or "").strip()
            media = rootfile.get("media-type", "application/oebps-package+xml")
            if full and media == "application/oebps-package+xml":
                return full.lstrip("/")
        raise InputError(archive.path, "container.xml names no package document")
    opfs = sorted(n for n in archive.names if n.lower().endswith(".opf"))
    if len(opfs) == 1:
        return opfs[0]
    raise InputError(archive.path, "not an EPUB: no META-INF/container.xml")


def read_package(archive: SafeZip) -> Package:
    opf_path = find_opf(archive)
    if opf_path not in archive.names:
        raise InputError(archive.path, f"package document {opf_path!r} is missing")
    root = parse_xml(archive.read(opf_path), archive.path, opf_path)
    if etree.QName(root).localname != "package":
        raise InputError(archive.path, f"{opf_path} is not an EPUB package document")

    manifest = _manifest(root, opf_path, archive)
    spine_el = _child(root, "spine")
    if spine_el is None:
        raise InputError(archive.path, "EPUB package has no <spine> (no reading order)")
    spine, defects = [], []
    for ref in spine_el:
        if not isinstance(ref.tag, str) or etree.QName(ref).localname != "itemref":
            continue
        idref = ref.get("idref", "")
        item = manifest.get(idref)
        if item is None or item.href not in archive.names:  # nothing to read there: go on
            missing = f"'{item.href}'" if item is not None else f"id '{idref}'"
            where = "the EPUB" if item is not None else "the manifest"
            defects.append(f"reading order names {missing}, which is not in {where}; skipped")
            continue
        spine.append(SpineItem(item, ref.get("linear", "yes").strip().lower() != "no"))
    if not any(s.item.is_html for s in spine):
        raise InputError(archive.path, "EPUB spine lists no readable content documents")

    nav = next((i for i in manifest.values() if "nav" in i.properties), None)
    ncx = manifest.get(spine_el.get("toc", ""))
    if ncx is None:
        ncx = next(
            (i for i in manifest.values() if i.media_type == "application/x-dtbncx+xml"), None
        )
    meta = _metadata(root)
    return Package(
        title=meta["title"],
        authors=meta["authors"],
        language=meta["language"],
        manifest=manifest,
        spine=spine,
        nav=nav if nav is not None and nav.href in archive.names else None,
        ncx=ncx if ncx is not None and ncx.href in archive.names else None,
        cover=_cover(root, manifest),
        guide=_guide(root, opf_path),
        defects=defects,
    )


def _child(root: etree._Element, name: str) -> etree._Element | None:
    for el in root:
        if isinstance(el.tag, str) and etree.QName(el).localname == name:
            return el
    return None


def _manifest(root: etree._Element, opf_path: str, archive: SafeZip) -> dict[str, ManifestItem]:
    manifest_el = _child(root, "manifest")
    if manifest_el is None:
        raise InputError(archive.path, "EPUB package has no <manifest>")
    items: dict[str, ManifestItem] = {}
    for el in manifest_el:
        if not isinstance(el.tag, str) or etree.QName(el).localname != "item":
            continue
        item_id, href = el.get("id"), el.get("href")
        if not item_id or not href:
            continue
        media = (el.get("media-type") or "").strip().lower()
        props = set((el.get("properties") or "").split())
        items[item_id] = ManifestItem(item_id, resolve(opf_path, href), media, props)
    return items


def _metadata(root: etree._Element) -> dict:
    meta_el = _child(root, "metadata")
    if meta_el is None:
        return {"title": "", "authors": [], "language": "en"}
    # EPUB3 refinements: <meta refines="#id" property="role|title-type">value</meta>
    refines: dict[tuple[str, str], str] = {}
    for m in meta_el.iter(f"{{{OPF_NS}}}meta", "meta"):
        target, prop = (m.get("refines") or "").lstrip("#"), m.get("property")
        if target and prop:
            refines[(target, prop)] = _text(m).lower()

    titles = list(meta_el.iter(f"{{{DC_NS}}}title"))
    main = [t for t in titles if refines.get((t.get("id", ""), "title-type")) == "main"]
    title = _text((main or titles or [None])[0])

    creators = list(meta_el.iter(f"{{{DC_NS}}}creator"))

    def role(el: etree._Element) -> str:
        return refines.get((el.get("id", ""), "role")) or el.get(f"{{{OPF_NS}}}role", "") or ""

    authors = [_text(c) for c in creators if role(c) in ("", "aut")]
    authors = [a for a in authors if a] or [_text(c) for c in creators if _text(c)]

    lang = next((_text(e) for e in meta_el.iter(f"{{{DC_NS}}}language") if _text(e)), "en")
    return {"title": title, "authors": authors, "language": lang}


def _cover(root: etree._Element, manifest: dict[str, ManifestItem]) -> ManifestItem | None:
    images = [i for i in manifest.values() if i.media_type in IMAGE_TYPES]
    for item in images:  # EPUB3
        if "cover-image" in item.properties:
            return item
    meta_el = _child(root, "metadata")
    if meta_el is not None:  # EPUB2: <meta name="cover" content="item-id"/>
        for m in meta_el.iter(f"{{{OPF_NS}}}meta", "meta"):
            if (m.get("name") or "").lower() == "cover":
                ref = m.get("content", "")
                item = manifest.get(ref) or next((i for i in images if i.href.endswith(ref)), None)
                if item is not None and item.media_type in IMAGE_TYPES:
                    return item
    named = [i for i in images if "cover" in i.id.lower() or "cover" in Path(i.href).stem.lower()]
    return named[0] if named else None


def _guide(root: etree._Element, opf_path: str) -> list[tuple[str, str]]:
    guide_el = _child(root, "guide")
    if guide_el is None:
        return []
    out = []
    for ref in guide_el:
        if isinstance(ref.tag, str) and ref.get("href") and ref.get("type"):
            out.append((ref.get("type", "").lower(), resolve(opf_path, ref.get("href", ""))))
    return out
