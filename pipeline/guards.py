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

import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pipeline.glossary import TermRecord

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

DUTCH_MONTHS = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
]
ENGLISH_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DUTCH_SCALES = {"duizend": 3, "miljoen": 6, "miljard": 9, "biljoen": 12}
_ENGLISH_SCALES = {"thousand": 3, "million": 6, "billion": 9, "trillion": 12}
_ENGLISH_WORDS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_ENGLISH_ORDINAL_WORDS = {
    w: i + 1
    for i, w in enumerate(
        ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]
    )
}

_NL_NUMBER = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?(?![.,]?\d)|\d+,\d+|\d+\.\d+|\d+"
_EN_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![.,]?\d)|\d+\.\d+|\d+"
_BEFORE = r"(?<![\w])(?<!\d[.,])"

_NL_DATE = re.compile(
    rf"{_BEFORE}(\d{{1,2}})(?:e|ste|de)?\s+({'|'.join(DUTCH_MONTHS)})\b(?:\s+(\d{{4}})\b)?", re.IGNORECASE
)
_NL_TIME = re.compile(rf"{_BEFORE}(\d{{1,2}})[.:](\d{{2}})\s*uur\b")
_NL_PERCENT = re.compile(rf"{_BEFORE}({_NL_NUMBER})\s*(?:%|procent\b|pct\b\.?)", re.IGNORECASE)
_NL_VALUE = re.compile(rf"{_BEFORE}({_NL_NUMBER})(?:e|ste|de)?(?:\s+({'|'.join(_DUTCH_SCALES)})\b)?")

_MONTH_EN = "|".join(ENGLISH_MONTHS)
_EN_DATE_DAY_FIRST = re.compile(
    rf"{_BEFORE}(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_EN})\b(?:,?\s+(\d{{4}})\b)?", re.IGNORECASE
)
_EN_DATE_MONTH_FIRST = re.compile(
    rf"\b({_MONTH_EN})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}})\b)?", re.IGNORECASE
)
_EN_TIME = re.compile(rf"{_BEFORE}(\d{{1,2}})[.:](\d{{2}})(?![.,]?\d)\s*(a\.?m\.?|p\.?m\.?)?", re.IGNORECASE)
_EN_PERCENT = re.compile(rf"{_BEFORE}({_EN_NUMBER})\s*(?:%|percent\b|per\s+cent\b|pct\b)", re.IGNORECASE)
_EN_WORDS = "|".join(sorted(_ENGLISH_WORDS, key=len, reverse=True))
_EN_VALUE = re.compile(
    rf"{_BEFORE}(?:({_EN_NUMBER})(?:st|nd|rd|th)?|\b({_EN_WORDS})\b)(?:\s+({'|'.join(_ENGLISH_SCALES)})\b)?",
    re.IGNORECASE,
)
_EN_ORDINAL_WORD = re.compile(rf"\b({'|'.join(_ENGLISH_ORDINAL_WORDS)})\b", re.IGNORECASE)


@dataclass(frozen=True)
class NumberMention:
    """A number found in a text, normalised: ``kind`` is num, percent, date or time."""

    kind: str
    value: str  # canonical: "1200.5", "7-1" (month-day), "2:30" (12-hour clock)
    text: str  # as written
    start: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.value)

    def english(self) -> str:
        """How the value reads in English (for evidence)."""
        if self.kind == "date":
            month, day = self.value.split("-")
            return f"{int(day)} {ENGLISH_MONTHS[int(month) - 1]}"
        if self.kind == "time":
            return self.value
        number = Decimal(self.value)
        whole = f"{int(number):,}" if number == number.to_integral_value() and abs(number) >= 10000 else self.value
        return f"{whole}%" if self.kind == "percent" else whole


