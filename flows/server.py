"""The Prefect API a CLI job reports to: PREFECT_API_URL when set, else a temporary server.

Without PREFECT_API_URL, Prefect starts a temporary ("ephemeral") server itself when the flow
begins. It imports the whole server application into this process only to launch it (1.5 s of
CPU, measured) and launches it only after the book is read and planned, so every short book
waited about 4 s more for it. `TemporaryServer` starts the same server, as Prefect does (its
ephemeral app factory under uvicorn, UI off), the moment the job starts and without importing
Prefect; `flow_api` points the flow at it. Should it not come up, the flow falls back to
Prefect's own temporary server, so a Prefect that changed its internals costs time, not a job.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

# Runs uvicorn (arguments as for `python -m uvicorn`) after importing Prefect's server with the
# garbage collector off, then freezing what the import made: collections during the import
# (pydantic builds a great many objects) found nothing to free and were a quarter of the
# server's start-up, 3.0 -> 2.2 s of CPU, ready 0.8 s sooner; frozen, those objects are not
# walked again by later collections either.
#
# It also watches its parent: a job killed with SIGKILL cannot stop its server, so the server
# exits by itself within a second of being orphaned (no process is left behind).
_BOOT = """
import gc, os, runpy, sys, threading, time
parent = os.getppid()
def _orphaned():
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)
threading.Thread(target=_orphaned, daemon=True).start()
gc.disable()
import prefect.server.api.server
gc.freeze()
gc.enable()
sys.argv[0] = "uvicorn"
runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
"""
_READY_TIMEOUT_S = 90.0  # Prefect's own default for its temporary server is 20 s; CI is slower
_PORT_IN_USE = 3  # uvicorn's exit status when the port was taken in the meantime


def api_url_configured() -> bool:
    """True when the user points Prefect at a server (env or profile): then it is used as is."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    from prefect.settings import PREFECT_API_URL  # reads profiles too; only when env is unset

    return bool(PREFECT_API_URL.value())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TemporaryServer:
    """A Prefect API server in a subprocess on a free loopback port, for one job."""

    def __init__(self) -> None:
        spec = importlib.util.find_spec("prefect")  # locates Prefect without importing it
        if spec is None or spec.origin is None:
            raise RuntimeError("prefect is not installed")
        self._app_dir = str(Path(spec.origin).parent.parent)
        self._log = tempfile.TemporaryFile()  # noqa: SIM115  (kept open until stop())
        self.ready: bool | None = None  # what wait_ready() found; None: not asked yet
        self._start()

    def _command(self) -> list[str]:
        """Prefect's own command for its temporary server (SubprocessASGIServer: uvicorn and
        Prefect's app factory), run by `_BOOT`."""
        return [
            sys.executable, "-c", _BOOT, "--app-dir", self._app_dir,
            "--factory", "prefect.server.api.server:create_app",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--log-level", "error", "--lifespan", "on",
        ]  # fmt: skip

    def _start(self) -> None:
        self.port = _free_port()
        self.process = subprocess.Popen(
            self._command(),
            env={
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # offline: it could never send
                "PREFECT__SERVER_EPHEMERAL": "1",  # as Prefect starts its temporary server
                "PREFECT__SERVER_FINAL": "1",
            },
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def wait_ready(self, timeout_s: float = _READY_TIMEOUT_S) -> bool:
        """Wait until the API answers its health check; False if the server died or hung."""
        self.ready = self._answers(timeout_s)
        return self.ready

    def _answers(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        retries = 3
        while time.monotonic() < deadline:
            status = self.process.poll()
            if status == _PORT_IN_USE and retries:
                retries -= 1
                self._start()
                continue
            if status is not None:
                return False
            health = f"{self.api_url}/health"
            with contextlib.suppress(OSError), urllib.request.urlopen(health, timeout=2) as answer:
                if answer.status == 200:
                    return True
            time.sleep(0.05)
        return False

    def log_tail(self) -> str:
        self._log.seek(0)
        lines = self._log.read().decode("utf-8", errors="replace").strip().splitlines()
        return lines[-1] if lines else "no output"

    def stop(self) -> None:
        """Stop the server, once Prefect has sent it what it still holds (logs and events are
        sent in batches by background workers; left alone they flush at exit, too late)."""
        if "prefect" in sys.modules:
            from prefect.events.worker import EventsWorker
            from prefect.logging.handlers import APILogWorker

            for service in (APILogWorker, EventsWorker):
                with contextlib.suppress(Exception):  # best effort: the job itself is done
                    service.drain_all(timeout=10)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@contextlib.contextmanager
def flow_api(server: TemporaryServer | None) -> Iterator[str | None]:
    """Settings for one CLI flow run; yields the API URL used (None: Prefect's own server).

    With `server` (which the caller stops afterwards), the flow reports to it once it is up.
    Against a temporary server, flow-run heartbeats (a lasting server's way of noticing a
    crashed run) tell nobody anything, and their thread, which sleeps in whole seconds, held
    every job up to a second after its work was done; so they are off there. A server the
    user configured gets Prefect's settings untouched.
    """
    from prefect.settings import temporary_settings

    if api_url_configured():
        yield None
        return
    updates: dict[str, object] = {"flows.heartbeat_frequency": None}
    url = None
    if server is not None and server.wait_ready():
        url = server.api_url
        updates["api.url"] = url
    with temporary_settings(updates=updates):
        yield url
