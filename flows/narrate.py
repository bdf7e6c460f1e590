"""Prefect flows for one book: here, or with its chapters fanned out to a work pool.

Every flow and task parameter is a plain value: the book's path, settings as a dict, the path
of the planned job (narration.jobfile) and a chapter's position. A task or flow on any worker
rebuilds what it needs from the job file and the segment store, which is the real checkpoint:
a retried task, a restarted run or another machine redoes only what is missing. Task caching
is off on purpose: the content-addressed store is the cache, across runs, servers and hosts.

What cannot travel (the engine workers, the M4B encoder fed while the book renders) lives in
the process that runs the book, in a `_Session` the tasks look up by the job file's path.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from flows.progress import BookProgress
from flows.retries import device_slot, worth_retrying
from narration import pipeline
from narration.audio.aac_stream import AacStream
from narration.chapter_audio import master_chapter_audio
from narration.errors import ChaptersFailed, OutOfSpace, SegmentsFailed, is_out_of_space
from narration.job_settings import open_renderer, resolve_settings
from narration.jobfile import load_job, save_job
from narration.joblock import job_lock
from narration.jobstate import DONE, FAILED, chapter_record_path, write_chapter_record
from narration.plan import ChapterPlan
from narration.progress import reporter
from narration.render.router import Renderer

# A renderer its caller already started (the CLI starts the workers before it even reads the
# book): scoped to the caller's `with rendering_with(...)`, never process-wide.
_PROVIDED: ContextVar[Renderer | None] = ContextVar("narration_renderer", default=None)


@contextmanager
def rendering_with(renderer: Renderer) -> Iterator[None]:
    """Flows called inside this block render with `renderer` (its owner closes it)."""
    token = _PROVIDED.set(renderer)
    try:
        yield
    finally:
        _PROVIDED.reset(token)


@dataclass
class _Session:
    """The live things of one book's run in this process."""

    job: pipeline.Job
    renderer: Renderer
    stream: AacStream | None = None
    failures: dict[str, str] = field(default_factory=dict)  # segment key -> why


# Chapter tasks running at once in this process. Prefect's default thread pool has no bound: one
# thread per chapter, each alive (stack, malloc arena, frames) for the whole run (73 threads in
# the CLI on Pride and Prejudice, more on a longer book). Chapters render in book order, so a
# later chapter's task would only wait; a few running ahead keep mastering busy. No deadlock:
# a chapter's task waits on segments and hands passages to the encoder, never on another task.
CHAPTERS_AT_ONCE = 4

_sessions: dict[str, _Session] = {}
_sessions_lock = threading.Lock()


@contextmanager
def _session(job_file: str, stream: AacStream | None = None) -> Iterator[_Session]:
    """The job's session for the duration: a renderer the caller provided, else one opened
    (and closed) here."""
    job = load_job(job_file)
    renderer = _PROVIDED.get()
    owned = renderer is None
    if renderer is None:
        renderer = open_renderer(job.settings, job.book_path)
    if renderer.on_segment is None:
        renderer.on_segment = lambda _key, seconds: reporter().segment_rendered(seconds)
    session = _Session(job, renderer, stream)
    with _sessions_lock:
        _sessions[job_file] = session
    try:
        yield session
    finally:
        with _sessions_lock:
            _sessions.pop(job_file, None)
        if owned:
            renderer.close()


def record_chapter(job: pipeline.Job, chapter: ChapterPlan, state: str, **details: Any) -> None:
    """The chapter's record (narration.jobstate), at the output URL too when there is one."""
    write_chapter_record(job.out_dir, chapter.index, chapter.title, state, **details)
    job.publish(chapter_record_path(job.out_dir, chapter.index))


@task(name="narrate-chapter", cache_policy=NO_CACHE)
def narrate_chapter(job_file: str, position: int) -> str:
    """Render and master one chapter passage by passage (waiting on segments already queued),
    each passage going to the M4B encoder, when there is one, as soon as it is mastered.

    One task per chapter, not a render and a master task each: every task run costs Prefect's
    server and client about 0.1 s of CPU, and a retry redoes only what is missing anyway."""
    with _sessions_lock:
        session = _sessions[job_file]
    job, stream = session.job, session.stream
    chapter = job.plan.chapters[position]
    encode = None if stream is None else partial(stream.add_passage, position)
    try:
        path = master_chapter_audio(job, chapter, render=session.renderer.render, on_passage=encode)
    except SegmentsFailed as exc:
        session.failures.update(exc.failures)
        raise
    for key in [s.key for s in chapter.segments]:
        session.failures.pop(key, None)
    if stream is not None:
        stream.add(position, path)
    record_chapter(job, chapter, DONE, audio=path.name)
    reporter().chapter_done(chapter.index, chapter.title)
    return str(path)


