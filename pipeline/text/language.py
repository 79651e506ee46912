"""Which language a document is in, and which of its sentences are English already.

py3langid (a maintained, dependency-light port of langid.py: byte n-gram naive Bayes over 97
languages, with probabilities normalised over the languages it is restricted to) answers
both. Its tables for the chosen languages are built once per set and kept.

- :func:`document_language`: the language of a whole document, among :data:`DOCUMENT_LANGUAGES`.
- :func:`english_passages`: the sentences of a Dutch document to keep as they are (a quote, a
  title in English). Translating an English sentence costs little; keeping a Dutch one
  untranslated is a visible error, so the rule leans hard towards translating (see
  :data:`MIN_ENGLISH_PROBABILITY` and :data:`DUTCH_FUNCTION_WORDS`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

DOCUMENT_LANGUAGES: tuple[str, ...] = (
    "nl", "en", "de", "fr", "af", "fy", "es", "it", "pt", "da", "sv", "no", "pl", "tr", "ru", "uk", "ar", "zh",
)  # fmt: skip
"""What a news document given to nl2en may be in: Dutch, its two closest relatives (Afrikaans and
Frisian: without them a text in either is called Dutch), English, the neighbours' German and French,
the other large languages of European news, and the non-Latin scripts met most in it (without them
a Russian page would be given whichever listed language its bytes resemble, with full confidence)."""

PASSAGE_LANGUAGES: tuple[str, ...] = ("nl", "en", "de", "fr", "af", "fy")
"""The languages a sentence of a Dutch news document is weighed between: Dutch and what Dutch text
is mistaken for (its relatives, German), English, and French (Belgian news). Other languages would
only share out the probability of the few sentences that are neither Dutch nor English."""

MIN_WORDS = 6
"""Sentences shorter than this (words with a letter) are always translated: a headline or a name
list gives langid too little to go on, and a short English phrase costs little to translate."""

MIN_ENGLISH_PROBABILITY = 0.99
"""English must be this probable among :data:`PASSAGE_LANGUAGES` (odds of 99 to 1). On the Dutch
sentences of NTREX and of the UD Alpino newspaper dev set (1,645 of six words or more), the
highest English probability is 0.82; English NTREX sentences of six words or more reach it in
94 % of cases (headlines full of names fall short, and are translated)."""

DUTCH_FUNCTION_WORDS: frozenset[str] = frozenset({
    "aan", "als", "bij", "dan", "dat", "deze", "dit", "dus", "een", "en", "geen", "haar", "heeft", "hebben",
    "het", "hij", "hun", "je", "jij", "kan", "kunnen", "maar", "meer", "mijn", "moet", "moeten", "na", "naar",
    "niet", "nog", "nu", "om", "omdat", "ons", "onze", "ook", "op", "te", "tegen", "toch", "tot", "tussen",
    "uit", "veel", "volgens", "voor", "waar", "wat", "wel", "werd", "werden", "wie", "wij", "wordt", "worden",
    "zal", "zich", "zij", "zijn", "zoals", "zou", "zullen",
})  # fmt: skip
"""Frequent Dutch words that are not English words: a sentence holding one is Dutch (or mixes Dutch
in), whatever langid says. Left out: words English has too (``in``, ``is``, ``was``, ``over``,
``door``, ``die``, ``met``, ``had``, ``we``, ``me``, ``er``) and name particles an English sentence
writes in lower case (``de``, ``van``, ``der``, ``den``, ``al``). Matched in lower case only, but for
the sentence's first word, which any sentence capitalises."""

UNDETERMINED = "und"
"""BCP 47's code for a text with no language to find (no letters)."""

_LETTERS = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_identifiers: dict[tuple[str, ...], Any] = {}


def identifier(languages: Sequence[str]) -> Any:
    """A py3langid identifier restricted to ``languages``, with normalised probabilities (built once per set)."""
    key = tuple(languages)
    if key not in _identifiers:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        full = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        full.set_languages(list(key))
        # rebuilt from the restricted tables: the full model keeps every language's table for set_languages
        tables = (full.nb_ptc, full.nb_pc, full.nb_classes, full.tk_nextmove, full.tk_output)
        _identifiers[key] = LanguageIdentifier(*tables, norm_probs=True, tk_row=full.tk_row)
    return _identifiers[key]


# How much of a long document its language is read from (evenly spaced slices).
SAMPLE_CHARS = 100_000
SAMPLE_PIECES = 20


def document_language(text: str) -> tuple[str, float]:
    """The language of a whole document (its units' text) among :data:`DOCUMENT_LANGUAGES`, and its probability.

    A text without letters is ``("und", 0.0)``.
    """
    if not _LETTERS.search(text):
        return UNDETERMINED, 0.0
    language, probability = identifier(DOCUMENT_LANGUAGES).classify(document_sample(text))
    return str(language), float(probability)


def document_sample(text: str, size: int = SAMPLE_CHARS, pieces: int = SAMPLE_PIECES) -> str:
    """A long document as ``pieces`` evenly spaced slices of ``size`` characters in all: its language
    is the same, and identifying it costs the same for a page as for a 10 MB archive."""
    if len(text) <= size:
        return text
    step, width = len(text) // pieces, size // pieces
    return "\n".join(text[i * step : i * step + width] for i in range(pieces))


def english_probability(sentence: str) -> float:
    """How probable English is for ``sentence`` among :data:`PASSAGE_LANGUAGES`."""
    ranked = dict(identifier(PASSAGE_LANGUAGES).rank(sentence))
    return float(ranked.get("en", 0.0))


def has_dutch_function_word(sentence: str) -> bool:
    words = _WORD.findall(sentence)
    if not words:
        return False
    return words[0].lower() in DUTCH_FUNCTION_WORDS or any(w in DUTCH_FUNCTION_WORDS for w in words[1:])


def english_passages(sentences: Sequence[str]) -> list[bool]:
    """For each sentence of a Dutch document, whether it is English and is to be kept as it is.

    Kept: :data:`MIN_WORDS` words or more, no Dutch function word, and English with probability
    :data:`MIN_ENGLISH_PROBABILITY` or more. Everything else is translated.
    """
    kept = []
    for sentence in sentences:
        words = [w for w in sentence.split() if _LETTERS.search(w)]
        kept.append(
            len(words) >= MIN_WORDS
            and not has_dutch_function_word(sentence)
            and english_probability(sentence) >= MIN_ENGLISH_PROBABILITY
        )
    return kept
