"""Podcast scripts: the shared real transcript, a five-speaker script and a play."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest

from narration.cast.voices import BUNDLED_VOICE, derive_variants
from narration.errors import InputError
from narration.model import BlockKind, Voice
from narration.plan import EngineInfo, Plan, build_plan
from narration.podcast.book import episode_book, tokens_by_engine
from narration.podcast.casting import cast_episode, show_cast_path, speaker_engines
from narration.podcast.model import Cue, Episode, Event
from narration.podcast.script import parse_script, read_script

TRANSCRIPT = (
    Path(__file__).parent.parent.parent / "shared/corpus/scripts/changelog_practical-ai-265.md"
)
PIPER = {"piper": EngineInfo("piper", "test", 22050, 400)}
PALETTE = [BUNDLED_VOICE, *derive_variants(BUNDLED_VOICE, pace_param="length_scale")]
NOT_SPOKEN = re.compile(r"\d{1,2}:\d{2}|unintelligible|\\|\[|\]", re.IGNORECASE)

FIVE = """\
---
title: Five at the table
show: Round Table
episode: 12
date: 2026-11-30
description: Five people, one microphone.
host: Maya Chen
cast:
  Lee Park: joe-deep
---
## Hello

Maya Chen: Welcome back, everyone. Let's go round the table.
Tom Okafor: Hi, I'm Tom. [laughs] Glad to be here.
Rosa Díaz: Rosa here (and yes, I brought cake).
Lee Park: Lee. (sighs) Long week.
Sam de Vries: And I'm Sam, calling in from Utrecht.

## The news

Maya Chen: First story. Tom?
Tom Okafor: Prices went up by 12% this quarter.

That is a continuation paragraph of Tom's turn.
Rosa Díaz: I don't buy it.
Lee Park: Me neither.
Maya Chen: Thanks, all. [laughs]
"""

PLAY = """\
# The Lighthouse

## Act I

### Scene 1

[A lighthouse at night. Enter KEEPER and ELSA.]

KEEPER: The lamp is lit.
ELSA (aside): He says that every night.
KEEPER: (to the sea) Be quiet now,
you have had your say.

ELSA: Will you sleep?

### Scene 2

[Morning.]

ELSA: The storm has passed.
OLD TOM: It always does.

## Act II

KEEPER: Nobody came.
OLD TOM: Nobody ever does.

