"""Prefect flows: one book, or a folder of books overnight.

Tasks are coarse (a chapter: its synthesis and mastering; the packaging) and retry;
the segment store is the real checkpoint, so a retried or restarted task redoes only what is
missing. Every task is a thin call into `narration.pipeline`. Task caching is off on purpose:
our own content-addressed store is the cache, and it survives across flow runs and servers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from narration import pipeline
from narration.audio.aac_stream import AacStream
from narration.job_settings import open_renderer, resolve_settings
from narration.joblock import job_lock
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


@task(name="narrate-chapter", retries=2, retry_delay_seconds=3, cache_policy=NO_CACHE)
def narrate_chapter(
    job: pipeline.Job,
    chapter: ChapterPlan,
    position: int,
    renderer: Renderer,
    stream: AacStream | None,
) -> Path:
    """Render and master the chapter passage by passage (waiting on segments already queued),
    each passage going to the M4B encoder as soon as it is mastered.

    One task per chapter, not a render and a master task each: every task run costs Prefect's
    server and client about 0.1 s of CPU, and a retry redoes only what is missing anyway."""
    encode = None if stream is None else partial(stream.add_passage, position)
    path = pipeline.master_chapter_audio(job, chapter, render=renderer.render, on_passage=encode)
    if stream is not None:
        stream.add(position, path)
    reporter().chapter_done(chapter.index, chapter.title)
    return path


@task(name="package-book", retries=1, cache_policy=NO_CACHE)
def package_book(
    job: pipeline.Job, chapter_files: list[Path], stream: AacStream | None
) -> list[Path]:
    reporter().stage("encoding")
    # A retry must not reuse a stream the failed attempt already finished (and removed).
    fresh = stream if stream is not None and not stream.finished else None
    return pipeline.package(job, chapter_files, fresh)


@flow(name="narrate-book", log_prints=True)
def narrate_book(book_path: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Narrate one book into out_root/<book>/ and return a summary of what was built."""
    started = time.monotonic()
    job_settings = resolve_settings(pipeline.JobSettings(**(settings or {})))
    job = pipeline.prepare_job(book_path, job_settings)
    with job_lock(job.out_dir):  # one job per book folder (re-entrant: the CLI holds it too)
        return _narrate(job, started)


def _narrate(job: pipeline.Job, started: float) -> dict[str, Any]:
    logger = get_run_logger()
    segments = job.plan.segments
    unique, cached = pipeline.render_progress(job)
    reporter().job_started(len(job.plan.chapters), unique, cached)
    logger.info(
        "%s: %d chapters, %d segments (%d cached)",
        job.book.title,
        len(job.plan.chapters),
        len(segments),
        cached,
    )

    renderer = _PROVIDED.get()
    owned = renderer is None
    if renderer is None:  # nobody else is writing into this store: temp files are leftovers
        pipeline.remove_partial_files(job)
        renderer = open_renderer(job.settings, job.book_path)
    if renderer.on_segment is None:
        renderer.on_segment = lambda _key, seconds: reporter().segment_rendered(seconds)
    stream = pipeline.start_m4b_stream(job)
    render_stats: dict[str, Any] | None = None
    try:
        pipeline.prefetch(job, renderer)
        chapters = [
            narrate_chapter.submit(quote(job), quote(c), i, quote(renderer), quote(stream))
            for i, c in enumerate(job.plan.chapters)
        ]
        if renderer.wait_idle():  # prefetch queued every missing segment: all are stored
            # The workers go, exiting in the background (half a second each) while the last
            # chapter is mastered, whoever started them. (After a failed batch they stay for
            # its chapter's retry.)
            render_stats = renderer.stats()
            renderer.close(wait=False)
        chapter_files = [c.result() for c in chapters]
        outputs = package_book(quote(job), chapter_files, quote(stream))
        if render_stats is None:  # a failed batch was retried by its chapter's task
            render_stats = renderer.stats()
    finally:
        if owned:
            renderer.close()
        if stream is not None:
            stream.abort()  # after packaging this only removes leftovers
    pipeline.write_manifest_for(job)
    audio_s = pipeline.audio_duration_s(chapter_files)
    wall_s = time.monotonic() - started
    stats = {
        "audio_s": round(audio_s, 3),
        "wall_s": round(wall_s, 3),
        "segments": len(segments),
        "segments_rendered": sum(r["segments_rendered"] for r in render_stats.values()),
        "render": render_stats,
    }
    if stream is not None and stream.result is not None:  # measured on the encoded M4B
        stats.update(stream.result.levels())
    pipeline.write_state(job, outputs, stats)
    logger.info("built %s: %.1f min audio in %.1f s", outputs, audio_s / 60, wall_s)
    return {"outputs": [str(p) for p in outputs], **stats}


@flow(name="narrate-folder")
def narrate_folder(folder: str, settings: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The overnight job: every book in a folder, one after another; a failed book is logged
    and the rest go on (its finished segments stay in the store for the next night)."""
    logger = get_run_logger()
    results = []
    for path in sorted(Path(folder).iterdir()):
        if path.suffix.lower() not in {".epub", ".txt", ".md", ".markdown"}:
            continue
        try:
            results.append({"book": str(path), **narrate_book(str(path), settings)})
        except Exception as exc:  # one bad book must not stop the night's run
            logger.error("%s: %s", path, exc)
            results.append({"book": str(path), "error": str(exc)})
    return results
