"""Dates, decades, eras and year ranges.

"March 3, 1901" -> "March third, nineteen oh one"; "3/14/2015" -> "March fourteenth twenty
fifteen"; "25 July 2012" -> "the twenty-fifth of July twenty twelve"; "the 1890s" -> "the
eighteen nineties"; "1990-1995" -> "nineteen ninety to nineteen ninety-five".
Numeric dates are read month first (US) unless the first number cannot be a month.
"""

from __future__ import annotations

import re

from narration.text import numbers
from narration.text.rulebase import HAS_DIGIT, Rule, sentence_may_end, spaced

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
_MONTH_BY_PREFIX = {m[:3].lower(): m for m in MONTHS}
_MONTH = (
    r"(?P<mon>(?i:january|february|march|april|may|june|july|august|september|october"
    r"|november|december|sept|jan|feb|mar|apr|jun|jul|aug|sep|oct|nov|dec))"
    r"(?![A-Za-z])(?P<mdot>\.)?"
)
# Lower-case words that are also verbs or nouns are months only with a day and a year.
_AMBIGUOUS = frozenset({"may", "march", "mar"})


def month_name(written: str) -> str:
    """ "jan" -> "January", "SEPT" -> "September"."""
    return _MONTH_BY_PREFIX[written.lower()[:3]]


def _two_digit_year(written: str) -> str:
    """ "05" -> "oh five", "98" -> "ninety-eight": a year written with two digits."""
    return numbers.two_digit_part(int(written)) if written != "00" else "oh oh"


def _year(written: str) -> str:
    return _two_digit_year(written) if len(written) == 2 else numbers.year(int(written))


def _period_back(match: re.Match[str], words: str) -> str:
    """Give back a period the match swallowed: always after a full month name ("October."),
    and after an abbreviation ("Sept.", "B.C.") when it also ended the sentence."""
    if not match.group(0).endswith("."):
        return words
    month = match.groupdict().get("mon")
    if month and month.capitalize() in MONTHS:
        return words + "."
    return words + "." if sentence_may_end(match.string, match.end()) else words


# ---------------------------------------------------------------------------------------------
# Month-name dates.

_MDY = re.compile(
    rf"\b{_MONTH}[\s-]+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:\s?[-–]\s?(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?)?"
    r"(?![\d:])(?:(?P<ysep>,\s*|\s+|-)(?P<y>\d{4})(?!\d))?"
)


def _mdy(match: re.Match[str]) -> str:
    day = int(match["d"])
    if not 1 <= day <= 31 or (match["mon"] in _AMBIGUOUS and not match["y"]):
        return match.group(0)
    words = f"{month_name(match['mon'])} {numbers.ordinal(day)}"
    if match["d2"]:
        words += f" to {numbers.ordinal(int(match['d2']))}"
    if match["y"]:
        sep = ", " if match["ysep"].startswith(",") else " "
        words += sep + numbers.year(int(match["y"]))
    return spaced(match, words)


MONTH_DAY_YEAR = Rule(
    "date_month_day_year",
    _MDY,
    _mdy,
    (
        ("March 3, 1901", "March third, nineteen oh one"),
        ("on Jan. 15 2020", "on January fifteenth twenty twenty"),
        ("june 30", "June thirtieth"),
        ("Monday, November 18th, by four", "Monday, November eighteenth, by four"),
        ("May 5-7", "May fifth to seventh"),
    ),
    prefilter=HAS_DIGIT,
)

_DMY = re.compile(
    rf"(?<![\w.,])(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?[\s-]+{_MONTH}"
    r"(?:(?P<ysep>,?[\s-]+)(?P<y>\d{4})(?!\d))?"
)
_THE_BEFORE = re.compile(r"(?i:\bthe)\s+$")


