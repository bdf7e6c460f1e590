"""A chapter's audio: its missing segments rendered passage by passage, each passage assembled,
levelled and limited as it comes, and appended to a WAV cached under its content fingerprint
(.cache/chapters/), which appears only when complete."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile as sf

from narration.atomic import atomic_path
from narration.audio.level import match_segment_level, resample
from narration.audio.master import master_chapter
from narration.errors import OutOfSpace, is_out_of_space
from narration.model import Segment
from narration.plan import ChapterPlan, passages, voice_of
from narration.podcast.timing import TimedAssembler, save_spans, spans_path
from narration.render.takes import RenderJob
from narration.store import to_pcm16

if TYPE_CHECKING:
    from narration.pipeline import Job

_FULL_BYTES = 1 << 20  # less than this free after a failed write: the disk is full


def pending_jobs(job: Job, segments: list[Segment]) -> list[RenderJob]:
    """The segments not yet in the store (each key once)."""
    store, seen, pending = job.store, set(), []
    for segment in segments:
        if segment.key in seen or store.has(segment.key):
            continue
        seen.add(segment.key)
        voice = voice_of(job.plan, segment)
        pending.append(RenderJob(segment.key, segment.spoken_text, voice, job.settings.seed))
    return pending


def chapter_audio_path(job: Job, chapter: ChapterPlan) -> Path:
    fingerprint = hashlib.sha256(
        (chapter.fingerprint() + job.settings.master_settings().fingerprint()).encode()
    ).hexdigest()[:16]
    return job.chapter_dir / f"{chapter.index:03d}-{fingerprint}.wav"


def _pieces(job: Job, segments: list[Segment]) -> Iterator[tuple[np.ndarray, Any]]:
    """Each segment's audio at the plan's rate (resampled where its engine's differs) and the
    pause after it; when the plan mixes engines, each segment at one reference level."""
    store, rate, mixed = job.store, job.plan.sample_rate, job.plan.mixes_engines
    for segment in segments:
        audio, segment_rate = store.read(segment.key)
        audio = resample(audio, segment_rate, rate)
        if mixed:
            audio = match_segment_level(audio, rate)
        yield audio, segment.pause_after


def master_chapter_audio(
    job: Job,
    chapter: ChapterPlan,
    *,
    render: Callable[[list[RenderJob]], object] | None = None,
    on_passage: Callable[[int, np.ndarray], None] | None = None,
) -> Path:
    """Master one chapter into a file cached by its content fingerprint, passage by passage.

    For each passage (see plan.passages) its missing segments are handed to `render`, which
    returns once they are in the store (None: they must be there already); the passage is
    assembled, levelled and limited, given to `on_passage(index, samples)` (the M4B stream
    encodes it while later passages render), and appended to the chapter file, which appears
    only when complete. A chapter already in the cache is returned as it is."""
    target = chapter_audio_path(job, chapter)
    if job.fetch(target):
        job.fetch(spans_path(target))  # its segments' timings, for captions
        return target
    settings = job.settings.master_settings()
    rate = job.plan.sample_rate
    # Where each segment lands, kept beside the chapter (captions are timed from it; mastering
    # changes gain, never timing). A book keeps it too: a few bytes per sentence.
    assembler = TimedAssembler(rate, settings)
    parts = passages(chapter.segments, settings.passage_chars) or [[]]
    with atomic_path(target) as tmp, _full_disk_said(tmp), _wav_writer(tmp, rate) as out:
        for index, passage in enumerate(parts):
            pending = pending_jobs(job, passage)
            if pending and render is not None:
                render(pending)
            for audio, pause in _pieces(job, passage):
                assembler.add(audio, pause)
            laid = assembler.finish() if index == len(parts) - 1 else assembler.take()
            pcm = to_pcm16(master_chapter(laid, rate, settings))
            out.write(pcm)
            if on_passage is not None:  # exactly the file's samples, as if read back from it,
                # so the M4B is the same whether a passage was streamed or its chapter was cached
                on_passage(index, pcm.astype(np.float32) / np.float32(32768.0))
        # before the chapter is renamed into place: a chapter file never lacks its spans
        spans = save_spans(target, assembler.spans_s())
    job.publish(spans)
    job.publish(target)
    for stale in job.chapter_dir.glob(f"{chapter.index:03d}-*.*"):
        if stale not in (target, spans):
            stale.unlink(missing_ok=True)
    return target


def _wav_writer(path: Path, rate: int) -> sf.SoundFile:
    return sf.SoundFile(path, "w", rate, 1, "PCM_16", format="WAV")


@contextmanager
def _full_disk_said(path: Path) -> Iterator[None]:
    """libsndfile reports a failed write as "System error.": when the disk under `path` is
    full (looked at before the partial file is removed), say so."""
    try:
        yield
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        if is_out_of_space(exc) or shutil.disk_usage(path.parent).free < _FULL_BYTES:
            raise OutOfSpace(path.parent) from exc
        raise
