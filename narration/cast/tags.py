"""Speech tags: the narration beside a quotation that says who speaks.

Looks only at text: after a quotation (`"...," said Elizabeth`, `"...," she cried`,
`"...," replied his wife`) and before one (`Elizabeth said to her sister:`, `Alice heard
the Rabbit say,`, `Presently she began again.`). The result names a mention (a name, a
pronoun or a role noun such as "his wife") that resolve.py turns into a character, plus
anyone the tag says is spoken to (`said she to Charlotte`), who is then not the speaker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from narration.cast.lexicon import (
    GIVEN_NOT_NAMES,
    NOT_NAMES,
    PERSON_NOUNS,
    SPEECH_PARTICLE,
    SPEECH_VERBS,
    TITLE_ALT,
    TITLES,
)

# "May" and "Will" may be names ("May said"): attribute.py keeps one only if the cast has it.
_NOT_NAME = "|".join(
    sorted((w for w in NOT_NAMES - GIVEN_NOT_NAMES if w.isalpha()), key=len, reverse=True)
)
_CAP_WORD = r"[A-Z][a-z]+(?:-[A-Za-z][a-z]+)*"
_PARTICLE = r"(?:de|De|du|van|von|der|den|le|la|di|da|del|ten|ter)\s+"
_CAP_RUN = rf"{_CAP_WORD}(?:\s+(?:{_PARTICLE}){{0,2}}{_CAP_WORD}){{0,3}}"
_TITLED = rf"(?:(?:the|The)\s+)?(?:(?:{TITLE_ALT})\.?\s+(?:{_PARTICLE}){{0,2}})?"
# A name where a capitalised word may just open the sentence: skip "However", "Then"...
_NAME = rf"{_TITLED}(?!(?:{_NOT_NAME})\b){_CAP_RUN}"
# A name right after a speech verb (`said Five`): any capitalised word but a pronoun.
_NAME_AFTER_VERB = (
    rf"{_TITLED}(?!(?:The|His|Her|My|Their|Our|Its|He|She|It|I|They|We|You)\b){_CAP_RUN}"
)
_PRONOUN = r"(?:he|she|I|it|they|we|He|She|It|They|We)"
_FUNCTION_WORD = r"(?:as|and|or|but|when|while|till|until|whereupon|though|if|because|since)"
_DETERMINER = r"(?:the|his|her|my|their|our|its|this|that|your|a|an|one|The|His|Her|My|Their|One)"
_NOMINAL = rf"{_DETERMINER}(?:\s+(?:(?!{_FUNCTION_WORD}\b)[a-z][a-z-]*|{_CAP_WORD}\.?)){{1,4}}"
# `young Thorley hazarded`, `old Jolyon said`: an epithet before a name is part of it.
_AGED = rf"(?:young|old|little)\s+(?:(?:{TITLE_ALT})\.?\s+)?(?!(?:{_NOT_NAME})\b){_CAP_RUN}"
_MENTION = rf"(?P<mention>{_PRONOUN}\b|{_NOMINAL}|{_AGED}|{_NAME})"
# After a verb a description may run longer: `said the man with the black beard`.
_NOMINAL_LONG = rf"{_DETERMINER}(?:\s+(?:[a-z][a-z-]*|{_CAP_WORD}\.?)){{1,6}}"
_MENTION_AFTER_VERB = rf"(?P<mention>{_PRONOUN}\b|{_NOMINAL_LONG}|{_AGED}|{_NAME_AFTER_VERB})"
_ADVERB = (
    r"(?:[a-z]+ly|then|now|again|at\s+last|at\s+length|once\s+more|presently|too|also|"
    r"still|aloud|soon|however|thus|at\s+once)"
)
_FUNCTION = (
    r"(?:and|or|but|nor|who|whom|whose|which|that|to|in|at|of|with|for|as|on|by|from|the|"
    r"a|an|his|her|its|their|into|upon|after|before|if|when|while|than|so)"
)
_VERB = rf"(?!{_FUNCTION}\b)(?P<verb>[a-z]+)"
_AUX = (
    r"(?:had|has|have|was|were|is|would|could|did|will|should|might|must|began\s+to|"
    r"went\s+on|continued\s+to)"
)
_LEAD = r"^[\s,;:—–\-\"'“”‘’_)]*(?:(?:and|but|then|so|while)\s+)?"
# Whom the tag says is spoken to: `said she to Charlotte`, `said he, turning to Mr.
# Knightley`, `cried Emma, looking at Harriet`, `addressing her sister`.
_TO = re.compile(
    rf"\s*,?\s+(?:(?:(?:[a-z]+ly\s+)?(?:turning|turned|looking|glancing|bowing|nodding|"
    rf"smiling|speaking)\s+)?(?:to|at|towards)|addressing)\s+(?P<to>{_NAME}|{_NOMINAL})"
)

# After a quotation: `said Elizabeth`, `replied his wife`, `returned she`.
_VERB_FIRST = re.compile(
    rf"{_LEAD}(?:{_ADVERB},?\s+)?{_VERB}(?:\s+(?:on|in|out))?\s+(?:{_ADVERB}\s+)?"
    rf"{_MENTION_AFTER_VERB}"
)
_VERB_AT = re.compile(rf"{_VERB}(?:\s+(?:on|in|out))?\s+(?:{_ADVERB}\s+)?{_MENTION_AFTER_VERB}")
_SUBJECT_TAIL = rf"(?:\s*,\s*[^,\"“”]{{1,60}},)?\s+(?:{_ADVERB}\s+){{0,2}}(?:{_AUX}\s+)?{_VERB}"
# After a quotation: `Elizabeth replied`, `she cried`, `the King said`.
_MENTION_FIRST = re.compile(rf"{_LEAD}{_MENTION}{_SUBJECT_TAIL}")
_SUBJECT = re.compile(rf"{_MENTION}{_SUBJECT_TAIL}")
_CLAUSE_START = re.compile(rf"(?:^|(?<=[\s,;(—]))(?={_MENTION})")
# `"...," was Mrs Smith's answer` / `was her reply` / `said by Anne` / `burst from Charles`.
_SPEECH_NOUN = (
    r"(?:answer|reply|remark|rejoinder|inquiry|enquiry|declaration|reasoning|language|"
    r"words?|exclamation|observation|question|response|retort|comment|greeting|"
    r"address|salutation|cry|whisper|speech|answers|replies|remarks|saying|voice)"
)
_POSSESSED = re.compile(
    rf"{_LEAD}(?P<verb>was|were|came)\s+(?:(?P<mention>{_NAME})(?:['’]s?|\s+s)\b|"
    rf"(?P<poss>his|her|my)\s+(?:[a-z]+\s+){{0,2}}{_SPEECH_NOUN}\b)"
)
_POSSESSED_BEFORE = re.compile(
    rf"(?:(?P<mention>{_NAME})(?:['’]s?|\s+s\b)|(?P<poss>\b(?:his|her|my|His|Her|My)))\s+"
    rf"(?:[a-z]+\s+){{0,2}}(?P<verb>{_SPEECH_NOUN}|[a-z]+ing)\b(?:\s+(?:was|were))?[^.!?\"“”]{{0,40}}$"
)
# `"..." exclaimed the voice of old Mr. Emerson`: the owner of the voice speaks.
_VOICE_OF = re.compile(
    rf"{_LEAD}(?:{_ADVERB},?\s+)?(?P<verb>[a-z]+)\s+(?:the|a)\s+(?:[a-z]+\s+){{0,2}}voice\s+of\s+"
    rf"(?P<mention>{_AGED}|{_NAME})"
)
# `"..." It was Poirot who spoke.`
_CLEFT = re.compile(
    rf"{_LEAD}(?:It|it)\s+was\s+(?P<mention>{_NAME}|{_NOMINAL}|{_PRONOUN})\s+who\s+"
    rf"(?:{_ADVERB}\s+)?(?P<verb>[a-z]+)"
)
# `"...," Archer heard Lawrence Lefferts say`: the one heard speaks, not the hearer.
_HEARD = re.compile(
    rf"{_LEAD}(?:{_TITLED}{_CAP_RUN}|he|she|I|they|we)\s+(?:heard|overheard)\s+"
    rf"(?P<mention>{_NAME}|{_NOMINAL})\s+(?P<verb>[a-z]+)"
)
_BY = re.compile(
    rf"\b(?P<verb>said|uttered|spoken|answered|replied|added|asked|observed|whispered|cried|"
    rf"exclaimed|returned|remarked|burst|broke|came|escaped)\s+(?:forth\s+)?(?:by|from)\s+"
    rf"{_MENTION_AFTER_VERB}"
)
# A sentence boundary inside narration (not after Mr. / Mrs.).
_SENTENCE_END = re.compile(r"(?<!\b(?:Mr|Dr|St|Ms))(?<!\bMrs)[.!?]\s+(?=[A-Z\"“‘'])")
_WORD = re.compile(r"[a-z]+")
_NOT_SPEECH_ING = {"smiled", "nodded", "laughed", "sighed", "gasped", "sobbed", "panted"}
_ING = {v[:-2] + "ing" for v in SPEECH_VERBS if v.endswith("ed") and v not in _NOT_SPEECH_ING}
_ING |= {v[:-3] + "ing" for v in SPEECH_VERBS if v.endswith("ied")}
_ING |= {"saying", "crying", "thinking", "beginning", "calling", "telling", "speaking"}


@dataclass(frozen=True)
class Tag:
    """A mention that names the speaker. `kind`: name / pronoun / nominal."""

    kind: str
    mention: str  # the mention as written, whitespace collapsed
    start: int  # offset of the mention in the full text
    verb: str
    speech_verb: bool  # False for a plain subject (`Elizabeth smiled. "..."`)
    addressee: str | None = None  # `said she to Charlotte` -> "Charlotte"
    described: bool = False  # `said a lady in the group`: a new minor speaker, described


def is_speech_verb(verb: str, following: str = "") -> bool:
    """True for said/replied/... and their -ing forms; "went" only in "went on"."""
    if verb in _ING:
        return True
    if verb not in SPEECH_VERBS and verb not in SPEECH_PARTICLE:
        return False  # ("put" and "broke" speak only with their particle: "put in")
    particle = SPEECH_PARTICLE.get(verb)
    if verb == "broke":
        return re.match(r"(?:in|off|out)\b", following.lstrip()) is not None
    if verb in ("went", "put") and particle:
        return following.lstrip().startswith(particle)
    return True


_POSTMODIFIER = re.compile(r"(?:with|in|from|at|of)\s+(?:the|a|an|his|her)\b")
# `said the old man in a whisper`, `the other with a hopeless calm`: how, not who.
_MANNER = re.compile(
    r"(?:in\s+(?:a|an|his|her|their)\b|with\s+(?:a|an|his|her)\s+(?:[a-z-]+\s+){0,2}"
    r"(?:smile|grin|bow|glance|look|nod|laugh|sigh|groan|sob|shrug|sneer|frown|gesture|air|"
    r"burst|shake|wave|start|calm|simplicity|emphasis|effort|cough|chuckle|touch)\b)"
)


def _description(words: list[str]) -> str | None:
    """A speaker described, not referred back to: `cried a looker-on`, `said a lady in the
    group`, `said the man with the black beard`. "A" brings in someone new; "the" with a
    phrase that tells him apart (with the beard, in the white waistcoat) names one person.
    Both become a minor speaker of their own rather than a guess at a known character."""
    for i, word in enumerate(words[1:], start=1):
        bare = word.strip(",.;:!?")
        if not re.fullmatch(r"[a-z][a-z-]*", bare) or re.fullmatch(_FUNCTION, bare):
            head = words[:i]
            rest = " ".join(words[i:])
            if words[0] in ("a", "an") and len(head) >= 2:
                post = _POSTMODIFIER.match(rest)
                return " ".join(words) if post else " ".join(head)
            if words[0] == "the" and len(head) >= 2 and _POSTMODIFIER.match(rest):
                if _MANNER.match(rest):
                    return None
                return " ".join(w.strip(",.;:!?") for w in words)
            return None
        if bare.endswith("ly") and i > 1:
            return " ".join(words[:i]) if words[0] in ("a", "an") else None
    return " ".join(words) if words[0] in ("a", "an") and len(words) >= 2 else None


def _shape(raw: str, after_verb: bool = False) -> tuple[str, str] | None:
    """(kind, mention) for a raw match: `his wife impatiently` -> nominal `his wife`,
    `the Mock Turtle in` -> name `the Mock Turtle`; None when no person is named. Right
    after a speech verb, "the" and one noun name a minor speaker (`said the cook.`)."""
    raw = re.sub(r"\s+", " ", raw).strip()
    words = raw.split()
    if re.fullmatch(_PRONOUN, raw):
        return "pronoun", raw
    if not re.fullmatch(_DETERMINER, words[0]):
        return "name", raw
    if after_verb and words[0].lower() in ("a", "an", "the"):
        described = _description(words)
        if described:
            return "name", described
    for i, word in enumerate(words[1:], start=1):
        if re.fullmatch(_FUNCTION, word):
            return None  # `her good morning with Gallic politeness`: not a person
        if word[:1].isupper():
            j = i
            while j + 1 < len(words) and words[j + 1][:1].isupper():
                j += 1
            if i > 1 and word.rstrip(".") in TITLES and j > i:
                return "name", " ".join(words[i : j + 1]).rstrip(".")  # `the gentle Mrs. Thorpe`
            return "name", " ".join(words[: j + 1]).rstrip(".")
        if word.lower() in PERSON_NOUNS:
            return "nominal", " ".join(words[: i + 1])
    if after_verb and words[0].lower() == "the" and len(words) >= 2:
        # `said the cook`, `asked the first cabman`: up to two modifiers and a noun, which
        # ends the phrase (the text goes on with a function word, an adverb, or stops).
        for n in (1, 2, 3):
            rest = words[n + 1 :]
            if n + 1 > len(words) or (rest and not re.fullmatch(rf"{_FUNCTION}|[a-z]+ly", rest[0])):
                continue
            phrase = [w.strip(",.;:!?") for w in words[1 : n + 1]]
            if all(w.isalpha() and not re.fullmatch(_FUNCTION, w) for w in phrase):
                return "name", "the " + " ".join(phrase)
    return None


_OWNED = re.compile(r"(?:['’]s|\s+s)\s+(?P<noun>[a-z]+)\b")


def _make(
    m: re.Match[str], offset: int, speech: bool, tail: str = "", after_verb: bool = False
) -> Tag | None:
    shaped = _shape(m["mention"], after_verb)
    if shaped is None:
        return None
    kind, mention = shaped
    owned = _OWNED.match(tail) if after_verb and kind == "name" else None
    if owned and owned["noun"] in PERSON_NOUNS:
        # `answered Daisy's mamma`: not Daisy but someone of hers (resolve.py)
        kind, mention = "nominal", f"{mention}'s {owned['noun']}"
    to = _TO.match(tail)
    addressee = _shape(to["to"]) if to else None
    words = mention.split()
    described = after_verb and words[0] in ("a", "an", "the") and _description(words) == mention
    return Tag(
        kind,
        mention,
        offset + m.start("mention"),
        m["verb"],
        speech,
        addressee[1] if addressee else None,
        described,
    )


def _possessive(m: re.Match[str] | None, offset: int) -> Tag | None:
    """A tag from `Anne's answer` or `her reply`: the possessor speaks."""
    if m is None:
        return None
    if m["verb"].endswith("ing") and not is_speech_verb(m["verb"]):
        return None
    if m["mention"]:
        shaped = _shape(m["mention"])
        if shaped is None:
            return None
        return Tag(shaped[0], shaped[1], offset + m.start("mention"), m["verb"], True)
    pronoun = {"his": "he", "her": "she", "my": "I"}[m["poss"].lower()]
    return Tag("pronoun", pronoun, offset + m.start("poss"), m["verb"], True)


def tag_after(text: str, start: int, end: int) -> Tag | None:
    """The speech tag at the start of narration text[start:end] (which follows a quote)."""
    segment = text[start:end]
    sentence = _SENTENCE_END.search(segment)
    if sentence:
        segment = segment[: sentence.start() + 1]
    possessed = _possessive(_POSSESSED.match(segment), start)
    if possessed:
        return possessed
    voice = _VOICE_OF.match(segment)
    if voice and is_speech_verb(voice["verb"], segment[voice.end("verb") :]):
        tag = _make(voice, start, True, segment[voice.end() :])
        if tag:
            return tag
    cleft = _CLEFT.match(segment)
    if cleft and is_speech_verb(cleft["verb"], segment[cleft.end("verb") :]):
        tag = _make(cleft, start, True, segment[cleft.end() :])
        if tag:
            return tag
    heard = _HEARD.match(segment)
    if heard and is_speech_verb(heard["verb"]):
        tag = _make(heard, start, True, segment[heard.end() :])
        if tag:
            return tag
    by = _BY.search(segment)
    if by and by.start() < 80:
        tag = _make(by, start, True)
        if tag:
            return tag
    best: Tag | None = None
    for pattern in (_VERB_FIRST, _MENTION_FIRST):
        m = pattern.match(segment)
        if not m or not is_speech_verb(m["verb"], segment[m.end("verb") :]):
            continue
        tail = segment[m.end() :] if pattern is _MENTION_FIRST else segment[m.end("mention") :]
        tag = _make(m, start, True, tail, after_verb=pattern is _VERB_FIRST)
        if tag and (best is None or tag.start < best.start):
            best = tag
    return best or _subject_then_verb(segment, start)


_HEDGE = re.compile(rf"(?:\s+(?:{_ADVERB}|{_AUX}|once|used\s+to|had|would))+$")


def _subject_then_verb(segment: str, offset: int) -> Tag | None:
    """`the Gryphon interrupted in a decided tone`, `Winsett had once said`: the first
    speech verb of the sentence, with a whole mention before it. (The patterns above read
    a greedy mention that swallows the verb, or stop at an adverb after the auxiliary.)"""
    lead = re.match(_LEAD, segment)
    begin = lead.end() if lead else 0
    for w in _WORD.finditer(segment, begin, min(len(segment), begin + 80)):
        if not is_speech_verb(w.group(), segment[w.end() :]):
            continue
        raw = segment[begin : w.start()].rstrip(" ,")
        raw = _HEDGE.sub("", " " + raw).strip()
        if not raw or not re.fullmatch(_MENTION, raw):
            return None
        shaped = _shape(raw)
        if shaped is None:
            return None
        tail = segment[w.end() :]
        to = _TO.match(tail)
        addressee = _shape(to["to"]) if to else None
        return Tag(
            shaped[0],
            shaped[1],
            offset + begin,
            w.group(),
            True,
            addressee[1] if addressee else None,
        )
    return None


def _last_sentence(text: str, start: int, end: int) -> tuple[str, int]:
    segment = text[start:end]
    cut = 0
    for m in _SENTENCE_END.finditer(segment.rstrip()):
        cut = m.end()
    return segment[cut:], start + cut


def _first_sentence(text: str, start: int, end: int) -> tuple[str, int]:
    segment = text[start:end]
    lead = len(segment) - len(segment.lstrip(" \t\n,;:—–-\"'“”‘’_)"))
    m = _SENTENCE_END.search(segment, lead)
    return segment[lead : m.start() + 1 if m else len(segment)], start + lead


def _subjects(sentence: str) -> list[re.Match[str]]:
    found: list[re.Match[str]] = []
    for m in _CLAUSE_START.finditer(sentence):
        if found and m.start() < found[-1].end("mention"):
            continue
        sub = _SUBJECT.match(sentence, m.start())
        if sub:
            found.append(sub)
    return found


def tag_before(text: str, start: int, end: int) -> Tag | None:
    """A speech tag in the last sentence of narration text[start:end] (before a quote):
    the last speech verb there, with the nearest subject before it (`Alice heard the
    Rabbit say,` -> the Rabbit) or the mention right after it (`then said Jane,`)."""
    sentence, offset = _last_sentence(text, start, end)
    possessed = _possessive(_POSSESSED_BEFORE.search(sentence), offset)
    if possessed:
        return possessed
    verbs = [
        w
        for w in re.finditer(r"[a-z]+", sentence)
        if is_speech_verb(w.group(), sentence[w.end() :])
    ]
    if not verbs:
        return None
    verb = verbs[-1]
    found = _subjects(sentence)
    subjects = [s for s in found if s.end("mention") <= verb.start()]
    relative = _relative_subject(sentence, offset, verb)
    swallowed = next(
        (s for s in found if s.start("mention") < verb.start() < s.end("mention")), None
    )
    if swallowed is not None and (not subjects or subjects[-1].start() < swallowed.start()):
        # `the Dodo suddenly called out`: a greedy mention swallowed the verb
        tag = _subject_then_verb(
            sentence[swallowed.start("mention") :], offset + swallowed.start("mention")
        )
        if tag:
            return tag
    for sub in reversed(subjects):
        if relative and relative.start > offset + sub.start("mention"):
            return relative  # `seized by her faithful Isabella, who ... exclaimed,`
        if relative and relative.start < offset + sub.start("mention"):
            continue  # `the Mouse, who seemed to be a person of authority, called out`
        tag = _make(sub, offset, True, sentence[sub.end() :])
        if tag:
            return tag
    after = _VERB_AT.match(sentence, verb.start())
    if after:
        return _make(after, offset, True, sentence[after.end("mention") :])
    return relative


_WHO = re.compile(rf"(?P<mention>{_NAME})\s*,\s*who\b")


def _relative_subject(sentence: str, offset: int, verb: re.Match[str]) -> Tag | None:
    """`met by Mr. Allen, who, on hearing the reason of their return, said,`: the name a
    relative clause hangs on speaks, when the verb ends the sentence."""
    if len(sentence) - verb.end() > 40:
        return None
    found = [m for m in _WHO.finditer(sentence, 0, verb.start())]
    if not found:
        return None
    shaped = _shape(found[-1]["mention"])
    if shaped is None or shaped[0] != "name":
        return None
    return Tag("name", shaped[1], offset + found[-1].start("mention"), verb.group(), True)


def subject_of(text: str, start: int, end: int, last: bool) -> Tag | None:
    """The subject (first mention followed by a verb) of the first or last sentence of
    narration text[start:end]: `Elizabeth smiled.` -> Elizabeth. Not a speech tag."""
    sentence, offset = (_last_sentence if last else _first_sentence)(text, start, end)
    for sub in _subjects(sentence):
        tag = _make(sub, offset, False, sentence[sub.end() :])
        if tag:
            return tag
    return None
