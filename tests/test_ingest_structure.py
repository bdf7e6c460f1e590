"""EPUB structure rules on small books built here: nested TOCs, fragment splits, untitled
spine items, verse, plays, scene breaks, notes policies, front matter."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from narration.ingest import read_book
from narration.model import Block, BlockKind

CONTAINER = (
    '<?xml version="1.0"?><container version="1.0" '
    'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
    '<rootfile full-path="OPS/book.opf" media-type="application/oebps-package+xml"/>'
    "</rootfiles></container>"
)


def xhtml(body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml" '
        'xmlns:epub="http://www.idpf.org/2007/ops"><head><title>Doc</title>'
        f"<style>p {{ color: red }}</style></head><body>{body}</body></html>"
    )


def build(
    tmp_path: Path,
    docs: dict[str, str],
    toc: str | None,
    spine: list[str] | None = None,
    nonlinear: tuple[str, ...] = (),
    ncx: str | None = None,
) -> Path:
    """An EPUB3 from body snippets; `toc` is the <ol> markup of the nav (None: no nav)."""
    spine = spine or list(docs)
    items = "".join(
        f'<item id="{n}" href="{n}.xhtml" media-type="application/xhtml+xml"/>' for n in docs
    )
    if toc is not None:
        items += (
            '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
        )
    if ncx is not None:
        items += '<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>'
    no = ' linear="no"'
    refs = "".join(f'<itemref idref="{n}"{no if n in nonlinear else ""}/>' for n in spine)
    toc_attr = ' toc="ncx"' if ncx else ""
    opf = (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Built</dc:title>'
        "<dc:creator>B. Uilder</dc:creator><dc:language>en</dc:language></metadata>"
        f"<manifest>{items}</manifest><spine{toc_attr}>{refs}</spine>"
        "</package>"
    )
    path = tmp_path / "built.epub"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/container.xml", CONTAINER)
        zf.writestr("OPS/book.opf", opf)
        if toc is not None:
            zf.writestr("OPS/nav.xhtml", xhtml(f'<nav epub:type="toc"><ol>{toc}</ol></nav>'))
        if ncx is not None:
            zf.writestr(
                "OPS/toc.ncx",
                '<?xml version="1.0"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" '
                f'version="2005-1"><navMap>{ncx}</navMap></ncx>',
            )
        for name, body in docs.items():
            zf.writestr(f"OPS/{name}.xhtml", xhtml(body))
    return path


def li(href: str, title: str, children: str = "") -> str:
    sub = f"<ol>{children}</ol>" if children else ""
    return f'<li><a href="{href}">{title}</a>{sub}</li>'


def texts(blocks: list[Block]) -> list[tuple[str, str]]:
    return [(b.kind.value, b.text) for b in blocks]


# --- TOC structure ------------------------------------------------------------------------------


def test_nested_toc_part_title_prefixes_first_chapter(tmp_path):
    docs = {
        "part1": "<h1>Part One</h1>",
        "c1": "<h2>Chapter 1</h2><p>First.</p>",
        "c2": "<h2>Chapter 2</h2><p>Second.</p>",
    }
    toc = li("part1.xhtml", "Part One", li("c1.xhtml", "Chapter 1") + li("c2.xhtml", "Chapter 2"))
    book = read_book(build(tmp_path, docs, toc))
    assert [c.title for c in book.chapters] == ["Part One: Chapter 1", "Part One: Chapter 2"]
    assert texts(book.chapters[0].blocks) == [("paragraph", "First.")]


def test_every_child_of_a_parent_without_text_carries_its_title(tmp_path):
    """A part page, an unlinked label, and a parent that is a chapter itself."""
    docs = {
        "scandal": "<h1>A SCANDAL IN BOHEMIA</h1>",
        "s1": "<h2>I.</h2><p>To Sherlock Holmes she is always the woman.</p>",
        "s2": "<h2>II.</h2><p>At three o'clock precisely I was at Baker Street.</p>",
        "s3": "<h2>III.</h2><p>I slept at Baker Street that night.</p>",
        "league": "<h1>The Red-Headed League</h1><p>I had called upon my friend.</p>",
        "l1": "<p>It was a Saturday.</p>",
        "p192": "<h2>192 THE REAL PRINCESS</h2><p>There was once a Prince.</p>",
        "p193": "<h2>193 THE EMPEROR'S NEW CLOTHES</h2><p>Many years ago.</p>",
        "two": "<h1>Part Two</h1>",
        "t1": "<p>Two one.</p>",
        "t2": "<p>Two two.</p>",
    }
    stories = li("s1.xhtml", "I") + li("s2.xhtml", "II") + li("s3.xhtml", "III")
    andersen = li("p192.xhtml", "192 THE REAL PRINCESS") + li(
        "p193.xhtml", "193 THE EMPEROR'S NEW CLOTHES"
    )
    toc = (
        li("scandal.xhtml", "A Scandal in Bohemia", stories)
        + li("league.xhtml", "The Red-Headed League", li("l1.xhtml", "Saturday"))
        + f"<li><span>Hans Christian Andersen</span><ol>{andersen}</ol></li>"
        + li(
            "two.xhtml",
            "Part Two",
            li("t1.xhtml", "Part Two, Chapter 1") + li("t2.xhtml", "Part Two, Chapter 2"),
        )
    )
    book = read_book(build(tmp_path, docs, toc))
    assert [c.title for c in book.chapters] == [
        "A Scandal in Bohemia: I",
        "A Scandal in Bohemia: II",
        "A Scandal in Bohemia: III",
        "The Red-Headed League",
        "Saturday",  # its parent is a chapter of its own, announced just before it
        "Hans Christian Andersen: 192 The Real Princess",
        "Hans Christian Andersen: 193 The Emperor's New Clothes",
        "Part Two, Chapter 1",  # the title says its part already
        "Part Two, Chapter 2",
    ]
    assert texts(book.chapters[1].blocks) == [
        ("paragraph", "At three o'clock precisely I was at Baker Street.")
    ]


def test_ncx_label_without_target_titles_the_points_inside_it(tmp_path):
    ncx = (
        '<navPoint id="a"><navLabel><text>BOOK ONE</text></navLabel>'
        '<navPoint id="c1"><navLabel><text>Chapter I</text></navLabel><content src="c1.xhtml"/>'
        '</navPoint><navPoint id="c2"><navLabel><text>Chapter II</text></navLabel>'
        '<content src="c2.xhtml"/></navPoint></navPoint>'
    )
    docs = {"c1": "<p>One.</p>", "c2": "<p>Two.</p>"}
    book = read_book(build(tmp_path, docs, None, ncx=ncx))
    assert [c.title for c in book.chapters] == ["Book One: Chapter I", "Book One: Chapter II"]


def test_part_page_with_text_is_its_own_chapter(tmp_path):
    docs = {"part1": "<h1>Part One</h1><p>An epigraph.</p>", "c1": "<p>First.</p>"}
    toc = li("part1.xhtml", "Part One", li("c1.xhtml", "Chapter 1"))
    book = read_book(build(tmp_path, docs, toc))
    assert [c.title for c in book.chapters] == ["Part One", "Chapter 1"]


def test_fragments_split_one_document_and_untitled_text_is_kept(tmp_path):
    body = (
        "<h1>Opening Words</h1><p>Before any TOC target.</p>"
        '<section id="a"><h2>Alpha</h2><p>Text A.</p></section>'
        '<section id="b"><h2>Beta</h2><p>Text B.</p><div id="b2"><p>Deep B.</p></div></section>'
    )
    toc = li("one.xhtml#a", "Alpha") + li("one.xhtml#b", "Beta") + li("one.xhtml#missing", "Gone")
    book = read_book(build(tmp_path, {"one": body}, toc))
    assert [c.title for c in book.chapters] == ["Opening Words", "Alpha", "Beta"]
    assert texts(book.chapters[0].blocks) == [("paragraph", "Before any TOC target.")]
    assert texts(book.chapters[1].blocks) == [("paragraph", "Text A.")]
    assert texts(book.chapters[2].blocks) == [("paragraph", "Text B."), ("paragraph", "Deep B.")]
    assert book.chapters[1].source_href == "OPS/one.xhtml#a"


def test_spine_item_without_toc_entry_joins_previous_chapter(tmp_path):
    docs = {"c1": "<p>One.</p>", "extra": "<p>Continued.</p>", "c2": "<p>Two.</p>"}
    toc = li("c1.xhtml", "First") + li("c2.xhtml", "Second")
    book = read_book(build(tmp_path, docs, toc))
    assert [c.title for c in book.chapters] == ["First", "Second"]
    assert [b.text for b in book.chapters[0].blocks] == ["One.", "Continued."]


def test_ncx_nested_titles(tmp_path):
    ncx = (
        '<navPoint id="p"><navLabel><text>Book I</text></navLabel><content src="b1.xhtml"/>'
        '<navPoint id="c"><navLabel><text>The Road</text></navLabel><content src="c1.xhtml"/>'
        "</navPoint></navPoint>"
    )
    docs = {"b1": "<h1>BOOK I</h1>", "c1": "<h2>The Road</h2><p>Walking.</p>"}
    book = read_book(build(tmp_path, docs, None, ncx=ncx))
    assert [c.title for c in book.chapters] == ["Book I: The Road"]


def test_repeated_heading_dropped_but_other_headings_kept(tmp_path):
    body = "<h1>CHAPTER ONE</h1><h2>The Storm</h2><p>Rain.</p><h3>Later</h3><p>Sun.</p>"
    book = read_book(build(tmp_path, {"c1": body}, li("c1.xhtml", "Chapter One: The Storm")))
    assert texts(book.chapters[0].blocks) == [
        ("paragraph", "Rain."),
        ("heading", "Later"),
        ("paragraph", "Sun."),
    ]


def test_non_linear_items_are_skipped_with_reason(tmp_path):
    docs = {"c1": "<p>Main.</p>", "pop": "<p>A popup.</p>"}
    book = read_book(build(tmp_path, docs, li("c1.xhtml", "Main"), nonlinear=("pop",)))
    assert [c.title for c in book.chapters] == ["Main"]
    assert any("non-linear" in s.reason for s in book.skipped)


# --- front and back matter --------------------------------------------------------------------


def test_front_matter_by_type_and_by_title(tmp_path):
    docs = {
        "tp": '<section epub:type="titlepage"><h1>Built</h1><p>A novel.</p></section>',
        "ded": "<p>For my mother.</p>",
        "c1": '<section epub:type="dedication"><p>To R.</p></section><p>Story.</p>',
        "ack": "<p>Thanks to all.</p>",
    }
    toc = (
        li("tp.xhtml", "Title Page")
        + li("ded.xhtml", "Dedication")
        + li("c1.xhtml", "One")
        + li("ack.xhtml", "Acknowledgements")
    )
    book = read_book(build(tmp_path, docs, toc))
    assert [c.title for c in book.chapters] == ["One"]
    assert texts(book.chapters[0].blocks) == [("paragraph", "Story.")]
    reasons = [s.reason for s in book.skipped]
    assert reasons.count("dedication") == 2 and "title page" in reasons
    assert "acknowledgments" in reasons

    full = read_book(build(tmp_path, docs, toc), include_front_matter=True)
    titles = ["Title Page", "Dedication", "One", "Acknowledgements"]
    assert [c.title for c in full.chapters] == titles
    assert [b.text for b in full.chapters[2].blocks] == ["To R.", "Story."]
    assert full.skipped == []


# --- text structure ----------------------------------------------------------------------------


def test_verse_breaks_and_ignored_elements(tmp_path):
    body = (
        '<div class="poem"><p>Line one,<br/>line two.</p><p>Stanza two.</p></div>'
        '<p epub:type="z3998:verse">Alpha<br/>Beta</p>'
        "<p>Roses red,<br/>violets blue,<br/>sugar sweet.</p>"
        "<hr/><p>* * *</p><p>After.</p>"
        '<div class="scene-break"></div>'
        "<p>Ruby <ruby>漢<rt>kan</rt></ruby> here.<script>alert(1)</script></p>"
        '<p><img src="x.png" alt="A picture"/>Caption-less.</p>'
        '<p hidden="hidden">Hidden.</p><p>End <span epub:type="pagebreak">12</span>now.</p>'
    )
    book = read_book(build(tmp_path, {"c1": body}, li("c1.xhtml", "Verse")))
    assert texts(book.chapters[0].blocks) == [
        ("verse_line", "Line one,"),
        ("verse_line", "line two."),
        ("verse_line", "Stanza two."),
        ("verse_line", "Alpha"),
        ("verse_line", "Beta"),
        ("verse_line", "Roses red,"),
        ("verse_line", "violets blue,"),
        ("verse_line", "sugar sweet."),
        ("section_break", ""),
        ("paragraph", "After."),
        ("section_break", ""),
        ("paragraph", "Ruby 漢 here."),
        ("paragraph", "Caption-less."),
        ("paragraph", "End now."),
    ]


def test_blockquote_and_single_br_are_prose(tmp_path):
    body = "<blockquote><p>Quoted one.</p><p>Quoted two.</p></blockquote><p>A<br/>B</p>"
    book = read_book(build(tmp_path, {"c1": body}, li("c1.xhtml", "Q")))
    assert texts(book.chapters[0].blocks) == [
        ("paragraph", "Quoted one."),
        ("paragraph", "Quoted two."),
        ("paragraph", "A B"),
    ]


def test_play_tables_and_speaker_lines(tmp_path):
    body = (
        "<table><tr><td>HAMLET</td><td>To be, or not to be.</td></tr>"
        "<tr><td>OPHELIA</td><td><i>Exit, weeping.</i></td></tr>"
        "<tr><td>Horatio.</td><td>(aside) Well said.</td></tr>"
        "<tr><td>LAERTES</td><td>(He dies.)</td></tr>"
        '<tr><td colspan="2"><i>Enter the Ghost.</i></td></tr></table>'
        "<p>KING: Good night.</p><p><b>QUEEN</b> Sleep well.</p>"
        '<p><span class="speaker">First Clown</span>. Dig.</p>'
        "<p>Note: not a speaker.</p>"
    )
    book = read_book(build(tmp_path, {"c1": body}, li("c1.xhtml", "Act I")))
    got = [(b.kind.value, b.speaker, b.text) for b in book.chapters[0].blocks]
    assert got == [
        ("speaker_turn", "HAMLET", "To be, or not to be."),
        ("paragraph", None, "Exit, weeping."),
        ("speaker_turn", "Horatio", "(aside) Well said."),
        ("paragraph", None, "(He dies.)"),
        ("paragraph", None, "Enter the Ghost."),
        ("speaker_turn", "KING", "Good night."),
        ("speaker_turn", "QUEEN", "Sleep well."),
        ("speaker_turn", "First Clown", "Dig."),
        ("paragraph", None, "Note: not a speaker."),
    ]


# --- notes -------------------------------------------------------------------------------------

NOTE_DOCS = {
    "c1": (
        '<p>She smiled.<a epub:type="noteref" href="#fn1">[1]</a> Then left.</p>'
        '<p>He stayed.<sup><a role="doc-noteref" href="notes.xhtml#en2">2</a></sup></p>'
        '<p>Cited [<a href="biblio.xhtml#ref7">7</a>] and<a href="notes.xhtml#en3">[12]</a>.</p>'
        '<aside epub:type="footnote" id="fn1"><p>A footnote. <a href="#r">↩</a></p></aside>'
    ),
    "c2": '<p>Chapter two.<a href="notes.xhtml#en3">3</a></p>',
    "notes": (
        '<section epub:type="endnotes"><h2>Notes</h2><ol>'
        '<li id="en2" role="doc-endnote"><p>An endnote. <a epub:type="backlink" href="c1.xhtml">'
        "back</a></p></li>"
        '<li id="en3" epub:type="endnote"><p>Third note.</p></li></ol></section>'
    ),
}
NOTE_TOC = li("c1.xhtml", "One") + li("c2.xhtml", "Two") + li("notes.xhtml", "Notes")


def test_notes_skip_removes_markers_and_bodies(tmp_path):
    book = read_book(build(tmp_path, NOTE_DOCS, NOTE_TOC))
    assert [c.title for c in book.chapters] == ["One", "Two"]
    assert texts(book.chapters[0].blocks) == [
        ("paragraph", "She smiled. Then left."),
        ("paragraph", "He stayed."),
        ("paragraph", "Cited [7] and."),
    ]
    assert any(s.title == "Notes" for s in book.skipped)


def test_notes_inline_follow_their_paragraph(tmp_path):
    book = read_book(build(tmp_path, NOTE_DOCS, NOTE_TOC), notes="inline")
    assert texts(book.chapters[0].blocks) == [
        ("paragraph", "She smiled. Then left."),
        ("note", "Note: A footnote."),
        ("paragraph", "He stayed."),
        ("note", "Note: An endnote."),
        ("paragraph", "Cited [7] and."),
        ("note", "Note: Third note."),
    ]
    assert texts(book.chapters[1].blocks) == [
        ("paragraph", "Chapter two."),
        ("note", "Note: Third note."),
    ]


def test_notes_chapter_end(tmp_path):
    book = read_book(build(tmp_path, NOTE_DOCS, NOTE_TOC), notes="chapter-end")
    kinds = [b.kind for b in book.chapters[0].blocks]
    assert kinds == [BlockKind.PARAGRAPH] * 3 + [BlockKind.NOTE] * 3
    assert [b.text for b in book.chapters[0].blocks[3:]] == [
        "Note: A footnote.",
        "Note: An endnote.",
        "Note: Third note.",
    ]
    assert book.chapters[0].words == sum(len(b.text.split()) for b in book.chapters[0].blocks[:3])


@pytest.mark.parametrize("policy", ["skip", "inline", "chapter-end"])
def test_notes_page_is_never_a_chapter(tmp_path, policy):
    book = read_book(build(tmp_path, NOTE_DOCS, NOTE_TOC), notes=policy)
    assert all("Notes" not in c.title for c in book.chapters)
