"""Packaging: mastered chapter files -> one chaptered M4B or MP3, or one file per chapter.

ffmpeg streams the chapter files (FLAC or WAV, all alike) from disk through its concat demuxer,
so a whole book is never held in memory. Chapter marks are the measured cumulative durations of
the chapter files, so each mark sits exactly where that chapter's audio starts. M4B chapters,
tags and cover are written by ffmpeg (from an FFMETADATA file rendered with jinja2): it writes
both a Nero `chpl` atom and a QuickTime chapter track, so players that read either see them.
MP3 tags, cover and ID3 CHAP/CTOC chapter frames are written with mutagen after encoding
(narration.audio.tags, which also reads chapters back).

Every output is encoded to a temp file beside the target, its true peak measured after lossy
coding (and the file re-encoded a little quieter if the codec overshot the limit), and only
then renamed into place: a failed or out-of-spec encode leaves nothing behind.
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import jinja2
import soundfile

import narration
from narration.atomic import atomic_path
from narration.audio.aac_stream import StreamedAac
from narration.audio.ffmpeg import aac_args, measure_levels, run_ffmpeg
from narration.audio.tags import ChapterMark, cover_file, read_chapters, write_id3
from narration.errors import NarrationError

# Tag names the encoders accept: the project's own (title, author, narrator, ...) and ffmpeg's.
TAG_KEYS = (
    "title", "author", "narrator", "genre", "date", "comment", "language",
    "album", "artist", "album_artist", "composer", "track",
)  # fmt: skip
_FFMETA_SPECIAL = re.compile(r"([=;#\\\n])")
_PEAK_RETRIES = 2  # quieter re-encodes allowed when the codec overshoots the peak limit


def templates_dir() -> Path:
    """Templates ship inside the package in a wheel, and sit at the repo root in a checkout."""
    installed = Path(narration.__file__).resolve().parent / "templates"
    if installed.is_dir():
        return installed
    return Path(narration.__file__).resolve().parent.parent / "templates"


def _ffmeta_escape(value: object) -> str:
    """FFMETADATA escaping: a backslash before = ; # \\ and newline."""
    return _FFMETA_SPECIAL.sub(r"\\\1", str(value))


def ffmetadata_text(marks: Sequence[ChapterMark], tags: Mapping[str, str]) -> str:
    """The FFMETADATA1 file for `tags` and chapter `marks` (times in ms, TIMEBASE per chapter)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=False,  # not HTML: escaping is the ffmeta filter's job
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["ffmeta"] = _ffmeta_escape
    chapters = [
        {"title": m.title, "start_ms": round(m.start_s * 1000), "end_ms": round(m.end_s * 1000)}
        for m in marks
    ]
    return env.get_template("ffmetadata.j2").render(tags=dict(tags), chapters=chapters)


def _ffmpeg_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The project's tag names -> the names ffmpeg's MP4 muxer (and our ID3 writer) know.

    title is also the album; author is artist and album artist; narrator is composer (and the
    comment, unless one is given); genre defaults to Audiobook. The target names themselves
    (album, artist, album_artist, composer) are accepted too and win. language is accepted and
    not written: MP4 wants it per stream as an ISO 639-2 code, which the book does not give.
    """
    unknown = sorted(set(tags) - set(TAG_KEYS))
    if unknown:
        raise ValueError(f"unknown tag keys {unknown}; known: {', '.join(TAG_KEYS)}")
    given = {key: str(value).strip() for key, value in tags.items() if value}
    narrator = given.get("narrator", "")
    mapped = {
        "title": given.get("title", ""),
        "album": given.get("album", given.get("title", "")),
        "artist": given.get("artist", given.get("author", "")),
        "album_artist": given.get("album_artist", given.get("author", "")),
        "composer": given.get("composer", narrator),
        "genre": given.get("genre", "Audiobook"),
        "date": given.get("date", ""),
        "comment": given.get("comment", f"Narrated by {narrator}" if narrator else ""),
        "track": given.get("track", ""),
    }
    return {key: value for key, value in mapped.items() if value}


