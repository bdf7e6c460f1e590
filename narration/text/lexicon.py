"""A user pronunciation lexicon, read from TOML and applied after normalize().

    # lexicon.toml
    [words]                      # word -> respelling the engine reads as written
    Bennet = "Bennit"
    Darcy = "Darsee"
    "Netherfield Park" = "Netherfield Park"          # keys may be phrases
    Reading = { say = "Redding", case_sensitive = true }   # the town, not "reading"

    [phonemes]                   # word -> phonemes, for engines that accept them
    Darcy = "dˈɑːɹsi"
    Job = { phonemes = "dʒˈoʊb", case_sensitive = true }

Matching is on whole words (a possessive or a hyphen ends a word, so "Darcy's" matches
"Darcy") and ignores case unless an entry asks for `case_sensitive = true`; a case-sensitive
entry is tried before a case-insensitive one for the same word. Phonemes are emitted as
Piper's inline blocks, "[[ dˈɑːɹsi ]]", with a possessive "'s" folded into the block
(espeak would otherwise read a lone "'s" as the letter "ess"). Where an engine takes no
phonemes, apply(..., phonemes=False) uses only [words]. A word in both tables is spoken from
[phonemes] when phonemes are allowed.

Lexicon.load(global_file, book_file) merges in order: a later file's entry replaces an
earlier entry for the same word.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from narration.errors import InputError

_TABLES = {"words": "say", "phonemes": "phonemes"}


@dataclass(frozen=True)
class Entry:
    """One lexicon entry: `word` is spoken as `value` (a respelling or a phoneme string)."""

    table: str  # "words" or "phonemes"
    word: str
    value: str
    case_sensitive: bool = False

    @property
    def identity(self) -> tuple[str, str]:
        """Entries with the same identity replace one another when files are merged."""
        return self.table, self.word if self.case_sensitive else self.word.lower()


class Lexicon:
    """An immutable set of pronunciation entries; the empty lexicon changes nothing."""

    def __init__(self, entries: list[Entry] | tuple[Entry, ...] = ()) -> None:
        merged: dict[tuple[str, str], Entry] = {}
        for entry in entries:
            merged[entry.identity] = entry
        self._entries = tuple(merged.values())
        self._pattern = {True: _compile(self._entries, True), False: _compile(self._entries, False)}
        self._lookup = {allow: _lookup_table(self._entries, allow) for allow in (True, False)}

    # -- construction -------------------------------------------------------------------

    @classmethod
    def load(cls, *paths: str | Path) -> Lexicon:
        """Read and merge TOML lexicon files, later files winning; InputError names a bad file."""
        entries: list[Entry] = []
        for path in paths:
            entries.extend(_read_file(Path(path)))
        return cls(entries)

    @classmethod
    def from_tables(
        cls, words: dict[str, str] | None = None, phonemes: dict[str, str] | None = None
    ) -> Lexicon:
        """Build a lexicon in code (case-insensitive entries)."""
        entries = [Entry("words", k, v) for k, v in (words or {}).items()]
        entries += [Entry("phonemes", k, v) for k, v in (phonemes or {}).items()]
        return cls(entries)

    def merged(self, other: Lexicon) -> Lexicon:
        """This lexicon overridden by `other`."""
        return Lexicon(self._entries + other._entries)

    # -- use --------------------------------------------------------------------------------

    @property
    def entries(self) -> tuple[Entry, ...]:
        return self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def apply(self, text: str, *, phonemes: bool = True) -> str:
        """Replace every lexicon word in `text` by its respelling or phoneme block."""
        pattern = self._pattern[phonemes]
        if pattern is None:
            return text
        exact, folded = self._lookup[phonemes]

        def replace(match: re.Match[str]) -> str:
            word, possessive = match["word"], match["poss"] or ""
            entry = exact.get(word) or folded[word.lower()]
            if entry.table == "phonemes":
                return (
                    f"[[ {entry.value}{_possessive_phonemes(entry.value) if possessive else ''} ]]"
                )
            return _match_case(word, entry.value) + possessive

        return pattern.sub(replace, text)

    def fingerprint(self) -> str:
        """A short hash of the entries: part of a segment's key, so edits re-render."""
        rows = sorted((e.table, e.word, e.value, e.case_sensitive) for e in self._entries)
        return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"Lexicon({len(self._entries)} entries)"


