"""Output names (the book's folder and files) never start with '-' or '.' (issue 15, item 5):
a name like "-rf.m4b" is read as an option by other command-line tools, ".book" is hidden."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from narration.job_settings import book_slug


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("-rf.epub", "rf"),
        ("--help.txt", "help"),
        ("-.-book.md", "book"),
        (".hidden.epub", "hidden"),
        ("..epub", "book"),
        ("---.txt", "book"),
        ("Pride and Prejudice.epub", "Pride_and_Prejudice"),
        ("my-book-.epub", "my-book-"),  # inner and trailing '-' are harmless
    ],
)
def test_book_slug_drops_leading_dashes_and_dots(name: str, slug: str) -> None:
    assert book_slug(Path(name)) == slug


@given(st.text(min_size=1, max_size=40))
def test_no_slug_starts_with_a_dash_or_a_dot(stem: str) -> None:
    slug = book_slug(Path(f"/books/{stem.replace('/', '_')}.epub"))
    assert slug
    assert slug[0] not in "-."
    assert "/" not in slug
