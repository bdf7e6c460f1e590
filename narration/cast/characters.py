"""Discover the cast of a text: who is named, by which names, and with which gender.

Rules, all read from the text itself (nothing is tuned to a particular book):
- A name is a run of capitalised words, maybe titled (Mr., Lady, Colonel) or led by
  "the" (the Hatter). Untitled words count only if they also appear mid-sentence and are
  rarely written in lower case (so "However" drops out, and "May" but for the rule below).
- Places drop out: names mostly after at/in/to/from, never titled, never in a speech tag.
- Aliases merge only where the text links them: "Miss Elizabeth Bennet" links "Elizabeth",
  "Miss Elizabeth" and "Elizabeth Bennet"; a bare surname joins the one man titled with it
  ("Darcy" -> "Mr. Darcy"); a "Mr."/"Sir" full name joins its short form ("Sir William Lucas"
  -> "Sir William"); "the White Rabbit" joins "the Rabbit"; a short first name that begins
  a longer one of the same person joins it ("Eliza" -> "Elizabeth"). "Miss Bennet" never
  joins "Miss Elizabeth Bennet": by convention it names the eldest sister; but "Miss
  Welland" joins "May Welland" when she is the one unmarried woman of that surname.
  "old Mr. Emerson" says two men share a surname: no full name absorbs the bare "Mr.".
- A given name that is also a common word ("May", "Will") is a name where the text shows
  it: in a full name ("May Welland") and beside speech verbs ("May said").
- Gender comes from titles (strong), from the pronoun that follows a name used as a
  sentence subject (weak, by majority), else from given names and professional titles
  (given_names.py).
- A first-person narrator (frequent I/me/my outside quotations) is a character named
  NARRATOR ("Narrator"), with alias "I" and the name others call them by when the
  dialogue shows it ("Hastings"; see narrator.py).
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from narration.cast.given_names import MALE_NAMES, forms_gender
from narration.cast.lexicon import GIVEN_NOT_NAMES, NOT_NAMES, SPEECH_VERBS, TITLES, words
from narration.cast.names import NameMention, name_key, scan_names
from narration.cast.narrator import first_person_rate, narrator_name_key
from narration.cast.quotes import Quotation, find_quotations

NARRATOR = "Narrator"
_SHORT_TEXT = 20_000  # characters
_MALE_TITLES = {t for t, g in TITLES.items() if g == "M"}
# Titles of rank or foreign address a lady keeps whatever her family (not Mrs./Miss).
_RANK_TITLES = words("Madame Mme Countess Duchess Baroness Princess Marchioness Lady")
# Professional titles a bare surname also goes by ("Ratcliffe" ~ "Inspector Ratcliffe"); in
# the novels they are men's as often as not, and never a wife's or a daughter's form.
_SURNAME_TITLES = _MALE_TITLES | words("Dr Doctor Professor Prof Inspector Judge Rev Reverend")
# Titles written before a first name rather than a surname (Lady Catherine, Sir William).
_FIRST_NAME_TITLES = words(
    "Sir Dame Aunt Uncle Cousin Prince Princess King Queen Don Brother Sister Father Mother "
    "Master Saint"
)
_PRONOUN_AFTER = re.compile(r"\b(he|she|himself|herself)\b|[.!?;\"“”]", re.IGNORECASE)
_REFLEXIVE = re.compile(r"\b(himself|herself)\b|[.!?;\"“”]", re.IGNORECASE)


@dataclass
class Character:
    """A speaker or named person. `aliases` are the other names (not `name`) it goes by."""

    name: str
    aliases: list[str] = field(default_factory=list)
    gender: str = "U"  # M / F / U
    mentions: int = 0
    lines: int = 0  # quotations attributed to it (filled by narration.cast.attribute)

    @property
    def all_names(self) -> list[str]:
        return [self.name, *self.aliases]


@dataclass
class _Cluster:
    forms: Counter[str] = field(default_factory=Counter)
    keys: set[str] = field(default_factory=set)
    title_votes: Counter[str] = field(default_factory=Counter)
    pronoun_votes: Counter[str] = field(default_factory=Counter)
    speech_tags: int = 0

    def add(self, mention: NameMention) -> None:
        self.forms[mention.form] += 1
        self.keys.add(mention.key)


def _lowercase_counts(text: str) -> Counter[str]:
    return Counter(re.findall(r"\b[a-z][a-z'-]*\b", text))


def _is_plural_family(words: tuple[str, ...], singulars: set[str]) -> bool:
    last = words[-1]
    return (last.endswith("es") and last[:-2] in singulars) or (
        last.endswith("s") and last[:-1] in singulars
    )


def _accepted(mentions: list[NameMention], text: str) -> list[NameMention]:
    """Keep mentions whose form is a plausible name (see the module docstring)."""
    lower = _lowercase_counts(text)
    # In a short text (a chapter, a test) one mid-sentence use is enough to be a name.
    min_count = 1 if len(text) < _SHORT_TEXT else 2
    by_key: dict[str, list[NameMention]] = defaultdict(list)
    for m in mentions:
        by_key[m.key].append(m)
    singulars = {m.words[-1] for m in mentions if m.title}
    keep_keys: set[str] = set()
    given_words: list[str] = []
    for key, group in by_key.items():
        sample = group[0]
        if _is_plural_family(sample.words, singulars):
            continue
        if sample.title or (sample.words[0] in TITLES and any(m.the for m in group)):
            keep_keys.add(key)
            continue
        if sample.words[0] in GIVEN_NOT_NAMES:
            given_words.append(key)
            continue
        if any(w in NOT_NAMES for w in sample.words):
            continue
        if len(sample.words) == 1 and sample.words[0] in TITLES:
            continue  # "Madame", "Colonel" alone: a form of address, not a name
        mid = sum(1 for m in group if not m.initial)
        lowered = max(lower[w.lower()] for w in sample.words)
        if (mid >= 1 or len(group) >= 2) and len(group) >= min_count and lowered * 2 < len(group):
            places = sum(1 for m in group if m.place)
            if places >= 2 and places * 5 > len(group) * 2:
                continue  # "at Longbourn", "to London": a place, not a person
            keep_keys.add(key)
    keep_keys |= _given_not_names(given_words, by_key, keep_keys, lower, text)
    # A full name seen once ("sat Harvey Stone") still names someone already accepted.
    accepted_words = {by_key[k][0].words[0] for k in keep_keys if len(by_key[k][0].words) == 1}
    for key, group in by_key.items():
        sample = group[0]
        if key in keep_keys or len(sample.words) < 2 or sample.the:
            continue
        if any(w in NOT_NAMES for w in sample.words) or sample.words[0] not in accepted_words:
            continue
        if lower[sample.words[-1].lower()] == 0 and not group[0].initial:
            keep_keys.add(key)
    return [m for m in mentions if m.key in keep_keys]


_SPEECH_AFTER = re.compile(r"\s+(?:[a-z]+ly\s+)?([a-z]+)")
_SPEECH_BEFORE = re.compile(r"\b([a-z]+)\s+$")


def _given_not_names(
    keys: list[str],
    by_key: dict[str, list[NameMention]],
    accepted: set[str],
    lower: Counter[str],
    text: str,
) -> set[str]:
    """Forms led by a word that is also a common word ("May", "Will") that the text shows
    to be a given name: a full name whose surname is a known name and never lower case
    ("May Welland", twice or more), then the bare word when it is the given name of such a
    full name and stands beside a speech verb at least twice ("May said", "said May")."""
    surnames = {by_key[k][0].words[-1] for k in accepted}
    found: set[str] = set()
    for key in keys:
        group = by_key[key]
        words = group[0].words
        if len(words) < 2 or any(w in NOT_NAMES for w in words[1:]):
            continue
        if words[-1] in surnames and lower[words[-1].lower()] == 0 and len(group) >= 2:
            found.add(key)
    given = {by_key[k][0].words[0] for k in found}
    for key in keys:
        group = by_key[key]
        if len(group[0].words) != 1 or group[0].words[0] not in given:
            continue
        spoken = 0
        for m in group:
            after = _SPEECH_AFTER.match(text, m.end)
            before = _SPEECH_BEFORE.search(text, max(0, m.start - 20), m.start)
            spoken += bool(after and after.group(1) in SPEECH_VERBS and not m.in_quote)
            spoken += bool(before and before.group(1) in SPEECH_VERBS and not m.in_quote)
        if spoken >= 2:
            found.add(key)
    return found


_TWO_OF = re.compile(r"\b(?:old|elder|young|younger)\s+Mr\.?\s+([A-Z][a-z]+)\b")


def two_men_of(text: str) -> set[str]:
    """Surnames two men share, as the text says ("old Mr. Emerson" and "young Mr. Emerson",
    or "old Mr. Emerson" beside a "George Emerson"): their full names do not join the bare
    "Mr. Emerson", who may be either."""
    return {m.group(1) for m in _TWO_OF.finditer(text)}


def _cluster(mentions: list[NameMention], shared: set[str] = frozenset()) -> dict[str, int]:
    """Map each form key to a cluster id, merging aliases the text links (never a full
    name into the "Mr." of a surname in `shared`)."""
    info: dict[str, NameMention] = {}
    counts: Counter[str] = Counter()
    for m in mentions:
        info.setdefault(m.key, m)
        counts[m.key] += 1
    parent = {k: k for k in info}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            # The more frequent root stays root, so its cluster keeps its identity.
            if counts[ra] < counts[rb]:
                ra, rb = rb, ra
            parent[rb] = ra

    def key_of(*words: str) -> str:
        return name_key(" ".join(words))

    full = [k for k, m in info.items() if len(m.words) >= 2]
    given_by: dict[tuple[str | None, str], set[str]] = defaultdict(set)
    for k in full:
        given_by[(info[k].title, info[k].words[-1])].add(info[k].words[0])
    # A titled full name links to its untitled form and, for titles other than Miss, to
    # "Title First" and "Title Last" (Sir William Lucas ~ Sir William, Mr. F. Darcy ~ Mr. Darcy).
    for k in full:
        m = info[k]
        if m.title == "Mrs":
            continue  # "Mrs. John Archer" is John Archer's wife, maybe one of several
        bare = key_of(*m.words)
        if m.title and bare in info:
            union(k, bare)
        if m.title and m.title != "Miss":
            short = key_of(m.title, m.words[0])
            if short in info and short != k:
                union(k, short)
            # "Mr. Edward Ferrars" is "Mr. Ferrars" only if no other Mr. ... Ferrars exists.
            short = key_of(m.title, m.words[-1])
            if (
                short in info
                and short != k
                and len(given_by[(m.title, m.words[-1])]) == 1
                and m.words[-1] not in shared
            ):
                union(k, short)
        if m.title == "Miss":
            first = key_of("Miss", m.words[0])
            if first in info:
                union(k, first)
    # "the White Rabbit" ~ "the Rabbit" when that is the only "the ... Rabbit".
    with_the = {m.key for m in mentions if m.the}
    the_forms = [k for k, m in info.items() if k in with_the and not m.title]
    untitled_given = {m.words[0] for m in info.values() if len(m.words) >= 2 and not m.the}
    for k in the_forms:
        m = info[k]
        # "the Ellen Mingott" is Ellen, not "Mingott": a word used as a given name elsewhere
        # is not an epithet like "White".
        if len(m.words) >= 2 and m.words[0] not in untitled_given:
            short = key_of(m.words[-1])
            if short in info:
                union(k, short)
    # Single untitled words: a first name, else a surname.
    singles = [k for k, m in info.items() if len(m.words) == 1 and not m.title and not m.the]
    firsts: dict[str, list[str]] = defaultdict(list)
    surnames: dict[str, list[str]] = defaultdict(list)
    given = {m.words[0] for m in info.values() if len(m.words) >= 2 and not m.the}
    family = {m.words[-1] for m in info.values() if len(m.words) >= 2 and not m.the}
    for k, m in info.items():
        if m.the:
            continue
        if len(m.words) >= 2:
            firsts[m.words[0]].append(k)
        elif not m.title:
            continue
        elif m.title in _FIRST_NAME_TITLES or (
            m.title in ("Miss", "Mr", "Master") and m.words[0] in given and m.words[0] not in family
        ):
            firsts[m.words[0]].append(k)  # Lady Catherine, Sir William, Miss Elizabeth
        else:
            surnames[m.words[0]].append(k)  # Mr. Darcy, Miss Bingley
    for k in singles:
        word = info[k].words[0]
        titled = surnames.get(word, [])
        # Whose first name it is: the full names' owners ("Charlotte Bartlett"); a form of
        # address ("Cousin Charlotte") only when no full name has the word.
        forms = firsts.get(word, [])
        forms = [o for o in forms if len(info[o].words) >= 2] or forms
        owners = sorted({find(o) for o in forms}, key=lambda r: -counts[r])
        if titled and owners:
            # A first name here, a surname there (Fitzwilliam): only when the first-name
            # use clearly dominates ("Newland Archer" 49, "Mrs. Newland" 2) is it the person.
            surname_uses = sum(counts[o] for o in titled)
            runner_up = counts[owners[1]] if len(owners) > 1 else 0
            if counts[owners[0]] >= max(5 * surname_uses, 3 * runner_up):
                union(k, owners[0])
            continue
        if len(owners) == 1 or (owners and counts[owners[0]] >= 3 * counts[owners[1]]):
            union(k, owners[0])
            continue
        men = [o for o in titled if info[o].title in _SURNAME_TITLES]
        if men:
            # The bare surname is the man's; his titles are one man (Mr. ~ Monsieur Poirot).
            for o in men:
                union(k, o)
            continue
        roots = {find(o) for o in titled}
        if len(roots) == 1:
            union(k, roots.pop())
    # A lady of rank by surname is the one woman with that surname in full (Madame Olenska,
    # the Countess Olenska ~ Ellen Olenska); with two such women it could be either.
    for k, m in info.items():
        if m.title not in _RANK_TITLES or len(m.words) != 1:
            continue
        full_roots = {
            find(o)
            for o, n in info.items()
            if len(n.words) >= 2
            and not n.title
            and not n.the
            and n.words[-1] == m.words[0]
            and n.words[0] not in MALE_NAMES
        }
        if len(full_roots) == 1:
            union(k, full_roots.pop())
    # "Miss Welland" is the unmarried woman with that surname in full ("May Welland"): the
    # only one, or, beside a "Mrs. Welland", the much more named of two (the other is the
    # mother, "Augusta Welland"). Three or more sisters ("Miss Bennet"): no telling.
    size: Counter[str] = Counter()
    for o in info:
        size[find(o)] += counts[o]
    for k, m in info.items():
        if m.title != "Miss" or len(m.words) != 1:
            continue
        full_roots = {
            find(o)
            for o, n in info.items()
            if len(n.words) >= 2
            and n.title in (None, "Miss")
            and not n.the
            and n.words[-1] == m.words[0]
            and n.words[0] not in MALE_NAMES
        } - {find(k)}
        ranked = sorted(full_roots, key=lambda r: -size[r])
        if len(ranked) == 1 or (
            len(ranked) == 2
            and key_of("Mrs", m.words[0]) in info
            and size[ranked[0]] >= 3 * size[ranked[1]]
        ):
            union(k, ranked[0])
    # A short first name that begins a longer one of a clustered person (Eliza ~ Elizabeth).
    for k in singles:
        word = info[k].words[0]
        if find(k) != k or len(word) < 4:
            continue
        longer = [o for o in singles if o != k and info[o].words[0].startswith(word)]
        if len(longer) == 1 and counts[find(longer[0])] >= 3 * counts[k]:
            union(k, longer[0])
    return {k: find(k) for k in info}


def _gender_votes(
    text: str, mentions: list[NameMention], cluster_of: dict[str, str]
) -> dict[str, Counter[str]]:
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    starts = sorted(m.start for m in mentions)
    for m in mentions:
        root = cluster_of[m.key]
        if m.title:
            votes[root]["T" + TITLES.get(m.title, "U")] += 1
        elif m.the and m.words[0] in TITLES and len(m.words) == 1:
            votes[root]["T" + TITLES[m.words[0]]] += 1
        if m.in_quote:
            continue
        hit = _PRONOUN_AFTER.search(text, m.end, min(len(text), m.end + 120))
        if hit and hit.group(1) and not _name_between(starts, m.end, hit.start()):
            word = hit.group(1).lower()
            if not word.endswith("self"):
                votes[root]["F" if word == "she" else "M"] += 1
        reflexive = _REFLEXIVE.search(text, m.end, min(len(text), m.end + 60))
        if reflexive and reflexive.group(1) and not _name_between(starts, m.end, reflexive.start()):
            votes[root]["R" + ("F" if reflexive.group(1).lower() == "herself" else "M")] += 1
    return votes


def _name_between(starts: list[int], lo: int, hi: int) -> bool:
    k = bisect.bisect_left(starts, lo)
    return k < len(starts) and starts[k] < hi


def _decide_gender(votes: Counter[str], total_f: int, total: int) -> str:
    """Gender from titles if any, else from the pronouns after the name used as a subject.

    Pronoun votes are compared with the pronoun mix of everyone else: in a book about a
    girl, "she" follows every name, so only a clear departure from that mix counts.
    """
    if votes["TM"] != votes["TF"]:
        return "M" if votes["TM"] > votes["TF"] else "F"
    rf, rm = votes["RF"], votes["RM"]
    if rf >= 2 and rf >= 3 * rm:
        return "F"
    if rm >= 2 and rm >= 3 * rf:
        return "M"
    f, m = votes["F"], votes["M"]
    n = f + m
    if n < 2:
        return "U"
    share = f / n
    others = total - n
    base = (total_f - f) / others if others >= 10 else 0.5
    z = (share - base) / max(0.05, (base * (1 - base) / n) ** 0.5)
    if z >= 1.5 or (share >= 0.75 and base < 0.6):
        return "F"
    if z <= -1.5 or (share <= 0.25 and base > 0.4):
        return "M"
    return "U"


def _main_name(forms: Counter[str]) -> str:
    """The most used form, or its titled version when that is used at least a third as
    often ("Mr. Darcy" over "Darcy", but "Elizabeth" over a rare "Miss Elizabeth")."""
    top, n = forms.most_common(1)[0]
    titled = [
        (count, -len(form), form)
        for form, count in forms.items()
        if form.split()[0].rstrip(".") in TITLES
        and form.split(None, 1)[-1] == top
        and count * 3 >= n
    ]
    return max(titled)[2] if titled else top


def _join_full_names(
    mentions: list[NameMention],
    cluster_of: dict[str, str],
    clusters: dict[str, _Cluster],
    genders: dict[str, str],
    shared: set[str] = frozenset(),
) -> None:
    """Join an untitled "First Last" known to be a man to the man the bare "Last" names
    ("George Wickham" -> Wickham / Mr. Wickham), so a man called by surname in the
    narration and by full name elsewhere is one character. Wives and daughters share the
    surname, so an untitled full name of unknown gender stays apart."""
    titled_by_root: dict[str, set[str]] = defaultdict(set)
    for m in mentions:
        if m.title:
            titled_by_root[cluster_of[m.key]].add(m.title)
    full = {m.key: m for m in mentions if len(m.words) >= 2 and not m.title and not m.the}
    for key, m in full.items():
        if m.words[-1] in shared:
            continue  # two men of that name ("old Mr. Emerson"): which one is unknown
        source = cluster_of[key]
        target = cluster_of.get(name_key(m.words[-1]))
        if target is None or target == source or source not in clusters:
            continue
        if genders.get(source) != "M" or genders.get(target) == "F":
            continue
        if titled_by_root[target] - _MALE_TITLES or titled_by_root[source] - _MALE_TITLES:
            continue  # "Lady Lucas" or "Miss Lucas": not the same person as "Maria Lucas"
        if target not in clusters:
            continue
        clusters[target].forms.update(clusters[source].forms)
        clusters[target].keys |= clusters[source].keys
        for k, root in cluster_of.items():
            if root == source:
                cluster_of[k] = target
        if genders.get(target) == "U":
            genders[target] = genders.get(source, "U")
        del clusters[source]


def discover_characters(text: str, quotations: list[Quotation] | None = None) -> list[Character]:
    """The named cast of `text`, most mentioned first (see the module docstring)."""
    if quotations is None:
        quotations = find_quotations(text)
    spans = [p for q in quotations for p in q.pieces]
    mentions = _accepted(scan_names(text, spans), text)
    shared = two_men_of(text)
    cluster_of = _cluster(mentions, shared)
    votes = _gender_votes(text, mentions, cluster_of)
    clusters: dict[str, _Cluster] = defaultdict(_Cluster)
    for m in mentions:
        clusters[cluster_of[m.key]].add(m)
    total_f = sum(v["F"] for v in votes.values())
    total = total_f + sum(v["M"] for v in votes.values())
    genders = {root: _decide_gender(votes[root], total_f, total) for root in clusters}
    _join_full_names(mentions, cluster_of, clusters, genders, shared)
    for root, cluster in clusters.items():
        if genders[root] == "U":
            genders[root] = forms_gender(cluster.forms)
    narrator_root = None
    if first_person_rate(text, quotations) >= 8.0:
        key = narrator_name_key(text, quotations, mentions)
        narrator_root = cluster_of.get(key) if key else None
    characters: list[Character] = []
    for root, cluster in clusters.items():
        if root == narrator_root:
            continue
        name = _main_name(cluster.forms)
        aliases = [f for f, _ in cluster.forms.most_common() if f != name]
        mentioned = sum(cluster.forms.values())
        characters.append(Character(name, aliases, genders[root], mentioned))
    if first_person_rate(text, quotations) >= 8.0:
        # The narrator, with the names others call them by when the text tells.
        known = clusters.get(narrator_root) if narrator_root else None
        names = [f for f, _ in known.forms.most_common()] if known else []
        gender = genders.get(narrator_root, "U") if narrator_root else "U"
        mentioned = sum(known.forms.values()) if known else 0
        characters.append(Character(NARRATOR, ["I", *names], gender, mentioned))
    characters.sort(key=lambda c: -c.mentions)
    return characters
