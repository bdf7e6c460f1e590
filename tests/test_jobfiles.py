"""The planned job file, chapter records and the mirror of an output URL, as units."""

from __future__ import annotations

import os
import pickle
import stat
import subprocess
import sys

import pytest
from conftest import REPO, SAMPLE_BOOK

from narration.atomic import atomic_write_text
from narration.jobstate import book_status, describe, write_chapter_record
from narration.pipeline import JobSettings, prepare_job, write_manifest_for
from narration.storage import Mirror, is_url


@pytest.fixture
def job(tmp_path):
    return prepare_job(SAMPLE_BOOK, JobSettings(out_root=str(tmp_path / "out"), cast=False))


def test_a_job_file_is_read_back_by_another_process(job, tmp_path):
    from narration.jobfile import save_job

    path = save_job(job)
    probe = (
        "import sys\n"
        "from narration.jobfile import load_job\n"
        "job = load_job(sys.argv[1])\n"
        "print(job.plan.fingerprint(), job.out_dir, sorted(job.engines))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, path], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert done.stdout.split() == [job.plan.fingerprint(), str(job.out_dir), "['piper']"]


def test_a_new_plan_replaces_the_old_job_file(job):
    from dataclasses import replace

    from narration.jobfile import save_job

    first = save_job(job)
    changed = prepare_job(SAMPLE_BOOK, replace(job.settings, chapters=[1]))
    second = save_job(changed)
    assert first != second and not os.path.exists(first) and os.path.exists(second)


def test_finished_files_get_the_users_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / "done.txt"
        atomic_write_text(target, "x")
    finally:
        os.umask(old)
    # 0644 under umask 022 (the module read the umask at import; CI runs with 022)
    assert stat.S_IMODE(target.stat().st_mode) & 0o044 == 0o044


def test_status_follows_chapter_records(job):
    write_manifest_for(job)
    first, second = job.plan.chapters[:2]
    write_chapter_record(job.out_dir, first.index, first.title, "done")
    write_chapter_record(job.out_dir, second.index, second.title, "failed", error="engine died")
    status = book_status(job.out_dir)
    assert status.state == "not started"  # no segment rendered yet, no build.json
    states = [c.state for c in status.chapters]
    assert states[:2] == ["done", "failed"] and set(states[2:]) == {"waiting"}
    text = "\n".join(describe(status))
    assert "engine died" in text and f"0/{status.segments} segments" in text


def test_a_mirror_publishes_and_fetches_through_fsspec(tmp_path):
    remote = tmp_path / "remote"
    url = f"file://{remote}"
    assert is_url(url) and not is_url(tmp_path)
    here = Mirror(url, tmp_path / "here")
    made = here.local / ".cache" / "chapters" / "001.json"
    atomic_write_text(made, "{}")
    atomic_write_text(here.local / ".cache" / "chapters" / ".001.json.tmp.part", "partial")
    here.publish(here.local / ".cache")
    assert (remote / ".cache" / "chapters" / "001.json").read_text() == "{}"
    assert not list(remote.rglob(".*.part"))  # temp files stay home
    assert here.names(here.local / ".cache") == {"001.json"}

    there = pickle.loads(pickle.dumps(Mirror(url, tmp_path / "there")))  # as workers get it
    wanted = there.local / ".cache" / "chapters" / "001.json"
    assert there.exists(wanted) and there.fetch(wanted) and wanted.read_text() == "{}"
    assert not there.fetch(there.local / "nothing.json")
