"""Cast discovery and speaker attribution on small hand-written texts, plus PDNC targets."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from narration.cast.attribute import attribute, attribution_json_lines, with_line_counts
from narration.cast.characters import NARRATOR, Character, discover_characters

ROOT = Path(__file__).resolve().parents[1]
PDNC = ROOT.parent / "shared" / "corpus" / "attribution" / "pdnc"


def speakers(text: str, characters: list[Character] | None = None) -> list[str]:
    return [q.speaker for q in attribute(text, characters)]


def by_name(characters: list[Character], name: str) -> Character:
    return next(c for c in characters if c.name == name)


BENNETS = (
    "Mr. Bennet was reading. Mrs. Bennet came in with the news, and Elizabeth "
    "followed her mother.\n\n"
    '"My dear Mr. Bennet," said his lady to him, "have you heard that Netherfield is let?"\n\n'
    "Mr. Bennet replied that he had not.\n\n"
    '"But it is," returned she; "for Mrs. Long has just been here."\n\n'
    "Mr. Bennet made no answer.\n\n"
    '"Do you not want to know who has taken it?" cried his wife impatiently.\n\n'
    '"You want to tell me, and I have no objection to hearing it."\n\n'
    '"Why, my dear, it is a young man of large fortune."\n\n'
    '"What is his name?"\n\n'
    '"Bingley."\n\n'
    '"Is he married or single?" asked Mr. Bennet.'
)


def test_explicit_tags_name_before_and_after_the_verb() -> None:
    text = (
        "Elizabeth and Jane sat by the fire.\n\n"
        '"It is cold," said Elizabeth.\n\n'
        '"Very cold," Jane replied, "and late."\n\n'
        '"Come in!" cried Mrs. Bennet from the hall.\n\n'
        'Jane said to her sister: "We must go down."'
    )
    quotes = attribute(text)
    assert [q.speaker for q in quotes] == ["Elizabeth", "Jane", "Mrs. Bennet", "Jane"]
    assert [q.method for q in quotes][:3] == ["explicit"] * 3
    assert quotes[1].quotation.text == "Very cold, and late."


def test_anaphora_spouse_and_turn_taking() -> None:
    quotes = attribute(BENNETS)
    assert [q.speaker for q in quotes] == [
        "Mrs. Bennet",  # said his lady (Mr. Bennet's wife)
        "Mrs. Bennet",  # returned she
        "Mrs. Bennet",  # cried his wife
        "Mr. Bennet",  # untagged: alternation after a silent turn
        "Mrs. Bennet",
        "Mr. Bennet",
        "Mrs. Bennet",
        "Mr. Bennet",  # asked Mr. Bennet
    ]
    assert quotes[0].addressee == "Mr. Bennet"
    assert {q.method for q in quotes[3:7]} <= {"turn-taking", "addressee"}


def test_vocative_speaker_is_not_the_person_addressed() -> None:
    text = (
        "Elizabeth and Jane walked in the garden, talking of the ball.\n\n"
        '"Elizabeth, do you think he will come?"\n\n'
        '"I am sure of it."'
    )
    quotes = attribute(text)
    assert [q.speaker for q in quotes] == ["Jane", "Elizabeth"]
    assert quotes[0].addressee == "Elizabeth"
    assert quotes[1].method == "addressee"


def test_pronoun_tag_goes_to_the_right_gender() -> None:
    text = (
        "Mr. Darcy walked up to Elizabeth at the window.\n\n"
        '"You are very quiet tonight," said he.\n\n'
        '"I have nothing to say," she replied.\n\n'
        '"Then we shall be silent together," he answered.'
    )
    assert speakers(text) == ["Mr. Darcy", "Elizabeth", "Mr. Darcy"]


def test_alternation_without_tags_follows_two_speakers() -> None:
    text = (
        "Tom met Anna on the bridge. Tom bowed.\n\n"
        '"Good morning, Anna," said Tom.\n\n'
        '"Good morning," said Anna.\n\n'
        '"Is it not fine?"\n\n'
        '"Very fine."\n\n'
        '"Shall we walk?"\n\n'
        '"Gladly."'
    )
    assert speakers(text) == ["Tom", "Anna", "Tom", "Anna", "Tom", "Anna"]


def test_two_speakers_in_one_paragraph_are_split() -> None:
    text = (
        "Five and Seven were painting the roses.\n\n"
        '"Look out now," said Seven. "You are splashing me!" "I could not help it," '
        "said Five."
    )
    quotes = attribute(text)
    assert [(q.speaker, q.text) for q in quotes] == [
        ("Seven", "Look out now, You are splashing me!"),
        ("Five", "I could not help it,"),
    ]


def test_minor_speaker_named_only_in_a_tag() -> None:
    text = 'The kitchen was full of smoke.\n\n"Pepper, mostly," said the cook.'
    assert speakers(text) == ["the cook"]


def test_script_lines_use_their_label() -> None:
    text = "HAMLET: To be, or not to be.\nOPHELIA: My lord?\n\nHAMLET: Get thee gone."
    quotes = attribute(text)
    assert [(q.speaker, q.method, q.confidence) for q in quotes] == [
        ("HAMLET", "script", 1.0),
        ("OPHELIA", "script", 1.0),
        ("HAMLET", "script", 1.0),
    ]


def test_first_person_narrator_is_a_character_with_the_name_others_use() -> None:
    lines = [
        "I had not seen my old friend for years, and I was glad when I found him at home. "
        "I sat down by the fire and I told him my news, and my friend listened to me."
    ]
    for n in range(4):
        lines += [
            f'"You look tired, Hastings," said Poirot. "Sit down, Hastings, number {n}."',
            f'"I am well enough," I said, and I smiled at my friend for the {n}th time.',
        ]
    text = "\n\n".join(lines)
    cast = discover_characters(text)
    narrator = by_name(cast, NARRATOR)
    assert "Hastings" in narrator.aliases
    assert not any(c.name == "Hastings" for c in cast)
    assert speakers(text) == ["Poirot", NARRATOR] * 4


def test_discovered_cast_merges_aliases_and_finds_gender() -> None:
    text = (
        "Mr. Fitzwilliam Darcy came to Netherfield with Mr. Bingley. Darcy was proud; he "
        "spoke little. Miss Elizabeth Bennet laughed at him, and Elizabeth told her sister "
        "so; she thought him rude. Mrs. Bennet agreed. At Netherfield they danced. "
        "Darcy was admired in London. Mr. Darcy went to London. Elizabeth stayed at home, "
        "and she read. Netherfield was quiet. Darcy wrote to Bingley."
    )
    cast = discover_characters(text)
    darcy = by_name(cast, "Mr. Darcy")
    assert {"Darcy", "Mr. Fitzwilliam Darcy"} <= set(darcy.aliases)
    assert darcy.gender == "M"
    elizabeth = by_name(cast, "Elizabeth")
    assert "Miss Elizabeth Bennet" in elizabeth.aliases
    assert elizabeth.gender == "F"
    assert by_name(cast, "Mrs. Bennet").gender == "F"
    names = {n for c in cast for n in c.all_names}
    assert "Netherfield" not in names and "London" not in names  # places, not people
    assert darcy.mentions == 5


def test_nickname_learned_from_replies() -> None:
    turns = []
    for n in range(3):
        turns += [
            f'"Where have you been, Lizzy? It is past {n} o\'clock," said Jane.',
            f'"Walking, only walking, for the {n}th time today," said Elizabeth.',
        ]
    text = "Elizabeth and Jane were at home. Elizabeth was restless.\n\n" + "\n\n".join(turns)
    quotes = attribute(text)
    assert [q.speaker for q in quotes] == ["Jane", "Elizabeth"] * 3
    assert "Lizzy" in quotes[1].aliases


def test_tags_with_particles_relatives_and_descriptions() -> None:
    text = (
        "Freddy and Cecil were at the table with Mrs. Honeychurch.\n\n"
        '"I must say it was kind," put in Freddy.\n\n'
        'She was met by Mr. Allen, who, on hearing the reason of their return, said, "Good."\n\n'
        '"Shoot him," cried a looker-on, from a window.\n\n'
        '"Stand back," said the man with the black beard.'
    )
    quotes = attribute(text)
    assert [q.speaker for q in quotes] == [
        "Freddy",
        "Mr. Allen",
        "a looker-on",
        "the man with the black beard",
    ]
    assert [q.method for q in quotes] == ["explicit", "explicit", "described", "described"]
    assert all(q.confidence < 0.9 for q in quotes[2:])  # a described stranger is a guess


def test_tag_says_whom_it_addresses() -> None:
    text = (
        "Emma, Harriet and Mr. Knightley sat in the parlour. Emma was pleased.\n\n"
        '"It is a fine day," said she, turning to Mr. Knightley.\n\n'
        '"It is," he replied.'
    )
    quotes = attribute(text)
    assert quotes[0].speaker == "Emma"
    assert quotes[0].addressee == "Mr. Knightley"
    assert quotes[1].speaker == "Mr. Knightley"


def test_given_names_decide_gender_the_pronouns_leave_open() -> None:
    text = "Gilbert came in. Cynthia waved. Gilbert and Cynthia talked. Gilbert left."
    cast = discover_characters(text)
    assert by_name(cast, "Gilbert").gender == "M"
    assert by_name(cast, "Cynthia").gender == "F"


def test_reranked_confidence_is_a_probability_below_sure() -> None:
    text = "\n\n".join(
        ["Tom met Anna on the bridge. Tom bowed.", '"Good morning, Anna," said Tom.']
        + ['"Good morning," said Anna.', '"Is it not fine?"', '"Very fine."']
    )
    quotes = attribute(text)
    untagged = [q for q in quotes if q.method not in ("explicit", "script")]
    assert untagged and all(0.0 < q.confidence < 0.9 for q in untagged)


def test_json_lines_interface() -> None:
    text = 'He waited.\n\n"Well," said Tom, "I think so."\n\n"Yes," said Ann.'
    rows = [json.loads(line) for line in attribution_json_lines(text)]
    assert [sorted(r) for r in rows] == [
        ["aliases", "confidence", "end", "speaker", "start", "text"]
    ] * 2
    assert rows[0]["speaker"] == "Tom" and rows[1]["speaker"] == "Ann"
    assert text[rows[0]["start"] : rows[0]["end"]] == 'Well," said Tom, "I think so.'
    assert rows[0]["text"] == "Well, I think so."
    assert text[rows[1]["start"] : rows[1]["end"]] == "Yes,"
    assert all(0.0 <= r["confidence"] <= 1.0 for r in rows)


def test_line_counts_and_no_quotes() -> None:
    quotes = attribute(BENNETS)
    counted = with_line_counts(discover_characters(BENNETS), quotes)
    assert by_name(counted, "Mrs. Bennet").lines == 5
    assert by_name(counted, "Mr. Bennet").lines == 3
    assert attribute("No dialogue at all, only narration.") == []
    assert attribute("") == []


def test_given_name_that_is_a_common_word_and_miss_surname() -> None:
    text = (
        "May Welland sat with her mother. Mrs. Welland was knitting, and Newland Archer "
        "came in. May Welland smiled at him.\n\n"
        '"You are late," May said.\n\n'
        '"I am sorry," said Archer.\n\n'
        '"Never mind," said May, laughing. Miss Welland was never cross for long.\n\n'
        "Archer may stay, he thought, if nobody minds; he may well stay."
    )
    cast = discover_characters(text)
    may = next(c for c in cast if "May Welland" in c.all_names)
    assert "Miss Welland" in may.all_names
    assert speakers(text) == [may.name, "Archer", may.name]


def test_monsieur_abbreviated_is_a_title() -> None:
    text = (
        "M. Riviere came in with his hat. Archer rose.\n\n"
        '"I have a message," M. Riviere said.\n\n'
        '"From whom?" asked Archer.\n\n'
        '"From the Count," said M. Riviere.'
    )
    names = [c.name for c in discover_characters(text)]
    assert "M. Riviere" in names
    assert speakers(text) == ["M. Riviere", "Archer", "M. Riviere"]


def test_old_and_young_mr_emerson_are_two_men() -> None:
    text = (
        "Old Mr. Emerson and his son George Emerson sat at the table. George was silent; "
        "young Mr. Emerson never spoke much, and old Mr. Emerson talked for both. "
        "Mr. Emerson laughed. George Emerson frowned, and George looked away.\n\n"
        '"We have a view," said Mr. Emerson.\n\n'
        '"Father!" said George.'
    )
    cast = discover_characters(text)
    george = next(c for c in cast if "George Emerson" in c.all_names)
    assert "Mr. Emerson" not in george.all_names
    assert speakers(text)[0] != george.name


def test_epithet_answering_a_name_is_that_character() -> None:
    text = (
        "Basil Hallward stood at his easel. Lord Henry lay on the divan. Basil was "
        "painting and Lord Henry was smoking.\n\n"
        '"You must exhibit it, Basil," said Lord Henry.\n\n'
        '"I shall not," answered the painter.\n\n'
        '"Why not, Basil?" said Lord Henry.\n\n'
        '"Because I have put too much of myself into it," said the painter.\n\n'
        '"You are too modest, Basil," said Lord Henry.\n\n'
        '"I know my own mind," said the painter.'
    )
    assert speakers(text) == ["Lord Henry", "Basil", "Lord Henry", "Basil", "Lord Henry", "Basil"]


def test_a_name_owning_a_relation_is_not_the_speaker() -> None:
    text = (
        "Winterbourne met Daisy Miller and Mrs. Miller at the hotel. He liked Daisy Miller, "
        "and Mrs. Miller was tired.\n\n"
        '"Shall we go to the castle?" asked Winterbourne.\n\n'
        '"I guess we shall," answered Daisy s mamma.\n\n'
        "Daisy laughed.\n\n"
        '"Oh, do let us go," said Daisy.'
    )
    assert speakers(text) == ["Winterbourne", "Mrs. Miller", "Daisy"]


def test_the_one_heard_speaks_and_manner_is_not_a_description() -> None:
    text = (
        "Archer and Lawrence Lefferts stood on the lawn with Beaufort.\n\n"
        '"What a shot," Archer heard Lawrence Lefferts say.\n\n'
        '"Not bad," said Beaufort in a low voice.\n\n'
        '"It will do," said the old man in a whisper.'
    )
    quotes = attribute(text)
    assert [q.speaker for q in quotes][:2] == ["Lawrence Lefferts", "Beaufort"]
    assert quotes[2].method != "described"
    assert quotes[2].speaker != "the old man in a whisper"


def _benchmark():  # noqa: ANN202 - the benchmark module, loaded from its path
    spec = importlib.util.spec_from_file_location(
        "attribution_bench", ROOT / "benchmarks" / "attribution.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pdnc_results() -> tuple[Any, dict]:
    """The benchmark's scores on every PDNC novel we have (both corpus folders), run once."""
    bench = _benchmark()
    corpora = [c for c in bench.DEFAULT_CORPORA if c.is_dir()]
    if not corpora:
        pytest.skip("shared corpus not available")
    return bench, bench.run(corpora)


