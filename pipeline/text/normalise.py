"""The normal form a source is keyed and compared by."""

from __future__ import annotations

import unicodedata


def normalise_source(text: str) -> str:
    """NFC and collapsed whitespace: the form a source segment is keyed by."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def normal_positions(text: str) -> list[int]:
    """For each character of ``" ".join(text.split())``, its index in ``text``.

    The collapsing half of :func:`normalise_source`: a whitespace run becomes one space (mapped to
    the run's first character), leading and trailing runs go. Offsets of two texts with the same
    normal form map onto each other through it.
    """
    positions: list[int] = []
    space: int | None = None
    for index, char in enumerate(text):
        if char.isspace():
            if positions and space is None:
                space = index
            continue
        if space is not None:
            positions.append(space)
            space = None
        positions.append(index)
    return positions
