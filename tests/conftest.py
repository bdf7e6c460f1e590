import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
SAMPLE_BOOK = REPO / "books" / "the-lighthouse-keeper.epub"
PRIDE = CORPUS / "epub" / "valid" / "standardebooks_jane-austen_pride-and-prejudice.epub"


def narrate_command() -> list[str]:
    """The installed console script when there is one, else the same entry point via -m."""
    exe = shutil.which("narrate")
    return [exe] if exe else [sys.executable, "-m", "narration"]


def run_narrate(*args: str, timeout: float = 900, env: dict | None = None):
    return subprocess.run(
        [*narrate_command(), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def server_json(method: str, url: str, json: object = None, patience_s: float = 30) -> object:
    """One call to the Prefect API, its JSON body. A loaded CI machine can make the server's
    SQLite answer 5xx ("database is locked") or time out for a moment; those are retried, and
    any other failure is reported with the server's own words."""
    import httpx

    deadline = time.monotonic() + patience_s
    while True:
        try:
            response = httpx.request(method, url, json=json, timeout=10)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        else:
            if response.status_code < 500 or time.monotonic() > deadline:
                said = f"{response.status_code} {response.text}"
                assert response.is_success, f"{method} {url}: {said}"
                return response.json()
        time.sleep(1)


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture
def prefect_server(tmp_path):
    """A real `prefect server start` on loopback with its own PREFECT_HOME: (api url, env)."""
    import httpx

    from flows.server import _free_port

    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        # Kept in the test's folder: a failing API call is explained by the server's own log.
        stdout=(tmp_path / "prefect-server.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, "prefect server exited"
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "prefect server did not come up"
            time.sleep(0.5)
        yield api, env
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
