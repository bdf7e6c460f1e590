"""The temporary Prefect server a CLI job starts for itself (flows/server.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.request

import pytest
from conftest import REPO

from flows.server import TemporaryServer, flow_api


def _failing_command(self: TemporaryServer) -> list[str]:
    return [sys.executable, "-c", "import sys; print('no app factory here'); sys.exit(1)"]


@pytest.mark.slow
def test_the_server_answers_its_api_and_stops():
    server = TemporaryServer()
    try:
        assert server.wait_ready(), server.log_tail()
        with urllib.request.urlopen(f"{server.api_url}/health", timeout=5) as answer:
            assert answer.status == 200
        with urllib.request.urlopen(f"{server.api_url}/admin/version", timeout=5) as answer:
            assert json.loads(answer.read()).startswith("3.")  # a Prefect 3 API
    finally:
        server.stop()
    assert server.process.returncode is not None


def test_a_server_that_dies_leaves_the_flow_to_prefects_own(monkeypatch):
    from prefect.settings import get_current_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setattr(TemporaryServer, "_command", _failing_command)
    server = TemporaryServer()
    try:
        with flow_api(server) as url:
            assert url is None  # no API URL set: Prefect starts its own temporary server
            assert get_current_settings().api.url is None
            assert get_current_settings().flows.heartbeat_frequency is None
        assert server.log_tail() == "no app factory here"
    finally:
        server.stop()


def test_a_configured_server_is_used_as_it_is(monkeypatch):
    from prefect.settings import get_current_settings

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    before = get_current_settings().flows.heartbeat_frequency
    with flow_api(None) as url:
        assert url is None
        assert get_current_settings().flows.heartbeat_frequency == before


_RUN_CLI = textwrap.dedent(
    """
    import sys
    from narration import cli
    import flows.server
    if sys.argv[1] == "broken":
        flows.server.TemporaryServer._command = lambda self: [sys.executable, "-c", "exit(1)"]
    try:
        cli.app.main([sys.argv[2], "--out", sys.argv[3], "--no-cast"], standalone_mode=False)
    finally:
        print("SERVER-APP-IMPORTED", "prefect.server.api.server" in sys.modules)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("server", ["ours", "broken"])
def test_a_job_runs_on_its_own_server_or_on_prefects(tmp_path, server):
    """Our server: the job never imports Prefect's server application (1.5 s of CPU) into
    its own process. A server that fails to start: the job still finishes, on Prefect's."""
    book = tmp_path / "short.txt"
    book.write_text("# One\n\nThe lamp was lit.\n\n# Two\n\nThe night was long.\n")
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    result = subprocess.run(
        [sys.executable, "-c", _RUN_CLI, server, str(book), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "out" / "short" / "short.m4b").stat().st_size > 0
    imported = "SERVER-APP-IMPORTED True" in result.stdout
    assert imported == (server == "broken"), result.stdout[-500:]
    assert ("did not start" in result.stderr) == (server == "broken")
