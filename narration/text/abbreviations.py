"""Rules for words: citation markers, e-mail and web addresses, abbreviations, acronyms.

Titles (Mr., Dr., St.) must be expanded: espeak, under Piper, ends a sentence at "Mr." and
"St.", which puts a long pause in the middle of "Mister Darcy".
"""

from __future__ import annotations

import re

from narration.text import numbers
from narration.text.rulebase import Rule, keep_case, sentence_may_end

# ---------------------------------------------------------------------------------------------
# Citation markers: "[12]", "[3, 4]", "[a]", "[citation needed]" are dropped, never read.

_CITATION = re.compile(
    r"[ \t]?\[(?:\d{1,4}(?:\s?[-–,]\s?\d{1,4})*|[a-z]{1,2}|(?:note|nb|n)\s?\d{1,4}"
    r"|(?i:[a-z ]{0,20}needed|dubious|who\?|when\?|by whom\?|according to whom\?"
    r"|not in citation given|page needed|sic))\]"
)

CITATIONS = Rule(
    "citation_markers",
    _CITATION,
    lambda m: "",
    (
        ("It was true.[12] Then", "It was true. Then"),
        ("a claim [citation needed] here", "a claim here"),
        ("as shown[a][3, 4].", "as shown."),
    ),
    prefilter=re.compile(r"\["),
)

# ---------------------------------------------------------------------------------------------
# E-mail and web addresses, read out: "a dot bc at gmail dot com".

_WORD_TLDS = frozenset({"com", "org", "net", "edu", "gov", "mil", "info", "biz"})
_FILE_TYPES = {"html": "HTML", "htm": "HTM", "jpg": "jpeg", "pdf": "PDF", "png": "PNG"}
_SPOKEN_SYMBOLS = {
    ".": "dot", "-": "dash", "_": "underscore", "/": "slash", "@": "at", ":": "colon",
    "&": "ampersand", "+": "plus", "~": "tilde", "?": "question mark", "=": "equals",
    "#": "hash", "%": "percent",
}  # fmt: skip
_ADDRESS_TOKEN = re.compile(r"[A-Za-z]+|\d+|.", re.S)
_TRAILING_PUNCT = re.compile(r"[.,;:!?)\]'\"”’]+$")


def _read_address(address: str) -> str:
    """Spell an address token by token: words stay, digits one by one, symbols by name."""
    words: list[str] = []
    tokens = _ADDRESS_TOKEN.findall(address)
    last_alpha = max((i for i, t in enumerate(tokens) if t.isalpha()), default=-1)
    for i, token in enumerate(tokens):
        if token.isdigit():
            words.append(numbers.digits(token))
        elif token.isalpha():
            lower = token.lower()
            if lower in ("http", "https", "www", "ftp"):
                words.append(lower.upper())
            elif i == last_alpha and i > 0 and tokens[i - 1] == ".":
                # The last label after a dot is a domain or a file type: short ones that are
                # not words are spelled ("dot D E"), the familiar ones are said ("dot com").
                if lower in _FILE_TYPES:
                    words.append(_FILE_TYPES[lower])
                elif lower in _WORD_TLDS or len(lower) > 3:
                    words.append(lower)
                else:
                    words.append(lower.upper())
            else:
                words.append(token)
        elif token in _SPOKEN_SYMBOLS:
            words.append(_SPOKEN_SYMBOLS[token])
    return " ".join(words)


def _address_replacement(match: re.Match[str]) -> str:
    address = match.group(0)
    trail = _TRAILING_PUNCT.search(address)
    tail = ""
    if trail:
        tail = trail.group(0)
        address = address[: trail.start()]
    if address.endswith("/"):
        return _read_address(address[:-1]) + " slash" + tail
    return _read_address(address) + tail


EMAILS = Rule(
    "emails",
    re.compile(r"(?<![\w.+-])[\w.+&-]+@[\w-]+(?:\.[\w-]+)+(?:/[^\s<>\"“”]*)?"),
    _address_replacement,
    (
        ("write to a.bc@gmail.com.", "write to a dot bc at gmail dot com."),
        ("abc1@hotmail.de", "abc one at hotmail dot DE"),
    ),
    prefilter=re.compile("@"),
)

_BARE_TLDS = "com|org|net|edu|gov|io|co\\.uk|uk|de|fr|ca|au|info|biz|ai"
URLS = Rule(
    "urls",
    re.compile(
        r"\b(?:(?:https?|ftp|file)://|www\.)[^\s<>\"“”]+"
        rf"|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:{_BARE_TLDS})\b(?:/[^\s<>\"“”]*)?"
    ),
    _address_replacement,
    (
        (
            "see https://example.com/a-b.",
            "see HTTPS colon slash slash example dot com slash a dash b.",
        ),
        ("visit example.com today", "visit example dot com today"),
        ("www.nvidia.com/rtx", "WWW dot nvidia dot com slash rtx"),
    ),
    prefilter=re.compile(rf"://|www\.|\.(?:{_BARE_TLDS})\b"),
)

