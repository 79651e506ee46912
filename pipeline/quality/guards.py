"""Guards: per-segment signs that a translation went wrong, each with its evidence.

Flags (``FLAG_NAMES``):

- ``empty_output``: nothing came out.
- ``repetition``: a word or short phrase repeated four times or more in a row (a decoding loop).
- ``length_ratio``: the output is far too short or too long for a source of 20 characters or more.
- ``untranslated``: the output is Dutch by language identification (py3langid, restricted to
  Dutch and English; its model ships inside the package, so it works offline), or it
  near-copies the source (chrF against the source, as sacrebleu computes it).
- ``number_mismatch``: a number, amount, percentage, date or time of the source is not in the
  output once Dutch formats are mapped to English ones (``€ 1.200,50`` → ``€1,200.50``,
  ``15 procent`` → ``15 percent``/``15%``, ``1 juli`` → ``1 July``/``July 1``).
- ``glossary_missing``: a glossary term's English form is not in the output.
- ``low_confidence``: the segment's mean token log-probability is below the model's
  threshold, calibrated as a percentile of the scores it gives a news corpus.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.quality.glossary import TermRecord
from pipeline.quality.numbers import english_numbers, missing_numbers

FLAG_NAMES = (
    "empty_output",
    "repetition",
    "length_ratio",
    "untranslated",
    "number_mismatch",
    "glossary_missing",
    "low_confidence",
)
LENGTH_RATIO_BAND = (0.4, 2.5)
_REPEAT = re.compile(r"\b(\w+(?:\W+\w+){0,3}?)(?:\W+\1\b){3,}", re.IGNORECASE)


@dataclass(frozen=True)
class Flag:
    """One sign of trouble and what shows it."""

    name: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "evidence": self.evidence}


@dataclass(frozen=True)
class GuardSettings:
    """The knobs of the guards; the defaults are what the pipeline uses."""

    length_ratio_band: tuple[float, float] = LENGTH_RATIO_BAND
    min_length_for_ratio: int = 20
    langid_languages: tuple[str, ...] = ("en", "nl")
    langid_min_confidence: float = 0.9
    min_words_for_untranslated: int = 4
    copy_chrf: float = 70.0  # chrF (0-100) of the output against the source at or above which it is a copy

    def describe(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_SETTINGS = GuardSettings()


# --- the flags of today's translator --------------------------------------------------------


def check_empty(target: str) -> Flag | None:
    return None if target.strip() else Flag("empty_output", {"target_chars": len(target)})


def check_repetition(target: str) -> Flag | None:
    match = _REPEAT.search(target)
    if match is None:
        return None
    return Flag("repetition", {"repeated": match.group(1), "span": match.group(0)[:200]})


def check_length_ratio(source: str, target: str, settings: GuardSettings = DEFAULT_SETTINGS) -> Flag | None:
    if len(source) < settings.min_length_for_ratio:
        return None
    ratio = len(target) / len(source)
    low, high = settings.length_ratio_band
    if low <= ratio <= high:
        return None
    return Flag("length_ratio", {"ratio": round(ratio, 3), "band": [low, high]})


def quality_flags(source: str, target: str) -> list[str]:
    """Signs of a suspicious output: empty, looping, or far too short or long (names only)."""
    empty = check_empty(target)
    if empty is not None:
        return [empty.name]
    return [f.name for f in (check_repetition(target), check_length_ratio(source, target)) if f is not None]


# --- untranslated ---------------------------------------------------------------------------

_LETTER_WORD = re.compile(r"[^\W\d_]+")
_identifiers: dict[tuple[str, ...], Any] = {}


def _identifier(languages: tuple[str, ...]) -> Any:
    if languages not in _identifiers:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        identifier.set_languages(list(languages))
        _identifiers[languages] = identifier
    return _identifiers[languages]


def identify_language(text: str, languages: tuple[str, ...] = DEFAULT_SETTINGS.langid_languages) -> tuple[str, float]:
    """The most likely of ``languages`` for ``text``, with its probability."""
    language, confidence = _identifier(languages).classify(text)
    return str(language), float(confidence)


def copy_chrf(source: str, target: str) -> float:
    """chrF (0-100) of ``target`` against ``source``: near 100 when the output copies the input."""
    from sacrebleu.metrics import CHRF

    return float(CHRF().sentence_score(target, [source]).score)


def check_untranslated(source: str, target: str, settings: GuardSettings = DEFAULT_SETTINGS) -> Flag | None:
    """Dutch output, or output that near-copies the source; short outputs (a name, a heading) are left alone."""
    if len(_LETTER_WORD.findall(target)) < settings.min_words_for_untranslated:
        return None
    language, confidence = identify_language(target, settings.langid_languages)
    chrf = copy_chrf(source, target)
    evidence = {"language": language, "confidence": round(confidence, 4), "chrf": round(chrf, 1)}
    if language == "nl" and confidence >= settings.langid_min_confidence:
        return Flag("untranslated", {"reason": "dutch", **evidence})
    if chrf >= settings.copy_chrf:
        return Flag("untranslated", {"reason": "copy", **evidence})
    return None


# --- numbers --------------------------------------------------------------------------------


def check_numbers(source: str, target: str) -> Flag | None:
    missing = missing_numbers(source, target)
    if not missing:
        return None
    return Flag(
        "number_mismatch",
        {
            "missing": [{"source": n.text, "expected": n.english(), "kind": n.kind} for n in missing],
            "target_numbers": sorted({n.text for n in english_numbers(target)}),
        },
    )


# --- glossary and confidence ----------------------------------------------------------------


def check_glossary(terms: Sequence[TermRecord]) -> Flag | None:
    missing = [t for t in terms if t.status == "missing"]
    if not missing:
        return None
    return Flag("glossary_missing", {"terms": [{"nl": t.nl, "en": t.en, "start": t.start} for t in missing]})


def check_confidence(score: float | None, threshold: float | None) -> Flag | None:
    if score is None or threshold is None or score >= threshold:
        return None
    return Flag("low_confidence", {"score": round(score, 4), "threshold": round(threshold, 4)})


def check_segment(
    source: str,
    target: str,
    *,
    score: float | None = None,
    terms: Sequence[TermRecord] = (),
    threshold: float | None = None,
    settings: GuardSettings = DEFAULT_SETTINGS,
) -> list[Flag]:
    """Every flag of one translated segment, in ``FLAG_NAMES`` order (an empty output gets only that)."""
    empty = check_empty(target)
    if empty is not None:
        return [empty]
    found = [
        check_repetition(target),
        check_length_ratio(source, target, settings),
        check_untranslated(source, target, settings),
        check_numbers(source, target),
        check_glossary(terms),
        check_confidence(score, threshold),
    ]
    return [f for f in found if f is not None]


# --- calibrating low_confidence -------------------------------------------------------------


# --- false positives on reference translations ----------------------------------------------
