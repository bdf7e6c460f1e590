"""Packaging with the real ffmpeg: encode, decode, and read back what a player would see."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from mutagen.id3 import ID3
from mutagen.mp4 import MP4, MP4Cover
from scipy import signal

from narration.audio import package
from narration.audio.ffmpeg import decode_to_float, ffmpeg_exe, measure_levels, run_ffmpeg
from narration.audio.master import (
    assemble_chapter,
    integrated_lufs,
    master_chapter,
    true_peak_dbtp,
)
from narration.audio.package import (
    ChapterMark,
    chapter_marks,
    encode_chapter_files,
    encode_m4b,
    encode_mp3,
    ffmetadata_text,
    read_chapters,
)
from narration.errors import NarrationError
from narration.model import Pause

SR = 22050
TITLES = ["Chapter 1: Love; Hate = #1", "Café — “deux” \\ back", "The End"]
TAGS = {
    "title": "A Test Book",
    "author": "Jane Austen",
    "narrator": "joe (piper)",
    "genre": "Audiobook",
    "date": "1813",
    "language": "en",
}


def speechlike(seconds: float, rng: np.random.Generator) -> np.ndarray:
    n = int(seconds * SR)
    t = np.arange(n) / SR
    band = signal.butter(2, [200, 3500], btype="band", fs=SR, output="sos")
    envelope = 0.3 + np.sin(2 * np.pi * 4.0 * t) ** 2
    return (signal.sosfilt(band, rng.standard_normal(n)) * envelope * 0.05).astype(np.float32)


@pytest.fixture(scope="module")
def chapters(tmp_path_factory) -> list[Path]:
    """Three mastered chapters as the pipeline writes them: FLAC, 24-bit, 22050 Hz."""
    folder = tmp_path_factory.mktemp("chapters")
    rng = np.random.default_rng(11)
    paths = []
    for index, seconds in enumerate([2.5, 4.0, 1.7], start=1):
        pieces = [(speechlike(seconds / 2, rng), Pause.SENTENCE) for _ in range(2)]
        audio = master_chapter(assemble_chapter(pieces, SR), SR)
        path = folder / f"{index:03d}.flac"
        sf.write(path, audio, SR, subtype="PCM_24", format="FLAC")
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def jpeg(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("cover") / "cover.jpg"
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=navy:s=64x96", "-frames:v", "1", str(path)],
               what="making a test cover")  # fmt: skip
    return path.read_bytes()


def file_starts(paths: list[Path]) -> list[float]:
    """Where each chapter starts, from the files themselves (independent of the module)."""
    starts, total = [], 0.0
    for path in paths:
        starts.append(total)
        audio, rate = sf.read(path)
        total += len(audio) / rate
    return [*starts, total]


def lag_s(decoded: np.ndarray, chapter: Path, start_s: float) -> float:
    """Offset of a chapter's first 1.5 s within the decoded book, near where it should start."""
    reference, _ = sf.read(chapter, dtype="float32")
    reference = reference[: int(1.5 * SR)]
    lo = max(0, int((start_s - 0.1) * SR))
    window = decoded[lo : lo + len(reference) + int(0.2 * SR)]
    corr = signal.correlate(window, reference, mode="valid")
    return (lo + int(np.argmax(corr))) / SR - start_s


def check_decoded(path: Path, chapter_paths: list[Path]) -> np.ndarray:
    audio, rate = decode_to_float(path)
    assert rate == SR
    starts = file_starts(chapter_paths)
    assert len(audio) / rate == pytest.approx(starts[-1], abs=0.05)
    loudness = pyloudnorm.Meter(rate).integrated_loudness(audio.astype(np.float64))
    assert loudness == pytest.approx(-19.0, abs=1.0)
    assert true_peak_dbtp(audio, rate) <= -3.0
    for chapter, start in zip(chapter_paths, starts, strict=False):
        assert abs(lag_s(audio, chapter, start)) < 0.005  # the audio is where the mark says
    return audio


def _every_ffmpeg() -> list[str]:
    import shutil

    import imageio_ffmpeg

    found = [imageio_ffmpeg.get_ffmpeg_exe(), shutil.which("ffmpeg")]
    return sorted({exe for exe in found if exe})


@pytest.fixture(params=_every_ffmpeg())
def each_ffmpeg(request, monkeypatch):
    """Run a test once with every ffmpeg on the machine: the system one (Debian 12 has 5.1) and the
    wheel's. An option one of them rejects broke measuring once; both must encode and measure."""
    monkeypatch.setenv("NARRATION_FFMPEG", request.param)
    ffmpeg_exe.cache_clear()
    assert ffmpeg_exe() == request.param
    yield request.param
    ffmpeg_exe.cache_clear()


