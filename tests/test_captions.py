"""Captions: timed from where the assembler laid each segment, parsed back from SRT and WebVTT."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pytest
import srt
import webvtt

from narration.audio.captions import (
    CaptionCue,
    caption_text,
    cues_from_spans,
    srt_text,
    webvtt_text,
    write_captions,
)
from narration.audio.master import MasterSettings, master_chapter
from narration.model import Pause, Segment
from narration.podcast.timing import TimedAssembler, load_spans, save_spans

RATE = 22050


def _burst(seconds: float, pad_s: float = 0.2, freq: float = 220.0) -> np.ndarray:
    """A tone with silent padding either side, as an engine returns a sentence."""
    t = np.arange(round(seconds * RATE)) / RATE
    tone = 0.3 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    pad = np.zeros(round(pad_s * RATE), dtype=np.float32)
    return np.concatenate([pad, tone, pad])


def _segments() -> list[Segment]:
    texts = [
        ("Maya", "Welcome to the show."),
        ("Tom", "Thanks [laugh] for having me & my <friends>."),
        ("Tom", ""),  # a piece that renders silent: no caption
        ("narrator", "And that was that."),
    ]
    return [
        Segment(1, i, text, text, Pause.SENTENCE, "dialogue", speaker)
        for i, (speaker, text) in enumerate(texts)
    ]


def _laid_chapter() -> tuple[np.ndarray, list[tuple[float, float] | None]]:
    assembler = TimedAssembler(RATE, MasterSettings())
    pieces = [_burst(1.2), _burst(2.0, pad_s=0.05), np.zeros(RATE // 2, np.float32), _burst(0.7)]
    chunks = []
    for piece, pause in zip(
        pieces, [Pause.SENTENCE, Pause.PARAGRAPH, Pause.SENTENCE, Pause.SENTENCE], strict=True
    ):
        assembler.add(piece, pause)
        chunks.append(assembler.take())  # the pipeline takes passages as it goes
    chunks.append(assembler.finish())
    return np.concatenate(chunks), assembler.spans_s()


def _sounding(audio: np.ndarray) -> list[tuple[float, float]]:
    """Start and end (s) of each run of tone in the laid audio (room tone is far below)."""
    loud = np.abs(audio) > 0.05
    edges = np.flatnonzero(np.diff(loud.astype(np.int8)))
    starts, ends = edges[::2] + 1, edges[1::2] + 1
    runs = [(s / RATE, e / RATE) for s, e in zip(starts, ends, strict=True)]
    merged: list[tuple[float, float]] = []
    for start, end in runs:  # zero crossings of the sine split a burst: join close runs
        if merged and start - merged[-1][1] < 0.05:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def test_spans_are_where_the_audio_is_and_mastering_keeps_them() -> None:
    audio, spans = _laid_chapter()
    assert spans[2] is None  # the silent piece
    heard = _sounding(audio)
    laid = [s for s in spans if s is not None]
    assert len(heard) == len(laid) == 3
    for (start, end), (heard_start, heard_end) in zip(laid, heard, strict=True):
        assert abs(start - heard_start) < 0.02 and abs(end - heard_end) < 0.02
    # the pause between the first two is the sentence pause, so spans are not just stacked
    assert laid[1][0] - laid[0][1] == pytest.approx(MasterSettings().sentence_pause_s, abs=0.03)
    assert len(master_chapter(audio, RATE)) == len(audio)


def test_srt_and_webvtt_parse_back_with_times_and_speakers() -> None:
    _, spans = _laid_chapter()
    offset = 125.25  # where the chapter starts in the packaged file
    cues = cues_from_spans(_segments(), spans, offset_s=offset, names={"narrator": "Maya"})
    assert [c.speaker for c in cues] == ["Maya", "Tom", "Maya"]
    expected = [(offset + s[0], offset + s[1]) for s in spans if s is not None]

    subtitles = list(srt.parse(srt_text(cues)))
    assert len(subtitles) == 3
    for sub, (start, end), cue in zip(subtitles, expected, cues, strict=True):
        assert abs(sub.start.total_seconds() - start) < 0.002
        assert abs(sub.end.total_seconds() - end) < 0.002
        assert " ".join(sub.content.split()) == f"{cue.speaker}: {cue.text}"
    assert "[laugh]" not in srt_text(cues)

    captions = webvtt.from_string(webvtt_text(cues)).captions
    assert len(captions) == 3
    for caption, (start, end), cue in zip(captions, expected, cues, strict=True):
        assert abs(_seconds(caption.start) - start) < 0.002
        assert abs(_seconds(caption.end) - end) < 0.002
        assert caption.voice == cue.speaker
        assert html.unescape(" ".join(caption.text.split())) == cue.text
    assert captions[1].text.startswith("Thanks for having me &amp; my &lt;friends&gt;")


def _seconds(stamp: str) -> float:
    total = 0.0
    for part in stamp.split(":"):  # webvtt-py gives MM:SS.mmm when the hour is 0
        total = total * 60 + float(part)
    return total


def test_long_captions_split_in_time_order_within_the_segment() -> None:
    text = " ".join(f"word{i}" for i in range(60))
    cue = cues_from_spans([Segment(1, 0, text, text, speaker="Ann")], [(10.0, 40.0)], max_chars=84)
    assert len(cue) > 2
    assert cue[0].start_s == 10.0 and cue[-1].end_s == pytest.approx(40.0)
    for before, after in zip(cue, cue[1:], strict=False):
        assert before.end_s == pytest.approx(after.start_s) and before.start_s < before.end_s
    assert all(len(c.text) <= 84 for c in cue) and " ".join(c.text for c in cue) == text


def test_caption_text_drops_engine_tokens_only() -> None:
    assert (
        caption_text("Ha [laugh] that [uv_break] is [break_3] it [Bob].") == "Ha that is it [Bob]."
    )


def test_write_captions_and_spans_files(tmp_path: Path) -> None:
    cues = [CaptionCue(0.5, 1.5, "Hi.", "Ann"), CaptionCue(2.0, 3.25, "Bye.", "")]
    srt_path, vtt_path = write_captions(cues, tmp_path / "episode")
    assert (srt_path.name, vtt_path.name) == ("episode.srt", "episode.vtt")
    assert vtt_path.read_text().startswith("WEBVTT")
    assert [s.content for s in srt.parse(srt_path.read_text())] == ["Ann: Hi.", "Bye."]
    chapter = tmp_path / "001-abc.wav"
    assert load_spans(chapter) is None
    save_spans(chapter, [(0.6, 1.8), None])
    assert load_spans(chapter) == [(0.6, 1.8), None]


def test_spans_must_match_segments() -> None:
    with pytest.raises(ValueError, match="2 segments but 1 spans"):
        cues_from_spans(_segments()[:2], [(0.0, 1.0)])
