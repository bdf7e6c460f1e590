"""Deeply nested markup (issue 15, item 4): a chapter of 100,000 nested <div>s, stored
uncompressed so the ZIP checks pass, gets one clear line naming the file, in seconds, never a
RecursionError. libxml2 stops at 256 levels (its "huge" option stays off), in recover mode
silently: the chapter used to be skipped as "no readable text" with its words lost."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest
from conftest import run_narrate
from test_ingest_safety import chapter, default_files

from narration.errors import InputError
from narration.ingest import read_book


def _epub(path: Path, body: str, member: str = "OEBPS/c2.xhtml", raw: str | None = None) -> Path:
    files = default_files()
    files[member] = raw if raw is not None else chapter(body)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():  # stored: a ratio of 1, as far from a bomb as can be
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_STORED)
    return path


def _nested(depth: int, inner: str = "<p>Deep down.</p>") -> str:
    return "<div>" * depth + inner + "</div>" * depth


def test_a_chapter_nested_100000_deep_is_refused_in_one_line_through_the_cli(tmp_path):
    book = _epub(tmp_path / "deep.epub", "<h1>The Second</h1>" + _nested(100_000))
    assert book.stat().st_size > 1_000_000
    started = time.monotonic()
    result = run_narrate("plan", book, "--out", tmp_path / "out", timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert "OEBPS/c2.xhtml" in lines[0] and "nested" in lines[0], lines[0]
    assert str(book) in lines[0]
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    assert elapsed < 10, elapsed


@pytest.mark.parametrize("kind", ["xhtml", "tag soup"])
def test_deep_markup_is_refused_by_either_parser(tmp_path, kind):
    if kind == "xhtml":
        book = _epub(tmp_path / "deep.epub", _nested(5_000))
    else:  # no XML root at all (text first): read by the HTML parser, with the same limit
        raw = "plain words <html><body><p>Top</p>" + "<div>" * 5_000 + "<p>Deep</body>"
        book = _epub(tmp_path / "deep.epub", "", raw=raw)
    with pytest.raises(InputError) as refused:
        read_book(book)
    assert "c2.xhtml: markup nested more than" in str(refused.value)


def test_markup_nested_within_the_limit_is_read_with_its_words(tmp_path):
    book = _epub(tmp_path / "deep.epub", "<h1>The Second</h1>" + _nested(240))
    second = read_book(book).chapters[1]
    assert "Deep down." in [block.text for block in second.blocks]


def test_a_deep_package_document_is_refused_too(tmp_path):
    nav = chapter('<nav epub:type="toc">' + _nested(1_000, "<ol></ol>") + "</nav>")
    book = _epub(tmp_path / "deep.epub", "", member="OEBPS/nav.xhtml", raw=nav)
    with pytest.raises(InputError) as refused:
        read_book(book)
    assert "nav.xhtml" in str(refused.value) and "nested" in str(refused.value)
