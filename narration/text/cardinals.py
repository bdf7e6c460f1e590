"""Plain numbers: telephone numbers, ordinals, fractions, ranges, cardinals, decimals, years.

These run after every rule that reads a number with a meaning (money, time, date, measure),
so what reaches them is a bare number. How a bare integer is read:

- with thousands separators ("1,234") -> a cardinal;
- with a leading zero ("004") or five or more digits and no separators ("13000",
  "1234567890") -> digit by digit, since a bare long number is a code, ID or postcode far
  more often than a quantity... unless a word follows it: "40000 men", "250000 pounds a
  year" are quantities in any book, so five to seven digits before a word are a cardinal;
- four digits from 1000 to 2099 -> as a year ("1987" -> "nineteen eighty-seven", "2005" ->
  "two thousand five"), which in running prose is what they nearly always are;
- anything else -> a cardinal.
"""

from __future__ import annotations

import re

from narration.text import numbers
from narration.text.rulebase import HAS_DIGIT, SIGN, Rule, spaced

# ---------------------------------------------------------------------------------------------
# Telephone numbers: groups read digit by digit, a comma (a short pause) between groups.

_PHONE = re.compile(
    r"(?<![\w+.-])(?:(?P<cc>\+\d{1,3})[\s-]?)?(?:\((?P<area>\d{3})\)|(?P<area2>\d{3}))[\s.-]?"
    r"(?P<mid>\d{3})[\s.-](?P<last>\d{4})(?:-(?P<ext>\d{1,4}))?(?![\w-]|\.\d)"
)


def _phone(match: re.Match[str]) -> str:
    groups = [match["area"] or match["area2"], match["mid"], match["last"], match["ext"]]
    words = [numbers.digits(g) for g in groups if g]
    if match["cc"]:
        words.insert(0, "plus " + numbers.cardinal(int(match["cc"][1:])))
    return spaced(match, ", ".join(words))


TELEPHONE = Rule(
    "telephone",
    _PHONE,
    _phone,
    (
        ("call 123-456-7890", "call one two three, four five six, seven eight nine zero"),
        ("+1 (555) 555-5555", "plus one, five five five, five five five, five five five five"),
    ),
    prefilter=HAS_DIGIT,
)

# Social security style "111-11-1111" and dotted quads (IP addresses, "1.2.3.4" versions).
DIGIT_GROUPS = Rule(
    "digit_groups",
    re.compile(
        r"(?<![\w.-])(?:(?P<ssn>\d{3}-\d{2}-\d{4})|(?P<quad>\d{1,3}(?:\.\d{1,3}){3}))"
        r"(?![\w-]|\.\d)"
    ),
    lambda m: spaced(
        m,
        ", ".join(numbers.digits(g) for g in m["ssn"].split("-"))
        if m["ssn"]
        else " dot ".join(numbers.digits(g) for g in m["quad"].split(".")),
    ),
    (
        ("ssn 111-11-1111", "ssn one one one, one one, one one one one"),
        ("IP 10.0.0.1", "IP one zero dot zero dot zero dot one"),
    ),
    prefilter=re.compile(r"\d[.-]\d"),
)

# ---------------------------------------------------------------------------------------------
# Ordinals: "21st" -> "twenty-first". A wrong suffix ("21th") is read as written.

_ORDINAL = re.compile(
    r"(?<![\w./])(?P<n>\d{1,3}(?:,\d{3})+|\d+)(?P<suf>st|nd|rd|th|ST|ND|RD|TH|d)(?![\w])"
)


def _ordinal(match: re.Match[str]) -> str:
    n = int(match["n"].replace(",", ""))
    suffix = match["suf"].lower()
    if suffix == "d":
        # "the 2d of May", "3d Regiment": the old style, only for 2 and 3 ("4d" is pence).
        if numbers.ordinal_suffix(n) not in ("nd", "rd"):
            return match.group(0)
        return spaced(match, numbers.ordinal(n))
    if suffix != numbers.ordinal_suffix(n):
        return spaced(match, f"{numbers.cardinal(n)} {match['suf']}")
    return spaced(match, numbers.ordinal(n))


ORDINALS = Rule(
    "ordinals",
    _ORDINAL,
    _ordinal,
    (
        ("the 21st century", "the twenty-first century"),
        ("2nd", "second"),
        ("1,000th", "one thousandth"),
        ("the 2d of May", "the second of May"),
        ("21th", "twenty-one th"),
    ),
    prefilter=HAS_DIGIT,
)

# ---------------------------------------------------------------------------------------------
# Fractions: "3/4" -> "three quarters", "2 1/2" -> "two and a half", "½" -> "one half".

_VULGAR = {
    "½": (1, 2), "⅓": (1, 3), "⅔": (2, 3), "¼": (1, 4), "¾": (3, 4), "⅕": (1, 5), "⅖": (2, 5),
    "⅗": (3, 5), "⅘": (4, 5), "⅙": (1, 6), "⅚": (5, 6), "⅛": (1, 8), "⅜": (3, 8), "⅝": (5, 8),
    "⅞": (7, 8),
}  # fmt: skip
_FRACTION = re.compile(
    r"(?<![\w./])(?:(?P<whole>\d+)(?:\s|-)(?=\d+/\d))?(?P<num>\d+)[/⁄](?P<den>\d+)"
    r"(?:st|nd|rd|th|ST|ND|RD|TH)?(?![\w/]|[.,]\d)"
    r"|(?<![\w.])(?P<vwhole>\d+)?\s?(?P<vulgar>[" + "".join(_VULGAR) + "])"
)


