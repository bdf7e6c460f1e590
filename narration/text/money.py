"""Money and percentages: "$1.5 million" -> "one point five million dollars"."""

from __future__ import annotations

import re

from narration.text import numbers
from narration.text.rulebase import NUM, SIGN, Rule, sentence_may_end, spaced

# symbol -> (one, many, sub-unit one, sub-unit many); None where no sub-unit is spoken.
_CURRENCIES: dict[str, tuple[str, str, str | None, str | None]] = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", None, None),
    "₩": ("won", "won", None, None),
    "₹": ("rupee", "rupees", "paisa", "paise"),
}
_MAGNITUDES = {
    "thousand": "thousand", "k": "thousand", "K": "thousand",
    "million": "million", "m": "million", "M": "million", "mn": "million", "mm": "million",
    "billion": "billion", "b": "billion", "B": "billion", "bn": "billion",
    "trillion": "trillion", "tn": "trillion", "T": "trillion",
}  # fmt: skip
_PER = {
    "mo": "month", "month": "month", "yr": "year", "year": "year", "wk": "week", "week": "week",
    "d": "day", "day": "day", "hr": "hour", "h": "hour", "hour": "hour", "min": "minute",
    "ea": "each", "each": "each", "person": "person", "head": "head", "night": "night",
}  # fmt: skip
_CUR = "[" + re.escape("".join(_CURRENCIES)) + "]"
_MAG = r"(?:thousand|million|billion|trillion|mn|mm|bn|tn|[kKmMbBT])(?![\w])"
_PER_RE = "|".join(sorted(_PER, key=len, reverse=True))

_MONEY = re.compile(
    rf"(?P<sign>{SIGN})?(?P<us>US)?(?P<cur>{_CUR})\s?(?P<a1>{NUM})(?:\s?(?P<m1>{_MAG}))?"
    rf"(?:\s?[-–]\s?(?P<cur2>{_CUR})?\s?(?P<a2>{NUM})(?:\s?(?P<m2>{_MAG}))?)?"
    rf"(?:\s?/\s?(?P<per>{_PER_RE})\b)?(?![\d])"
)


def amount(cur: str, written: str, magnitude: str | None = None, *, us: bool = False) -> str:
    """Read one amount of money.

    Whole units and two-place sub-units are read as such ("twenty dollars and fifty cents",
    "two cents"); more places, or a magnitude, make it a decimal ("twenty point five zero six
    dollars", "two point five million dollars").
    """
    one, many, sub_one, sub_many = _CURRENCIES[cur]
    if us:
        one, many = f"US {one}", f"US {many}"
    int_part, _, frac = written.replace(",", "").partition(".")
    if magnitude:
        return f"{numbers.number(written)} {_MAGNITUDES[magnitude]} {many}"
    frac = frac.rstrip("0")
    whole = int(int_part or "0")
    if len(frac) > 2 or (frac and sub_one is None):
        return f"{numbers.decimal(int_part, frac)} {many}"
    cents = int(frac.ljust(2, "0")) if frac else 0
    units = f"{numbers.cardinal(whole)} {one if whole == 1 else many}"
    if not cents:
        return units
    sub = f"{numbers.cardinal(cents)} {sub_one if cents == 1 else sub_many}"
    return sub if whole == 0 else f"{units} and {sub}"


def _money(match: re.Match[str]) -> str:
    cur, us = match["cur"], bool(match["us"])
    a1, a2 = match["a1"], match["a2"]
    if a2 is None:
        words = amount(cur, a1, match["m1"], us=us)
    elif match["cur2"] is None and match["m1"] is None and "." not in a1:
        # "$5-10 million": the first number borrows the currency and magnitude of the second.
        words = f"{numbers.number(a1)} to {amount(cur, a2, match['m2'], us=us)}"
    else:
        words = f"{amount(cur, a1, match['m1'], us=us)} to {amount(cur, a2, match['m2'], us=us)}"
    if match["sign"]:
        words = "minus " + words
    if match["per"]:
        words += " per " + _PER[match["per"]] if _PER[match["per"]] != "each" else " each"
    return spaced(match, words)


