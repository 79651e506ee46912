"""Cutting text into pieces without losing a character: at clause boundaries, then words, then anywhere."""

from __future__ import annotations

import re
from collections.abc import Callable

_CLAUSE_BREAK = re.compile(r"(?<=[;:,])\s+|\s+(?=[–—-]\s)")


def _middle_cut(text: str, cuts: list[int]) -> int | None:
    inner = [c for c in cuts if 0 < c < len(text)]
    return min(inner, key=lambda c: abs(c - len(text) / 2)) if inner else None


def split_to_fit(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Split ``text`` into pieces that each satisfy ``fits``, losing no character.

    Cuts at the clause boundary nearest the middle (``; : ,`` and dashes), else at the
    whitespace nearest the middle, else in the middle of an over-long token; recursive,
    so pieces stay as long as the model allows.
    """
    text = text.strip()
    if not text or fits(text):
        return [text] if text else []
    cut = _middle_cut(text, [m.end() for m in _CLAUSE_BREAK.finditer(text)])
    if cut is None:
        cut = _middle_cut(text, [m.start() for m in re.finditer(r"\s+", text)])
    if cut is None:
        cut = max(1, len(text) // 2)
    return split_to_fit(text[:cut], fits) + split_to_fit(text[cut:], fits)


def clause_pieces(text: str) -> list[str]:
    """``text`` cut at every clause boundary (``; : ,`` and spaced dashes); one piece when there is none."""
    pieces, start = [], 0
    for match in _CLAUSE_BREAK.finditer(text):
        pieces.append(text[start : match.start()])
        start = match.end()
    pieces.append(text[start:])
    return [p for p in pieces if p.strip()]
