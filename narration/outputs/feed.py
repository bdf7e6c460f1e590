"""An RSS 2.0 feed with the iTunes tags for the episode (its enclosure: the audio file)."""

from __future__ import annotations

from pathlib import Path

from narration.outputs import PODCAST, Context, Step


def _write(context: Context, target: Path) -> None:
    from narration.atomic import atomic_write_text
    from narration.outputs._episode import episode_of, marks
    from narration.podcast.feed import ShowInfo, feed_item, render_feed

    settings, episode = context.job.settings, episode_of(context)
    meta, audio = episode.meta, context.audio()
    # The channel's fields from the front matter's extra keys where a show gives them
    # (link, language, author, email, image, category), else what the episode tells.
    extra = {str(k): str(v) for k, v in meta.extra.items() if v is not None}
    show = ShowInfo(
        title=meta.show or meta.title,
        link=extra.get("link", settings.base_url),
        description=extra.get("show_description", meta.description),
        language=extra.get("language", context.job.book.language or "en"),
        author=extra.get("author", episode.host or ""),
        owner_email=extra.get("email", ""),
        image_url=extra.get("image", ""),
        category=extra.get("category", "Technology"),
        feed_url=f"{settings.base_url.rstrip('/')}/{target.name}" if settings.base_url else "",
    )
    found = marks(context)
    transcript = context.written.get("vtt")
    item = feed_item(
        episode, audio, duration_s=found[-1].end_s if found else 0.0,
        base_url=settings.base_url, transcript=transcript,
    )  # fmt: skip
    atomic_write_text(target, render_feed(show, [item], templates=settings.templates))


STEP = Step(
    name="feed",
    order=60,
    help="an RSS 2.0 feed with iTunes tags",
    target=lambda out_dir, stem: out_dir / "feed.xml",
    write=_write,
    kinds=frozenset({PODCAST}),
    default_for=frozenset({PODCAST}),
    needs_audio=True,
)
