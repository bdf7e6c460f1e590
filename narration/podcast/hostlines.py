"""The host's intro and outro lines, from templates/podcast/intro.txt.j2 and outro.txt.j2.

The rendered text is split into lines to speak: one per non-blank line, so a template author
controls the pauses (each line ends with a paragraph pause). A template that renders nothing
gives no lines, which is how a user turns the intro or outro off for a show whose scripts
already open with one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from narration.podcast.model import Episode
from narration.podcast.templating import environment


def host_context(episode: Episode) -> dict[str, Any]:
    """What the intro/outro templates see: the episode's metadata, host, guests, chapters."""
    meta = episode.meta
    host = episode.host
    return {
        "title": meta.title,
        "show": meta.show,
        "number": meta.number,
        "season": meta.season,
        "date": meta.date,
        "description": meta.description,
        "host": host or "",
        "guests": [s for s in episode.speakers if s != host],
        "chapters": [c.title for c in episode.chapters],
        "extra": meta.extra,
    }


def render_lines(template: str, episode: Episode, templates: str | Path | None = None) -> list[str]:
    text = environment(templates).get_template(template).render(host_context(episode))
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def host_lines(
    episode: Episode, templates: str | Path | None = None
) -> tuple[list[str], list[str]]:
    """(intro lines, outro lines) for `episode`, spoken by its host."""
    return (
        render_lines("intro.txt.j2", episode, templates),
        render_lines("outro.txt.j2", episode, templates),
    )
