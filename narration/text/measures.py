"""Measures: a number and a unit symbol, "5 kg" -> "five kilograms", "10 km/h", "6'2\"".

Unit symbols are matched case-sensitively, so that "M" (a magnitude, a letter) is never a
metre and "s" is never a second on its own ("80 s" may be the eighties); only after a slash
is "s" a second ("m/s").
"""

from __future__ import annotations

import re

from narration.text import numbers
from narration.text.rulebase import HAS_DIGIT, NUM, SIGN, Rule, sentence_may_end, spaced


def _u(one: str, many: str | None = None) -> tuple[str, str]:
    return one, many or one + "s"


_UNITS: dict[str, tuple[str, str]] = {
    "mm": _u("millimeter"), "cm": _u("centimeter"), "m": _u("meter"), "km": _u("kilometer"),
    "nm": _u("nanometer"), "µm": _u("micrometer"), "μm": _u("micrometer"),
    "in.": _u("inch", "inches"), "ft": _u("foot", "feet"), "yd": _u("yard"), "mi": _u("mile"),
    "mg": _u("milligram"), "g": _u("gram"), "kg": _u("kilogram"), "µg": _u("microgram"),
    "mcg": _u("microgram"), "t": _u("tonne"), "lb": _u("pound"), "lbs": _u("pound"),
    "oz": _u("ounce"), "ml": _u("milliliter"), "mL": _u("milliliter"), "cl": _u("centiliter"),
    "dl": _u("deciliter"), "l": _u("liter"), "L": _u("liter"), "gal": _u("gallon"),
    "qt": _u("quart"), "cc": ("CC", "CC"), "ms": _u("millisecond"), "sec": _u("second"),
    "secs": _u("second"), "min": _u("minute"), "mins": _u("minute"), "hr": _u("hour"),
    "hrs": _u("hour"), "yr": _u("year"), "yrs": _u("year"),
    "mph": _u("mile per hour", "miles per hour"),
    "kph": _u("kilometer per hour", "kilometers per hour"),
    "rpm": _u("revolution per minute", "revolutions per minute"),
    "fps": _u("frame per second", "frames per second"),
    "mbps": _u("megabit per second", "megabits per second"),
    "Mbps": _u("megabit per second", "megabits per second"),
    "kbps": _u("kilobit per second", "kilobits per second"),
    "Gbps": _u("gigabit per second", "gigabits per second"),
    "Hz": _u("hertz", "hertz"), "kHz": _u("kilohertz", "kilohertz"),
    "MHz": _u("megahertz", "megahertz"), "GHz": _u("gigahertz", "gigahertz"),
    "kB": _u("kilobyte"), "KB": _u("kilobyte"), "MB": _u("megabyte"), "GB": _u("gigabyte"),
    "TB": _u("terabyte"), "W": _u("watt"), "kW": _u("kilowatt"), "MW": _u("megawatt"),
    "kWh": _u("kilowatt hour"), "V": _u("volt"), "mAh": _u("milliamp hour"),
    "dB": _u("decibel"), "cal": _u("calorie"), "kcal": _u("kilocalorie"),
    "psi": _u("pound per square inch", "pounds per square inch"),
    "°C": _u("degree Celsius", "degrees Celsius"), "℃": _u("degree Celsius", "degrees Celsius"),
    "°F": _u("degree Fahrenheit", "degrees Fahrenheit"),
    "℉": _u("degree Fahrenheit", "degrees Fahrenheit"),
    "°": _u("degree"), "º": _u("degree"),
}  # fmt: skip
for _base in ("mm", "cm", "m", "km", "ft", "in."):
    _one, _many = _UNITS[_base]
    for _mark, _word in (("2", "square"), ("²", "square"), ("3", "cubic"), ("³", "cubic")):
        _UNITS[_base.rstrip(".") + _mark] = (f"{_word} {_one}", f"{_word} {_many}")
for _key in ("kg", "km", "cm", "mm", "mph", "lbs", "lb", "oz", "ft", "kph"):
    _UNITS.setdefault(_key.upper(), _UNITS[_key])  # "12KG", "60 MPH"
for _sym, _scale in (("C", "Celsius"), ("F", "Fahrenheit")):
    for _deg in ("°", "º"):
        _UNITS[f"{_deg} {_sym}"] = (f"degree {_scale}", f"degrees {_scale}")
_UNITS["sq ft"] = _UNITS["sq. ft."] = ("square foot", "square feet")

# After a slash a bare letter is unambiguous: "m/s", "km/h".
_PER_UNITS = {**_UNITS, "s": _u("second"), "h": _u("hour"), "d": _u("day")}


def _alternation(keys: dict[str, tuple[str, str]]) -> str:
    return "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))


