"""End to end: `narrate podcast` on the shared Practical AI transcript, through the real CLI,
Prefect flow, Piper voice and encoders; every output inspected as a player, a caption reader
or a podcast app would see it.

The whole transcript is ~35 minutes of speech and takes Piper ~5 minutes on the 2 shared cores
this suite runs on, so the test uses its opening: the first 50 lines (two speakers, the
"Song of Arrakis" music cue, an `[unintelligible 00:07:38.13]` marker) plus two later turns
that open with a timestamp, under YAML front matter (title, show, number, date) and one
`## ` heading, so that tags and a second chapter can be checked too.
"""

from __future__ import annotations

import datetime
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import mutagen
import numpy as np
import pyarrow.parquet as pq
import pytest
import srt
import webvtt
from audio_checks import ffprobe_chapters
from conftest import run_narrate

from narration.audio.ffmpeg import decode_to_float, measure_levels
from narration.audio.tags import read_chapters

pytestmark = pytest.mark.slow
TRANSCRIPT = "scripts/changelog_practical-ai-265.md"
TITLE = "Udio & <multimodal> AI"
FRONT_MATTER = f"""---
title: "{TITLE}"
show: Practical AI
episode: 265
date: 2024-04-23
description: Fully Connected, with Daniel and Chris.
---
"""
ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"


def _script(corpus: Path) -> str:
    lines = (corpus / TRANSCRIPT).read_text(encoding="utf-8").splitlines()
    opening = lines[:50]
    starts = ("**Daniel Whitenack:** \\[11:37\\]", "**Chris Benson:** \\[34:22\\]")
    later = [line for line in lines if line.startswith(starts)]
    assert len(later) == 2, "the transcript changed: pick other timestamped turns"
    cut = next(i for i, line in enumerate(opening) if "Udio stuff" in line)
    body = [*opening[:cut], "## Udio", "", *opening[cut:], "", *"\n\n".join(later).splitlines()]
    return FRONT_MATTER + "\n".join(body) + "\n"


@pytest.fixture(scope="module")
def episode(corpus, tmp_path_factory):
    folder = tmp_path_factory.mktemp("podcast")
    script = folder / "practical-ai-265.md"
    script.write_text(_script(corpus), encoding="utf-8")
    out = folder / "out"
    result = run_narrate("podcast", script, "--out", out, "--base-url", "https://ex.com/a&b")
    assert result.returncode == 0, result.stderr
    return script, out / "practical-ai-265", result


def _plan(out: Path) -> list[dict]:
    return pq.read_table(out / "plan.parquet").to_pylist()


def test_mp3_chapters_and_tags_read_back(episode):
    _, out, _ = episode
    mp3 = out / "practical-ai-265.mp3"
    marks = read_chapters(mp3)
    assert [m.title for m in marks] == [TITLE, "Udio"]
    assert marks[0].start_s == 0 and marks[1].start_s > 30
    probed = ffprobe_chapters(mp3)
    if probed is not None:
        # ffprobe lists ID3 chapter frames in file order, not by time
        found = sorted((round(s, 1), t) for t, s in probed)
        assert found == [(round(m.start_s, 1), m.title) for m in marks]
    tags = mutagen.File(mp3).tags
    assert str(tags["TIT2"]) == TITLE
    assert str(tags["TALB"]) == "Practical AI"
    assert str(tags["TCON"]) == "Podcast"
    assert str(tags["TRCK"]) == "265"
    assert str(tags["TDRC"]) == "2024-04-23"


def test_mastered_to_the_podcast_profile(episode):
    _, out, _ = episode
    levels = measure_levels(out / "practical-ai-265.mp3")
    assert levels["integrated_lufs"] == pytest.approx(-16.0, abs=1.0)
    assert levels["true_peak_dbtp"] <= -1.0


def test_one_distinct_voice_per_speaker(episode):
    _, out, _ = episode
    voices: dict[str, set[str]] = {}
    for row in _plan(out):
        voices.setdefault(row["speaker"], set()).add(row["voice"])
    assert {"Daniel Whitenack", "Chris Benson"} <= set(voices)
    assert all(len(v) == 1 for v in voices.values()), voices
    assert voices["Daniel Whitenack"] != voices["Chris Benson"]
    assert "Song of Arrakis" not in voices  # a music cue posing as a speaker is not voiced


def test_timestamps_and_markers_are_not_spoken(episode):
    _, out, _ = episode
    spoken = [row["spoken_text"] for row in _plan(out)]
    assert any("Move over, Wicked" in text for text in spoken)  # the marker's own turn
    assert any(text.startswith("Well, there you go") for text in spoken)  # [11:37] turn
    for text in spoken:
        assert not re.search(r"\d\d:\d\d|unintelligible|\[|\\", text), text


