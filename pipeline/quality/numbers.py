"""Numbers, amounts, percentages, dates, times and measures in Dutch sources and English outputs, as comparable
values, and the source's numbers an output lacks (the ``number_mismatch`` guard).

Each Dutch number gets every reading a correct English translation may carry: ``15 uur`` → 15:00 or
``3 p.m.``; ``10 jaar`` → ``a decade``; ``de jaren 80`` → ``the 1980s``; ``250 kg`` → ``550 pounds`` (converted,
within rounding, only with the unit next to it). Each English number gets every reading its spelling allows
(``£2.8bn``, ``three per cent``, ``6-foot-6``). A Dutch number is missing when none of its readings is there.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from pipeline.quality.clock import clock, dutch_times, english_times
from pipeline.quality.dates import ENGLISH_MONTHS, Date, dutch_dates, english_dates
from pipeline.quality.number_words import (
    DUTCH_SCALE_ABBREVIATIONS,
    DUTCH_SCALES,
    ENGLISH_SCALE_ABBREVIATIONS,
    ENGLISH_SCALES,
    dutch_word_numbers,
    english_word_numbers,
)
from pipeline.quality.units import (
    FEET_AND_INCHES,
    TEMPERATURE_UNITS,
    dutch_unit_at,
    english_unit_at,
    same_quantity,
)

_NL_NUMBER = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?(?![.,]?\d)|\d+,\d+|\d+\.\d+|\d+"


_EN_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![.,]?\d)|\d+\.\d+|\d+"


_BEFORE = r"(?<![\w])(?<!\d[.,])"


_NL_DECADE = re.compile(
    r"(?<![\w-])jaren\s+(?:['’]?(\d0)(?!\d)|(twintig|dertig|veertig|vijftig|zestig|zeventig|tachtig|negentig)\b)",
    re.IGNORECASE,
)
_NL_DECADE_WORDS = {"twintig": 20, "dertig": 30, "veertig": 40, "vijftig": 50, "zestig": 60, "zeventig": 70}
_NL_DECADE_WORDS |= {"tachtig": 80, "negentig": 90}
_NL_PERCENT = re.compile(r"\s*(?:%|procent\b|pct\b\.?)", re.IGNORECASE)
_NL_SCALE = "|".join(DUTCH_SCALES)
_NL_ABBREVIATED_SCALE = "|".join(DUTCH_SCALE_ABBREVIATIONS)
_NL_VALUE = re.compile(
    rf"{_BEFORE}({_NL_NUMBER})(?:e|ste|de)?(?:\s+({_NL_SCALE})\b|\s*({_NL_ABBREVIATED_SCALE})\b\.?)?", re.IGNORECASE
)
_NL_SCALES = DUTCH_SCALES | DUTCH_SCALE_ABBREVIATIONS
_NL_RANGE = re.compile(r"\s*(?:tot|à|a|-|–|en|of|naar)\s*|\s*[-–]\s*", re.IGNORECASE)
_CLOCK_LIKE = re.compile(r"(\d{1,2})\.(\d{2})")


_EN_PERCENT = re.compile(r"\s*(?:%|percent\b|per\s+cent\b|pct\b|pc\b)", re.IGNORECASE)
_EN_FRACTION = re.compile(r"(?<![\w-])(half|(?:a|one)\s+quarter|three\s+quarters)(?![\w-])", re.IGNORECASE)
_FRACTION_PERCENT = {"half": "50", "quarter": "25", "quarters": "75"}
_EN_ONE = re.compile(r"(?<![\w-])(half\s+an?|an?|one)(?=[\s-])", re.IGNORECASE)  # "an inch", "half a gallon"
_MINUS = re.compile(r"(?:(?<![\w.,])[-−–]|\bmin(?:us)?\s+)$", re.IGNORECASE)
_EN_SCALE = "|".join([*ENGLISH_SCALES, *ENGLISH_SCALE_ABBREVIATIONS])
_EN_VALUE = re.compile(
    rf"{_BEFORE}({_EN_NUMBER})(?:st|nd|rd|th)?(?:\s*({_EN_SCALE})\b|(m|k)\b)?",
    re.IGNORECASE,
)
_EN_RANGE = re.compile(r"\s*(?:to|and|or)\s*|\s*[-–]\s*", re.IGNORECASE)
_EN_SCALES = ENGLISH_SCALES | ENGLISH_SCALE_ABBREVIATIONS | {"m": 6, "k": 3}


@dataclass(frozen=True)
class NumberMention:
    """A number found in a text, normalised: ``kind`` is num, percent, date or time.

    ``unit``: the measure written next to it (``"kg"``, ``"mi"``; see ``units.UNITS``). ``also``: other
    ``(kind, value)`` readings a correct translation may carry instead (a Dutch ``15 uur`` is 15 hours or 3 p.m.).
    """

    kind: str
    value: str  # canonical: "1200.5", "7-1" (month-day), "14:30" (24-hour clock)
    text: str  # as written
    start: int
    unit: str = ""
    also: frozenset[tuple[str, str]] = field(default=frozenset(), compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.value)

    @property
    def readings(self) -> frozenset[tuple[str, str]]:
        """Every (kind, value) this number may be written as."""
        return self.also | {self.key}

    def english(self) -> str:
        """How the value reads in English (for evidence)."""
        if self.kind == "date":
            month, day = self.value.split("-")
            return f"{int(day)} {ENGLISH_MONTHS[int(month) - 1]}"
        if self.kind == "time":
            return " or ".join(sorted(v for k, v in self.readings if k == "time"))
        number = Decimal(self.value)
        whole = f"{int(number):,}" if number == number.to_integral_value() and abs(number) >= 10000 else self.value
        if self.unit:
            return f"{whole} {self.unit}"
        return f"{whole}%" if self.kind == "percent" else whole


def _date_mentions(date: Date) -> list[NumberMention]:
    found = [NumberMention("date", f"{month}-{day}", date.text, date.start) for month, day in date.readings]
    if date.year:
        found.append(NumberMention("num", date.year, date.year, date.year_start))
    return found


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


def _signed(item: _Value, text: str) -> Decimal:
    """A temperature's sign: ``-5 graden``, ``min 5 graden``, ``minus 5C`` (elsewhere a dash is a range or hyphen)."""
    if item.unit in TEMPERATURE_UNITS and _MINUS.search(text[max(0, item.start - 8) : item.start]):
        return -item.value
    return item.value


