"""Numbers written as words, in Dutch (``twaalf``, ``vijfentwintig``, ``tweeënhalf``, ``drie miljoen``) and in
English (``twenty-five``, ``two hundred and fifty``, ``a decade``, ``half a million``), read as values.

A translation may spell out what the source writes in digits and the other way round; both sides are
read as values so the guard compares values, not spellings.
"""

from __future__ import annotations

import re
from decimal import Decimal

DUTCH_SCALES = {"duizend": 3, "miljoen": 6, "miljard": 9, "biljoen": 12}
DUTCH_SCALE_ABBREVIATIONS = {"mln": 6, "mld": 9, "mrd": 9, "mljd": 9}
ENGLISH_SCALES = {"thousand": 3, "million": 6, "billion": 9, "trillion": 12}
ENGLISH_SCALE_ABBREVIATIONS = {"bn": 9, "mn": 6, "mln": 6, "tn": 12, "trn": 12}

_NL_UNITS = {"een": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7, "acht": 8, "negen": 9}
_NL_TEENS = {
    "tien": 10,
    "elf": 11,
    "twaalf": 12,
    "dertien": 13,
    "veertien": 14,
    "vijftien": 15,
    "zestien": 16,
    "zeventien": 17,
    "achttien": 18,
    "negentien": 19,
}
_NL_TENS = {
    "twintig": 20,
    "dertig": 30,
    "veertig": 40,
    "vijftig": 50,
    "zestig": 60,
    "zeventig": 70,
    "tachtig": 80,
    "negentig": 90,
}
# "een" alone is mostly the article "a", and "één" (stressed) as often comes out as "a"/"an" as "one": they
# count only inside a compound or before a scale word. "nul" is left out too: mostly idiom ("de nul houden").
_NL_NOT_ALONE = {"een"}
# Idioms with a number word that is no count: "in het honderd lopen" (go wrong), "in acht nemen" (heed).
_NL_IDIOMS = re.compile(
    r"(?<![\w-])(?:in\s+het\s+honderd|in\s+acht(?=\s+(?:te\s+)?(?:nemen|neemt|genomen|nam|namen)\b))", re.IGNORECASE
)


def _nl_below_hundred(word: str) -> int | None:
    if word in _NL_UNITS:
        return _NL_UNITS[word]
    if word in _NL_TEENS:
        return _NL_TEENS[word]
    if word in _NL_TENS:
        return _NL_TENS[word]
    head, sep, tail = word.partition("en")
    while sep:  # "vijfentwintig", "tweeentwintig" (ë folded): unit + "en" + tens
        if head in _NL_UNITS and tail in _NL_TENS:
            return _NL_UNITS[head] + _NL_TENS[tail]
        more, sep, tail = tail.partition("en")
        head = f"{head}en{more}"
    return None


def _nl_below_thousand(word: str) -> int | None:
    head, sep, tail = word.partition("honderd")
    if not sep:
        return _nl_below_hundred(word)
    hundreds = 1 if not head else _nl_below_hundred(head)
    rest = 0 if not tail else _nl_below_hundred(tail.removeprefix("en") if tail != "en" else tail)
    if hundreds is None or rest is None:
        return None
    return hundreds * 100 + rest


def _nl_below_million(word: str) -> int | None:
    head, sep, tail = word.partition("duizend")
    if not sep:
        return _nl_below_thousand(word)
    thousands = 1 if not head else _nl_below_thousand(head)
    rest = 0 if not tail else _nl_below_thousand(tail.removeprefix("en") if tail != "en" else tail)
    if thousands is None or rest is None:
        return None
    return thousands * 1000 + rest


def dutch_word_value(word: str, *, alone: bool = True) -> Decimal | None:
    """The value of one Dutch number word (``twaalf``, ``tweehonderdvijftig``, ``anderhalf``), else None.

    ``alone``: the word stands by itself (not before a scale word), where ``een`` is the article.
    """
    folded = word.lower().replace("ë", "e").replace("é", "e")
    if alone and folded in _NL_NOT_ALONE:
        return None
    if folded == "anderhalf":
        return Decimal("1.5")
    if folded.endswith("enhalf"):
        whole = _nl_below_hundred(folded[: -len("enhalf")])
        return None if whole is None else whole + Decimal("0.5")
    if folded in DUTCH_SCALES:
        return Decimal(1).scaleb(DUTCH_SCALES[folded])
    value = _nl_below_million(folded)
    return None if value is None else Decimal(value)


