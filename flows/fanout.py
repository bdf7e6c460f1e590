"""A book's chapters as separate flow runs in a work pool, so N machines share one book.

The parent (narrate_book with a chapter deployment) starts one run of `narrate_chapter_flow`
per chapter not yet mastered, waits for them all, then assembles the book itself, once. Every
worker reads the same job file and writes into the same store and chapter folder, so the
output root must be a path all of them see (a shared mount).
"""

from __future__ import annotations

import time

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment

from flows.narrate import Outcome, package_book, record_chapter
from flows.progress import BookProgress
from narration import pipeline
from narration.chapter_audio import chapter_audio_path
from narration.jobstate import FAILED, chapter_record_path, read_chapter_record

_POLL_S = 1.0


def render_on_pool(job: pipeline.Job, job_file: str, chapter_deployment: str) -> Outcome:
    logger = get_run_logger()
    pipeline.write_manifest_for(job)
    progress = BookProgress(job)
    outcome = Outcome()
    runs = {}
    for position, chapter in enumerate(job.plan.chapters):
        mastered = chapter_audio_path(job, chapter)
        if job.fetch(mastered):
            outcome.chapter_files[position] = str(mastered)
            continue
        run = run_deployment(
            chapter_deployment,
            parameters={"job_file": job_file, "position": position},
            timeout=0,  # start it and go on: the pool's workers take it from here
        )
        runs[run.id] = position
    logger.info("%s: %d chapter runs sent to the pool", job.book.title, len(runs))
    with get_client(sync_client=True) as client:
        while runs:
            time.sleep(_POLL_S)
            for run_id, position in list(runs.items()):
                state = client.read_flow_run(run_id).state
                if state is None or not state.is_final():
                    continue
                del runs[run_id]
                chapter = job.plan.chapters[position]
                mastered = chapter_audio_path(job, chapter)
                if state.is_completed() and job.fetch(mastered):
                    outcome.chapter_files[position] = str(mastered)
                    progress.chapter_done(chapter, mastered)
                    continue
                if job.mirror is not None:  # the worker's record, not an older copy here
                    chapter_record_path(job.out_dir, chapter.index).unlink(missing_ok=True)
                    job.fetch(chapter_record_path(job.out_dir, chapter.index))
                record = read_chapter_record(job.out_dir, chapter.index) or {}
                why = record.get("error") or f"its flow run ended {state.name}: {state.message}"
                outcome.failed[position] = why
                outcome.segment_errors.update(dict.fromkeys(record.get("segments", []), why))
                if record.get("state") != FAILED:
                    record_chapter(job, chapter, FAILED,
                                         error=why)  # fmt: skip
    if not outcome.failed:
        files = [outcome.chapter_files[i] for i in range(len(job.plan.chapters))]
        outcome.outputs = package_book(job_file, files)
    outcome.render_stats = {}
    return outcome
