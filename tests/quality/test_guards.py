"""Guards: each flag and its evidence, number normalisation tables (calibration: test_calibration.py,
false positives on correct pairs: tests/evaluation/test_guard_eval.py)."""

from __future__ import annotations

import pytest

from pipeline.quality.glossary import TermRecord, builtin_glossary, check_terms
from pipeline.quality.guards import (
    FLAG_NAMES,
    GuardSettings,
    check_added_content,
    check_chatter,
    check_length_ratio,
    check_numbers,
    check_repetition,
    check_segment,
    check_untranslated,
    identify_language,
    longest_run,
    quality_flags,
)
from pipeline.quality.numbers import dutch_numbers, english_numbers

SOURCE = "Rusland en Wit-Rusland voeren gesprekken over vergaande bestuurlijke en economische integratie."
GOOD = "Russia and Belarus are holding talks on far-reaching administrative and economic integration."


def _names(flags: list) -> list[str]:
    return [f.name for f in flags]


# --- the flags of today's translator --------------------------------------------------------


def test_guards_quality_flags_names_empty_loop_and_length() -> None:
    assert quality_flags(SOURCE, "the the the the the") == ["repetition", "length_ratio"]
    assert quality_flags(SOURCE, " ") == ["empty_output"] and quality_flags(SOURCE, GOOD) == []


def test_guards_empty_output_is_the_only_flag() -> None:
    flags = check_segment(SOURCE, " ", score=-9.0, threshold=-1.0)
    assert _names(flags) == ["empty_output"] and flags[0].evidence == {"target_chars": 1}


def test_guards_repetition_and_length_ratio_evidence() -> None:
    flags = check_segment(SOURCE, "talks talks talks talks")
    assert _names(flags) == ["repetition", "length_ratio"]
    assert flags[0].evidence["repeated"] == "talks"
    assert flags[1].evidence == {"ratio": round(23 / len(SOURCE), 3), "band": [0.5, 2.5]}


@pytest.mark.parametrize(
    ("target", "times", "repeated"),
    [
        ("the the the the", 4, "the"),
        ("He saw St. Martin's St. Martin's St. Martin's St. Martin's church.", 4, "St. Martin's"),
        ("It rose 5.69 million 5.69 million 5.69 million 5.69 million in a year.", 4, "5.69 million"),
        ("They didn't stop, didn't stop, didn't stop, didn't stop.", 4, "didn't stop,"),
        ("A far-reaching far-reaching far-reaching far-reaching plan.", 4, "far-reaching"),
        ("We met - - - - - and left.", 5, "-"),
        ("I said yes. I said yes. I said yes. I said yes. I said yes.", 5, "I said yes."),  # punctuation aside
    ],
)
def test_guards_repetition_counts_words_not_word_pieces(target: str, times: int, repeated: str) -> None:
    flag = check_repetition(target)
    assert flag is not None and (flag.evidence["times"], flag.evidence["repeated"]) == (times, repeated)


@pytest.mark.parametrize(
    "target",
    [
        "the the the",  # three times is not a loop
        "A bird, a plane, a bird, a plane, a bird.",  # 2.5 times a four-word phrase
        "New York, New York and New Jersey.",
        "He averaged 5.6 points and 2.6 rebounds a game.",
        "Five words are not repeated here at all.",
    ],
)
def test_guards_repetition_leaves_ordinary_text_alone(target: str) -> None:
    assert check_repetition(target) is None


def test_guards_repetition_the_source_has_is_no_loop() -> None:
    source = "‘Nee, nee, nee, nee,’ riep ze."
    assert check_repetition("'No, no, no, no,' she cried.", source) is None
    longer = check_repetition("'No, no, no, no, no, no, no, no,' she cried.", source)
    assert longer is not None and longer.evidence == {"repeated": "'No,", "times": 8, "source_times": 4}
    assert longest_run("een twee een twee een twee") == (3, "een twee")
    assert longest_run("") == (0, "")