def _with_retries(job: pipeline.Job) -> Any:
    """The chapter task with the job's retry policy: engine and I/O failures are retried
    with exponential backoff and jitter; an input error is not (it would fail again)."""
    settings = job.settings
    return narrate_chapter.with_options(
        retries=settings.retries,
        retry_delay_seconds=exponential_backoff(backoff_factor=settings.retry_delay_s),
        retry_jitter_factor=0.5,
        retry_condition_fn=worth_retrying,
    )


@task(name="package-book", retries=1, cache_policy=NO_CACHE)
def package_book(job_file: str, chapter_files: list[str]) -> list[str]:
    reporter().stage("encoding")
    with _sessions_lock:
        session = _sessions.get(job_file)
    job = load_job(job_file)
    stream = session.stream if session is not None else None
    # A retry must not reuse a stream the failed attempt already finished (and removed).
    fresh = stream if stream is not None and not stream.finished else None
    outputs = pipeline.package(job, [Path(p) for p in chapter_files], fresh)
    return [str(p) for p in outputs]


@flow(
    name="narrate-book",
    log_prints=True,
    task_runner=ThreadPoolTaskRunner(max_workers=CHAPTERS_AT_ONCE),
)
def narrate_book(
    book: str,
    settings: dict[str, Any] | None = None,
    job_file: str | None = None,
    chapter_deployment: str | None = None,
) -> dict[str, Any]:
    """Narrate one book into out_root/<book>/ and return a summary of what was built.

    `job_file`: the job as already planned (narration.jobfile); else the book is read and
    planned here. `chapter_deployment`: a deployment of `narrate_chapter_flow` to fan the
    chapters out to (a work pool's workers, on any number of machines); else they are
    rendered in this process."""
    started = time.monotonic()
    if job_file is None:
        job_settings = resolve_settings(pipeline.JobSettings(**(settings or {})))
        job_file = save_job(pipeline.prepare_job(book, job_settings))
    job = load_job(job_file)
    with job_lock(job.out_dir):  # one job per book folder (re-entrant: the CLI holds it too)
        if chapter_deployment:
            from flows.fanout import render_on_pool

            outcome = render_on_pool(job, job_file, chapter_deployment)
        else:
            outcome = _render_here(job, job_file)
        return _finish(job, job_file, outcome, started)


@dataclass
class Outcome:
    """What rendering the chapters came to."""

    chapter_files: dict[int, str] = field(default_factory=dict)  # position -> mastered file
    failed: dict[int, str] = field(default_factory=dict)  # position -> why
    segment_errors: dict[str, str] = field(default_factory=dict)  # key -> why
    outputs: list[str] = field(default_factory=list)
    render_stats: dict[str, Any] = field(default_factory=dict)
    stream: AacStream | None = None


