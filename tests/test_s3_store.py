"""The store and outputs on s3://, served on 127.0.0.1 by a real S3-compatible server (moto's):
a book rendered there through the real CLI, then, from a machine that has nothing locally (a
fresh cache folder), a re-run that is up to date, and an edit that renders one segment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import httpx
import pytest
from conftest import run_narrate

from flows.server import _free_port
from narration.store import read_manifest

pytestmark = pytest.mark.slow
BUCKET = "audiobooks"


@pytest.fixture
def s3_endpoint(tmp_path):
    moto = shutil.which("moto_server")
    if moto is None:
        pytest.fail("moto_server is not installed (pip install 'moto[server]')")
    port = _free_port()
    server = subprocess.Popen(
        [moto, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    env = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": url,
    }
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.put(f"{url}/{BUCKET}", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "moto server did not come up"
            time.sleep(0.2)
        yield env
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=10)


def _objects(env: dict[str, str]) -> list[str]:
    import s3fs

    fs = s3fs.S3FileSystem(
        key="test", secret="test", client_kwargs={"endpoint_url": env["AWS_ENDPOINT_URL"]}
    )
    return [path.removeprefix(f"{BUCKET}/") for path in fs.find(BUCKET)]


def test_a_book_on_s3_then_up_to_date_from_a_fresh_machine(s3_endpoint, tmp_path):
    book = tmp_path / "tale.md"
    book.write_text(
        "# A Tale\n\n## One\n\nThe first chapter is short. It has two sentences.\n\n"
        "## Two\n\nThe second chapter is here. Then it ends.\n",
        encoding="utf-8",
    )
    out = f"s3://{BUCKET}/books"
    machine_a = {**s3_endpoint, "XDG_CACHE_HOME": str(tmp_path / "machine-a")}
    first = run_narrate(book, "--out", out, "--no-cast", env=machine_a)
    assert first.returncode == 0, first.stderr
    assert f"{out}/tale/tale.m4b" in first.stderr.replace("\n", "")
    objects = _objects(s3_endpoint)
    for name in ("tale.m4b", "plan.parquet", "build.json"):
        assert f"books/tale/{name}" in objects
    segments = [o for o in objects if o.startswith("books/tale/.cache/segments/")]
    (manifest,) = (tmp_path / "machine-a").glob("narration/remote/*/tale/plan.parquet")
    keys = {row["key"] for row in read_manifest(manifest)}
    assert {o.rsplit("/", 1)[1] for o in segments if o.endswith(".wav")} == {
        f"{key}.wav" for key in keys
    }
    chapters = [o for o in objects if o.startswith("books/tale/.cache/chapters/")]
    assert len([o for o in chapters if o.endswith(".wav")]) == 2  # mastered audio
    assert len([o for o in chapters if o.endswith(".json")]) == 2  # their records

    machine_b = {**s3_endpoint, "XDG_CACHE_HOME": str(tmp_path / "machine-b")}
    again = run_narrate(book, "--out", out, "--no-cast", env=machine_b)
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stderr

    book.write_text(book.read_text(encoding="utf-8") + "\nOne sentence more.\n")
    edited = run_narrate(book, "--out", out, "--no-cast", env=machine_b)
    assert edited.returncode == 0, edited.stderr
    local = tmp_path / "machine-b" / "narration" / "remote"
    (build_json,) = local.glob("*/tale/build.json")
    assert json.loads(build_json.read_text())["segments_rendered"] == 1
    status = run_narrate("status", out, env=machine_b)
    assert status.returncode == 0 and "[done]" in status.stdout, status.stdout + status.stderr
