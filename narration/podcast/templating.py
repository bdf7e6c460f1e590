"""The jinja2 environment for podcast templates: ours in templates/podcast/, the user's first.

A user folder holds files named like ours (feed.xml.j2, notes.md.j2, notes.html.j2,
intro.txt.j2, outro.txt.j2); each one there replaces ours, the rest still come from us.
Autoescaping follows the name: `*.xml.j2` and `*.html.j2` escape every value for XML/HTML,
so an episode titled "Q&A <live>" cannot break the feed or inject markup; Markdown and
spoken-text templates are not HTML and escape explicitly (the `md` filter) or not at all.
Undefined names fail loudly, so a typo in a template does not ship an empty tag.
"""

from __future__ import annotations

import datetime
import email.utils
import re
from collections.abc import Sequence
from pathlib import Path

import jinja2

from narration.audio.package import templates_dir

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|>~])")
_MD_LINE_START = re.compile(r"^(\s*)([#+-]|\d+(?=[.)]))", re.MULTILINE)


def podcast_templates_dir() -> Path:
    return templates_dir() / "podcast"


def clock(seconds: float) -> str:
    """HH:MM:SS, the form players and show-notes readers turn into chapter links."""
    total = max(0, int(seconds + 0.5))
    return f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}"


def rfc2822(moment: datetime.datetime | datetime.date) -> str:
    """RSS 2.0 dates: "Sat, 05 Dec 2026 00:00:00 +0000" (a bare date is midnight UTC)."""
    if not isinstance(moment, datetime.datetime):
        moment = datetime.datetime.combine(moment, datetime.time(), datetime.UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return email.utils.format_datetime(moment)


def md_escape(value: object) -> str:
    """Text for Markdown: markup characters backslash-escaped and `<`/`&` as entities, so a
    speaker's "<script>" or "*not bold*" shows as written when the notes are rendered."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # a heading, list or numbered-list marker only means something at the start of a line
    return _MD_LINE_START.sub(
        lambda m: f"{m[1]}{m[2]}\\" if m[2][0].isdigit() else f"{m[1]}\\{m[2]}", text
    )


def sentence(value: object) -> str:
    """Text as a spoken sentence: a full stop added unless it already ends in one."""
    text = str(value).strip()
    return text if not text or text[-1] in ".!?…" else f"{text}."


def join_names(names: Sequence[str]) -> str:
    """ "A", "A and B", "A, B and C": names as a host says them."""
    names = [n for n in names if n]
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def environment(user_dir: str | Path | None = None) -> jinja2.Environment:
    """Templates from `user_dir` first (if given), then ours."""
    loaders: list[jinja2.BaseLoader] = []
    if user_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(user_dir)))
    loaders.append(jinja2.FileSystemLoader(str(podcast_templates_dir())))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2", "xml.j2", "html", "xml"),
            default_for_string=False,
            default=False,
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        clock=clock, rfc2822=rfc2822, md=md_escape, join_names=join_names, sentence=sentence
    )
    return env
