"""read_book on plain text and Markdown: headings, paragraphs, metadata, encodings."""

from __future__ import annotations

from pathlib import Path

import pytest

from narration.errors import InputError
from narration.ingest import read_book
from narration.model import BlockKind

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def test_txt_chapters_from_chapter_lines(tmp_path):
    text = (
        "The Lighthouse\n\nby Mary Keeper\n\n"
        "CHAPTER I\n\nThe lamp was lit at dusk.\nIt burned all night.\n\n"
        "Morning came slowly.\n\n"
        "Chapter 2. The Storm\n\nWind rose in the west.\n\n* * *\n\nThen it was calm.\n"
    )
    book = read_book(write(tmp_path, "lighthouse.txt", text))
    assert (book.title, book.author) == ("The Lighthouse", "Mary Keeper")
    assert [c.title for c in book.chapters] == ["Chapter I", "Chapter 2. The Storm"]
    assert [b.text for b in book.chapters[0].blocks] == [
        "The lamp was lit at dusk. It burned all night.",
        "Morning came slowly.",
    ]
    kinds = [b.kind for b in book.chapters[1].blocks]
    assert kinds == [BlockKind.PARAGRAPH, BlockKind.SECTION_BREAK, BlockKind.PARAGRAPH]


def test_txt_roman_numerals_and_caps_headings(tmp_path):
    numerals = "I.\n\nFirst part text here.\n\nII.\n\nSecond part text here.\n"
    book = read_book(write(tmp_path, "n.txt", numerals))
    assert [c.title for c in book.chapters] == ["I.", "II."]
    caps = "THE BEGINNING\n\nIt began.\n\nTHE MIDDLE\n\nIt went on.\n\nTHE END\n\nIt ended.\n"
    book = read_book(write(tmp_path, "c.txt", caps))
    assert [c.title for c in book.chapters] == ["The Beginning", "The Middle", "The End"]


def test_txt_book_and_part_headings_are_carried_by_their_chapters(tmp_path):
    text = (
        "BOOK ONE\n\nCHAPTER I\n\nOne one.\n\nCHAPTER II\n\nOne two.\n\n"
        "BOOK TWO\n\nCHAPTER I\n\nTwo one.\n\nCHAPTER II\n\nTwo two.\n\n"
        "EPILOGUE\n\nAfter all.\n"
    )
    book = read_book(write(tmp_path, "books.txt", text))
    assert [c.title for c in book.chapters] == [
        "Book One: Chapter I",
        "Book One: Chapter II",
        "Book Two: Chapter I",
        "Book Two: Chapter II",
        "Epilogue",
    ]


def test_txt_without_headings_is_one_chapter_named_from_file(tmp_path):
    book = read_book(write(tmp_path, "a_quiet-story.txt", "Just one paragraph.\n\nAnd another.\n"))
    assert book.title == "a quiet story"
    assert [c.title for c in book.chapters] == ["a quiet story"]
    assert len(book.chapters[0].blocks) == 2


def test_txt_utf8_bom_and_crlf(tmp_path):
    data = "\ufeffCHAPTER 1\r\n\r\n“Quoted,” she said.\r\n\r\nCHAPTER 2\r\n\r\nMore.\r\n"
    book = read_book(write(tmp_path, "bom.txt", data.encode("utf-8")))
    assert book.chapters[0].blocks[0].text == "“Quoted,” she said."


def test_txt_cp1252_is_decoded_with_warning(tmp_path, caplog):
    data = "Caf\u00e9 society \u2014 \u201cquoted\u201d and na\u00efve. " * 20
    book = read_book(write(tmp_path, "old.txt", data.encode("cp1252")))
    assert "Café society — “quoted” and naïve." in book.chapters[0].blocks[0].text
    assert "UTF-8" in caplog.text


def test_binary_garbage_txt_is_refused(tmp_path):
    path = write(tmp_path, "junk.txt", bytes(range(256)) * 40)
    with pytest.raises(InputError, match="binary"):
        read_book(path)


def test_empty_text_is_refused(tmp_path):
    with pytest.raises(InputError, match="empty"):
        read_book(write(tmp_path, "e.txt", b""))
    with pytest.raises(InputError, match="no readable text"):
        read_book(write(tmp_path, "blank.txt", "\n\n   \n"))


def test_gutenberg_text_from_corpus():
    path = CORPUS / "attribution" / "pdnc" / "AlicesAdventuresInWonderland" / "novel_text.txt"
    if not path.is_file():
        pytest.skip("shared corpus not available")
    book = read_book(path)
    titles = [c.title for c in book.chapters]
    assert len(titles) == 12
    assert titles[0] == "CHAPTER I. Down the Rabbit-Hole"
    assert titles[-1] == "CHAPTER XII. Alice's Evidence"
    first = book.chapters[0].blocks[0].text
    assert first.startswith(
        "Alice was beginning to get very tired of sitting by her sister on the bank"
    )
    assert "_very_" not in " ".join(b.text for b in book.chapters[0].blocks)


def test_markdown_front_matter_headings_and_markup(tmp_path):
    md = (
        "---\ntitle: Field Notes\nauthor: R. Walker\n---\n\n"
        "# One\n\nA *lovely* [walk](http://x.y) by the river.\n![a heron](heron.png)\n\n"
        "## A smaller heading\n\nMore `text`.\n\n---\n\nAfter the break.\n\n"
        "# Two\n\n- first item\n- second item\n\n```\ncode is not read\n```\n\n> quoted words\n"
    )
    book = read_book(write(tmp_path, "notes-file.md", md))
    assert (book.title, book.author) == ("Field Notes", "R. Walker")
    assert [c.title for c in book.chapters] == ["One", "Two"]
    one = book.chapters[0].blocks
    assert one[0].text == "A lovely walk by the river."
    assert (one[1].kind, one[1].text) == (BlockKind.HEADING, "A smaller heading")
    assert one[3].kind == BlockKind.SECTION_BREAK
    two = [b.text for b in book.chapters[1].blocks]
    assert two == ["first item", "second item", "quoted words"]


def test_markdown_single_h1_is_book_title(tmp_path):
    md = "# My Book\n\nby Jo Doe\n\n## Start\n\nText one.\n\n## End\n\nText two.\n"
    book = read_book(write(tmp_path, "b.markdown", md))
    assert (book.title, book.author) == ("My Book", "Jo Doe")
    assert [c.title for c in book.chapters] == ["Start", "End"]


@pytest.mark.parametrize("policy", ["skip", "inline", "chapter-end"])
def test_markdown_footnotes_follow_policy(tmp_path, policy):
    md = (
        "# A\n\nShe left.[^1] Then more.\n\nNext paragraph.\n\n[^1]: In the night.\n\n# B\n\nEnd.\n"
    )
    book = read_book(write(tmp_path, "f.md", md), notes=policy)
    blocks = book.chapters[0].blocks
    assert blocks[0].text == "She left. Then more."
    notes = [i for i, b in enumerate(blocks) if b.kind == BlockKind.NOTE]
    expected = {"skip": [], "inline": [1], "chapter-end": [2]}[policy]
    assert notes == expected
    if notes:
        assert blocks[notes[0]].text == "Note: In the night."


def test_bad_notes_policy():
    with pytest.raises(ValueError):
        read_book("x.txt", notes="loud")
