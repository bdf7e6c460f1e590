"""The overnight machinery for real: a Prefect server on 127.0.0.1, `narrate deploy`, two workers
as separate processes sharing one book's chapters, the nightly scan, and `narrate status`."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import REPO, narrate_command, run_narrate, server_json

from flows.library import inbox_books, window_end

CHAPTERS = 4


def write_book(path: Path, chapters: int = CHAPTERS, title: str = "Small Book") -> Path:
    body = "\n\n".join(
        f"## Chapter {i}\n\n"
        + " ".join(f"Sentence {j} of chapter {i} is spoken plainly." for j in range(3))
        for i in range(1, chapters + 1)
    )
    path.write_text(f"# {title}\n\n{body}\n", encoding="utf-8")
    return path


def _start_worker(pool: str, name: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool,
         "--limit", "2", "--name", name],
        env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def _stop(process: subprocess.Popen) -> None:
    """By PID: SIGTERM to its process group, SIGKILL if it lingers."""
    with pytest.MonkeyPatch.context():
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass


@pytest.mark.slow
def test_a_book_shared_by_two_workers_of_a_pool(prefect_server, tmp_path):
    api, env = prefect_server
    env = {**env, "PREFECT_API_URL": api, "PREFECT_WORKER_QUERY_SECONDS": "1",
           "PREFECT_WORKER_PREFETCH_SECONDS": "1"}  # fmt: skip
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    book = write_book(inbox / "small.md")
    out = tmp_path / "out"
    deployed = run_narrate(
        "deploy", "--inbox", inbox, "--out", out, "--pool", "test-pool", "--cron", "0 2 * * *",
        env=env,
    )  # fmt: skip
    assert deployed.returncode == 0, deployed.stderr
    nightly = httpx.get(f"{api}/deployments/name/narrate-library/nightly", timeout=10).json()
    assert nightly["schedules"][0]["schedule"]["cron"] == "0 2 * * *"
    assert nightly["parameters"]["chapter_deployment"] == "narrate-chapter/pool"

    workers = [
        _start_worker("test-pool", f"w{i}", env, tmp_path / f"worker{i}.log") for i in (1, 2)
    ]
    try:
        time.sleep(2)  # both polling before the first run is scheduled
        settings = json.dumps({"out_root": str(out), "cast": False})
        run = subprocess.run(
            [sys.executable, "-m", "prefect", "deployment", "run", "narrate-book/pool",
             "-p", f"book={book}", "-p", f"settings={settings}", "--watch"],
            env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
    finally:
        for worker in workers:
            _stop(worker)
    for worker in workers:
        assert worker.poll() is not None  # stopped by PID

    book_dir = out / "small"
    assert (book_dir / "small.m4b").stat().st_size > 10_000
    records = [json.loads(p.read_text()) for p in sorted(book_dir.glob(".cache/chapters/*.json"))]
    assert [r["state"] for r in records] == ["done"] * CHAPTERS
    rendered_by = {r["parent_pid"] for r in records}
    assert rendered_by == {w.pid for w in workers}, (rendered_by, [w.pid for w in workers])

    tasks = httpx.post(f"{api}/task_runs/filter", json={}, timeout=10).json()
    packaged = [t for t in tasks if t["name"].startswith("package-book")]
    assert len(packaged) == 1  # the book is assembled once, by its own flow run
    flows = httpx.post(f"{api}/flows/filter", json={}, timeout=10).json()
    chapter_flow = next(f["id"] for f in flows if f["name"] == "narrate-chapter")
    runs = httpx.post(f"{api}/flow_runs/filter", json={}, timeout=10).json()
    chapter_runs = [r for r in runs if r["flow_id"] == chapter_flow]
    assert len(chapter_runs) == CHAPTERS
    assert all(r["state_type"] == "COMPLETED" for r in chapter_runs)

    status = run_narrate("status", out)
    assert status.returncode == 0, status.stderr
    assert "[done]" in status.stdout and f"{CHAPTERS}/{CHAPTERS} chapters done" in status.stdout


def test_window_end_is_the_next_such_time_of_day():
    evening = dt.datetime(2026, 12, 5, 23, 30)
    assert window_end(evening, "07:00") == dt.datetime(2026, 12, 6, 7, 0)
    night = dt.datetime(2026, 12, 6, 1, 0)
    assert window_end(night, "07:00") == dt.datetime(2026, 12, 6, 7, 0)
    assert window_end(night, None) is None


def test_inbox_lists_books_only(tmp_path):
    for name in ("b.epub", "a.txt", "c.md", "notes.pdf", ".hidden.docx"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "folder.txt").mkdir()
    assert [p.name for p in inbox_books(tmp_path)] == ["a.txt", "b.epub", "c.md"]


@pytest.mark.slow
def test_the_nightly_scan_skips_finished_books_and_respects_its_window(tmp_path):
    """The library flow itself, on a temporary server: two books rendered, then nothing to do;
    a changed book is rendered again; past the window nothing new starts."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_book(inbox / "one.md", 2, "One")
    write_book(inbox / "two.md", 2, "Two")
    out = tmp_path / "out"
    script = tmp_path / "night.py"
    # "late": the night starts at 06:59:30 and every later look at the clock says 07:00:30
    script.write_text(
        "import datetime as dt, itertools, json, sys\n"
        "import flows.library as library\n"
        "if sys.argv[3] == 'late':\n"
        "    day = dt.datetime(2026, 12, 6)\n"
        "    start, late = day.replace(hour=6, minute=59), day.replace(hour=7, minute=1)\n"
        "    clock = itertools.chain([start], itertools.repeat(late))\n"
        "    library._now = lambda: next(clock)\n"
        "settings = {'out_root': sys.argv[2], 'cast': False}\n"
        "states = [[r['book'].rsplit('/', 1)[1], r['state'], r.get('error')] for r in "
        "library.narrate_library(sys.argv[1], settings, stop_after='07:00')]\n"
        "open(sys.argv[4], 'w').write(json.dumps(states))\n"
    )

    nights = itertools.count()

    def night(clock: str = "") -> dict[str, str]:
        # Output to files, not pipes: a grandchild (Prefect's own temporary server, on its
        # way out) holding a pipe open would keep the test waiting after the script is done.
        states, log = tmp_path / "states.json", tmp_path / "night.log"
        # Each night's temporary server has a database of its own: no other test's server, nor
        # the last night's on its way out, can hold a lock on it. Creating that database takes
        # its migrations, past Prefect's 20 s start-up limit on a busy 2-core machine (seen).
        env = {
            **os.environ,
            "PREFECT_LOGGING_LEVEL": "ERROR",
            "PREFECT_HOME": str(tmp_path / f"prefect-{next(nights)}"),
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        }
        with log.open("wb") as sink:
            done = subprocess.run(
                [sys.executable, str(script), str(inbox), str(out), clock, str(states)],
                stdout=sink, stderr=subprocess.STDOUT, timeout=600, env=env,
            )  # fmt: skip
        assert done.returncode == 0, log.read_text()[-3000:]
        rows = json.loads(states.read_text())
        # a failed book's own words, so a failure here says why, not only that
        errors = {name: error for name, state, error in rows if state == "failed"}
        assert not errors, f"{errors}\n{log.read_text()[-3000:]}"
        return {name: state for name, state, _ in rows}

    assert night() == {"one.md": "done", "two.md": "done"}
    assert night() == {"one.md": "up to date", "two.md": "up to date"}
    write_book(inbox / "two.md", 3, "Two")  # changed: a chapter more
    assert night("late") == {"one.md": "left for the next run", "two.md": "left for the next run"}
    assert night() == {"one.md": "up to date", "two.md": "done"}