def chapter_marks(chapter_wavs: Sequence[Path], titles: Sequence[str]) -> list[ChapterMark]:
    """Marks at the cumulative measured durations of the chapter files (frames / rate).

    The concat demuxer joins the files as one stream without re-reading their headers, so
    they must share one format, sample type, rate and channel count; a mismatch is refused here
    instead of coming out as noise or at the wrong speed.
    """
    if len(chapter_wavs) != len(titles):
        raise ValueError(f"{len(chapter_wavs)} chapter files but {len(titles)} titles")
    if not chapter_wavs:
        raise NarrationError("nothing to package: no chapter files")
    marks, start_s, first = [], 0.0, None
    for path, title in zip(chapter_wavs, titles, strict=True):
        try:
            info = soundfile.info(str(path))
        except (RuntimeError, OSError) as exc:  # soundfile raises RuntimeError on bad files
            raise NarrationError(f"{path}: not a readable audio file ({exc})") from exc
        layout = (info.format, info.subtype, info.samplerate, info.channels)
        if first is None:
            first = layout
        elif layout != first:
            raise NarrationError(
                f"{path}: {' '.join(map(str, layout))} differs from the first chapter's "
                f"{' '.join(map(str, first))}; chapter files must share one format"
            )
        end_s = start_s + info.frames / info.samplerate
        marks.append(ChapterMark(title=title, start_s=start_s, end_s=end_s))
        start_s = end_s
    return marks


@contextmanager
def _concatenated(chapter_wavs: Sequence[Path]) -> Iterator[tuple[Path, list[str]]]:
    """A temp work folder and the ffmpeg input arguments that read the files as one stream."""
    with tempfile.TemporaryDirectory(prefix="narration-package-") as work:
        folder = Path(work)
        yield folder, ["-f", "concat", "-safe", "0", "-i", str(_concat_list(chapter_wavs, folder))]


def _concat_list(chapter_wavs: Sequence[Path], folder: Path) -> Path:
    """A concat-demuxer list file; quotes in paths escaped as the demuxer wants ('\\'')."""
    lines = []
    for path in chapter_wavs:
        quoted = str(Path(path).resolve()).replace("'", "'\\''")
        lines.append(f"file '{quoted}'\n")
    listing = folder / "chapters.txt"
    listing.write_text("".join(lines), encoding="utf-8")
    return listing


def _write_verified(
    out_path: Path, write: Callable[[Path, list[str]], None], max_true_peak_dbtp: float | None
) -> None:
    """Encode into a temp file beside `out_path`, check it, and only then rename it into place.

    Lossy codecs overshoot the mastered peaks (MP3 at 64 kb/s by up to ~2 dB on a long book,
    more than any fixed headroom worth giving up loudness for), so the encoded file's true
    peak is measured (ffmpeg ebur128, streaming) and, if it passes `max_true_peak_dbtp`, the
    file is encoded again that much quieter (plus 0.2 dB). `write(tmp, volume_args)` encodes.
    """
    volume: list[str] = []
    cut_db = 0.0
    with atomic_path(out_path) as tmp:
        for attempt in range(1 + _PEAK_RETRIES):
            write(tmp, volume)
            if max_true_peak_dbtp is None:
                return
            # ebur128 prints 0.1 dB steps: a printed -3.1 is at most -3.05, safely under -3
            peak = measure_levels(tmp)["true_peak_dbtp"]
            if peak <= max_true_peak_dbtp - 0.1 + 1e-9:
                return
            if attempt < _PEAK_RETRIES:
                cut_db += peak - max_true_peak_dbtp + 0.2
                volume = ["-af", f"volume={-cut_db:.2f}dB"]
        raise NarrationError(
            f"{out_path.name}: true peak {peak:.1f} dBTP after encoding, over the "
            f"{max_true_peak_dbtp:.1f} dBTP limit even {cut_db:.1f} dB quieter"
        )


