"""Quotation finding: every dialogue style, apostrophe safety, exact content offsets."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from narration.cast.quotes import find_quotations, paragraph_spans

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def contents(text: str) -> list[list[str]]:
    return [[text[s:e] for s, e in q.pieces] for q in find_quotations(text)]


def test_interrupted_quote_is_one_quotation_in_two_pieces() -> None:
    text = '"Well," said he, "I think it will rain."'
    [q] = find_quotations(text)
    assert [text[s:e] for s, e in q.pieces] == ["Well,", "I think it will rain."]
    assert (q.start, q.end) == (1, 39)
    assert q.text == "Well, I think it will rain."
    assert q.style == "double"


def test_curly_double_quotes_and_paragraphs() -> None:
    text = "“My dear Mr. Bennet,” said his lady, “have you heard?”\n\n“No.”\n\nHe sat."
    assert contents(text) == [["My dear Mr. Bennet,", "have you heard?"], ["No."]]
    assert [q.paragraphs for q in find_quotations(text)] == [[0, 0], [1]]


def test_british_single_quotes_keep_apostrophes_inside() -> None:
    text = (
        "‘It is the Bennets’ house,’ said she. ‘I don’t know; ’tis past eight o’clock.’\n\n"
        "‘Yes, I’m goin’ home,’ he said."
    )
    assert contents(text) == [
        ["It is the Bennets’ house,", "I don’t know; ’tis past eight o’clock."],
        ["Yes, I’m goin’ home,"],
    ]
    assert find_quotations(text)[0].style == "single"


def test_straight_single_quote_dialogue() -> None:
    text = "'I can't,' said Tom. 'It's the Smiths' car.'\n\n'Is it?' asked Ann."
    assert contents(text) == [["I can't,", "It's the Smiths' car."], ["Is it?"]]


def test_apostrophes_are_not_quotes_in_double_quote_text() -> None:
    text = (
        "It's the Bennets' turn, and 'tis o'clock somewhere. The girls' mother didn't care.\n\n"
        '"It\'s late," said Jane. "Don\'t wait."'
    )
    assert contents(text) == [["It's late,", "Don't wait."]]


def test_nested_quotes_stay_inside_the_outer_quotation() -> None:
    text = "\"He told me 'never again' and left,\" she said.\n\n“She wrote “yes” twice,” he said."
    assert contents(text) == [["He told me 'never again' and left,"], ["She wrote “yes” twice,"]]


def test_multi_paragraph_quotation_reopens_each_paragraph() -> None:
    text = (
        '"First paragraph of the speech\n\n'
        '"second paragraph of the speech\n\n'
        '"and the last," he ended.\n\n'
        "Then silence."
    )
    [q] = find_quotations(text)
    assert [text[s:e] for s, e in q.pieces] == [
        "First paragraph of the speech",
        "second paragraph of the speech",
        "and the last,",
    ]
    assert q.paragraphs == [0, 1, 2]


def test_unclosed_quote_ends_with_its_paragraph() -> None:
    text = '"I never closed this one\n\nNarration follows here.\n\n"But this is new."'
    assert contents(text) == [["I never closed this one"], ["But this is new."]]


def test_em_dash_dialogue() -> None:
    text = "—Hello there —said Juan—. How are you?\n\n—Fine.\n\nShe left — quickly."
    assert contents(text) == [["Hello there", "How are you?"], ["Fine."]]
    assert find_quotations(text)[0].style == "dash"


def test_play_speaker_lines() -> None:
    text = "HAMLET: To be, or not to be.\nOPHELIA: Good my lord?\n\nHAMLET: Get thee gone."
    quotes = find_quotations(text)
    assert [(q.label, q.text) for q in quotes] == [
        ("HAMLET", "To be, or not to be."),
        ("OPHELIA", "Good my lord?"),
        ("HAMLET", "Get thee gone."),
    ]
    assert all(q.style == "script" for q in quotes)


def test_title_case_speakers_need_a_script() -> None:
    prose = "Dear Sir: I write to you in haste.\n\nThe letter ended there."
    assert find_quotations(prose) == []
    script = "Jane Doe: Hi.\n\nJohn Roe: Hello.\n\nJane Doe: Bye.\n\nJohn Roe: Bye now."
    assert [q.label for q in find_quotations(script)] == ["Jane Doe", "John Roe"] * 2


def test_quotes_in_two_speakers_paragraph_are_separate() -> None:
    text = '"Yes," said Tom. "No," cried Ann.'
    assert contents(text) == [["Yes,"], ["No,"]]


def test_paragraph_spans_without_blank_lines_is_one_per_line() -> None:
    assert paragraph_spans("one\ntwo\n  three  ") == [(0, 3), (4, 7), (10, 15)]
    assert paragraph_spans("a\nb\n\nc") == [(0, 3), (5, 6)]


# Words with apostrophes (never quote marks), and quotations built from them.
_WORD = st.sampled_from(
    ["the", "Bennets'", "don't", "o'clock", "'tis", "rain", "Jane", "I'm", "girls'", "yes"]
)
_PHRASE = st.lists(_WORD, min_size=1, max_size=6).map(" ".join)


@st.composite
def _paragraph(draw: st.DrawFn) -> tuple[str, str]:
    said = draw(_PHRASE)
    before = draw(st.sampled_from(["", "Then she said, ", "He smiled. "]))
    after = draw(st.sampled_from(["", " said he.", " She left."]))
    return f'{before}"{said}"{after}', said


@settings(max_examples=60, deadline=None)
@given(st.lists(_paragraph(), min_size=1, max_size=5))
def test_generated_dialogue_offsets_are_exact(paragraphs: list[tuple[str, str]]) -> None:
    text = "\n\n".join(p for p, _ in paragraphs)
    quotes = find_quotations(text)
    assert [q.text for q in quotes] == [said for _, said in paragraphs]
    for q in quotes:
        assert all(text[s - 1] == '"' and text[e] == '"' for s, e in q.pieces)


def _litbank_gold(name: str) -> tuple[str, list[tuple[int, int]]]:
    base = CORPUS / "attribution" / "litbank"
    lines = (base / f"{name}.txt").read_text(encoding="utf-8").split("\n")
    offsets, pos = [], 0
    for line in lines:
        row, p = [], pos
        for token in line.split(" "):
            row.append((p, p + len(token)))
            p += len(token) + 1
        offsets.append(row)
        pos += len(line) + 1
    gold = []
    for row in (base / f"{name}.ann").read_text(encoding="utf-8").splitlines():
        fields = row.split("\t")
        if fields[0] == "QUOTE":
            s1, t1, s2, t2 = map(int, fields[2:6])
            gold.append((offsets[s1][t1][0], offsets[s2][t2][1]))
    return "\n".join(lines), gold


@pytest.mark.parametrize(
    "name", ["11_alices_adventures_in_wonderland_brat", "1342_pride_and_prejudice_brat"]
)
def test_litbank_quotations_are_all_found(name: str) -> None:
    """Real curly single (Alice) and double (Pride and Prejudice) quotes, tokenized text."""
    if not (CORPUS / "attribution" / "litbank").is_dir():
        pytest.skip("shared corpus not available")
    text, gold = _litbank_gold(name)
    pieces = [p for q in find_quotations(text) for p in q.pieces]
    found = [g for g in gold if any(s < g[1] and e > g[0] for s, e in pieces)]
    assert len(gold) > 15
    assert len(found) == len(gold)