_NL_WORD = re.compile(r"(?<![\w-])([^\W\d_]+)(?![\w-])")
_NL_SCALE_AFTER = re.compile(rf"\s+({'|'.join(DUTCH_SCALES)})(?![\w-])", re.IGNORECASE)
_NL_HALF_SCALE = re.compile(r"(?<![\w-])(?:(?:een|één)\s+)?half\s+(miljoen|miljard)(?![\w-])", re.IGNORECASE)


def dutch_word_numbers(text: str) -> list[tuple[int, int, Decimal]]:
    """Every number written in Dutch words, with a scale word after it folded in: (start, end, value)."""
    found: list[tuple[int, int, Decimal]] = []
    taken: set[int] = {i for m in _NL_IDIOMS.finditer(text) for i in range(m.start(), m.end())}
    for m in _NL_HALF_SCALE.finditer(text):
        found.append((m.start(), m.end(), Decimal("0.5").scaleb(DUTCH_SCALES[m.group(1).lower()])))
        taken.update(range(m.start(), m.end()))
    for m in _NL_WORD.finditer(text):
        if m.start() in taken:
            continue
        scale = _NL_SCALE_AFTER.match(text, m.end())
        value = dutch_word_value(m.group(1), alone=scale is None)
        if value is None:
            continue
        end = m.end()
        if scale is not None and m.group(1).lower() not in DUTCH_SCALES:
            value = value.scaleb(DUTCH_SCALES[scale.group(1).lower()])
            end = scale.end()
            taken.update(range(scale.start(), end))
        found.append((m.start(), end, value))
        taken.update(range(m.start(), end))
    return sorted(found)


_EN_SMALL = {
    w: i
    for i, w in enumerate(
        [
            *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven"),
            *("twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"),
        ]
    )
} | {"nil": 0}
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80}
_EN_TENS |= {"ninety": 90}
_EN_ORDINALS = {"first": 1, "second": 2, "third": 3, "fifth": 5, "eighth": 8, "ninth": 9, "twelfth": 12} | {
    f"{w}th": v for w, v in _EN_SMALL.items() if v >= 4 and w not in {"five", "eight", "nine", "twelve", "nil"}
}
_EN_ORDINALS |= {f"{w[:-1]}ieth": v for w, v in _EN_TENS.items()}
# Nouns that count in units of several: they multiply the number before them ("two dozen" = 24, "a decade" =
# 10 years, "a pair of" = 2); alone they count nothing ("dozens"), except "decade" ("the past decade").
_EN_COUNT_NOUNS = {"hundred": 100, "dozen": 12, "decade": 10, "decades": 10, "century": 100, "centuries": 100}
_EN_COUNT_NOUNS |= {"pair": 2, "pairs": 2, "couple": 2}
_EN_ALONE = {"hundred": 100, "decade": 10, "both": 2}
_EN_VAGUE = {"decade", "both"}  # alone they may stand for a number in a translation, but name none themselves
_EN_DECADES = {"twenties": 20, "thirties": 30, "forties": 40, "fifties": 50, "sixties": 60, "seventies": 70}
_EN_DECADES |= {"eighties": 80, "nineties": 90}
_EN_OTHER = {"once": 1, "twice": 2, "thrice": 3, "both": 2} | _EN_DECADES
_EN_ALL = {**_EN_SMALL, **_EN_TENS, **_EN_ORDINALS, **_EN_COUNT_NOUNS, **_EN_OTHER}
_EN_ALL |= {w: 10**k for w, k in ENGLISH_SCALES.items()}
_EN_WORD = "|".join(sorted(_EN_ALL, key=len, reverse=True))
_EN_SEQUENCE = re.compile(
    rf"(?<![\w-])(?:(half)\s+)?(?:(an?)\s+)?((?:{_EN_WORD})(?:(?:\s+and\s+|[\s-]+)(?:{_EN_WORD}))*)(?!\w)"
    rf"(\s+and\s+a\s+half(?!\w))?(?:\s+({'|'.join(ENGLISH_SCALES)})(?!\w))?",
    re.IGNORECASE,
)
_EN_WORD_TOKEN = re.compile(rf"(?<!\w)(?:{_EN_WORD})(?!\w)", re.IGNORECASE)


