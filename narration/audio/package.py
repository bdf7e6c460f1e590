"""Packaging: mastered chapter files -> M4B (AAC) / MP3 with chapters, tags and cover.

Chapter markers are placed at the measured chapter starts (the cumulative durations of the
chapter files), written through an FFMETADATA file rendered from templates/ffmetadata.j2.
Audio is streamed from disk by ffmpeg's concat demuxer: the book is never held in memory.
Every output is written to a temp file beside the target and renamed when complete.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jinja2
import soundfile as sf

import narration
from narration.atomic import atomic_path
from narration.audio.ffmpeg import run_ffmpeg


@dataclass(frozen=True)
class ChapterMark:
    title: str
    start_s: float
    end_s: float


def templates_dir() -> Path:
    """Installed wheels carry the templates inside the package; a source checkout has them
    at the repository root."""
    packaged = Path(narration.__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(narration.__file__).parents[1] / "templates"


def _ffescape(value: object) -> str:
    """FFMETADATA escaping: '=', ';', '#', '\\' and newlines get a backslash."""
    return re.sub(r"([=;#\\\n])", r"\\\1", str(value))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()), autoescape=False, keep_trailing_newline=True
    )
    env.filters["ffescape"] = _ffescape
    return env


def chapter_marks(chapter_files: list[Path], titles: list[str]) -> list[ChapterMark]:
    marks, start = [], 0.0
    for path, title in zip(chapter_files, titles, strict=True):
        info = sf.info(path)
        end = start + info.frames / info.samplerate
        marks.append(ChapterMark(title, start, end))
        start = end
    return marks


def ffmetadata(marks: list[ChapterMark], tags: dict[str, str]) -> str:
    return _environment().get_template("ffmetadata.j2").render(chapters=marks, tags=tags)


def _ffmpeg_tags(tags: dict[str, str]) -> dict[str, str]:
    """Our tag names -> the names ffmpeg's MP4/MP3 muxers map to the standard atoms/frames."""
    mapped = {
        "title": tags.get("title", ""),
        "album": tags.get("title", ""),
        "artist": tags.get("author", ""),
        "album_artist": tags.get("author", ""),
        "composer": tags.get("narrator", ""),
        "genre": tags.get("genre", "Audiobook"),
        "comment": f"Narrated by {tags['narrator']}" if tags.get("narrator") else "",
    }
    if tags.get("date"):
        mapped["date"] = tags["date"]
    return {k: v for k, v in mapped.items() if v}


def _concat_inputs(chapter_files: list[Path], workdir: Path, tags: dict[str, str],
                   marks: list[ChapterMark]) -> list[str]:
    listing = workdir / "chapters.txt"
    lines = [f"file '{str(Path(p).resolve()).replace(chr(39), chr(39) + chr(92) + chr(39) * 2)}'"
             for p in chapter_files]
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    meta = workdir / "ffmetadata.txt"
    meta.write_text(ffmetadata(marks, _ffmpeg_tags(tags)), encoding="utf-8")
    return ["-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(meta),
            "-map", "0:a", "-map_metadata", "1", "-map_chapters", "1"]


def encode_m4b(chapter_files: list[Path], titles: list[str], out_path: Path, *,
               tags: dict[str, str], cover: bytes | None = None, cover_mime: str | None = None,
               bitrate: str = "64k") -> list[ChapterMark]:
    """AAC in an MP4 container named .m4b, with chapters (Nero chpl + QuickTime track)."""
    from mutagen.mp4 import MP4, MP4Cover

    marks = chapter_marks(chapter_files, titles)
    with tempfile.TemporaryDirectory() as work, atomic_path(out_path) as tmp:
        inputs = _concat_inputs(chapter_files, Path(work), tags, marks)
        run_ffmpeg([*inputs, "-c:a", "aac", "-b:a", bitrate, "-movflags", "+faststart",
                    "-f", "mp4", str(tmp)], what=f"encoding {out_path.name}")
        mp4 = MP4(tmp)
        mp4["stik"] = [2]  # iTunes media kind: audiobook
        if cover:
            kind = MP4Cover.FORMAT_PNG if cover_mime == "image/png" else MP4Cover.FORMAT_JPEG
            mp4["covr"] = [MP4Cover(cover, imageformat=kind)]
        mp4.save()
    return marks