def _levels(audio: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
    frame = rate // 100
    frames = len(audio) // frame
    rms = np.sqrt((audio[: frames * frame].reshape(frames, frame) ** 2).mean(axis=1))
    return 20 * np.log10(rms + 1e-12), rate / frame


def _seconds(stamp: str) -> float:
    hours, minutes, seconds = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def test_captions_parse_and_match_the_audio(episode):
    _, out, _ = episode
    subs = list(srt.parse((out / "practical-ai-265.srt").read_text(encoding="utf-8")))
    vtt = webvtt.read(str(out / "practical-ai-265.vtt"))
    spoken = [row for row in _plan(out) if row["duration_s"]]
    assert len(subs) == len(vtt.captions) == len(spoken)
    assert subs[1].content.startswith("Daniel Whitenack: ")
    assert "<v Chris Benson>" in vtt.content
    for sub, cap in zip(subs, vtt.captions, strict=True):
        assert abs(sub.start.total_seconds() - _seconds(cap.start)) < 0.002
        assert abs(sub.end.total_seconds() - _seconds(cap.end)) < 0.002
    # Each caption starts and ends where its segment's speech does in the encoded file,
    # within 0.1 s: the first 10 ms frame above -40 dBFS (speech starts steeply; the room
    # tone bed peaks near -43), and the end of the decay that follows the last frame above
    # -40 while it stays above -45, across dips of up to 50 ms (speech decays slowly and
    # unevenly into the bed; a lone bed peak after a longer quiet is not speech).
    audio, rate = decode_to_float(out / "practical-ai-265.mp3")
    level, fps = _levels(audio if audio.ndim == 1 else audio.mean(axis=1), rate)
    for sub in subs:
        start, end = sub.start.total_seconds(), sub.end.total_seconds()
        first = int((start - 0.15) * fps)
        window = level[first : int((end + 0.15) * fps)]
        onsets = np.nonzero(window > -40)[0]
        assert len(onsets), sub
        assert abs((first + onsets[0]) / fps - start) < 0.1, sub
        last = onsets[-1]
        while np.any(window[last + 1 : last + 6] > -45):
            last += 1 + int(np.argmax(window[last + 1 : last + 6] > -45))
        assert abs((first + last + 1) / fps - end) < 0.1, sub


def test_feed_parses_with_enclosure_and_itunes_fields(episode):
    _, out, _ = episode
    raw = (out / "feed.xml").read_text(encoding="utf-8")
    assert "Udio &amp; &lt;multimodal&gt; AI" in raw or "Udio &amp; &lt;multimodal> AI" in raw
    item = ET.fromstring(raw).find("channel/item")
    assert item is not None
    assert item.findtext("title") == TITLE
    enclosure = item.find("enclosure")
    mp3 = out / "practical-ai-265.mp3"
    assert enclosure.get("url") == "https://ex.com/a&b/practical-ai-265.mp3"
    assert enclosure.get("type") == "audio/mpeg"
    assert int(enclosure.get("length")) == mp3.stat().st_size
    assert item.findtext(f"{ITUNES}episode") == "265"
    duration = int(item.findtext(f"{ITUNES}duration"))
    assert abs(duration - read_chapters(mp3)[-1].end_s) <= 1
    assert item.findtext("guid")
    assert item.findtext("pubDate").startswith("Tue, 23 Apr 2024")
    notes = (out / "practical-ai-265.notes.md").read_text(encoding="utf-8")
    assert "Udio" in notes and "**Chris Benson:**" in notes
    assert "<multimodal>" not in (out / "practical-ai-265.notes.html").read_text(encoding="utf-8")


def test_editing_one_line_renders_exactly_one_segment(episode):
    script, out, _ = episode
    shutil.copy(script, script.with_suffix(".orig"))
    again = run_narrate("podcast", script, "--out", out.parent, "--base-url",
                        "https://ex.com/a&b")  # fmt: skip
    assert again.returncode == 0 and "up to date" in again.stderr, again.stderr
    text = script.read_text(encoding="utf-8")
    edited = text.replace("It's a lot of pressure.", "It is quite a lot of pressure.", 1)
    assert edited != text
    script.write_text(edited, encoding="utf-8")
    before = json.loads((out / "build.json").read_text())["segments"]
    result = run_narrate("podcast", script, "--out", out.parent, "--base-url",
                         "https://ex.com/a&b")  # fmt: skip
    assert result.returncode == 0, result.stderr
    state = json.loads((out / "build.json").read_text())
    assert state["segments_rendered"] == 1
    assert state["segments"] == before
    assert any("quite a lot of pressure" in r["spoken_text"] for r in _plan(out))
    assert datetime.date.fromisoformat("2024-04-23")  # the tags still carry the front matter
    assert str(mutagen.File(out / "practical-ai-265.mp3").tags["TRCK"]) == "265"