def _render_here(job: pipeline.Job, job_file: str) -> Outcome:
    logger = get_run_logger()
    unique, cached = pipeline.render_progress(job)
    reporter().job_started(len(job.plan.chapters), unique, cached)
    logger.info("%s: %d chapters, %d segments (%d cached)", job.book.title,
                len(job.plan.chapters), len(job.plan.segments), cached)  # fmt: skip
    if _PROVIDED.get() is None:  # nobody else is writing into this store: leftovers
        pipeline.remove_partial_files(job)
    pipeline.write_manifest_for(job)  # `narrate status` can follow the run from now on
    progress = BookProgress(job)
    outcome = Outcome(stream=pipeline.start_m4b_stream(job))
    chapter_task = _with_retries(job)
    try:
        with device_slot(job), _session(job_file, outcome.stream) as session:
            pipeline.prefetch(job, session.renderer)
            futures = {chapter_task.submit(job_file, i): i for i in range(len(job.plan.chapters))}
            if session.renderer.wait_idle():  # prefetch queued every missing segment
                # All are stored: the workers go, exiting in the background while the last
                # chapter is mastered. (After a failure they stay for the chapters' retries.)
                outcome.render_stats = session.renderer.stats()
                session.renderer.close(wait=False)
            for future in as_completed(list(futures)):
                position = futures[future]
                chapter = job.plan.chapters[position]
                result = future.result(raise_on_failure=False)
                if isinstance(result, BaseException) and is_out_of_space(result):
                    # Stop now: every other chapter would fail the same way, slowly.
                    session.renderer.stop(str(result))
                    raise OutOfSpace(job.out_dir) from result
                if isinstance(result, BaseException):
                    outcome.failed[position] = str(result)
                    errors = getattr(result, "failures", {})
                    outcome.segment_errors.update(errors)
                    record_chapter(job, chapter, FAILED,
                                         error=str(result), segments=sorted(errors))  # fmt: skip
                else:
                    outcome.chapter_files[position] = result
                    progress.chapter_done(chapter, Path(result))
            outcome.render_stats = outcome.render_stats or session.renderer.stats()
            if not outcome.failed:
                files = [outcome.chapter_files[i] for i in range(len(futures))]
                outcome.outputs = package_book(job_file, files)
    finally:
        if outcome.stream is not None:
            outcome.stream.abort()  # after packaging this only removes leftovers
    return outcome


def _finish(job: pipeline.Job, job_file: str, outcome: Outcome, started: float) -> dict[str, Any]:
    """Record the run (manifest, build.json, summary artifact); a run with failed chapters
    ends in ChaptersFailed, whose message is the report."""
    logger = get_run_logger()
    pipeline.write_manifest_for(job, outcome.segment_errors)
    files = [Path(f) for f in outcome.chapter_files.values()]
    audio_s = pipeline.audio_duration_s(files)
    wall_s = time.monotonic() - started
    stats: dict[str, Any] = {
        "audio_s": round(audio_s, 3),
        "wall_s": round(wall_s, 3),
        "segments": len(job.plan.segments),
        "segments_rendered": sum(r["segments_rendered"] for r in outcome.render_stats.values()),
        "render": outcome.render_stats,
    }
    stream = outcome.stream
    if stream is not None and stream.result is not None:  # measured on the encoded M4B
        stats.update(stream.result.levels())
    failed = {job.plan.chapters[p].index: why for p, why in sorted(outcome.failed.items())}
    pipeline.write_state(job, [Path(p) for p in outcome.outputs], stats, failed)
    BookProgress.summary(job, outcome.outputs, stats, failed)
    if failed:
        raise ChaptersFailed(failure_report(job, failed, outcome.segment_errors))
    logger.info("built %s: %.1f min audio in %.1f s", outcome.outputs, audio_s / 60, wall_s)
    shown = [job.location(Path(p)) for p in outcome.outputs]
    return {"outputs": shown, "job_file": job_file, **stats}


def failure_report(
    job: pipeline.Job, failed: dict[int, str], segment_errors: dict[str, str]
) -> str:
    """Which chapters failed and why, quoting the sentences that could not be rendered."""
    done = len(job.plan.chapters) - len(failed)
    lines = [
        f"{job.book_path}: {len(failed)} of {len(job.plan.chapters)} chapters failed "
        f"({done} done and kept; the book is not packaged until every chapter is; run again "
        "to retry, `narrate status` shows each chapter):"
    ]
    for chapter in job.plan.chapters:
        if chapter.index not in failed:
            continue
        lines.append(f"  chapter {chapter.index} {chapter.title!r}: {failed[chapter.index]}")
        bad = [s for s in chapter.segments if s.key in segment_errors]
        lines += [f"    could not render: {s.text[:70]!r}" for s in bad[:5]]
        if len(bad) > 5:
            lines.append(f"    ... and {len(bad) - 5} more sentences")
    return "\n".join(lines)


@flow(name="narrate-chapter")
def narrate_chapter_flow(job_file: str, position: int) -> str:
    """One chapter of a planned job, on whichever worker picks it up: its own engine workers,
    the job's retry policy, and the machine's GPU slot while a device engine renders."""
    job = load_job(job_file)
    chapter = job.plan.chapters[position]
    with device_slot(job), _session(job_file):
        try:
            return _with_retries(job)(job_file, position)
        except Exception as exc:
            errors = getattr(exc, "failures", {})
            record_chapter(job, chapter, FAILED,
                                 error=str(exc), segments=sorted(errors))  # fmt: skip
            raise