@pytest.mark.parametrize(
    ("ratio", "flagged"), [(0.45, True), (0.49, True), (0.5, False), (1.0, False), (2.5, False), (2.6, True)]
)
def test_guards_length_ratio_band(ratio: float, flagged: bool) -> None:
    source = "x" * 100
    assert (check_length_ratio(source, "y" * round(100 * ratio)) is not None) is flagged
    assert check_length_ratio("x" * 19, "y") is None  # sources under 20 characters are not judged


def test_guards_a_good_translation_passes_every_guard() -> None:
    _, terms = check_terms(GOOD, builtin_glossary().find(SOURCE))
    assert check_segment(SOURCE, GOOD, score=-0.3, terms=terms, threshold=-1.0) == []


# --- untranslated ---------------------------------------------------------------------------


def test_guards_untranslated_dutch_output() -> None:
    (flag,) = check_segment(SOURCE, SOURCE)
    assert flag.name == "untranslated"
    assert flag.evidence["reason"] == "dutch" and flag.evidence["language"] == "nl"
    assert flag.evidence["confidence"] >= 0.9 and flag.evidence["chrf"] == 100.0


def test_guards_untranslated_half_translated_output() -> None:
    half = "Russia en Wit-Rusland voeren gesprekken over vergaande integration."
    flag = check_untranslated(SOURCE, half)
    assert flag is not None and flag.evidence["language"] == "nl"


def test_guards_untranslated_near_copy_by_chrf() -> None:
    no_langid = GuardSettings(langid_min_confidence=1.01)  # only the copy test can fire
    flag = check_untranslated(SOURCE, SOURCE.replace("Rusland", "Russia"), no_langid)
    assert flag is not None and flag.evidence["reason"] == "copy" and flag.evidence["chrf"] >= 70
    assert check_untranslated(SOURCE, GOOD, no_langid) is None


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("Tom Smith van BBC Wales in het Cardiff City Stadium", "BBC Wales's Tom Smith at the Cardiff City Stadium"),
        ("Premier League: Leeds United tegen Aston Villa: 2-1", "Premier League: Leeds United 2-1 Aston Villa"),
        ("Green Day: Wat is 'American Idiot'?", "Green Day: What is American Idiot?"),
        ("Poetin en Loekasjenko in Sotsji en Minsk", "Putin and Lukashenko in Sochi and Minsk"),
    ],
)
def test_guards_untranslated_leaves_names_and_titles_out(source: str, target: str) -> None:
    assert check_untranslated(source, target) is None


@pytest.mark.parametrize("text", ["Ja, dat klopt.", "Waarom? vroeg hij.", "‘Ik ben moe.’", "Hij lachte."])
def test_guards_untranslated_catches_short_dutch_copies(text: str) -> None:
    flag = check_untranslated(text, text)
    assert flag is not None and flag.evidence["reason"] == "short_copy"


def test_guards_untranslated_short_outputs_need_a_dutch_copy() -> None:
    assert check_untranslated("Ultimatum", "Ultimatum") is None  # a name or a title: nothing ordinary
    assert check_untranslated("Jan Pietersen", "Jan Pietersen") is None
    assert check_untranslated("Ja, dat klopt.", "Yes, that's right.") is None  # translated
    assert check_untranslated("Game over, zei hij.", "Game over, he said.") is None  # English words copied


def test_guards_untranslated_flags_dutch_names_left_in_english() -> None:
    source = "De top in Duitsland eindigde zonder akkoord."
    flag = check_untranslated(source, "The summit in Duitsland ended without a deal.")
    assert flag is not None and flag.evidence["reason"] == "dutch_names" and flag.evidence["names"] == ["Duitsland"]
    assert check_untranslated(source, "The summit in Germany ended without a deal.") is None
    off = GuardSettings(dutch_names="")
    assert check_untranslated(source, "The summit in Duitsland ended without a deal.", off) is None
    # a name Dutch and English share, or one English uses too, is no sign
    assert check_untranslated("Het Europa League-duel in Chili.", "The Europa League match in Chile.") is None


