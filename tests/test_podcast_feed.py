"""Podcast feed, show notes and host lines: valid XML, escaped values, overridable templates."""

from __future__ import annotations

import datetime
import email.utils
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from narration.audio.tags import ChapterMark
from narration.podcast.feed import (
    ShowInfo,
    episode_guid,
    feed_item,
    render_feed,
    show_notes,
)
from narration.podcast.hostlines import host_lines
from narration.podcast.model import Episode
from narration.podcast.script import parse_script

ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
NASTY = 'Q&A <live> "special" & more'

SCRIPT = f"""\
---
title: '{NASTY}'
show: Tom & Jerry's <Show>
episode: 7
season: 2
date: 2026-11-30
description: Cats & mice, <b>not bold</b>.
---
## Opening & greetings

**Ann Lee:** Hello *there*, 3 < 4 & welcome \\[laughs\\].

Her second paragraph, [inaudible] with <em>markup</em> taken out.

**Bob Stone:** Hi \\[00:00:12.50\\] there.

**Theme music:** \\[00:01:02\\]

## Part <2>

**Bob Stone:** Bye.
"""
MARKS = [ChapterMark("Opening & greetings", 0.0, 65.4), ChapterMark("Part <2>", 65.4, 3725.0)]
SHOW = ShowInfo(
    title="Tom & Jerry's <Show>",
    link="https://example.com/?a=1&b=2",
    description="A show about <everything> & nothing",
    author="Ann Lee",
    owner_email="ann@example.com",
    image_url="https://example.com/cover.jpg",
    category="Technology",
)


@pytest.fixture
def episode() -> Episode:
    return parse_script(SCRIPT, source="ep7.md")


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    path = tmp_path / "ep7.mp3"
    path.write_bytes(b"\xff\xfb" * 5000)
    return path


def _feed(episode: Episode, audio: Path, **kwargs) -> str:
    item = feed_item(
        episode, audio, duration_s=3725.4, base_url="https://cdn.example.com/eps", **kwargs
    )
    return render_feed(SHOW, [item])


def test_feed_is_rss_with_enclosure_and_itunes_fields(episode: Episode, audio: Path) -> None:
    root = ET.fromstring(_feed(episode, audio, transcript=audio.with_suffix(".vtt")))
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    assert channel.findtext("title") == "Tom & Jerry's <Show>"
    assert channel.findtext("link") == "https://example.com/?a=1&b=2"
    assert channel.find(f"{ITUNES}image").get("href") == "https://example.com/cover.jpg"
    assert channel.find(f"{ITUNES}category").get("text") == "Technology"
    assert channel.findtext(f"{ITUNES}explicit") == "false"
    items = channel.findall("item")
    assert len(items) == 1
    item = items[0]
    enclosure = item.find("enclosure")
    assert enclosure.get("url") == "https://cdn.example.com/eps/ep7.mp3"
    assert int(enclosure.get("length")) == audio.stat().st_size == 10000
    assert enclosure.get("type") == "audio/mpeg"
    assert item.findtext("guid") == episode_guid(episode)
    assert item.find("guid").get("isPermaLink") == "false"
    assert item.findtext(f"{ITUNES}duration") == "3725"
    assert item.findtext(f"{ITUNES}episode") == "7"
    assert item.findtext(f"{ITUNES}season") == "2"
    published = email.utils.parsedate_to_datetime(item.findtext("pubDate"))
    assert published == datetime.datetime(2026, 11, 30, tzinfo=datetime.UTC)
    transcript = item.find("{https://podcastindex.org/namespace/1.0}transcript")
    assert transcript.get("type") == "text/vtt"


def test_title_with_ampersand_and_angle_bracket_is_escaped(episode: Episode, audio: Path) -> None:
    text = _feed(episode, audio)
    assert "<title>Q&amp;A &lt;live&gt;" in text
    assert "Q&A <live>" not in text
    assert "<b>" not in text and "&lt;b&gt;not bold" in text
    item = ET.fromstring(text).find("channel/item")
    assert item.findtext("title") == NASTY  # escaped in the file, the same text once parsed
    assert item.findtext("description") == "Cats & mice, <b>not bold</b>."


def test_guid_is_stable_and_does_not_follow_the_file(
    episode: Episode, audio: Path, tmp_path: Path
) -> None:
    moved = tmp_path / "elsewhere.mp3"
    moved.write_bytes(b"x")
    first = feed_item(episode, audio, duration_s=1, base_url="https://a.example")
    second = feed_item(parse_script(SCRIPT), moved, duration_s=2, base_url="https://b.example")
    assert first.guid == second.guid
    other = parse_script(SCRIPT.replace("episode: 7", "episode: 8"))
    assert episode_guid(other) != first.guid
    assert episode_guid(parse_script(SCRIPT.replace("---\n##", "guid: abc-1\n---\n##"))) == "abc-1"


def test_feed_lists_newest_first(episode: Episode, audio: Path) -> None:
    older = feed_item(
        parse_script(
            SCRIPT.replace("episode: 7", "episode: 6").replace("2026-11-30", "2026-11-01")
        ),
        audio,
        duration_s=60,
    )
    newer = feed_item(episode, audio, duration_s=60)
    root = ET.fromstring(render_feed(SHOW, [older, newer]))
    assert [i.findtext(f"{ITUNES}episode") for i in root.iter("item")] == ["7", "6"]


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_notes_escape_values_and_list_chapter_times(episode: Episode) -> None:
    notes = show_notes(episode, MARKS, fmt="html")
    parser = _Collect()
    parser.feed(notes)
    assert "b" not in parser.tags  # the description's <b> is text, not markup
    text = "".join(parser.text)
    assert "Cats & mice, <b>not bold</b>." in text and "3 < 4 & welcome [laughs]." in text
    assert "00:00:00 Opening & greetings" in text and "00:01:05 Part <2>" in text
    assert "Ann Lee:" in text and "Bob Stone:" in text and "[Theme music]" in text
    assert "00:00:12" not in text  # the transcript's own timestamps are gone


def test_markdown_notes_have_chapters_and_transcript(episode: Episode) -> None:
    notes = show_notes(episode, MARKS)
    assert "- 00:00:00 Opening &amp; greetings" in notes
    assert "- 00:01:05 Part &lt;2\\>" in notes
    assert "**Ann Lee:** Hello there, 3 &lt; 4 &amp; welcome \\[laughs\\]." in notes
    assert "Cats &amp; mice, &lt;b\\>not bold&lt;/b\\>." in notes and "<b>" not in notes
    assert "Her second paragraph, with markup taken out." in notes
    assert notes.count("**Bob Stone:**") == 2


def test_user_templates_override_ours_one_by_one(
    episode: Episode, audio: Path, tmp_path: Path
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.md.j2").write_text("Notes for {{ episode.title | md }}\n")
    (mine / "intro.txt.j2").write_text("{# no intro for this show #}\n")
    assert (
        show_notes(episode, MARKS, templates=mine)
        == 'Notes for Q&amp;A &lt;live\\> "special" &amp; more\n'
    )
    assert "<h2>Chapters</h2>" in show_notes(episode, MARKS, fmt="html", templates=mine)
    intro, outro = host_lines(episode, templates=mine)
    assert intro == [] and outro  # the outro still comes from ours


def test_host_lines_name_show_episode_host_and_guests(episode: Episode) -> None:
    intro, outro = host_lines(episode)
    assert intro == [
        "Welcome to Tom & Jerry's <Show>, episode 7.",
        f"{NASTY}.",
        "I'm Ann Lee, and with me today Bob Stone.",
    ]
    assert "Thanks to Bob Stone for joining us." in outro
