"""Recoverable defects of an EPUB are read past with a one-line warning naming the file and the
defect, and listed in the job's report (build.json): never a chapter silently lost."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from conftest import SAMPLE_BOOK, run_narrate


def _variant(out: Path, *, drop: str | None = None, retarget: tuple[bytes, bytes] | None = None):
    with zipfile.ZipFile(SAMPLE_BOOK) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            if name == drop:
                continue
            data = source.read(name)
            if retarget and name.endswith(("nav.xhtml", "toc.ncx")):
                data = data.replace(*retarget)
            stored = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            target.writestr(name, data, compress_type=stored)
    return out


def test_a_document_missing_from_the_epub_is_named(tmp_path):
    book = _variant(tmp_path / "missing.epub", drop="EPUB/chapter-3.xhtml")
    result = run_narrate("plan", book, "--out", tmp_path / "out", "--json")
    assert result.returncode == 0, result.stderr
    defects = json.loads(result.stdout)["defects"]
    assert any("'EPUB/chapter-3.xhtml', which is not in the EPUB" in d for d in defects)
    assert any("'Chapter 3: The Storm'" in d for d in defects)  # its TOC entry, too


def test_a_toc_entry_pointing_nowhere_is_named(tmp_path):
    book = _variant(tmp_path / "toc.epub", retarget=(b"chapter-2.xhtml", b"chapter-9.xhtml"))
    result = run_narrate("plan", book, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    flat = " ".join(result.stdout.split())
    assert f"warning: {book}: table of contents entry" in flat
    assert "points to 'EPUB/chapter-9.xhtml', which is not in the EPUB; skipped" in flat


@pytest.mark.slow
def test_the_render_report_lists_what_was_read_past(tmp_path):
    book = _variant(tmp_path / "missing.epub", drop="EPUB/chapter-3.xhtml")
    result = run_narrate(book, "--out", tmp_path / "out", "--no-cast", "--chapters", "1")
    assert result.returncode == 0, result.stderr
    assert "warning:" in result.stderr and "not in the EPUB" in result.stderr
    build = json.loads((tmp_path / "out" / "missing" / "build.json").read_text())
    assert len(build["defects"]) == 2
