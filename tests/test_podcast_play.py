"""A five-speaker play in `NAME: line` form, rendered end to end by `narrate podcast` with
the default engine (the bundled Piper voice): five distinct voices, one chapter per act,
stage directions kept out of what is spoken, and every output written."""

from __future__ import annotations

import re
import tomllib

import pyarrow.parquet as pq
import pytest
from conftest import run_narrate

from narration.audio.tags import read_chapters

pytestmark = pytest.mark.slow
SPEAKERS = ("KEEPER", "MARTHA", "THE CAPTAIN", "TOBY", "Dr. Wren")
PLAY = """# The Lamp Room

## Act I

[A lighthouse at dusk. Thunderous surf below. The KEEPER polishes the great lens.]

KEEPER: Another storm, and the oil is nearly gone.
MARTHA: Then we burn the furniture, as my mother did in the winter of the wreck.
THE CAPTAIN: [bursting in, soaked] Keeper! There is a ship without lights off the point.
TOBY (whispering): Is it the ghost ship, the one from the old songs?
Dr. Wren: There are no ghost ships, boy, only tired sailors and bad charts.

[Lightning. Everyone freezes.]

## Act II

[Morning. The storm has passed; gulls wheel overhead.]

MARTHA: The ship came in safely. Not one soul was lost.
THE CAPTAIN: Your lamp burned all night, and we followed it home.
TOBY: [to the Keeper] Can I light it tonight?
KEEPER: Only if you promise to polish the lens first.
Dr. Wren: And to keep your hands away from the oil.
"""
DIRECTION_WORDS = ("dusk", "Thunderous", "polishes", "bursting", "soaked", "whispering",
                   "Lightning", "freezes", "gulls", "wheel", "to the Keeper")  # fmt: skip


@pytest.fixture(scope="module")
def play(tmp_path_factory):
    folder = tmp_path_factory.mktemp("play")
    script = folder / "lamp-room.txt"
    script.write_text(PLAY, encoding="utf-8")
    out = folder / "out"
    result = run_narrate("podcast", script, "--out", out)
    assert result.returncode == 0, result.stderr
    rows = pq.read_table(out / "lamp-room" / "plan.parquet").to_pylist()
    return out, out / "lamp-room", rows


def test_five_distinct_voices(play):
    _, _, rows = play
    voices: dict[str, set[str]] = {}
    for row in rows:
        voices.setdefault(row["speaker"], set()).add(row["voice"])
    assert set(SPEAKERS) <= set(voices), sorted(voices)
    assert all(len(voices[s]) == 1 for s in SPEAKERS), voices
    assert len({next(iter(voices[s])) for s in SPEAKERS}) == 5, voices
    assert {row["engine"] for row in rows} == {"piper"}
    assert all(row["duration_s"] for row in rows)  # every line was rendered


def test_acts_are_chapters(play):
    _, episode, rows = play
    marks = read_chapters(episode / "lamp-room.mp3")
    assert [m.title for m in marks] == ["Act I", "Act II"]
    assert 0 == marks[0].start_s < marks[1].start_s < marks[1].end_s
    assert {row["chapter_title"] for row in rows} == {"Act I", "Act II"}


def test_stage_directions_are_not_spoken(play):
    _, _, rows = play
    spoken = " ".join(row["spoken_text"] for row in rows)
    for word in DIRECTION_WORDS:
        assert word.lower() not in spoken.lower(), word
    assert not re.search(r"[\[\]()]", spoken)
    # and the lines around them are: the one after a leading direction, with its words
    assert "There is a ship without lights off the point." in spoken
    assert "Can I light it tonight?" in spoken
    lines = {row["speaker"]: row["spoken_text"] for row in rows if row["speaker"] == "TOBY"}
    assert lines  # TOBY (whispering): the direction is not part of the name


def test_every_output_is_written(play):
    out, episode, _ = play
    for name in ("lamp-room.mp3", "lamp-room.srt", "lamp-room.vtt", "lamp-room.notes.md",
                 "lamp-room.notes.html", "feed.xml", "build.json", "plan.parquet"):  # fmt: skip
        assert (episode / name).stat().st_size > 0, name
    cast = tomllib.loads((out / "The Lamp Room" / "cast.toml").read_text(encoding="utf-8"))
    assert set(SPEAKERS) <= set(cast["characters"])
    notes = (episode / "lamp-room.notes.md").read_text(encoding="utf-8")
    assert "Act II" in notes and "Dr. Wren" in notes