def test_decode_and_measure_agree_with_our_meters(each_ffmpeg, chapters):
    audio, rate = decode_to_float(chapters[0])
    levels = measure_levels(chapters[0])
    reference, reference_rate = sf.read(chapters[0], dtype="float32")
    assert rate == reference_rate
    np.testing.assert_allclose(audio, reference, atol=1e-4)
    # ffmpeg reports at 0.1 dB resolution: 0.05 of rounding on top of the meters' agreement
    assert levels["integrated_lufs"] == pytest.approx(integrated_lufs(audio, rate), abs=0.15)
    assert levels["true_peak_dbtp"] == pytest.approx(true_peak_dbtp(audio, rate), abs=0.2)


def test_m4b_round_trip(each_ffmpeg, chapters, jpeg, tmp_path):
    out = tmp_path / "book.m4b"
    marks = encode_m4b(chapters, TITLES, out, tags=TAGS, cover=jpeg, cover_mime="image/jpeg")
    starts = file_starts(chapters)
    assert [m.start_s for m in marks] == pytest.approx(starts[:-1], abs=1e-9)

    found = read_chapters(out)
    assert [m.title for m in found] == TITLES
    assert [m.start_s for m in found] == pytest.approx(starts[:-1], abs=0.05)
    assert found[-1].end_s == pytest.approx(starts[-1], abs=0.1)  # mutagen counts AAC padding

    tags = MP4(out).tags
    assert tags["©nam"] == ["A Test Book"] and tags["©alb"] == ["A Test Book"]
    assert tags["©ART"] == ["Jane Austen"] and tags["aART"] == ["Jane Austen"]
    assert tags["©wrt"] == ["joe (piper)"] and tags["©gen"] == ["Audiobook"]
    assert tags["©day"] == ["1813"] and tags["©cmt"] == ["Narrated by joe (piper)"]
    assert tags["stik"] == [2]  # iTunes media kind: audiobook
    assert bytes(tags["covr"][0]) == jpeg
    assert tags["covr"][0].imageformat == MP4Cover.FORMAT_JPEG
    with out.open("rb") as handle:
        head = handle.read(64 * 1024)
    moov, mdat = head.find(b"moov"), head.find(b"mdat")
    assert moov >= 0 and (mdat < 0 or moov < mdat)  # faststart: the index comes first

    check_decoded(out, chapters)


def test_mp3_round_trip(each_ffmpeg, chapters, tmp_path):
    png_path = tmp_path / "cover.png"
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=red:s=32x32", "-frames:v", "1", str(png_path)],
               what="making a png cover")  # fmt: skip
    png = png_path.read_bytes()
    out = tmp_path / "book.mp3"
    encode_mp3(chapters, TITLES, out, tags=TAGS, cover=png, cover_mime="image/png")

    starts = file_starts(chapters)
    found = read_chapters(out)
    assert [m.title for m in found] == TITLES
    assert [m.start_s for m in found] == pytest.approx(starts[:-1], abs=0.05)
    assert [m.end_s for m in found] == pytest.approx(starts[1:], abs=0.05)

    id3 = ID3(out)
    assert str(id3["TIT2"]) == "A Test Book" and str(id3["TALB"]) == "A Test Book"
    assert str(id3["TPE1"]) == "Jane Austen" and str(id3["TPE2"]) == "Jane Austen"
    assert str(id3["TCOM"]) == "joe (piper)" and str(id3["TCON"]) == "Audiobook"
    assert id3.getall("COMM")[0].text == ["Narrated by joe (piper)"]
    (picture,) = id3.getall("APIC")
    assert picture.data == png and picture.mime == "image/png" and picture.type == 3
    (toc,) = id3.getall("CTOC")
    assert len(toc.child_element_ids) == 3

    check_decoded(out, chapters)


def test_a_cover_that_is_neither_jpeg_nor_png_is_converted(chapters, tmp_path):
    gif_path = tmp_path / "cover.gif"
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=green:s=16x16", "-frames:v", "1", str(gif_path)],
               what="making a gif cover")  # fmt: skip
    out = tmp_path / "book.m4b"
    encode_m4b(chapters[:1], TITLES[:1], out, tags=TAGS, cover=gif_path.read_bytes(),
               cover_mime="image/gif")  # fmt: skip
    cover = MP4(out).tags["covr"][0]
    assert cover.imageformat == MP4Cover.FORMAT_PNG and bytes(cover).startswith(b"\x89PNG")


