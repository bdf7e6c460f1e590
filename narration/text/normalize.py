"""English text normalisation for speech: written text in, what a TTS engine should read out.

    >>> normalize("Mr. Darcy paid $1.5 million on March 3, 1901.")
    'Mister Darcy paid one point five million dollars on March third, nineteen oh one.'

The work is a fixed, ordered table of rules (RULES below). Order matters: a rule that reads
a number with a meaning (money, a time, a date, a measure) runs before the rules that read
bare numbers, and every rule writes words without digits, so nothing is read twice.
Prosody punctuation (commas, full stops, question marks) is kept; an abbreviation's period
is kept only where it also ends the sentence, so sentences are never merged.

Each rule lives with its examples in a small module: abbreviations, roman, money, times,
measures, dates, cardinals, symbols. The (written, spoken) examples of every rule are
checked by the test suite.

Piper phoneme blocks ("[[ ... ]]") pass through untouched.
"""

from __future__ import annotations

import re

from narration.text import abbreviations as abbr
from narration.text import cardinals, dates, measures, money, roman, symbols, times
from narration.text.rulebase import HAS_DIGIT, Rule

# The ordered rule table. Read top to bottom: that is the order the rules run in.
RULES: tuple[Rule, ...] = (
    # Text that must be read verbatim or not at all comes first.
    abbr.CITATIONS,  # "[12]", "[citation needed]" -> removed
    abbr.EMAILS,  # "a.bc@gmail.com" -> "a dot bc at gmail dot com"
    abbr.URLS,  # "https://example.com" -> "HTTPS colon slash slash example dot com"
    # Words and abbreviations (before numbers: "No. 5", "pp. 10-20", "Elm St." need them).
    abbr.FIXED_ABBREVIATIONS,  # "e.g." -> "for example", "etc." -> "et cetera", "24/7"
    abbr.SECTION_CODES,  # "401(k)" -> "four oh one k"
    abbr.TITLES,  # "Mr." -> "Mister", "Mrs." -> "Misses", "Prof." -> "Professor"
    abbr.STREET_OR_SAINT,  # "St. Paul" -> "Saint Paul", "Elm St." -> "Elm Street", "Dr."
    abbr.NAME_SUFFIXES,  # "Jr." -> "Junior"
    abbr.NUMBER_PREFIXES,  # "No. 5" -> "number 5", "pp." -> "pages", "#5" -> "number 5"
    roman.AFTER_NUMBERING_WORD,  # "Chapter IV" -> "Chapter four", "World War II"
    roman.AFTER_NAME,  # "Henry VIII" -> "Henry the eighth"; "Sam and I" untouched
    roman.HEADING,  # "XII." -> "Twelve."
    symbols.DOTTED_ACRONYMS,  # "U.S.A." -> "USA", "C. S. Lewis" -> "CS Lewis"
    symbols.INITIALS,  # "T. Egerton" -> "T Egerton"
    # Numbers with a meaning.
    cardinals.TELEPHONE,  # "123-456-7890" -> digits in groups
    cardinals.DIGIT_GROUPS,  # "111-11-1111", "10.0.0.1"
    money.SHILLINGS_PENCE,  # "£5 10s. 6d."
    money.MONEY,  # "$1.5 million", "£2.01", "$20/mo", "$5-10"
    money.CENTS,  # "50¢"
    times.TIMES,  # "3:30 pm", "12:00", "2pm-5pm"
    dates.NUMERIC_DATES[0],  # "2015-03-14"
    dates.NUMERIC_DATES[1],  # "3/14/2015", "15.01.2020"
    measures.FEET_INCHES,  # "6'2\""
    measures.MEASURES,  # "5 kg", "10 km/h", "2°C", "2-5lb"
    measures.INCHES,  # "12\""
    money.PERCENT,  # "5%", "10-20%"
    dates.MONTH_DAY_YEAR,  # "March 3, 1901"
    dates.DAY_MONTH_YEAR,  # "25 July 2012"
    dates.MONTH_YEAR,  # "July 1876"
    dates.DECADES,  # "1890s", "'80s"
    dates.QUARTERS,  # "2Q22"
    dates.ERAS,  # "340 AD", "44 BC"
    dates.YEAR_RANGES,  # "1990-1995", "1960-80"
    # Bare numbers.
    cardinals.ORDINALS,  # "21st", "2nd"
    cardinals.FRACTIONS,  # "3/4", "2 1/2", "½"
    cardinals.ARITHMETIC,  # "1-4=5" -> "one minus four equals five"
    cardinals.RANGES,  # "10-20" -> "ten to twenty"
    cardinals.NUMBERS,  # cardinals, decimals, negatives, years, digit strings
    # What is left.
    symbols.SYMBOLS,  # "&", "+", "=", "°", "§", "@"
)

_PHONEME_BLOCK = re.compile(r"(\[\[.*?\]\])", re.S)
_SUPPORTED = ("en",)


_LONE_I = re.compile(r"^(\s*)I(\.?\s*)$")


def normalize(text: str, *, language: str = "en", heading: bool = False) -> str:
    """Turn written text into the words a TTS engine should read.

    `heading=True` is for chapter titles: there a lone "I" is the numeral ("One"), which in
    running text it never is. Only English has rules; other languages are returned with
    tidied spaces only, so that a book in another language still renders, read as written.
    """
    if not language.lower().startswith(_SUPPORTED):
        return symbols.tidy_spaces(text)
    if heading:
        text = _LONE_I.sub(r"\1One\2", text)
    if "[[" in text:
        parts = _PHONEME_BLOCK.split(text)
        text = "".join(p if p.startswith("[[") else _apply_rules(p) for p in parts)
    else:
        text = _apply_rules(text)
    return symbols.tidy_spaces(text)


def _apply_rules(text: str) -> str:
    # No rule writes a digit, so a text without one skips every rule that needs one at the
    # cost of a single search (most sentences of a novel have none).
    digits = HAS_DIGIT.search(text) is not None
    for rule in RULES:
        if digits or rule.prefilter is not HAS_DIGIT:
            text = rule.apply(text)
    return text
