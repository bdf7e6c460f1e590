"""read_book on real EPUBs from the shared corpus (skipped when the corpus is absent)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from narration.errors import InputError
from narration.ingest import read_book
from narration.model import BlockKind

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
VALID = CORPUS / "epub" / "valid"
BROKEN = CORPUS / "epub" / "broken"


def corpus_file(name: str) -> Path:
    path = VALID / name
    if not path.is_file():
        pytest.skip(f"shared corpus file {name} not available")
    return path


PP = "standardebooks_jane-austen_pride-and-prejudice.epub"
MOBY = "idpf-epub3-samples_moby-dick.epub"
WASTE = "idpf-epub3-samples_wasteland.epub"
KIDS = "idpf-epub3-samples_childrens-literature.epub"
MINIMAL = "epubcheck_epub2-minimal-ncx-only.epub"
ALICE = "epubjs_alice.epub"


def all_text(book) -> str:
    return "\n".join(b.text for c in book.chapters for b in c.blocks)


def test_pride_and_prejudice_chapters_titles_metadata():
    book = read_book(corpus_file(PP))
    assert book.title == "Pride and Prejudice"
    assert book.author == "Jane Austen"
    assert book.language.startswith("en")
    assert len(book.chapters) == 61
    assert [c.index for c in book.chapters] == list(range(1, 62))
    titles = [c.title for c in book.chapters]
    assert titles[0] == "I" and titles[4] == "V" and titles[29] == "XXX" and titles[60] == "LXI"
    assert book.cover_image and book.cover_mime == "image/svg+xml"
    assert book.cover_image.lstrip().startswith(b"<")
    first = book.chapters[0].blocks[0]
    assert first.kind == BlockKind.PARAGRAPH
    assert first.text.startswith("It is a truth universally acknowledged")
    # The chapter's own heading ("I") is announced from the TOC, not read again.
    assert not any(b.kind == BlockKind.HEADING and b.text == "I" for b in book.chapters[0].blocks)
    # Curly quotes and abbreviations kept as written.
    assert "“My dear Mr. Bennet,” said his lady" in all_text(book)
    skipped = {s.title: s.reason for s in book.skipped}
    assert {"Titlepage", "Imprint", "Colophon", "Uncopyright"} <= set(skipped)
    assert "Jane Austen" not in book.chapters[-1].blocks[-1].text  # colophon not appended


def test_pride_and_prejudice_parses_fast():
    path = corpus_file(PP)
    start = time.perf_counter()
    read_book(path)
    assert time.perf_counter() - start < 1.5


def test_moby_dick_front_matter_skipped_by_default_and_kept_on_request():
    book = read_book(corpus_file(MOBY))
    titles = [c.title for c in book.chapters]
    assert "Chapter 1. Loomings." in titles
    assert titles[-1] == "Epilogue"
    assert "Etymology." in titles  # part of the work, not front matter
    for matter in ("Copyright Page", "Original Transcriber’s Notes:", "Moby-Dick"):
        assert matter not in titles
    reasons = {s.title: s.reason for s in book.skipped}
    assert reasons["Copyright Page"] == "copyright page"
    assert "Original Transcriber’s Notes:" in reasons
    loomings = book.chapters[titles.index("Chapter 1. Loomings.")]
    assert loomings.blocks[0].text.startswith("Call me Ishmael.")

    full = read_book(corpus_file(MOBY), include_front_matter=True)
    full_titles = [c.title for c in full.chapters]
    assert "Copyright Page" in full_titles and "Original Transcriber’s Notes:" in full_titles
    assert len(full.chapters) > len(book.chapters)
    assert "Project Gutenberg" in all_text(full) and "Project Gutenberg" not in all_text(book)


def test_childrens_literature_is_split_at_fragment_targets():
    book = read_book(corpus_file(KIDS))
    titles = [c.title for c in book.chapters]
    # 22 linked entries: the section (a part page: a title prefix), the bibliography
    # (skipped), and 20 pieces with text, four of them hidden sub-entries of story 190.
    assert len(book.chapters) == 20
    # Titles set in capitals are shown in title case; every story under an author's name
    # (an unlinked label, no chapter itself) carries the name.
    assert titles[0] == "Section IV Fairy Stories—Modern Fantastic Tales: Introductory"
    assert titles[1] == "Abram S. Isaacs: 190 A Four-Leaved Clover"
    assert titles[2] == "I. The Rabbi and the Diadem"  # under story 190, itself a chapter
    assert "Hans Christian Andersen: 192 The Real Princess" in titles
    assert "Hans Christian Andersen: 193 The Emperor's New Clothes" in titles
    assert titles[-1] == "John Ruskin: 204 The King of the Golden River or the Black Brothers"
    assert all(c.source_href.startswith("EPUB/s04.xhtml#") for c in book.chapters)
    assert {s.title for s in book.skipped} >= {"BIBLIOGRAPHY", "THE CONTENTS"}
    # Each piece holds its own text only: the diadem story does not run into "Friendship".
    diadem = book.chapters[2]
    assert diadem.blocks[0].text.startswith("Great was the alarm in the palace of Rome")
    assert "doubly blessed" not in " ".join(b.text for b in diadem.blocks)
    # Page numbers (epub:type pagebreak) are never read.
    assert not any(b.text.strip().isdigit() for c in book.chapters for b in c.blocks)


def test_wasteland_verse_and_notes_policies():
    path = corpus_file(WASTE)
    book = read_book(path)
    assert [c.title for c in book.chapters] == [
        "I. The Burial of the Dead",
        "II. A Game of Chess",
        "III. The Fire Sermon",
        "IV. Death by Water",
        "V. What the Thunder Said",
    ]
    first = book.chapters[0]
    assert first.blocks[0] == first.blocks[0].__class__(
        "April is the cruellest month, breeding", BlockKind.VERSE_LINE
    )
    kinds = Counter(b.kind for b in first.blocks)
    assert kinds[BlockKind.VERSE_LINE] > 60
    text = all_text(book)
    assert "Ezekiel" not in text  # note bodies are not read by default
    assert "*" not in text  # nor the noteref markers
    assert "Son of man," in text and "20" not in first.blocks[19].text  # line numbers dropped
    assert not any(b.kind == BlockKind.NOTE for c in book.chapters for b in c.blocks)

    inline = read_book(path, notes="inline")
    blocks = inline.chapters[0].blocks
    i = next(i for i, b in enumerate(blocks) if b.text.startswith("Out of this stony rubbish"))
    assert blocks[i + 1].kind == BlockKind.NOTE
    assert blocks[i + 1].text == "Note: Line 20. Cf. Ezekiel 2:1."
    assert sum(b.kind == BlockKind.NOTE for c in inline.chapters for b in c.blocks) >= 45

    end = read_book(path, notes="chapter-end")
    blocks = end.chapters[0].blocks
    notes_at = [i for i, b in enumerate(blocks) if b.kind == BlockKind.NOTE]
    assert notes_at and notes_at == list(range(notes_at[0], len(blocks)))
    assert blocks[notes_at[0]].text == "Note: Line 20. Cf. Ezekiel 2:1."
    # The notes page itself stays skipped: its text is only reached through the policy.
    assert 'NOTES ON "THE WASTE LAND"' in {s.title for s in end.skipped}


def test_epub2_minimal_ncx_only_reads_ncx_title():
    book = read_book(corpus_file(MINIMAL))
    assert book.title == "Minimal EPUB 2.0"
    assert [c.title for c in book.chapters] == ["Loomings"]
    assert [b.text for b in book.chapters[0].blocks] == ["Call me Ishmael."]


def test_alice_reads():
    book = read_book(corpus_file(ALICE))
    assert book.author == "Lewis Carroll"
    assert len(book.chapters) == 10
    assert book.chapters[0].title == "Down The Rabbit-Hole"
    assert book.chapters[0].blocks[0].text.startswith("Alice was beginning to get very tired")
    assert book.cover_mime == "image/jpeg" and book.cover_image[:2] == b"\xff\xd8"
    assert book.words > 9000


@pytest.mark.parametrize(
    "name",
    [
        "epubcheck_epub2_opf-spine-missing-error.epub",
        "epubcheck_epub3_ocf-zip-unreadable-empty-fatal.epub",
        "epubcheck_epub3_ocf-zip-unreadable-image-with-epub-extension-fatal.epub",
        "epubcheck_epub3_ocf-zip-unreadable-no-end-header-fatal.epub",
    ],
)
def test_broken_corpus_files_raise_input_error(name):
    path = BROKEN / name
    if not path.is_file():
        pytest.skip(f"shared corpus file {name} not available")
    with pytest.raises(InputError) as info:
        read_book(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message


def test_missing_mimetype_is_accepted_with_a_warning(caplog):
    path = BROKEN / "epubcheck_epub3_ocf-mimetype-file-missing-error.epub"
    if not path.is_file():
        pytest.skip("shared corpus file not available")
    book = read_book(path)
    assert book.chapters and book.chapters[0].blocks
    assert "mimetype" in caplog.text