def _encode_mp4(
    inputs: list[str],
    marks: Sequence[ChapterMark],
    tags: Mapping[str, str],
    cover: bytes | None,
    cover_mime: str | None,
    audio_args: list[str],
    out_path: Path,
    *,
    audiobook: bool,
    folder: Path,
    max_true_peak_dbtp: float | None,
) -> None:
    """AAC in MP4 with chapters, tags and cover; `inputs` are ffmpeg input arguments and
    `audio_args` the audio codec's (an AAC encoder, or a copy of already encoded AAC)."""
    meta_tags = dict(tags)
    if audiobook:
        meta_tags["media_type"] = "2"  # iTunes stik 2: Audiobook
    meta = folder / "ffmetadata.txt"
    meta.write_text(ffmetadata_text(marks, meta_tags), encoding="utf-8")
    # With more than one input, ffmpeg 5 reads each in a thread of its own that hands packets
    # over through a queue of 8: copying a book's AAC (a packet per 1024 samples) then wakes a
    # thread per packet, and the remux of an 83-minute book took 0.50 s instead of 0.24 s.
    args = ["-thread_queue_size", "1024", *inputs, "-i", str(meta)]
    maps = ["-map", "0:a:0", "-map_metadata", "1", "-map_chapters", "1" if marks else "-1"]
    if cover:
        cover_path, _mime = cover_file(cover, cover_mime, folder)
        args += ["-i", str(cover_path)]
        maps += ["-map", "2:v:0", "-c:v", "copy", "-disposition:v:0", "attached_pic"]
    brand = ["-brand", "M4B "] if audiobook else []
    args += [*maps, *audio_args, *brand, "-movflags", "+faststart"]

    def write(tmp: Path, volume: list[str]) -> None:
        run_ffmpeg([*args, *volume, "-f", "mp4", str(tmp)], what=f"encoding {out_path.name}")

    _write_verified(out_path, write, max_true_peak_dbtp)


def encode_m4b(
    chapter_wavs: Sequence[Path],
    titles: Sequence[str],
    out_path: Path,
    *,
    tags: Mapping[str, str],
    cover: bytes | None = None,
    cover_mime: str | None = None,
    bitrate: str = "64k",
    coder: str = "fast",
    max_true_peak_dbtp: float | None = -3.0,
    audiobook: bool = True,
) -> list[ChapterMark]:
    """One AAC .m4b with a chapter per file, the tags and the cover; returns the marks written.
    `audiobook=False`: an .m4a (a podcast episode), chapters kept, not marked an audiobook.

    The encoded file's true peak is checked and held to `max_true_peak_dbtp` (None: unchecked).
    """
    out_path = Path(out_path)
    marks = chapter_marks(chapter_wavs, titles)
    with _concatenated(chapter_wavs) as (folder, inputs):
        _encode_mp4(
            inputs, marks, _ffmpeg_tags(tags), cover, cover_mime, aac_args(bitrate, coder),
            out_path, audiobook=audiobook, folder=folder, max_true_peak_dbtp=max_true_peak_dbtp,
        )  # fmt: skip
    return marks


def m4b_from_stream(
    streamed: StreamedAac,
    chapter_wavs: Sequence[Path],
    titles: Sequence[str],
    out_path: Path,
    *,
    tags: Mapping[str, str],
    cover: bytes | None = None,
    cover_mime: str | None = None,
    max_true_peak_dbtp: float | None = -3.0,
) -> list[ChapterMark] | None:
    """The .m4b from AAC already encoded (and measured) while the book rendered: chapters,
    tags and cover are added without re-encoding. Returns the marks, or None when the stream
    is not fit to use (over the peak limit, or not as long as the chapters), so that the
    caller encodes the chapter files instead.
    """
    marks = chapter_marks(chapter_wavs, titles)
    # the stream's meter is exact near the limit (an upper bound well under it)
    if max_true_peak_dbtp is not None and streamed.true_peak_dbtp > max_true_peak_dbtp:
        return None
    if abs(streamed.seconds - marks[-1].end_s) > 0.01:
        return None
    with tempfile.TemporaryDirectory(prefix="narration-m4b-") as work:
        _encode_mp4(
            streamed.ffmpeg_input(), marks, _ffmpeg_tags(tags), cover, cover_mime,
            ["-c:a", "copy"], Path(out_path), audiobook=True, folder=Path(work),
            max_true_peak_dbtp=None,
        )  # fmt: skip
    return marks


