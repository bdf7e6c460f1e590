from narration.model import Block, BlockKind, Book, Chapter, Pause, Voice
from narration.plan import NARRATOR, EngineInfo, SpeechRun, build_plan, title_to_announce
from narration.text.lexicon import Lexicon

VOICE = Voice(engine="piper", model_id="m", name="joe")
ENGINES = {"piper": EngineInfo("piper", "v1", 22050, 400)}


def _book(*chapters: Chapter) -> Book:
    return Book(title="T", author="A", chapters=list(chapters))


def _plan(book: Book, **kwargs):
    return build_plan(
        book,
        engines=ENGINES,
        voices={NARRATOR: VOICE},
        **kwargs,
    )


def test_one_segment_per_sentence_with_pauses_and_title_first():
    chapter = Chapter(
        1,
        "The Ledger",
        [
            Block("Mr. Wren kept a ledger. He wrote daily."),
            Block("", BlockKind.SECTION_BREAK),
            Block("The storm came."),
        ],
    )
    segments = _plan(_book(chapter)).chapters[0].segments
    assert [s.text for s in segments] == [
        "The Ledger",
        "Mr. Wren kept a ledger.",
        "He wrote daily.",
        "The storm came.",
    ]
    assert [s.pause_after for s in segments] == [
        Pause.SECTION,
        Pause.SENTENCE,
        Pause.SECTION,
        Pause.PARAGRAPH,
    ]
    assert all(len(s.key) == 64 for s in segments)


def test_verse_lines_get_line_pauses():
    chapter = Chapter(
        1,
        "Poem",
        [
            Block("April is the cruellest month,", BlockKind.VERSE_LINE),
            Block("breeding lilacs", BlockKind.VERSE_LINE),
        ],
    )
    segments = _plan(_book(chapter), announce_titles=False).chapters[0].segments
    assert [s.pause_after for s in segments] == [Pause.LINE, Pause.LINE]


def test_editing_one_sentence_changes_only_its_key():
    before = _plan(_book(Chapter(1, "C", [Block("One fish. Two fish. Red fish.")])))
    after = _plan(_book(Chapter(1, "C", [Block("One fish. Two cats. Red fish.")])))
    keys_before = [s.key for s in before.segments]
    keys_after = [s.key for s in after.segments]
    changed = [i for i, (a, b) in enumerate(zip(keys_before, keys_after, strict=True)) if a != b]
    assert changed == [2]  # the title is segment 0


def test_keys_hash_normalised_text_so_lexicon_edits_touch_only_their_words(tmp_path):
    book = _book(Chapter(1, "C", [Block("Darcy bowed. Jane smiled.")]))
    lexicon_file = tmp_path / "lexicon.toml"
    lexicon_file.write_text('[words]\nDarcy = "Darsee"\n')
    plain = _plan(book)
    respelled = _plan(book, lexicon=Lexicon.load(lexicon_file))
    differs = [a.key != b.key for a, b in zip(plain.segments, respelled.segments, strict=True)]
    assert differs == [False, True, False]
    assert "Darsee" in respelled.segments[1].spoken_text


def test_chapter_selection_and_unspeakable_text_skipped():
    book = _book(
        Chapter(1, "A", [Block("Hello.")]), Chapter(2, "B", [Block("* * *"), Block("Bye.")])
    )
    plan = _plan(book, chapters=[2])
    assert [c.index for c in plan.chapters] == [2]
    assert [s.text for s in plan.segments] == ["B", "Bye."]


def test_attributor_sets_speaker_and_kind_and_voice():
    alto = Voice(engine="piper", model_id="m", name="alto", effects=(("pitch_median_hz", 200.0),))

    def attributor(chapter):
        return [[SpeechRun("Yes, she said.", "dialogue", "Jane")] for _ in chapter.blocks]

    plan = build_plan(
        _book(Chapter(1, "C", [Block("x")])),
        engines=ENGINES,
        voices={NARRATOR: VOICE, "Jane": alto},
        attributor=attributor,
        announce_titles=False,
    )
    (segment,) = plan.segments
    assert (segment.kind, segment.speaker) == ("dialogue", "Jane")
    other = _plan(_book(Chapter(1, "C", [Block("Yes, she said.")])), announce_titles=False)
    assert segment.key != other.segments[0].key  # a different voice is a different rendering


def test_bare_roman_titles_are_announced_as_chapters():
    assert title_to_announce("I") == "Chapter I."
    assert title_to_announce("XII") == "Chapter XII."
    assert title_to_announce("The Storm") == "The Storm"