def _id3_chapters(path: Path, marks: list[ChapterMark], cover: bytes | None,
                  cover_mime: str | None) -> None:
    from mutagen.id3 import APIC, CHAP, CTOC, ID3, TIT2, CTOCFlags

    id3 = ID3(path)
    id3.delall("CHAP")
    id3.delall("CTOC")
    ids = [f"ch{i}" for i in range(len(marks))]
    for element_id, mark in zip(ids, marks, strict=True):
        id3.add(CHAP(element_id=element_id, start_time=round(mark.start_s * 1000),
                     end_time=round(mark.end_s * 1000),
                     sub_frames=[TIT2(encoding=3, text=[mark.title])]))
    id3.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                 child_element_ids=ids, sub_frames=[TIT2(encoding=3, text=["Chapters"])]))
    if cover:
        id3.add(APIC(encoding=3, mime=cover_mime or "image/jpeg", type=3, desc="Cover",
                     data=cover))
    id3.save(path, v2_version=4)


def encode_mp3(chapter_files: list[Path], titles: list[str], out_path: Path, *,
               tags: dict[str, str], cover: bytes | None = None, cover_mime: str | None = None,
               bitrate: str = "64k") -> list[ChapterMark]:
    """One MP3 for the whole book with ID3 CHAP/CTOC chapter frames."""
    marks = chapter_marks(chapter_files, titles)
    with tempfile.TemporaryDirectory() as work, atomic_path(out_path) as tmp:
        inputs = _concat_inputs(chapter_files, Path(work), tags, marks)
        run_ffmpeg([*inputs, "-c:a", "libmp3lame", "-b:a", bitrate, "-id3v2_version", "4",
                    "-f", "mp3", str(tmp)], what=f"encoding {out_path.name}")
        _id3_chapters(tmp, marks, cover, cover_mime)
    return marks


def _safe_name(title: str) -> str:
    return re.sub(r"[^\w.-]+", "_", title).strip("._")[:60] or "chapter"


def encode_chapter_files(chapter_files: list[Path], titles: list[str], out_dir: Path, *,
                         tags: dict[str, str], cover: bytes | None = None,
                         cover_mime: str | None = None, bitrate: str = "64k") -> list[Path]:
    """One MP3 per chapter, numbered so they sort in reading order, tagged with track numbers."""
    from mutagen.id3 import APIC, ID3, TRCK

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for number, (path, title) in enumerate(zip(chapter_files, titles, strict=True), start=1):
        target = out_dir / f"{number:03d}-{_safe_name(title)}.mp3"
        meta = {**_ffmpeg_tags(tags), "title": title, "track": f"{number}/{len(titles)}"}
        args = ["-i", str(path)]
        for key, value in meta.items():
            args += ["-metadata", f"{key}={value}"]
        with atomic_path(target) as tmp:
            run_ffmpeg([*args, "-c:a", "libmp3lame", "-b:a", bitrate, "-id3v2_version", "4",
                        "-f", "mp3", str(tmp)], what=f"encoding {target.name}")
            id3 = ID3(tmp)
            id3.add(TRCK(encoding=3, text=[f"{number}/{len(titles)}"]))
            if cover:
                id3.add(APIC(encoding=3, mime=cover_mime or "image/jpeg", type=3,
                             desc="Cover", data=cover))
            id3.save(tmp, v2_version=4)
        written.append(target)
    for stale in out_dir.glob("*.mp3"):
        if stale not in written:
            stale.unlink()
    return written


def read_chapters(path: Path) -> list[ChapterMark]:
    """Chapters as a player sees them: MP4 chpl atoms or ID3 CHAP frames, via mutagen."""
    if path.suffix.lower() in (".m4b", ".m4a", ".mp4"):
        from mutagen.mp4 import MP4

        found = list(MP4(path).chapters or [])
        ends = [c.start for c in found[1:]] + [MP4(path).info.length]
        return [ChapterMark(c.title, c.start, e) for c, e in zip(found, ends, strict=True)]
    from mutagen.id3 import ID3

    frames = sorted(ID3(path).getall("CHAP"), key=lambda f: f.start_time)
    return [ChapterMark(str(f.sub_frames.get("TIT2", f.element_id)), f.start_time / 1000,
                        f.end_time / 1000) for f in frames]