def test_one_file_per_chapter(chapters, jpeg, tmp_path):
    for fmt in ("mp3", "m4a"):
        folder = tmp_path / fmt
        folder.mkdir()
        stale = folder / f"01 - Old title.{fmt}"  # from an earlier run with other titles
        stale.write_bytes(b"stale")
        keep = folder / "notes.txt"
        keep.write_text("not ours")
        files = encode_chapter_files(chapters, TITLES, folder, fmt, tags=TAGS, cover=jpeg)
        assert [p.name for p in files] == [
            f"01 - Chapter 1 Love Hate 1.{fmt}",
            f"02 - Café deux back.{fmt}",
            f"03 - The End.{fmt}",
        ]
        assert set(folder.iterdir()) == {*files, keep}
        starts = file_starts(chapters)
        for number, (path, title) in enumerate(zip(files, TITLES, strict=True), start=1):
            audio, rate = decode_to_float(path)
            assert len(audio) / rate == pytest.approx(starts[number] - starts[number - 1], abs=0.05)
            if fmt == "mp3":
                id3 = ID3(path)
                assert str(id3["TIT2"]) == title and str(id3["TALB"]) == "A Test Book"
                assert str(id3["TRCK"]) == f"{number}/3"
                assert id3.getall("APIC")[0].data == jpeg
            else:
                tags = MP4(path).tags
                assert tags["©nam"] == [title] and tags["©alb"] == ["A Test Book"]
                assert tags["trkn"] == [(number, 3)]
                assert bytes(tags["covr"][0]) == jpeg


@pytest.fixture(scope="module")
def hot_chapter(tmp_path_factory) -> Path:
    """A buzzy chapter (a 220 Hz sawtooth, rich in harmonics that lossy codecs smear) whose
    true peak sits exactly at -3 dBTP: encoding it is sure to overshoot."""
    t = np.arange(6 * SR) / SR
    audio = signal.sawtooth(2 * np.pi * 220 * t) * (0.3 + np.sin(2 * np.pi * 2 * t) ** 2)
    audio = audio.astype(np.float32)
    audio *= np.float32(10 ** ((-3.0 - true_peak_dbtp(audio, SR)) / 20))
    path = tmp_path_factory.mktemp("hot") / "hot.flac"
    sf.write(path, audio, SR, subtype="PCM_24", format="FLAC")
    return path


@pytest.mark.parametrize("encode", [encode_m4b, encode_mp3])
def test_codec_overshoot_is_caught_and_encoded_again_quieter(
    each_ffmpeg, encode, hot_chapter, tmp_path
):
    unchecked = tmp_path / f"unchecked.{encode.__name__[-3:]}"
    encode([hot_chapter], ["One"], unchecked, tags=TAGS, max_true_peak_dbtp=None)
    overshoot, _ = decode_to_float(unchecked)
    over_db = true_peak_dbtp(overshoot, SR) - -3.0
    assert over_db > 0.0  # the codec really does overshoot (ffmpeg 5.1's AAC by ~2 dB here)

    checked = tmp_path / f"checked.{encode.__name__[-3:]}"
    encode([hot_chapter], ["One"], checked, tags=TAGS)
    audio, rate = decode_to_float(checked)
    assert true_peak_dbtp(audio, rate) <= -3.0
    quieter_by = integrated_lufs(overshoot, rate) - integrated_lufs(audio, rate)
    # only as much quieter as needed: the overshoot, the 0.2 dB margin, and a little codec noise
    assert 0.05 < quieter_by < over_db + 0.2 + 0.4
    assert [m.title for m in read_chapters(checked)] == ["One"]


def test_a_peak_that_cannot_be_brought_down_fails_and_leaves_nothing(
    hot_chapter, tmp_path, monkeypatch
):
    monkeypatch.setattr(package, "measure_levels", lambda _path: {"true_peak_dbtp": 0.0})
    with pytest.raises(NarrationError, match="over the -3.0 dBTP limit"):
        encode_m4b([hot_chapter], ["One"], tmp_path / "book.m4b", tags=TAGS)
    assert list(tmp_path.iterdir()) == []