def test_guards_settings_key_the_names_the_guard_knows() -> None:
    assert GuardSettings().dutch_names == builtin_glossary().digest() != ""
    described = GuardSettings().describe()
    assert described["length_ratio_band"] == (0.5, 2.5) and described["repetition_repeats"] == 4
    assert set(described) >= {"dutch_names", "quoted_title_words", "repetition_max_words", "copy_chrf"}


def test_guards_language_id_works_offline() -> None:
    # The socket guard of conftest blocks the network: the model ships with the package.
    assert identify_language(GOOD)[0] == "en"
    assert identify_language(SOURCE)[0] == "nl"


# --- numbers --------------------------------------------------------------------------------

MATCHING = [
    ("€ 1.200,50", "€1,200.50"),
    ("€ 1.200,50", "1,200.50 euros"),
    ("15 procent", "15 percent"),
    ("15 procent", "15%"),
    ("15 procent", "15 per cent"),
    ("15%", "15 percent"),
    ("2,5 procent", "2.5%"),
    ("1 juli", "1 July"),
    ("1 juli", "July 1"),
    ("1 juli", "July 1st"),
    ("op 3 mei 2019", "on May 3, 2019"),
    ("op 3 mei 2019", "on 3 May 2019"),
    ("1.200 mensen", "1,200 people"),
    ("1.200 mensen", "1200 people"),
    ("12.000.000", "12,000,000"),
    ("1,5 miljoen", "1.5 million"),
    ("1,5 miljoen", "1,500,000"),
    ("2 miljard euro", "two billion euros"),
    ("om 14.30 uur", "at 2.30 pm"),
    ("om 14.30 uur", "at 14:30"),
    ("de 3e keer", "the third time"),
    ("de 3e keer", "the 3rd time"),
    ("de 21ste eeuw", "the 21st century"),
    ("sinds 1994", "since 1994"),
    ("3 kinderen", "three children"),
    ("de 15-jarige", "the 15-year-old"),
    ("tussen 1999 en 2024", "between 1999 and 2024"),
    ("geen getallen", "no numbers"),
]
MISSING = [
    ("1.200 mensen", "1.2 people", "1200"),
    ("1.200 mensen", "200 people", "1200"),
    ("€ 1.200,50", "€1,200", "1200.5"),
    ("15 procent", "15 people", "15%"),
    ("1 juli", "1 June", "1 July"),
    ("1 juli", "July", "1 July"),
    ("1,5 miljoen", "1.5 billion", "1,500,000"),
    ("sinds 1994", "since 1995", "1994"),
    ("in 2024", "in the year", "2024"),
]


@pytest.mark.parametrize(("source", "target"), MATCHING)
def test_guards_numbers_map_dutch_formats_to_english(source: str, target: str) -> None:
    assert check_numbers(source, target) is None, (dutch_numbers(source), english_numbers(target))


@pytest.mark.parametrize(("source", "target", "expected"), MISSING)
def test_guards_number_mismatch_names_what_is_missing(source: str, target: str, expected: str) -> None:
    flag = check_numbers(source, target)
    assert flag is not None and flag.name == "number_mismatch"
    assert [m["expected"] for m in flag.evidence["missing"]] == [expected]


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("€ 1.200,50", [("num", "1200.5")]),
        ("1.200", [("num", "1200")]),
        ("1,200", [("num", "1.2")]),
        ("1.5", [("num", "1.5")]),
        ("3.14159", [("num", "3.14159")]),
        ("15 procent", [("percent", "15")]),
        ("1 juli 2020", [("date", "7-1"), ("num", "2020")]),
        ("12 december", [("date", "12-12")]),
        ("in 1994.", [("num", "1994")]),
        ("G20 en COVID-19", [("num", "19")]),
        ("2,5 miljoen", [("num", "2500000")]),
        ("21ste", [("num", "21")]),
    ],
)
def test_guards_dutch_number_table(text: str, keys: list[tuple[str, str]]) -> None:
    assert [n.key for n in dutch_numbers(text)] == keys


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("€1,200.50", [("num", "1200.5")]),
        ("1,200", [("num", "1200")]),
        ("1.200", [("num", "1.2")]),
        ("15%", [("percent", "15"), ("num", "15")]),
        ("July 1, 2020", [("date", "7-1"), ("num", "2020")]),
        ("the 1st of July", [("date", "7-1")]),
        ("2.5 million", [("num", "2500000")]),
        ("seventeen", [("num", "17")]),
        ("the second", [("num", "2")]),
    ],
)
def test_guards_english_number_table(text: str, keys: list[tuple[str, str]]) -> None:
    assert sorted(n.key for n in english_numbers(text)) == sorted(keys)


