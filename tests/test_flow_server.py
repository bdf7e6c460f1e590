"""The flow against a running Prefect server (PREFECT_API_URL), as an overnight deployment runs.

Starts a real `prefect server start` on loopback with its own PREFECT_HOME, narrates a small
book through the CLI pointed at it, and asks the server's API for the recorded flow run.
"""

from __future__ import annotations

import httpx
import pytest
from conftest import run_narrate

pytestmark = pytest.mark.slow


def test_narrate_runs_as_a_flow_on_a_prefect_server(prefect_server, tmp_path):
    api, env = prefect_server
    book = tmp_path / "note.md"
    book.write_text("# A Note\n\n## One\n\nThe kettle sang. Tea was ready at 4 o'clock.\n")
    result = run_narrate(book, "--out", tmp_path / "out", env={**env, "PREFECT_API_URL": api})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "note" / "note.m4b").is_file()
    runs = httpx.post(f"{api}/flow_runs/filter", json={}, timeout=10).json()
    by_flow = {}
    for run in runs:
        flow = httpx.get(f"{api}/flows/{run['flow_id']}", timeout=10).json()
        by_flow[flow["name"]] = run
    assert by_flow["narrate-book"]["state_type"] == "COMPLETED"
    tasks = httpx.post(f"{api}/task_runs/filter", json={}, timeout=10).json()
    names = {t["name"].rsplit("-", 1)[0] for t in tasks}
    assert {"narrate-chapter", "package-book"} <= names
