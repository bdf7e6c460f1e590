"""Project Gutenberg's header, licence and transcriber's notes are not narrated (EPUB and
plain text, every layout they have used), `narrate plan` says what was left out, and the
work's own first and last sentences stay whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gutenberg_fixtures import (
    FIRST_SENTENCE,
    FOOTER_1990S,
    FOOTER_2004,
    HEADER_1990S,
    HEADER_2004,
    LAST_SENTENCE,
    TRANSCRIBER_NOTE,
    ebookmaker_epub3,
    epubmaker_2013_epub,
    gutenberg_text,
    words_of,
    write_epub,
    xhtml,
)

from narration.ingest import read_book
from narration.ingest.gutenberg import partition, split_notes, work_title
from narration.model import Book

# Phrases found only in the boilerplate: none may reach a chapter.
BOILERPLATE = (
    "gutenberg",
    "This eBook is for the use",
    "Release Date",
    "Produced by",
    "Transcriber",
    "Small Print",
    "LICENSE",
    "electronic work",
)


def text_of(book: Book) -> str:
    return "\n".join(block.text for chapter in book.chapters for block in chapter.blocks)


def write_text(tmp_path: Path, layout: str) -> Path:
    path = tmp_path / f"pg-{layout}.txt"
    path.write_text(gutenberg_text(layout), encoding="utf-8")
    return path


def book_files(tmp_path: Path) -> dict[str, Path]:
    return {
        "txt-2004": write_text(tmp_path, "2004"),
        "txt-current": write_text(tmp_path, "current"),
        "txt-1990s": write_text(tmp_path, "1990s"),
        "epub2-epubmaker": epubmaker_2013_epub(tmp_path / "epubmaker.epub"),
        "epub3-ebookmaker": ebookmaker_epub3(tmp_path / "ebookmaker.epub"),
    }


LAYOUTS = ["txt-2004", "txt-current", "txt-1990s", "epub2-epubmaker", "epub3-ebookmaker"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_boilerplate_is_left_out_and_the_work_kept_whole(tmp_path, layout):
    book = read_book(book_files(tmp_path)[layout])
    text = text_of(book)
    for phrase in BOILERPLATE:
        assert phrase.casefold() not in text.casefold(), phrase
    assert [c.title for c in book.chapters] == ["Chapter I. The Tower", "Chapter II. The Storm"]
    assert book.chapters[0].blocks[0].text.startswith(FIRST_SENTENCE)
    last_words = [b.text for b in book.chapters[-1].blocks if b.text][-2:]
    assert any(t.endswith(LAST_SENTENCE) for t in last_words), last_words
    assert (book.title, book.author) == ("The Keeper of the Light", "Anna Marsh")
    titles = [s.title for s in book.skipped]
    assert titles[0] == "Project Gutenberg header"
    assert titles[-1] == "Project Gutenberg licence"


@pytest.mark.parametrize(
    ("layout", "header", "footer"),
    [("2004", HEADER_2004, FOOTER_2004), ("1990s", HEADER_1990S, FOOTER_1990S)],
)
def test_skipped_entries_count_the_words_left_out(tmp_path, layout, header, footer):
    book = read_book(write_text(tmp_path, layout))
    reasons = {s.title: s.reason for s in book.skipped}
    assert reasons["Project Gutenberg header"] == f"boilerplate, {words_of(header):,} words"
    assert reasons["Project Gutenberg licence"] == f"boilerplate, {words_of(footer):,} words"
    assert reasons["Transcriber's notes"] == f"boilerplate, {words_of(TRANSCRIBER_NOTE)} words"


@pytest.mark.parametrize("layout", ["txt-2004", "epub2-epubmaker", "epub3-ebookmaker"])
def test_include_boilerplate_reads_it_all(tmp_path, layout):
    path = book_files(tmp_path)[layout]
    # The note opens the book, before its title page: front matter, asked for here too.
    book = read_book(path, include_boilerplate=True, include_front_matter=True)
    text = text_of(book)
    assert "START OF TH" in text and "PLEASE READ THIS BEFORE YOU DISTRIBUTE" in text
    assert "Transcriber's Note" in text
    assert not any("boilerplate" in s.reason for s in book.skipped)
    assert FIRST_SENTENCE in text and LAST_SENTENCE in text


def test_plain_text_with_boilerplate_gets_chapters_of_its_own(tmp_path):
    book = read_book(write_text(tmp_path, "current"), include_boilerplate=True)
    titles = [c.title for c in book.chapters]
    assert titles[0] == "Project Gutenberg header" and titles[-1] == "Project Gutenberg licence"
    assert titles[1:-1] == ["Chapter I. The Tower", "Chapter II. The Storm"]


def test_plan_has_no_boilerplate_and_lists_what_was_skipped(tmp_path):
    """What the listener hears (the plan's segments) and what `narrate plan` prints."""
    from conftest import run_narrate

    from narration.pipeline import JobSettings, prepare_job

    for layout, path in book_files(tmp_path).items():
        job = prepare_job(path, JobSettings(out_root=str(tmp_path / "out"), cast=False))
        spoken = " ".join(s.text for s in job.plan.segments)
        for phrase in BOILERPLATE:
            assert phrase.casefold() not in spoken.casefold(), (layout, phrase)
        # Nothing before the work's first sentence but its chapter's announced title.
        before, _, after = spoken.partition(FIRST_SENTENCE)
        assert before.strip() == "Chapter I. The Tower", layout
        assert LAST_SENTENCE in after, layout

    path = write_text(tmp_path, "2004")
    result = run_narrate("plan", path, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert f"skipped: Project Gutenberg licence (boilerplate, {words_of(FOOTER_2004):,} words)" in (
        result.stdout
    )
    assert "skipped: Project Gutenberg header" in result.stdout
    listed = json.loads(run_narrate("plan", path, "--json", "--out", tmp_path / "out").stdout)
    assert {
        "title": "Project Gutenberg licence",
        "reason": f"boilerplate, {words_of(FOOTER_2004):,} words",
    } in listed["skipped"]


# --- the markers, one by one ------------------------------------------------------------------


def cut(texts: list[str]) -> tuple[list[str], list[str], list[str]]:
    parts = partition(texts)
    return (
        [p.header for p in parts if p.header],
        [p.body for p in parts if p.body],
        [p.footer for p in parts if p.footer],
    )


@pytest.mark.parametrize(
    "marker",
    [
        "*** START OF THE PROJECT GUTENBERG EBOOK PERSUASION ***",
        "*** START OF THIS PROJECT GUTENBERG EBOOK PERSUASION ***",
        "***START OF THE PROJECT GUTENBERG EBOOK PERSUASION***",
        "*** start of the project gutenberg ebook persuasion ***",
        "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*",
        "*END THE SMALL PRINT! FOR PUBLIC DOMAIN EBOOKS*Ver.02/11/02*END*",
    ],
)
def test_header_markers(marker):
    header, body, footer = cut(["Title: Persuasion", marker, "Chapter 1", "Sir Walter Elliot."])
    assert header == ["Title: Persuasion", marker]
    assert body == ["Chapter 1", "Sir Walter Elliot."] and footer == []


@pytest.mark.parametrize(
    "marker",
    [
        "*** END OF THE PROJECT GUTENBERG EBOOK PERSUASION ***",
        "*** END OF THIS PROJECT GUTENBERG EBOOK PERSUASION ***",
        "***END OF THE PROJECT GUTENBERG EBOOK PERSUASION***",
        "End of the Project Gutenberg EBook of Persuasion, by Jane Austen",
        "End of Project Gutenberg's Persuasion, by Jane Austen",
        "End of this Project Gutenberg Etext of Persuasion",
        "END OF THE PROJECT GUTENBERG EBOOK PERSUASION",
        "*** START: FULL LICENSE ***",
        "THE FULL PROJECT GUTENBERG LICENSE",
    ],
)
def test_footer_markers(marker):
    header, body, footer = cut(["It was the end.", "Finis.", marker, "Licence text."])
    assert body == ["It was the end.", "Finis."] and header == []
    assert footer == [marker, "Licence text."]


def test_markers_run_into_one_block_cut_inside_it():
    # An EPUB whose header and footer were <pre> blocks: whitespace joined, no line breaks.
    head = "Title: X *** START OF THIS PROJECT GUTENBERG EBOOK X *** Produced by A. Reader"
    tail = "End of the Project Gutenberg EBook of X *** END OF THIS PROJECT GUTENBERG EBOOK X ***"
    header, body, footer = cut([head, "First line.", "Last line. " + tail])
    assert body == ["First line.", "Last line."]
    assert " ".join(header).split() == head.split() and footer == [tail]


def test_body_is_never_cut_on_a_lookalike():
    texts = [
        "He spoke of the end of the Project Gutenberg era, and of small print.",
        "Start of the project: Gutenberg's press. It was produced by hand.",
        "Produced by the river, the mist rose.",
    ]
    assert cut(texts) == ([], texts, [])
    # Without a start marker, the small print closes the header only before any footer.
    later = ["Body.", "*** END OF THE PROJECT GUTENBERG EBOOK X ***", "*END*THE SMALL PRINT!*END*"]
    assert cut(later)[1] == ["Body."]


def test_volumes_joined_in_one_file_lose_only_the_last_footer():
    texts = [
        "*** START OF THE PROJECT GUTENBERG EBOOK VOL. 1 ***",
        "Volume one.",
        "*** END OF THE PROJECT GUTENBERG EBOOK VOL. 1 ***",
        "*** START OF THE PROJECT GUTENBERG EBOOK VOL. 2 ***",
        "Volume two.",
        "*** END OF THE PROJECT GUTENBERG EBOOK VOL. 2 ***",
        "Licence.",
    ]
    header, body, footer = cut(texts)
    assert "Volume one." in body and "Volume two." in body
    assert footer == texts[-2:]


def test_a_marker_far_from_where_gutenberg_puts_it_cuts_nothing():
    long_book = ["word " * 1000] * 20  # 20,000 words of work after an end marker
    texts = ["Opening.", "*** END OF THE PROJECT GUTENBERG EBOOK X ***", *long_book]
    assert cut(texts)[2] == []


def test_production_credits_after_the_start_marker_are_header():
    texts = [
        "*** START OF THE PROJECT GUTENBERG EBOOK X ***",
        "Produced by Judith Boss, and the Online Distributed Proofreading Team at www.pgdp.net",
        "Transcribed from the 1891 Cassell edition by David Price, email ccx074@pglaf.org",
        "CHAPTER I",
        "Produced by the river, the mist rose.",
    ]
    header, body, _ = cut(texts)
    assert body == ["CHAPTER I", "Produced by the river, the mist rose."]
    assert len(header) == 3


def test_transcriber_notes():
    texts = [
        "TRANSCRIBER'S NOTES:",
        "Obvious typographical errors have been corrected.",
        "Italics are shown as _underscores_.",
        "THE KEEPER",
        "It began. [Transcriber's note: 'teh' in the original.] It went on.",
        "+--------------------------+\n| Transcriber’s Note: boxed. |\n+-------------------+",
        "It ended.",
    ]
    kept = [body for body, _ in split_notes(texts)]
    assert kept == ["", "", "", "THE KEEPER", "It began. It went on.", "", "It ended."]
    closing = ["Chapter text. " * 20, "Transcriber's Notes", "Page 12: 'teh' changed to 'the'."]
    assert [body for body, _ in split_notes(closing)] == [closing[0], "", ""]


def test_titles_project_gutenberg_gave_name_the_work():
    assert work_title("The Project Gutenberg eBook of Persuasion, by Jane Austen") == "Persuasion"
    assert work_title("Project Gutenberg's The Vision of Hell, by Dante") == "The Vision of Hell"
    assert work_title("The Project Gutenberg eBook of Stand By Me") == "Stand By Me"
    assert work_title("Persuasion, by Jane Austen") == "Persuasion, by Jane Austen"


@pytest.mark.parametrize("layout", ["epub2-epubmaker", "epub3-ebookmaker"])
def test_the_title_page_after_the_header_is_not_a_chapter(tmp_path, layout):
    book = read_book(book_files(tmp_path)[layout])
    assert ("The Keeper of the Light", "title page") in [(s.title, s.reason) for s in book.skipped]
    full = read_book(book_files(tmp_path)[layout], include_front_matter=True)
    assert full.chapters[0].title == "The Keeper of the Light"


def test_notes_marked_by_class_are_left_out_but_inline_marks_kept(tmp_path):
    body = (
        '<div class="transnote"><h2>Transcriber’s Notes</h2><ul><li>Page 12: teh/the</li>'
        "<li>Page 40: hyphenation kept</li></ul></div>"
        '<h2 id="c1">Chapter 1</h2><p>The lamp was <span class="tnote" title="orig: lit">'
        "lit</span> at dusk.</p>"
    )
    docs = {"book.xhtml": xhtml("Book", body)}
    nav = '<li><a href="book.xhtml#c1">Chapter 1</a></li>'
    path = write_epub(tmp_path / "dp.epub", docs, ncx=None, nav=nav, version="3.0")
    book = read_book(path)
    assert text_of(book) == "The lamp was lit at dusk."
    assert ("Transcriber's notes", "boilerplate, 9 words") in [
        (s.title, s.reason) for s in book.skipped
    ]
    assert "Page 12" in text_of(read_book(path, include_boilerplate=True))
