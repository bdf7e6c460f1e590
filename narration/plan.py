"""From a Book to a Plan: chapters x segments, each with its spoken text, speaker, voice and key.

Planning is cheap and pure (no audio), so the CLI can plan a whole novel in about a second to
tell whether anything needs rendering before it starts any machinery.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from narration.errors import EngineError
from narration.model import Block, BlockKind, Book, Chapter, Pause, Segment, Voice
from narration.store import segment_key
from narration.text.lexicon import Lexicon
from narration.text.normalize import normalize
from narration.text.sentences import split_long, split_sentences

_SPEAKABLE = re.compile(r"\w")
NARRATOR = "narrator"


@dataclass(frozen=True)
class SpeechRun:
    """A stretch of a block spoken by one speaker: narration, or one quotation."""

    text: str
    kind: str = "narration"
    speaker: str = NARRATOR


# Splits each block of a chapter into runs by speaker (one list of runs per block).
Attributor = Callable[[Chapter], list[list[SpeechRun]]]


def block_runs(block: Block) -> list[SpeechRun]:
    """A block as one run: a play's or script's turn is its speaker's; the rest is narration."""
    if block.kind == BlockKind.SPEAKER_TURN and block.speaker:
        return [SpeechRun(block.text, "dialogue", block.speaker)]
    return [SpeechRun(block.text)]


def narration_only(chapter: Chapter) -> list[list[SpeechRun]]:
    return [block_runs(block) for block in chapter.blocks]


@dataclass
class ChapterPlan:
    index: int
    title: str
    segments: list[Segment] = field(default_factory=list)

    def fingerprint(self) -> str:
        payload = json.dumps([self.title, [(s.key, s.pause_after.value) for s in self.segments]])
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class EngineInfo:
    """What planning needs of an engine: it shapes keys, splitting and the output rate."""

    name: str
    model_version: str
    sample_rate: int
    max_segment_chars: int


@dataclass
class Plan:
    book: Book
    engines: dict[str, EngineInfo]  # the engines the plan's voices use, by name
    sample_rate: int  # the output's: the highest of the engines' (others are resampled)
    voices: dict[str, Voice]  # speaker -> voice ("narrator" always present)
    chapters: list[ChapterPlan]

    @property
    def segments(self) -> list[Segment]:
        return [s for c in self.chapters for s in c.segments]

    @property
    def mixes_engines(self) -> bool:
        return len(self.engines) > 1

    def fingerprint(self) -> str:
        payload = json.dumps([c.fingerprint() for c in self.chapters])
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _pause_for(block: Block) -> Pause:
    return Pause.LINE if block.kind == BlockKind.VERSE_LINE else Pause.PARAGRAPH


def _sentences(text: str, max_chars: int) -> list[str]:
    return [piece for s in split_sentences(text) for piece in split_long(s, max_chars)]


_BARE_NUMBER_TITLE = re.compile(r"(?:[IVXLCDM]+|\d+)\.?")


def title_to_announce(title: str) -> str:
    """A bare "IV" or "4" as a TOC title is read "Chapter IV" (a lone "I" would be a pronoun)."""
    title = title.strip()
    return f"Chapter {title.rstrip('.')}." if _BARE_NUMBER_TITLE.fullmatch(title) else title


def speech_text(text: str, lexicon: Lexicon) -> str:
    """What the engine is given for one sentence: normalised, then the user's respellings."""
    return lexicon.apply(normalize(text))


def plan_chapter(
    chapter: Chapter,
    *,
    max_chars: int,
    lexicon: Lexicon,
    announce_title: bool = True,
    attributor: Attributor = narration_only,
) -> list[Segment]:
    """Segments for one chapter: one sentence each (long ones split at clauses), so an edited
    sentence re-renders only itself. The TOC title is read first, followed by a long pause."""
    segments: list[Segment] = []

    def add(text: str, pause: Pause, kind: str = "narration", speaker: str = NARRATOR) -> None:
        spoken = speech_text(text, lexicon)
        if _SPEAKABLE.search(spoken):
            segments.append(
                Segment(chapter.index, len(segments), text, spoken, pause, kind, speaker)
            )

    if announce_title and chapter.title:
        add(title_to_announce(chapter.title), Pause.SECTION)
    for block, runs in zip(chapter.blocks, attributor(chapter), strict=True):
        if block.kind == BlockKind.SECTION_BREAK:
            if segments:
                segments[-1].pause_after = Pause.SECTION
            continue
        for run in runs:
            for sentence in _sentences(run.text, max_chars):
                add(sentence, Pause.SENTENCE, run.kind, run.speaker)
        if segments and segments[-1].pause_after == Pause.SENTENCE:
            segments[-1].pause_after = _pause_for(block)
    return segments


