"""Rebuilding a structured document's units from translated segments, and who is asked for alignments."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.formats.base import Inline, Unit
from pipeline.runs.structured import render_units
from pipeline.text.segment import segment_units


def _document(units: list[Unit]) -> tuple[str, list[tuple[int, int]], list]:  # type: ignore[type-arg]
    doc = segment_units([u.text for u in units], [False] * len(units))
    return doc.text, [(b.start, b.end) for b in doc.blocks], doc.segments


def test_structured_units_keep_the_text_between_their_segments() -> None:
    units = [Unit("Eerste zin.  Tweede zin.\nDerde zin."), Unit("Los.")]
    text, blocks, segments = _document(units)
    targets = {s.index: f"<{s.source.upper()}>" for s in segments}
    translated, records = render_units(text, blocks, units, segments, targets)
    assert [t.text for t in translated] == ["<EERSTE ZIN.>  <TWEEDE ZIN.>\n<DERDE ZIN.>", "<LOS.>"]
    assert records == {}  # no inline elements: nothing placed, no record


def test_structured_alignments_are_asked_only_for_segments_an_element_covers_in_part() -> None:
    # "de wet" is part of the first sentence; <b> holds the whole second; the third has none
    units = [
        Unit(
            "Het kabinet stelt de wet uit. Dat is nieuw. Niemand weet waarom.",
            inlines=(Inline(18, 24, 0, "a", {"href": "https://x.nl"}), Inline(30, 43, 1, "b")),
        )
    ]
    text, blocks, segments = _document(units)
    asked: list[str] = []

    def aligner(sources: Sequence[str], targets: Sequence[str]) -> list[tuple[tuple[int, int], ...] | None]:
        asked.extend(sources)
        return [tuple((i, i) for i in range(len(t.split()))) for t in targets]

    targets = {s.index: s.source.swapcase() for s in segments}
    [unit], records = render_units(text, blocks, units, segments, targets, aligner)
    assert asked == ["Het kabinet stelt de wet uit."]
    first, second, third = segments
    link, bold = unit.inlines
    assert unit.text[link.start : link.end] == "DE WET" and link.method == "aligned"
    assert (
        unit.text[bold.start : bold.end] == "dAT IS NIEUW." and bold.method == "aligned"
    )  # a whole segment: word for word
    assert [r["tag"] for r in records[first.index]] == ["a"] and records[first.index][0]["attrs"] == {
        "href": "https://x.nl"
    }
    assert [r["tag"] for r in records[second.index]] == ["b"] and third.index not in records


def test_structured_a_failing_aligner_falls_back_to_placement_without_links() -> None:
    units = [Unit("Het kabinet stelt de wet uit.", inlines=(Inline(18, 24, 0, "em"),))]
    text, blocks, segments = _document(units)

    def broken(sources: Sequence[str], targets: Sequence[str]) -> list[tuple[tuple[int, int], ...] | None]:
        raise RuntimeError("no attention here")

    [unit], records = render_units(text, blocks, units, segments, {0: "The cabinet postpones the law."}, broken)
    [placed] = unit.inlines
    assert placed.method in {"copied", "proportional"} and 0 <= placed.start < placed.end <= len(unit.text)
    assert records[0][0]["method"] == placed.method


def test_structured_links_a_translation_came_with_are_used_without_asking_the_aligner() -> None:
    units = [Unit("Het kabinet stelt de wet uit.", inlines=(Inline(18, 24, 0, "a"),))]
    text, blocks, segments = _document(units)

    def never(sources: Sequence[str], targets: Sequence[str]) -> list[tuple[tuple[int, int], ...] | None]:
        raise AssertionError("asked for links the translation already had")

    # "de wet" (words 3 and 4) is linked to "law" (word 4) and "the" (word 3)
    known = {0: ((0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 2))}
    [unit], _ = render_units(text, blocks, units, segments, {0: "The cabinet postpones the law."}, never, known)
    [placed] = unit.inlines
    assert unit.text[placed.start : placed.end] == "the law" and placed.method == "aligned"