def test_guards_number_flag_reports_the_target_numbers() -> None:
    flag = check_numbers("Op 1 juli kostte het € 1.200,50, 15 procent meer.", "On 1 July it cost €1,200.50, 15 more.")
    assert flag is not None
    assert flag.evidence["missing"] == [{"source": "15 procent", "expected": "15%", "kind": "percent"}]
    assert "€1,200.50".strip("€") in flag.evidence["target_numbers"]


# --- glossary and confidence ----------------------------------------------------------------


def test_guards_glossary_missing_evidence() -> None:
    terms = [
        TermRecord("Poetin", "Putin", 10, 16, "missing", "Poetin"),
        TermRecord("Sotsji", "Sochi", 20, 26, "repaired", "Sotsji", "Sochi"),
    ]
    flags = check_segment(SOURCE, GOOD, terms=terms)
    assert _names(flags) == ["glossary_missing"]
    assert flags[0].evidence == {"terms": [{"nl": "Poetin", "en": "Putin", "start": 10}]}


def test_guards_low_confidence_needs_a_threshold() -> None:
    assert check_segment(SOURCE, GOOD, score=-5.0) == []
    assert check_segment(SOURCE, GOOD, score=-0.5, threshold=-1.0) == []
    (flag,) = check_segment(SOURCE, GOOD, score=-1.5, threshold=-1.0)
    assert flag.name == "low_confidence" and flag.evidence == {"score": -1.5, "threshold": -1.0}


def test_guards_flag_names_are_in_order() -> None:
    flags = check_segment(
        "Op 1 juli zei Poetin dat Rusland vergaande integratie wil met Wit-Rusland.",
        "Op 1 juli zei Poetin dat Rusland integratie integratie integratie integratie wil.",
        score=-3.0,
        terms=[TermRecord("Poetin", "Putin", 14, 20, "missing", "Poetin")],
        threshold=-1.0,
    )
    assert _names(flags) == ["repetition", "untranslated", "number_mismatch", "glossary_missing", "low_confidence"]
    assert _names(flags) == [n for n in FLAG_NAMES if n in _names(flags)]


# --- instruct models: chatter and added content --------------------------------------------


@pytest.mark.parametrize(
    ("source", "target", "kind"),
    [
        (SOURCE, "I'm sorry, I cannot translate that.", "apology"),
        (SOURCE, "Sorry, but this text is already in English.", "apology"),
        (SOURCE, "I cannot help with that request.", "refusal"),
        (SOURCE, "As an AI language model, I do not translate political texts.", "self"),
        (SOURCE, "Here is the translation: Russia and Belarus are holding talks.", "preamble"),
        (SOURCE, "Could you give me more context about this sentence?", "request"),
        (SOURCE, "Please provide the full article.", "request"),
        (SOURCE, "I'd be happy to help with that.", "offer"),
        (SOURCE, "Russia and Belarus are talking. The original text is about integration.", "remark"),
        (SOURCE, "Are Russia and Belarus holding talks on integration?", "question"),
        (SOURCE, "“What integration do you mean?”", "question"),
    ],
)
def test_guards_chatter_flags_an_answer_instead_of_a_translation(source: str, target: str, kind: str) -> None:
    flag = check_chatter(source, target)
    assert flag is not None and flag.name == "chatter" and flag.evidence["kind"] == kind


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (SOURCE, GOOD),
        ("Het spijt me, zei de minister, maar ik kan niet komen.", "I'm sorry, said the minister, but I cannot come."),
        ("Kunt u de brief voorlezen, vroeg de rechter.", "Could you read out the letter, the judge asked."),
        ("Waarom gebeurde dit?", "Why did this happen?"),
        ("‘Wat nu?’ vroeg ze zich af.", "'What now?' she wondered."),
        ("De vertaling van het boek verschijnt in maart.", "The English translation of the book appears in March."),
        ("Het taalmodel van OpenAI is een AI-systeem.", "OpenAI's language model is an AI system."),
        ("Natuurlijk, hier is het.", "Of course, here it is."),
        ("De zaak kreeg een vonnis.", "The sentence was handed down."),
    ],
)
def test_guards_chatter_leaves_translations_alone(source: str, target: str) -> None:
    assert check_chatter(source, target) is None