def test_measure_levels_agrees_with_decoding_and_measuring(each_ffmpeg, chapters, tmp_path):
    out = tmp_path / "book.m4b"
    encode_m4b(chapters, TITLES, out, tags=TAGS, max_true_peak_dbtp=None)
    audio, rate = decode_to_float(out)
    levels = measure_levels(out)
    assert levels["integrated_lufs"] == pytest.approx(integrated_lufs(audio, rate), abs=0.15)
    assert levels["true_peak_dbtp"] == pytest.approx(true_peak_dbtp(audio, rate), abs=0.2)


def test_a_missing_ffmpeg_named_by_the_environment_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("NARRATION_FFMPEG", "/nonexistent/ffmpeg")
    ffmpeg_exe.cache_clear()
    try:
        with pytest.raises(NarrationError, match="NARRATION_FFMPEG=/nonexistent/ffmpeg"):
            ffmpeg_exe()
    finally:
        ffmpeg_exe.cache_clear()


def test_ffmetadata_escapes_and_times_every_chapter():
    marks = [ChapterMark("a=b;c#d\\e\nf", 0.0, 1.2345), ChapterMark("plain", 1.2345, 3.0)]
    text = ffmetadata_text(marks, {"title": "T;1", "artist": "A=B"})
    lines = text.splitlines()
    assert lines[0] == ";FFMETADATA1"
    assert "title=T\\;1" in lines and "artist=A\\=B" in lines
    assert text.count("[CHAPTER]") == 2 and text.count("TIMEBASE=1/1000") == 2
    assert "START=1234" in lines or "START=1235" in lines
    assert "title=a\\=b\\;c\\#d\\\\e\\\nf" in text
    assert "END=3000" in lines


def test_failed_encode_leaves_no_file_and_keeps_an_old_one(chapters, tmp_path):
    fresh = tmp_path / "fresh.m4b"
    with pytest.raises(NarrationError, match="ffmpeg failed while encoding fresh.m4b"):
        encode_m4b(chapters, TITLES, fresh, tags=TAGS, bitrate="not-a-bitrate")
    assert list(tmp_path.iterdir()) == []  # no target, no temp file

    old = tmp_path / "old.mp3"
    old.write_bytes(b"the previous good book")
    with pytest.raises(NarrationError):
        encode_mp3(chapters, TITLES, old, tags=TAGS, bitrate="not-a-bitrate")
    assert old.read_bytes() == b"the previous good book"
    assert list(tmp_path.iterdir()) == [old]


def test_bad_or_mismatched_chapter_files_are_refused(chapters, tmp_path):
    broken = tmp_path / "broken.flac"
    broken.write_bytes(b"not audio at all")
    with pytest.raises(NarrationError, match="broken.flac"):
        encode_m4b([chapters[0], broken], TITLES[:2], tmp_path / "x.m4b", tags=TAGS)
    other_rate = tmp_path / "44k.flac"
    sf.write(other_rate, np.zeros(44100, np.float32), 44100, subtype="PCM_24", format="FLAC")
    with pytest.raises(NarrationError, match="must share one format"):
        chapter_marks([chapters[0], other_rate], TITLES[:2])
    with pytest.raises(ValueError, match="titles"):
        chapter_marks(chapters, TITLES[:2])
    with pytest.raises(ValueError, match="unknown tag"):
        encode_mp3(chapters, TITLES, tmp_path / "x.mp3", tags={"titel": "typo"})
    assert not (tmp_path / "x.m4b").exists() and not (tmp_path / "x.mp3").exists()


def test_run_ffmpeg_failure_is_one_line_naming_the_step(tmp_path):
    missing = tmp_path / "missing.wav"
    with pytest.raises(NarrationError, match=r"^ffmpeg failed while testing: .*missing\.wav"):
        run_ffmpeg(["-i", str(missing), "-f", "null", "-"], what="testing")
    assert Path(ffmpeg_exe()).exists()


def test_decode_finds_the_rate_and_the_samples(tmp_path):
    rng = np.random.default_rng(12)
    audio = (rng.standard_normal(16000) * 0.1).astype(np.float32)
    path = tmp_path / "a.wav"
    sf.write(path, audio, 16000, subtype="FLOAT")
    decoded, rate = decode_to_float(path)
    assert rate == 16000
    np.testing.assert_allclose(decoded, audio, atol=1e-6)
    resampled, rate = decode_to_float(path, 8000)
    assert rate == 8000 and len(resampled) == pytest.approx(8000, abs=2)


def test_templates_are_found():
    assert (package.templates_dir() / "ffmetadata.j2").is_file()