def _encode_mp3(
    inputs: list[str],
    marks: Sequence[ChapterMark],
    tags: Mapping[str, str],
    cover: bytes | None,
    cover_mime: str | None,
    bitrate: str,
    out_path: Path,
    folder: Path,
    max_true_peak_dbtp: float | None,
) -> None:
    # ffmpeg writes bare MP3 (no ID3, but the LAME/Xing header that makes it gapless); mutagen
    # then writes every tag, so the tag layout does not depend on the ffmpeg version.
    args = [*inputs, "-map", "0:a:0", "-map_metadata", "-1", "-map_chapters", "-1"]
    args += ["-c:a", "libmp3lame", "-b:a", bitrate, "-id3v2_version", "0", "-write_id3v1", "0"]

    def write(tmp: Path, volume: list[str]) -> None:
        run_ffmpeg([*args, *volume, "-f", "mp3", str(tmp)], what=f"encoding {out_path.name}")
        write_id3(tmp, tags, cover, cover_mime, marks, folder)

    _write_verified(out_path, write, max_true_peak_dbtp)


def encode_mp3(
    chapter_wavs: Sequence[Path],
    titles: Sequence[str],
    out_path: Path,
    *,
    tags: Mapping[str, str],
    cover: bytes | None = None,
    cover_mime: str | None = None,
    bitrate: str = "64k",
    max_true_peak_dbtp: float | None = -3.0,
) -> list[ChapterMark]:
    """One MP3 with ID3 CHAP/CTOC chapters, tags and cover; returns the marks written.

    The encoded file's true peak is checked and held to `max_true_peak_dbtp` (None: unchecked).
    """
    out_path = Path(out_path)
    marks = chapter_marks(chapter_wavs, titles)
    with _concatenated(chapter_wavs) as (folder, inputs):
        _encode_mp3(
            inputs, marks, _ffmpeg_tags(tags), cover, cover_mime, bitrate, out_path, folder,
            max_true_peak_dbtp,
        )  # fmt: skip
    return marks


def safe_filename(text: str, max_chars: int = 80) -> str:
    """A file-name-safe version of a title: letters, digits, spaces and - _ . ( ) , only."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"[^\w\s.,()-]", " ", text)  # \w keeps accented letters
    text = re.sub(r"\s+", " ", text).strip(" .")
    return text[:max_chars].rstrip(" .") or "untitled"


def encode_chapter_files(
    chapter_wavs: Sequence[Path],
    titles: Sequence[str],
    out_dir: Path,
    fmt: str = "mp3",
    *,
    tags: Mapping[str, str],
    cover: bytes | None = None,
    cover_mime: str | None = None,
    bitrate: str = "64k",
    coder: str = "fast",
    max_true_peak_dbtp: float | None = -3.0,
) -> list[Path]:
    """One numbered file per chapter ("01 - Title.mp3"), tagged with its title and track number.

    The book's title is the album of every file. Each file is written atomically; numbered files
    of the same format left in `out_dir` by an earlier run (other titles) are removed.
    """
    if fmt not in ("mp3", "m4a"):
        raise ValueError(f"fmt must be 'mp3' or 'm4a', not {fmt!r}")
    marks = chapter_marks(chapter_wavs, titles)  # validates the files first
    book = _ffmpeg_tags(tags)
    width = max(2, len(str(len(marks))))
    out_dir = Path(out_dir)
    written = []
    for number, (source, mark) in enumerate(zip(chapter_wavs, marks, strict=True), start=1):
        target = out_dir / f"{number:0{width}d} - {safe_filename(mark.title)}.{fmt}"
        chapter_tags = {**book, "title": mark.title, "track": f"{number}/{len(marks)}"}
        with tempfile.TemporaryDirectory(prefix="narration-chapter-") as work:
            folder, inputs = Path(work), ["-i", str(source)]
            if fmt == "mp3":
                _encode_mp3(
                    inputs, [], chapter_tags, cover, cover_mime, bitrate, target, folder,
                    max_true_peak_dbtp,
                )  # fmt: skip
            else:
                _encode_mp4(
                    inputs, [], chapter_tags, cover, cover_mime, aac_args(bitrate, coder),
                    target, audiobook=False, folder=folder, max_true_peak_dbtp=max_true_peak_dbtp,
                )  # fmt: skip
        written.append(target)
    numbered = re.compile(rf"^\d+ - .*\.{fmt}$")
    for stale in out_dir.glob(f"*.{fmt}"):
        if numbered.match(stale.name) and stale not in written:
            stale.unlink(missing_ok=True)
    return written


__all__ = [
    "ChapterMark",
    "chapter_marks",
    "encode_chapter_files",
    "encode_m4b",
    "encode_mp3",
    "ffmetadata_text",
    "m4b_from_stream",
    "read_chapters",
    "safe_filename",
]
