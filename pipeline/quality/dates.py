"""Dates in Dutch (``26 december``, ``26 dec.``, ``6 en 7 oktober``, ``1-7-2020``) and English (``26 December``,
``Dec. 26``, ``September 29, 2018``, ``October 6-7``, ``9/11``), as (month, day) with the year where written.

Dutch writes the day first, English either way, and news abbreviates months; a date is compared as its
month and day, so ``26 dec.`` and ``Dec. 26`` are one date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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

# Abbreviated months, matched only as usually written (Dutch lower case, English capitalised): "Jan" is a name too.
_DUTCH_ABBREVIATIONS = {"jan": 1, "feb": 2, "mrt": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9}
_DUTCH_ABBREVIATIONS |= {"sept": 9, "okt": 10, "nov": 11, "dec": 12}
_ENGLISH_ABBREVIATIONS = {"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "Jun": 6, "Jul": 7, "Aug": 8, "Sep": 9}
_ENGLISH_ABBREVIATIONS |= {"Sept": 9, "Oct": 10, "Nov": 11, "Dec": 12}


@dataclass(frozen=True)
class Date:
    """A date as written: its (month, day) readings (two for ``3/4``, either order), and the year if any."""

    start: int
    end: int
    text: str
    readings: tuple[tuple[int, int], ...]
    year: str = ""
    year_start: int = -1


def _months(full: list[str], abbreviations: dict[str, int]) -> str:
    short = "|".join(sorted(abbreviations, key=len, reverse=True))
    return rf"(?:{'|'.join(full)}|(?-i:{short})\.?)"


def _month(name: str, full: list[str], abbreviations: dict[str, int]) -> int:
    name = name.rstrip(".")
    lowered = [m.lower() for m in full]
    return lowered.index(name.lower()) + 1 if name.lower() in lowered else abbreviations[name]


_BEFORE = r"(?<![\w])(?<!\d[.,])"
_DAY = r"(\d{1,2})"
_NL_MONTH = _months(DUTCH_MONTHS, _DUTCH_ABBREVIATIONS)
_NL_ORDINAL = r"(?:e|ste|de)?"
_NL_DATE = re.compile(
    rf"{_BEFORE}(?:{_DAY}{_NL_ORDINAL}\s*(?:en|tot|t/m|-|–)\s*)?{_DAY}{_NL_ORDINAL}\s+({_NL_MONTH})(?!\w)"
    r"(?:\s+(\d{4})\b)?",
    re.IGNORECASE,
)
_NL_NUMERIC_DATE = re.compile(r"(?<![\w.,/-])(\d{1,2})([-/.])(\d{1,2})\2(\d{4})(?![\w/-]|[.,]\d)")
_EN_MONTH = _months(ENGLISH_MONTHS, _ENGLISH_ABBREVIATIONS)
_EN_ORDINAL = r"(?:st|nd|rd|th)?"
_EN_DAY_FIRST = re.compile(
    rf"{_BEFORE}(?:{_DAY}{_EN_ORDINAL}\s*(?:and|to|-|–)\s*)?{_DAY}{_EN_ORDINAL}\s+(?:of\s+)?({_EN_MONTH})(?!\w)"
    r"(?:,?\s+(\d{4})\b)?",
    re.IGNORECASE,
)
_EN_MONTH_FIRST = re.compile(
    rf"(?<!\w)({_EN_MONTH})\s+{_DAY}{_EN_ORDINAL}(?:\s*(?:and|to|-|–)\s*{_DAY}{_EN_ORDINAL})?\b(?:,?\s+(\d{{4}})\b)?",
    re.IGNORECASE,
)
_EN_NUMERIC_DATE = re.compile(r"(?<![\w.,/-])(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?(?![\w/]|[.,]\d)")


def _valid(month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= 31


def _date(m: re.Match[str], days: tuple[str | None, ...], month: int, year_group: int) -> Date:
    readings = tuple((month, int(d)) for d in days if d)
    year = m.group(year_group) or ""
    return Date(m.start(), m.end(), m.group(0), readings, year, m.start(year_group) if year else -1)


def dutch_dates(text: str) -> list[Date]:
    """Every date of a Dutch text: ``26 december 2019``, ``26 dec.``, ``6 en 7 oktober`` (two dates),
    ``1-7-2020`` (day first, with a year so that it is no score or range)."""
    found = []
    for m in _NL_DATE.finditer(text):
        found.append(_date(m, (m.group(1), m.group(2)), _month(m.group(3), DUTCH_MONTHS, _DUTCH_ABBREVIATIONS), 4))
    for m in _NL_NUMERIC_DATE.finditer(text):
        day, month = int(m.group(1)), int(m.group(3))
        if _valid(month, day) and not any(d.start <= m.start() < d.end for d in found):
            found.append(Date(m.start(), m.end(), m.group(0), ((month, day),), m.group(4), m.start(4)))
    return sorted(found, key=lambda d: d.start)


def english_dates(text: str) -> list[Date]:
    """Every date of an English text: ``26 December``, ``the 26th of Dec.``, ``Dec. 26``, ``September 29,
    2018``, ``October 6-7`` (two dates), ``9/11`` or ``3/4/2019`` (month or day first: both readings)."""
    found: list[Date] = []
    for m in _EN_DAY_FIRST.finditer(text):
        month = _month(m.group(3), ENGLISH_MONTHS, _ENGLISH_ABBREVIATIONS)
        found.append(_date(m, (m.group(1), m.group(2)), month, 4))
    for m in _EN_MONTH_FIRST.finditer(text):
        if any(d.start <= m.start() < d.end or m.start() <= d.start < m.end() for d in found):
            continue
        month = _month(m.group(1), ENGLISH_MONTHS, _ENGLISH_ABBREVIATIONS)
        found.append(_date(m, (m.group(2), m.group(3)), month, 4))
    for m in _EN_NUMERIC_DATE.finditer(text):
        first, second = int(m.group(1)), int(m.group(2))
        readings = tuple({(a, b) for a, b in ((first, second), (second, first)) if _valid(a, b)})
        if readings and not any(d.start <= m.start() < d.end for d in found):
            year = m.group(3) if m.group(3) and len(m.group(3)) == 4 else ""
            found.append(Date(m.start(), m.end(), m.group(0), readings, year, m.start(3) if year else -1))
    return sorted(found, key=lambda d: d.start)