def _dmy(match: re.Match[str]) -> str:
    day = int(match["d"])
    if not 1 <= day <= 31 or (match["mon"] in _AMBIGUOUS and not match["y"]):
        return match.group(0)
    the = "" if _THE_BEFORE.search(match.string, 0, match.start()) else "the "
    words = f"{the}{numbers.ordinal(day)} of {month_name(match['mon'])}"
    if match["y"]:
        words += (", " if "," in match["ysep"] else " ") + numbers.year(int(match["y"]))
        return spaced(match, words)
    return spaced(match, _period_back(match, words))


DAY_MONTH_YEAR = Rule(
    "date_day_month_year",
    _DMY,
    _dmy,
    (
        ("25 July 2012", "the twenty-fifth of July twenty twelve"),
        ("on the 26th May in", "on the twenty-sixth of May in"),
        ("it was 25 sept.", "it was the twenty-fifth of September."),
        ("All 5 may come", "All five may come"),
        ("The 1st of May, 1851", "The first of May, eighteen fifty-one"),
    ),
    prefilter=HAS_DIGIT,
)

_MONTH_YEAR = re.compile(rf"\b{_MONTH},?\s+(?P<y>\d{{4}})(?![\d])")


def _month_year(match: re.Match[str]) -> str:
    if match["mon"] in _AMBIGUOUS:
        return match.group(0)
    return spaced(match, f"{month_name(match['mon'])} {numbers.year(int(match['y']))}")


MONTH_YEAR = Rule(
    "date_month_year",
    _MONTH_YEAR,
    _month_year,
    (("in July 1876", "in July eighteen seventy-six"), ("Sept. 1506", "September fifteen oh six")),
    prefilter=HAS_DIGIT,
)

# ---------------------------------------------------------------------------------------------
# Numeric dates.

_YMD = re.compile(
    r"(?<![\w./-])(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?![\w/-]|\.\d)"
)
_XYY = re.compile(
    r"(?<![\w./-])(?P<a>\d{1,2})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
    r"(?![\w/]|[.-]\d)"
)


def _spoken_date(month: int, day: int, year: str, *, day_first: bool) -> str | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    if day_first:
        return f"the {numbers.ordinal(day)} of {MONTHS[month - 1]} {_year(year)}"
    return f"{MONTHS[month - 1]} {numbers.ordinal(day)} {_year(year)}"


def _ymd(match: re.Match[str]) -> str:
    words = _spoken_date(int(match["m"]), int(match["d"]), match["y"], day_first=False)
    return match.group(0) if words is None else spaced(match, words)


def _xyy(match: re.Match[str]) -> str:
    a, b, year = int(match["a"]), int(match["b"]), match["y"]
    if match["sep"] != "/" and len(year) == 2:
        return match.group(0)  # "1.2.10", "10-20-30": versions and codes, not dates
    words = _spoken_date(a, b, year, day_first=False) if a <= 12 else None
    if words is None:
        words = _spoken_date(b, a, year, day_first=True)
    return match.group(0) if words is None else spaced(match, words)


NUMERIC_DATES = (
    Rule(
        "date_iso",
        _YMD,
        _ymd,
        (
            ("2015-03-14", "March fourteenth twenty fifteen"),
            ("2006-08-05", "August fifth two thousand six"),
        ),
        prefilter=HAS_DIGIT,
    ),
    Rule(
        "date_numeric",
        _XYY,
        _xyy,
        (
            ("3/14/2015", "March fourteenth twenty fifteen"),
            ("15-01-2020", "the fifteenth of January twenty twenty"),
            ("11/17/05", "November seventeenth oh five"),
            ("version 1.2.10", "version one point two.ten"),
        ),
        prefilter=HAS_DIGIT,
    ),
)  # fmt: skip

# ---------------------------------------------------------------------------------------------
# Decades, quarters, eras, year ranges.

_DECADE = r"(?:(?P<y{0}>1\d{{2}}0|20\d0)\s?['’]?s|['’]?(?P<yy{0}>[1-9]0)['’]?s)"
_DECADES = re.compile(
    rf"(?<![\w.,'’$£€]){_DECADE.format(1)}(?:\s?[-–]\s?{_DECADE.format(2)})?(?![\w'’])"
)