def _canonical(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _dutch_decimal(text: str) -> Decimal:
    if "," in text:  # decimal comma; dots are thousands
        return Decimal(text.replace(".", "").replace(",", "."))
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", text):
        return Decimal(text.replace(".", ""))
    return Decimal(text)


def _english_decimal(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def _blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _time_value(hour: int, minute: int, meridiem: str | None = None) -> str:
    if meridiem and meridiem.lower().startswith("p") and hour < 12:
        hour += 12
    return f"{hour % 12}:{minute:02d}"


def dutch_numbers(text: str) -> list[NumberMention]:
    """The numbers, amounts, percentages, dates and times of a Dutch text, normalised."""
    found: list[NumberMention] = []
    spans: list[tuple[int, int]] = []
    for m in _NL_DATE.finditer(text):
        month = DUTCH_MONTHS.index(m.group(2).lower()) + 1
        found.append(NumberMention("date", f"{month}-{int(m.group(1))}", m.group(0), m.start()))
        if m.group(3):
            found.append(NumberMention("num", m.group(3), m.group(3), m.start(3)))
        spans.append(m.span())
    for m in _NL_TIME.finditer(text):
        found.append(NumberMention("time", _time_value(int(m.group(1)), int(m.group(2))), m.group(0), m.start()))
        spans.append(m.span())
    rest = _blank(text, spans)
    for m in _NL_PERCENT.finditer(rest):
        found.append(NumberMention("percent", _canonical(_dutch_decimal(m.group(1))), m.group(0), m.start()))
        spans.append(m.span())
    rest = _blank(text, spans)
    for m in _NL_VALUE.finditer(rest):
        try:
            value = _dutch_decimal(m.group(1)).scaleb(_DUTCH_SCALES[m.group(2).lower()] if m.group(2) else 0)
        except InvalidOperation:
            continue
        found.append(NumberMention("num", _canonical(value), m.group(0), m.start()))
    return sorted(found, key=lambda n: n.start)


def english_numbers(text: str) -> list[NumberMention]:
    """The numbers, amounts, percentages, dates and times of an English text, normalised.

    A time (``2.30``) also counts as its decimal reading, and a percentage as its bare number.
    """
    found: list[NumberMention] = []
    spans: list[tuple[int, int]] = []
    for pattern, day_group, month_group in ((_EN_DATE_DAY_FIRST, 1, 2), (_EN_DATE_MONTH_FIRST, 2, 1)):
        for m in pattern.finditer(_blank(text, spans)):
            month = [n.lower() for n in ENGLISH_MONTHS].index(m.group(month_group).lower()) + 1
            found.append(NumberMention("date", f"{month}-{int(m.group(day_group))}", m.group(0), m.start()))
            if m.group(3):
                found.append(NumberMention("num", m.group(3), m.group(3), m.start(3)))
            spans.append(m.span())
    rest = _blank(text, spans)
    for m in _EN_TIME.finditer(rest):
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour < 24 and minute < 60:
            found.append(NumberMention("time", _time_value(hour, minute, m.group(3)), m.group(0), m.start()))
    for m in _EN_PERCENT.finditer(rest):
        found.append(NumberMention("percent", _canonical(_english_decimal(m.group(1))), m.group(0), m.start()))
    for m in _EN_VALUE.finditer(rest):
        base = _english_decimal(m.group(1)) if m.group(1) else Decimal(_ENGLISH_WORDS[m.group(2).lower()])
        value = base.scaleb(_ENGLISH_SCALES[m.group(3).lower()] if m.group(3) else 0)
        found.append(NumberMention("num", _canonical(value), m.group(0), m.start()))
    for m in _EN_ORDINAL_WORD.finditer(rest):
        found.append(NumberMention("num", str(_ENGLISH_ORDINAL_WORDS[m.group(1).lower()]), m.group(0), m.start()))
    return sorted(found, key=lambda n: n.start)


def missing_numbers(source: str, target: str) -> list[NumberMention]:
    """The source's numbers (Dutch formats) that the target (English formats) does not contain."""
    have = {n.key for n in english_numbers(target)}
    missing = []
    for mention in dutch_numbers(source):
        alternatives = {mention.key}
        if mention.kind == "num":  # a bare number may come out as a percentage or a day of a date
            alternatives.add(("percent", mention.value))
        if not alternatives & have:
            missing.append(mention)
    return missing


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

CALIBRATION_METHOD = (
    "threshold = the given percentile (linear interpolation between closest ranks) of the mean token "
    "log-probabilities the model gives the gold sentences of the corpus, each decoded with the pipeline's "
    "normal settings"
)


@dataclass(frozen=True)
class Calibration:
    """A model's ``low_confidence`` threshold and how it was found."""

    fingerprint: str
    threshold: float
    percentile: float
    segments: int
    corpus: str
    corpus_digest: str
    method: str = CALIBRATION_METHOD
    created: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, interpolating linearly between closest ranks."""
    finite = sorted(v for v in values if math.isfinite(v))
    if not finite:
        raise ValueError("no finite scores to calibrate on")
    if not 0 <= q <= 100:
        raise ValueError("percentile must be between 0 and 100")
    position = (len(finite) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(finite) - 1)
    return finite[low] + (finite[high] - finite[low]) * (position - low)


NEWS_CORPUS = "nl-news-ud-dev"
CORPUS_ENV = "NL2EN_NEWS_CORPUS"


def find_news_corpus() -> Path | None:
    """The news corpus to calibrate on: ``$NL2EN_NEWS_CORPUS``, else ``shared/corpora/nl-news-ud-dev``
    beside the repository or any folder above it."""
    if os.environ.get(CORPUS_ENV):
        return Path(os.environ[CORPUS_ENV])
    for folder in Path(__file__).resolve().parents:
        candidate = folder / "shared" / "corpora" / NEWS_CORPUS
        if (candidate / "gold.jsonl").is_file():
            return candidate
    return None


def corpus_sentences(corpus_dir: Path, limit: int | None = None) -> list[str]:
    """The gold sentences of a corpus laid out like ``nl-news-ud-dev`` (``<doc>.txt`` + ``gold.jsonl`` ends)."""
    sentences: list[str] = []
    for line in (corpus_dir / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        text = (corpus_dir / f"{record['doc']}.txt").read_text(encoding="utf-8")
        start = 0
        for end in record["ends"]:
            sentence = " ".join(text[start:end].split())
            if sentence:
                sentences.append(sentence)
            start = end
            if limit is not None and len(sentences) >= limit:
                return sentences
    return sentences


def calibrate(
    score_sentences: Callable[[Sequence[str]], Sequence[float | None]],
    fingerprint: str,
    corpus_dir: Path,
    *,
    q: float = 5.0,
    limit: int | None = None,
) -> Calibration:
    """Decode the corpus with ``score_sentences`` and take the ``q``-th percentile of the scores.

    About ``q`` % of ordinary news sentences then fall below the threshold: the flag marks the
    model's least confident segments, in its own scale.
    """
    sentences = corpus_sentences(corpus_dir, limit)
    scores = [s for s in score_sentences(sentences) if s is not None]
    digest = hashlib.sha256("\n".join(sentences).encode("utf-8")).hexdigest()[:16]
    return Calibration(
        fingerprint=fingerprint,
        threshold=percentile(scores, q),
        percentile=q,
        segments=len(scores),
        corpus=corpus_dir.name,
        corpus_digest=digest,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )


CALIBRATION_ENV = "NL2EN_CALIBRATION"


def default_calibration_path() -> Path:
    """``$NL2EN_CALIBRATION``, else ``calibration.json`` beside the translation memory."""
    if os.environ.get(CALIBRATION_ENV):
        return Path(os.environ[CALIBRATION_ENV])
    from pipeline.memory import default_cache_path

    return default_cache_path().parent / "calibration.json"


def calibration_key(fingerprint: str, engine: dict[str, Any]) -> str:
    """Scores differ per model and per engine (backend, compute type, device): a threshold is kept per pair."""
    return f"{fingerprint}|" + "|".join(f"{k}={engine[k]}" for k in sorted(engine) if k != "settings")


@dataclass
class CalibrationStore:
    """Calibrations in one JSON file, keyed by model fingerprint."""

    path: Path

    def load(self) -> dict[str, Calibration]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}  # an unreadable store only means calibrating again
        known = set(Calibration.__dataclass_fields__)
        return {k: Calibration(**{f: v for f, v in d.items() if f in known}) for k, d in data.items()}

    def get(self, fingerprint: str) -> Calibration | None:
        return self.load().get(fingerprint)

    def threshold(self, fingerprint: str) -> float | None:
        calibration = self.get(fingerprint)
        return calibration.threshold if calibration else None

    def put(self, calibration: Calibration) -> None:
        data = {k: c.to_dict() for k, c in self.load().items()}
        data[calibration.fingerprint] = calibration.to_dict()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".calibration-", suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, sort_keys=True)
        os.replace(tmp, self.path)


# --- false positives on reference translations ----------------------------------------------


def false_positive_rates(
    pairs: Sequence[tuple[str, str]], glossary: Any = None, settings: GuardSettings = DEFAULT_SETTINGS
) -> dict[str, Any]:
    """Run every guard over reference translations fed as if they were output: each firing is wrong.

    ``pairs`` are (Dutch source, English reference). With a glossary, terms are checked on
    the reference as the pipeline checks them on output. ``low_confidence`` needs model
    scores and is not measured here.
    """
    from pipeline.glossary import check_terms

    counts = dict.fromkeys(FLAG_NAMES, 0)
    examples: dict[str, list[dict[str, Any]]] = {name: [] for name in FLAG_NAMES}
    for source, reference in pairs:
        terms = check_terms(reference, glossary.find(source))[1] if glossary is not None else []
        for flag in check_segment(source, reference, terms=terms, settings=settings):
            counts[flag.name] += 1
            examples[flag.name].append({"nl": source, "en": reference, "evidence": flag.evidence})
    total = len(pairs)
    return {
        "segments": total,
        "rates": {name: (counts[name] / total if total else 0.0) for name in FLAG_NAMES if name != "low_confidence"},
        "counts": {name: counts[name] for name in FLAG_NAMES if name != "low_confidence"},
        "examples": {name: ex for name, ex in examples.items() if ex},
    }


def reference_false_positives(paths: Sequence[Path], glossary: Any = None) -> dict[str, Any]:
    """``false_positive_rates`` over the ``[[translation]]`` pairs of reference files (``*.refs.toml``)."""
    from pipeline.references import load_references

    pairs = [(s.nl, s.en) for path in paths for s in load_references(path).translations]
    return false_positive_rates(pairs, glossary)


if __name__ == "__main__":  # python -m pipeline.guards seeds/*.refs.toml
    import sys

    from pipeline.glossary import builtin_glossary

    report = reference_false_positives([Path(p) for p in sys.argv[1:]], builtin_glossary())
    print(f"{report['segments']} reference segments fed as output")
    for name, rate in report["rates"].items():
        print(f"{name:18} {report['counts'][name]:3d}  {rate:6.1%}")
    for name, examples in report["examples"].items():
        for example in examples:
            print(f"  {name}: {example['en']!r} {example['evidence']}")
