"""Lossless segmentation of a decoded article into blocks and segments.

Blocks mirror the input's lines (metadata, headings, list items, paragraphs, blank
lines); segments are the units that are translated (sentences, headings) or kept
verbatim (metadata, list markers). Every segment records its character offsets into
the decoded text, ``text[start:end] == source``, and every non-whitespace character
of the input lies in exactly one segment: the translation can always be rebuilt by
replacing segment spans, so nothing is lost and the layout survives.

Sentence splitting uses ``sentencex`` (Wikimedia's maintained, language-aware
segmenter, which keeps Dutch „…” quotes intact), only to find boundaries; the
spans are then taken from the original text, so the segmenter can never drop or
alter a character. Dutch news as printed needs a few rules on top:

- ASCII newspaper quotes (``,,`` opens, ``''`` closes, with or without a space) are
  shown to sentencex as „…”, so a quote starts and ends sentences the same way;
- a sentence goes on after an abbreviation (``o.a.``, ``d.w.z.``, ``jan.``) unless a
  capital follows, always after a title (``dr.``, ``mw.``, ``gen.``), and into text
  that opens with a lowercase letter or a comma (``,,Ja?'' vroeg hij.``);
- a sentence ends after an ordinary word that sentencex takes for an abbreviation
  (``al``, ``top``, ``vol``) or an ordinal (``3e``), before a capital, a quote or an
  elided article (``'t Is``).

``pipeline.evaluation.segmentation`` measures the boundaries against a gold corpus.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["metadata", "heading", "list_item", "paragraph", "blank"]
SegmentKind = Literal["metadata", "marker", "heading", "sentence"]

TRANSLATABLE_KINDS: frozenset[str] = frozenset({"heading", "sentence"})

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# A metadata prefix such as the seed's leading " date 2019-12": kept, never translated.
_METADATA_PREFIX = re.compile(
    r"^[ \t]*(?P<meta>(?:date|datum|published|gepubliceerd)[ \t]*:?[ \t]+\d{4}(?:-\d{1,2}){0,2})(?=\s|$)",
    re.IGNORECASE,
)
# Whole header lines such as "Bron: NRC" or "url: https://…" before the first blank line.
_METADATA_LINE = re.compile(
    r"^[ \t]*(?:source|bron|author|auteur|url|link|id|language|taal)[ \t]*:[ \t]*\S.*$", re.IGNORECASE
)
_LIST_MARKER = re.compile(r"^[ \t]*(?P<marker>[-*•–—]|\d{1,3}[.)])[ \t]+(?=\S)")
# ASCII newspaper quotes: ,, opens and '' closes (a lone comma or apostrophe is not one).
_ASCII_OPEN_QUOTE = re.compile(r"(?<!,),,(?!,)")
_ASCII_CLOSE_QUOTE = re.compile(r"(?<!')''(?!')")
# How a sentence may begin: an opening quote, then a capital, or the elided article of
# "'s Avonds", "'t Is" (an apostrophe, s/t/n, a space) before a capital.
_SENTENCE_OPENING = r"(?:,,|[„“‘\"(])?\s*(?:'[stn]\s+)?"
# Opening quotes, skipped when looking at how a piece of text starts.
_OPENING_QUOTE = re.compile(r"^(?:,,|[„“‘\"])\s*")
# A comma (not ",,"), semicolon, colon or closing bracket never starts a sentence.
_CONTINUING_PUNCTUATION = re.compile(r"^(?:,(?!,)|[;:)\]}])")
# A full stop after a lowercase word or an ordinal (3e, 21ste, 2de), not inside a URL,
# number or compound, with a capitalised sentence opening after the space.
_WORD_STOP = re.compile(
    r"(?<![\w.@/\-'])(?P<word>[^\W\d_]{2,}|\d+(?:e|ste|de))(?P<stop>\.)"
    rf"(?=\s+{_SENTENCE_OPENING}(?P<next>[^\W\d_]))"
)
_SENTENCE_END = (".", "!", "?", ":", ";", ",", "…")
# Closing quotes and brackets that may follow a sentence's last punctuation mark.
_CLOSING = "'\"”’»)] "

# Abbreviations after which sentencex may split although the sentence goes on.
# Titles are always followed by a name; the others only when the next piece does not
# start with a capital letter.
# Titles, forms of address, ranks, "vs." and bodies (gem., prov.): a name always follows.
_TITLES = frozenset(
    {
        "mr.", "dr.", "prof.", "dhr.", "mevr.", "mw.", "mej.", "hr.", "ir.", "drs.", "ing.", "st.", "mgr.", "ds.",
        "br.", "zr.", "kard.", "gebr.", "fam.", "wed.", "burg.", "weth.", "pres.", "sen.", "gen.", "lt.", "kol.",
        "maj.", "kpt.", "sgt.", "adm.", "vs.", "gem.", "prov.", "univ.", "afd.",
    }
)  # fmt: skip
_ABBREVIATIONS = frozenset(
    {
        "o.a.", "d.w.z.", "bijv.", "bv.", "b.v.", "ca.", "c.q.", "e.d.", "enz.", "etc.", "i.p.v.", "m.b.t.",
        "t.a.v.", "t.o.v.", "v.s.", "z.g.", "zgn.", "nl.", "nr.", "blz.", "p.", "vgl.", "resp.", "incl.",
        "excl.", "max.", "min.", "jl.", "a.s.", "ong.", "jan.", "feb.", "mrt.", "apr.", "jun.", "jul.",
        "aug.", "sep.", "sept.", "okt.", "nov.", "dec.", "e.a.", "n.a.v.", "m.i.v.", "m.u.v.", "v.d.",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Segment:
    """A span of the input: translated (sentence, heading) or kept (metadata, marker)."""

    index: int
    block: int
    kind: SegmentKind
    start: int
    end: int
    source: str

    @property
    def translatable(self) -> bool:
        return self.kind in TRANSLATABLE_KINDS


@dataclass(frozen=True)
class Block:
    """One input line: its kind and the span it covers, line break excluded."""

    index: int
    kind: BlockKind
    start: int
    end: int


@dataclass
class Document:
    """A decoded article with its blocks and segments, in input order."""

    text: str
    blocks: list[Block] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)

    @property
    def translatable(self) -> list[Segment]:
        return [s for s in self.segments if s.translatable]

    def render(self, targets: dict[int, str]) -> str:
        """Rebuild the text with each segment span replaced by its target.

        Segments absent from ``targets`` keep their source, so metadata and list
        markers survive, and so do all whitespace and line endings.
        """
        parts: list[str] = []
        pos = 0
        for seg in self.segments:
            parts.append(self.text[pos : seg.start])
            parts.append(targets.get(seg.index, seg.source))
            pos = seg.end
        parts.append(self.text[pos:])
        return "".join(parts)


def _lines(text: str) -> Iterator[tuple[int, int]]:
    """Spans of the lines of ``text``, line breaks excluded; any line-ending style."""
    pos = 0
    for match in _LINE_BREAK.finditer(text):
        yield pos, match.start()
        pos = match.end()
    yield pos, len(text)


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _is_heading(line: str, prev_blank: bool, next_blank: bool) -> bool:
    stripped = line.strip()
    return (
        prev_blank
        and next_blank
        and 0 < len(stripped) <= 80
        and len(stripped.split()) <= 10
        and not stripped.rstrip(_CLOSING).endswith(_SENTENCE_END)
        and stripped[0].isupper()
    )


def _typographic_quotes(chunk: str) -> str:
    """``chunk`` with ASCII newspaper quotes as typographic ones, every offset unchanged.

    Dutch papers print ``,,`` to open a quote and ``''`` to close it. sentencex knows
    „…” but reads ``,,`` as commas (no sentence can start there) and pairs the
    apostrophes of ``''`` as single quotes (no sentence can end between them). Each
    pair becomes its typographic mark plus a space on the side away from the quoted
    text, so a boundary found in the copy is the same offset in the original.
    """
    chunk = _ASCII_OPEN_QUOTE.sub("„ ", chunk)
    return _ASCII_CLOSE_QUOTE.sub(" ”", chunk)


def _raw_sentence_ends(chunk: str, language: str = "nl") -> list[int]:
    """Offsets in ``chunk`` where sentencex ends a sentence (boundaries only)."""
    from sentencex import segment as sentencex_segment

    ends: list[int] = []
    pos = 0
    chunk = _typographic_quotes(chunk)
    try:
        pieces = list(sentencex_segment(language, chunk))
    except Exception:  # a segmenter failure must never lose text: keep the chunk whole
        return []
    for piece in pieces:
        stripped = piece.strip()
        if not stripped:
            continue
        found = chunk.find(stripped, pos)
        if found < 0:  # the segmenter altered the text: skip this boundary, keep the text
            continue
        pos = found + len(stripped)
        ends.append(pos)
    return ends


def _word_ends(chunk: str) -> list[int]:
    """Ends of sentences closed by a word that sentencex takes for an abbreviation.

    sentencex's Dutch list holds ordinary words that often end a sentence (``al``,
    ``best``, ``dat``, ``pas``, ``top``, ``vol``, …) and it never splits after an
    ordinal (``werd 3e.``). A full stop after a lowercase word of two or more letters
    or an ordinal, followed by a capitalised sentence opening, is a boundary unless the
    word is one of the abbreviations this module knows.
    """
    return [
        m.end("stop")
        for m in _WORD_STOP.finditer(chunk)
        if (m.group("word").islower() or m.group("word")[0].isdigit())
        and m.group("next").isupper()
        and f"{m.group('word')}." not in _ABBREVIATIONS | _TITLES
    ]


def _continues_after(piece: str, following: str) -> bool:
    """True when the sentence goes on past the end of ``piece``.

    A Dutch sentence never starts with a lowercase letter, even after an opening
    quote, nor with a comma, semicolon, colon or closing bracket: such text is the rest
    of the previous sentence (``,,Waarom?'' vroeg hij.``, ``,,Kom!'', riep ze.``).
    Titles are always followed by a name; other abbreviations end a sentence only
    before a capital.
    """
    if _OPENING_QUOTE.sub("", following, count=1)[:1].islower() or _CONTINUING_PUNCTUATION.match(following):
        return True
    words = piece.split()
    if not words:
        return False
    last = words[-1].lower().lstrip("(„\"'‘“")
    if last in _TITLES:
        return True
    return last in _ABBREVIATIONS and not following[:1].isupper()


def sentence_spans(text: str, start: int, end: int, language: str = "nl") -> list[tuple[int, int]]:
    """Sentence spans inside ``text[start:end]``, stripped of surrounding whitespace."""
    chunk = text[start:end]
    found = _raw_sentence_ends(chunk, language) + _word_ends(chunk)
    cuts = [c for c in found if 0 < c < len(chunk)] + [len(chunk)]
    spans: list[tuple[int, int]] = []
    prev = 0
    for cut in sorted(set(cuts)):
        s, e = _strip_span(chunk, prev, cut)
        prev = cut
        if s == e:
            continue
        if spans and _continues_after(chunk[spans[-1][0] : spans[-1][1]], chunk[s:e]):
            spans[-1] = (spans[-1][0], e)
        else:
            spans.append((s, e))
    return [(start + s, start + e) for s, e in spans]


def segment_document(text: str) -> Document:
    """Split decoded text into blocks (one per line) and segments."""
    doc = Document(text=text)
    lines = list(_lines(text))
    blank = [not text[s:e].strip() for s, e in lines]
    in_header = True

    def add(block: int, kind: SegmentKind, start: int, end: int) -> None:
        doc.segments.append(Segment(len(doc.segments), block, kind, start, end, text[start:end]))

    for i, (ls, le) in enumerate(lines):
        line = text[ls:le]
        if blank[i]:
            doc.blocks.append(Block(i, "blank", ls, le))
            in_header = False
            continue
        content_start = ls
        kind: BlockKind = "paragraph"
        if in_header and _METADATA_LINE.match(line):
            s, e = _strip_span(text, ls, le)
            doc.blocks.append(Block(i, "metadata", ls, le))
            add(i, "metadata", s, e)
            continue
        meta = _METADATA_PREFIX.match(line) if in_header else None
        if meta:
            add(i, "metadata", ls + meta.start("meta"), ls + meta.end("meta"))
            content_start = ls + meta.end()
            if not text[content_start:le].strip():
                doc.blocks.append(Block(i, "metadata", ls, le))
                continue
        marker = _LIST_MARKER.match(line)
        if marker and not meta:
            kind = "list_item"
            add(i, "marker", ls + marker.start("marker"), ls + marker.end("marker"))
            content_start = ls + marker.end()
        elif not meta and _is_heading(line, i == 0 or blank[i - 1], i + 1 == len(lines) or blank[i + 1]):
            kind = "heading"
        doc.blocks.append(Block(i, kind, ls, le))
        if kind == "heading":
            s, e = _strip_span(text, content_start, le)
            add(i, "heading", s, e)
        else:
            for s, e in sentence_spans(text, content_start, le):
                add(i, "sentence", s, e)
    return doc


def segment_units(texts: Sequence[str], whole: Sequence[bool], separator: str = "\n\n") -> Document:
    """Segment a structured document's units, given as their text views, into one Document.

    The document's text is the units' texts joined by ``separator`` (the text view every
    record's offsets index); each unit is one block. A unit marked ``whole`` (a title, a
    heading, an attribute value) is one ``heading`` segment, the others are split into
    sentences. A unit's line breaks (``<br>``, a cue's second line) stay inside its sentences.
    """
    doc = Document(text=separator.join(texts))
    pos = 0
    for index, (unit, keep_whole) in enumerate(zip(texts, whole, strict=True)):
        start, end = pos, pos + len(unit)
        pos = end + len(separator)
        if not unit.strip():
            doc.blocks.append(Block(index, "blank", start, end))
            continue
        doc.blocks.append(Block(index, "heading" if keep_whole else "paragraph", start, end))
        spans = [_strip_span(doc.text, start, end)] if keep_whole else sentence_spans(doc.text, start, end)
        for s, e in spans:
            doc.segments.append(
                Segment(len(doc.segments), index, "heading" if keep_whole else "sentence", s, e, doc.text[s:e])
            )
    return doc
