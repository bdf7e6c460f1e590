"""What a player reads besides the audio: chapter marks, ID3 tags and covers.

MP3 tags, cover and ID3 CHAP/CTOC chapter frames are written with mutagen after encoding (so
their layout does not depend on the ffmpeg version); `read_chapters` reads back the chapters of
an M4B or MP3 as a player sees them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mutagen import id3
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4

from narration.audio.ffmpeg import run_ffmpeg

_ID3_FRAMES = {
    "title": id3.TIT2,
    "album": id3.TALB,
    "artist": id3.TPE1,
    "album_artist": id3.TPE2,
    "composer": id3.TCOM,
    "genre": id3.TCON,
    "date": id3.TDRC,
    "track": id3.TRCK,
}


@dataclass(frozen=True)
class ChapterMark:
    """A chapter's title and where it starts and ends in the packaged file, in seconds."""

    title: str
    start_s: float
    end_s: float


def _sniff_image(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def cover_file(cover: bytes, cover_mime: str | None, folder: Path) -> tuple[Path, str]:
    """Write the cover as a JPEG or PNG file (other formats converted to PNG by ffmpeg)."""
    mime = _sniff_image(cover) or (cover_mime or "").lower()
    if mime in ("image/jpeg", "image/jpg"):
        path = folder / "cover.jpg"
        path.write_bytes(cover)
        return path, "image/jpeg"
    if mime == "image/png":
        path = folder / "cover.png"
        path.write_bytes(cover)
        return path, "image/png"
    source = folder / "cover.src"
    source.write_bytes(cover)
    path = folder / "cover.png"
    run_ffmpeg(
        ["-i", str(source), "-frames:v", "1", "-c:v", "png", str(path)],
        what=f"converting the {cover_mime or 'unknown'} cover to PNG",
    )
    return path, "image/png"


def write_id3(
    path: Path,
    tags: Mapping[str, str],
    cover: bytes | None,
    cover_mime: str | None,
    marks: Sequence[ChapterMark],
    folder: Path,
) -> None:
    """ID3v2.3 tags, front cover and CHAP/CTOC frames (ms times) on an encoded MP3."""
    frames = id3.ID3()
    for key, value in tags.items():
        if key == "comment":
            frames.add(id3.COMM(encoding=3, lang="eng", desc="", text=[value]))
        elif key in _ID3_FRAMES:
            frames.add(_ID3_FRAMES[key](encoding=3, text=[value]))
    if cover:
        cover_path, mime = cover_file(cover, cover_mime, folder)
        frames.add(
            id3.APIC(
                encoding=3,
                mime=mime,
                type=id3.PictureType.COVER_FRONT,
                desc="Cover",
                data=cover_path.read_bytes(),
            )
        )
    if marks:
        ids = [f"chp{i}" for i in range(len(marks))]
        frames.add(
            id3.CTOC(
                element_id="toc",
                flags=id3.CTOCFlags.TOP_LEVEL | id3.CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[id3.TIT2(encoding=3, text=["Chapters"])],
            )
        )
        for element_id, mark in zip(ids, marks, strict=True):
            frames.add(
                id3.CHAP(
                    element_id=element_id,
                    start_time=round(mark.start_s * 1000),
                    end_time=round(mark.end_s * 1000),
                    sub_frames=[id3.TIT2(encoding=3, text=[mark.title])],
                )
            )
    frames.save(str(path), v2_version=3)


def read_chapters(path: Path) -> list[ChapterMark]:
    """The chapters a packaged file declares: MP4 chapter atoms or ID3 CHAP frames (mutagen)."""
    path = Path(path)
    if path.suffix.lower() in (".m4b", ".m4a", ".mp4"):
        mp4 = MP4(str(path))
        found = [(float(c.start), str(c.title)) for c in (mp4.chapters or [])]
        length = float(mp4.info.length)
        return [
            ChapterMark(title, start, found[i + 1][0] if i + 1 < len(found) else length)
            for i, (start, title) in enumerate(found)
        ]
    tags = MP3(str(path)).tags
    if tags is None:
        return []
    chaps = {frame.element_id: frame for frame in tags.getall("CHAP")}
    order = sorted(chaps, key=lambda key: chaps[key].start_time)
    for toc in tags.getall("CTOC"):
        if toc.flags & id3.CTOCFlags.TOP_LEVEL:
            order = [key for key in toc.child_element_ids if key in chaps]
    marks = []
    for key in order:
        frame = chaps[key]
        title = frame.sub_frames.get("TIT2")
        marks.append(
            ChapterMark(
                title=str(title.text[0]) if title else key,
                start_s=frame.start_time / 1000,
                end_s=frame.end_time / 1000,
            )
        )
    return marks
