"""Word lists the cast finder and the attributor share: titles, speech verbs, person nouns.

These are general English, not tuned to any book: a title's gender (Mrs. is female), the
verbs that introduce speech (said, replied, cried...), and the nouns that name a person
by role (his wife, the old gentleman) together with the gender the noun implies.
"""

from __future__ import annotations


def words(text: str) -> frozenset[str]:
    """A word list written as whitespace-separated text."""
    return frozenset(text.split())


def _gendered(text: str) -> dict[str, str]:
    """`M: a b  F: c d  U: e` -> {"a": "M", "b": "M", "c": "F", ...}."""
    table: dict[str, str] = {}
    gender = "U"
    for token in text.split():
        if token in ("M:", "F:", "U:"):
            gender = token[0]
        else:
            table[token] = gender
    return table


# Title -> gender ("U" when the title does not say). Matched with or without a period.
TITLES: dict[str, str] = _gendered(
    """
    M:
    Mr Mister Master Sir Lord Colonel Captain Major General Lieutenant Sergeant Admiral Father
    Brother Uncle King Prince Duke Count Baron Earl Squire Monsieur Herr Signor Señor Don Col
    Capt Gen Lt Sgt Maj Messrs M
    F:
    Mrs Miss Ms Lady Madam Madame Mme Mlle Mademoiselle Dame Mistress Sister Aunt Queen Princess
    Duchess Countess Baroness Frau Fräulein Signora Señora Mother
    U:
    Dr Doctor Professor Prof Rev Reverend Inspector Judge Nurse Cousin Dean Mx
    """
)
# "M." (Monsieur) only with its period: a bare capital M is an initial or a letter.
TITLE_ALT = "|".join(
    t + r"(?=\.)" if len(t) == 1 else t for t in sorted(TITLES, key=len, reverse=True)
)

# Verbs that introduce or close a quotation. Past tense and present forms.
SPEECH_VERBS = words(
    """
    added adds admitted agreed answer answered answers argued ask asked asks assented bawled
    began begins breathed called calls cautioned chuckled commented concluded confessed confided
    continued continues corrected counselled cried cries croaked cry crying declared declares
    demanded demands drawled echoed echoes enquired enquires entreated exclaimed exclaims
    explained explains faltered gasped giggled groaned growled grumbled grunted hinted hissed
    implored inquired inquires insisted insists interposed interrupted interrupts joked lamented
    laughed moaned mocked mumbled murmured murmurs mused muttered mutters nodded noted objected
    observed observes offered ordered panted persisted pleaded pleads prayed proceeded promised
    protested pursued queried quoted raved read reasoned recalled recited reflected rejoined
    rejoins remarked remarks remembered reminded remonstrated repeated repeats replied replies
    reply replying reported reproached responded responds resumed resumes retorted retorts
    returned returns roared said sang say saying says screamed screams shouted shouts shrieked
    sighed sings smiled snapped sneered sniffed sniggered sobbed soothed speaks spoke squeaked
    stammered stated stuttered suggested suggests swore teased tells thinks thought thundered
    told urged urges uttered ventured vowed wailed warned went whimpered whispered whispers
    wondered writes wrote yelled
    acknowledged affirmed announced apologised apologized asserted bellowed boasted commanded
    complained conceded ejaculated hazarded interjected proclaimed proposed reiterated snorted
    volunteered
    admonished advised assured barked blurted blustered cackled chided chirped coaxed crowed
    demurred expostulated gushed hollered insinuated jeered lisped piped purred questioned quoth
    rasped rippled scoffed scolded shrilled simpered snarled sputtered squealed taunted trilled
    whined vociferated greeted hailed accosted exploded enunciated quavered begged addressed
    """
)
# Two-word verbs ("went on") are matched by their first word plus this particle.
SPEECH_PARTICLE = {"went": "on", "put": "in", "broke": "in", "called": "out", "cried": "out"}
# Verbs that say the speaker answers someone else (so is not the previous speaker).
REPLY_VERBS = words(
    """
    answer answered answers rejoined replied replies reply responded retorted returned
    """
)

# Nouns naming a person by role, with the gender they imply.
PERSON_NOUNS: dict[str, str] = _gendered(
    """
    M:
    husband gentleman man boy father brother uncle son nephew master king duke prince lord
    colonel captain major butler footman landlord host papa grandfather fellow lad officer
    clergyman priest waiter porter sergeant
    F:
    wife lady woman girl mother sister aunt daughter niece mistress maid housekeeper widow queen
    duchess princess governess hostess landlady nurse mamma mama grandmother bride heroine
    actress girls
    U:
    servant doctor friend companion cousin child stranger visitor other former latter youth
    person guest driver inspector detective judge lover partner
    """
)
# Relation nouns that point at another person through a possessive: his wife -> Mrs. X.
RELATION_TITLE = {
    "wife": "Mrs",
    "husband": "Mr",
    "mother": "Mrs",
    "father": "Mr",
    "mamma": "Mrs",
    "papa": "Mr",
    "mama": "Mrs",
    "brother": "Mr",
    "sister": "Miss",
}

# Capitalised words that are never names on their own (sentence openers, interjections).
NOT_NAMES = words(
    """
    A After Ah Alas All Although An And Any Anybody Anyone Anything April Are As At Ay Aye Bah
    Be Been Before Besides Book Both But By CHAPTER Can Certainly Chapter Christ Christmas Come
    Could Dear December Did Do Does Each Easter Eight Either English Even Every Everybody
    Everyone Everything February First Five For Four French Friday From Go God Good Good-bye
    Goodbye Ha Had Has Have He Hear Heaven Heavens Hello Her Here Him His Hm How However Hullo
    Hum Hundred Hush I I'd I'll I'm I've If In Indeed Instead Into Is It Its January Jesus Just
    Lady Last Let Look Lord Ma'am Madam Mamma Many Master May Me Meanwhile Might Mind Mine Miss
    Mister Mistress Monday More Most Mr Mrs Ms Much Must My Nay Neither Next Nine No Nobody Nor
    Not Nothing November Now O October Of Oh On One Only Or Otherwise Our Papa Part Perhaps
    Please Poor Pray Pshaw Saturday Say Second See September Seven Shall She Should Since Sir
    Six So Some Somebody Someone Something Sorry Still Such Sunday Sure Tell Ten Than Thank
    Thanks That The Their Them Then There These They Third This Those Though Thousand Three
    Thursday To Tuesday Two Until Upon Very Volume Was We Wednesday Well Were What Whatever When
    Where While Who Whoever Whom Whose Why Will With Would Yes Yet You Your
    """
)
# Words of NOT_NAMES that are also given names ("May Welland", "Will Ladislaw"): a name
# only where the text shows it (mid-sentence, in a full name, beside a speech verb).
GIVEN_NOT_NAMES = words("May Will")
