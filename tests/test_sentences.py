from narration.text.sentences import split_long, split_sentences


def test_titles_do_not_end_sentences():
    text = "Mr. Bennet went to St. Paul's with Dr. Jones and Mrs. Long. He was late."
    assert split_sentences(text) == [
        "Mr. Bennet went to St. Paul's with Dr. Jones and Mrs. Long.",
        "He was late.",
    ]


def test_speech_tag_after_question_stays_with_its_quote():
    assert split_sentences('"Is that so?" said she. "Yes."') == [
        '"Is that so?" said she.',
        '"Yes."',
    ]


def test_plain_sentences_split():
    assert split_sentences("It rained. It poured! Did it stop?") == [
        "It rained.",
        "It poured!",
        "Did it stop?",
    ]


def test_vocative_title_before_name_is_not_a_boundary():
    # Punkt alone splits here (it often sees "Darcy" capitalised at sentence starts).
    text = "What a charming amusement for young people this is, Mr. Darcy! Nothing like dancing."
    assert split_sentences(text)[0].endswith("Mr. Darcy!")


def test_empty_input():
    assert split_sentences("   ") == []


def test_split_long_prefers_clause_breaks_and_respects_limit():
    sentence = "one two three, four five six; seven eight nine, ten eleven twelve."
    pieces = split_long(sentence, 30)
    assert all(len(p) <= 30 for p in pieces)
    assert " ".join(pieces) == sentence
    assert pieces[0] == "one two three, four five six;"


def test_split_long_without_clause_breaks_cuts_at_spaces():
    sentence = " ".join(["word"] * 50)
    pieces = split_long(sentence, 42)
    assert all(len(p) <= 42 for p in pieces)
    assert " ".join(pieces) == sentence


def test_short_sentence_untouched():
    assert split_long("Short.", 400) == ["Short."]
