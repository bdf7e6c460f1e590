"""Intro/outro music ducked under speech: the mixer on known signals, and `narrate podcast`
end to end with a generated chord as the music, checked on the decoded MP3.

The music is a chord of three steady tones (E7, G7, B7: 2637, 3136, 3951 Hz). Its level is
read by lock-in detection at each tone's exact frequency over a Hann window of a second or
so: a steady tone puts all its energy there, speech spreads its own over the spectrum, so
what speech leaks into those bins is measured too (at frequencies between the tones) and the
music must stand above it: otherwise "ducked by >= 12 dB" would pass with no music at all.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import srt
from conftest import run_narrate
from scipy import signal

from narration.audio.ffmpeg import decode_to_float, measure_levels
from narration.audio.master import MasterSettings, master_chapter
from narration.audio.meter import integrated_lufs, true_peak_dbtp
from narration.audio.tags import read_chapters
from narration.job_settings import JobSettings
from narration.model import Segment
from narration.podcast.music import host_segments, music_files
from narration.podcast.musicbed import MusicBed, mix_music
from narration.podcast.script import parse_script

TONES = (2637.0, 3136.0, 3951.0)
BETWEEN = (2880.0, 3540.0, 4300.0)  # no music here: what speech leaks into a narrow bin
RATE = 22050


def chord(seconds: float, rate: int = 44100, tones=TONES, stereo: bool = True) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    mono = sum(0.1 * np.sin(2 * np.pi * f * t) for f in tones).astype(np.float32)
    return np.stack([mono, mono * 0.9], axis=1) if stereo else mono


def tone_db(audio: np.ndarray, rate: int, start_s: float, end_s: float, freqs=TONES) -> float:
    """Summed power (dB) of the steady tones at `freqs` in audio[start_s:end_s]."""
    piece = audio[int(start_s * rate) : int(end_s * rate)].astype(np.float64)
    t = np.arange(len(piece)) / rate
    window = np.hanning(len(piece))
    amps = [2 * abs(np.sum(piece * window * np.exp(-2j * np.pi * f * t))) / window.sum()
            for f in freqs]  # fmt: skip
    return float(10 * np.log10(sum(a * a / 2 for a in amps) + 1e-20))


# ------------------------------------------------------------------ the mixer alone


def test_mixer_levels_shift_loudness_and_peak():
    rng = np.random.default_rng(1)
    speech = np.zeros(20 * RATE, np.float32)
    speech[int(0.6 * RATE) : int(18.5 * RATE)] = rng.standard_normal(
        int(18.5 * RATE) - int(0.6 * RATE)
    ).astype(np.float32)
    settings = MasterSettings(target_lufs=-16.0, peak_dbtp=-1.0)
    chapter = master_chapter(speech, RATE, settings)
    music = chord(30, RATE, stereo=False) * 4  # far louder than speech: brought to level
    bed = MusicBed()
    mixed = mix_music(
        chapter, RATE, settings, bed, intro=(music, (0.6, 5.0)), outro=(music, (15.0, 18.5))
    )
    audio, pre = mixed.audio, bed.pre_roll_s
    assert mixed.shift == int(pre * RATE)
    # between the intro's fade-out and the outro's fade-in: the chapter itself, untouched,
    # only later by the pre-roll
    assert np.array_equal(audio[mixed.shift + RATE * 8 : mixed.shift + RATE * 12],
                          chapter[RATE * 8 : RATE * 12])  # fmt: skip
    assert len(audio) == mixed.shift + round((18.5 + 0.5 + 4.0 + 2.0) * RATE)
    full = tone_db(audio, RATE, 0.5, 3.4)
    under_intro = tone_db(audio, RATE, pre + 1.0, pre + 4.5)
    under_outro = tone_db(audio, RATE, pre + 15.5, pre + 18.0)
    after = tone_db(audio, RATE, pre + 19.2, pre + 22.8)
    assert full - under_intro == pytest.approx(18.0, abs=1.0)
    assert full - under_outro == pytest.approx(18.0, abs=1.0)
    assert after == pytest.approx(full, abs=1.0)
    # the pre-roll is at the episode's loudness; the whole stays on target and under the peak
    assert integrated_lufs(audio[: int(3.5 * RATE)], RATE) == pytest.approx(-16.0, abs=0.5)
    assert integrated_lufs(audio, RATE) == pytest.approx(-16.0, abs=0.3)
    assert true_peak_dbtp(audio, RATE) <= settings.ceiling_dbtp + 1e-6


def test_mixer_turns_music_down_when_it_would_move_the_loudness():
    # Music whose opening (the pre-roll) is far louder than the rest, by which its level is
    # set: at "full level" the pre-roll would lift the chapter's loudness, so the mixer turns
    # the music down until the chapter is back within the mastering tolerance.
    rng = np.random.default_rng(2)
    speech = (rng.standard_normal(6 * RATE) * 0.1).astype(np.float32)
    settings = MasterSettings(target_lufs=-16.0, peak_dbtp=-1.0)
    chapter = master_chapter(speech, RATE, settings)
    music = (rng.standard_normal(60 * RATE) * 0.04).astype(np.float32)
    music[: 4 * RATE] *= 10
    mixed = mix_music(chapter, RATE, settings, MusicBed(), intro=(music, (0.0, 3.0)))
    assert mixed.music_down_db < -1.0
    loud = integrated_lufs(mixed.audio, RATE)
    assert loud - integrated_lufs(chapter, RATE) <= settings.loudness_tolerance_lu + 0.05


def test_host_segments_are_read_off_the_lines():
    def seg(text: str) -> Segment:
        return Segment(1, 0, text, text)

    segments = [seg("Welcome to Show, episode 3."), seg("Part two."), seg("I'm Ann."),
                seg("Hello there."), seg("Bye now."), seg("Thanks for listening.")]  # fmt: skip
    intro = ["Welcome to Show, episode 3.  Part two.", "I'm Ann."]
    assert host_segments(segments, intro, from_end=False) == 3
    assert host_segments(segments, ["Thanks for listening."], from_end=True) == 1
    assert host_segments(segments, [], from_end=False) == 0


def test_front_matter_music_is_relative_to_the_script(tmp_path):
    (tmp_path / "music").mkdir()
    sf.write(tmp_path / "music" / "theme.wav", chord(1.0), 44100)
    script = tmp_path / "ep.txt"
    script.write_text("---\nintro_music: music/theme.wav\n---\nANN: Hello.\n", encoding="utf-8")
    episode = parse_script(script.read_text(encoding="utf-8"), source=str(script))
    found = music_files(JobSettings(), episode, script)
    assert found == {"intro": (tmp_path / "music" / "theme.wav").resolve()}
    other = tmp_path / "other.wav"
    sf.write(other, chord(1.0), 44100)
    chosen = music_files(JobSettings(intro_music=str(other), outro_music=str(other)), episode,
                         script)  # fmt: skip
    assert chosen == {"intro": other.resolve(), "outro": other.resolve()}


# ------------------------------------------------------------------ end to end

SCRIPT = """---
title: Tones and Talk
show: Music Test Show
episode: 7
outro_music: music/outro.wav
---
ANN: Today we talk about the sea, and the boats that cross it every single morning.
BEN: I have always loved the harbour at dawn, when the fishing boats come home.
ANN: Tell me about the first boat you ever sailed on.

