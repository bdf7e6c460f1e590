"""cast.toml says what the plan does: every character's voice there is the voice its lines
get in plan.parquet, and a first-person narrator ("I") is read by the narrator, so the file
says `voice = "narrator"` for it rather than offering a voice nobody hears."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from narration.pipeline import JobSettings, prepare_job, write_manifest_for
from narration.store import read_manifest

FIRST_PERSON_SCENE = [
    "I walked down to the harbour that morning, as I always did, and I found my old friend "
    "Holmes waiting for me on the quay. I confess my heart lifted when I saw him.",
    '"You are late, Watson," said Holmes. "I have been here since dawn."',
    '"I had a patient," I said. "An old sailor with a bad leg."',
    '"Then you will have seen the boat," said Mrs. Hudson, who had followed me down.',
    '"I saw nothing," I replied, and I meant it.',
    "She shook her head at me. Mrs. Hudson was never one to let a matter rest, and she told "
    "Holmes all about the boat while I stood and listened.",
    '"Very well," Holmes said to her. "We shall go and look at it together."',
]


def first_person_book(tmp_path: Path) -> Path:
    chapters = [f"CHAPTER {n}\n\n" + "\n\n".join(FIRST_PERSON_SCENE * 6) for n in ("I", "II")]
    path = tmp_path / "harbour.txt"
    path.write_text("\n\n".join(chapters) + "\n", encoding="utf-8")
    return path


def plan_and_cast(book: Path, out: Path) -> tuple[list[dict], dict]:
    job = prepare_job(book, JobSettings(out_root=str(out), cast=True))
    write_manifest_for(job)
    cast = tomllib.loads((job.out_dir / "cast.toml").read_text(encoding="utf-8"))
    return read_manifest(job.manifest_path), cast


def voice_label(spec: dict) -> str:
    """What plan.parquet's `voice` column shows for a voice table."""
    return spec.get("name") or spec["model"]


def check_cast_matches_plan(rows: list[dict], cast: dict) -> None:
    narrator = voice_label(cast["narrator"])
    expected = {}
    for name, character in cast["characters"].items():
        voice = character["voice"]
        expected[name] = narrator if voice == "narrator" else voice_label(voice)
    spoken = {(row["speaker"], row["voice"]) for row in rows if row["speaker"] != "narrator"}
    for speaker, voice in spoken:
        assert speaker in expected, f"{speaker} speaks in the plan but is not in cast.toml"
        assert voice == expected[speaker], (speaker, voice, expected[speaker])
    assert {row["voice"] for row in rows if row["speaker"] == "narrator"} == {narrator}


def test_every_characters_voice_in_the_cast_file_is_the_one_the_plan_uses(tmp_path):
    rows, cast = plan_and_cast(first_person_book(tmp_path), tmp_path / "out")
    check_cast_matches_plan(rows, cast)
    characters = cast["characters"]
    assert "I" in characters["Narrator"]["aliases"]
    assert characters["Narrator"]["voice"] == "narrator"
    assert any(row["speaker"] == "Narrator" for row in rows)  # the check above saw its lines
    # The other speakers have voices of their own: the narrator took none of theirs.
    for name in ("Holmes", "Mrs. Hudson"):
        assert isinstance(characters[name]["voice"], dict), name


def test_a_voice_the_file_gave_the_first_person_narrator_is_corrected(tmp_path):
    book, out = first_person_book(tmp_path), tmp_path / "out"
    plan_and_cast(book, out)
    cast_path = out / "harbour" / "cast.toml"
    text = cast_path.read_text(encoding="utf-8")
    # As an earlier version wrote it: a voice of its own that the plan never used.
    cast_path.write_text(
        text.replace(
            'voice = "narrator"',
            'voice = {engine = "piper", model = "en_US-joe-medium", name = "joe-soprano", '
            'gender = "F", effects = {pitch_median_hz = 228.0, formant_ratio = 1.19}}',
            1,
        ),
        encoding="utf-8",
    )
    assert "joe-soprano" in cast_path.read_text(encoding="utf-8")
    rows, cast = plan_and_cast(book, out)
    assert cast["characters"]["Narrator"]["voice"] == "narrator"
    check_cast_matches_plan(rows, cast)


@pytest.mark.parametrize(
    "aliases", ['["Narrator", "I", "Watson"]', '["I", "Watson"]'], ids=["kept", "dropped"]
)
def test_a_renamed_first_person_narrator_is_still_read_by_the_narrator(tmp_path, aliases):
    """Renamed in the file, with the old name kept in the aliases (as the file's header
    asks) or not: the first-person character is still the one aliased "I"."""
    book, out = first_person_book(tmp_path), tmp_path / "out"
    plan_and_cast(book, out)
    cast_path = out / "harbour" / "cast.toml"
    text = cast_path.read_text(encoding="utf-8")
    renamed = text.replace("[characters.Narrator]", '[characters."Dr. Watson"]').replace(
        'aliases = ["I", "Watson"]', f"aliases = {aliases}"
    )
    assert renamed != text
    cast_path.write_text(renamed, encoding="utf-8")
    rows, cast = plan_and_cast(book, out)
    assert "Narrator" not in cast["characters"]
    assert cast["characters"]["Dr. Watson"]["voice"] == "narrator"
    assert any(row["speaker"] == "Dr. Watson" for row in rows)
    check_cast_matches_plan(rows, cast)
