"""A full disk, said plainly: the real CLI with its output on a small filesystem stops within
seconds with one line naming the folder and "no space left on device", exit 1, no process left
behind, no partial file under a final name; after space is freed the same command resumes.

The filesystem is a tmpfs mounted in a private mount namespace (`unshare -rm`), so the test
needs no privileges beyond the user namespaces Linux grants by default."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow


def test_a_full_disk_stops_the_job_in_one_line_and_the_job_resumes(tmp_path):
    unshare = shutil.which("unshare")
    assert unshare, "util-linux's unshare is needed to mount a small filesystem"
    result = tmp_path / "result.json"
    env = {**os.environ, "PYTHONPATH": str(REPO / "tests")}
    done = subprocess.run(
        [unshare, "-rm", sys.executable, str(REPO / "tests" / "full_disk_scenario.py"),
         str(tmp_path / "small"), str(result)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(result.read_text())
    full, resumed = report["full"], report["resumed"]
    print(f"full disk: exit {full['returncode']} after {full['seconds']} s")

    assert full["returncode"] == 1
    errors = [line for line in full["stderr"].splitlines() if "error" in line]
    assert len(errors) == 1, full["stderr"]
    assert "no space left on device" in errors[0] and str(tmp_path / "small") in errors[0]
    assert "Traceback" not in full["stderr"]
    assert "warning:" in full["stderr"] and "needs about" in full["stderr"]  # said up front
    assert full["seconds"] < 30
    assert full["left_behind"] == []
    assert full["partial_files"] is None

    assert resumed["returncode"] == 0, resumed["stderr"]
    assert resumed["m4b"] and resumed["left_behind"] == []
