"""An Episode as a `narration.model.Book` that the book planner plans unchanged.

Each paragraph of a turn becomes a SPEAKER_TURN block with its speaker, which
`narration.plan.block_runs` reads as that speaker's dialogue, so no attribution runs and the
voice map ({speaker: voice}, from narration.podcast.casting) decides who sounds like whom.
Untagged text is narration: the plan's narrator voice, which the casting makes the host's.
A music cue becomes a section break (the longest pause), where the music would sit.

Cues are rendered here, per speaker, because only the speaker's engine knows its tokens:
the same line spoken by ChatTTS says "[laugh]", by Piper nothing. The result is plain
spoken text, so segment keys (which hash it) stay exact and an edited line re-renders alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache

from narration.model import Block, BlockKind, Book, Chapter
from narration.podcast.model import Episode, Event, Turn

# Engine name -> {neutral cue name: the engine's token}. An engine missing here, or a cue
# missing from its table, drops the cue. (When engines grow a `cue_tokens` attribute, this
# table moves there.)

TokensFor = Callable[[str | None], Mapping[str, str]]


@cache
def cue_tokens(engine: str) -> dict[str, str]:
    """The cue tokens `engine` declares (empty: every cue is dropped; so for an engine this
    installation cannot name, such as a module:Class one known by its own name)."""
    from narration.engines.registry import engine_class
    from narration.errors import EngineError

    try:
        return dict(engine_class(engine).cue_tokens)
    except EngineError:
        return {}


def no_cues(_speaker: str | None) -> Mapping[str, str]:
    return {}


def tokens_by_engine(speaker_engines: Mapping[str | None, str]) -> TokensFor:
    """A `tokens_for` from {speaker: engine name} (key None: the narrator/host)."""

    def tokens_for(speaker: str | None) -> Mapping[str, str]:
        engine = speaker_engines.get(speaker, speaker_engines.get(None, ""))
        return cue_tokens(engine)

    return tokens_for


def _turn_blocks(turn: Turn, tokens_for: TokensFor) -> list[Block]:
    tokens = dict(tokens_for(turn.speaker))
    if turn.speaker is None:
        return [Block(text) for text in turn.spoken(tokens)]
    return [Block(text, BlockKind.SPEAKER_TURN, turn.speaker) for text in turn.spoken(tokens)]


def episode_book(
    episode: Episode,
    *,
    tokens_for: TokensFor = no_cues,
    intro: Sequence[str] = (),
    outro: Sequence[str] = (),
    author: str = "",
) -> Book:
    """The Book to plan: one chapter per episode chapter, blocks in running order.

    `intro`/`outro` are the host's lines (narration.podcast.hostlines), spoken by the host
    (`episode.host`) at the head of the first chapter and the end of the last. Plan it with
    `announce_titles=False`: a podcast does not read out its chapter titles."""
    host = episode.host

    def host_block(line: str) -> Block:
        return Block(line, BlockKind.SPEAKER_TURN, host) if host else Block(line)

    chapters: list[Chapter] = []
    for number, source in enumerate(episode.chapters, start=1):
        blocks: list[Block] = []
        if number == 1:
            blocks += [host_block(line) for line in intro if line.strip()]
        for item in source.items:
            if isinstance(item, Event):
                if item.kind == "music" and blocks:
                    blocks.append(Block("", BlockKind.SECTION_BREAK))
                continue
            blocks += _turn_blocks(item, tokens_for)
        if number == len(episode.chapters):
            blocks += [host_block(line) for line in outro if line.strip()]
        chapters.append(Chapter(number, source.title, blocks, source_href=episode.source_path))
    return Book(
        title=episode.meta.title,
        author=author or episode.meta.show or (episode.host or ""),
        chapters=chapters,
        source_path=episode.source_path,
    )
