"""The output steps' registry (narration.outputs): found by discovery, in chain order, and
the one list every other place reads (CLI choices, FORMATS, Job.output_paths)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from narration import outputs
from narration.job_settings import FORMATS, JobSettings
from narration.outputs import BOOK, PODCAST, chosen, default_formats, format_names, steps


def test_every_module_with_a_step_is_found_once_in_chain_order():
    names = [s.name for s in steps()]
    assert len(names) == len(set(names))
    assert {"m4b", "m4a", "mp3", "chapters", "srt", "vtt", "notes", "notes-html", "feed"} <= set(
        names
    )
    orders = [s.order for s in steps()]
    assert orders == sorted(orders)
    # audio first: the documents read the audio file back
    last_audio = max(i for i, s in enumerate(steps()) if s.audio)
    first_reader = min(i for i, s in enumerate(steps()) if s.needs_audio)
    assert last_audio < first_reader


def test_formats_and_defaults_come_from_the_registry():
    assert format_names() == FORMATS
    assert format_names(BOOK) == ("m4b", "mp3", "chapters")
    assert default_formats(BOOK) == ["m4b"] == JobSettings().formats
    assert default_formats(PODCAST)[0] == "mp3"
    assert "m4b" not in format_names(PODCAST)


def test_cli_choices_are_the_book_steps():
    from narration.cli import render

    option = next(p for p in render.params if p.name == "formats")
    assert tuple(option.type.choices) == format_names(BOOK)


def test_output_paths_in_chain_order_whatever_the_order_asked(tmp_path: Path):
    settings = JobSettings(formats=["chapters", "mp3", "m4b"])
    job = SimpleNamespace(out_dir=tmp_path / "book", settings=settings)
    assert outputs.output_paths(job) == [
        tmp_path / "book" / "book.m4b",
        tmp_path / "book" / "book.mp3",
        tmp_path / "book" / "chapters",
    ]


def test_a_step_of_another_kind_is_not_run():
    assert [s.name for s in chosen(BOOK, ["m4b", "feed"])] == ["m4b"]


def test_documents_without_audio_are_refused():
    with pytest.raises(ValueError, match="need an audio format"):
        chosen(PODCAST, ["srt", "feed"])


def test_plain_podcast_settings_get_the_podcast_outputs_and_profile():
    from narration.podcast.job import podcast_settings

    settings = podcast_settings(JobSettings(kind=PODCAST))  # as a flow would be given them
    assert settings.formats == default_formats(PODCAST)
    assert settings.master_settings().target_lufs == -16.0
    assert settings.master_settings().peak_dbtp == -1.0
    chosen_by_user = podcast_settings(JobSettings(formats=["m4a", "srt"], master={"peak_dbtp": -2}))
    assert chosen_by_user.formats == ["m4a", "srt"]
    assert chosen_by_user.master == {"target_lufs": -16.0, "peak_dbtp": -2}