## Second part

BEN: It was a small blue dinghy with a patched sail and a very leaky hull.
ANN: That sounds like quite an adventure for a child.
"""


def _captions(folder: Path) -> list[srt.Subtitle]:
    return list(srt.parse((folder / "music.srt").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The episode with intro music (option) and outro music (front matter); run again
    unchanged; with the outro file's content changed; and without music (the baseline).
    Each run's MP3, captions and build.json are kept."""
    folder = tmp_path_factory.mktemp("music")
    (folder / "music").mkdir()
    sf.write(folder / "music" / "intro.wav", chord(20.0), 44100)
    sf.write(folder / "music" / "outro.wav", chord(20.0), 44100)
    script = folder / "music.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    out = folder / "out"
    episode_dir = out / "music"
    kept: dict[str, Path] = {}

    def run(name: str, *extra: str) -> str:
        result = run_narrate("podcast", script, "--out", out, *extra)
        assert result.returncode == 0, result.stderr
        keep = folder / f"kept-{name}"
        keep.mkdir()
        for file in ("music.mp3", "music.srt", "build.json"):
            shutil.copy(episode_dir / file, keep / file)
        kept[name] = keep
        return result.stderr

    intro = ("--intro-music", str(folder / "music" / "intro.wav"))
    run("music", *intro)
    again = run_narrate("podcast", script, "--out", out, *intro)
    kept["again"] = Path(again.stderr)  # type: ignore[assignment]
    sf.write(folder / "music" / "outro.wav", chord(20.0, tones=(*TONES, 2093.0)), 44100)
    run("changed", *intro)
    script.write_text(SCRIPT.replace("outro_music: music/outro.wav\n", ""), encoding="utf-8")
    run("plain")
    return kept


def test_unchanged_music_is_up_to_date_and_a_changed_file_only_remixes(runs):
    assert "up to date" in str(runs["again"])
    first = json.loads((runs["music"] / "build.json").read_text())
    assert first["segments_rendered"] == first["segments"] > 0
    for name in ("changed", "plain"):  # mixed again and re-encoded, nothing re-rendered
        state = json.loads((runs[name] / "build.json").read_text())
        assert state["segments_rendered"] == 0, name
    music = (runs["music"] / "music.mp3").read_bytes()
    assert (runs["changed"] / "music.mp3").read_bytes() != music