[Exeunt.]
"""


def _transcript() -> str:
    if not TRANSCRIPT.is_file():
        pytest.skip(f"shared corpus not found at {TRANSCRIPT}")
    return TRANSCRIPT.read_text(encoding="utf-8")


def _spoken(episode: Episode, tokens: dict[str, str] | None = None) -> list[str]:
    return [text for turn in episode.turns for text in turn.spoken(tokens)]


def _piper_plan(episode: Episode, voices: dict[str, Voice]) -> Plan:
    book = episode_book(episode, tokens_for=tokens_by_engine(speaker_engines(voices)))
    return build_plan(book, engines=PIPER, voices=voices, announce_titles=False)


# ---------------------------------------------------------------- the shared transcript


def test_shared_transcript_speakers_music_and_markers() -> None:
    _transcript()
    episode = read_script(TRANSCRIPT)
    assert episode.speakers == ["Daniel Whitenack", "Chris Benson"]
    assert episode.line_counts() == {"Daniel Whitenack": 41, "Chris Benson": 38}
    music = [i for c in episode.chapters for i in c.items if isinstance(i, Event)]
    # `**Break**: \[19:20\]` (colon outside the bold) is one too
    assert [e.text for e in music] == ["Song of Arrakis", "Selection 1", "Selection 2", "Break"]
    assert all(e.kind == "music" for e in music)
    spoken = _spoken(episode)
    assert not [text for text in spoken if NOT_SPOKEN.search(text)]
    assert any("Move over, Wicked. Move over, I saw Hamilton" in text for text in spoken)
    # a turn tagged once runs over several paragraphs
    udio = next(t for t in episode.turns if "It's essentially a music generator" in t.spoken()[0])
    assert udio.speaker == "Daniel Whitenack" and len(udio.paragraphs) == 3
    # the one [laughs]: a cue, voiced by ChatTTS, silent for Piper
    laughing = [
        t for t in episode.turns if any(isinstance(p, Cue) for para in t.paragraphs for p in para)
    ]
    assert len(laughing) == 1
    assert "[laugh]" in " ".join(laughing[0].spoken({"laugh": "[laugh]"}))
    assert "laugh" not in " ".join(laughing[0].spoken()).lower()


def test_shared_transcript_plans_with_known_speakers_and_no_markers() -> None:
    _transcript()
    episode = read_script(TRANSCRIPT)
    voices = {
        "narrator": BUNDLED_VOICE,
        "Daniel Whitenack": BUNDLED_VOICE,
        "Chris Benson": PALETTE[1],
    }
    plan = _piper_plan(episode, voices)
    assert {s.speaker for s in plan.segments} == {"Daniel Whitenack", "Chris Benson"}
    assert all(s.kind == "dialogue" for s in plan.segments)
    assert not [s.spoken_text for s in plan.segments if NOT_SPOKEN.search(s.spoken_text)]
    assert plan.segments[0].text.startswith("Welcome to another Fully Connected episode")


def test_headings_start_chapters_in_a_transcript(tmp_path: Path) -> None:
    lines = _transcript().splitlines()
    at = next(
        i for i, line in enumerate(lines) if line.startswith("**Chris Benson:** Sorry, Bobby.")
    )
    edited = ["---", "title: Udio", "show: Practical AI", "episode: 265", "---",
              "## Music generation", *lines[:at], "## Copyright", *lines[at:]]  # fmt: skip
    episode = parse_script("\n".join(edited), source="265.md")
    assert [c.title for c in episode.chapters] == ["Music generation", "Copyright"]
    assert episode.chapters[1].turns[0].spoken() == ["Sorry, Bobby."]
    assert (episode.meta.title, episode.meta.number) == ("Udio", 265)


def test_editing_one_line_changes_exactly_one_segment_key() -> None:
    text = _transcript()
    voices = {
        "narrator": BUNDLED_VOICE,
        "Daniel Whitenack": BUNDLED_VOICE,
        "Chris Benson": PALETTE[1],
    }
    before = _piper_plan(parse_script(text), voices).segments
    edited = text.replace(
        "**Chris Benson:** Take care, Daniel.", "**Chris Benson:** Take care, Dan."
    )
    assert edited != text
    after = _piper_plan(parse_script(edited), voices).segments
    assert len(before) == len(after)
    changed = [(a.text, b.text) for a, b in zip(before, after, strict=True) if a.key != b.key]
    assert changed == [("Take care, Daniel.", "Take care, Dan.")]


# ---------------------------------------------------------------- five speakers


def test_five_speaker_script() -> None:
    episode = parse_script(FIVE, source="five.md")
    meta = episode.meta
    assert (meta.title, meta.show, meta.number) == ("Five at the table", "Round Table", 12)
    assert meta.date == datetime.date(2026, 11, 30) and meta.host == "Maya Chen"
    assert episode.speakers == ["Maya Chen", "Tom Okafor", "Rosa Díaz", "Lee Park", "Sam de Vries"]
    assert [c.title for c in episode.chapters] == ["Hello", "The news"]
    rosa, lee = episode.chapters[0].turns[2:4]
    assert rosa.spoken() == ["Rosa here (and yes, I brought cake)."]  # speech in brackets stays
    assert lee.spoken() == ["Lee. Long week."] and lee.paragraphs[0][1] == Cue("sigh", "sighs")
    tom = episode.chapters[1].turns[1]
    assert len(tom.paragraphs) == 2 and tom.spoken()[1].startswith("That is a continuation")
    # a cue after the last sentence goes inside it, so it is never a segment of its own
    assert episode.chapters[1].turns[-1].spoken({"laugh": "[laugh]"}) == ["Thanks, all [laugh]."]


def test_five_speakers_get_distinct_voices_kept_per_show(tmp_path: Path) -> None:
    episode = parse_script(FIVE, source="five.md")
    cast_path = show_cast_path(tmp_path, episode)
    assert cast_path == tmp_path / "Round Table" / "cast.toml"
    voices, _ = cast_episode(episode, cast_path, BUNDLED_VOICE, PALETTE)
    speakers = episode.speakers
    assert len({voices[s] for s in speakers}) == 5
    assert voices["Maya Chen"] == voices["narrator"] == BUNDLED_VOICE  # the host
    assert voices["Lee Park"].name == "joe-deep"  # the front matter's choice
    # next episode: a new guest, one regular absent; everyone else keeps their voice
    second = parse_script(
        FIVE.replace("Sam de Vries", "Ada Obi").replace("\nLee Park:", "\nRosa Díaz:")
    )
    again, members = cast_episode(second, cast_path, BUNDLED_VOICE, PALETTE)
    for name in ("Maya Chen", "Tom Okafor", "Rosa Díaz"):
        assert again[name] == voices[name]
    assert again["Ada Obi"] not in {voices[s] for s in speakers}
    assert {m.name for m in members} >= {*speakers, "Ada Obi"}  # the file keeps the absent


def test_more_speakers_than_the_palette_still_get_distinct_voices(tmp_path: Path) -> None:
    names = [f"Guest {chr(65 + i)}" for i in range(14)]
    script = "\n".join(f"**{name}:** Line {i}." for i, name in enumerate(names * 2))
    voices, _ = cast_episode(parse_script(script), tmp_path / "cast.toml", BUNDLED_VOICE, PALETTE)
    assert len({voices[n] for n in names}) == 14


def test_plan_of_five_speakers_keeps_each_speaker() -> None:
    episode = parse_script(FIVE)
    voices = {"narrator": BUNDLED_VOICE} | {
        s: v for s, v in zip(episode.speakers, PALETTE, strict=False)
    }
    plan = _piper_plan(episode, voices)
    assert list(dict.fromkeys(s.speaker for s in plan.segments)) == episode.speakers
    assert not [s for s in plan.segments if "laugh" in s.spoken_text.lower()]


# ---------------------------------------------------------------- a play


def test_play_acts_scenes_directions_and_asides() -> None:
    episode = parse_script(PLAY, source="lighthouse.txt")
    assert episode.meta.title == "The Lighthouse"
    assert [c.title for c in episode.chapters] == ["Act I: Scene 1", "Act I: Scene 2", "Act II"]
    assert episode.speakers == ["KEEPER", "ELSA", "OLD TOM"]
    first = episode.chapters[0]
    assert isinstance(first.items[0], Event) and first.items[0].kind == "direction"
    assert [t.spoken() for t in first.turns] == [
        ["The lamp is lit."],
        ["He says that every night."],
        ["Be quiet now, you have had your say."],
        ["Will you sleep?"],
    ]
    spoken = " ".join(_spoken(episode))
    assert "Enter" not in spoken and "Exeunt" not in spoken and "aside" not in spoken
    book = episode_book(episode)
    assert all(b.kind == BlockKind.SPEAKER_TURN for c in book.chapters for b in c.blocks)


def test_host_lines_lead_and_close_the_episode() -> None:
    episode = parse_script(FIVE)
    book = episode_book(episode, intro=["Welcome to Round Table."], outro=["Bye."])
    first, last = book.chapters[0].blocks[0], book.chapters[-1].blocks[-1]
    assert (first.text, first.speaker) == ("Welcome to Round Table.", "Maya Chen")
    assert (last.text, last.speaker) == ("Bye.", "Maya Chen")


# ---------------------------------------------------------------- what is not a speaker


def test_a_one_off_label_in_a_transcript_is_not_a_speaker() -> None:
    text = (
        "**Ann:** Here is my tip.\n\nExample: always test.\n\n**Bob:** Thanks.\n\n"
        "**Ann:** Welcome.\n\n**Bob:** Bye."
    )
    episode = parse_script(text)
    assert episode.speakers == ["Ann", "Bob"]
    assert episode.turns[0].spoken() == ["Here is my tip.", "Example: always test."]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("---\nepisode: twelve\n---\n**A:** hi", "episode must be a whole number"),
        ("---\ndate: 30/11/2026\n---\n**A:** hi", "date must be YYYY-MM-DD"),
        ("---\ntitle: [unclosed\n---\n**A:** hi", "bad front matter"),
        ("Just prose, nobody speaks here.", "no speaker turns"),
    ],
)
def test_bad_scripts_are_input_errors(text: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        parse_script(text, source="bad.md")


def test_timestamped_lines_lists_and_directions_keep_running_order() -> None:
    text = (
        "---\ntitle: Stamps\n---\n"
        "[00:00:01] Ann Park: Hello there.\n"
        "00:00:04 Bo Li: Hi.\n"
        "Ann Park: Our list:\n- first thing\n- second thing\n\n"
        "[Music fades in]\n\n"
        "Still Ann, after the music.\n"
    )
    episode = parse_script(text)
    items = episode.chapters[0].items
    assert [type(i).__name__ for i in items] == ["Turn", "Turn", "Turn", "Event"]
    ann = items[2]
    assert ann.spoken() == [
        "Our list:",
        "first thing",
        "second thing",
        "Still Ann, after the music.",
    ]
    assert (ann.speaker, ann.line) == ("Ann Park", 6)  # lines count from the file's top
    assert items[3].kind == "music"
