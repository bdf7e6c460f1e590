"""End to end: the real `narrate` CLI, the real Prefect flow, the real Piper voice, real files.

Outputs are inspected as a user's player would see them: chapters read back from the encoded
M4B (mutagen, and ffprobe where installed), loudness and true peak measured on the decoded
audio with pyloudnorm, chapter starts checked against the audio itself.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
from audio_checks import (
    chapter_file_starts,
    decoded,
    ffprobe_chapters,
    loudness_lufs,
    mutagen_chapters,
    peak_dbtp,
    rms_dbfs,
)
from conftest import PRIDE, SAMPLE_BOOK, run_narrate

pytestmark = pytest.mark.slow
RATE = 22050


def _check_book(out_dir: Path, m4b: Path, titles: list[str]) -> None:
    chapters = mutagen_chapters(m4b)
    assert [t for t, _ in chapters] == titles
    expected = chapter_file_starts(out_dir / ".cache" / "chapters")
    assert len(expected) == len(titles)
    for (_, start), want in zip(chapters, expected, strict=True):
        assert abs(start - want) <= 0.5, (start, want)
    probed = ffprobe_chapters(m4b)
    if probed is None:
        assert not os.environ.get("CI"), "CI installs ffprobe: the chapter check must run there"
    else:
        assert [t for t, _ in probed] == titles
        for (_, start), want in zip(probed, expected, strict=True):
            assert abs(start - want) <= 0.5

    audio = decoded(m4b, RATE)
    assert abs(len(audio) / RATE - (expected[-1] + _last_chapter_s(out_dir))) < 0.5
    assert loudness_lufs(audio) == pytest.approx(-19.0, abs=1.0)
    assert peak_dbtp(audio) <= -3.0
    # Each chapter starts at a quiet head (room tone), and speech (its title) follows shortly.
    for _, start in chapters[1:]:
        i = int(start * RATE)
        assert rms_dbfs(audio[i - int(0.4 * RATE) : i + int(0.3 * RATE)]) < -45
        assert rms_dbfs(audio[i + int(0.6 * RATE) : i + int(2.0 * RATE)]) > -35


def _last_chapter_s(out_dir: Path) -> float:
    import soundfile as sf

    last = sorted((out_dir / ".cache" / "chapters").glob("[0-9]*.wav"))[-1]
    return sf.info(last).frames / sf.info(last).samplerate


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    started = time.monotonic()
    result = run_narrate(SAMPLE_BOOK, "--out", out)
    return out, result, time.monotonic() - started


def test_sample_book_becomes_a_chaptered_mastered_m4b(sample_run):
    out, result, _ = sample_run
    assert result.returncode == 0, result.stderr
    book_dir = out / "the-lighthouse-keeper"
    m4b = book_dir / "the-lighthouse-keeper.m4b"
    assert m4b.is_file()
    _check_book(
        book_dir,
        m4b,
        [
            "Chapter 1: The Ledger",
            "Chapter 2: A Visitor from St. Agnes",
            "Chapter 3: The Storm",
            "Chapter 4: Letters",
        ],
    )
    from mutagen.mp4 import MP4

    tags = MP4(m4b).tags
    assert tags["\xa9nam"] == ["The Lighthouse Keeper's Ledger"]
    assert tags["\xa9ART"] == ["Narration Project"]
    assert tags["\xa9gen"] == ["Audiobook"]
    assert "covr" in tags and bytes(tags["covr"][0]).startswith(b"\x89PNG")
    state = json.loads((book_dir / "build.json").read_text())
    assert 180 <= state["audio_s"] <= 330  # the sample is meant to be 3 to 5 minutes
    assert "done:" in result.stderr and "real time" in result.stderr
    # the levels the job measured while encoding agree with a measurement of the finished file
    audio = decoded(m4b, RATE)
    assert state["m4b_integrated_lufs"] == pytest.approx(loudness_lufs(audio), abs=0.2)
    if state["m4b_true_peak_is_bound"]:
        assert peak_dbtp(audio) <= state["m4b_true_peak_dbtp"] + 0.05
    else:
        assert state["m4b_true_peak_dbtp"] == pytest.approx(peak_dbtp(audio), abs=0.2)
    assert f"{state['m4b_integrated_lufs']:.1f} LUFS" in result.stderr
    # the progress bar ends full (a sentence said twice is rendered once, and counted once)
    done, total = re.findall(r"segments\D+(\d+)/(\d+)", result.stderr)[-1]
    assert done == total


def test_manifest_lists_every_segment_with_duration(sample_run):
    from narration.store import read_manifest

    out, _, _ = sample_run
    rows = read_manifest(out / "the-lighthouse-keeper" / "plan.parquet")
    assert len(rows) > 40
    assert all(r["duration_s"] and r["duration_s"] > 0.2 for r in rows)
    assert rows[0]["text"] == "Chapter 1: The Ledger"
    assert any("nineteen twenty-three" in r["spoken_text"] for r in rows)


def test_second_run_is_up_to_date_and_changes_nothing(sample_run):
    out, _, first_s = sample_run
    m4b = out / "the-lighthouse-keeper" / "the-lighthouse-keeper.m4b"
    before = (m4b.stat().st_mtime_ns, m4b.read_bytes())
    started = time.monotonic()
    again = run_narrate(SAMPLE_BOOK, "--out", out)
    took = time.monotonic() - started
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stderr
    assert (m4b.stat().st_mtime_ns, m4b.read_bytes()) == before
    assert took < first_s * 0.5


def test_pride_and_prejudice_chapters_1_to_3(corpus, tmp_path):
    started = time.monotonic()
    result = run_narrate(PRIDE, "--out", tmp_path, "--chapters", "1-3")
    first_s = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    book_dir = tmp_path / PRIDE.stem
    m4b = book_dir / f"{PRIDE.stem}.m4b"
    _check_book(book_dir, m4b, ["I", "II", "III"])

    _check_distinct_voices(book_dir)

    started = time.monotonic()
    again = run_narrate(PRIDE, "--out", tmp_path, "--chapters", "1-3")
    rerun_s = time.monotonic() - started
    assert again.returncode == 0 and "up to date" in again.stderr
    assert rerun_s < 0.05 * first_s, (rerun_s, first_s)


def _check_distinct_voices(book_dir: Path) -> None:
    """Narrator, Mr. Bennet and Mrs. Bennet: cast in cast.toml, and their rendered segments'
    median F0 at least 2 semitones apart pairwise."""
    import tomllib

    from narration.audio.voicefx import median_f0_hz, semitones
    from narration.store import SegmentStore, read_manifest

    cast = tomllib.loads((book_dir / "cast.toml").read_text())
    for name in ("Mr. Bennet", "Mrs. Bennet"):
        assert "voice" in cast["characters"][name], name
    rows = read_manifest(book_dir / "plan.parquet")
    store = SegmentStore(book_dir / ".cache" / "segments")
    medians = {}
    for speaker in ("narrator", "Mr. Bennet", "Mrs. Bennet"):
        keys = list(dict.fromkeys(r["key"] for r in rows if r["speaker"] == speaker))[:12]
        assert len(keys) >= 3, speaker
        audio = np.concatenate([store.read(k)[0] for k in keys])
        medians[speaker] = median_f0_hz(audio, RATE)
    names = list(medians)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert abs(semitones(medians[a], medians[b])) >= 2.0, medians


@pytest.mark.parametrize(
    "name",
    [
        "epubcheck_epub3_ocf-zip-unreadable-empty-fatal.epub",
        "epubcheck_epub3_ocf-zip-unreadable-no-end-header-fatal.epub",
        "epubcheck_epub3_ocf-zip-unreadable-image-with-epub-extension-fatal.epub",
        "epubcheck_epub2_opf-spine-missing-error.epub",
    ],
)
def test_broken_epub_gives_one_line_error(corpus, tmp_path, name):
    path = corpus / "epub" / "broken" / name
    result = run_narrate(path, "--out", tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert name in lines[0] and "Traceback" not in result.stderr
    assert not list(tmp_path.rglob("*.m4b"))


def test_missing_file_gives_one_line_error(tmp_path):
    result = run_narrate(tmp_path / "nope.epub", "--out", tmp_path)
    assert result.returncode == 1
    assert "nope.epub" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_chapter_range_beyond_book_is_refused(tmp_path):
    result = run_narrate(SAMPLE_BOOK, "--out", tmp_path, "--chapters", "2-9")
    assert result.returncode == 1
    assert "has 4" in result.stderr and "Traceback" not in result.stderr


def test_help_reads_like_documentation():
    result = run_narrate("--help")
    assert result.returncode == 0
    for word in ("render", "plan", "preview", "attribute", "Examples"):
        assert word in result.stdout
    render = run_narrate("render", "--help")
    for option in ("--out", "--chapters", "--voice", "--format", "--target-lufs"):
        assert option in render.stdout
