"""Text as the glossary compares it: NFC, whitespace runs as one space, offsets back into the original."""

from __future__ import annotations

import pytest

from pipeline.quality.matching import normalise, normalised, opens_sentence


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Verenigde Staten", "Verenigde Staten"),
        ("Verenigde\u00a0Staten", "Verenigde Staten"),
        ("Verenigde \t Staten", "Verenigde Staten"),
        ("Verenigde\nStaten", "Verenigde Staten"),  # a wrapped line
        ("Kop\n\nTekst", "Kop\nTekst"),  # a blank line ends a heading
        ("Oekrai\u0308ne", "Oekraïne"),
        ("  Poetin ", "Poetin"),
    ],
)
def test_matching_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_matching_offsets_point_into_the_original() -> None:
    assert normalised("al NFC en enkel") == ("al NFC en enkel", None)  # nothing to do: no copy
    text = "De  Oekrai\u0308ne\u00a0zegt"
    norm, offsets = normalised(text)
    assert norm == "De Oekraïne zegt" and offsets is not None and len(offsets) == len(norm) + 1
    start, end = norm.index("Oekraïne"), norm.index("Oekraïne") + len("Oekraïne")
    assert text[offsets[start] : offsets[end]] == "Oekrai\u0308ne"
    assert text[offsets[norm.index("zegt")] :] == "zegt"


@pytest.mark.parametrize(
    ("text", "word", "opens"),
    [
        ("Chili is heet.", "Chili", True),
        ("Het is heet. Chili ook.", "Chili", True),
        ("Hij zei: ‘Chili ook.’", "Chili", True),
        ("Kop\nChili ook.", "Chili", True),
        ("De regering van Chili zweeg.", "Chili", False),
        ("Het land (Chili) zweeg.", "Chili", False),
        ("Het kost 3.Chili", "Chili", False),  # no space after the full stop
    ],
)
def test_matching_opens_sentence(text: str, word: str, opens: bool) -> None:
    assert opens_sentence(text, text.index(word)) is opens
