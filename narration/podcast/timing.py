"""Where each segment sounds in its chapter: the assembler's own placement, recorded.

Captions must match the audio, so they are timed from the very offsets at which the chapter
assembler lays each rendered piece (after trimming its padding), not from a re-estimate.
`TimedAssembler` is the assembler with that record kept; mastering changes gain, never
timing, so the spans hold in the mastered chapter too. The spans of a chapter are stored
beside its cached audio (`save_spans`/`load_spans`), since a cached chapter is not
assembled again.

ChapterAssembler does not report placements itself (yet), so this reads its list of placed
pieces right after each add(); tests/test_captions.py checks the spans against the audio,
so a change to the assembler that breaks this is caught.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from narration.atomic import atomic_write_text
from narration.audio.assemble import ChapterAssembler
from narration.audio.master import MasterSettings
from narration.model import Pause

Span = tuple[int, int] | None  # (first, end) sample of a piece in the chapter; None: silent


class TimedAssembler(ChapterAssembler):
    """A ChapterAssembler that keeps `spans`: one per add(), in chapter samples."""

    def __init__(self, sample_rate: int, settings: MasterSettings) -> None:
        super().__init__(sample_rate, settings)
        self.spans: list[Span] = []

    def add(self, audio: np.ndarray, pause: Pause) -> None:
        before = len(self._placed)
        super().add(audio, pause)
        if len(self._placed) > before:
            offset, piece = self._placed[-1]
            self.spans.append((offset, offset + len(piece)))
        else:
            self.spans.append(None)  # no audible sample: nothing to caption

    def spans_s(self) -> list[tuple[float, float] | None]:
        rate = self.sample_rate
        return [None if s is None else (s[0] / rate, s[1] / rate) for s in self.spans]


def spans_path(chapter_audio: Path) -> Path:
    """JSON, but not named *.json: the chapter records (NNN.json) share the folder, and
    whatever lists those must not find these."""
    return chapter_audio.with_suffix(".spans")


def save_spans(chapter_audio: Path, spans_s: Sequence[tuple[float, float] | None]) -> Path:
    path = spans_path(chapter_audio)
    atomic_write_text(path, json.dumps([None if s is None else list(s) for s in spans_s]))
    return path


def load_spans(chapter_audio: Path) -> list[tuple[float, float] | None] | None:
    """The spans saved for a cached chapter, or None when there are none."""
    path = spans_path(chapter_audio)
    if not path.is_file():
        return None
    return [None if s is None else (float(s[0]), float(s[1])) for s in json.loads(path.read_text())]