# ---------------------------------------------------------------------------------------------
# Fixed abbreviations. The flag says whether the period may also end the sentence
# ("... and so on, etc. Then") or never does ("e.g. apples").

_FIXED: dict[str, tuple[str, bool]] = {
    "e.g.": ("for example", False),
    "i.e.": ("that is", False),
    "etc.": ("et cetera", True),
    "&c.": ("et cetera", True),
    "viz.": ("namely", False),
    "cf.": ("compare", False),
    "vs.": ("versus", False),
    "approx.": ("approximately", False),
    "a.k.a.": ("also known as", False),
    "Esq.": ("Esquire", True),
    "Messrs.": ("Messieurs", False),
    "Bros.": ("Brothers", True),
    "Ltd.": ("Limited", True),
    "Inc.": ("Incorporated", True),
    "Dept.": ("Department", True),
    "Ph.D.": ("PhD", True),
    "w/o": ("without", False),
    "c/o": ("care of", False),
    "24/7": ("twenty-four seven", False),
    "9/11": ("nine eleven", False),
    "50/50": ("fifty-fifty", False),
}
_FIXED_LOOKUP = {key.lower(): value for key, value in _FIXED.items()}
_FIXED_PATTERN = re.compile(
    r"(?<![\w.&/])(?:"
    + "|".join(re.escape(k) for k in sorted(_FIXED, key=len, reverse=True))
    + r")(?![\w/])",
    re.I,
)


def _fixed(match: re.Match[str]) -> str:
    source = match.group(0)
    words, may_end = _FIXED_LOOKUP[source.lower()]
    words = keep_case(source, words)
    if may_end and sentence_may_end(match.string, match.end(), capital_is_enough=True):
        return words + "."
    return words


FIXED_ABBREVIATIONS = Rule(
    "fixed_abbreviations",
    _FIXED_PATTERN,
    _fixed,
    (
        ("fruit, e.g. apples", "fruit, for example apples"),
        ("ribbons, lace, &c. Mrs. Bennet", "ribbons, lace, et cetera. Misses Bennet"),
        ("open 24/7", "open twenty-four seven"),
        ("and so on, etc.", "and so on, et cetera."),
    ),
    prefilter=re.compile(r"[./]"),  # every fixed abbreviation holds a "." or a "/"
)

# "401(k)", "501(c)": a statute section read as a code, then its letter.
SECTION_CODES = Rule(
    "section_codes",
    re.compile(r"(?<![\w.])(\d)(\d)(\d)\(([a-z])\)"),
    lambda m: f"{numbers.cardinal(int(m[1]))} {numbers.two_digit_part(int(m[2] + m[3]))} {m[4]}",
    (("a 401(k) plan", "a four oh one k plan"),),
    prefilter=re.compile(r"\d\("),
)

# ---------------------------------------------------------------------------------------------
# Titles and street words.

_TITLES = {
    "Mr": "Mister", "Mrs": "Misses", "Ms": "Miz", "Mx": "Mix", "Mme": "Madame",
    "Mlle": "Mademoiselle", "Prof": "Professor", "Capt": "Captain", "Col": "Colonel",
    "Lt": "Lieutenant", "Sgt": "Sergeant", "Cpl": "Corporal", "Maj": "Major", "Adm": "Admiral",
    "Cmdr": "Commander", "Rev": "Reverend", "Hon": "Honourable", "Gen": "General",
    "Gov": "Governor", "Sen": "Senator", "Rep": "Representative", "Pres": "President",
    "Supt": "Superintendent", "Insp": "Inspector", "Fr": "Father", "Mt": "Mount", "Ft": "Fort",
}  # fmt: skip
# These stand for something else unless a name follows ("Gen. 1:3" is Genesis).
_NEEDS_NAME = frozenset({"Gen", "Gov", "Sen", "Rep", "Pres", "Fr", "Mt", "Ft", "Hon", "Maj"})
# British style drops the period ("Mr Darcy"); only these are safe without one ("MS Word",
# "Gen Z" are not titles).
_NO_DOT_OK = frozenset({"Mr", "Mrs", "Ms", "Prof", "Capt", "Col", "Lt", "Sgt", "Rev"})
_TITLE_LOOKUP = {**_TITLES, **{k.upper(): v for k, v in _TITLES.items()}}
_TITLE_PATTERN = re.compile(
    r"(?<![A-Za-z0-9])(?P<t>" + "|".join(sorted(_TITLE_LOOKUP, key=len, reverse=True)) + r")"
    r"(?:(?P<dot>\.)|(?=\s+[A-Z]))(?P<name>\s+[A-Z])?"
)


def _title(match: re.Match[str]) -> str:
    title = match["t"]
    if title.capitalize() in _NEEDS_NAME and not match["name"]:
        return match.group(0)
    if not match["dot"] and title not in _NO_DOT_OK:
        return match.group(0)
    if match["name"]:
        return _TITLE_LOOKUP[title] + match["name"]
    ends = match["dot"] and sentence_may_end(match.string, match.end())
    return _TITLE_LOOKUP[title] + ("." if ends else "")


