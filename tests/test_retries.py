"""Retries with judgement, through the real CLI and flow: a transient engine failure is retried
and the book completes; a segment that always fails fails its chapter only, the other chapters
are finished, and the run ends with a report and exit 1, with the error in the manifest."""

from __future__ import annotations

import json

import pytest
from conftest import REPO, run_narrate

from narration.errors import InputError, SegmentsFailed
from narration.store import read_manifest

pytestmark = pytest.mark.slow
FLAKY = "render_engines:FlakyEngine"


def _book(tmp_path):
    book = tmp_path / "tale.md"
    book.write_text(
        "# A Tale\n\n## One\n\nThe first chapter is short. It has two sentences.\n\n"
        "## Two\n\nThe second chapter names a Xylophone. Then it ends.\n\n"
        "## Three\n\nThe third chapter is the last. It ends the tale.\n",
        encoding="utf-8",
    )
    return book


def _narrate(tmp_path, *options):
    env = {"PYTHONPATH": str(REPO / "tests"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return run_narrate(
        _book(tmp_path), "--out", tmp_path / "out", "--engine", FLAKY, "--no-cast",
        *[item for option in options for item in ("-O", f"{FLAKY}.{option}")], env=env,
    )  # fmt: skip


def test_an_engine_that_fails_twice_then_succeeds_completes_the_book(tmp_path):
    counter = tmp_path / "calls"
    result = _narrate(tmp_path, f"counter={json.dumps(str(counter))}", "fail_first=2")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "tale" / "tale.m4b").is_file()
    assert len(counter.read_text()) > 2  # the two failures happened, and more calls after them
    rows = read_manifest(tmp_path / "out" / "tale" / "plan.parquet")
    assert all(row["duration_s"] and row["error"] is None for row in rows)


def test_a_segment_that_always_fails_fails_its_chapter_only(tmp_path):
    result = _narrate(tmp_path, "fail_word=Xylophone")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "1 of 3 chapters failed" in result.stderr
    assert "cannot say 'Xylophone'" in result.stderr
    book_dir = tmp_path / "out" / "tale"
    assert not (book_dir / "tale.m4b").exists()  # never a book with a sentence missing
    rows = read_manifest(book_dir / "plan.parquet")
    failed = [row for row in rows if row["error"]]
    assert [row["text"] for row in failed] == ["The second chapter names a Xylophone."]
    assert all(row["duration_s"] for row in rows if row["chapter_index"] != 2)
    records = {
        p.name: json.loads(p.read_text()) for p in (book_dir / ".cache" / "chapters").glob("*.json")
    }
    assert {name: r["state"] for name, r in records.items()} == {
        "001.json": "done", "002.json": "failed", "003.json": "done",
    }  # fmt: skip
    build = json.loads((book_dir / "build.json").read_text())
    assert build["fingerprint"] is None and list(build["failed_chapters"]) == ["2"]

    status = run_narrate("status", book_dir)
    assert status.returncode == 0
    assert "[failed]" in status.stdout and "cannot say" in status.stdout


def test_input_errors_are_not_retried():
    from flows.retries import worth_retrying

    class State:
        def __init__(self, error):
            self.error = error

        def result(self, raise_on_failure=False):
            return self.error

    assert not worth_retrying(None, None, State(InputError("book.epub", "not a zip file")))
    assert worth_retrying(None, None, State(SegmentsFailed({"k": "engine died"})))
    assert worth_retrying(None, None, State(OSError(5, "I/O error")))


def test_segments_failed_survives_pickling():
    import pickle

    error = pickle.loads(pickle.dumps(SegmentsFailed({"a": "boom", "b": "bang"})))
    assert error.failures == {"a": "boom", "b": "bang"}
    assert "boom" in str(error) and "1 more" in str(error)
