"""`narrate podcast --out URL`: the episode's outputs and the show's cast file go to the URL
(a file:// one here; fsspec treats s3:// and the rest alike). The cast file lives at
URL/<show>/cast.toml, so a second episode rendered on a fresh machine (an empty local
mirror) gets it from there and every returning speaker keeps their voice."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import run_narrate

pytestmark = pytest.mark.slow
FRONT = "---\ntitle: {title}\nshow: Harbour Radio\n---\n"
FIRST = FRONT.format(title="Tides") + (
    "NELL: The tide turns twice a day, whatever we do.\n"
    "OSKAR: And the boats wait for it, every single time.\n"
)
SECOND = FRONT.format(title="Nets") + (
    "PIA: I mend the nets on Sundays.\n"
    "OSKAR: And I bring the coffee while you do.\n"
    "NELL: Which is why the nets are never finished.\n"
)


def _voices(plan: Path) -> dict[str, str]:
    return {row["speaker"]: row["voice"] for row in pq.read_table(plan).to_pylist()}


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    folder = tmp_path_factory.mktemp("url")
    root = folder / "remote"
    url = f"file://{root}"
    runs = []
    for name, text, machine in (("tides", FIRST, "one"), ("nets", SECOND, "two")):
        script = folder / f"{name}.txt"
        script.write_text(text, encoding="utf-8")
        # each episode on a "machine" of its own: an empty cache, so an empty local mirror
        env = {"XDG_CACHE_HOME": str(folder / f"cache-{machine}")}
        result = run_narrate("podcast", script, "--out", url, "--no-intro", env=env)
        assert result.returncode == 0, result.stderr
        runs.append(result)
    return root, runs


def test_outputs_are_at_the_url(remote):
    root, _ = remote
    for episode in ("tides", "nets"):
        for name in (f"{episode}.mp3", f"{episode}.srt", f"{episode}.vtt", "feed.xml",
                     "plan.parquet", "build.json"):  # fmt: skip
            assert (root / episode / name).stat().st_size > 0, (episode, name)
    assert not list(root.rglob(".*.part"))  # no half-uploaded file left under the URL


def test_the_show_cast_is_uploaded_and_kept_across_machines(remote):
    root, _ = remote
    cast_file = root / "Harbour Radio" / "cast.toml"
    cast = tomllib.loads(cast_file.read_text(encoding="utf-8"))
    # the second machine started from the first's cast (fetched) and uploaded the merge
    assert {"NELL", "OSKAR", "PIA"} <= set(cast["characters"])
    first = _voices(root / "tides" / "plan.parquet")
    second = _voices(root / "nets" / "plan.parquet")
    assert first["NELL"] == second["NELL"] and first["OSKAR"] == second["OSKAR"]
    assert len({second["NELL"], second["OSKAR"], second["PIA"]}) == 3
    # nothing was written to a folder named after the URL in the working directory
    assert not Path("file:").exists()


def test_a_later_episode_opened_by_a_guest_keeps_the_show_host(tmp_path):
    """Without the URL: the file's host stays host (and alone in the narrator's voice) when
    a guest speaks first; a new host named in the front matter takes that voice, and the
    old host, in the same episode, gets one of their own."""
    from narration.cast.voices import BUNDLED_VOICE, derive_variants
    from narration.podcast.casting import cast_episode
    from narration.podcast.script import parse_script

    palette = [BUNDLED_VOICE, *derive_variants(BUNDLED_VOICE, pace_param="length_scale")]
    cast = tmp_path / "cast.toml"
    first, _ = cast_episode(parse_script(FIRST), cast, BUNDLED_VOICE, palette)
    assert first["NELL"] == BUNDLED_VOICE
    second_episode = parse_script(SECOND)
    second, _ = cast_episode(second_episode, cast, BUNDLED_VOICE, palette)
    assert second_episode.host == "NELL"
    assert second["NELL"] == BUNDLED_VOICE and second["OSKAR"] == first["OSKAR"]
    assert len({second[name] for name in ("NELL", "OSKAR", "PIA")}) == 3
    third_episode = parse_script(
        SECOND.replace("show:", "host: RUTH\nshow:") + "RUTH: Goodnight from the harbour.\n"
    )
    third, _ = cast_episode(third_episode, cast, BUNDLED_VOICE, palette)
    assert third["RUTH"] == BUNDLED_VOICE
    assert third["OSKAR"] == first["OSKAR"] and third["PIA"] == second["PIA"]
    assert len({third[name] for name in ("NELL", "OSKAR", "PIA", "RUTH")}) == 4
