"""Mastering a chapter passage by passage: the cuts, the assembly in pieces, the levels."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from test_audio_master import audible_runs, piper_padded, speechlike

from narration import chapter_audio, pipeline
from narration.audio.assemble import ChapterAssembler
from narration.audio.master import MasterSettings, assemble_chapter, master_chapter
from narration.job_settings import JobSettings
from narration.model import Pause, Segment
from narration.plan import passages

SR = 22050
SETTINGS = MasterSettings()


def _segment(index: int, chars: int, pause: Pause) -> Segment:
    return Segment(1, index, "x" * chars, "x" * chars, pause)


def test_passages_cut_only_at_paragraph_ends_into_even_shares():
    pauses = [Pause.SENTENCE, Pause.SENTENCE, Pause.PARAGRAPH] * 10 + [Pause.SECTION]
    segments = [_segment(i, 100, pause) for i, pause in enumerate(pauses)]  # 3,100 characters
    cut = passages(segments, 1000)
    assert [s for p in cut for s in p] == segments
    assert len(cut) == 3
    for passage in cut[:-1]:
        assert passage[-1].pause_after == Pause.PARAGRAPH
    sizes = [sum(len(s.spoken_text) for s in p) for p in cut]
    assert max(sizes) - min(sizes) <= 300  # as even as the paragraph ends allow


@pytest.mark.parametrize(
    ("chars", "pauses", "target", "expected"),
    [
        (100, [Pause.PARAGRAPH] * 14, 1000, 1),  # under 1.5 targets: one passage
        (100, [Pause.SENTENCE] * 19, 1000, 1),  # no paragraph end, under two targets
        (100, [Pause.PARAGRAPH] * 40, 0, 1),  # passages off
        (100, [], 1000, 0),  # nothing to say
        # a paragraph end past the first share, but only 200 characters left after it
        (100, [Pause.SENTENCE] * 15 + [Pause.PARAGRAPH] + [Pause.SENTENCE] * 2, 1000, 1),
    ],
)
def test_chapters_that_stay_one_passage(chars, pauses, target, expected):
    segments = [_segment(i, chars, pause) for i, pause in enumerate(pauses)]
    cut = passages(segments, target)
    assert len(cut) == expected and [s for p in cut for s in p] == segments


def test_a_paragraph_longer_than_two_targets_is_cut_at_sentence_ends():
    # a letter of 4,000 characters without a paragraph end, between two short paragraphs:
    # mastering holds a passage's audio several times over, so it must not be one passage
    pauses = [Pause.PARAGRAPH] * 3 + [Pause.SENTENCE] * 39 + [Pause.PARAGRAPH] * 4
    segments = [_segment(i, 100, pause) for i, pause in enumerate(pauses)]
    cut = passages(segments, 1000)
    assert [s for p in cut for s in p] == segments
    sizes = [sum(len(s.spoken_text) for s in p) for p in cut]
    assert max(sizes) <= 2000 and len(cut) >= 3
    # paragraph ends are still where a passage ends wherever one falls near the share
    assert cut[-1][-1].pause_after == Pause.PARAGRAPH


def _pieces(count: int, seed: int) -> list[tuple[np.ndarray, Pause]]:
    rng = np.random.default_rng(seed)
    kinds = [Pause.SENTENCE, Pause.LINE, Pause.PARAGRAPH, Pause.SECTION]
    out = []
    for i in range(count):
        if i % 7 == 5:  # now and then a piece with nothing audible in it
            audio = np.zeros(SR // 4, dtype=np.float32)
        else:
            audio = piper_padded(speechlike(rng.uniform(0.3, 1.5), rng), rng)
        out.append((audio, kinds[rng.integers(len(kinds))]))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_chapter_assembled_in_passages_is_the_chapter_assembled_at_once(seed):
    pieces = _pieces(24, seed)
    whole = assemble_chapter(pieces, SR, SETTINGS)
    rng = np.random.default_rng(seed)
    assembler, taken = ChapterAssembler(SR, SETTINGS), []
    for audio, pause in pieces:
        assembler.add(audio, pause)
        if rng.random() < 0.4:
            taken.append(assembler.take())
    taken.append(assembler.finish())
    assert len(taken) > 3
    np.testing.assert_array_equal(np.concatenate(taken), whole)
    for passage in taken[1:]:  # every cut falls in a pause: room tone on both sides of it
        if len(passage):
            assert np.max(np.abs(passage[:50])) < 0.01


def _write_book(folder: Path, paragraphs: int) -> Path:
    lines = ["# The only chapter", ""]
    for i in range(paragraphs):
        lines += [f"Paragraph {i} starts here. The second sentence of paragraph {i} ends it.", ""]
    path = folder / "passages.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _job(tmp_path: Path, passage_chars: int) -> pipeline.Job:
    book = _write_book(tmp_path, 24)
    settings = JobSettings(
        out_root=str(tmp_path / "out"), cast=False, master={"passage_chars": passage_chars}
    )
    return pipeline.prepare_job(book, settings)


def _fake_renderer(job: pipeline.Job, log: list[str], passage_chars: int = 0):
    """Writes speech-like audio for each job, each passage (of `passage_chars`) 6 dB louder
    than the one before: levelled on its own, each must still come out at the target."""
    rng = np.random.default_rng(5)
    order = {s.key: i for i, s in enumerate(job.plan.segments)}
    (chapter,) = job.plan.chapters
    cut = passages(chapter.segments, passage_chars) if passage_chars else [chapter.segments]
    loudness_step = {s.key: i for i, passage in enumerate(cut) for s in passage}

    def render(jobs) -> None:
        for job_ in jobs:
            level = 0.01 * 2.0 ** loudness_step[job_.key]
            job.store.write(job_.key, piper_padded(speechlike(1.2, rng, level=level), rng), SR)
            log.append(f"render {order[job_.key]}")

    return render


def test_a_chapter_is_mastered_passage_by_passage_as_its_segments_arrive(tmp_path):
    job = _job(tmp_path, passage_chars=400)
    (chapter,) = job.plan.chapters
    expected = passages(chapter.segments, 400)
    assert len(expected) >= 3
    log: list[str] = []
    mastered: list[np.ndarray] = []

    def on_passage(index: int, audio: np.ndarray) -> None:
        log.append(f"passage {index}")
        mastered.append(audio)

    path = chapter_audio.master_chapter_audio(
        job, chapter, render=_fake_renderer(job, log, 400), on_passage=on_passage
    )
    # each passage is handed over before any segment of the next one is asked for
    first = 0
    for index, passage in enumerate(expected):
        first += len(passage)
        at = log.index(f"passage {index}")
        rendered = [int(line.split()[1]) for line in log[:at] if line.startswith("render")]
        assert rendered == list(range(first))
    # the chapter file is the passages, end to end (as 16-bit samples)
    written, rate = sf.read(path, dtype="float32")
    assert rate == SR
    np.testing.assert_allclose(written, np.concatenate(mastered), atol=1.0 / 32768)
    meter = pyloudnorm.Meter(SR)
    for audio in mastered:
        assert meter.integrated_loudness(audio.astype(np.float64)) == pytest.approx(-19, abs=0.1)
    whole = meter.integrated_loudness(written.astype(np.float64))
    assert whole == pytest.approx(-19, abs=0.3)
    # rendered 6 dB louder passage by passage, levelled it is as loud at the end as at the start
    runs = audible_runs(written)
    first_rms, last_rms = (
        np.sqrt(np.mean(written[a : b + 1].astype(np.float64) ** 2)) for a, b in (runs[1], runs[-1])
    )
    assert abs(20 * np.log10(last_rms / first_rms)) < 1.5
    # a second call finds the chapter in the cache and renders nothing
    assert chapter_audio.master_chapter_audio(job, chapter, render=None) == path


def test_with_passages_off_the_chapter_is_mastered_as_one(tmp_path):
    job = _job(tmp_path, passage_chars=0)
    (chapter,) = job.plan.chapters
    _fake_renderer(job, [])(chapter_audio.pending_jobs(job, chapter.segments))
    mastered: list[np.ndarray] = []
    path = chapter_audio.master_chapter_audio(
        job, chapter, on_passage=lambda _i, audio: mastered.append(audio)
    )
    settings = dataclasses.replace(SETTINGS, passage_chars=0)
    pieces = list(chapter_audio._pieces(job, chapter.segments))
    expected = master_chapter(assemble_chapter(pieces, SR, settings), SR, settings)
    assert len(mastered) == 1
    np.testing.assert_allclose(mastered[0], expected, atol=1.0 / 32768)
    # the stream gets exactly the file's samples, so the M4B cannot depend on what was cached
    np.testing.assert_array_equal(mastered[0], sf.read(path, dtype="float32")[0])


def test_a_failed_render_leaves_no_chapter_file(tmp_path):
    job = _job(tmp_path, passage_chars=400)
    (chapter,) = job.plan.chapters
    log: list[str] = []
    render = _fake_renderer(job, log)
    calls = 0

    def failing(jobs) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("worker died")
        render(jobs)

    with pytest.raises(RuntimeError):
        chapter_audio.master_chapter_audio(job, chapter, render=failing)
    assert not list(job.chapter_dir.glob("*.wav"))  # no partial file under a finished name
    assert not list(job.chapter_dir.glob(".*"))  # and no temp file left behind
