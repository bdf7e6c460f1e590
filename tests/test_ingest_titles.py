"""Chapter titles set in capitals are shown and spoken in title case; numerals, mixed-case
titles and the words around them are left as they are."""

from __future__ import annotations

import pytest

from narration.ingest.titles import display_title, join_titles, says_already


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("192 THE REAL PRINCESS", "192 The Real Princess"),
        ("193 THE EMPEROR'S NEW CLOTHES", "193 The Emperor's New Clothes"),
        ("I. THE BURIAL OF THE DEAD", "I. The Burial of the Dead"),
        ("CHAPTER XLII", "Chapter XLII"),
        ("CHAPTER LIV. THE END", "Chapter LIV. The End"),
        ("LXI", "LXI"),
        ("VOL. II.", "Vol. II."),
        ("HENRY VIII", "Henry VIII"),
        ("MIX AND MATCH", "Mix and Match"),
        ("A FOUR-LEAVED CLOVER", "A Four-Leaved Clover"),
        ("SECTION IV FAIRY STORIES—MODERN TALES", "Section IV Fairy Stories—Modern Tales"),
        ("O'BRIEN'S WAR", "O'Brien's War"),
        ('NOTES ON "THE WASTE LAND"', 'Notes on "The Waste Land"'),
        ("WHAT THEY FOUGHT FOR", "What They Fought For"),
        ("THE 16TH AND 17TH OF JULY", "The 16th and 17th of July"),
        ("CHAPTER I. Down the Rabbit-Hole", "CHAPTER I. Down the Rabbit-Hole"),  # mixed: kept
        ("I", "I"),
        ("II", "II"),
    ],
)
def test_display_title(title, shown):
    assert display_title(title) == shown


def test_join_titles_and_says_already():
    assert join_titles(["PART ONE:", "CHAPTER 1"]) == "Part One: Chapter 1"
    assert join_titles(["Original Transcriber’s Notes:"]) == "Original Transcriber’s Notes:"
    assert join_titles([":"]) == ":"
    assert says_already("Part Two, Chapter 1", "PART TWO")
    assert not says_already("Chapter 1", "Part Two")
