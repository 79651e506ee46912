"""A structured document's translation in its own format: units rebuilt, inline elements placed.

Each unit of the document (:mod:`pipeline.formats.base`) is one block of the segmented text
view. Its translation is the block with every segment replaced by its target, the text between
segments (spaces, a ``<br>``'s line break) kept. Inline elements (links, emphasis, Word runs)
are placed in that translation by :func:`pipeline.formats.inline.place_inlines`, from word
alignments when the translator can give them (``align(sources, targets)``: OPUS-MT's guided
alignment head, see :mod:`pipeline.engines.seq2seq`), else by the fallbacks it documents. Then
the format renders the document. How each element was placed is recorded per segment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pipeline.formats.base import Inline, Placed, TranslatedUnit, Unit
from pipeline.formats.inline import SegmentAlignment, place_inlines
from pipeline.text.segment import Segment

Links = tuple[tuple[int, int], ...] | None
Aligner = Callable[[Sequence[str], Sequence[str]], Sequence[Links]]


def unit_translation(
    text: str, start: int, end: int, segments: Sequence[Segment], targets: dict[int, str]
) -> tuple[str, list[tuple[Segment, tuple[int, int]]]]:
    """The translation of ``text[start:end]`` (one unit) and each segment's span in it."""
    parts: list[str] = []
    spans: list[tuple[Segment, tuple[int, int]]] = []
    pos, length = start, 0
    for seg in segments:
        gap = text[pos : seg.start]
        parts.append(gap)
        length += len(gap)
        target = targets.get(seg.index, seg.source)
        parts.append(target)
        spans.append((seg, (length, length + len(target))))
        length += len(target)
        pos = seg.end
    parts.append(text[pos:end])
    return "".join(parts), spans


def _needs_alignment(inlines: Sequence[Inline], start: int, end: int) -> bool:
    """Whether an element covers part of the segment ``[start, end)`` (unit offsets), not none or all of it.

    An element around the whole segment goes around its whole translation, and one outside it
    needs nothing from it: only a part of a sentence needs the model's word alignment, which costs
    a forced decode of the translation.
    """
    return any(
        inline.start < end and start < inline.end and not (inline.start <= start and end <= inline.end)
        for inline in inlines
    )


def _overlaps(inline: Inline, start: int, end: int) -> bool:
    return (inline.start < end and start < inline.end) or (inline.start == inline.end and start <= inline.start <= end)


def render_units(
    text: str,
    blocks: Sequence[tuple[int, int]],
    units: Sequence[Unit],
    segments: Sequence[Segment],
    targets: dict[int, str],
    aligner: Aligner | None = None,
    known: dict[int, Links] | None = None,
) -> tuple[list[TranslatedUnit], dict[int, list[dict[str, Any]]]]:
    """Every unit translated with its inline elements placed, and per segment how they were placed.

    ``blocks[i]`` is unit i's span in the text view ``text``; ``targets`` maps a segment's
    index to its translation (a segment without one keeps its source). ``known`` holds the word
    links a translation came with (CTranslate2 gives them with the decode); the aligner is asked,
    in one call, only for the other segments an inline element covers in part.
    """
    known = known or {}
    by_block: dict[int, list[Segment]] = {}
    for seg in segments:
        by_block.setdefault(seg.block, []).append(seg)
    rendered: list[tuple[str, list[tuple[Segment, tuple[int, int]]]]] = []
    for index, (start, end) in enumerate(blocks):
        rendered.append(unit_translation(text, start, end, by_block.get(index, []), targets))
    wanted = [
        seg
        for index, unit in enumerate(units)
        if unit.inlines
        for seg, _ in rendered[index][1]
        if seg.index in targets
        and seg.index not in known
        and seg.source.strip()
        and targets[seg.index].strip()
        and _needs_alignment(unit.inlines, seg.start - blocks[index][0], seg.end - blocks[index][0])
    ]
    links: dict[int, Links] = dict(known)
    if wanted and aligner is not None:
        try:
            found = aligner([s.source for s in wanted], [targets[s.index] for s in wanted])
            links.update(zip((s.index for s in wanted), found, strict=True))
        except Exception:  # alignment is a refinement: without it, elements are placed by the fallbacks
            pass
    translated: list[TranslatedUnit] = []
    records: dict[int, list[dict[str, Any]]] = {}
    for index, unit in enumerate(units):
        target, spans = rendered[index]
        if not unit.inlines:
            translated.append(TranslatedUnit(target))
            continue
        start = blocks[index][0]
        aligned = [
            SegmentAlignment((seg.start - start, seg.end - start), span, links.get(seg.index)) for seg, span in spans
        ]
        placed = place_inlines(unit, target, aligned)
        translated.append(TranslatedUnit(target, placed))
        for seg, _ in spans:
            local = (seg.start - start, seg.end - start)
            entries = [
                _placement_record(inline, place)
                for inline, place in zip(unit.inlines, placed, strict=True)
                if _overlaps(inline, *local)
            ]
            if entries:
                records[seg.index] = entries
    return translated, records


def _placement_record(inline: Inline, placed: Placed) -> dict[str, Any]:
    """One inline element in a segment's record: what it is, where it was and went (unit offsets), and how."""
    record: dict[str, Any] = {"tag": inline.tag}
    if inline.attrs:
        record["attrs"] = dict(inline.attrs)
    record.update(source=[inline.start, inline.end], target=[placed.start, placed.end], method=placed.method)
    return record
