"""Fuzz read_book with mutated real EPUBs: it returns a sane Book or raises InputError.

Two mutation levels: raw bytes of the ZIP (flips, truncation, splices), and the XML inside
a re-zipped, structurally valid EPUB (so the XHTML/OPF/nav parsers and the chapter logic see
hostile markup, not just CRC failures). Bounded to run in well under a minute.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from narration.errors import InputError
from narration.ingest import read_book
from narration.model import Block, Book

VALID = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "epub" / "valid"
SOURCES = [
    "epubcheck_epub2-minimal-ncx-only.epub",
    "idpf-epub3-samples_wasteland.epub",
    "epubjs_alice.epub",
    "idpf-epub3-samples_childrens-literature.epub",
]
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,  # reproducible in CI; the corpus supplies the variety
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Markup fragments that stress the parsers and the structure logic.
TOKENS = [
    "<", ">", "&", "&amp;", "&nbsp;", "&#0;", "&#xD800;", "&bogus;", "]]>", "<![CDATA[x",
    "<!DOCTYPE html>", '<!DOCTYPE x [<!ENTITY a "b">]>', '<!ENTITY e SYSTEM "file:///etc/passwd">',
    "<p>", "</p>", "<br/>", "<hr/>", "<div>", "</div>", "</body>", "<body>", "</html>",
    '<section id="ch1">', '<a epub:type="noteref" href="#note-1">[1]</a>', '<a href="#nowhere">',
    '<aside epub:type="footnote" id="n9"><p>fn</p></aside>', '<table><tr><td>HAMLET</td><td>',
    '<section epub:type="titlepage">', "<spine>", "</spine>", '<itemref idref="x"/>',
    '<item id="q" href="../../etc/passwd" media-type="application/xhtml+xml"/>', "\x00",
    "\ufeff", "é", "“", "\u202e", "<h1>", "</h1>", '<li><a href="#">', "</ol>", "<ol>",
]  # fmt: skip


def load(name: str) -> bytes:
    path = VALID / name
    if not path.is_file():
        pytest.skip(f"shared corpus file {name} not available")
    return path.read_bytes()


def check(path: Path) -> None:
    """The property: a sane Book, or an InputError with a one-line message."""
    try:
        book = read_book(path)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(book, Book) and book.chapters
    assert [c.index for c in book.chapters] == list(range(1, len(book.chapters) + 1))
    for chapter in book.chapters:
        assert isinstance(chapter.title, str) and chapter.title.strip()
        assert all(isinstance(b, Block) and isinstance(b.text, str) for b in chapter.blocks)


@st.composite
def byte_mutations(draw: st.DrawFn) -> bytes:
    data = bytearray(load(draw(st.sampled_from(SOURCES[:2]))))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "truncate", "splice", "zero"]))
        pos = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del data[max(pos, 1) :]
        elif op == "splice":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        else:
            end = pos + draw(st.integers(1, 64))
            data[pos:end] = bytes(len(data[pos:end]))
    return bytes(data)


@st.composite
def content_mutations(draw: st.DrawFn) -> bytes:
    source = load(draw(st.sampled_from(SOURCES)))
    with zipfile.ZipFile(io.BytesIO(source)) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    xml_names = sorted(
        n for n in members if n.endswith((".xhtml", ".opf", ".ncx", ".xml", ".html"))
    )
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(xml_names))
        text = members[name].decode("utf-8", errors="replace")
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        if op == "insert":
            piece = draw(st.sampled_from(TOKENS) | st.text(max_size=20))
            text = text[:pos] + piece + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 400)) :]
        elif op == "replace":
            text = (
                text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos + draw(st.integers(1, 40)) :]
            )
        else:
            end = pos + draw(st.integers(1, 300))
            text = text[:end] + text[pos:end] + text[end:]
        members[name] = text.encode("utf-8", errors="surrogatepass")
    if draw(st.booleans()) and len(members) > 2:
        members.pop(draw(st.sampled_from(sorted(members))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


@pytest.mark.slow
@SETTINGS
@given(data=byte_mutations())
def test_byte_mutated_epubs(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "book.epub"
    path.write_bytes(data)
    check(path)


@pytest.mark.slow
@SETTINGS
@given(data=content_mutations())
def test_content_mutated_epubs(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "book.epub"
    path.write_bytes(data)
    check(path)
