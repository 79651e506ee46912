"""Clock times in Dutch (``14.30 uur``, ``om 15 uur``, ``12.55 u.``, ``half twee``, ``om 8 uur 's avonds``) and
English (``3 p.m.``, ``5.30pm``, ``14:30``, ``half past one``, ``noon``), read as every 24-hour time they can mean.

Dutch news writes the 24-hour clock, English news mostly the 12-hour one, so ``15 uur`` and ``3 p.m.`` are the
same time and ``14.30 uur`` and ``2:30 am`` are not. A time without its half of the day (``om 8 uur``,
``at 2.30``) may mean either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.quality.number_words import dutch_word_value, english_word_numbers


@dataclass(frozen=True)
class ClockTime:
    """A time as written: where, and its 24-hour readings (``"15:00"``); ``hour`` when it is a bare count of
    hours that may be a duration as well (``binnen 24 uur``, not ``om 15 uur`` or ``8 uur 's avonds``)."""

    start: int
    end: int
    text: str
    readings: tuple[str, ...]
    hour: int | None = None


def clock(hour: int, minute: int = 0) -> str:
    """The canonical 24-hour reading: ``clock(15, 0)`` → ``"15:00"``."""
    return f"{hour % 24}:{minute:02d}"


def _readings(hours: set[int], minute: int) -> tuple[str, ...]:
    return tuple(sorted({clock(h, minute) for h in hours}, key=lambda t: (int(t.split(":")[0]), t)))


# --- Dutch ----------------------------------------------------------------------------------

_NL_PREPOSITION = re.compile(
    r"(?:\b(?:om|tot|vanaf|rond|omstreeks|tegen|na|tussen|en|van|uiterlijk|sinds)|[-–])\s*$", re.IGNORECASE
)
_NL_CLOCK_PREPOSITION = re.compile(r"\b(?:om|rond|omstreeks|tegen|vanaf|tot)\s*$", re.IGNORECASE)
_NL_DAYPART = r"(?:'s|’s|des)\s*(ochtends|morgens|middags|avonds|nachts)"
_NL_DAYPART_AFTER = re.compile(rf"\s*,?\s*{_NL_DAYPART}", re.IGNORECASE)
_NL_DAYPART_BEFORE = re.compile(rf"{_NL_DAYPART}\s+(?:om|rond|tot|vanaf|omstreeks|tegen)?\s*$", re.IGNORECASE)
_NL_CLOCK = re.compile(r"(?<![\w.,])(\d{1,2})([.:])(\d{2})(?![.,]?\d)(?:\s*(uur\b|u\b\.?|h\b))?", re.IGNORECASE)
_NL_HOUR = re.compile(r"(?<![\w.,])(\d{1,2}\s*|[^\W\d_]+\s+)(uur\b|u\b\.?|h\b)", re.IGNORECASE)
_NL_WORD_CLOCK = re.compile(
    r"(?<![\w-])(?:(?!kwart\b|half\b)(\d{1,2}|[^\W\d_]+)\s+(?:minuten\s+)?(over|voor)\s+)?(half|kwart\s+over|kwart\s+voor)?\s*"
    r"(?<![\w-])(\d{1,2}|[^\W\d_]+)(?![\w-])",
    re.IGNORECASE,
)


def _dutch_hours(hour: int, daypart: str | None) -> set[int]:
    """The 24-hour hours a Dutch hour can be, given ``'s ochtends`` and the like (or not)."""
    if hour > 12 or hour == 0:
        return {hour % 24}
    part = (daypart or "").lower()
    if part in {"ochtends", "morgens"}:
        return {hour % 12}
    if part == "middags":
        return {12 if hour == 12 else hour + 12}
    if part == "avonds":
        return {0 if hour == 12 else hour + 12}
    if part == "nachts":
        return {0} if hour == 12 else ({hour, hour + 12} if hour >= 9 else {hour})
    return {hour % 12, hour % 12 + 12}


def _daypart(text: str, start: int, end: int) -> tuple[str | None, int]:
    after = _NL_DAYPART_AFTER.match(text, end)
    if after:
        return after.group(1), after.end()
    before = _NL_DAYPART_BEFORE.search(text[max(0, start - 30) : start])
    return (before.group(1) if before else None), end


def _after_preposition(text: str, start: int) -> bool:
    return bool(_NL_PREPOSITION.search(text[max(0, start - 12) : start]))


def _dutch_hour_word(word: str, max_hour: int) -> int | None:
    if word.isdigit():
        value = int(word)
    else:
        number = dutch_word_value(word, alone=False)
        if number is None or number != number.to_integral_value():
            return None
        value = int(number)
    return value if 0 <= value <= max_hour else None


def dutch_times(text: str) -> list[ClockTime]:
    """Every clock time of a Dutch text: ``14.30 uur``, ``17:30``, ``om 15 uur``, ``19 u.``, ``half twee``,
    ``kwart over drie``, ``tien over half vier``, with ``'s ochtends``/``'s avonds`` and the like."""
    found: list[ClockTime] = []
    taken: set[int] = set()

    def add(start: int, end: int, hours: set[int], minute: int, hour: int | None = None) -> None:
        if taken.isdisjoint(range(start, end)):
            found.append(ClockTime(start, end, text[start:end], _readings(hours, minute), hour))
            taken.update(range(start, end))

    for m in _NL_CLOCK.finditer(text):
        hour, minute = int(m.group(1)), int(m.group(3))
        if hour > 24 or minute > 59 or not (m.group(2) == ":" or m.group(4) or _after_preposition(text, m.start())):
            continue
        daypart, end = _daypart(text, m.start(), m.end())
        add(m.start(), end, _dutch_hours(hour, daypart), minute)
    for m in _NL_HOUR.finditer(text):
        hour_word = _dutch_hour_word(m.group(1).strip(), 24)
        if hour_word is None or (not m.group(2).lower().startswith("uur") and not _after_preposition(text, m.start())):
            continue
        if m.group(1).strip().lower() == "een" and not _after_preposition(text, m.start()):
            continue  # "een uur" is "an hour"
        daypart, end = _daypart(text, m.start(), m.end())
        clock_only = daypart is not None or bool(_NL_CLOCK_PREPOSITION.search(text[max(0, m.start() - 12) : m.start()]))
        hours = _dutch_hours(hour_word, daypart) if hour_word < 24 else {0}
        add(m.start(), end, hours, 0, None if clock_only else hour_word)
    for m in _NL_WORD_CLOCK.finditer(text):
        target = _dutch_hour_word(m.group(4), 12)
        if target is None or not (m.group(3) or m.group(1)) or target == 0:
            continue
        minutes = 0 if m.group(1) is None else _dutch_hour_word(m.group(1), 29)
        if minutes is None or (m.group(1) and not _after_preposition(text, m.start())):
            continue
        lead = (m.group(3) or "").lower().split()
        offset = {"half": -30, "kwart": 15 if lead[-1:] == ["over"] else -15}.get(lead[0], 0) if lead else 0
        offset += minutes if (m.group(2) or "").lower() == "over" else -minutes
        total = (target * 60 + offset) % 720
        daypart, end = _daypart(text, m.start(), m.end())
        hour = total // 60 or 12
        add(m.start(), end, _dutch_hours(hour, daypart), total % 60)
    return sorted(found, key=lambda t: t.start)


# --- English --------------------------------------------------------------------------------

_EN_MERIDIEM = (
    r"(a\.?\s?m\b\.?|p\.?\s?m\b\.?|in\s+the\s+morning\b|in\s+the\s+afternoon\b|in\s+the\s+evening\b|at\s+night\b)"
)
_EN_CLOCK = re.compile(rf"(?<![\w.,])(\d{{1,2}})[.:](\d{{2}})(?![.,]?\d)(?:\s*{_EN_MERIDIEM})?", re.IGNORECASE)
_EN_HOUR = re.compile(rf"(?<![\w.,])(\d{{1,2}})\s*{_EN_MERIDIEM}", re.IGNORECASE)
_EN_OCLOCK = re.compile(rf"(?<![\w.,])(\d{{1,2}})\s*o['’]clock(?:\s*{_EN_MERIDIEM})?", re.IGNORECASE)
_EN_PAST = re.compile(  # "half past one", "quarter to ten", "ten past six", "20 minutes to 9" (not "five to ten")
    rf"(?<![\w-])(?:(half|quarter)\s+(past|to)|(\d{{1,2}})\s+(?:minutes\s+(past|to)|(past)))\s+(\d{{1,2}})(?![\w-])"
    rf"(?:\s*{_EN_MERIDIEM})?",
    re.IGNORECASE,
)
_EN_AT_HOUR = re.compile(  # "at 9", "until 11": a bare hour after a word that takes a time
    r"(?<![\w-])(?:at|until|till|from|around|by|before|after)\s+(\d{1,2})(?![\w,:%]|\.\d|\s*(?:%|per\s*cent|percent))",
    re.IGNORECASE,
)
_EN_NOON = re.compile(r"(?<![\w-])(noon|midday|midnight)(?![\w-])", re.IGNORECASE)


def _english_hours(hour: int, meridiem: str | None) -> set[int]:
    if meridiem is None:
        return {hour} if hour > 12 or hour == 0 else {hour % 12, hour % 12 + 12}
    part = meridiem.lower().replace(".", "").replace(" ", "")
    if part.startswith("a") or part.endswith("morning"):
        return {hour % 12} if hour <= 12 else set()
    if part.endswith("night"):
        return {hour % 12 + 12} if hour >= 6 else {hour % 12}
    return {hour % 12 + 12} if hour <= 12 else {hour}


def _spell_numbers(text: str) -> str:
    """``text`` with English number words (``three o'clock``, ``half past one``) written as digits, padded with
    spaces to the same length (positions stay those of ``text``), so the clock patterns read both."""
    chars = list(text)
    for start, end, value, ordinal in english_word_numbers(text):
        if ordinal or value != value.to_integral_value() or not 0 <= value <= 59:
            continue
        chars[start:end] = list(str(int(value)).ljust(end - start))
    return "".join(chars)


def english_times(text: str, *, vague: bool = False) -> list[ClockTime]:
    """Every clock time of an English text: ``3 p.m.``, ``5.30pm``, ``12:55 p.m.``, ``14:30``, ``at 2.30``,
    ``three o'clock``, ``half past one``, ``quarter to ten``, ``noon``, ``midnight``.

    ``vague``: also a bare hour after ``at``/``until`` and the like (``at 9``), for matching a source's times.
    """
    found: list[ClockTime] = []
    for source, spelled in ((text, False), (_spell_numbers(text), True)):
        if spelled and source == text:
            continue
        for m in _EN_CLOCK.finditer(source):
            hour, minute = int(m.group(1)), int(m.group(2))
            if hour < 24 and minute < 60 and (hours := _english_hours(hour, m.group(3))):
                found.append(ClockTime(m.start(), m.end(), text[m.start() : m.end()], _readings(hours, minute)))
        for pattern in (_EN_HOUR, _EN_OCLOCK):
            for m in pattern.finditer(source):
                hour = int(m.group(1))
                if hour < 24 and (hours := _english_hours(hour, m.group(2))):
                    found.append(ClockTime(m.start(), m.end(), text[m.start() : m.end()], _readings(hours, 0)))
        for m in _EN_AT_HOUR.finditer(source if vague and not spelled else ""):  # not "at two police vans"
            if (hour := int(m.group(1))) < 24:
                found.append(
                    ClockTime(m.start(1), m.end(), text[m.start(1) : m.end()], _readings(_english_hours(hour, None), 0))
                )
        for m in _EN_PAST.finditer(source):
            hour, direction = int(m.group(6)), (m.group(2) or m.group(4) or m.group(5)).lower()
            minutes = {"half": 30, "quarter": 15}[m.group(1).lower()] if m.group(1) else int(m.group(3))
            if not 1 <= hour <= 12 or minutes >= 60:
                continue
            total = (hour * 60 + (minutes if direction == "past" else -minutes)) % 720
            hours = _english_hours(total // 60 or 12, m.group(7))
            found.append(ClockTime(m.start(), m.end(), text[m.start() : m.end()], _readings(hours, total % 60)))
    for m in _EN_NOON.finditer(text):
        found.append(ClockTime(m.start(), m.end(), m.group(0), (clock(0 if m.group(1).lower() == "midnight" else 12),)))
    unique = {(t.start, t.readings): t for t in found}.values()
    inside = [
        t
        for t in unique
        if not any(o.start <= t.start and t.end <= o.end and o.end - o.start > t.end - t.start for o in unique)
    ]
    return sorted(inside, key=lambda t: t.start)
