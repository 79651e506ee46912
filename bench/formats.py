"""``--only formats``: a web page through nl2en (``--html page``) against its text view translated as plain text."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from bench.common import ROOT


_SENTENCE_MARKS = re.compile(r"[.!?:;\"„”“]")


def dutch_sentences(corpus: Path | None) -> list[str]:
    """Dutch sentences: the seeds' segments, then (for long pages) those of the corpus articles."""
    from pipeline.text.reader import read_article
    from pipeline.text.segment import segment_document

    files = sorted((ROOT / "seeds").glob("*.txt"))
    if corpus is not None and corpus.is_dir():
        files += sorted(corpus.glob("*.txt"))
    return [s.source for f in files for s in segment_document(read_article(f).text).translatable]


class DutchText:
    """Hands out Dutch text of about a given length, whole words, from a stream of sentences."""

    def __init__(self, sentences: Sequence[str]) -> None:
        self._words: Iterator[str] = (w for s in _cycle(sentences) for w in s.split())
        self._next = next(self._words)

    def take(self, length: int) -> str:
        words = [self._next]
        self._next = next(self._words)
        size = len(words[0])
        while size + 1 + len(self._next) <= length:
            size += 1 + len(self._next)
            words.append(self._next)
            self._next = next(self._words)
        return " ".join(words)


def _cycle(sentences: Sequence[str]) -> Iterator[str]:
    while True:
        yield from sentences


def dutch_page(data: bytes, name: str, sentences: Sequence[str]) -> bytes:
    """The page with each unit's text replaced by Dutch text of about its length; every tag and attribute kept.

    The page's own renderer writes it back: inline elements keep their relative place in each unit.
    """
    from pipeline.formats.base import WHOLE_KINDS, FormatOptions, Placed, TranslatedUnit
    from pipeline.formats.html import parse

    parsed = parse(data, name, FormatOptions(html="page"))
    stream = DutchText(sentences)
    units = []
    for unit in parsed.units:
        text = stream.take(len(unit.text))
        if unit.kind in WHOLE_KINDS:  # a title, heading or attribute is one phrase, as the page's own is
            text = _SENTENCE_MARKS.sub("", text)
            text = text[:1].upper() + text[1:]
        ratio = len(text) / max(1, len(unit.text))
        placed = tuple(
            Placed(i.ref, min(len(text), round(i.start * ratio)), min(len(text), round(i.end * ratio)), "proportional")
            for i in unit.inlines
        )
        units.append(TranslatedUnit(text, placed))
    return parsed.render(units)
