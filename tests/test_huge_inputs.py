"""Huge inputs in linear time and bounded memory (issue 15, item 3): a sentence longer than
the engine's limit is cut at clause boundaries, then at spaces, without copying its rest at
every cut; a huge paragraph is read without a list of all its words; `narrate plan` shows
progress on a terminal. benchmarks/plan_huge.py measures the 50 MB case end to end."""

from __future__ import annotations

import os
import pty
import random
import subprocess
import time
import tracemalloc

import pyarrow.parquet as pq
from conftest import REPO, narrate_command

from narration.ingest import read_book
from narration.ingest.text import _strip_emphasis
from narration.text.normalize import normalize
from narration.text.sentences import split_long

WORDS = [
    "the", "keeper", "climbed", "Stairs", "at", "dusk", "and", "I", "watched", "rain", "fall",
]  # fmt: skip


def _unpunctuated(chars: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    words = rng.choices(WORDS, k=chars // 4)
    return " ".join(words)[:chars].strip()


def test_long_sentences_are_cut_at_clauses_then_at_spaces():
    clause = "the keeper climbed the stairs " * 10  # 300 characters, no punctuation
    sentence = f"{clause.strip()}, {clause.strip()}; and then {clause.strip()}"
    pieces = split_long(sentence, 120)
    assert all(0 < len(p) <= 120 for p in pieces)
    assert " ".join(pieces).split() == sentence.split()  # nothing lost, nothing cut in a word
    assert any(p.endswith(",") for p in pieces) and any(p.endswith(";") for p in pieces)
    assert split_long("x" * 1000, 400) == ["x" * 400, "x" * 400, "x" * 200]  # no space at all


def test_cutting_a_20_mb_sentence_takes_linear_time():
    sentence = _unpunctuated(20_000_000)
    started = time.perf_counter()
    pieces = split_long(sentence, 400)
    elapsed = time.perf_counter() - started
    # Copying the rest at each of 50,000 cuts moved 500 GB: minutes. Linear: well under 1 s.
    assert elapsed < 5.0, elapsed
    assert max(len(p) for p in pieces) <= 400 and len(pieces) >= 50_000


def test_unclosed_emphasis_marks_do_not_rescan_a_huge_line():
    line = " ".join(f"_{_unpunctuated(500, seed=i)}" for i in range(4000))  # 2 MB, no closer
    started = time.perf_counter()
    assert _strip_emphasis(line) == line
    assert time.perf_counter() - started < 5.0  # unbounded: 4,000 scans to the line's end
    assert _strip_emphasis("a _word_ and *two words* here") == "a word and two words here"


def test_a_huge_paragraph_is_read_without_a_list_of_its_words(tmp_path):
    book = tmp_path / "huge.txt"
    book.write_text(_unpunctuated(10_000_000) + "\n", encoding="utf-8")
    tracemalloc.start()
    try:
        read = read_book(book)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    (chapter,) = read.chapters
    assert len(chapter.blocks) == 1 and len(chapter.blocks[0].text) > 9_900_000
    # Two million words as str objects alone are ~110 MB; the text itself is 10 MB.
    assert peak < 50_000_000, peak / 1e6


def test_numbering_words_still_read_their_numerals():
    assert normalize("Chapter   IV") == "Chapter four"
    assert normalize("see act iii, scene ii") == "see act three, scene two"
    assert normalize("In World War I the") == "In World War one the"
    assert normalize("for my part I think") == "for my part I think"
    assert normalize("exact IV") == "exact IV"


def test_narrate_plan_on_a_big_unpunctuated_text_with_progress_on_a_terminal(tmp_path):
    book = tmp_path / "big.txt"
    book.write_text(_unpunctuated(2_000_000) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    primary, secondary = pty.openpty()  # stderr is a terminal: the progress shows
    started = time.monotonic()
    with subprocess.Popen(
        [*narrate_command(), "plan", str(book), "--out", str(out)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=secondary,
        env={**os.environ, "COLUMNS": "120"},
    ) as process:
        os.close(secondary)
        screen = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the child closed its side
                break
            if not chunk:
                break
            screen += chunk
        stdout = process.stdout.read().decode() if process.stdout else ""
        assert process.wait(timeout=120) == 0, screen.decode(errors="replace")[-2000:]
    os.close(primary)
    assert time.monotonic() - started < 60
    assert b"planning big.txt (2.0 MB)" in screen
    assert "plan written to" in stdout
    texts = pq.read_table(out / "big" / "plan.parquet", columns=["text"]).column("text")
    lengths = [len(t) for t in texts.to_pylist()]
    assert len(lengths) > 4000 and max(lengths) <= 400