def test_guards_chatter_questions_can_be_turned_off() -> None:
    question = "Are Russia and Belarus holding talks on integration?"
    assert check_chatter(SOURCE, question, GuardSettings(chatter_questions=False)) is None


def test_guards_added_content_flags_a_second_sentence_with_no_counterpart() -> None:
    flag = check_added_content(SOURCE, GOOD + " This translation keeps the formal register of the original.")
    assert flag is not None and flag.name == "added_content"
    assert flag.evidence["source_sentences"] == 1 and flag.evidence["target_sentences"] == 2
    assert flag.evidence["added"] == ["This translation keeps the formal register of the original."]
    assert flag.evidence["ratio"] >= 1.3


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (SOURCE, GOOD),
        # a long sentence rendered as two, about as long: a translation, not an addition
        (
            "De regering, die al maanden onder druk staat, kondigde gisteren aan dat de belasting omlaag gaat.",
            "The government has been under pressure for months. Yesterday it announced that taxes will fall.",
        ),
        ("Hij kwam. Hij zag. Hij overwon.", "He came. He saw. He conquered."),
    ],
)
def test_guards_added_content_leaves_faithful_translations_alone(source: str, target: str) -> None:
    assert check_added_content(source, target) is None


def test_guards_added_content_knobs() -> None:
    longer = GOOD + " It is long."
    off = GuardSettings(added_rest_ratio=9.0)  # the whole-translation rule off: only the length ratio counts
    assert check_added_content(SOURCE, longer, off) is None  # an extra sentence, but under 1.3 times the length
    assert check_added_content(SOURCE, longer, GuardSettings(added_length_ratio=1.1, added_rest_ratio=9.0))
    assert check_added_content(SOURCE, longer, GuardSettings(added_length_ratio=1.1, added_sentences=2)) is None
    flag = check_added_content(SOURCE, longer)  # the whole translation, then a short sentence: caught by default
    assert flag is not None and flag.evidence["rest_ratio"] >= 0.75 and flag.evidence["added"] == ["It is long."]


LONG_SOURCE = (
    "De gemeenteraad van Utrecht heeft dinsdagavond na een lang debat ingestemd met het plan om de binnenstad"
    " vanaf volgend jaar autovrij te maken."
)
LONG_GOOD = (
    "Utrecht city council agreed on Tuesday evening, after a long debate, to the plan to make the city centre"
    " car-free from next year."
)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        # a short sentence after a long translation: under 1.3 times the length, but the rest is a whole translation
        (LONG_SOURCE, LONG_GOOD + " The mayor welcomed the vote."),
        (LONG_SOURCE, LONG_GOOD + " Shops are worried."),
        # a headline (no final stop) whose output ends with a sentence the source does not have
        ("Utrecht maakt binnenstad autovrij", "Utrecht makes city centre car-free The mayor welcomed the vote."),
    ],
)
def test_guards_added_content_catches_short_additions(source: str, target: str) -> None:
    flag = check_added_content(source, target)
    assert flag is not None and flag.name == "added_content", target


