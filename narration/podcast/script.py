"""Read a podcast script or transcript into an `Episode`.

Two shapes, told apart line by line, so one file may mix them:
- Markdown transcripts: `**Name:** text` (or `**Name**: text`). Only a turn's first
  paragraph is tagged; untagged paragraphs continue it.
- Plain scripts and plays: `NAME: line` or `Name: line`, one turn per line or paragraph;
  `NAME (aside): line` and `NAME: (aside) line` lose the direction.
`#` headings start chapters (a deeper heading's title carries its parent's: "Act I: Scene 2");
a lone `# Title` above everything is the episode's title instead. A paragraph that is all
`[...]` or `(...)` is a stage direction, kept as an Event and not spoken. A "speaker" whose
turn has nothing to say once timestamps are gone (`**Song of Arrakis:** \\[07:18\\]`), or
whose name says music, is a music cue: an Event, not a voice.

Optional YAML front matter (python-frontmatter): title, show, episode (or number), season,
date, description, host, cast (speaker -> voice). Other keys land in `meta.extra`.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from narration.errors import InputError
from narration.podcast.inline import has_words, pieces, strip_leading_direction
from narration.podcast.model import Episode, EpisodeChapter, EpisodeMeta, Event, Turn

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_BOLD_SPEAKER = re.compile(
    r"^\s*(?:\*\*|__)(?P<name>[^*_:]{1,60}?)\s*(?::\s*(?:\*\*|__)|(?:\*\*|__)\s*:)\s*(?P<rest>.*)$"
)
_PLAIN_SPEAKER = re.compile(
    r"^\s*(?P<name>[A-Z][\w.'’\- ]{0,40}?)\s*"
    r"(?:[(\[][^)\]]{1,60}[)\]])?"  # HAMLET (aside): the direction is not part of the name
    r"\s*:(?:\s+(?P<rest>.*))?$"
)
# "[00:01:02] Name: text" and "00:01:02 Name: text": a transcript's time before the speaker
_LEADING_STAMP = re.compile(
    r"^\s*(?:\\?\[\d{1,2}(?::\d{2}){1,2}(?:[.,]\d+)?\\?\]|\d{1,2}(?::\d{2}){1,2})\s+"
)
_LIST_MARK = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
_DIRECTION = re.compile(r"^\s*[*_]?\s*(\[[^\]]*\]|\([^)]*\))\s*[*_]?\s*$")
_PARTICLES = {"de", "van", "von", "der", "den", "la", "le", "da", "di", "du", "del", "bin", "al"}
_NOT_NAMES = re.compile(
    r"(?:chapter|part|act|scene|note|nb|ps|p\.s|title|subject|date|time|re|fwd|q\.e\.d|"
    r"warning|example|tip|update|edit|source|http|https)$",
    re.IGNORECASE,
)
# A "speaker" with one of these words in its name is a music or sound cue, not a voice.
_MUSIC_NAME = re.compile(
    r"\b(?:music|song|jingle|theme|sting|stinger|sfx|sound|sounds|soundbite|clip|"
    r"applause|bumper|interlude)\b",
    re.IGNORECASE,
)
_META_KEYS = {"title", "show", "podcast", "episode", "number", "season", "date",
              "description", "summary", "host", "cast"}  # fmt: skip


def read_script(path: str | Path) -> Episode:
    """Read and parse a script file (UTF-8); InputError for anything wrong with it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read: {exc}") from None
    return parse_script(text, source=str(path))


