"""The tags every output carries (narration.audio.package.TAG_KEYS), and the engines they
credit: an audiobook's title, author and narrator, or a podcast episode's show and number."""

from __future__ import annotations

from typing import TYPE_CHECKING

from narration.plan import NARRATOR

if TYPE_CHECKING:
    from narration.pipeline import Job
    from narration.podcast.model import Episode


def engine_credits(job: Job) -> str:
    """Every engine used and its licences, for the tags: "piper (code GPL-3.0, weights MIT)"."""
    return "; ".join(
        f"{e.name} (code {e.code_license}, weights {e.weights_license})" for e in job.used_engines()
    )


def book_tags(job: Job) -> dict[str, str]:
    """The outputs' tags (narration.audio.package.TAG_KEYS): an audiobook's, or an episode's."""
    if job.episode is not None:
        return _episode_tags(job, job.episode)
    narrator = job.plan.voices[NARRATOR]
    return {
        "title": job.book.title,
        "author": job.book.author,
        "narrator": f"{narrator.name or narrator.model_id} ({narrator.engine})",
        "genre": "Audiobook",
        "language": job.book.language,
        "comment": f"Narrated by {narrator.name or narrator.model_id}. "
        f"Voices: {engine_credits(job)}",
    }


def _episode_tags(job: Job, episode: Episode) -> dict[str, str]:
    """A podcast's: the show is the album and the episode number the track, as podcast apps
    and players file them."""
    meta = episode.meta
    host = episode.host or meta.show
    return {
        "title": meta.title,
        "author": host,
        "album": meta.show or meta.title,
        "genre": "Podcast",
        "track": "" if meta.number is None else str(meta.number),
        "date": meta.date.isoformat() if meta.date else "",
        "language": job.book.language,
        "comment": meta.description or f"Voices: {engine_credits(job)}",
    }