def test_music_at_full_level_then_ducked_under_speech(runs):
    audio, rate = decode_to_float(runs["music"] / "music.mp3")
    subs = _captions(runs["music"])
    pre_roll = tone_db(audio, rate, 0.3, 3.4)
    # full level: the pre-roll sounds about as loud as the episode's target
    assert integrated_lufs(audio[int(0.3 * rate) : int(3.4 * rate)], rate) == pytest.approx(
        -16.0, abs=1.5
    )
    # under the host's first intro line
    start, end = subs[0].start.total_seconds() + 0.1, subs[0].end.total_seconds() - 0.05
    assert end - start > 1.0
    under = tone_db(audio, rate, start, end)
    leak = tone_db(audio, rate, start, end, BETWEEN)
    assert under > leak + 6, (under, leak)  # the music is there, measured above speech
    assert pre_roll - under >= 12, (pre_roll, under)
    assert pre_roll - under <= 24, (pre_roll, under)  # ducked, not gone
    # the outro: ducked under the last line, full again after it
    last = subs[-1]
    outro_under = tone_db(audio, rate, last.start.total_seconds() + 0.1,
                          last.end.total_seconds() - 0.05)  # fmt: skip
    tail = last.end.total_seconds()
    after = tone_db(audio, rate, tail + 0.8, tail + 4.0)
    assert pre_roll - outro_under >= 12
    assert after == pytest.approx(pre_roll, abs=3.0)
    # and none in the plain episode
    plain, plain_rate = decode_to_float(runs["plain"] / "music.mp3")
    plain_subs = _captions(runs["plain"])
    first = plain_subs[0]
    quiet = tone_db(plain, plain_rate, first.start.total_seconds() + 0.1,
                    first.end.total_seconds() - 0.05)  # fmt: skip
    assert quiet < under - 6


def test_captions_and_chapters_move_by_the_pre_roll_and_stay_on_the_speech(runs):
    mixed, plain = _captions(runs["music"]), _captions(runs["plain"])
    assert [s.content for s in mixed] == [s.content for s in plain]
    shift = MusicBed().pre_roll_s
    for a, b in zip(mixed, plain, strict=True):
        assert a.start.total_seconds() - b.start.total_seconds() == pytest.approx(shift, abs=0.002)
        assert a.end.total_seconds() - b.end.total_seconds() == pytest.approx(shift, abs=0.002)
    marks = read_chapters(runs["music"] / "music.mp3")
    plain_marks = read_chapters(runs["plain"] / "music.mp3")
    assert [m.title for m in marks] == ["Tones and Talk", "Second part"]
    assert marks[1].start_s - plain_marks[1].start_s == pytest.approx(shift, abs=0.002)
    # The speech itself sits where the captions say: each caption's stretch of the plain
    # episode (whose captions test_podcast_e2e checks against its audio) is found in the
    # mixed episode at the captions' shift, within 0.1 s.
    audio, rate = decode_to_float(runs["music"] / "music.mp3")
    base, _ = decode_to_float(runs["plain"] / "music.mp3", rate)
    search = int(0.3 * rate)
    for a, b in zip(mixed, plain, strict=True):
        s0, s1 = int(b.start.total_seconds() * rate), int(b.end.total_seconds() * rate)
        speech = base[s0:s1]
        at = int(a.start.total_seconds() * rate)
        window = audio[at - search : at + (s1 - s0) + search]
        corr = signal.correlate(window, speech, mode="valid", method="fft")
        lag = (int(np.argmax(corr)) - search) / rate
        assert abs(lag) < 0.1, (a.content, lag)


def test_mixed_episode_meets_the_podcast_profile(runs):
    for name in ("music", "changed"):
        levels = measure_levels(runs[name] / "music.mp3")
        assert levels["integrated_lufs"] == pytest.approx(-16.0, abs=1.0), name
        assert levels["true_peak_dbtp"] <= -1.0, name


@pytest.mark.parametrize("problem", ["missing", "unreadable"])
def test_a_bad_music_file_is_one_line(tmp_path, problem):
    script = tmp_path / "ep.txt"
    script.write_text("ANN: Hello there.\n", encoding="utf-8")
    music = tmp_path / "theme.wav"
    if problem == "unreadable":
        music.write_text("not audio at all\n", encoding="utf-8")
    result = run_narrate("podcast", script, "--out", tmp_path / "out", "--intro-music", music)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(music) in lines[0], result.stderr
    assert not (tmp_path / "out" / "ep" / "ep.mp3").exists()
