"""Tests for narration.text.lexicon: matching, merging, phoneme blocks and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from narration.errors import InputError
from narration.text.lexicon import Lexicon


def _write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture
def austen(tmp_path: Path) -> Lexicon:
    return Lexicon.load(
        _write(
            tmp_path,
            "austen.toml",
            """
            [words]
            Bennet = "Bennit"
            Darcy = "Darsee"
            "Netherfield Park" = "Netherfeeld Park"
            Reading = { say = "Redding", case_sensitive = true }

            [phonemes]
            Wickham = "wˈɪkəm"
            """,
        )
    )


def test_whole_words_only(austen: Lexicon) -> None:
    text = "Bennet, Bennets and Bennetton; Darcy-like Darcy."
    assert austen.apply(text) == "Bennit, Bennets and Bennetton; Darsee-like Darsee."


def test_possessives_keep_their_s(austen: Lexicon) -> None:
    assert austen.apply("Darcy's pride and Darcy’s letter") == "Darsee's pride and Darsee’s letter"


def test_contractions_are_not_words(tmp_path: Path) -> None:
    lexicon = Lexicon.from_tables(words={"don": "Donn"})
    assert lexicon.apply("I don't know, Don.") == "I don't know, Donn."


def test_case_insensitive_by_default_and_keeps_a_capital(tmp_path: Path) -> None:
    lexicon = Lexicon.from_tables(words={"darcy": "darsee"})
    assert lexicon.apply("DARCY, Darcy and darcy") == "Darsee, Darsee and darsee"


def test_case_sensitive_entries(austen: Lexicon) -> None:
    assert austen.apply("Reading is a town; reading is a pastime.") == (
        "Redding is a town; reading is a pastime."
    )


def test_longest_entry_wins(austen: Lexicon) -> None:
    assert austen.apply("at Netherfield Park today") == "at Netherfeeld Park today"


def test_phonemes_become_piper_blocks(austen: Lexicon) -> None:
    assert austen.apply("Mr. Wickham smiled.") == "Mr. [[ wˈɪkəm ]] smiled."


def test_possessive_folds_into_the_phoneme_block() -> None:
    lexicon = Lexicon.from_tables(phonemes={"Darcy": "dˈɑːɹsi", "Pratt": "pɹˈæt", "Bess": "bˈɛs"})
    assert lexicon.apply("Darcy's") == "[[ dˈɑːɹsiz ]]"
    assert lexicon.apply("Pratt's") == "[[ pɹˈæts ]]"
    assert lexicon.apply("Bess's") == "[[ bˈɛsɪz ]]"


def test_phonemes_can_be_turned_off_for_engines_without_them() -> None:
    lexicon = Lexicon.from_tables(words={"Darcy": "Darsee"}, phonemes={"Darcy": "dˈɑːɹsi"})
    assert lexicon.apply("Darcy") == "[[ dˈɑːɹsi ]]"
    assert lexicon.apply("Darcy", phonemes=False) == "Darsee"


def test_empty_lexicon_is_a_no_op() -> None:
    text = "Mr. Darcy's [[ x ]] text, unchanged."
    assert Lexicon().apply(text) == text
    assert Lexicon.load().apply(text) == text
    assert not Lexicon()
    assert Lexicon().fingerprint() == Lexicon.load().fingerprint()


def test_merge_order_later_file_wins(tmp_path: Path) -> None:
    glob = _write(tmp_path, "global.toml", '[words]\nDarcy = "Darsy"\nBennet = "Bennit"\n')
    book = _write(tmp_path, "book.toml", '[words]\ndarcy = "Darsee"\n')
    assert Lexicon.load(glob, book).apply("Darcy Bennet") == "Darsee Bennit"
    assert Lexicon.load(book, glob).apply("Darcy Bennet") == "Darsy Bennit"


def test_fingerprint_tracks_content(tmp_path: Path) -> None:
    a = Lexicon.from_tables(words={"Darcy": "Darsee"})
    b = Lexicon.from_tables(words={"Darcy": "Darsee"})
    c = Lexicon.from_tables(words={"Darcy": "Darsy"})
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    assert len(a.fingerprint()) == 16


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("[words\nDarcy = 'x'", "invalid TOML"),
        ("[sounds]\nDarcy = 'x'", "unknown table"),
        ("[words]\nDarcy = 3", "non-empty string"),
        ("[words]\nDarcy = ''", "non-empty string"),
        ("[words]\nDarcy = { sound = 'x' }", "case_sensitive"),
        ("[words]\nDarcy = { say = 'x', case_sensitive = 'yes' }", "true or false"),
        ("[phonemes]\nDarcy = '[[ x ]]'", "must not contain"),
        ("words = 'Darcy'", "must be a table"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, body: str, problem: str) -> None:
    path = _write(tmp_path, "bad.toml", body)
    with pytest.raises(InputError) as info:
        Lexicon.load(path)
    assert str(path) in str(info.value)
    assert problem in str(info.value)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        Lexicon.load(tmp_path / "nope.toml")


def test_applied_after_normalize() -> None:
    from narration.text.normalize import normalize

    lexicon = Lexicon.from_tables(words={"Darcy": "Darsee", "Mister": "Mistuh"})
    assert lexicon.apply(normalize("Mr. Darcy's 2 horses")) == "Mistuh Darsee's two horses"
