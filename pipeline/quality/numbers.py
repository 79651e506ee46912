"""Numbers, amounts, percentages, dates and times in Dutch sources and English outputs, as comparable values."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

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