def _digit_like(word: str) -> int | None:
    """The value of a cardinal or ordinal word below a hundred, else None."""
    return _EN_SMALL.get(word, _EN_TENS.get(word, _EN_ORDINALS.get(word)))


def _continues(previous: str, word: str) -> bool:
    """Whether ``word`` carries on the number ``previous`` belongs to ("twenty five", "two hundred", "five
    million"), rather than start a new one ("one two", "five six")."""
    if previous in _EN_ORDINALS or previous in _EN_OTHER:
        return False
    if word in ENGLISH_SCALES:
        return True
    before = _digit_like(previous)
    if word in _EN_COUNT_NOUNS:
        return before is not None and previous not in _EN_COUNT_NOUNS
    value = _digit_like(word)
    if value is None:
        return False
    if previous in _EN_TENS:
        return 1 <= value <= 9
    return previous == "hundred" or previous in ENGLISH_SCALES


def _english_value(words: list[str], article: bool, vague: bool) -> Decimal | None:
    """The value of a run of English number words; ``article``: it starts with ``a``/``an``."""
    if not vague and not article and words[0] in _EN_VAGUE:
        return None
    if not article and words[0] in _EN_COUNT_NOUNS:
        return Decimal(_EN_ALONE[words[0]]) if len(words) == 1 and words[0] in _EN_ALONE else None
    total = Decimal(0)
    current: Decimal | None = Decimal(1) if article else None
    for word in words:
        if word in ENGLISH_SCALES:
            total += (current if current is not None else Decimal(1)).scaleb(ENGLISH_SCALES[word])
            current = None
        elif word in _EN_COUNT_NOUNS:
            current = (current if current is not None else Decimal(1)) * _EN_COUNT_NOUNS[word]
        else:
            current = (current or Decimal(0)) + _EN_ALL[word]
    return total + (current or Decimal(0))


def english_word_numbers(text: str, *, vague: bool = False) -> list[tuple[int, int, Decimal, bool]]:
    """Every number written in English words: (start, end, value, ordinal).

    ``a``/``an`` counts as one before a scale or counting noun (``a million``, ``a decade``); ``half a`` halves;
    ``and a half`` adds a half. ``vague``: also words that can carry a number without naming one (``both``,
    ``the past decade``), for matching a source's numbers.
    """
    found: list[tuple[int, int, Decimal, bool]] = []
    for m in _EN_SEQUENCE.finditer(text):
        tokens = list(_EN_WORD_TOKEN.finditer(text, m.start(3), m.end(3)))
        groups: list[list[re.Match[str]]] = [[tokens[0]]]
        for token in tokens[1:]:
            if _continues(groups[-1][-1].group(0).lower(), token.group(0).lower()):
                groups[-1].append(token)
            else:
                groups.append([token])
        for index, group in enumerate(groups):
            words = [t.group(0).lower() for t in group]
            first, last = index == 0, index == len(groups) - 1
            article = first and bool(m.group(2)) and (words[0] in _EN_COUNT_NOUNS or words[0] in ENGLISH_SCALES)
            value = _english_value(words, article, vague)
            if value is None:
                continue
            start, end = (m.start(2) if article else group[0].start()), group[-1].end()
            if first and m.group(1) and article:
                value, start = value / 2, m.start(1)
            if last and m.group(4):
                value, end = value + Decimal("0.5"), m.end(4)
                if m.group(5):  # "one and a half million"
                    value, end = value.scaleb(ENGLISH_SCALES[m.group(5).lower()]), m.end(5)
            found.append((start, end, value, words[-1] in _EN_ORDINALS))
    return found
