"""Cleaning an instruct model's reply down to the translation (or summary) it holds.

An instruct model asked for a translation often wraps it: a preamble (``Here is the translation:``,
``Translation:``, ``English:``, ``Sure! Here's the English version:``), the prompt's ``Dutch:`` line
echoed, quotation marks around the whole, a second line, a trailing note (``(Note: …)``, ``Note
that …``). :func:`clean_output` removes these and says what it removed (:class:`Cleaned`):

- **lines**: when the source is one line, the reply's first non-empty line is the translation and
  the other lines are dropped; a source with line breaks keeps the reply's;
- **preambles** at the start; a bare label (``Translation:``) only when the source does not open with
  a label of its own (``Vertaling: …`` is rendered ``Translation: …``);
- **quotes** around the whole reply, when the source neither opens nor closes with a quotation mark
  and the reply has no other mark of that kind inside;
- **notes** at the end, after a sentence (``(Note: …)``, ``Note that …``, ``Please note …``), when the
  source has no note of its own (``Let op``, ``N.B.``, ``Noot``).

Each step is applied only when text with a letter or digit remains, so a reply that had such text
is never cleaned to nothing, and the steps are repeated until none applies, so cleaning a cleaned
text changes nothing. The result is always a stretch of the reply: cleaning only cuts.

Regular expressions from the standard library do this; the instruct-model toolkits that strip
replies (guidance, outlines) constrain generation instead, which the engines do not offer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_ALNUM = re.compile(r"\w", re.UNICODE)

# A preamble: an opener that names the translation, then a colon (and the space or lines after it).
_PREAMBLE = re.compile(
    r"""^(?:
        (?:sure|certainly|of\ course|okay|ok|absolutely)\b[!,.]?\s*
            [^\n:]{0,80}?(?:here|translat|english|summar|version)[^\n:]{0,60}:
      | here(?:'s|’s|\ is|\ are)\b[^\n:]{0,80}?(?:translat|english|version|summar|text)[^\n:]{0,40}:
      | (?:the\ |my\ )?(?:english\ )?translation\ (?:of|in|into)\b[^\n:]{0,60}:
    )[ \t]*(?:\n\s*)?""",
    re.IGNORECASE | re.VERBOSE,
)
# An acknowledgement standing as a sentence of its own before the translation (``Of course.``, ``No problem!``),
# unless the source opens with one (``Natuurlijk.``).
_ACK = re.compile(
    r"^(?:sure(?:\ thing)?|certainly|of\ course|okay|ok|absolutely|no\ problem|alright|all\ right|gladly"
    r"|happy\ to\ help|with\ pleasure)\s*[!.]+[ \t]*(?:\n\s*)?(?=\S)",
    re.IGNORECASE | re.VERBOSE,
)
_DUTCH_ACK = re.compile(
    r"^\W*(?:natuurlijk|zeker|uiteraard|oké|ok|okay|prima|geen probleem|graag|goed|absoluut)\b", re.I
)
# Any opener that speaks of the translation and ends with a colon, for a source without a colon (so the
# colon is not the source's), or a line of its own before the translation, for a one-line source.
_TALK = r"(?:translat\w*|english|rendering|rendered|version|as\ follows)"
_TALK_COLON = re.compile(rf"^[^\n:]{{0,80}}\b{_TALK}\b[^\n:]{{0,40}}:[ \t]*(?:\n\s*)?", re.IGNORECASE | re.VERBOSE)
_TALK_LINE = re.compile(rf"^[^\n]{{0,80}}\b{_TALK}\b[^\n]{{0,40}}[:.!]?[ \t]*\n\s*", re.IGNORECASE | re.VERBOSE)
# A bare label of the kind the prompts end with, or a model writes before its answer (Markdown bold or not).
_LABEL = re.compile(
    r"^\**(?:the\ )?(?:english\ translation|english\ version|translated\ text|translation|english|summary"
    r"|(?:english\ )?summary)\s*:\**[ \t]*(?:\n\s*)?",
    re.IGNORECASE | re.VERBOSE,
)
_SOURCE_LABEL = re.compile(r"^[^\s:]{1,30}(?: [^\s:]{1,30})?:")
_ECHO = re.compile(r"^(?:dutch|nederlands)\s*:[^\n]*\n\s*", re.IGNORECASE)

_PAIRS = {'"': '"', "“": "”", "„": "“", "'": "'", "‘": "’", "«": "»", "”": "”"}
_QUOTES = frozenset("\"'“”„‘’«»")

_NOTE_WORDS = (
    r"(?:note|notes|translator'?s?\ note|translation\ note|n\.\ ?b\.?|nb|p\.\ ?s\.?|literally|literal\ translation"
    r"|explanation|context)"
)
# A note in brackets (round or square, perhaps in Markdown emphasis) at the end.
_PAREN_NOTE = re.compile(rf"\s*\**[(\[]\s*{_NOTE_WORDS}\b[^()\[\]]*[)\]]\**\s*$", re.IGNORECASE | re.VERBOSE)
# A remark after a sentence: a note, an explanation, a restatement (``In other words, …``).
_SENTENCE_NOTE = re.compile(
    r"(?<=[.!?…\"”’)])\s+(?:[(\[*—–-]\s*)*"
    r"(?:please\ note|note\ that"
    r"|(?:note|n\.\ ?b\.?|nb|p\.\ ?s\.?|translator'?s?\ note|explanation|literally)\s*[:.\-–—]"
    r"|in\ other\ words|put\ simply|simply\ put|that\ is\ to\ say)(?:\b|\s).*$",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)
_DUTCH_NOTE = re.compile(
    r"\b(?:noot|let op|merk op|opmerking|n\.b\.|nb:|p\.s\.|ps\b|uitleg|letterlijk|met andere woorden|oftewel"
    r"|dat wil zeggen|kortom)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Stripped:
    """One thing cleaning removed, and its kind: ``preamble``, ``label``, ``echo``, ``lines``, ``quotes``, ``note``."""

    kind: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "text": self.text}


@dataclass(frozen=True)
class Cleaned:
    """A reply cleaned down to its translation, and what was removed, in the order it was."""

    text: str
    stripped: tuple[Stripped, ...] = ()

    def record(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.stripped]


def _keeps_text(rest: str) -> bool:
    return bool(_ALNUM.search(rest))


def _strip_start(text: str, pattern: re.Pattern[str], kind: str, found: list[Stripped]) -> str:
    match = pattern.match(text)
    if match and match.end() > 0 and _keeps_text(text[match.end() :]):
        found.append(Stripped(kind, match.group(0).strip()))
        return text[match.end() :]
    return text


def _first_line(text: str, found: list[Stripped]) -> str:
    lines = text.split("\n")
    first = next(i for i, line in enumerate(lines) if line.strip())
    if not _keeps_text(lines[first]):
        return text
    rest = "\n".join(lines[first + 1 :]).strip()
    if rest:
        found.append(Stripped("lines", rest))
    return lines[first]


def _strip_quotes(text: str, source: str, found: list[Stripped]) -> str:
    if len(text) < 3 or (source and (source[0] in _QUOTES or source[-1] in _QUOTES)):
        return text
    opening = text[0]
    closing = _PAIRS.get(opening)
    if closing is None:
        return text
    inner, tail = text[1:], ""
    if inner.endswith(closing):
        inner = inner[:-1]
    elif len(inner) > 1 and inner[-2] == closing and inner[-1] in ".!?":  # "It rains". → It rains.
        inner, tail = inner[:-2], inner[-1]
    else:
        return text
    if any(mark in inner for mark in {opening, closing}) or not _keeps_text(inner):
        return text
    found.append(Stripped("quotes", opening + closing))
    return inner + tail


def _strip_notes(text: str, source: str, found: list[Stripped]) -> str:
    if _DUTCH_NOTE.search(source):
        return text
    for pattern in (_PAREN_NOTE, _SENTENCE_NOTE):
        if pattern is _PAREN_NOTE and source.rstrip().endswith(")"):
            continue
        match = pattern.search(text)
        if match and _keeps_text(text[: match.start()]):
            found.append(Stripped("note", match.group(0).strip()))
            return text[: match.start()]
    return text


def _step(text: str, source: str, found: list[Stripped], one_line: bool) -> str:
    text = text.strip()
    text = _strip_start(text, _PREAMBLE, "preamble", found)
    if not _DUTCH_ACK.match(source):
        text = _strip_start(text, _ACK, "preamble", found)
    if not _SOURCE_LABEL.match(source):
        text = _strip_start(text.strip(), _LABEL, "label", found)
    if not _ECHO.match(source + "\n"):
        text = _strip_start(text.strip(), _ECHO, "echo", found)
    if ":" not in source and not _LABEL.match(text.strip()):  # a bare label is the next round's
        text = _strip_start(text.strip(), _TALK_COLON, "preamble", found)
    if one_line and "\n" not in source.strip():
        text = _strip_start(text.strip(), _TALK_LINE, "preamble", found)
    text = text.strip()
    if one_line and "\n" in text:
        text = _first_line(text, found).strip()
    text = _strip_quotes(text, source.strip(), found).strip()
    return _strip_notes(text, source, found).strip()


def clean_output(output: str, source: str, *, one_line: bool | None = None) -> Cleaned:
    """``output`` cleaned down to the translation of ``source`` it holds (see the module doc).

    ``one_line``: keep only the reply's first line; by default, when ``source`` is one line (a
    summary of a one-paragraph text may still take several lines: its caller says False).
    """
    found: list[Stripped] = []
    text = output.strip()
    if one_line is None:
        one_line = "\n" not in source.strip()
    while True:  # each step only cuts, so this ends; at the fixed point cleaning is idempotent
        cleaned = _step(text, source, found, one_line)
        if cleaned == text:
            return Cleaned(text, tuple(found))
        text = cleaned
