"""The normal form a source is keyed and compared by."""

from __future__ import annotations

import unicodedata


def normalise_source(text: str) -> str:
    """NFC and collapsed whitespace: the form a source segment is keyed by."""
    return " ".join(unicodedata.normalize("NFC", text).split())