MONEY = Rule(
    "money",
    _MONEY,
    _money,
    (
        ("$1.5 million", "one point five million dollars"),
        ("it cost $20.50", "it cost twenty dollars and fifty cents"),
        ("$0.02", "two cents"),
        ("$1", "one dollar"),
        ("£2.01", "two pounds and one penny"),
        ("€3.50", "three euros and fifty cents"),
        ("$20.506", "twenty point five zero six dollars"),
        ("¥30b", "thirty billion yen"),
        ("$50.00-$100.00", "fifty dollars to one hundred dollars"),
        ("$5-10 million", "five to ten million dollars"),
        ("$20/mo", "twenty dollars per month"),
        ("US$76.3 trillion", "seventy-six point three trillion US dollars"),
    ),
    prefilter=re.compile(_CUR),
)

CENTS = Rule(
    "cents_sign",
    re.compile(r"(?<![\w.])(?P<n>\d+)\s?¢"),
    lambda m: spaced(m, f"{numbers.cardinal(int(m['n']))} {'cent' if m['n'] == '1' else 'cents'}"),
    (("50¢", "fifty cents"), ("1¢", "one cent")),
    prefilter=re.compile("¢"),
)


def _shillings_pence(match: re.Match[str]) -> str:
    pounds, shillings, pence = match["l"], match["s"] or match["s2"], match["d"] or match["d2"]
    parts = []
    if pounds:
        parts.append(f"{numbers.cardinal(int(pounds))} {'pound' if pounds == '1' else 'pounds'}")
    parts.append(f"{numbers.cardinal(int(shillings))} shilling{'' if shillings == '1' else 's'}")
    words = " ".join(parts)
    if pence:
        words += f" and {numbers.cardinal(int(pence))} {'penny' if pence == '1' else 'pence'}"
    if match.group(0).endswith(".") and sentence_may_end(match.string, match.end()):
        words += "."
    return spaced(match, words)


# Pre-decimal British money, common in Victorian novels: "£5 10s. 6d.", "2s. 6d.".
SHILLINGS_PENCE = Rule(
    "shillings_and_pence",
    re.compile(
        r"(?<![\w.])(?:£\s?(?P<l>\d+)\s+(?P<s>\d+)s\.?(?:\s*(?P<d>\d+)d\.?)?"
        r"|(?P<s2>\d+)s\.?\s*(?P<d2>\d+)d\.?)(?![\w])"
    ),
    _shillings_pence,
    (
        ("It cost £5 10s. 6d. in all", "It cost five pounds ten shillings and six pence in all"),
        ("a fare of 2s. 6d.", "a fare of two shillings and six pence."),
    ),
    prefilter=re.compile(r"\ds\b"),
)


def _percent(match: re.Match[str]) -> str:
    first = ("minus " if match["sign"] else "") + numbers.number(match["a1"])
    if match["a2"] is None:
        return spaced(match, f"{first} percent")
    second = ("minus " if match["sign2"] else "") + numbers.number(match["a2"])
    return spaced(match, f"{first} to {second} percent")


PERCENT = Rule(
    "percent",
    re.compile(
        rf"(?P<sign>{SIGN})?(?<![\w.,])(?P<a1>{NUM})(?:\s?%)?"
        rf"(?:\s?[-–]\s?(?P<sign2>[-−])?(?P<a2>{NUM}))?\s?%"
    ),
    _percent,
    (
        ("5%", "five percent"),
        ("a 2.5% rise", "a two point five percent rise"),
        ("10-20%", "ten to twenty percent"),
        ("10%-20%", "ten to twenty percent"),
        ("-3%", "minus three percent"),
    ),
    prefilter=re.compile("%"),
)