def _clock_readings(written: str) -> frozenset[tuple[str, str]]:
    """A Dutch ``12.55`` with no ``uur`` may still be a time (Dutch decimals take a comma)."""
    m = _CLOCK_LIKE.fullmatch(written)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        return frozenset()
    hour, minute = int(m.group(1)), int(m.group(2))
    hours = {hour} if hour > 12 or hour == 0 else {hour % 12, hour % 12 + 12}
    return frozenset(("time", clock(h, minute)) for h in hours)


@dataclass
class _Value:
    """A number as written, before it becomes mentions: what follows it decides its kind and unit."""

    start: int
    end: int
    value: Decimal
    digits: str = ""  # as written, when in digits
    plain: bool = False  # the unscaled reading of an attached "m"/"k"
    percent_end: int | None = None
    unit: str = ""
    unit_end: int | None = None

    @property
    def written_end(self) -> int:
        return self.percent_end or self.unit_end or self.end


def _ranges(values: list[_Value], text: str, connector: re.Pattern[str]) -> list[_Value]:
    """``5 tot 10 cm``, ``2 to 4 inches``, ``five to ten per cent``: the first number of a range takes the unit
    or percent sign written after the second. Returns the first numbers so read."""
    ordered = sorted(values, key=lambda v: v.start)
    taken = []
    for first, second in itertools.pairwise(ordered):
        if first.unit or first.percent_end or not (second.unit or second.percent_end):
            continue
        if connector.fullmatch(text[first.end : second.start]):
            taken.append(_Value(first.start, first.end, first.value, first.digits, first.plain, None, second.unit))
            if second.percent_end:
                taken[-1].percent_end = first.end
    return taken


def dutch_numbers(text: str) -> list[NumberMention]:
    """The numbers, amounts, percentages, dates and times of a Dutch text, normalised."""
    found: list[NumberMention] = []
    spans: list[tuple[int, int]] = []
    for date in dutch_dates(text):
        found += _date_mentions(date)
        spans.append((date.start, date.end))
    for time in dutch_times(_blank(text, spans)):
        times = frozenset(("time", t) for t in time.readings)
        if time.hour is not None and time.hour > 23:  # "24 uur": a duration
            found.append(NumberMention("num", str(time.hour), time.text, time.start, also=times))
        else:
            hour = {("num", str(time.hour))} if time.hour is not None else set()
            found.append(NumberMention("time", time.readings[0], time.text, time.start, also=times | hour))
        spans.append((time.start, time.end))
    for m in _NL_DECADE.finditer(_blank(text, spans)):
        decade = int(m.group(1)) if m.group(1) else _NL_DECADE_WORDS[m.group(2).lower()]
        centuries = frozenset({("num", str(1900 + decade)), ("num", str(2000 + decade))})
        found.append(NumberMention("num", str(decade), m.group(0), m.start(), also=centuries))
        spans.append(m.span())
    rest = _blank(text, spans)
    values: list[_Value] = []
    for m in _NL_VALUE.finditer(rest):
        scale = m.group(2) or m.group(3)
        try:
            value = _dutch_decimal(m.group(1)).scaleb(_NL_SCALES[scale.lower()] if scale else 0)
        except InvalidOperation:
            continue
        values.append(_Value(m.start(), m.end(), value, m.group(1)))
        spans.append(m.span())
    values += [_Value(start, end, value) for start, end, value in dutch_word_numbers(_blank(text, spans))]
    for item in values:
        percent = _NL_PERCENT.match(text, item.end)
        unit = None if percent else dutch_unit_at(text, item.end)
        item.percent_end = percent.end() if percent else None
        item.unit, item.unit_end = unit if unit else ("", None)
    ranged = {v.start: v for v in _ranges(values, text, _NL_RANGE)}
    for written_value in values:
        item = ranged.get(written_value.start, written_value)
        canonical = _canonical(_signed(item, text))
        written = text[item.start : item.written_end]
        if item.percent_end and item.start not in ranged:
            found.append(NumberMention("percent", canonical, written, item.start))
            continue
        also = frozenset({("percent", canonical)}) | _clock_readings(item.digits)
        found.append(NumberMention("num", canonical, written, item.start, item.unit, also))
    return sorted(found, key=lambda n: n.start)


