"""cast.toml: round trip, user edits respected across runs, bad files refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from narration.cast.castfile import (
    CastMember,
    apply_casting,
    merge_cast,
    read_cast,
    speaker_index,
    write_cast,
)
from narration.cast.voices import BUNDLED_VOICE, cast_voices, derive_variants
from narration.errors import InputError
from narration.model import Voice

NARRATOR = BUNDLED_VOICE
AVAILABLE = [NARRATOR, *derive_variants(pace_param="length_scale")]


def discovered() -> list[CastMember]:
    return [
        CastMember("Elizabeth Bennet", ["Lizzy", "Eliza"], "F", 300),
        CastMember("Mr. Darcy", ["Darcy"], "M", 200),
        CastMember("Jane", [], "F", 80),
        CastMember("Kitty", [], "U", 3),
    ]


def one_run(path: Path, found: list[CastMember]) -> list[CastMember]:
    """What the pipeline does: read what is there, merge, cast the uncast, write back."""
    if path.exists():
        narrator, existing = read_cast(path)
        cast = merge_cast(existing, found, narrator)
    else:
        narrator, cast = NARRATOR, found
    cast = apply_casting(cast, cast_voices(cast, narrator, AVAILABLE))
    write_cast(path, cast, narrator)
    return cast


def test_round_trip(tmp_path: Path):
    path = tmp_path / "cast.toml"
    written = one_run(path, discovered())
    narrator, members = read_cast(path)
    assert narrator == NARRATOR
    assert members == written
    assert all(m.voice is not None for m in members)
    for old, new in zip(written, members, strict=True):
        assert old.voice.fingerprint() == new.voice.fingerprint()
    assert path.read_text().startswith("# Cast of this book")
    assert not list(tmp_path.glob(".*part*"))  # no temp file left behind


def test_a_second_run_changes_nothing(tmp_path: Path):
    path = tmp_path / "cast.toml"
    one_run(path, discovered())
    before = path.read_text()
    one_run(path, discovered())
    assert path.read_text() == before


def test_user_edits_win_and_their_comments_stay(tmp_path: Path):
    path = tmp_path / "cast.toml"
    one_run(path, discovered())
    text = path.read_text()
    # the user: a comment, a new voice for Darcy, Jane read by the narrator, Kitty a girl
    text = text.replace('[characters."Mr. Darcy"]', '# proud\n[characters."Mr. Darcy"]')
    darcy_voice = text.index('[characters."Mr. Darcy".voice]')
    effects_at = text.index("effects = ", darcy_voice)
    line_end = text.index("\n", effects_at)
    text = (
        text[:effects_at]
        + "effects = {pitch_median_hz = 80, formant_ratio = 0.9}  # gruffer"
        + text[line_end:]
    )
    jane = text.index("[characters.Jane.voice]")
    text = text[:jane] + text[text.index("[characters.Kitty]") :]
    text = text.replace("[characters.Kitty]", 'voice = "narrator"\n\n[characters.Kitty]')
    text = text.replace(
        '[characters.Kitty]\naliases = []\ngender = "U"',
        '[characters.Kitty]\naliases = []\ngender = "F"  # a girl',
    )
    path.write_text(text)

    found = discovered()
    found[1].lines = 210
    cast = {m.name: m for m in one_run(path, found)}
    assert cast["Mr. Darcy"].voice.effects == (("formant_ratio", 0.9), ("pitch_median_hz", 80.0))
    assert cast["Mr. Darcy"].lines == 210
    assert cast["Jane"].voice == NARRATOR
    assert cast["Kitty"].gender == "F"
    after = path.read_text()
    assert "# proud" in after and "# gruffer" in after and "# a girl" in after
    assert read_cast(path)[1][2].voice == NARRATOR


def test_a_gender_edit_recasts_a_contradicting_voice(tmp_path: Path):
    path = tmp_path / "cast.toml"
    first = {m.name: m for m in one_run(path, discovered())}
    assert first["Kitty"].voice.gender == "M"  # U characters take any voice; this one is male
    narrator, members = read_cast(path)
    members[3].gender = "F"
    write_cast(path, members, narrator)
    second = {m.name: m for m in one_run(path, discovered())}
    assert second["Kitty"].gender == "F" and second["Kitty"].voice.gender == "F"
    assert second["Mr. Darcy"].voice == first["Mr. Darcy"].voice


def test_renames_via_aliases_new_characters_and_deletions(tmp_path: Path):
    path = tmp_path / "cast.toml"
    one_run(path, discovered())
    text = path.read_text().replace('"Elizabeth Bennet"', '"Lizzy B."')  # "Lizzy" stays an alias
    jane, kitty = text.index("[characters.Jane]"), text.index("[characters.Kitty]")
    text = text[:jane] + text[kitty:]  # deleted by the user
    text += '\n[characters."Narrator\'s Aunt"]\ngender = "F"\n'  # added by hand, never found
    path.write_text(text)

    found = [*discovered(), CastMember("Lydia", [], "F", 40), CastMember("Lizzy", [], "F", 5)]
    cast = one_run(path, found)
    names = [m.name for m in cast]
    assert names == ["Lizzy B.", "Mr. Darcy", "Kitty", "Narrator's Aunt", "Jane", "Lydia"]
    by_name = {m.name: m for m in cast}
    assert by_name["Lizzy B."].lines == 305  # both reports of her are one character
    assert by_name["Narrator's Aunt"].lines == 0 and by_name["Narrator's Aunt"].voice
    assert by_name["Lydia"].voice is not None and by_name["Lydia"].voice != NARRATOR


def test_speaker_index_maps_aliases_to_names():
    index = speaker_index(discovered())
    assert index["lizzy"] == "Elizabeth Bennet"
    assert index["darcy"] == "Mr. Darcy"
    assert index["jane"] == "Jane"


def test_integer_effects_read_back_as_floats(tmp_path: Path):
    path = tmp_path / "cast.toml"
    path.write_text(
        '[narrator]\nengine = "piper"\nmodel = "en_US-joe-medium"\nname = "joe"\ngender = "M"\n'
        '[characters.Bob.voice]\nengine = "piper"\nmodel = "en_US-joe-medium"\n'
        "effects = {pitch_median_hz = 120, formant_ratio = 1}\n"
    )
    _, (bob,) = read_cast(path)
    effects = (("formant_ratio", 1.0), ("pitch_median_hz", 120.0))
    same = Voice("piper", "en_US-joe-medium", effects=effects)
    assert bob.voice.fingerprint() == same.fingerprint()
    assert (bob.gender, bob.lines, bob.aliases) == ("U", 0, [])


NARRATOR_TOML = '[narrator]\nengine = "piper"\nmodel = "en_US-joe-medium"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[narrator\nengine = 1\n", "not valid TOML"),
        ('[characters.Bob]\ngender = "M"\n', "missing [narrator]"),
        (NARRATOR_TOML + '[characters.Bob]\ngender = "X"\n', 'characters.Bob.gender: must be "M"'),
        (NARRATOR_TOML + "[characters.Bob]\nlines = -2\n", "characters.Bob.lines"),
        (NARRATOR_TOML + '[characters.Bob]\ngendr = "M"\n', "characters.Bob.gendr: unknown key"),
        (NARRATOR_TOML + "[characters.Bob]\naliases = [1]\n", "characters.Bob.aliases"),
        (NARRATOR_TOML + '[characters.Bob]\nvoice = "loud"\n', "characters.Bob.voice: must be"),
        (
            NARRATOR_TOML + '[characters.Bob.voice]\nengine = "piper"\nmodel = "m"\n'
            "effects = {pitch = 3}\n",
            "characters.Bob.voice.effects: unknown voice effect 'pitch'",
        ),
        (
            NARRATOR_TOML + '[characters."Mr. X".voice]\nengine = "piper"\nmodel = "m"\n'
            "effects = {formant_ratio = 9}\n",
            "characters.\"Mr. X\".voice.effects: voice effect 'formant_ratio' = 9",
        ),
        (NARRATOR_TOML + '[characters.Bob.voice]\nengine = "piper"\n', "missing 'model'"),
        ('[narrator]\nengine = "piper"\nmodel = ""\n', "narrator.model: must be a non-empty"),
    ],
)
def test_bad_files_give_one_line_naming_the_file(tmp_path: Path, text: str, expected: str):
    path = tmp_path / "cast.toml"
    path.write_text(text)
    with pytest.raises(InputError) as error:
        read_cast(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_missing_file_and_broken_file_on_write(tmp_path: Path):
    path = tmp_path / "cast.toml"
    with pytest.raises(InputError, match="no such file"):
        read_cast(path)
    path.write_text("[narrator\n")
    with pytest.raises(InputError, match="not valid TOML"):
        write_cast(path, discovered(), NARRATOR)
    assert path.read_text() == "[narrator\n"  # the user's broken file is not overwritten