def _decade(match: re.Match[str], s: str) -> str:
    if match[f"y{s}"]:
        return numbers.decade(int(match[f"y{s}"]))
    return numbers.plural(numbers.cardinal(int(match[f"yy{s}"])))


def _decades(match: re.Match[str]) -> str:
    words = _decade(match, "1")
    if match["y2"] or match["yy2"]:
        words += " to " + _decade(match, "2")
    return spaced(match, words)


DECADES = Rule(
    "decades",
    _DECADES,
    _decades,
    (
        ("in the 1890s", "in the eighteen nineties"),
        ("the '80s", "the eighties"),
        ("mid-1980s", "mid-nineteen eighties"),
        ("1960s-80s", "nineteen sixties to eighties"),
        ("in his 80s", "in his eighties"),
        ("2000s", "two thousands"),
    ),
    prefilter=HAS_DIGIT,
)

QUARTERS = Rule(
    "quarters",
    re.compile(r"(?<![\w])(?:(?P<q>[1-4])Q\s?(?P<y>\d{2}|\d{4})|Q(?P<q2>[1-4])\s(?P<y2>\d{4}))(?![\w])"),
    lambda m: spaced(
        m,
        f"the {numbers.ordinal(int(m['q'] or m['q2']))} quarter of "
        + numbers.year(int(m["y"] or m["y2"])),
    ),
    (
        ("growth in 2Q22", "growth in the second quarter of twenty-two"),
        ("Q3 2021", "the third quarter of twenty twenty-one"),
    ),
    prefilter=HAS_DIGIT,
)  # fmt: skip

_ERA_NAMES = {"BC": "BC", "BCE": "BCE", "AD": "AD", "CE": "CE"}
_ERA = r"(?P<era>B\.C\.E\.?|B\.C\.?|A\.D\.?|C\.E\.?|BCE|BC|AD|CE)"
_ERAS = re.compile(
    rf"(?<![\w.,])(?P<y>\d{{1,4}})\s?{_ERA}(?![\w])|(?<![\w.])(?P<era2>A\.D\.?|AD)\s?(?P<y2>\d{{1,4}})(?![\w])"
)


def _era(match: re.Match[str]) -> str:
    era = (match["era"] or match["era2"]).replace(".", "")
    if match["y"]:
        words = f"{numbers.year(int(match['y']))} {_ERA_NAMES[era]}"
        return spaced(match, _period_back(match, words))
    return spaced(match, f"{_ERA_NAMES[era]} {numbers.year(int(match['y2']))}")


ERAS = Rule(
    "eras",
    _ERAS,
    _era,
    (
        ("340 A.D", "three forty AD"),
        ("in 44 BC.", "in forty-four BC."),
        ("AD 1066", "AD ten sixty-six"),
    ),
    prefilter=HAS_DIGIT,
)

_YEAR_RANGE = re.compile(
    r"(?<![\w.,$£€/-])(?P<y1>1\d{3}|20\d{2})\s?[-–—]\s?(?P<y2>1\d{3}|20\d{2}|\d{2})(?![\w-]|[.,/]\d)"
)


def _year_range(match: re.Match[str]) -> str:
    first, last = int(match["y1"]), match["y2"]
    if len(last) == 2:
        if int(last) <= first % 100:
            return match.group(0)
        return spaced(match, f"{numbers.year(first)} to {numbers.two_digit_part(int(last))}")
    if int(last) <= first:
        return match.group(0)
    return spaced(match, f"{numbers.year(first)} to {numbers.year(int(last))}")


YEAR_RANGES = Rule(
    "year_ranges",
    _YEAR_RANGE,
    _year_range,
    (
        ("1990-1995", "nineteen ninety to nineteen ninety-five"),
        ("1960-80", "nineteen sixty to eighty"),
        ("(1775–1817)", "(seventeen seventy-five to eighteen seventeen)"),
    ),
    prefilter=HAS_DIGIT,
)