def _english_values(rest: str, vague: bool) -> list[_Value]:
    """Every number written in digits or words; an attached ``m``/``k`` gives a scaled reading and a plain one
    (``£125m`` is 125,000,000, ``100m`` is 100 metres)."""
    values: list[_Value] = []
    spans = []
    for m in _EN_VALUE.finditer(rest):
        base = _english_decimal(m.group(1))
        scale = (m.group(2) or m.group(3) or "").lower()
        values.append(_Value(m.start(), m.end(), base.scaleb(_EN_SCALES[scale]) if scale else base, m.group(1)))
        if m.group(3):
            values.append(_Value(m.start(), m.end(1), base, m.group(1), plain=True))
        spans.append(m.span())
    words = english_word_numbers(_blank(rest, spans), vague=vague)
    values += [_Value(start, end, value) for start, end, value, _ in words]
    for item in values:
        percent = None if item.plain else _EN_PERCENT.match(rest, item.end)
        unit = english_unit_at(rest, item.end)
        item.percent_end = percent.end() if percent else None
        item.unit, item.unit_end = unit if unit else ("", None)
    return values


def english_numbers(text: str, *, vague: bool = False) -> list[NumberMention]:
    """The numbers, amounts, percentages, dates, times and measures of an English text, normalised.

    A number may come with several readings at one position: a percentage also as its bare number, a time
    (``2.30``) also as its decimal, ``£125m`` as 125,000,000 and as 125 (``m``), ``6-foot-6`` as 6 ft and 78 in.
    ``vague``: also words that may carry a source's number without naming one (``half`` for 50 %, ``both``,
    ``the past decade``, ``at 9``): readings for matching a translation, not numbers of its own.
    """
    found: list[NumberMention] = []
    spans: list[tuple[int, int]] = []
    for date in english_dates(text):
        found += _date_mentions(date)
        if "/" not in date.text:  # "3/4" may be a fraction or a ratio as well: its numbers stay
            spans.append((date.start, date.end))
    rest = _blank(text, spans)
    for time in english_times(rest, vague=vague):
        found += [NumberMention("time", reading, time.text, time.start) for reading in time.readings]
    for m in FEET_AND_INCHES.finditer(rest):
        inches = int(m.group(1)) * 12 + int(m.group(2))
        found.append(NumberMention("num", str(inches), m.group(0), m.start(), unit="in"))
    values = _english_values(rest, vague)
    for item in values + _ranges([v for v in values if not v.plain], rest, _EN_RANGE):
        canonical = _canonical(_signed(item, rest))
        written = rest[item.start : item.written_end]
        if item.percent_end:
            found.append(NumberMention("percent", canonical, written, item.start))
        found.append(NumberMention("num", canonical, written, item.start, item.unit))
    for m in _EN_ONE.finditer(rest if vague else ""):
        unit = english_unit_at(rest, m.end())
        if unit and len(rest[m.end() : unit[1]].strip(" -")) > 1:
            one = "0.5" if m.group(1).lower().startswith("half") else "1"
            found.append(NumberMention("num", one, rest[m.start() : unit[1]], m.start(), unit[0]))
    for m in _EN_FRACTION.finditer(rest if vague else ""):  # "half" of them for "50 procent"
        found.append(NumberMention("percent", _FRACTION_PERCENT[m.group(1).split()[-1].lower()], m.group(0), m.start()))
    unique = {(n.kind, n.value, n.start, n.unit): n for n in found}
    return sorted(unique.values(), key=lambda n: (n.start, n.kind, n.value, n.unit))


def matches(mention: NumberMention, reading: NumberMention) -> bool:
    """Whether ``reading`` (an English number) carries ``mention`` (a Dutch one): one of its readings, or the
    same measure converted, with its unit written, within rounding."""
    if reading.key in mention.readings:
        return True
    if not (mention.unit and reading.unit and mention.kind == reading.kind == "num"):
        return False
    return same_quantity(Decimal(mention.value), mention.unit, Decimal(reading.value), reading.unit)


def missing_numbers(source: str, target: str) -> list[NumberMention]:
    """The source's numbers (Dutch formats) that the target (English formats) does not contain."""
    english = english_numbers(target, vague=True)
    have = {n.key for n in english}
    measures = [n for n in english if n.unit]
    missing = []
    for mention in dutch_numbers(source):
        if mention.readings & have or any(matches(mention, reading) for reading in measures):
            continue
        missing.append(mention)
    return missing