_AMOUNT = rf"\d+\s\d+/\d+|\d+/\d+|{NUM}"
_MEASURE = re.compile(
    rf"(?P<sign>{SIGN})?(?<![\w.,/])(?P<a1>{_AMOUNT})"
    rf"(?:\s?(?P<op>[-–x×])\s?(?P<a2>{_AMOUNT}))?"
    r"(?:\s(?P<mag>thousand|million|billion|trillion))?"
    rf"(?:(?P<hyphen>-)|\s?)(?:(?P<unit>{_alternation(_UNITS)})"
    rf"(?:\s?/\s?(?P<per>{_alternation(_PER_UNITS)}))?|/(?P<per_only>{_alternation(_PER_UNITS)}))"
    r"(?![\w²³])(?P<udot>\.(?![\w]))?"
)
# Units written with an abbreviation's period ("5 ft. 10 in."); the period goes with them.
_DOTTED_UNITS = frozenset((
    "ft", "lb", "lbs", "oz", "yd", "mi", "min", "mins", "sec", "secs", "hr", "hrs", "yr", "yrs",
    "gal", "qt",
))  # fmt: skip
_FRACTION = re.compile(r"(?:(\d+)\s)?(\d+)/(\d+)")


def read_amount(written: str) -> str:
    """Read an amount that may be a mixed fraction: "4 1/2" -> "four and a half"."""
    frac = _FRACTION.fullmatch(written)
    if not frac:
        return numbers.number(written)
    whole, num, den = frac.groups()
    if whole:
        return f"{numbers.cardinal(int(whole))} and " + numbers.fraction(
            int(num), int(den), mixed=True
        )
    return numbers.fraction(int(num), int(den))


def _measure(match: re.Match[str]) -> str:
    words = read_amount(match["a1"])
    if match["sign"]:
        words = "minus " + words
    if match["a2"]:
        joiner = " by " if match["op"] in "x×" else " to "
        words += joiner + read_amount(match["a2"])
    if match["mag"]:
        words += " " + match["mag"]
    last = match["a2"] or match["a1"]
    singular = bool(match["hyphen"]) or (numbers.is_one(last) and not match["mag"])
    if match["unit"]:
        one, many = _UNITS[match["unit"]]
        unit = one if singular else many
        joiner = "-" if match["hyphen"] else " "
        words += joiner + unit
        if match["per"]:
            words += " per " + _PER_UNITS[match["per"]][0]
    else:
        words += " per " + _PER_UNITS[match["per_only"]][0]
    dotted = match["udot"] or (match["unit"] or "").endswith(".")
    if dotted and (
        match["unit"] not in _DOTTED_UNITS
        and match["unit"] != "in."
        or sentence_may_end(match.string, match.end())
    ):
        words += "."  # a full stop, or "6 ft." closing a sentence
    return spaced(match, words)


MEASURES = Rule(
    "measures",
    _MEASURE,
    _measure,
    (
        ("5 kg", "five kilograms"),
        ("1 kg", "one kilogram"),
        ("12KG", "twelve kilograms"),
        ("10 km/h", "ten kilometers per hour"),
        ("a 4-kg bag", "a four-kilogram bag"),
        ("2-5lb", "two to five pounds"),
        ("4 1/2 lbs", "four and a half pounds"),
        ("2°C", "two degrees Celsius"),
        ("25 x 7 m", "twenty-five by seven meters"),
        ("12/kg", "twelve per kilogram"),
        ("41,459.5 km³", "forty-one thousand four hundred fifty-nine point five cubic kilometers"),
        ("100 million kg", "one hundred million kilograms"),
        ("80 s", "eighty s"),
        ("He was 5 ft. 10 in. tall.", "He was five feet ten inches tall."),
        ("We walked 3 mi.", "We walked three miles."),
        ("It is 6 in.", "It is six inches."),
        ("It weighs 5 kg.", "It weighs five kilograms."),
        ("0.1 M", "zero point one M"),
    ),
    prefilter=HAS_DIGIT,
)  # fmt: skip


def _feet_inches(match: re.Match[str]) -> str:
    feet = int(match["ft"])
    words = f"{numbers.cardinal(feet)} {'foot' if feet == 1 else 'feet'}"
    if match["inch"]:
        inches = match["inch"]
        words += f" {read_amount(inches)} {'inch' if inches == '1' else 'inches'}"
    return spaced(match, words)


# 6'2" and 5′ 11″; a lone 5' is left alone (it may close a quotation).
FEET_INCHES = Rule(
    "feet_and_inches",
    re.compile(r"(?<![\w.])(?P<ft>\d{1,2})(?:['′]\s?(?P<inch>\d{1,2}(?:\.\d+)?)(?:\"|″|'')|′)"),
    _feet_inches,
    (("6'2\" tall", "six feet two inches tall"), ("5′ 11″", "five feet eleven inches")),
    prefilter=re.compile("['′]"),
)


def _inches(match: re.Match[str]) -> str:
    # A straight quote after a number closes a quotation when one is open before it.
    if match.string.count('"', 0, match.start()) % 2 == 1:
        return match.group(0)
    inches = match["n"]
    return spaced(match, f"{read_amount(inches)} {'inch' if inches == '1' else 'inches'}")


INCHES = Rule(
    "inches",
    re.compile(r"(?<![\w.'′])(?P<n>\d+(?:\.\d+)?)(?:\"|″)"),
    _inches,
    (
        ('a 12" ruler', "a twelve inches ruler"),
        ('"I counted 12" he said', '"I counted twelve" he said'),
    ),
    prefilter=re.compile('["″]'),
)
