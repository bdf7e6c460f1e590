"""Learn nicknames from dialogue: the name a quotation addresses is the name of who replies.

"I hope Mr. Bingley will like it, Lizzy." followed by `"...," said Elizabeth` is evidence
that Lizzy is Elizabeth. When a name used as a vocative is answered, in the next
paragraph, by a speaker tagged with another name at least twice, and by that speaker in
at least 70% of such replies, the vocative's character becomes an alias of the speaker.
Only plain single-word names are merged this way (a titled "Mr. Darcy" is not anyone's
nickname), and never into or from the narrator.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace

from narration.cast.characters import NARRATOR, Character
from narration.cast.turns import Turn

_MIN_REPLIES = 2
_SHARE = 0.7


def learn_aliases(characters: list[Character], turns: list[Turn]) -> list[Character] | None:
    """A new cast with nicknames merged, or None when the dialogue teaches nothing."""
    replies: dict[int, Counter[int]] = defaultdict(Counter)
    for turn, answer in zip(turns, turns[1:], strict=False):
        if answer.break_before or answer.quotation is None or turn.quotation is None:
            continue
        if answer.method != "explicit" or answer.speaker is None:
            continue
        if answer.paragraph != turn.last_paragraph + 1 or len(turn.vocatives) != 1:
            continue
        vocative = next(iter(turn.vocatives))
        if vocative != answer.speaker:
            replies[vocative][answer.speaker] += 1
    merges: dict[int, int] = {}
    for nickname, answered in replies.items():
        speaker, n = answered.most_common(1)[0]
        c = characters[nickname]
        plain = len(c.name.split()) == 1 and not c.aliases[1:] and c.name != NARRATOR
        clear = n >= _MIN_REPLIES and n >= _SHARE * sum(answered.values())
        if plain and clear and characters[speaker].name != NARRATOR and speaker not in merges:
            merges[nickname] = speaker
    if not merges:
        return None
    merged = [replace(c, aliases=list(c.aliases)) for c in characters]
    for nickname, speaker in merges.items():
        target, source = merged[speaker], merged[nickname]
        target.aliases.extend([source.name, *source.aliases])
        target.mentions += source.mentions
    return [c for i, c in enumerate(merged) if i not in merges]
