"""Books laid out the way Project Gutenberg lays them out, built here: a plain-text file in
the 2004 and the current layout, a 1990s text with the small print, an EPUB2 made by their
EpubMaker (header and footer in <pre>, NCX only) and an EPUB3 from ebookmaker (pg-header
and pg-footer sections, the licence in the TOC). The boilerplate lines are Project
Gutenberg's own; the work itself is written for these tests.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

FIRST_SENTENCE = "The keeper climbed the tower at dusk, as he had done for thirty years."
LAST_SENTENCE = "And the lamp burned on until morning, as it always had."

HEADER_2004 = """\
Project Gutenberg's The Keeper of the Light, by Anna Marsh

This eBook is for the use of anyone anywhere at no cost and with
almost no restrictions whatsoever.  You may copy it, give it away or
re-use it under the terms of the Project Gutenberg License included
with this eBook or online at www.gutenberg.net


Title: The Keeper of the Light

Author: Anna Marsh

Release Date: August 7, 2004 [EBook #8789]

Language: English

Character set encoding: ASCII

*** START OF THIS PROJECT GUTENBERG EBOOK THE KEEPER OF THE LIGHT ***




Produced by David Widger




"""

HEADER_CURRENT = """\
The Project Gutenberg eBook of The Keeper of the Light

This ebook is for the use of anyone anywhere in the United States and
most other parts of the world at no cost and with almost no restrictions
whatsoever. You may copy it, give it away or re-use it under the terms
of the Project Gutenberg License included with this ebook or online
at www.gutenberg.org. If you are not located in the United States,
you will have to check the laws of the country where you are located
before using this eBook.

Title: The Keeper of the Light

Author: Anna Marsh

Release date: August 7, 2004 [eBook #8789]
                Most recently updated: January 2, 2021

Language: English

Credits: Produced by David Widger


***START OF THE PROJECT GUTENBERG EBOOK THE KEEPER OF THE LIGHT***

"""

HEADER_1990S = """\
The Project Gutenberg Etext of The Keeper of the Light, by Anna Marsh

**Welcome To The World of Free Plain Vanilla Electronic Texts**

**Etexts Readable By Both Humans and By Computers, Since 1971**

*****These Etexts Were Prepared By Thousands of Volunteers!*****

***START**THE SMALL PRINT!**FOR PUBLIC DOMAIN ETEXTS**START***
Why is this "Small Print!" statement here?  You know: lawyers.
They tell us you might sue us if there is something wrong with
your copy of this etext, even if you got it for free from
someone other than us, and even if what's wrong is not our
fault.  So, among other things, this "Small Print!" statement
disclaims most of our liability to you.

*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*

"""

LICENCE = """\
Updated editions will replace the previous one--the old editions
will be renamed.

Creating the works from public domain print editions means that no
one owns a United States copyright in these works, so the Foundation
(and you!) can copy and distribute it in the United States without
permission and without paying copyright royalties.



*** START: FULL LICENSE ***

THE FULL PROJECT GUTENBERG LICENSE
PLEASE READ THIS BEFORE YOU DISTRIBUTE OR USE THIS WORK

To protect the Project Gutenberg-tm mission of promoting the free
distribution of electronic works, by using or distributing this work
(or any other work associated in any way with the phrase "Project
Gutenberg"), you agree to comply with all the terms of the Full Project
Gutenberg-tm License (available with this file or online at
http://gutenberg.net/license).


Section 1.  General Terms of Use and Redistributing Project Gutenberg-tm
electronic works

1.A.  By reading or using any part of this Project Gutenberg-tm
electronic work, you indicate that you have read, understand, agree to
and accept all the terms of this license and intellectual property
(trademark/copyright) agreement.  If you do not agree to abide by all
the terms of this agreement, you must cease using and return or destroy
all copies of Project Gutenberg-tm electronic works in your possession.

Most people start at our Web site which has the main PG search facility:

     http://www.gutenberg.net

This Web site includes information about Project Gutenberg-tm,
including how to make donations to the Project Gutenberg Literary
Archive Foundation, how to help produce our new eBooks, and how to
subscribe to our email newsletter to hear about new eBooks.
"""

FOOTER_2004 = (
    """\
End of the Project Gutenberg EBook of The Keeper of the Light, by Anna Marsh

*** END OF THIS PROJECT GUTENBERG EBOOK THE KEEPER OF THE LIGHT ***

***** This file should be named 8789.txt or 8789.zip *****
This and all associated files of various formats will be found in:
        http://www.gutenberg.net/8/7/8/8789/

Produced by David Widger

"""
    + LICENCE
)

FOOTER_CURRENT = (
    """\
*** END OF THE PROJECT GUTENBERG EBOOK THE KEEPER OF THE LIGHT ***

"""
    + LICENCE
)

FOOTER_1990S = "End of Project Gutenberg's The Keeper of the Light, by Anna Marsh\n"

CHAPTERS = [
    (
        "CHAPTER I. THE TOWER",
        [
            FIRST_SENTENCE + " The stairs were steep and the\nwind was cold.",
            '"Another night," he said to the gulls, and they did not answer.',
        ],
    ),
    (
        "CHAPTER II. THE STORM",
        [
            "The storm came from the west. It shook the glass and put out\n"
            "the lamp twice before midnight.",
            "He lit it again each time. " + LAST_SENTENCE,
        ],
    ),
]

TRANSCRIBER_NOTE = (
    "[Transcriber's Note: Obvious printer's errors have been corrected.\n"
    "The original spelling has otherwise been kept.]"
)


def body_text(with_note: bool = True) -> str:
    """The work as Project Gutenberg sets it out: title, byline, chapters, THE END."""
    parts = ["THE KEEPER OF THE LIGHT", "by Anna Marsh"]
    if with_note:
        parts.insert(0, TRANSCRIBER_NOTE)
    for heading, paragraphs in CHAPTERS:
        parts.append(heading)
        parts.extend(paragraphs)
    parts.append("THE END")
    return "\n\n".join(parts) + "\n\n\n\n"


def gutenberg_text(layout: str) -> str:
    header, footer = {
        "2004": (HEADER_2004, FOOTER_2004),
        "current": (HEADER_CURRENT, FOOTER_CURRENT),
        "1990s": (HEADER_1990S, FOOTER_1990S),
    }[layout]
    return (header + body_text() + footer).replace("\n", "\r\n")


def words_of(text: str) -> int:
    return len(text.split())


# --- EPUB ------------------------------------------------------------------------------------

CONTAINER = (
    '<?xml version="1.0"?><container version="1.0" '
    'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
    '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
    "</rootfiles></container>"
)


def xhtml(title: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml" '
        'xmlns:epub="http://www.idpf.org/2007/ops">'
        f"<head><title>{title}</title></head><body>{body}</body></html>"
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _paragraphs(text: str) -> str:
    return "".join(
        f"<p>{_escape(' '.join(p.split()))}</p>" for p in text.split("\n\n") if p.strip()
    )


def _chapters_html() -> list[str]:
    out = []
    for number, (heading, paragraphs) in enumerate(CHAPTERS, start=1):
        body = "".join(f"<p>{_escape(' '.join(p.split()))}</p>" for p in paragraphs)
        out.append(f'<div class="chapter"><h2 id="link2H_4_000{number}">{heading}</h2>{body}</div>')
    return out


def epubmaker_2013_epub(path: Path) -> Path:
    """An EPUB2 the way EpubMaker made them around 2013: the header and the footer are <pre>
    blocks at the two ends of the HTML, the NCX points into it by fragment."""
    one, two = _chapters_html()
    title = "The Project Gutenberg eBook of The Keeper of the Light, by Anna Marsh"
    docs = {
        "8789-h-0.htm.html": xhtml(
            title,
            f"<pre>{_escape(HEADER_2004)}</pre>"
            f'<p class="tnote">{_escape(TRANSCRIBER_NOTE)}</p>'
            "<h1>THE KEEPER OF THE LIGHT</h1><h2>by Anna Marsh</h2>" + one,
        ),
        "8789-h-1.htm.html": xhtml(
            title, two + "<h3>THE END</h3>" + f"<pre>{_escape(FOOTER_2004)}</pre>"
        ),
    }
    ncx_points = [
        ("8789-h-0.htm.html#link2H_4_0001", "CHAPTER I. THE TOWER"),
        ("8789-h-1.htm.html#link2H_4_0002", "CHAPTER II. THE STORM"),
    ]
    points = "".join(
        f'<navPoint id="np-{i}" playOrder="{i}"><navLabel><text>{label}</text></navLabel>'
        f'<content src="{src}"/></navPoint>'
        for i, (src, label) in enumerate(ncx_points, start=1)
    )
    ncx = (
        '<?xml version="1.0" encoding="utf-8"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/"'
        f' version="2005-1"><head/><navMap>{points}</navMap></ncx>'
    )
    return write_epub(path, docs, ncx=ncx, nav=None, version="2.0")


def ebookmaker_epub3(path: Path) -> Path:
    """An EPUB3 the way ebookmaker makes them now: pg-header and pg-footer sections, a TOC
    entry for the licence."""
    one, two = _chapters_html()
    start, end = (
        "*** START OF THE PROJECT GUTENBERG EBOOK THE KEEPER OF THE LIGHT ***",
        ("*** END OF THE PROJECT GUTENBERG EBOOK THE KEEPER OF THE LIGHT ***"),
    )
    header_paras = HEADER_CURRENT.split("***START")[0]
    licence_head, licence_rest = LICENCE.split("*** START: FULL LICENSE ***")
    docs = {
        "book.xhtml": xhtml(
            "The Keeper of the Light",
            '<section class="pg-boilerplate pgheader" id="pg-header">'
            f'<h2 id="pg-header-heading">{_escape(header_paras.splitlines()[0])}</h2>'
            f"{_paragraphs(header_paras.split(chr(10), 1)[1])}"
            f'<div id="pg-start-separator"><span>{start}</span></div></section>'
            f'<div class="transnote"><p>{_escape(TRANSCRIBER_NOTE)}</p></div>'
            "<h1>THE KEEPER OF THE LIGHT</h1><p>by Anna Marsh</p>"
            + one
            + two
            + "<p>THE END</p>"
            + '<section class="pg-boilerplate pgheader" id="pg-footer">'
            f'<div id="pg-end-separator"><span>{end}</span></div>'
            f"{_paragraphs(licence_head)}"
            '<h2 id="pg-footer-heading">THE FULL PROJECT GUTENBERG LICENSE</h2>'
            f"{_paragraphs(licence_rest.split('THE FULL PROJECT GUTENBERG LICENSE', 1)[1])}"
            "</section>",
        ),
    }
    nav = (
        '<li><a href="book.xhtml#pg-header-heading">'
        "The Project Gutenberg eBook of The Keeper of the Light</a></li>"
        '<li><a href="book.xhtml#link2H_4_0001">CHAPTER I. THE TOWER</a></li>'
        '<li><a href="book.xhtml#link2H_4_0002">CHAPTER II. THE STORM</a></li>'
        '<li><a href="book.xhtml#pg-footer-heading">THE FULL PROJECT GUTENBERG LICENSE</a></li>'
    )
    return write_epub(path, docs, ncx=None, nav=nav, version="3.0")


def write_epub(
    path: Path, docs: dict[str, str], *, ncx: str | None, nav: str | None, version: str
) -> Path:
    items = "".join(
        f'<item id="item{i}" href="{name}" media-type="application/xhtml+xml"/>'
        for i, name in enumerate(docs)
    )
    if ncx is not None:
        items += '<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>'
    if nav is not None:
        items += (
            '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
        )
    refs = "".join(f'<itemref idref="item{i}"/>' for i in range(len(docs)))
    toc_attr = ' toc="ncx"' if ncx is not None else ""
    opf = (
        f'<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="{version}">'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<dc:title>The Keeper of the Light</dc:title><dc:creator>Anna Marsh</dc:creator>"
        "<dc:language>en</dc:language></metadata>"
        f"<manifest>{items}</manifest><spine{toc_attr}>{refs}</spine></package>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/container.xml", CONTAINER)
        zf.writestr("OEBPS/content.opf", opf)
        if ncx is not None:
            zf.writestr("OEBPS/toc.ncx", ncx)
        if nav is not None:
            zf.writestr(
                "OEBPS/nav.xhtml",
                xhtml("Contents", f'<nav epub:type="toc"><ol>{nav}</ol></nav>'),
            )
        for name, html in docs.items():
            zf.writestr(f"OEBPS/{name}", html)
    return path