def build_plan(
    book: Book,
    *,
    engines: dict[str, EngineInfo],
    voices: dict[str, Voice],
    lexicon: Lexicon | None = None,
    chapters: Iterable[int] | None = None,
    seed: int = 0,
    announce_titles: bool = True,
    attributor: Attributor = narration_only,
) -> Plan:
    """Plan the selected chapters (1-based indexes; None = all) and give every segment its key.

    Each voice names its engine; `engines` has every engine the voices name. Sentences are
    split to the shortest `max_segment_chars` among them (a segment's engine is known only
    once its speaker is)."""
    lexicon = lexicon or Lexicon()
    wanted = set(chapters) if chapters is not None else None
    narrator = voices[NARRATOR]
    for voice in voices.values():
        if voice.engine not in engines:
            raise EngineError(
                f"voice {voice.name or voice.model_id!r} needs engine "
                f"{voice.engine!r}, which this job does not use"
            )
    max_chars = min(e.max_segment_chars for e in engines.values())
    plans: list[ChapterPlan] = []
    used: set[str] = set()
    for chapter in book.chapters:
        if wanted is not None and chapter.index not in wanted:
            continue
        segments = plan_chapter(
            chapter,
            max_chars=max_chars,
            lexicon=lexicon,
            announce_title=announce_titles,
            attributor=attributor,
        )
        for segment in segments:
            voice = voices.get(segment.speaker, narrator)
            engine = engines[voice.engine]
            used.add(engine.name)
            segment.key = segment_key(
                engine.name, engine.model_version, voice, seed, segment.spoken_text
            )
        plans.append(ChapterPlan(chapter.index, chapter.title, segments))
    used = used or {narrator.engine}
    rate = max(engines[name].sample_rate for name in used)
    return Plan(book, {n: engines[n] for n in sorted(used)}, rate, dict(voices), plans)


_PASSAGE_ENDS = (Pause.PARAGRAPH, Pause.SECTION)
# A passage is held in memory about four times over while it is mastered and streamed, so one
# that runs on without a paragraph end (a letter, a text file with no blank lines) is cut at
# sentence ends once it passes this many targets: memory does not grow with a paragraph.
_LONGEST_PASSAGE_TARGETS = 2.0


def passages(segments: list[Segment], target_chars: int) -> list[list[Segment]]:
    """A chapter's segments in passages of about `target_chars` of spoken text each, cut
    after a paragraph or a section, as even in length as those cuts allow.

    Mastering levels each passage on its own as soon as its segments are rendered, so the
    end of a job waits only for its last passage. The chapter is cut into
    round(length / target) passages, each ending at the first paragraph end past its share;
    a chapter shorter than 1.5 targets is one passage. No passage is cut off shorter than a
    quarter of the target (a long last paragraph would leave a sentence or two to be levelled
    on their own): it stays with the one before. A passage longer than two targets (no
    paragraph end to cut at) is cut the same way at sentence ends. `target_chars` 0: the
    chapter is one passage.
    """
    if target_chars <= 0:
        return [list(segments)] if segments else []
    out: list[list[Segment]] = []
    for passage in _even_cuts(segments, target_chars, _PASSAGE_ENDS):
        if _chars(passage) > _LONGEST_PASSAGE_TARGETS * target_chars:
            out.extend(_even_cuts(passage, target_chars, tuple(Pause)))
        else:
            out.append(passage)
    return out


def _chars(segments: list[Segment]) -> int:
    return sum(len(s.spoken_text) for s in segments)


def _even_cuts(
    segments: list[Segment], target_chars: int, ends: tuple[Pause, ...]
) -> list[list[Segment]]:
    """`segments` in round(length / target) runs, each cut after the first of `ends` past its
    share (see passages)."""
    total = _chars(segments)
    count = round(total / target_chars)
    if count < 2:
        return [list(segments)] if segments else []
    out: list[list[Segment]] = [[]]
    done = 0  # spoken characters in the runs before the current one, and in it
    for i, segment in enumerate(segments):
        out[-1].append(segment)
        done += len(segment.spoken_text)
        share = total * len(out) / count
        rest = total - done
        cut = done >= share and segment.pause_after in ends and rest >= target_chars / 4
        if cut and i + 1 < len(segments):
            if len(out) == count - 1:
                out.append(list(segments[i + 1 :]))
                return out
            out.append([])
    return [p for p in out if p]


def voice_of(plan: Plan, segment: Segment) -> Voice:
    return plan.voices.get(segment.speaker, plan.voices[NARRATOR])
