"""What the podcast documents share (no STEP here): the chapter marks read back from the
episode's audio file, and the captions timed from the mastered chapters' saved spans."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from narration.audio.captions import CaptionCue
    from narration.audio.tags import ChapterMark
    from narration.outputs import Context
    from narration.podcast.model import Episode


def episode_of(context: Context) -> Episode:
    episode = context.job.episode
    if episode is None:
        raise ValueError(f"{context.job.book_path}: not a podcast episode")
    return episode


def marks(context: Context) -> list[ChapterMark]:
    """The chapters as the packaged file declares them: where a player really jumps."""
    from narration.audio.tags import read_chapters

    return read_chapters(context.audio())


def cues(context: Context) -> list[CaptionCue]:
    """One caption per spoken segment, at its place in the audio file (its chapter's mark
    plus where the assembler laid it in the chapter)."""
    from narration.audio.captions import cues_from_spans
    from narration.plan import NARRATOR
    from narration.podcast.timing import load_spans

    job, episode = context.job, episode_of(context)
    names = {NARRATOR: episode.host or episode.meta.show or ""}
    found = marks(context)
    result: list[CaptionCue] = []
    for chapter, audio, mark in zip(job.plan.chapters, context.chapter_files, found, strict=True):
        spans = load_spans(audio)
        if spans is None:  # mastered before spans were kept: master it again to caption it
            raise ValueError(f"{audio}: no segment timings saved beside it")
        result += cues_from_spans(chapter.segments, spans, offset_s=mark.start_s, names=names)
    return result
