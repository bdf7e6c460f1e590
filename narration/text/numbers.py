"""Number words for speech: cardinals, ordinals, years, digit strings, decimals, fractions.

These are the primitives the normalisation rules compose. They take already-parsed values
(ints, digit strings) and return plain words with no digits, so a later rule can never
re-read their output. American style: no "and" inside numbers ("one hundred twenty-three"),
no commas (a comma would make the TTS engine pause in the middle of a number).
"""

from __future__ import annotations

import re
from functools import lru_cache

from num2words import num2words

_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_AND_OR_COMMA = re.compile(r",| and(?= )")


@lru_cache(maxsize=4096)
def cardinal(n: int) -> str:
    """123 -> "one hundred twenty-three"; -2 -> "minus two"; 1234567 -> "one million two ..."."""
    if n < 0:
        return "minus " + cardinal(-n)
    return _AND_OR_COMMA.sub("", num2words(n))


@lru_cache(maxsize=4096)
def ordinal(n: int) -> str:
    """21 -> "twenty-first"; 0 -> "zeroth"; 1000000 -> "one millionth"."""
    return _AND_OR_COMMA.sub("", num2words(n, to="ordinal"))


def ordinal_suffix(n: int) -> str:
    """The correct written suffix for n: 1 -> "st", 12 -> "th", 23 -> "rd"."""
    if 11 <= n % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def digits(text: str, zero: str = "zero") -> str:
    """ "004" -> "zero zero four": a string read digit by digit (codes, IDs, leading zeros)."""
    return " ".join(zero if ch == "0" else _DIGIT_WORDS[int(ch)] for ch in text if ch.isdigit())


def two_digit_part(n: int) -> str:
    """The last two digits of a year or clock time: 5 -> "oh five", 0 -> "hundred"."""
    if n == 0:
        return "hundred"
    if n < 10:
        return "oh " + cardinal(n)
    return cardinal(n)


@lru_cache(maxsize=4096)
def year(n: int) -> str:
    """Read n the way English speakers read a year.

    1987 -> "nineteen eighty-seven", 1506 -> "fifteen oh six", 1900 -> "nineteen hundred",
    2005 -> "two thousand five", 2012 -> "twenty twelve", 2000 -> "two thousand",
    340 -> "three forty" (as in 340 AD), 45 -> "forty-five".
    """
    if n < 0:
        return cardinal(n)
    if n < 100 or n >= 10000 or n % 1000 == 0:
        return cardinal(n)
    if 2000 < n < 2010:  # "two thousand five", never "twenty oh five"
        return cardinal(n)
    high, low = divmod(n, 100)
    return f"{cardinal(high)} {two_digit_part(low)}"


_PLURAL_EXCEPTIONS = {"six": "sixes", "half": "halves"}


def plural(word: str) -> str:
    """Pluralise the last word of a number phrase: "eighty" -> "eighties", "ten" -> "tens"."""
    head, _, last = word.rpartition(" ")
    inner_head, hyphen, last_part = last.rpartition("-")
    if last_part in _PLURAL_EXCEPTIONS:
        last_part = _PLURAL_EXCEPTIONS[last_part]
    elif last_part.endswith("y"):
        last_part = last_part[:-1] + "ies"
    else:
        last_part += "s"
    last = f"{inner_head}{hyphen}{last_part}"
    return f"{head} {last}" if head else last


def decade(n: int) -> str:
    """1980 -> "nineteen eighties", 1900 -> "nineteen hundreds", 2000 -> "two thousands"."""
    return plural(year(n))


def decimal(int_part: str, frac_part: str) -> str:
    """("2", "050") -> "two point zero five zero"; ("", "5") -> "point five".

    Digits after the point are read one by one, as speakers do ("three point one four").
    """
    head = cardinal(int(int_part.replace(",", ""))) + " " if int_part else ""
    return f"{head}point {digits(frac_part)}"


def number(text: str) -> str:
    """Read a written number: "1,234" -> cardinal, "2.5" -> decimal, "-3" -> "minus three"."""
    sign = ""
    if text[:1] in "-−–":
        sign, text = "minus ", text[1:]
    int_part, _, frac_part = text.partition(".")
    if frac_part:
        return sign + decimal(int_part, frac_part)
    return sign + cardinal(int(int_part.replace(",", "")))


def is_one(text: str) -> bool:
    """True when a written amount is exactly one (so the unit that follows is singular)."""
    return text.lstrip("+-−") in {"1"}


def fraction(numerator: int, denominator: int, *, mixed: bool = False) -> str:
    """3/4 -> "three quarters", 1/3 -> "one third", 5/2 -> "five halves", 7/1 -> "seven over one".

    With mixed=True (the fraction follows a whole number, "2 1/2") a numerator of one reads
    "a half", as in "two and a half".
    """
    if denominator == 1 or denominator == 0:
        return f"{cardinal(numerator)} over {cardinal(denominator)}"
    if denominator == 2:
        name = "half"
    elif denominator == 4:
        name = "quarter"
    else:
        name = ordinal(denominator)
    if numerator == 1:
        return f"{'a' if mixed else 'one'} {name}"
    return f"{cardinal(numerator)} {plural(name)}"
