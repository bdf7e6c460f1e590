"""Show notes (Markdown and HTML) and an RSS 2.0 feed with Apple's iTunes podcast tags.

All three are rendered from templates (narration.podcast.templating: a user folder
overrides ours; XML and HTML autoescaped). Chapter start times come from the packaged file's
chapter marks (narration.audio.tags.ChapterMark, as read back from the MP3), so the notes'
timestamps are where a player actually jumps.

The GUID must never change once an episode is published, or every app downloads it again:
it is the front matter's `guid` if given, else a UUID derived from the show and the episode
number (or title), never from the audio URL or file, which may move.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from narration.audio.tags import ChapterMark
from narration.podcast.model import Episode, Event
from narration.podcast.templating import clock, environment

# Enclosure types podcast apps expect (Apple lists audio/x-m4a for AAC in MP4).
AUDIO_TYPES = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/x-m4a",
    ".m4b": "audio/x-m4a",
    ".mp4": "audio/mp4",
    ".aac": "audio/aac",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
}
TRANSCRIPT_TYPES = {".vtt": "text/vtt", ".srt": "application/x-subrip", ".html": "text/html"}
_GUID_NAMESPACE = uuid.UUID("5b0f6d5e-8d0e-4c53-9a43-1d2b7c1f0a11")  # this project's, fixed


@dataclass(frozen=True)
class ShowInfo:
    """The channel: what a podcast directory shows for the whole show."""

    title: str
    link: str
    description: str = ""
    language: str = "en"
    author: str = ""
    owner_name: str = ""
    owner_email: str = ""
    image_url: str = ""  # Apple wants a 1400-3000 px square JPEG or PNG
    category: str = "Technology"
    subcategory: str = ""
    explicit: bool = False
    feed_url: str = ""  # where the feed itself is served (atom:link rel=self)


@dataclass(frozen=True)
class FeedItem:
    """One episode in the feed."""

    title: str
    guid: str
    pub_date: datetime.datetime
    audio_url: str
    audio_bytes: int
    audio_type: str
    duration_s: float
    description: str = ""
    number: int | None = None
    season: int | None = None
    link: str = ""
    explicit: bool = False
    transcript_url: str = ""
    transcript_type: str = ""


def audio_type(path: str | Path) -> str:
    """The enclosure MIME type for an audio file, by its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in AUDIO_TYPES:
        raise ValueError(f"no podcast enclosure type for {suffix!r} files")
    return AUDIO_TYPES[suffix]


def episode_guid(episode: Episode) -> str:
    """A GUID that stays the same however often the episode is rebuilt or moved."""
    given = episode.meta.extra.get("guid")
    if given:
        return str(given)
    meta = episode.meta
    which = f"episode {meta.number}" if meta.number is not None else f"title {meta.title}"
    season = f"season {meta.season} " if meta.season is not None else ""
    return str(uuid.uuid5(_GUID_NAMESPACE, f"{meta.show}\n{season}{which}"))


def _url(base_url: str, path: Path) -> str:
    return f"{base_url.rstrip('/')}/{path.name}" if base_url else path.name


def feed_item(
    episode: Episode,
    audio: str | Path,
    *,
    duration_s: float,
    base_url: str = "",
    published: datetime.datetime | None = None,
    transcript: str | Path | None = None,
    link: str = "",
) -> FeedItem:
    """The feed entry for an encoded episode file. Its length is read from the file (the
    enclosure must state the exact byte count); `published` defaults to the front matter's
    date at midnight UTC, else now."""
    audio = Path(audio)
    if published is None:
        date = episode.meta.date
        published = (
            datetime.datetime.combine(date, datetime.time(), datetime.UTC)
            if date
            else datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        )
    transcript_path = Path(transcript) if transcript else None
    return FeedItem(
        title=episode.meta.title,
        guid=episode_guid(episode),
        pub_date=published,
        audio_url=_url(base_url, audio),
        audio_bytes=audio.stat().st_size,
        audio_type=audio_type(audio),
        duration_s=duration_s,
        description=episode.meta.description,
        number=episode.meta.number,
        season=episode.meta.season,
        link=link,
        explicit=bool(episode.meta.extra.get("explicit", False)),
        transcript_url=_url(base_url, transcript_path) if transcript_path else "",
        transcript_type=TRANSCRIPT_TYPES.get(transcript_path.suffix.lower(), "text/plain")
        if transcript_path
        else "",
    )


def render_feed(
    show: ShowInfo,
    items: Iterable[FeedItem],
    *,
    templates: str | Path | None = None,
    built: datetime.datetime | None = None,
) -> str:
    """The RSS document, newest episode first."""
    ordered = sorted(items, key=lambda item: item.pub_date, reverse=True)
    built = built or (ordered[0].pub_date if ordered else datetime.datetime.now(datetime.UTC))
    template = environment(templates).get_template("feed.xml.j2")
    return template.render(show=show, items=ordered, built=built)


# ---------------------------------------------------------------- show notes


def chapter_rows(episode: Episode, marks: Sequence[ChapterMark]) -> list[dict[str, Any]]:
    """Chapters with start times. Marks come from the packaged file; their titles are
    used, since the file is what a listener has. Without marks, no times are known."""
    return [{"title": m.title, "start": clock(m.start_s), "start_s": round(m.start_s, 3)}
            for m in marks]  # fmt: skip


def transcript_rows(episode: Episode) -> list[dict[str, Any]]:
    """The running order for a transcript: turns (speaker, paragraphs) and events."""
    rows: list[dict[str, Any]] = []
    for chapter in episode.chapters:
        for item in chapter.items:
            if isinstance(item, Event):
                rows.append({"event": item.text, "speaker": "", "paragraphs": []})
            else:
                speaker = item.speaker or episode.host or ""
                rows.append({"event": "", "speaker": speaker, "paragraphs": item.transcript()})
    return rows


def notes_context(
    episode: Episode, marks: Sequence[ChapterMark], audio_url: str = ""
) -> dict[str, Any]:
    meta = episode.meta
    return {
        "episode": {
            "title": meta.title,
            "show": meta.show,
            "number": meta.number,
            "season": meta.season,
            "date": meta.date,
            "description": meta.description,
            "host": episode.host or "",
            "speakers": episode.speakers,
        },
        "chapters": chapter_rows(episode, marks),
        "transcript": transcript_rows(episode),
        "audio_url": audio_url,
    }


def show_notes(
    episode: Episode,
    marks: Sequence[ChapterMark],
    *,
    fmt: str = "md",
    templates: str | Path | None = None,
    audio_url: str = "",
) -> str:
    """Show notes as Markdown (`fmt="md"`) or an HTML fragment (`fmt="html"`)."""
    if fmt not in ("md", "html"):
        raise ValueError(f"show notes come as md or html, not {fmt!r}")
    template = environment(templates).get_template(f"notes.{fmt}.j2")
    return template.render(notes_context(episode, marks, audio_url))