TITLES = Rule(
    "titles",
    _TITLE_PATTERN,
    _title,
    (
        ("Mr. Darcy", "Mister Darcy"),
        ("Mrs Bennet", "Misses Bennet"),
        ("Col. and Mrs. Forster", "Colonel and Misses Forster"),
        ("MR. DARCY", "Mister DARCY"),
        ("Gen. Lee", "General Lee"),
        ("Gen Z", "Gen Z"),
    ),
    # The pattern less its leading look-behind: the engine then jumps to the titles' first
    # letters instead of trying the pattern at every character (most sentences have none).
    prefilter=re.compile(
        "(?:" + "|".join(sorted(_TITLE_LOOKUP, key=len, reverse=True)) + r")(?:\.|\s+[A-Z])"
    ),
)

# Dr. and St. depend on what is around them: a name before them makes them part of an
# address ("Elm St.", "Mulholland Dr."), a name after them makes them a title.
_PLACE = {"St": ("Saint", "Street"), "Dr": ("Doctor", "Drive")}
_PLACE_PATTERN = re.compile(
    r"(?P<before>\b(?:[A-Z][a-z]+|\d+(?:st|nd|rd|th)?)\s+)?(?<![A-Za-z0-9])(?P<a>St|Dr|ST|DR)"
    r"(?:(?P<dot>\.)|(?=\s+[A-Z]))"
)
_CAPITALISED_NAME = re.compile(r"\s+[A-Z][a-z]")


def _place(match: re.Match[str]) -> str:
    if match["a"].isupper() and not match["dot"]:
        return match.group(0)  # "ST", "DR" without a period: a code, not an abbreviation
    title, place = _PLACE[match["a"].capitalize()]
    before = match["before"] or ""
    text, end = match.string, match.end()
    name_follows = bool(_CAPITALISED_NAME.match(text, end))
    is_place = bool(before) and (
        not name_follows or sentence_may_end(text, end, capital_is_enough=False)
    )
    if not is_place:
        ends = match["dot"] and sentence_may_end(text, end)
        return before + title + ("." if ends else "")
    period = "." if match["dot"] and sentence_may_end(text, end, capital_is_enough=True) else ""
    return before + place + period


STREET_OR_SAINT = Rule(
    "saint_street_doctor_drive",
    _PLACE_PATTERN,
    _place,
    (
        ("at St. James's", "at Saint James's"),
        ("on 1428 Elm St. It was", "on fourteen twenty-eight Elm Street. It was"),
        ("lives on Baker St.", "lives on Baker Street."),
        ("Dr. Evil", "Doctor Evil"),
        ("It was the Dr. He left.", "It was the Doctor. He left."),
        ("said Dr Watson", "said Doctor Watson"),
        ("10 Mulholland Dr.", "ten Mulholland Drive."),
    ),
    prefilter=re.compile(r"(?:St|Dr|ST|DR)(?:\.|\s+[A-Z])"),
)  # fmt: skip

_SUFFIXES = {"Jr": "Junior", "Sr": "Senior", "JR": "Junior", "SR": "Senior"}
NAME_SUFFIXES = Rule(
    "name_suffixes",
    re.compile(r"(?<=[A-Za-z])(?P<sep>,?\s+)(?P<s>Jr|Sr|JR|SR)(?P<dot>\.)?(?!\w)"),
    lambda m: (
        m["sep"]
        + _SUFFIXES[m["s"]]
        + ("." if m["dot"] and sentence_may_end(m.string, m.end(), capital_is_enough=True) else "")
    ),
    (("Martin Luther King, Jr. spoke", "Martin Luther King, Junior spoke"),),
    prefilter=re.compile(r"[JS][rR]\b"),
)

# "No. 5", "pp. 10-20", "vol. 3", "#5": abbreviations that only ever stand before a number.
_BEFORE_NUMBER = {
    "no": "number", "nos": "numbers", "p": "page", "pp": "pages", "vol": "volume",
    "vols": "volumes", "ch": "chapter", "chap": "chapter", "fig": "figure", "figs": "figures",
    "art": "article", "sec": "section", "ed": "edition", "op": "opus",
}  # fmt: skip
NUMBER_PREFIXES = Rule(
    "number_prefixes",
    re.compile(
        r"(?<![\w.])(?P<a>(?i:" + "|".join(sorted(_BEFORE_NUMBER, key=len, reverse=True)) + r"))"
        r"\.\s?(?=\d|(?:[IVXLC]{2,}|[VX])\b|I(?:\s*[.,;:]|\s*$))|#(?=\d)"
    ),
    lambda m: keep_case(m["a"], _BEFORE_NUMBER[m["a"].lower()]) + " " if m["a"] else "number ",
    (
        ("Exhibit No. 162", "Exhibit Number one hundred sixty-two"),
        ("see pp. 10-20", "see pages ten to twenty"),
        ("room #5", "room number five"),
        ("No. It was not", "No. It was not"),
    ),
    prefilter=re.compile(r"\.\s?[\dIVXLC]|#\d"),  # what must follow the abbreviation
)