@pytest.mark.slow
def test_pdnc_detection_confidence_and_floors(pdnc_results: tuple[Any, dict]) -> None:
    """What holds now on the fourteen novels: detection recall >= 97% on each, confidence
    >= 0.9 right >= 95% of the time (pooled), a whole novel in seconds, and floors just
    under today's macro averages so that a change that loses accuracy fails here."""
    bench, results = pdnc_results
    novels, macro = results["novels"], results["macro"]
    assert {"PrideAndPrejudice", "AlicesAdventuresInWonderland"} <= set(novels)
    for name, r in novels.items():
        assert r["detection_recall"] >= bench.TARGETS["detection_recall"], name
        assert r["seconds"] < 20, name
    assert macro["confident_accuracy"] >= bench.TARGETS["confident_accuracy"]
    if len(novels) >= 14:  # the floors are for the whole development set
        assert macro["accuracy"] >= 0.81
        assert macro["accuracy_explicit"] >= 0.955
        assert macro["min_accuracy"] >= 0.72


@pytest.mark.slow
def test_pdnc_issue_14_macro_targets(pdnc_results: tuple[Any, dict]) -> None:
    """Issue 14's acceptance, reached on the fourteen: macro accuracy >= 95% explicit and
    >= 80% overall, no novel below 70% (today 95.8%, 81.1%, 72.5%)."""
    bench, results = pdnc_results
    macro = results["macro"]
    assert macro["accuracy_explicit"] >= bench.TARGETS["accuracy_explicit"]
    assert macro["accuracy"] >= bench.TARGETS["accuracy"]
    assert macro["min_accuracy"] >= bench.TARGETS["min_accuracy"]
