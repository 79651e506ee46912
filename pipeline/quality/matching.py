"""Comparing news text as the glossary does: NFC, whitespace runs as one space, offsets into the original.

A name typed with a no-break space, two spaces or a decomposed accent (``Oekraïne`` as ``e`` and a
combining diaeresis) is the same name; callers match on the normalised text and report spans of
the text as given.
"""

from __future__ import annotations

import re
import unicodedata

_ODD_SPACE = re.compile(r"[^\S ]|\s{2,}")


def normalise(text: str) -> str:
    """NFC, and each run of whitespace one space (a blank line: a newline), ends stripped."""
    return normalised(text.strip())[0]


def normalised(text: str) -> tuple[str, list[int] | None]:
    """``text`` in NFC with whitespace runs collapsed, and the original offset of each of its characters.

    A run of whitespace becomes one space, or one newline where it holds a blank line (a paragraph
    or heading ends there; a single newline only wraps a line).

    The offsets list has one more item than the result (the original length), so a span
    ``[a, b)`` of the result is ``[offsets[a], offsets[b])`` of the original. ``None`` when
    nothing changed (the common case: no copy is made).
    """
    if unicodedata.is_normalized("NFC", text) and not _ODD_SPACE.search(text):
        return text, None
    out: list[str] = []
    offsets: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        if text[i].isspace():
            while j < n and text[j].isspace():
                j += 1
            out.append("\n" if text.count("\n", i, j) > 1 else " ")  # a wrapped line is one line
            offsets.append(i)
        else:
            while j < n and unicodedata.combining(text[j]):
                j += 1
            chunk = unicodedata.normalize("NFC", text[i:j])
            out.extend(chunk)
            offsets.extend([i] * len(chunk))
        i = j
    offsets.append(n)
    return "".join(out), offsets


def opens_sentence(text: str, position: int) -> bool:
    """Whether ``position`` starts ``text``, a line, a sentence or a quotation (after ``.!?:…``)."""
    i = position
    while i > 0 and text[i - 1] in " \t\"'“‘„«([":
        i -= 1
    if i == 0 or text[i - 1] == "\n":
        return True
    while i > 0 and text[i - 1] in "\"'”’»)]":
        i -= 1
    return 0 < i < position and text[i - 1] in ".!?:…"