def _fraction(match: re.Match[str]) -> str:
    if match["vulgar"]:
        num, den = _VULGAR[match["vulgar"]]
        whole = match["vwhole"]
    else:
        num, den, whole = int(match["num"]), int(match["den"]), match["whole"]
    if whole:
        words = f"{numbers.cardinal(int(whole))} and {numbers.fraction(num, den, mixed=True)}"
    else:
        words = numbers.fraction(num, den)
    return spaced(match, words)


FRACTIONS = Rule(
    "fractions",
    _FRACTION,
    _fraction,
    (
        ("3/4", "three quarters"),
        ("2 1/2", "two and a half"),
        ("1/3rd", "one third"),
        ("31/32", "thirty-one thirty-seconds"),
        ("3½ miles", "three and a half miles"),
    ),
    prefilter=re.compile("[/⁄" + "".join(_VULGAR) + "]"),
)

# ---------------------------------------------------------------------------------------------
# Ranges: "10-20" -> "ten to twenty" when the second number is the larger; otherwise the
# hyphen is a separator ("978-0", a score "3-2") and each side is read on its own.

_RANGE = re.compile(
    r"(?<![\w.,/-])(?P<a>\d{1,3}(?:,\d{3})+|\d{1,4})[-–](?P<b>\d{1,3}(?:,\d{3})+|\d{1,4})"
    r"(?![\w/-]|[.,:]\d|\s?=)"
)


def _range(match: re.Match[str]) -> str:
    a, b = match["a"], match["b"]
    if a.startswith("0") or b.startswith("0") or int(b.replace(",", "")) <= int(a.replace(",", "")):
        return match.group(0)
    return spaced(match, f"{_integer(a)} to {_integer(b)}")


RANGES = Rule(
    "number_ranges",
    _RANGE,
    _range,
    (("pages 10-20", "pages ten to twenty"), ("978-0", "nine hundred seventy-eight-zero")),
    prefilter=re.compile(r"\d[-–]\d"),
)

# ---------------------------------------------------------------------------------------------
# Cardinals, decimals and years.


_COUNTED_WORD = re.compile(r"\s+[a-z]")


def _integer(written: str, counts_something: bool = False) -> str:
    if "," in written:
        return numbers.cardinal(int(written.replace(",", "")))
    is_quantity = counts_something and len(written) <= 7
    if (len(written) > 1 and written.startswith("0")) or (len(written) >= 5 and not is_quantity):
        return numbers.digits(written)
    value = int(written)
    if len(written) == 4 and 1000 <= value <= 2099:
        return numbers.year(value)
    return numbers.cardinal(value)


_NUMBER = re.compile(
    rf"(?P<sign>{SIGN})?(?:(?<!\d)(?P<int>\d{{1,3}}(?:,\d{{3}})+(?!\d)|\d+)(?:\.(?P<frac>\d+))?"
    r"|(?<![^\s(\[\"'“‘-])\.(?P<bare>\d+))"
)


def _number(match: re.Match[str]) -> str:
    if match["bare"] is not None:
        words = numbers.decimal("", match["bare"])
    elif match["frac"] is not None:
        words = numbers.decimal(match["int"], match["frac"])
    else:
        follows = _COUNTED_WORD.match(match.string, match.end())
        words = _integer(match["int"], counts_something=follows is not None)
    if match["sign"]:
        words = "minus " + words
    return spaced(match, words)


NUMBERS = Rule(
    "cardinals_decimals_years",
    _NUMBER,
    _number,
    (
        ("1,234,567", "one million two hundred thirty-four thousand five hundred sixty-seven"),
        ("-2", "minus two"),
        ("2.050", "two point zero five zero"),
        (".1665", "point one six six five"),
        ("in 1987", "in nineteen eighty-seven"),
        ("in 2005", "in two thousand five"),
        ("9000", "nine thousand"),
        ("13000", "one three zero zero zero"),
        ("40000 men", "forty thousand men"),
        ("004", "zero zero four"),
        ("covid-19", "covid-nineteen"),
        ("A321sam", "A three hundred twenty-one sam"),
    ),
    prefilter=HAS_DIGIT,
)

# ---------------------------------------------------------------------------------------------
# Arithmetic: "1-4=5" -> "one minus four equals five". Only with an equals sign, since
# without one a hyphen between numbers is a range or a separator.

_OPERATORS = {
    "-": "minus", "−": "minus", "+": "plus", "*": "times", "×": "times", "÷": "divided by",
    "/": "divided by", "=": "equals",
}  # fmt: skip
_OPERATOR_SPLIT = re.compile(r"\s*([-−+*×÷/=])\s*")
ARITHMETIC = Rule(
    "arithmetic",
    re.compile(
        r"(?<![\w.,-])\d+(?:\.\d+)?(?:\s?[-−+*×÷/=]\s?\d+(?:\.\d+)?)*\s?=\s?-?\d+(?:\.\d+)?(?![\w.,]\d|\w)"
    ),
    lambda m: spaced(
        m,
        " ".join(
            _OPERATORS[part] if part in _OPERATORS else numbers.number(part)
            for part in _OPERATOR_SPLIT.split(m.group(0))
            if part
        ),
    ),
    (("1-4=5", "one minus four equals five"), ("2 + 2 = 4", "two plus two equals four")),
    prefilter=re.compile("="),
)
