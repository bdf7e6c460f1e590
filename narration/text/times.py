"""Clock times: "3:30 pm" -> "three thirty p.m.", "12:00" -> "twelve o'clock".

"a.m"/"p.m" are written with inner periods only: espeak reads "AM" as the word "am", reads
"a.m" as the letters, and treats a final "p.m." as a sentence end (it swallows a following "?").
"""

from __future__ import annotations

import re

from narration.text import numbers
from narration.text.rulebase import HAS_DIGIT, Rule, sentence_may_end, spaced

_AMPM = r"[aApP]\.\s?[mM]\.?|[aApP][mM](?![a-zA-Z])"
_ZONE = (
    r"(?:[ECMP][SD]T|GMT|UTC|BST|CET|CEST|IST|[ecmp][sd]t|gmt|utc"
    r"|[EeCcMmPp]\.[SsDd]\.[Tt]\.?)(?![a-zA-Z])"
)


def _clock(suffix: str) -> str:
    """One time, its groups named with `suffix` so that a range can hold two."""
    s = suffix
    return (
        rf"(?P<h{s}>\d{{1,2}})(?:(?P<sep{s}>[:.])(?P<m{s}>\d{{2}})(?::(?P<s{s}>\d{{2}}))?)?"
        rf"(?:\s?(?P<ampm{s}>{_AMPM}))?(?:\s?(?P<tz{s}>{_ZONE}))?"
    )


_TIME = re.compile(
    rf"(?<![\w.:/$£€-])(?<!\d,){_clock('1')}(?:\s?[-–]\s?{_clock('2')})?(?![\w:]|/\d)"
)


def _plural(n: int, unit: str) -> str:
    return f"{numbers.cardinal(n)} {unit}" + ("" if n == 1 else "s")


def _read(match: re.Match[str], s: str) -> str | None:
    """Words for one clock time, or None when the digits are not a time after all."""
    hour, minute, second = match[f"h{s}"], match[f"m{s}"], match[f"s{s}"]
    ampm, zone, sep = match[f"ampm{s}"], match[f"tz{s}"], match[f"sep{s}"]
    h = int(hour)
    if ampm is None and (minute is None or sep != ":"):
        return None  # "1.59" or a bare "5" is a number, not a time
    if h > 24 or (ampm and h > 12) or (minute and int(minute) > 59):
        return None
    if second is not None:
        words = (
            f"{_plural(h, 'hour')} {_plural(int(minute), 'minute')} "
            f"and {_plural(int(second), 'second')}"
        )
    elif minute is None or int(minute) == 0:
        words = numbers.cardinal(h) if ampm else f"{numbers.cardinal(h)} o'clock"
    else:
        words = f"{numbers.cardinal(h)} {numbers.two_digit_part(int(minute))}"
    if ampm:
        words += " a.m" if ampm[0] in "aA" else " p.m"
    if zone:
        words += " " + zone.replace(".", "").upper()
    return words


def _time(match: re.Match[str]) -> str:
    first = _read(match, "1")
    if match["h2"] is None:
        if first is None:
            return match.group(0)
        words = first
    else:
        second = _read(match, "2")
        if second is None:
            return match.group(0)
        if first is None:
            # "2-5pm": the first hour borrows the second's a.m./p.m.
            if match["m1"] is not None and match["sep1"] != ":":
                return match.group(0)
            first = numbers.cardinal(int(match["h1"]))
            if match["m1"]:
                first += " " + numbers.two_digit_part(int(match["m1"]))
        words = f"{first} to {second}"
    if match.group(0).endswith(".") and sentence_may_end(match.string, match.end()):
        words += "."  # the period of "p.m." also closed the sentence
    return spaced(match, words)


TIMES = Rule(
    "times",
    _TIME,
    _time,
    (
        ("at 3:30 pm", "at three thirty p.m"),
        ("12:00", "twelve o'clock"),
        ("at 3:05", "at three oh five"),
        ("It was 1.59 p.m.", "It was one fifty-nine p.m."),
        ("at 5 p.m. when", "at five p.m when"),
        ("14:10:30", "fourteen hours ten minutes and thirty seconds"),
        ("2pm-5pm", "two p.m to five p.m"),
        ("1:59 p.m. e.s.t", "one fifty-nine p.m EST"),
        ("it is 1.59 now", "it is one point five nine now"),
    ),
    prefilter=HAS_DIGIT,
)