def parse_script(text: str, *, source: str = "") -> Episode:
    """Parse a script's text (front matter included) into an Episode."""
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        problem = "bad front matter: " + " ".join(str(exc).split())
        raise InputError(source or "<script>", problem) from None
    meta = _meta(post.metadata, source)
    body = post.content.replace("\r\n", "\n").replace("\r", "\n")
    lines = body.split("\n")
    # front matter lines are gone from `body`; count them back so messages name real lines
    start = text.find(post.content) if post.content else -1
    offset = text[:start].count("\n") if start > 0 else 0
    parser = _Parser(_speaker_names(lines, set(meta.cast)), offset)
    title = parser.run(lines)
    if not meta.title:
        meta.title = title or (_stem_title(source) if source else "Untitled episode")
    chapters = [c for c in parser.chapters if c.turns]
    for chapter in chapters:
        chapter.title = chapter.title or meta.title
    if not any(turn.speaker for chapter in chapters for turn in chapter.turns):
        raise InputError(source or "<script>", "no speaker turns found (NAME: line)")
    return Episode(meta, chapters, source)


def _stem_title(source: str) -> str:
    return " ".join(re.sub(r"[_\-.]+", " ", Path(source).stem).split()) or "Untitled episode"


# ---------------------------------------------------------------- front matter


def _meta(data: dict[str, Any], source: str) -> EpisodeMeta:
    where = source or "<script>"

    def text(key: str, *alternatives: str) -> str:
        for name in (key, *alternatives):
            value = data.get(name)
            if value is not None:
                return str(value).strip()
        return ""

    def whole(key: str, *alternatives: str) -> int | None:
        raw = text(key, *alternatives)
        if not raw:
            return None
        if not re.fullmatch(r"\d+", raw):
            raise InputError(where, f"front matter: {key} must be a whole number, not {raw!r}")
        return int(raw)

    cast = data.get("cast") or {}
    if not isinstance(cast, dict):
        raise InputError(where, f"front matter: cast must map speakers to voices, not {cast!r}")
    return EpisodeMeta(
        title=text("title"),
        show=text("show", "podcast"),
        number=whole("episode", "number"),
        season=whole("season"),
        date=_date(data.get("date"), where),
        description=text("description", "summary"),
        host=text("host") or None,
        cast={str(name): voice for name, voice in cast.items()},
        extra={k: v for k, v in data.items() if k not in _META_KEYS},
    )


def _date(value: Any, where: str) -> datetime.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(where, f"front matter: date must be YYYY-MM-DD, not {value!r}") from None


# ---------------------------------------------------------------- speakers


def _plausible_name(name: str) -> bool:
    words = name.split()
    if not 1 <= len(words) <= 4 or _NOT_NAMES.match(name.strip(" .")):
        return False
    first, *rest = words
    return first[0].isupper() and all(
        w[0].isupper() or w[0].isdigit() or w.lower() in _PARTICLES for w in rest
    )


def _speaker_names(lines: list[str], cast_names: set[str]) -> set[str]:
    """Names taken as speakers in plain `Name: line` form.

    ALL-CAPS names and names in the front matter's cast always count. A Title Case name
    counts when it speaks twice, or when the text is plainly a script (most paragraphs open
    with a name), since prose and notes have lines like "Example: ..." too."""
    candidates: Counter[str] = Counter()
    paragraphs = 0
    opened = 0
    previous_blank = True
    for line in lines:
        stripped = line.strip()
        if not stripped or _HEADING.match(stripped):
            previous_blank = True
            continue
        match = _PLAIN_SPEAKER.match(_LEADING_STAMP.sub("", line))
        named = bool(match and _plausible_name(match["name"]))
        if named and match:
            candidates[match["name"].strip()] += 1
        if previous_blank or named:
            paragraphs += 1
            opened += named
        previous_blank = False
    scripty = paragraphs > 0 and opened >= 0.5 * paragraphs
    return {
        name
        for name, count in candidates.items()
        if name in cast_names
        or (name.upper() == name and any(c.isalpha() for c in name))
        or count >= 2
        or scripty
    }


def _title_heading(lines: list[str]) -> tuple[str, int]:
    """(title, line index) of a single level-1 heading that opens the text; ("", -1) if none."""
    headings = [(i, _HEADING.match(line.strip())) for i, line in enumerate(lines)]
    level_one = [(i, m) for i, m in headings if m and len(m.group(1)) == 1]
    first = next((i for i, line in enumerate(lines) if line.strip()), -1)
    if len(level_one) == 1 and level_one[0][0] == first:
        return level_one[0][1].group(2).strip(), first
    return "", -1


