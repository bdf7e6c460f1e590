"""Play and script speaker lines: `HAMLET: To be...` or `**Jane Doe:** text` at line start.

An ALL-CAPS name before a colon is taken as a speaker anywhere. A Title Case name is taken
only when the text reads like a script (at least two distinct such names, each at least
twice), because prose also has lines like `Dear Sir: ...`. In a script, a paragraph with
no speaker line continues the previous speaker's turn (transcripts tag only the first
paragraph of a long turn) unless it looks like a stage direction ([...] or (...)).
"""

from __future__ import annotations

import re
from collections import Counter

_SPEAKER = re.compile(
    r"^[ \t]*(?:\*\*)?(?P<name>[A-Z][A-Za-z0-9.'’ \-]{0,40}?)[ \t]*(?:\*\*)?:(?:\*\*)?[ \t]+(?=\S)",
    re.MULTILINE,
)
_ALL_CAPS = re.compile(r"[A-Z][A-Z0-9.'’ \-]*")
_TITLE_CASE = re.compile(r"(?:[A-Z][a-z'’.\-]*)(?: [A-Z][a-z'’.\-]*){0,3}")
_NOT_NAMES = re.compile(r"(?:CHAPTER|PART|BOOK|VOLUME|ACT|SCENE|NOTE|N\.?B|P\.?S|TITLE)\b", re.I)
_STAGE = re.compile(r"[ \t]*[\[(]")

ScriptPieces = list[tuple[str | None, list[tuple[int, int]]]]


def _speaker_lines(text: str) -> list[re.Match[str]]:
    candidates = [m for m in _SPEAKER.finditer(text) if not _NOT_NAMES.match(m["name"])]
    titled = Counter(m["name"] for m in candidates if not _ALL_CAPS.fullmatch(m["name"]))
    repeated = {name for name, n in titled.items() if n >= 2}
    scripty = len(repeated) >= 2
    keep = []
    for m in candidates:
        name = m["name"]
        if (
            _ALL_CAPS.fullmatch(name)
            and any(c.isalpha() for c in name)
            or scripty
            and name in repeated
            and _TITLE_CASE.fullmatch(name)
        ):
            keep.append(m)
    return keep


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


def script_quotations(text: str, spans: list[tuple[int, int]]) -> dict[int, ScriptPieces]:
    """Speaker turns per paragraph index: [(label, pieces)]; label None continues a turn."""
    lines = _speaker_lines(text)
    if not lines:
        return {}
    result: dict[int, ScriptPieces] = {}
    # Continuation paragraphs only in a real script, where speaker lines are common.
    continues = len(lines) >= 4 and len(lines) >= 0.2 * len(spans)
    k = 0
    in_turn = False
    for p_index, (lo, hi) in enumerate(spans):
        while k < len(lines) and lines[k].start() < lo - 1:
            k += 1
        here = []
        while k < len(lines) and lines[k].start() < hi:
            here.append(lines[k])
            k += 1
        first_is_speaker = bool(here) and text[lo : here[0].start()].strip() == ""
        if not first_is_speaker:
            if in_turn and continues and not _STAGE.match(text, lo):
                piece = _trim(text, lo, hi)
                if piece and not _has_double_quote_opening(text, lo, hi):
                    result[p_index] = [(None, [piece])]
                    continue
            in_turn = False
            continue
        turns: ScriptPieces = []
        for j, m in enumerate(here):
            end = here[j + 1].start() if j + 1 < len(here) else hi
            piece = _trim(text, m.end(), end)
            if piece:
                turns.append((m["name"].strip(), [piece]))
        if turns:
            result[p_index] = turns
            in_turn = True
    return result


def _has_double_quote_opening(text: str, lo: int, hi: int) -> bool:
    return bool(re.match(r"\s*[\"“]", text[lo:hi]))
