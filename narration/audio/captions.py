"""SRT and WebVTT captions with speaker names, timed from the rendered segments.

Each caption is one segment (a sentence of one speaker) from where its audio starts to where
it ends in the packaged file: chapter start (the chapter mark) plus the segment's place in
the chapter as the assembler laid it (narration.podcast.timing). Long sentences may be cut
into several captions (`max_chars`), timed in proportion to their length, since a
listener's eye cannot take in five lines at once.

Speaker names: SRT has no markup for them, so each caption starts "Name: "; WebVTT has a
voice span, `<v Name>text`, which players show or style. The engines' own tokens in the
spoken text ("[laugh]", "[uv_break]") are not captions and are taken out.
"""

from __future__ import annotations

import datetime
import html
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import srt
import webvtt

from narration.atomic import atomic_write_text
from narration.model import Segment

LINE_CHARS = 42  # the usual subtitle line length; a caption wraps at it
_ENGINE_TOKEN = re.compile(r"\s*\[[a-z_]+[0-9]*\]")


@dataclass(frozen=True)
class CaptionCue:
    start_s: float
    end_s: float
    text: str
    speaker: str = ""


def caption_text(text: str) -> str:
    """A segment's text as a caption: engine tokens out, whitespace collapsed."""
    return " ".join(_ENGINE_TOKEN.sub("", text).split())


def _split(cue: CaptionCue, max_chars: int) -> list[CaptionCue]:
    chunks = textwrap.wrap(cue.text, max_chars, break_long_words=False) or [cue.text]
    if len(chunks) == 1:
        return [cue]
    total = sum(len(c) for c in chunks)
    result, start, used = [], cue.start_s, 0
    for chunk in chunks:
        used += len(chunk)
        end = cue.start_s + (cue.end_s - cue.start_s) * used / total
        result.append(CaptionCue(start, end, chunk, cue.speaker))
        start = end
    return result


def cues_from_spans(
    segments: Sequence[Segment],
    spans_s: Sequence[tuple[float, float] | None],
    *,
    offset_s: float = 0.0,
    names: Mapping[str, str] | None = None,
    max_chars: int | None = None,
) -> list[CaptionCue]:
    """Captions for one chapter's segments. `spans_s[i]` is where segment i sounds in the
    chapter (None: it made no sound), `offset_s` where the chapter starts in the file;
    `names` maps plan speakers to shown names (e.g. "narrator" -> the host)."""
    if len(segments) != len(spans_s):
        raise ValueError(f"{len(segments)} segments but {len(spans_s)} spans")
    names = names or {}
    cues: list[CaptionCue] = []
    for segment, span in zip(segments, spans_s, strict=True):
        text = caption_text(segment.text)
        if span is None or not text:
            continue
        cue = CaptionCue(
            offset_s + span[0],
            offset_s + span[1],
            text,
            names.get(segment.speaker, segment.speaker),
        )
        cues += _split(cue, max_chars) if max_chars else [cue]
    return cues


def _lines(text: str) -> str:
    return "\n".join(textwrap.wrap(text, LINE_CHARS, break_long_words=False)) or text


def srt_text(cues: Sequence[CaptionCue]) -> str:
    subtitles = [
        srt.Subtitle(
            index,
            datetime.timedelta(seconds=cue.start_s),
            datetime.timedelta(seconds=cue.end_s),
            _lines(f"{cue.speaker}: {cue.text}" if cue.speaker else cue.text),
        )
        for index, cue in enumerate(cues, start=1)
    ]
    return srt.compose(subtitles, reindex=False)


def _vtt_time(seconds: float) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _vtt_payload(cue: CaptionCue) -> str:
    # cue text is markup in WebVTT: & and < must be escaped, and > too inside the voice tag
    text = html.escape(_lines(cue.text), quote=False)
    if not cue.speaker:
        return text
    return f"<v {html.escape(cue.speaker, quote=False)}>{text}"


def webvtt_text(cues: Sequence[CaptionCue]) -> str:
    document = webvtt.WebVTT(
        captions=[
            webvtt.Caption(_vtt_time(cue.start_s), _vtt_time(cue.end_s), _vtt_payload(cue))
            for cue in cues
        ]
    )
    return document.content


def write_captions(cues: Sequence[CaptionCue], stem: str | Path) -> list[Path]:
    """Write STEM.srt and STEM.vtt atomically; returns their paths."""
    stem = Path(stem)
    paths = [stem.with_name(stem.name + ".srt"), stem.with_name(stem.name + ".vtt")]
    atomic_write_text(paths[0], srt_text(cues))
    atomic_write_text(paths[1], webvtt_text(cues))
    return paths