class _Parser:
    """One pass over the lines, filling chapters with turns and events."""

    def __init__(self, plain_names: set[str], line_offset: int) -> None:
        self.plain_names = plain_names
        self.offset = line_offset
        self.chapters: list[EpisodeChapter] = [EpisodeChapter("")]
        self.turn: Turn | None = None
        self.buffer: list[str] = []
        self.headings: list[tuple[int, str]] = []  # the open heading path, for nested titles

    def run(self, lines: list[str]) -> str:
        """Parse; returns the title taken from a lone top `# heading` ("" if none)."""
        title, title_at = _title_heading(lines)
        in_fence = False
        for index, line in enumerate(lines):
            number = index + self.offset + 1
            if _FENCE.match(line):
                self._flush()
                in_fence = not in_fence
                continue
            line = _LEADING_STAMP.sub("", line)
            stripped = line.strip()
            if in_fence or index == title_at:
                continue  # code is not read; the title heading is not a chapter
            heading = _HEADING.match(stripped)
            if heading:
                self._end_turn()
                self._start_chapter(len(heading.group(1)), heading.group(2))
            elif not stripped or _RULE.match(stripped):
                self._flush()
            elif self._speaker_line(line, number):
                pass
            elif not self.buffer and _DIRECTION.match(stripped):
                self._flush()
                note = stripped.strip("*_ ")
                kind = "music" if _MUSIC_NAME.search(note) else "direction"
                self.chapters[-1].items.append(Event(kind, note, number))
            else:
                if self.turn is None:
                    self._open(Turn(None, [], number))
                if _LIST_MARK.match(stripped):
                    self._flush()  # a list item is a paragraph of its own, not a run-on
                self.buffer.append(_LIST_MARK.sub("", stripped))
        self._end_turn()
        return title

    def _start_chapter(self, level: int, raw_title: str) -> None:
        title = " ".join(p for p in pieces(raw_title) if isinstance(p, str)).strip()
        self.headings = [(lv, t) for lv, t in self.headings if lv < level] + [(level, title)]
        self.chapters.append(EpisodeChapter(": ".join(t for _, t in self.headings if t)))

    def _speaker_line(self, line: str, number: int) -> bool:
        match = _BOLD_SPEAKER.match(line)
        markdown = match is not None
        if match is None:
            match = _PLAIN_SPEAKER.match(line)
            if match is None or match["name"].strip() not in self.plain_names:
                return False
        self._end_turn()
        name = " ".join(match["name"].split())
        rest = match["rest"] or ""
        self._open(Turn(name, [], number))
        self.buffer = [rest if markdown else strip_leading_direction(rest)]
        return True

    def _open(self, turn: Turn) -> None:
        """A turn takes its place in the running order as it starts, so that a direction
        in the middle of it is not put before it; _end_turn takes out one with no words."""
        self.turn = turn
        self.chapters[-1].items.append(turn)

    def _flush(self) -> None:
        """End the paragraph being collected: it joins the open turn."""
        if not self.buffer or self.turn is None:
            self.buffer = []
            return
        parts = pieces(" ".join(self.buffer))
        self.buffer = []
        if has_words(parts):
            self.turn.paragraphs.append(parts)

    def _end_turn(self) -> None:
        self._flush()
        turn, self.turn = self.turn, None
        if turn is None:
            return
        items = self.chapters[-1].items
        at = next(i for i, item in enumerate(items) if item is turn)
        if turn.speaker and (not turn.paragraphs or _MUSIC_NAME.search(turn.speaker)):
            said = " ".join(" ".join(turn.transcript()).split())
            label = f"{turn.speaker}: {said}" if said else turn.speaker
            items[at] = Event("music", label, turn.line)
        elif not turn.paragraphs:
            del items[at]