@pytest.mark.parametrize(
    ("source", "target"),
    [
        # a split whose first part is not a whole translation, and a closing quotation mark counted as a sentence
        (LONG_SOURCE, "Utrecht city council agreed on Tuesday evening. The city centre will be car-free next year."),
        ('Hij zei: "Kom maar."', 'He said, "Come along.""'),
        ("Utrecht maakt binnenstad autovrij", "Utrecht makes city centre car-free."),  # a headline given a stop
    ],
)
def test_guards_added_content_leaves_splits_alone(source: str, target: str) -> None:
    assert check_added_content(source, target) is None


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        # apologies and refusals in their common forms
        ("I'm afraid that is not something I can do.", "apology"),
        ("My apologies, this text is not clear to me.", "apology"),
        ("Apologies — the text seems cut off.", "apology"),
        ("Sorry - this one is beyond me.", "apology"),
        ("Regrettably, no translation is possible here.", "apology"),
        ("I'm really sorry, but that is not possible.", "apology"),
        ("I won't translate this passage.", "refusal"),
        ("I must decline to work on this.", "refusal"),
        ("We don't have enough context to do this.", "refusal"),
        ("Unfortunately, the text is incomplete.", "refusal"),
        # acknowledgements and preambles that survive cleaning
        ("No problem! The council agreed.", "preamble"),
        ("Gladly. The council agreed.", "preamble"),
        ("In English it goes like this: the council agreed.", "preamble"),
        # answers to the content instead of a translation
        ("Wow, the council really did it.", "answer"),
        ("Exactly. The council agreed.", "answer"),
        ("What a surprising outcome for the city.", "answer"),
        # remarks about the translation or the source, anywhere
        ("The council agreed. This phrase means the vote passed.", "remark"),
        ("The council agreed. In other words, it passed.", "remark"),
        ("The council agreed. I kept the formal tone.", "remark"),
        ("The council agreed. NB: the vote was close.", "note"),
        ("The council agreed. P.S. the names are unchanged.", "note"),
        ("The council agreed. Explanation: a vote was held.", "note"),
        ("The text you sent is short. The council agreed.", "reader"),
        ("The council agreed. Would you like me to continue", "reader"),
        # a question followed by a statement
        ("Is this the council's decision? It reads like one.", "question"),
    ],
)
def test_guards_chatter_catches_each_category(target: str, kind: str) -> None:
    flag = check_chatter("De gemeenteraad stemde in met het plan.", target)
    assert flag is not None and flag.evidence["kind"] == kind, (target, flag)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("Het spijt me, zei hij, ik kan niet blijven.", "I'm afraid, he said, I cannot stay."),
        ("Ik kon niet meer lopen.", "I could not walk."),
        ("Natuurlijk! Het plan gaat door.", "Of course! The plan goes ahead."),
        ("Ja, het plan gaat door.", "Yes, the plan goes ahead."),
        ("Wat een verrassende uitslag voor de stad.", "What a surprising outcome for the city."),
        (
            "Dit betekent dat de prijzen stijgen. Met andere woorden: alles wordt duurder.",
            "This means prices will rise. In other words, everything gets more expensive.",
        ),
        ("Wilt u mij laten weten wat u wilt?", "Would you like me to know what you want?"),
        ("Waarom? Dat weet niemand.", "Why? Nobody knows."),
        ("Zonder jou had ik het niet gekund.", "You gave me the strength; I could not have done it alone."),
    ],
)
def test_guards_chatter_excuses_what_the_source_says(source: str, target: str) -> None:
    assert check_chatter(source, target) is None, target


def test_guards_check_segment_runs_the_instruct_model_guards_last() -> None:
    target = "I'm sorry, I cannot translate this. " + GOOD + " I hope this helps with your work today."
    names = _names(check_segment(SOURCE, target))
    assert names[-2:] == ["chatter", "added_content"]
    assert FLAG_NAMES[-2:] == ("chatter", "added_content")
