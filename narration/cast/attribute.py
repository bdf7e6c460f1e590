"""Speaker attribution: who says each quotation. Rule-based, text only, pure.

Quotations sharing a paragraph form one turn, split where their tags name different
people (grouping.py). For each turn, in order of preference:
1. script label (`HAMLET: ...`), certain;
2. an explicit speech tag beside it, inside its interruption, or ending the paragraph
   before it (`Mr. Darcy replied with great intrepidity,`): a name ("said Elizabeth",
   "was Anne's answer"; method "explicit"), or a pronoun or role noun ("returned she",
   "cried his wife"; method "anaphoric", resolved by resolve.py);
3. the subject of the narration sentence before it in the paragraph, or after it when
   the quotation runs on into that sentence (`Elizabeth smiled. "..."`; "narration");
4. turn-taking inside a conversation (turns.py): the person the previous quotation
   addressed ("..., Lizzy."; "addressee"), the speaker two turns back ("turn-taking"),
   else the most salient other character ("salience").
Short narration paragraphs about a character are silent turns (`Mr. Bennet made no
answer.`); a long narration paragraph or a heading ends a conversation. A quotation
never belongs to the person it addresses by name. Nicknames the dialogue teaches
("Lizzy" answered by Elizabeth) are merged and the text attributed again (aliases.py).
Last, every quotation not settled by a name tag is decided again by weighing all these
clues at once (rerank.py), whose probability becomes its confidence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from narration.cast.aliases import learn_aliases
from narration.cast.characters import Character
from narration.cast.context import LONG_NARRATION, Context, is_heading
from narration.cast.grouping import paragraph_groups, split_by_speaker
from narration.cast.lexicon import PERSON_NOUNS, REPLY_VERBS
from narration.cast.quotes import Quotation
from narration.cast.rerank import rerank
from narration.cast.resolve import resolve_tag
from narration.cast.tags import Tag, is_speech_verb, subject_of, tag_after, tag_before
from narration.cast.turns import Turn, fill_turns

UNKNOWN = "Unknown"
# Confidence = how often each method was right on PDNC (Pride and Prejudice and Alice;
# 26 other PDNC novels in brackets): explicit .98 (.94), addressee .77 (.74), turn-taking
# .70 (.55), narration .64 (.54), anaphoric .63 (.60), salience .41 (.31). Quotations that
# rerank.py re-decides take its probability instead. "Described" strangers ("said a lady in
# the group") match PDNC's speaker only one time in four (27% on the fourteen novels),
# mostly because PDNC names them otherwise ("a voice" is someone it knows).
_CONFIDENCE = {
    "script": 1.0,
    "explicit": 0.95,
    "described": 0.3,
    "addressee": 0.75,
    "turn-taking": 0.6,
    "narration": 0.6,
    "anaphoric": 0.6,
    "salience": 0.35,
    "none": 0.0,
}
_SHORT_NARRATION = 60  # words: a narration paragraph this short may be a silent turn


@dataclass(frozen=True)
class AttributedQuote:
    """A quotation with its speaker (main name), the speaker's aliases and how it was found."""

    quotation: Quotation
    speaker: str
    aliases: list[str]
    confidence: float
    method: str  # script / explicit / anaphoric / narration / addressee / turn-taking / ...
    addressee: str | None = None

    @property
    def start(self) -> int:
        return self.quotation.start

    @property
    def end(self) -> int:
        return self.quotation.end

    @property
    def text(self) -> str:
        return self.quotation.text


def _tag_regions(ctx: Context, q: Quotation, prev_end: int, next_start: int) -> list[Tag]:
    """Speech tags around a quotation, best first: after its first piece, before it,
    after its later pieces."""
    text = ctx.text
    first_para = q.paragraphs[0] if q.paragraphs else ctx.paragraph_of(q.start)
    p_start = ctx.paragraphs[first_para][0]
    tags: list[Tag] = []
    for k, (_, e) in enumerate(q.pieces):
        para = q.paragraphs[k] if k < len(q.paragraphs) else first_para
        limit = q.pieces[k + 1][0] if k + 1 < len(q.pieces) else next_start
        limit = min(limit, ctx.paragraphs[para][1])
        tag = tag_after(text, e, limit)
        if tag:
            tags.append(tag)
        if k == 0:
            before = tag_before(text, max(prev_end, p_start), q.start)
            if before is None and prev_end <= p_start:
                before = _introduced(ctx, first_para)
            if before:
                tags.insert(1 if tags else 0, before)
    return tags


