"""The render layer: batching rules, memory-sized batches, out-of-memory halving, dead workers,
the duration guard, and the remote backend's concurrency cap. Workers are real spawned
processes running the engines in tests/render_engines.py."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import render_engines

from narration.model import Voice
from narration.render.dispatch import DevicePolicy, PoolPolicy, _Queued
from narration.render.router import Renderer
from narration.render.sizing import BatchSizer
from narration.render.takes import DurationGuard, RenderJob
from narration.store import SegmentStore

DEVICE = "render_engines:DeviceEngine"
POOL = "render_engines:PoolEngine"
REMOTE = "render_engines:RemoteEngine"
VOICE_A = Voice(engine="fake-device", model_id="fake", name="a")
VOICE_B = Voice(engine="fake-device", model_id="fake", name="b")


@pytest.fixture(autouse=True)
def _own_calibration_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def _jobs(count: int, voice: Voice = VOICE_A, length: int = 60, prefix: str = "") -> list:
    return [
        RenderJob(f"{prefix}{voice.name}{i:04d}", ("word " * 40)[: length + i % 7], voice)
        for i in range(count)
    ]


def _events(log) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def _queue(jobs) -> list[_Queued]:
    return [_Queued(i, job) for i, job in enumerate(jobs)]


# ---------------------------------------------------------------- policies (no processes)


def test_pool_hands_out_the_last_segments_one_by_one():
    """Whole batches at the end left one worker idle while the other finished its batch."""
    policy = PoolPolicy(4)
    queue = _queue(_jobs(40))
    sizes = []
    while queue:
        sizes.append(len(policy.take(queue, workers=2)))
    assert sizes == [4] * 6 + [1] * 16
    queue = _queue(_jobs(17))
    assert [len(policy.take(queue, 2)) for _ in range(17)] == [1] * 17


def test_device_batches_share_a_voice_and_similar_lengths_in_reading_order():
    sizer = BatchSizer(fixed_size=3, max_size=3)
    policy = DevicePolicy(lambda job: job.voice, sizer)
    lengths = [50, 200, 52, 49, 199, 51, 201]
    voices = [VOICE_A, VOICE_A, VOICE_B, VOICE_A, VOICE_A, VOICE_A, VOICE_A]
    jobs = [
        RenderJob(f"k{i}", "x" * n, v) for i, (n, v) in enumerate(zip(lengths, voices, strict=True))
    ]
    queue = _queue(jobs)
    first = [q.job.key for q in policy.take(queue, 1)]
    assert first == ["k0", "k3", "k5"]  # the head, then the closest lengths of its voice
    second = [q.job.key for q in policy.take(queue, 1)]
    assert second == ["k1", "k4", "k6"]  # the long ones together
    assert [q.job.key for q in policy.take(queue, 1)] == ["k2"]  # the other voice alone


def test_batch_sizer_fits_the_calibration_and_caches_it(tmp_path):
    sizer = BatchSizer.for_device(4, 64, "fake|dev|v1", budget_bytes=1_000_000)
    assert sizer.calibrating and [sizer.cap(100) for _ in range(1)] == [1]
    for n in (1, 2, 4):
        assert sizer.cap(100) == n
        sizer.observe(n, 100, 5000 + 10 * n * 100)
    assert not sizer.calibrating and sizer.source == "calibrated"
    assert sizer.cap(100) == (1_000_000 - 5000) // (10 * 100) // 1 or sizer.cap(100) == 64
    assert sizer.cap(5000) == int((1_000_000 - 5000) // (10 * 5000))  # long texts: fewer
    again = BatchSizer.for_device(4, 64, "fake|dev|v1", budget_bytes=1_000_000)
    assert again.source == "cached" and not again.calibrating
    assert again.cap(5000) == sizer.cap(5000)
    again.out_of_memory(16)
    assert again.cap(10) == 8  # the ceiling an out-of-memory error set


def test_duration_guard_learns_the_voice_rate():
    guard = DurationGuard(min_takes=3)
    text = "a" * 150
    assert guard.plausible(VOICE_A, text, 10.0)  # nominal 15 chars/s
    for _ in range(3):
        guard.accept(VOICE_A, text, 20.0)  # this voice is slow: 7.5 chars/s
    assert guard.expected_s(VOICE_A, text) == pytest.approx(20.0)
    assert not guard.plausible(VOICE_A, text, 80.0) and guard.plausible(VOICE_A, text, 30.0)


# ---------------------------------------------------------------- the device backend


def _renderer(tmp_path, **options) -> Renderer:
    return Renderer(str(tmp_path / "store"), {DEVICE: {"log": str(tmp_path / "log"), **options}})


def test_device_batches_follow_the_memory_budget(tmp_path):
    # base 1000 B, 10 B per char and item: with ~66-char texts a 9000 B budget fits 12 items
    renderer = _renderer(tmp_path, budget_bytes=9000)
    jobs = _jobs(60)
    try:
        durations = renderer.render(jobs)
    finally:
        renderer.close()
    assert set(durations) == {j.key for j in jobs}
    batches = [e for e in _events(tmp_path / "log") if e["event"] == "batch"]
    assert [b["size"] for b in batches[:3]] == [1, 2, 4]  # calibration at typical lengths
    for batch in batches[3:]:
        assert batch["cost"] <= 9000  # never over the budget
    assert max(b["size"] for b in batches[3:]) >= 10  # and filled to it
    stats = renderer.stats()["fake-device"]
    assert stats["memory"]["source"] == "calibrated"
    assert stats["memory"]["per_char_item_bytes"] == pytest.approx(10, rel=0.01)
    assert sum(int(n) * c for n, c in stats["batch_sizes"].items()) == 60


def test_out_of_memory_halves_the_batch_and_everything_renders(tmp_path):
    # The meter overstates free memory: batches over 3000 B raise torch's OutOfMemoryError.
    renderer = _renderer(tmp_path, budget_bytes=20000, oom_above_bytes=3000)
    jobs = _jobs(40)
    try:
        durations = renderer.render(jobs)
    finally:
        renderer.close()
    assert len(durations) == 40 and all(d > 0 for d in durations.values())
    stats = renderer.stats()["fake-device"]
    ceiling = stats["memory"]["oom_ceiling"]
    assert ceiling is not None and ceiling <= 3
    batches = [e for e in _events(tmp_path / "log") if e["event"] == "batch"]
    after = batches[[b["cost"] > 3000 for b in batches].index(True) + 1 :]
    assert after and all(b["size"] <= ceiling for b in after)


def test_the_model_loads_once_and_is_called_from_one_thread(tmp_path):
    renderer = _renderer(tmp_path)
    try:
        # two callers at once, as Prefect's thread runner calls it (one thread per chapter)
        halves = [_jobs(20, prefix="x"), _jobs(20, prefix="y")]
        threads = [threading.Thread(target=renderer.render, args=(h,)) for h in halves]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(SegmentStore(tmp_path / "store").has(j.key) for h in halves for j in h)
    finally:
        renderer.close()
    events = _events(tmp_path / "log")
    loads = [e for e in events if e["event"] == "load"]
    assert len(loads) == 1
    assert len({(e["pid"], e["thread"]) for e in events}) == 1  # one process, one thread


def test_a_worker_killed_mid_batch_is_replaced_and_its_batch_retried(tmp_path):
    renderer = _renderer(tmp_path, kill_marker=str(tmp_path / "killed"))
    jobs = _jobs(30)
    try:
        durations = renderer.render(jobs)
        stats = renderer.stats()["fake-device"]
    finally:
        renderer.close()
    assert (tmp_path / "killed").exists()
    assert set(durations) == {j.key for j in jobs}
    assert stats["worker_restarts"] == 1
    assert len({e["pid"] for e in _events(tmp_path / "log") if e["event"] == "load"}) == 2


def test_an_implausible_take_is_rendered_again_with_another_seed(tmp_path):
    renderer = _renderer(tmp_path, babble="babble")
    jobs = [
        RenderJob("k-calm", "A calm and ordinary sentence of some length.", VOICE_A),
        RenderJob("k-babble", "This one will babble on and on for ever.", VOICE_A),
    ]
    try:
        renderer.render(jobs)
    finally:
        renderer.close()
    store = SegmentStore(tmp_path / "store")
    assert store.takes("k-calm") == 1 and store.takes("k-babble") == 2
    assert store.duration_s("k-babble") < 5  # the 30 s take was not kept
    # What a re-run finds: both accepted takes under their keys (so it renders nothing), and
    # the record of the retake, which the manifest reports.
    assert all(store.has(j.key) for j in jobs)
    assert json.loads(store.take_path("k-babble").read_text())["seed"] != 0


def test_segments_go_to_their_voices_engines(tmp_path):
    pool_voice = Voice(engine="fake-pool", model_id="fake", name="p")
    renderer = Renderer(str(tmp_path / "store"), {DEVICE: {"log": str(tmp_path / "log")}, POOL: {}})
    jobs = _jobs(6) + _jobs(6, pool_voice)
    try:
        renderer.render(jobs)
        stats = renderer.stats()
    finally:
        renderer.close()
    store = SegmentStore(tmp_path / "store")
    rates = {j.voice.engine: store.read(j.key)[1] for j in jobs}
    assert rates == {"fake-device": 24000, "fake-pool": 22050}
    assert stats["fake-pool"]["placement"] == "pool" and stats["fake-pool"]["processes"] == 2
    assert stats["fake-device"]["placement"] == "device"


# ---------------------------------------------------------------- the remote backend


class _ToneServer(BaseHTTPRequestHandler):
    lock = threading.Lock()
    active = 0
    most = 0
    served = 0

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        cls = type(self)
        with cls.lock:
            cls.active += 1
            cls.most = max(cls.most, cls.active)
        try:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            time.sleep(0.05)
            audio = render_engines.tone(body["text"], body["seed"]).astype(np.float32)
            self.send_response(200)
            self.send_header("Content-Length", str(audio.nbytes))
            self.end_headers()
            self.wfile.write(audio.tobytes())
        finally:
            with cls.lock:
                cls.active -= 1
                cls.served += 1

    def log_message(self, *args) -> None:
        pass


def test_remote_requests_never_exceed_the_servers_batch(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ToneServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/tts"
    voice = Voice(engine="fake-remote", model_id="fake", name="r")
    renderer = Renderer(str(tmp_path / "store"), {REMOTE: {"url": url, "concurrency": 3}})
    try:
        durations = renderer.render(_jobs(24, voice))
    finally:
        renderer.close()
        server.shutdown()
    assert len(durations) == 24 and _ToneServer.served == 24
    assert _ToneServer.most == 3  # as many as allowed, never more


# ---------------------------------------------------------------- a whole book


@pytest.mark.slow
def test_a_book_completes_through_out_of_memory_and_a_killed_worker(tmp_path):
    """The real CLI and flow, dialogue on a device engine that runs out of memory (torch's own
    error) and whose worker is SIGKILLed mid-batch: the book still comes out whole."""
    import pyarrow.parquet as pq
    from conftest import REPO, SAMPLE_BOOK, run_narrate

    log, marker = tmp_path / "log", tmp_path / "killed"
    options = {
        "log": str(log),
        "budget_bytes": 50000,
        "oom_above_bytes": 2500,
        "kill_marker": str(marker),
    }
    args = [f"-O{DEVICE}.{key}={json.dumps(value)}" for key, value in options.items()]
    env = {"PYTHONPATH": str(REPO / "tests"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = run_narrate(
        SAMPLE_BOOK, "--dialogue-engine", DEVICE, *args, "--out", tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    out = tmp_path / SAMPLE_BOOK.stem
    assert (out / f"{SAMPLE_BOOK.stem}.m4b").stat().st_size > 0
    rows = pq.read_table(out / "plan.parquet").to_pylist()
    assert all(r["duration_s"] for r in rows)  # every segment rendered
    assert {r["engine"] for r in rows if r["kind"] == "dialogue" and r["speaker"] != "I"} == {
        "fake-device"
    }
    events = _events(log)
    assert marker.exists() and len([e for e in events if e["event"] == "load"]) == 2
    assert any(e["event"] == "batch" and e["cost"] > 2500 for e in events)  # it did OOM
    stats = json.loads((out / "build.json").read_text())["render"]["fake-device"]
    assert stats["worker_restarts"] == 1 and stats["memory"]["oom_ceiling"] is not None
