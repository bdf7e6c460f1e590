"""Encoding while rendering: the streaming meter and the AAC stream, against the batch paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from narration.audio.aac_stream import AacStream, StreamedAac
from narration.audio.ffmpeg import decode_to_float, measure_levels
from narration.audio.meter import StreamingMeter, integrated_lufs, true_peak_dbtp
from narration.audio.package import encode_m4b, m4b_from_stream, read_chapters
from narration.errors import NarrationError

SR = 22050
TAGS = {"title": "Streamed", "author": "A. Writer", "narrator": "joe"}


def _feed_in_random_pieces(meter: StreamingMeter, audio: np.ndarray, seed: int) -> None:
    rng = np.random.default_rng(seed)
    at = 0
    while at < len(audio):
        size = int(rng.integers(1, 5000))
        meter.feed(audio[at : at + size])
        at += size


@pytest.mark.parametrize("seed", range(12))
def test_streaming_meter_equals_measuring_the_whole_array(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(200, 150_000))
    audio = (rng.standard_normal(n) * 0.05).astype(np.float32)
    # a spike near a 64-sample block edge, where a cut could hide it
    spike = min(n - 1, 64 * int(rng.integers(1, max(2, n // 64))) - int(rng.integers(0, 3)))
    audio[spike] = 0.9
    floor = 10 ** (-6 / 20) if seed % 2 else 0.0
    meter = StreamingMeter(SR, floor=floor)
    _feed_in_random_pieces(meter, audio, seed)
    assert meter.frames == n
    assert meter.true_peak_dbtp() == pytest.approx(true_peak_dbtp(audio, SR), abs=1e-4)
    if n >= 0.4 * SR:
        assert meter.integrated_lufs() == pytest.approx(integrated_lufs(audio, SR), abs=0.01)
    else:
        assert meter.integrated_lufs() == float("-inf")


def test_streaming_meter_on_silence_and_on_nothing():
    meter = StreamingMeter(SR)
    assert meter.true_peak_dbtp() == float("-inf") and meter.integrated_lufs() == float("-inf")
    meter.feed(np.zeros(SR, dtype=np.float32))
    assert meter.true_peak_dbtp() == float("-inf") and meter.integrated_lufs() == float("-inf")


def _tone_chapter(path: Path, seconds: float, hz: float, level: float) -> Path:
    t = np.arange(int(seconds * SR)) / SR
    audio = level * np.sin(2 * np.pi * hz * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    sf.write(path, audio.astype(np.float32), SR, subtype="PCM_24", format="FLAC")
    return path


@pytest.fixture()
def chapter_files(tmp_path) -> list[Path]:
    return [
        _tone_chapter(tmp_path / f"{i:03d}.flac", seconds, hz, 0.3)
        for i, (seconds, hz) in enumerate([(3.0, 220.0), (1.3, 330.0), (4.2, 440.0)], start=1)
    ]


def test_stream_fed_out_of_order_encodes_the_book_in_order(chapter_files, tmp_path):
    stream = AacStream(3, SR, tmp_path / "work", peak_floor_dbtp=-20.0)  # exact above -20
    for position in (2, 0, 1):
        stream.add(position, chapter_files[position])
    streamed = stream.finish()
    total = sum(sf.info(str(p)).frames for p in chapter_files) / SR
    assert streamed.seconds == pytest.approx(total, abs=1e-9)
    decoded, rate = decode_to_float(streamed.path)
    # the fragmented MP4 keeps the encoder's priming (the remux drops it: see the next test);
    # the last frame's padding (< 1024) stays
    assert streamed.priming_s == 1024 / SR
    decoded = decoded[1024:]
    assert rate == SR and 0 <= len(decoded) - round(total * SR) < 1024
    # in order: the 330 Hz chapter sits between the other two
    second = decoded[int(3.2 * SR) : int(4.1 * SR)]
    spectrum = np.abs(np.fft.rfft(second))
    assert np.fft.rfftfreq(len(second), 1 / SR)[spectrum.argmax()] == pytest.approx(330, abs=3)
    checked = measure_levels(streamed.path)
    assert streamed.integrated_lufs == pytest.approx(checked["integrated_lufs"], abs=0.15)
    assert streamed.true_peak_dbtp == pytest.approx(checked["true_peak_dbtp"], abs=0.15)
    stream.close()
    assert not streamed.path.exists()


@pytest.mark.parametrize("coder", ["fast", "twoloop"])
def test_remuxed_stream_matches_a_batch_encode(coder, chapter_files, tmp_path):
    titles = ["One", "Two", "Three"]
    stream = AacStream(3, SR, tmp_path / "work", coder=coder)
    for position, path in enumerate(chapter_files):
        stream.add(position, path)
    streamed = stream.finish()
    remuxed = tmp_path / "streamed.m4b"
    marks = m4b_from_stream(streamed, chapter_files, titles, remuxed, tags=TAGS)
    stream.close()
    batch = tmp_path / "batch.m4b"
    assert marks == encode_m4b(chapter_files, titles, batch, tags=TAGS, coder=coder)
    assert [(m.title, round(m.start_s, 3)) for m in read_chapters(remuxed)] == [
        (m.title, round(m.start_s, 3)) for m in read_chapters(batch)
    ]
    a, _ = decode_to_float(remuxed)
    b, _ = decode_to_float(batch)
    assert len(a) == len(b)
    np.testing.assert_allclose(a, b, atol=1e-4)  # one encoder, one coder: the same frames


@pytest.mark.parametrize(("floor_dbtp", "is_bound"), [(-30.0, False), (-1.0, True)])
def test_the_measured_peak_says_when_it_is_only_a_bound(
    floor_dbtp, is_bound, chapter_files, tmp_path
):
    stream = AacStream(3, SR, tmp_path / "work", peak_floor_dbtp=floor_dbtp)
    for position, path in enumerate(chapter_files):
        stream.add(position, path)
    streamed = stream.finish()
    real = true_peak_dbtp(decode_to_float(streamed.path)[0], SR)  # about -10.5 dBTP
    stream.close()
    assert stream.result is streamed and streamed.true_peak_is_bound is is_bound
    if is_bound:
        assert real <= streamed.true_peak_dbtp <= floor_dbtp + 1e-3
    else:
        assert streamed.true_peak_dbtp == pytest.approx(real, abs=0.1)
    assert streamed.levels()["m4b_true_peak_is_bound"] is is_bound


def test_a_stream_over_the_peak_limit_or_of_the_wrong_length_is_not_used(chapter_files, tmp_path):
    fake = tmp_path / "fake.m4a"
    fake.write_bytes(b"not used")
    total = sum(sf.info(str(p)).frames for p in chapter_files) / SR
    out = tmp_path / "book.m4b"
    hot = StreamedAac(fake, total, -19.0, -2.9)
    assert m4b_from_stream(hot, chapter_files, ["a", "b", "c"], out, tags=TAGS) is None
    short = StreamedAac(fake, total - 0.5, -19.0, -6.0)
    assert m4b_from_stream(short, chapter_files, ["a", "b", "c"], out, tags=TAGS) is None
    assert not out.exists()


def test_a_bad_chapter_fails_the_stream_with_one_line(chapter_files, tmp_path):
    wrong_rate = tmp_path / "wrong.flac"
    sf.write(wrong_rate, np.zeros(16000, dtype=np.float32), 16000, format="FLAC")
    stream = AacStream(2, SR, tmp_path / "work")
    stream.add(0, chapter_files[0])
    stream.add(1, wrong_rate)
    with pytest.raises(NarrationError, match=r"wrong\.flac: 16000 Hz"):
        stream.finish()
    stream.close()
    assert list((tmp_path / "work").iterdir()) == []


def test_abort_stops_a_stream_still_waiting_for_chapters(chapter_files, tmp_path):
    stream = AacStream(3, SR, tmp_path / "work")
    stream.add(0, chapter_files[0])  # chapters 1 and 2 never come
    stream.abort()
    assert list((tmp_path / "work").iterdir()) == []
    with pytest.raises(NarrationError, match="aborted"):
        stream.finish()


def test_pipeline_falls_back_to_encoding_when_the_stream_failed(chapter_files, tmp_path, caplog):
    from narration.outputs.m4b import streamed_m4b

    class BrokenStream:
        closed = False

        def finish(self):
            raise NarrationError("ffmpeg failed while encoding the book as it rendered: boom")

        def close(self):
            self.closed = True

    stream = BrokenStream()
    out = tmp_path / "book.m4b"
    common = {"tags": TAGS, "cover": None, "cover_mime": None, "max_true_peak_dbtp": -3.0}
    used = streamed_m4b(stream, chapter_files, ["a", "b", "c"], out, common)
    assert used is False and stream.closed and not out.exists()
    assert "encoding the chapter files instead" in caplog.text


def _passages(audio: np.ndarray, cuts: int, seed: int) -> list[np.ndarray]:
    points = sorted(np.random.default_rng(seed).integers(1, len(audio), cuts))
    return np.split(audio, points)


def _decoded(stream: AacStream) -> np.ndarray:
    streamed = stream.finish()
    decoded, _ = decode_to_float(streamed.path)
    stream.close()
    return decoded[round(streamed.priming_s * SR) :]  # what the remuxed M4B plays


def _feed_scenario(stream: AacStream, chapter_files: list[Path], scenario: str) -> None:
    audios = [sf.read(path, dtype="float32")[0] for path in chapter_files]
    parts = [_passages(audio, 3, seed) for seed, audio in enumerate(audios)]
    if scenario == "in order":
        for position, path in enumerate(chapter_files):
            for index, passage in enumerate(parts[position]):
                stream.add_passage(position, index, passage)
            stream.add(position, path)
    elif scenario == "later chapters first":  # held or read back from their file
        for position in (2, 1, 0):
            for index, passage in enumerate(parts[position]):
                stream.add_passage(position, index, passage)
            stream.add(position, chapter_files[position])
    elif scenario == "retried":  # a retried task masters (and hands over) its passages again
        for position, path in enumerate(chapter_files):
            for index, passage in enumerate(parts[position][:2]):
                stream.add_passage(position, index, passage)
            for index, passage in enumerate(parts[position]):
                stream.add_passage(position, index, passage)
            stream.add(position, path)
    elif scenario == "file after some passages":
        for position, path in enumerate(chapter_files):
            stream.add_passage(position, 0, parts[position][0])
            stream.add(position, path)


@pytest.mark.parametrize(
    "scenario", ["in order", "later chapters first", "retried", "file after some passages"]
)
def test_passages_handed_over_encode_like_the_files(scenario, chapter_files, tmp_path):
    stream = AacStream(3, SR, tmp_path / "files")
    for position, path in enumerate(chapter_files):
        stream.add(position, path)
    from_files = _decoded(stream)
    stream = AacStream(3, SR, tmp_path / "passages")
    _feed_scenario(stream, chapter_files, scenario)
    from_passages = _decoded(stream)
    assert len(from_passages) == len(from_files)
    np.testing.assert_allclose(from_passages, from_files, atol=1e-4)


def test_passages_ahead_of_the_encoder_are_not_held_past_the_limit(
    chapter_files, tmp_path, monkeypatch
):
    from narration.audio import aac_stream

    monkeypatch.setattr(aac_stream, "_HOLD_FRAMES", SR)  # one second
    stream = AacStream(3, SR, tmp_path / "work")
    audio = sf.read(chapter_files[2], dtype="float32")[0]
    for index, passage in enumerate(np.array_split(audio, 6)):  # 0.7 s each
        stream.add_passage(2, index, passage)
    held = sum(len(a) for a in stream._passages.values())
    assert held <= SR and 2 in stream._from_file  # the rest will come from the file
    for position in (0, 1, 2):
        stream.add(position, chapter_files[position])
    total = sum(sf.info(str(p)).frames for p in chapter_files)
    assert len(_decoded(stream)) - total in range(1024)  # nothing lost, nothing doubled


def test_workers_and_server_start_early_only_for_a_first_run(tmp_path, monkeypatch):
    from narration import cli, job_settings

    started = []
    monkeypatch.setattr(
        job_settings, "open_renderer", lambda *a, **k: started.append(a) or _FakeRenderer()
    )
    book = tmp_path / "book.txt"
    settings = job_settings.JobSettings(out_root=str(tmp_path / "out"))
    assert not cli._first_run(tmp_path / "missing.txt", settings)
    book.write_text("# One\n\nHello.\n")
    assert cli._first_run(book, settings)
    renderer = cli._start_workers_early(book, settings)
    assert isinstance(renderer, _FakeRenderer) and renderer.warmed
    (tmp_path / "out" / "book").mkdir(parents=True)
    (tmp_path / "out" / "book" / "build.json").write_text("{}")  # built before: likely current
    assert not cli._first_run(book, settings)
    assert len(started) == 1


class _FakeRenderer:
    warmed = False

    def warm(self) -> None:
        self.warmed = True