_INTRODUCES = re.compile(r"(?:[,:;—–-]|\b[a-z]+)\s*$")


def _introduced(ctx: Context, paragraph: int) -> Tag | None:
    """A tag ending the previous paragraph: `Mr. Darcy replied with great intrepidity,`.

    Only a narration tail that ends open (comma, colon, dash) or ends on its speech verb
    (`Sir William thus began.`) introduces the next paragraph's quotation.
    """
    if paragraph == 0:
        return None
    start, end = ctx.paragraphs[paragraph - 1]
    last_quote = ctx.last_quote_end(start, end)
    start = max(start, last_quote + 1)
    tail = ctx.text[start:end].rstrip()
    if not tail.strip():
        return None
    tag = tag_before(ctx.text, start, end)
    if tag is None or not tag.speech_verb:
        return None
    open_end = tail[-1] in ",:;—–-"
    noun_before = re.search(
        rf"\b(?:no|a|an|the|his|her|their|my|this|that|any)\s+{tag.verb}\b", tail
    )
    if not open_end and noun_before:
        return None  # `Mr. Bennet made no answer.`: a noun, not a verb that introduces speech
    if last_quote >= 0 and not open_end:
        return None  # `"...," cried his wife.` tags its own quotation, not the next one
    verb_end = re.search(rf"\b{re.escape(tag.verb)}\b\W*(?:\w+\W*){{0,3}}$", tail)
    return tag if open_end or verb_end else None


def _subjects(ctx: Context, q: Quotation, prev_end: int, next_start: int) -> list[Tag]:
    first_para = q.paragraphs[0] if q.paragraphs else ctx.paragraph_of(q.start)
    last_para = q.paragraphs[-1] if q.paragraphs else first_para
    found = []
    before = subject_of(ctx.text, max(prev_end, ctx.paragraphs[first_para][0]), q.start, True)
    if before:
        found.append(before)
    # After the quotation only when it runs on into the narration (`"...," Jane began`):
    # a new sentence after a finished one is as often the listener's reaction.
    if q.text.rstrip(" _*")[-1:] not in ".!?":
        after = subject_of(ctx.text, q.end, min(next_start, ctx.paragraphs[last_para][1]), False)
        if after:
            found.append(after)
    return found


def _sentence_word(ctx: Context, tag: Tag) -> bool:
    """`Having said so, ...`, `Presently she said`: a capitalised common word before the
    verb, unknown to the cast, is no name. After a speech verb (`said Five`) it is one."""
    if (
        tag.kind != "name"
        or " " in tag.mention
        or tag.mention.lower() not in ctx.index.common_words
    ):
        return False
    if ctx.index.lookup(tag.mention) is not None:
        return False
    before = re.search(r"([a-z]+)\W*$", ctx.text[max(0, tag.start - 30) : tag.start])
    return not (before and is_speech_verb(before.group(1)))


def _resolve(ctx: Context, tag: Tag, turn: Turn, exclude: set[int]) -> int | None:
    if _sentence_word(ctx, tag):
        return None
    replying = tag.verb in REPLY_VERBS
    paragraph = ctx.paragraph_of(tag.start)
    if tag.addressee and tag.kind != "name":
        spoken_to = ctx.index.lookup(tag.addressee)
        if spoken_to is not None:
            exclude = exclude | {spoken_to}  # `said she to Charlotte`: not Charlotte
    return resolve_tag(
        tag.kind, tag.mention, tag.start, paragraph, tag.verb, ctx.salience, exclude, replying
    )


