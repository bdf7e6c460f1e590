"""Learn nicknames from dialogue: the name a quotation addresses is the name of who replies.

"I hope Mr. Bingley will like it, Lizzy." followed by `"...," said Elizabeth` is evidence
that Lizzy is Elizabeth. When a name used as a vocative is answered, in the next
paragraph, by a speaker tagged with another name at least twice, and by that speaker in
at least 70% of such replies, the vocative's character becomes an alias of the speaker.
Only plain single-word names are merged this way (a titled "Mr. Darcy" is not anyone's
nickname), and never into or from the narrator. The same evidence names a speaker known by
a role: "the painter" answering "..., Basil" (twice or more, 70% of its answers) is Basil.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import replace

from narration.cast.characters import NARRATOR, Character
from narration.cast.turns import Turn

_MIN_REPLIES = 2
_EPITHET = re.compile(r"the(?: [a-z][a-z-]*){1,2}")  # a speaker known by a role: the painter
_SHARE = 0.7


def learn_aliases(characters: list[Character], turns: list[Turn]) -> list[Character] | None:
    """A new cast with nicknames merged, or None when the dialogue teaches nothing."""
    replies: dict[int, Counter[int]] = defaultdict(Counter)
    answered_by_epithet: dict[int, Counter[int]] = defaultdict(Counter)
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
            answered_by_epithet[answer.speaker][vocative] += 1
    merges: dict[int, int] = {}
    # "the painter" answering "..., Basil" again and again is Basil (epithet coreference).
    for epithet, names in answered_by_epithet.items():
        char, n = names.most_common(1)[0]
        if not _EPITHET.fullmatch(characters[epithet].name) or char == epithet:
            continue
        clear = n >= _MIN_REPLIES and n >= _SHARE * sum(names.values())
        if clear and characters[char].name != NARRATOR and char not in merges:
            merges[epithet] = char
    for nickname, answered in replies.items():
        speaker, n = answered.most_common(1)[0]
        c = characters[nickname]
        plain = len(c.name.split()) == 1 and not c.aliases[1:] and c.name != NARRATOR
        clear = n >= _MIN_REPLIES and n >= _SHARE * sum(answered.values())
        free = nickname not in merges and nickname not in set(merges.values())
        free = free and speaker not in merges and characters[speaker].name != NARRATOR
        if plain and clear and free:
            merges[nickname] = speaker
    if not merges:
        return None
    merged = [replace(c, aliases=list(c.aliases)) for c in characters]
    for nickname, speaker in merges.items():
        target, source = merged[speaker], merged[nickname]
        target.aliases.extend([source.name, *source.aliases])
        target.mentions += source.mentions
    return [c for i, c in enumerate(merged) if i not in merges]
