"""Cleaning an instruct model's reply: a table of wrappings, and properties that hold for any reply."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.quality.cleaning import clean_output

SOURCE = "De man kwam gisteren thuis na een lange reis."
GOOD = "The man came home yesterday after a long journey."


@pytest.mark.parametrize(
    ("reply", "kinds"),
    [
        (GOOD, []),
        (f"Here is the translation:\n\n{GOOD}", ["preamble"]),
        (f"Here's the English translation of the text: {GOOD}", ["preamble"]),
        (f"Sure! Here is the English version:\n{GOOD}", ["preamble"]),
        (f"Certainly! The translation is: {GOOD}", ["preamble"]),
        (f"Translation: {GOOD}", ["label"]),
        (f"English: {GOOD}", ["label"]),
        (f"English translation:\n{GOOD}", ["label"]),
        (f"Dutch: {SOURCE}\nEnglish: {GOOD}", ["echo", "label"]),
        (f'"{GOOD}"', ["quotes"]),
        (f"“{GOOD}”", ["quotes"]),
        (f'"{GOOD[:-1]}".', ["quotes"]),
        (f"{GOOD} (Note: 'thuis' means 'home'.)", ["note"]),
        (f"{GOOD} Note that the Dutch uses the past tense.", ["note"]),
        (f"{GOOD} Please note: this is a literal translation.", ["note"]),
        (f"{GOOD}\n\nI hope this helps!", ["lines"]),
        (f'Here is the translation:\n"{GOOD}"\n\n(Note: literal.)', ["preamble", "lines", "quotes"]),
        # acknowledgements standing as a sentence of their own
        (f"Of course! {GOOD}", ["preamble"]),
        (f"No problem.\n{GOOD}", ["preamble"]),
        (f"Gladly! {GOOD}", ["preamble"]),
        # openers that speak of the translation, wherever the colon falls, or on a line of their own
        (f"Rendered in English, it says: {GOOD}", ["preamble"]),
        (f"The most natural version is: {GOOD}", ["preamble"]),
        (f"This is my translation.\n\n{GOOD}", ["preamble"]),
        (f"**English:** {GOOD}", ["label"]),
        # remarks after the translation on the same line
        (f"{GOOD} [Note: names as in the source.]", ["note"]),
        (f"{GOOD} *(N.B. British spelling.)*", ["note"]),
        (f"{GOOD} — note that 'thuis' means 'home'.", ["note"]),
        (f"{GOOD} NB: the tense is kept.", ["note"]),
        (f"{GOOD} P.S. the tense is kept.", ["note"]),
        (f"{GOOD} Explanation: 'reis' is a journey.", ["note"]),
        (f"{GOOD} In other words, he is back.", ["note"]),
    ],
)
def test_cleaning_removes_the_wrapping_and_says_what(reply: str, kinds: list[str]) -> None:
    cleaned = clean_output(reply, SOURCE)
    assert cleaned.text == GOOD
    assert [s["kind"] for s in cleaned.record()] == kinds
    assert all(s["text"] for s in cleaned.record())


@pytest.mark.parametrize(
    ("reply", "source"),
    [
        ("Here is the news: the man came home.", "Hier is het nieuws: de man kwam thuis."),
        ("Translation: a hard job.", "Vertaling: een zwaar vak."),  # the source's own label
        ('"I am coming," he said.', '"Ik kom," zei hij.'),  # quotes the source has
        ("“Never again”", "“Nooit meer”"),
        ("Of course, he came home yesterday.", "Natuurlijk kwam hij gisteren thuis."),
        ("He stayed home. Note that the bridge was closed.", "Hij bleef thuis. Let op: de brug was dicht."),
        ("Line one.\nLine two.", "Regel een.\nRegel twee."),  # a source with line breaks keeps the reply's
        ("I'm sorry, I cannot translate that.", SOURCE),  # chatter is the guards' business, not cleaning's
        ("Translation:", SOURCE),  # nothing would remain
        ('"A" and "B" won.', '"A" en "B" wonnen.'),
        ('"A" and "B" won.', "A en B wonnen."),  # marks inside: not a quotation around the whole
        ("Of course. He came home.", "Natuurlijk. Hij kwam thuis."),  # the source's own acknowledgement
        ("English version: out now.", "Engelse versie: nu uit."),  # the source has the colon
        ("The English club said it will appeal.", "De Engelse club zei in beroep te gaan."),
        ("He came home. In other words, he is back.", "Hij kwam thuis. Met andere woorden, hij is terug."),
        ("He came home. P.S. He is back.", "Hij kwam thuis. PS Hij is terug."),
        ("Sure enough, he came home.", "En ja hoor, hij kwam thuis."),
    ],
)
def test_cleaning_leaves_what_belongs_to_the_translation(reply: str, source: str) -> None:
    cleaned = clean_output(reply, source)
    assert cleaned.text == reply.strip() and cleaned.stripped == ()


def test_cleaning_one_line_can_be_overridden_for_summaries() -> None:
    reply = "Here is a summary:\nThe man came home.\nHe was tired."
    assert clean_output(reply, "One line.", one_line=False).text == "The man came home.\nHe was tired."
    assert clean_output(reply, "One line.").text == "The man came home."


# --- properties --------------------------------------------------------------------------------

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=9)
SENTENCE = st.builds(
    lambda words, end: (" ".join(words)).capitalize() + end,
    st.lists(WORD, min_size=2, max_size=14),
    st.sampled_from([".", "!", ""]),
).filter(lambda s: not re.match(r"(?i)(note|please|sure|certainly|of|ok|here|the|english|translat|summary|dutch)", s))
PREAMBLES = st.sampled_from(
    ["", "Here is the translation:\n", "Translation: ", "English: ", "Sure! Here's the English translation:\n\n"]
)
QUOTES = st.sampled_from([("", ""), ('"', '"'), ("“", "”"), ("‘", "’")])
NOTES = st.sampled_from(["", " (Note: this is literal.)", "\n\nNote: the tense differs.", "\nI hope this helps!"])
ANY_REPLY = st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "Zs", "Cc"]), max_size=120)
ANY_SOURCE = st.one_of(st.just(SOURCE), st.just('"Ik kom," zei hij.'), st.just("Regel een.\nRegel twee."), ANY_REPLY)


@settings(max_examples=300, deadline=None)
@given(ANY_REPLY, ANY_SOURCE)
def test_cleaning_is_idempotent(reply: str, source: str) -> None:
    once = clean_output(reply, source)
    again = clean_output(once.text, source)
    assert again.text == once.text and again.stripped == ()


@settings(max_examples=300, deadline=None)
@given(ANY_REPLY, ANY_SOURCE)
def test_cleaning_never_empties_a_reply_with_words_and_only_removes(reply: str, source: str) -> None:
    cleaned = clean_output(reply, source).text
    if re.search(r"\w", reply):
        assert re.search(r"\w", cleaned)
    remaining = iter(reply)
    assert all(char in remaining for char in cleaned), "the result is the reply less what was removed"


@settings(max_examples=300, deadline=None)
@given(SENTENCE, PREAMBLES, QUOTES, NOTES)
def test_cleaning_recovers_a_wrapped_translation(
    sentence: str, preamble: str, quotes: tuple[str, str], note: str
) -> None:
    reply = f"{preamble}{quotes[0]}{sentence}{quotes[1]}{note}"
    assert clean_output(reply, SOURCE).text == sentence


@settings(max_examples=200, deadline=None)
@given(SENTENCE, QUOTES)
def test_cleaning_never_strips_quotes_the_source_had(sentence: str, quotes: tuple[str, str]) -> None:
    quoted = f"{quotes[0]}{sentence}{quotes[1]}"
    source = f"“{SOURCE}”"
    assert clean_output(quoted, source).text == quoted
