"""`narrate podcast --format m4a`: a short two-chapter episode really encoded to AAC in MP4,
its chapters and tags read back from the file (mutagen, and ffprobe where installed), its
levels measured on the decoded audio, and its captions checked against that audio."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import mutagen
import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
import srt
from audio_checks import ffprobe_chapters
from conftest import run_narrate
from scipy import signal

from narration.audio.ffmpeg import decode_to_float, measure_levels
from narration.audio.tags import read_chapters

pytestmark = pytest.mark.slow
TITLE = "Salt & <Pepper>"
SCRIPT = f"""---
title: "{TITLE}"
show: Kitchen Table
episode: 12
date: 2024-05-01
host: MAYA
---
MAYA: Welcome back to the kitchen, where today we are cooking with only two spices.
OMAR: Salt and pepper, and nothing else at all, which sounds far too simple to me.
MAYA: Simple is the whole point of this episode.

## Pepper

OMAR: Black pepper should always be ground just before it goes into the pan.
MAYA: And never burnt, or it turns bitter very quickly.
"""


@pytest.fixture(scope="module")
def episode(tmp_path_factory):
    folder = tmp_path_factory.mktemp("m4a")
    script = folder / "kitchen.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    out = folder / "out"
    result = run_narrate("podcast", script, "--out", out, "--format", "m4a",
                         "--base-url", "https://ex.com/show")  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out / "kitchen"


def test_only_the_m4a_is_encoded(episode):
    assert (episode / "kitchen.m4a").stat().st_size > 10_000
    assert not (episode / "kitchen.mp3").exists()
    with open(episode / "kitchen.m4a", "rb") as f:
        head = f.read(12)
    assert head[4:8] == b"ftyp" and head[8:12] != b"M4B "  # not branded an audiobook


def test_chapters_read_back(episode):
    m4a = episode / "kitchen.m4a"
    marks = read_chapters(m4a)
    assert [m.title for m in marks] == [TITLE, "Pepper"]
    assert marks[0].start_s == 0 and 5 < marks[1].start_s < marks[1].end_s
    assert marks[1].end_s == pytest.approx(mutagen.File(m4a).info.length, abs=0.05)
    probed = ffprobe_chapters(m4a)
    if probed is not None:
        assert [(t, round(s, 2)) for t, s in probed] == [(m.title, round(m.start_s, 2))
                                                         for m in marks]  # fmt: skip


def test_tags_read_back(episode):
    tags = mutagen.File(episode / "kitchen.m4a").tags
    assert tags["\xa9nam"] == [TITLE]
    assert tags["\xa9alb"] == ["Kitchen Table"]
    assert tags["\xa9ART"] == ["MAYA"]
    assert tags["\xa9gen"] == ["Podcast"]
    assert tags["\xa9day"][0].startswith("2024-05-01")
    assert tags["trkn"][0][0] == 12
    assert tags.get("stik") != [2]  # iTunes media kind 2 is Audiobook


def test_mastered_to_the_podcast_profile(episode):
    levels = measure_levels(episode / "kitchen.m4a")
    assert levels["integrated_lufs"] == pytest.approx(-16.0, abs=1.0)
    assert levels["true_peak_dbtp"] <= -1.0


def test_feed_encloses_the_m4a(episode):
    item = ET.fromstring((episode / "feed.xml").read_text(encoding="utf-8")).find("channel/item")
    enclosure = item.find("enclosure")
    assert enclosure.get("url") == "https://ex.com/show/kitchen.m4a"
    assert enclosure.get("type") == "audio/x-m4a"
    assert int(enclosure.get("length")) == (episode / "kitchen.m4a").stat().st_size


def test_captions_match_the_decoded_aac(episode):
    """The captions are timed on the mastered chapter files (their spans; test_captions
    checks those against the assembled audio). The decoded M4A must keep that timeline:
    AAC's encoder delay undone by the file's edit list, or every caption is late. So the
    decoded audio lines up with the chapter files sample for sample, and each caption's
    speech starts where the caption does (first 10 ms frame above -40 dBFS, within 0.1 s)."""
    subs = list(srt.parse((episode / "kitchen.srt").read_text(encoding="utf-8")))
    rows = pq.read_table(episode / "plan.parquet").to_pylist()
    assert len(subs) == sum(1 for r in rows if r["duration_s"])
    audio, rate = decode_to_float(episode / "kitchen.m4a")
    chapters = sorted((episode / ".cache" / "chapters").glob("[0-9]*.wav"))
    assert len(chapters) == 2
    source = np.concatenate([sf.read(path, dtype="float32")[0] for path in chapters])
    assert sf.info(chapters[0]).samplerate == rate
    assert abs(len(audio) - len(source)) / rate < 0.05
    search = int(0.2 * rate)
    for at in (int(1.0 * rate), len(source) // 2):
        piece = source[at : at + 2 * rate]
        window = audio[at - search : at + 2 * rate + search]
        corr = signal.correlate(window, piece, mode="valid", method="fft")
        assert abs(int(np.argmax(corr)) - search) <= rate // 1000 * 2, "decoded audio is shifted"
    frame = rate // 100
    frames = len(audio) // frame
    rms = np.sqrt((audio[: frames * frame].reshape(frames, frame) ** 2).mean(axis=1))
    level, fps = 20 * np.log10(rms + 1e-12), rate / frame
    for sub in subs:
        start, end = sub.start.total_seconds(), sub.end.total_seconds()
        first = int((start - 0.15) * fps)
        onsets = np.nonzero(level[first : int(end * fps)] > -40)[0]
        assert len(onsets), sub
        assert abs((first + onsets[0]) / fps - start) < 0.1, sub
