"""Turn a tag mention (a name, "she", "his wife") into a character of the cast.

Names are looked up by their comparison key; an unknown name in a speech tag becomes a
new minor character, so "said the Footman" still gets its own speaker. A pronoun or
role noun goes through ordered sieves (Salience.pick): a subject named earlier in the
same paragraph, the person the quotation just above addressed by name, a character in
the narration just before, the conversation's recent speakers, recent narration, the
most prominent character; always of the right gender, never the person the quotation
addresses, and not the speaker of the quotation one paragraph up (a new paragraph is a
new voice) unless nobody else is there. "His wife" or "her mother" resolve through the
possessor's surname (Mr. Bennet's wife is Mrs. Bennet). Untagged quotations use the
additive salience scores (Salience.best) as a last resort.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from narration.cast.characters import NARRATOR, Character
from narration.cast.lexicon import NOT_NAMES, PERSON_NOUNS, RELATION_TITLE, TITLES
from narration.cast.names import name_key


@dataclass
class CastIndex:
    """The cast plus lookup tables; `characters` may grow with minor speakers from tags."""

    characters: list[Character]
    by_key: dict[str, int] = field(default_factory=dict)
    surname: dict[int, str] = field(default_factory=dict)
    titled: dict[str, set[int]] = field(default_factory=dict)  # "Captain" -> characters
    # Words the text writes in lower case too ("having", "presently", "stop"): one of
    # them capitalised before a verb opens a sentence rather than naming a new speaker.
    common_words: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for i, c in enumerate(self.characters):
            self._register(i, c)

    def _register(self, i: int, c: Character) -> None:
        ranked: list[tuple[int, str]] = []
        for n, form in enumerate(c.all_names):
            self.by_key.setdefault(name_key(form), i)
            words = form.replace(".", " ").split()
            if len(words) >= 2 and words[0] in TITLES:
                self.titled.setdefault(words[0], set()).add(i)
            if len(words) >= 2 and words[-1][:1].isupper():
                # The surname from a full name first ("Elizabeth Bennet"), then a titled
                # full name, then "Title Word", which may be a first name ("Miss Eliza").
                titled = words[0] in TITLES
                rank = 2 if titled and len(words) == 2 else 1 if titled else 0
                ranked.append((rank * 100 + n, words[-1]))
        if ranked and i not in self.surname:
            self.surname[i] = min(ranked)[1]

    def lookup(self, form: str) -> int | None:
        key = name_key(form)
        if key in self.by_key:
            return self.by_key[key]
        words = form.split()
        while words and (words[0] in NOT_NAMES or words[0].lower() in ("the", "a", "an")):
            words = words[1:]
        if words and name_key(" ".join(words)) in self.by_key:
            return self.by_key[name_key(" ".join(words))]
        if len(words) >= 2 and name_key(words[-1]) in self.by_key and not words[0].istitle():
            return self.by_key[name_key(words[-1])]  # "the poor little Lizard" -> Lizard
        return None

    def add(self, form: str) -> int:
        """A minor speaker named only in a tag; its gender comes from its title or noun."""
        words = form.split()
        gender = "U"
        head = words[-1].lower()
        for w in words:
            if w.rstrip(".") in TITLES:
                gender = TITLES[w.rstrip(".")]
                break
        else:
            gender = PERSON_NOUNS.get(head, "U")
        self.characters.append(Character(form, [], gender, 0))
        self._register(len(self.characters) - 1, self.characters[-1])
        return len(self.characters) - 1

    def gender(self, i: int) -> str:
        return self.characters[i].gender

    def narrator(self) -> int:
        found = self.by_key.get(name_key(NARRATOR))
        return found if found is not None else self.add(NARRATOR)


@dataclass
class Mention:
    start: int
    char: int
    paragraph: int
    in_quote: bool
    initial: bool  # a subject: opens a sentence or is followed by its verb
    pronoun: bool = False  # a narration "he"/"she" standing for this character


_DEPTH = 10  # paragraphs of narration the resolver looks back over
_NARRATION_WEIGHT = (3.5, 2.5, 1.2, 0.8, 0.5, 0.5, 0.4, 0.4, 0.3, 0.3, 0.3)
_TURN_WEIGHT = {1: 2.0, 2: 2.5, 3: 1.0, 4: 0.6, 5: 0.4, 6: 0.3}


@dataclass
class Salience:
    """What the resolver may look at: mentions by position, turns and addressees so far.

    `turns` and `addressed` hold (pos, paragraph, character) in text order; the turn-taking
    pass inserts into them as it fills gaps, so a later lookup sees its own guesses.
    `breaks` are paragraphs that end a conversation (a heading or a long narration); turns
    before the latest break are not part of the current conversation. `headings` also
    hide the narration before them (a new chapter is a new scene).
    """

    index: CastIndex
    mentions: list[Mention]
    quote_paragraphs: set[int] = field(default_factory=set)
    quote_tails: dict[int, int] = field(default_factory=dict)  # paragraph -> last quote end
    breaks: list[int] = field(default_factory=list)
    headings: list[int] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    turns: list[tuple[int, int, int]] = field(default_factory=list)
    addressed: list[tuple[int, int, int]] = field(default_factory=list)
    silent: list[tuple[int, int, int]] = field(default_factory=list)
    prior: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.starts = [m.start for m in self.mentions]
        counts: dict[int, int] = {}
        for m in self.mentions:
            if not m.in_quote:
                counts[m.char] = counts.get(m.char, 0) + 1
        top = max(counts.values(), default=1)
        # A small prior for the characters the narration is about (the protagonist first).
        self.prior = {c: 0.8 * (n / top) ** 0.5 for c, n in counts.items()}

    def add_turn(self, pos: int, paragraph: int, speaker: int) -> None:
        bisect.insort(self.turns, (pos, paragraph, speaker))

    def add_silent(self, pos: int, paragraph: int, char: int) -> None:
        """A short narration paragraph about `char` (`Mr. Bennet made no answer.`)."""
        bisect.insort(self.silent, (pos, paragraph, char))

    def _answered(self, turn: tuple[int, int, int], pos: int) -> bool:
        """Someone else took a silent turn between `turn` and `pos`."""
        k = bisect.bisect_right(self.silent, (turn[0], 1 << 30, 1 << 30))
        while k < len(self.silent) and self.silent[k][0] < pos:
            if self.silent[k][2] != turn[2]:
                return True
            k += 1
        return False

    def add_addressed(self, pos: int, paragraph: int, chars: set[int]) -> None:
        for c in chars:
            bisect.insort(self.addressed, (pos, paragraph, c))

    @staticmethod
    def _floor(marks: list[int], paragraph: int) -> int:
        k = bisect.bisect_right(marks, paragraph) - 1
        return marks[k] if k >= 0 else -1

    def chain(self, pos: int, paragraph: int, n: int = 8) -> list[tuple[int, int, int]]:
        """The last `n` turns of the current conversation before `pos`, oldest first."""
        floor = self._floor(self.breaks, paragraph)
        k = bisect.bisect_left(self.turns, (pos, -1, -1))
        found = []
        while k > 0 and len(found) < n:
            k -= 1
            if self.turns[k][1] < floor:
                break
            found.append(self.turns[k])
        return found[::-1]

    def last_speaker(self, pos: int, paragraph: int) -> int | None:
        chain = self.chain(pos, paragraph, 1)
        return chain[-1][2] if chain else None

    def narration_mentions(self, pos: int, paragraph: int, depth: int = 3) -> list[Mention]:
        """Narration mentions from `depth` paragraphs back up to `pos`, latest first."""
        floor = self._floor(self.headings, paragraph)
        found = []
        k = bisect.bisect_left(self.starts, pos) - 1
        while k >= 0 and paragraph - self.mentions[k].paragraph <= depth:
            m = self.mentions[k]
            if m.paragraph < floor:
                break
            if not m.in_quote:
                found.append(m)
            k -= 1
        return found

    def _addressed_by(self, turn: tuple[int, int, int]) -> list[int]:
        k = bisect.bisect_left(self.addressed, (turn[0], -1, -1))
        found = []
        while k < len(self.addressed) and self.addressed[k][0] == turn[0]:
            found.append(self.addressed[k][2])
            k += 1
        return found

    def _gender_ok(self, char: int, gender: str, loose: bool) -> bool:
        g = self.index.gender(char)
        if gender in ("M", "F"):
            return g == gender or (loose and g == "U")
        if gender == "N":  # "it": a creature or thing, so an unknown gender first
            return g == "U" or loose
        return True

    def pick(
        self, pos: int, paragraph: int, gender: str, exclude: set[int], replying: bool = False
    ) -> int | None:
        """The character a pronoun or role noun of `gender` refers to, by ordered sieves:
        1. a subject named earlier in this paragraph's narration;
        2. whoever the quotation one paragraph up addressed by name;
        3. a character named in the narration paragraph just before;
        4. the conversation's speakers, latest first;
        5. any character named in recent narration, latest first;
        6. the most prominent character.
        The speaker of the quotation one paragraph up is skipped (a new paragraph is a new
        voice), as is anyone the current quotation addresses (`exclude`)."""
        chain = self.chain(pos, paragraph)
        last = chain[-1] if chain else None
        banned = set(exclude)
        # A new paragraph is a new voice; a reply answers the last speaker, unless someone
        # answered in between with a silent turn.
        if (
            last is not None
            and last[1] != paragraph
            and (last[1] == paragraph - 1 or (replying and not self._answered(last, pos)))
        ):
            banned.add(last[2])
        here = [m for m in self.narration_mentions(pos, paragraph, 0)]
        # The narration just before: the previous paragraph, or what follows its last quote.
        tail = self.quote_tails.get(paragraph - 1, -1)
        before = [
            m
            for m in self.narration_mentions(pos, paragraph, 1)
            if m.paragraph == paragraph - 1 and m.start > tail
        ]
        recent = self.narration_mentions(pos, paragraph, _DEPTH)
        addressed = self._addressed_by(last) if last and last[1] >= paragraph - 1 else []
        sieves: list[list[int]] = [
            [m.char for m in here if m.initial],
            addressed,
            [m.char for m in before if m.initial] + [m.char for m in before],
            [t[2] for t in reversed(chain)],
            [m.char for m in recent if not m.pronoun],
        ]
        prominent = sorted(self.prior, key=lambda c: -self.prior[c])
        for loose in (False, True):
            for sieve in sieves:
                for char in sieve:
                    if char not in banned and self._gender_ok(char, gender, loose):
                        return char
            # Nobody else around: the last speaker goes on (a monologue), else the lead.
            if (
                last is not None
                and last[2] not in exclude
                and self._gender_ok(last[2], gender, loose)
            ):
                return last[2]
            for char in prominent:
                if char not in banned and self._gender_ok(char, gender, loose):
                    return char
        return None

    def scores(self, pos: int, paragraph: int) -> dict[int, float]:
        """Speaker salience of every character at `pos`, for quotations with no tag."""
        score: dict[int, float] = dict(self.prior)
        seen: dict[int, float] = {}
        for m in self.narration_mentions(pos, paragraph, depth=_DEPTH):
            if m.pronoun:
                continue
            weight = _NARRATION_WEIGHT[paragraph - m.paragraph] * (1.25 if m.initial else 1.0)
            seen[m.char] = max(seen.get(m.char, 0.0), weight)
        for char, w in seen.items():
            score[char] = score.get(char, 0.0) + w
        chain = self.chain(pos, paragraph, 6)
        for back, (_, p, speaker) in enumerate(reversed(chain), start=1):
            if back == 1 and paragraph - p == 1:
                score[speaker] = score.get(speaker, 0.0) * 0.35  # a new paragraph, a new voice
                continue
            score[speaker] = score.get(speaker, 0.0) + _TURN_WEIGHT[back]
        return score

    def best(self, pos: int, paragraph: int, gender: str, exclude: set[int]) -> int | None:
        """Most salient character of `gender` ("U" = any) by score, never one in `exclude`."""
        kept = [
            (s, c)
            for c, s in self.scores(pos, paragraph).items()
            if c not in exclude and s > 0 and self._gender_ok(c, gender, False)
        ]
        return max(kept)[1] if kept else None

    def owners(self, pos: int, paragraph: int, gender: str, addressed: set[int]) -> list[int]:
        """Who "his"/"her" in a tag most likely means: the addressee of this quotation, the
        last speaker, the latest narration mentions of that gender, earlier speakers."""
        found: list[int] = [c for c in sorted(addressed) if self.index.gender(c) == gender]
        speakers = [t[2] for t in reversed(self.chain(pos, paragraph, 4))]
        names = [m.char for m in self.narration_mentions(pos, paragraph, depth=2) if not m.pronoun]
        for c in speakers[:1] + names + speakers[1:]:
            if self.index.gender(c) == gender and c not in found:
                found.append(c)
        return found


def resolve_tag(
    kind: str,
    mention: str,
    pos: int,
    paragraph: int,
    verb: str,
    salience: Salience,
    exclude: set[int],
    replying: bool,
) -> int | None:
    """The character a tag mention names (see the module docstring)."""
    index = salience.index
    if kind == "name":
        found = index.lookup(mention)
        if found is None:
            found = index.add(mention)  # a speaker named only in this tag
        return found
    if kind == "pronoun":
        word = mention.lower()
        if word == "i":
            has_narrator = any(c.name == NARRATOR for c in index.characters)
            return index.narrator() if has_narrator else None
        if word in ("they", "we"):
            return None
        gender = {"he": "M", "she": "F", "it": "N"}.get(word, "U")
        return salience.pick(pos, paragraph, gender, exclude, replying)
    return _resolve_nominal(mention, pos, paragraph, salience, exclude, replying)


def _resolve_nominal(
    mention: str,
    pos: int,
    paragraph: int,
    salience: Salience,
    exclude: set[int],
    replying: bool,
) -> int | None:
    words = mention.lower().split()
    determiner, noun = words[0], words[-1]
    index = salience.index
    if determiner.endswith("'s"):
        return _owned(mention.split()[0][:-2], noun, pos, paragraph, salience, exclude, replying)
    if noun in ("other", "former", "latter"):
        last = salience.last_speaker(pos, paragraph)
        return salience.pick(pos, paragraph, "U", exclude | ({last} if last is not None else set()))
    gender = PERSON_NOUNS.get(noun, "U")
    if determiner == "the":
        found = _titled(noun, pos, paragraph, salience, exclude)
        if found is not None:
            return found  # "the doctor" is Doctor Losberne, "the captain" Captain Wentworth
    owner = None
    if determiner in ("his", "her"):
        owners = salience.owners(pos, paragraph, "M" if determiner == "his" else "F", exclude)
        owner = owners[0] if owners else None
        title = RELATION_TITLE.get(noun) or (
            "Mrs" if noun == "lady" and determiner == "his" else None
        )
        if title:
            # Mr. Bennet's wife is Mrs. Bennet: try the owners, then anyone salient.
            ranked = sorted(salience.scores(pos, paragraph).items(), key=lambda kv: -kv[1])
            pool = owners[:3] + [c for c, _ in ranked[:6]]
            for candidate in pool:
                if candidate in index.surname:
                    found = index.lookup(f"{title}. {index.surname[candidate]}")
                    if found is not None and found not in exclude and found != candidate:
                        return found
            spouse = noun in ("wife", "husband", "lady")
            if spouse and owners and owners[0] in index.surname:
                # Mr. Bennet's wife, never named in this text: she is Mrs. Bennet all the same.
                return index.add(f"{title}. {index.surname[owners[0]]}")
    if determiner == "my":
        owner = index.narrator() if NARRATOR in {c.name for c in index.characters} else None
    banned = exclude | ({owner} if owner is not None else set())
    return salience.pick(pos, paragraph, gender, banned, replying)


def _owned(
    owner_name: str,
    noun: str,
    pos: int,
    paragraph: int,
    salience: Salience,
    exclude: set[int],
    replying: bool,
) -> int | None:
    """`Daisy's mamma`: Mrs. of Daisy's surname when the book has her, else someone of the
    noun's gender who is not Daisy."""
    index = salience.index
    owner = index.lookup(owner_name)
    title = RELATION_TITLE.get(noun)
    if owner is not None and title and owner in index.surname:
        found = index.lookup(f"{title}. {index.surname[owner]}")
        if found is not None and found != owner and found not in exclude:
            return found
    banned = exclude | ({owner} if owner is not None else set())
    return salience.pick(pos, paragraph, PERSON_NOUNS.get(noun, "U"), banned, replying)


_TITLE_FORMS = {"doctor": ("Dr", "Doctor"), "professor": ("Professor", "Prof")}


def _titled(
    noun: str, pos: int, paragraph: int, salience: Salience, exclude: set[int]
) -> int | None:
    """The character "the <noun>" names by title: the only one the book gives that title,
    else the one of them most salient here (mentioned or speaking lately)."""
    index = salience.index
    found: set[int] = set()
    for title in _TITLE_FORMS.get(noun, (noun.capitalize(),)):
        found |= index.titled.get(title, set())
    found -= exclude
    if len(found) == 1:
        return found.pop()
    scores = salience.scores(pos, paragraph)
    ranked = sorted((c for c in found if scores.get(c, 0.0) > 1.0), key=lambda c: -scores[c])
    return ranked[0] if ranked else None