def _first_pass(ctx: Context) -> list[Turn]:
    """Tags, subjects and silent turns, in text order (pronouns need what came before)."""
    turns: list[Turn] = []
    by_para: dict[int, list[Quotation]] = {}
    groups = paragraph_groups(ctx.text, ctx.quotations)
    for i, whole in enumerate(groups):
        following = groups[i + 1].start if i + 1 < len(groups) else len(ctx.text)
        preceding = groups[i - 1].end if i else 0
        for q in split_by_speaker(ctx, whole, preceding, following):
            by_para.setdefault(q.paragraphs[0] if q.paragraphs else ctx.paragraph_of(q.start), [])
            by_para[q.paragraphs[0] if q.paragraphs else ctx.paragraph_of(q.start)].append(q)
    covered: set[int] = {p for q in ctx.quotations for p in q.paragraphs}
    pending_break = True
    for p, (p_start, p_end) in enumerate(ctx.paragraphs):
        quotes = by_para.get(p, [])
        if not quotes:
            if p in covered:
                continue  # the middle of a multi-paragraph quotation
            words = ctx.words(p)
            if is_heading(ctx.text[p_start:p_end].strip()) or words > LONG_NARRATION:
                pending_break = True
                continue
            if words <= _SHORT_NARRATION and turns and not pending_break:
                silent = _silent_turn(ctx, p, turns)
                if silent is not None and silent.speaker is not None:
                    turns.append(silent)
                    ctx.salience.add_silent(silent.pos, p, silent.speaker)
            continue
        for j, q in enumerate(quotes):
            prev_end = quotes[j - 1].end if j else p_start
            next_start = quotes[j + 1].start if j + 1 < len(quotes) else len(ctx.text)
            turn = Turn(q, p, q.paragraphs[-1] if q.paragraphs else p, q.start)
            turn.vocatives = ctx.vocatives(q)
            turn.break_before = pending_break
            pending_break = False
            _attribute_locally(ctx, turn, prev_end, next_start)
            ctx.salience.add_addressed(turn.pos, p, turn.vocatives)
            turns.append(turn)
            if turn.speaker is not None:
                ctx.salience.add_turn(turn.pos, p, turn.speaker)
    return turns


def _attribute_locally(ctx: Context, turn: Turn, prev_end: int, next_start: int) -> None:
    q = turn.quotation
    assert q is not None
    if q.style == "script" and q.label:
        found = ctx.index.lookup(q.label)
        turn.speaker = found if found is not None else ctx.index.add(q.label)
        turn.method = "script"
        return
    for tag in _tag_regions(ctx, q, prev_end, next_start):
        speaker = _resolve(ctx, tag, turn, turn.vocatives)
        if speaker is not None and speaker not in turn.vocatives:
            turn.speaker = speaker
            turn.method = "explicit" if tag.kind == "name" else "anaphoric"
            if tag.described:
                turn.method = "described"  # `said a lady in the group`: a stranger
            owner = tag.mention.split("'s ")[0] if tag.kind == "nominal" else ""
            if owner != tag.mention and ctx.index.lookup(owner) is not None:
                turn.not_speaker.add(ctx.index.lookup(owner))  # `Daisy's mamma`
            spoken_to = ctx.index.lookup(tag.addressee) if tag.addressee else None
            if spoken_to is not None and spoken_to != speaker:
                turn.vocatives.add(spoken_to)  # `turning to Mr. Knightley`: he answers next
            turn.gender = _tag_gender(tag)
            return
        if tag.kind == "pronoun" and turn.gender == "U":
            turn.gender = _tag_gender(tag)
    for tag in _subjects(ctx, q, prev_end, next_start):
        speaker = _resolve(ctx, tag, turn, turn.vocatives)
        if speaker is not None and speaker not in turn.vocatives:
            turn.speaker = speaker
            turn.method = "narration"
            return
    if turn.gender == "U":
        turn.gender = _beat_gender(ctx, q, next_start)


def _tag_gender(tag: Tag) -> str:
    """The speaker's gender as the tag says it: "she", "his wife", "the old gentleman"."""
    if tag.kind == "pronoun":
        return {"he": "M", "she": "F"}.get(tag.mention.lower(), "U")
    if tag.kind == "nominal":
        return PERSON_NOUNS.get(tag.mention.split()[-1].lower(), "U")
    return "U"


