"""Turn-taking: speakers for quotations that carry no tag, from the turns around them.

A conversation is the run of turns between two breaks (a heading or a long narration
paragraph). Turns are quotations, plus "silent" turns: short narration paragraphs about
a participant (`Mr. Bennet made no answer.`). Two people talking alternate, so an untagged
turn gets:
- from the left: the person the previous quotation addressed by name ("..., Lizzy."),
  else the speaker two turns back when the last two differ;
- only when the left says nothing (an exchange that opens untagged), from the right:
  the person the next quotation addresses (a reply names whom it answers), else the
  speaker two turns on when the next two differ;
- with no usable neighbours, the most salient other character (resolve.Salience.best).
Letting the right side overrule a left guess when its anchor is nearer was measured and
lost accuracy on every PDNC novel tried, so the left side wins whenever it has a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from narration.cast.quotes import Quotation


@dataclass
class Turn:
    quotation: Quotation | None  # None: a silent turn (narration about a participant)
    paragraph: int
    last_paragraph: int
    pos: int
    speaker: int | None = None
    method: str = "none"
    vocatives: set[int] = field(default_factory=set)
    break_before: bool = False
    gender: str = "U"  # from a pronoun tag that named no one ("she said"): M / F / U
    confidence: float | None = None  # probability from rerank.py, when it re-decided
    not_speaker: set[int] = field(default_factory=set)  # "Daisy's mamma" is not Daisy


@dataclass
class _Guess:
    speaker: int
    method: str
    distance: int


def _conversation_ids(turns: list[Turn]) -> list[int]:
    ids, current = [], 0
    for turn in turns:
        if turn.break_before:
            current += 1
        ids.append(current)
    return ids


def _guess(
    turns: list[Turn], i: int, step: int, conv: list[int], known: dict[int, tuple[int, int]]
) -> _Guess | None:
    """The guess for turn i from its neighbours on one side (step -1: the left)."""
    turn = turns[i]
    j, k = i + step, i + 2 * step
    near = known.get(j) if 0 <= j < len(turns) and conv[j] == conv[i] else None
    far = known.get(k) if 0 <= k < len(turns) and conv[k] == conv[i] else None
    if near is None:
        return None
    # Left: the previous quotation named whom it spoke to. Right: this one is answered
    # by a quotation that names its speaker.
    voc = turns[j].vocatives - {near[0]} - turn.vocatives
    if len(voc) == 1:
        return _Guess(next(iter(voc)), "addressee", near[1] + 1)
    if far is not None and far[0] != near[0] and far[0] not in turn.vocatives:
        return _Guess(far[0], "turn-taking", far[1] + 2)
    return None


def _open(turn: Turn) -> bool:
    return turn.speaker is None and turn.quotation is not None


def fill_turns(
    turns: list[Turn],
    fallback: Callable[[Turn, set[int]], int | None],
    record: Callable[[Turn], None],
    gender_of: Callable[[int], str] | None = None,
) -> None:
    """Give every untagged quotation turn a speaker (see the module docstring).

    `fallback(turn, banned)` names the most salient character not in `banned`;
    `record(turn)` is told of each turn filled, in text order, so salience sees it.
    """
    conv = _conversation_ids(turns)
    anchored = {i: (t.speaker, 0) for i, t in enumerate(turns) if t.speaker is not None}
    right_known = dict(anchored)
    right: dict[int, _Guess] = {}
    for i in range(len(turns) - 1, -1, -1):
        if _open(turns[i]):
            g = _guess(turns, i, +1, conv, right_known)
            if g is not None:
                right[i] = g
                right_known[i] = (g.speaker, g.distance)
    left_known = dict(anchored)
    for i, turn in enumerate(turns):
        if not (turn.speaker is None and turn.quotation is not None):
            continue
        a, b = _guess(turns, i, -1, conv, left_known), right.get(i)
        if gender_of is not None and turn.gender in ("M", "F"):
            # a guess of the other gender than the quotation's own narration says is wrong
            if a is not None and gender_of(a.speaker) not in (turn.gender, "U"):
                a = None
            if b is not None and gender_of(b.speaker) not in (turn.gender, "U"):
                b = None
        if a is not None:
            turn.speaker, turn.method, distance = a.speaker, a.method, a.distance
        elif b is not None:
            turn.speaker, turn.method, distance = b.speaker, b.method, b.distance
        else:
            banned = set(turn.vocatives)
            for j in (i - 1, i + 1):
                if 0 <= j < len(turns) and conv[j] == conv[i] and turns[j].speaker is not None:
                    banned.add(turns[j].speaker)  # alternation: not a neighbour's voice
            choice = fallback(turn, banned)
            if choice is None:
                choice = fallback(turn, set(turn.vocatives))
            if choice is None:
                continue
            turn.speaker, turn.method, distance = choice, "salience", 4
        left_known[i] = (turn.speaker, distance)
        record(turn)