# -- reading files ------------------------------------------------------------------------


def _read_file(path: Path) -> list[Entry]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "lexicon file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read lexicon: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, f"invalid TOML in lexicon: {exc}") from None
    entries: list[Entry] = []
    for table, body in data.items():
        if table not in _TABLES:
            raise InputError(path, f"unknown table [{table}] (expected [words] or [phonemes])")
        if not isinstance(body, dict):
            raise InputError(path, f"[{table}] must be a table of word = value")
        for word, value in body.items():
            entries.append(_entry(path, table, word, value))
    return entries


def _entry(path: Path, table: str, word: str, value: Any) -> Entry:
    where = f"[{table}] {word!r}"
    if not word.strip() or word != word.strip():
        raise InputError(path, f"{where}: a word must be non-empty with no surrounding spaces")
    case_sensitive = False
    if isinstance(value, dict):
        key = _TABLES[table]
        unknown = set(value) - {key, "case_sensitive"}
        if unknown or key not in value:
            raise InputError(path, f'{where}: expected {{ {key} = "...", case_sensitive = true }}')
        case_sensitive = value.get("case_sensitive", False)
        if not isinstance(case_sensitive, bool):
            raise InputError(path, f"{where}: case_sensitive must be true or false")
        value = value[key]
    if not isinstance(value, str) or not value.strip():
        raise InputError(path, f"{where}: the value must be a non-empty string")
    if "[[" in value or "]]" in value:
        raise InputError(path, f"{where}: the value must not contain [[ or ]]")
    return Entry(table, word, value.strip(), case_sensitive)


# -- matching -------------------------------------------------------------------------------


def _active(entries: tuple[Entry, ...], phonemes: bool) -> list[Entry]:
    return [e for e in entries if phonemes or e.table == "words"]


def _lookup_table(
    entries: tuple[Entry, ...], phonemes: bool
) -> tuple[dict[str, Entry], dict[str, Entry]]:
    """(exact-case entries, lower-cased entries); phonemes beat words for the same word."""
    exact: dict[str, Entry] = {}
    folded: dict[str, Entry] = {}
    for entry in sorted(_active(entries, phonemes), key=lambda e: e.table == "phonemes"):
        if entry.case_sensitive:
            exact[entry.word] = entry
        else:
            folded[entry.word.lower()] = entry
    return exact, folded


def _compile(entries: tuple[Entry, ...], phonemes: bool) -> re.Pattern[str] | None:
    active = _active(entries, phonemes)
    if not active:
        return None
    # Longest first, so "Netherfield Park" wins over "Netherfield".
    ordered = sorted(active, key=lambda e: (-len(e.word), not e.case_sensitive))
    alternatives = [
        re.escape(e.word) if e.case_sensitive else f"(?i:{re.escape(e.word)})" for e in ordered
    ]
    return re.compile(
        r"(?<![\w'’])(?P<word>" + "|".join(alternatives) + r")(?P<poss>['’]s)?(?![\w])(?!['’]\w)"
    )


def _match_case(source: str, respelling: str) -> str:
    """Keep a leading capital: "Darcy" -> "Darsee" even when the entry says "darsee"."""
    if source[:1].isupper() and respelling[:1].islower():
        return respelling[0].upper() + respelling[1:]
    return respelling


_VOICELESS_END = tuple("ptkfθ")
_SIBILANT_END = ("s", "z", "ʃ", "ʒ", "tʃ", "dʒ")
_STRESS_AND_LENGTH = "ˈˌː "


def _possessive_phonemes(phonemes: str) -> str:
    """The phonemes of a possessive "'s": "ɪz" after a sibilant, "s" after a voiceless sound."""
    tail = phonemes.rstrip(_STRESS_AND_LENGTH)
    if tail.endswith(_SIBILANT_END):
        return "ɪz"
    if tail.endswith(_VOICELESS_END):
        return "s"
    return "z"