def _beat_gender(ctx: Context, q: Quotation, next_start: int) -> str:
    """`"No." She changed her position slightly.`: the narration after an untagged
    quotation in its paragraph is mostly the speaker's own gesture, so its "he"/"she"
    gives the speaker's gender (a hint for turn-taking, not a speaker)."""
    last_para = q.paragraphs[-1] if q.paragraphs else ctx.paragraph_of(q.end)
    end = min(next_start, ctx.paragraphs[last_para][1])
    beat = subject_of(ctx.text, q.end, end, False)
    if beat is None or beat.kind != "pronoun" or beat.start - q.end > 8:
        return "U"
    return {"he": "M", "she": "F"}.get(beat.mention.lower(), "U")


def _silent_turn(ctx: Context, p: int, turns: list[Turn]) -> Turn | None:
    """A short narration paragraph whose first sentence is about a character."""
    start, end = ctx.paragraphs[p]
    tag = subject_of(ctx.text, start, end, last=False)
    if tag is None or tag.start - start > 40:
        return None
    turn = Turn(None, p, p, start)
    speaker = _resolve(ctx, tag, turn, set())
    if speaker is None:
        return None
    turn.speaker = speaker
    turn.method = "silent"
    return turn


def attributed_turns(
    text: str, characters: list[Character] | None = None, reranked: bool = True
) -> tuple[Context, list[Turn]]:
    """The run's context and its turns (quotations and silent turns) with speakers."""
    ctx = Context(text, characters)
    turns = _first_pass(ctx)
    learned = learn_aliases(ctx.index.characters, turns)
    if learned is not None:
        ctx = Context(text, learned)  # again, with nicknames joined to their owners
        turns = _first_pass(ctx)

    def fallback(turn: Turn, banned: set[int]) -> int | None:
        if turn.gender != "U":
            found = ctx.salience.best(turn.pos, turn.paragraph, turn.gender, banned)
            if found is not None:
                return found
        return ctx.salience.best(turn.pos, turn.paragraph, "U", banned)

    def record(turn: Turn) -> None:
        if turn.speaker is not None:
            ctx.salience.add_turn(turn.pos, turn.paragraph, turn.speaker)

    fill_turns(turns, fallback, record, ctx.index.gender)
    if reranked:
        rerank(ctx, turns)
    return ctx, turns


def attribute(text: str, characters: list[Character] | None = None) -> list[AttributedQuote]:
    """Every quotation in `text` with its speaker, in text order.

    `characters` is the cast to use (e.g. discovered once on the whole book when attributing
    chapter by chapter); by default it is discovered from `text`.
    """
    ctx, turns = attributed_turns(text, characters)
    result: list[AttributedQuote] = []
    for turn in turns:
        if turn.quotation is None:
            continue
        addressee = None
        if turn.vocatives:
            addressee = ctx.index.characters[min(turn.vocatives)].name
        if turn.speaker is None:
            result.append(AttributedQuote(turn.quotation, UNKNOWN, [], 0.0, "none", addressee))
            continue
        c = ctx.index.characters[turn.speaker]
        result.append(
            AttributedQuote(
                turn.quotation,
                c.name,
                list(c.aliases),
                turn.confidence
                if turn.confidence is not None
                else _CONFIDENCE.get(turn.method, 0.3),
                turn.method,
                addressee,
            )
        )
    return result


def with_line_counts(characters: list[Character], quotes: list[AttributedQuote]) -> list[Character]:
    """Copies of `characters` with `lines` set to how many quotations each one speaks,
    plus any minor speaker that appears only in a tag."""
    counts: dict[str, int] = {}
    for q in quotes:
        counts[q.speaker] = counts.get(q.speaker, 0) + 1
    out = [replace(c, aliases=list(c.aliases), lines=counts.pop(c.name, 0)) for c in characters]
    extra = {q.speaker: q for q in quotes if q.speaker in counts and q.speaker != UNKNOWN}
    for name, q in extra.items():
        out.append(Character(name, list(q.aliases), "U", 0, counts[name]))
    return out


def attribution_json_lines(text: str) -> Iterator[str]:
    """One JSON object per quotation, in text order: the stable evaluation interface.

    Keys: start, end (content offsets without quote marks; first piece start to last piece
    end), text, speaker, aliases, confidence.
    """
    for q in attribute(text):
        yield json.dumps(
            {
                "start": q.start,
                "end": q.end,
                "text": q.text,
                "speaker": q.speaker,
                "aliases": q.aliases,
                "confidence": round(q.confidence, 3),
            },
            ensure_ascii=False,
        )