@pytest.mark.slow
def test_prefect_yaml_declares_the_same_deployments(prefect_server):
    api, env = prefect_server
    env = {**env, "PREFECT_API_URL": api, "NARRATION_HOME": str(REPO)}
    pool = subprocess.run(
        [sys.executable, "-m", "prefect", "work-pool", "create", "narration", "--type", "process"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deployed = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
        env=env, capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    for name in ("narrate-library/nightly", "narrate-book/pool", "narrate-chapter/pool"):
        found = httpx.get(f"{api}/deployments/name/{name}", timeout=10).json()
        assert found["work_pool_name"] == "narration", found
        assert found["pull_steps"][0]["prefect.deployments.steps.set_working_directory"] == {
            "directory": str(REPO)
        }
    nightly = httpx.get(f"{api}/deployments/name/narrate-library/nightly", timeout=10).json()
    assert nightly["schedules"][0]["schedule"]["cron"] == "0 1 * * *"


@pytest.mark.slow
def test_narrate_serve_runs_the_scan_it_schedules(prefect_server, tmp_path):
    """`narrate serve` in the foreground: its deployment is on the server with the schedule,
    and a run of it (started here rather than waiting for the cron) narrates the inbox."""
    api, env = prefect_server
    env = {**env, "PREFECT_API_URL": api}
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_book(inbox / "tiny.md", 1, "Tiny")
    out = tmp_path / "out"
    serve = subprocess.Popen(
        [*narrate_command(), "serve", "--inbox", str(inbox), "--out", str(out),
         "--cron", "30 3 * * *", "--stop-after", ""],
        env=env, stdout=(tmp_path / "serve.log").open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True, cwd=REPO,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            found = httpx.get(f"{api}/deployments/name/narrate-library/nightly", timeout=10)
            if found.status_code == 200:
                break
            assert serve.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "narrate serve did not register its deployment"
            time.sleep(1)
        deployment = found.json()
        assert deployment["schedules"][0]["schedule"]["cron"] == "30 3 * * *"
        run = server_json("POST", f"{api}/deployments/{deployment['id']}/create_flow_run", {})
        while True:
            state = server_json("GET", f"{api}/flow_runs/{run['id']}")["state_type"]
            if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                break
            assert time.monotonic() < deadline + 240, "the served run did not finish"
            time.sleep(1)
        assert state == "COMPLETED", (tmp_path / "serve.log").read_text()[-3000:]
        assert (out / "tiny" / "tiny.m4b").is_file()
    finally:
        _stop(serve)
