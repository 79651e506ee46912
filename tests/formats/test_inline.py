"""Placing inline elements in a translation: table cases, properties of any placement, the tiny model end to end."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.formats.base import Inline, Placed, Unit
from pipeline.formats.inline import SegmentAlignment, place_inlines

METHODS = {"aligned", "copied", "proportional", "whole"}


def inline(text: str, covered: str, ref: int, tag: str = "a", nth: int = 0) -> Inline:
    """The element over the ``nth`` occurrence of ``covered`` in ``text``."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(covered, start + 1)
    return Inline(start, start + len(covered), ref, tag)


def one_segment(text: str, translated: str, links: tuple[tuple[int, int], ...] | None) -> list[SegmentAlignment]:
    return [SegmentAlignment((0, len(text)), (0, len(translated)), links)]


def spans(unit: Unit, translated: str, segments: list[SegmentAlignment]) -> list[tuple[str, str]]:
    """(placed text, method) per element."""
    return [(translated[p.start : p.end], p.method) for p in place_inlines(unit, translated, segments)]


NL = "Gisteren sprak Rutte in Brussel met de Europese Commissie."
EN = "Yesterday Rutte spoke with the European Commission in Brussels."
# Gisteren0 sprak1 Rutte2 in3 Brussel4 met5 de6 Europese7 Commissie.8
# Yesterday0 Rutte1 spoke2 with3 the4 European5 Commission6 in7 Brussels.8
LINKS = ((0, 0), (2, 1), (1, 2), (5, 3), (6, 4), (7, 5), (8, 6), (3, 7), (4, 8))


def test_place_a_link_around_a_name_that_moves_is_copied_without_alignments() -> None:
    unit = Unit(NL, inlines=(inline(NL, "Rutte", 1),))
    assert spans(unit, EN, one_segment(NL, EN, None)) == [("Rutte", "copied")]


def test_place_a_word_that_moves_follows_its_links_and_leaves_the_full_stop_out() -> None:
    unit = Unit(NL, inlines=(inline(NL, "Brussel", 1, "em"), inline(NL, "Gisteren", 2, "strong")))
    assert spans(unit, EN, one_segment(NL, EN, LINKS)) == [("Brussels", "aligned"), ("Yesterday", "aligned")]


def test_place_emphasis_around_a_word_with_links() -> None:
    nl, en = "Hij liep snel naar huis.", "He walked home quickly."
    links = ((0, 0), (1, 1), (3, 2), (4, 2), (2, 3))  # snel2 → quickly.3
    unit = Unit(nl, inlines=(inline(nl, "snel", 1, "em"),))
    assert spans(unit, en, one_segment(nl, en, links)) == [("quickly", "aligned")]


def test_place_nested_link_and_emphasis_stay_nested() -> None:
    outer, inner = inline(NL, "de Europese Commissie", 1, "a"), inline(NL, "Europese", 2, "em")
    placed = place_inlines(Unit(NL, inlines=(outer, inner)), EN, one_segment(NL, EN, LINKS))
    assert [(EN[p.start : p.end], p.method) for p in placed] == [
        ("the European Commission", "aligned"),
        ("European", "aligned"),
    ]
    assert placed[0].start <= placed[1].start and placed[1].end <= placed[0].end


def test_place_a_child_covering_its_whole_parent_takes_the_parents_span() -> None:
    outer, inner = inline(NL, "de Europese Commissie", 1, "a"), inline(NL, "de Europese Commissie", 2, "em")
    placed = place_inlines(Unit(NL, inlines=(outer, inner)), EN, one_segment(NL, EN, LINKS))
    assert [(p.start, p.end) for p in placed] == [(placed[0].start, placed[0].end)] * 2


def test_place_a_child_whose_links_fall_outside_its_parent_is_placed_inside_it() -> None:
    # the parent's links say "the European Commission"; the child's say "Yesterday": outside the parent
    outer, inner = inline(NL, "de Europese Commissie", 1, "a"), inline(NL, "Europese", 2, "em")
    links = ((0, 0), (2, 1), (1, 2), (5, 3), (6, 4), (7, 0), (8, 6), (3, 7), (4, 8))
    placed = place_inlines(Unit(NL, inlines=(outer, inner)), EN, one_segment(NL, EN, links))
    assert placed[0].start <= placed[1].start < placed[1].end <= placed[0].end
    assert placed[1].method == "proportional"


def test_place_an_element_over_the_whole_sentence_covers_the_whole_translation() -> None:
    unit = Unit(NL, inlines=(Inline(0, len(NL), 1, "strong"),))
    assert spans(unit, EN + " ", one_segment(NL, EN, None)) == [(EN, "whole")]


def test_place_an_element_spanning_two_segments_runs_from_the_first_to_the_last_linked_word() -> None:
    first, second = "Het regent in Utrecht.", "Morgen wordt het droog."
    nl = f"{first} {second}"
    en_first, en_second = "It is raining in Utrecht.", "Tomorrow it will be dry."
    en = f"{en_first} {en_second}"
    segments = [
        SegmentAlignment((0, len(first)), (0, len(en_first)), ((0, 0), (1, 1), (1, 2), (2, 3), (3, 4))),
        SegmentAlignment(
            (len(first) + 1, len(nl)), (len(en_first) + 1, len(en)), ((0, 0), (2, 1), (1, 2), (1, 3), (3, 4))
        ),
    ]
    across = Inline(nl.index("Utrecht"), nl.index("wordt") + len("wordt"), 1, "a")  # "Utrecht. Morgen wordt"
    assert spans(Unit(nl, inlines=(across,)), en, segments) == [("Utrecht. Tomorrow it will be", "aligned")]


def test_place_an_element_covering_one_whole_segment_takes_its_translation() -> None:
    first, second = "Het regent.", "Morgen wordt het droog."
    nl, en = f"{first} {second}", "It is raining. Tomorrow it will be dry."
    segments = [
        SegmentAlignment((0, len(first)), (0, 14), None),
        SegmentAlignment((len(first) + 1, len(nl)), (15, len(en)), None),
    ]
    unit = Unit(nl, inlines=(Inline(len(first) + 1, len(nl), 1, "em"),))
    assert spans(unit, en, segments) == [("Tomorrow it will be dry.", "aligned")]


def test_place_zero_width_elements_go_after_the_translation_of_the_word_before() -> None:
    after_rutte = NL.index("Rutte") + len("Rutte")
    elements = (
        Inline(after_rutte, after_rutte, 1, "br"),  # "Rutte<br> in"
        Inline(0, 0, 2, "a"),  # an empty anchor at the start
        Inline(len(NL), len(NL), 3, "br"),  # at the end
    )
    placed = place_inlines(Unit(NL, inlines=elements), EN, one_segment(NL, EN, LINKS))
    assert all(p.start == p.end for p in placed)
    assert [p.start for p in placed] == [EN.index("Rutte") + len("Rutte"), 0, len(EN)]
    assert placed[0].method == "aligned"


def test_place_a_zero_width_element_without_links_lands_between_words() -> None:
    middle = NL.index(" met")
    placed = place_inlines(Unit(NL, inlines=(Inline(middle, middle, 1, "br"),)), EN, one_segment(NL, EN, None))
    (only,) = placed
    assert only.start == only.end and only.method == "proportional"
    assert EN[only.start] == " "  # the end of a word, not inside one


def test_place_scattered_links_are_not_trusted() -> None:
    # "de Europese Commissie" linked to "Yesterday" and "Brussels.": first and last word of the translation
    links = ((0, 1), (2, 1), (1, 2), (5, 3), (6, 0), (7, 8), (8, 8), (3, 7), (4, 6))
    unit = Unit(NL, inlines=(inline(NL, "de Europese Commissie", 1),))
    ((_, method),) = spans(unit, EN, one_segment(NL, EN, links))
    assert method == "proportional"


def test_place_too_few_linked_words_are_not_trusted() -> None:
    links = ((0, 0), (2, 1), (1, 2), (5, 3), (8, 6), (3, 7), (4, 8))  # de6 and Europese7 have no link
    unit = Unit(NL, inlines=(inline(NL, "de Europese Commissie", 1),))
    assert spans(unit, EN, one_segment(NL, EN, links))[0][1] == "proportional"


def test_place_proportional_keeps_the_relative_position_in_whole_words() -> None:
    nl, en = "een twee drie vier", "one two three four"
    unit = Unit(nl, inlines=(inline(nl, "drie", 1),))
    assert spans(unit, en, one_segment(nl, en, None)) == [("three", "proportional")]


def test_place_a_repeated_name_goes_to_the_occurrence_nearest_its_position() -> None:
    nl, en = "Rutte zei dat Rutte bleef.", "Rutte said that Rutte stayed."
    unit = Unit(nl, inlines=(inline(nl, "Rutte", 1, nth=1),))
    placed = place_inlines(unit, en, one_segment(nl, en, None))
    assert (placed[0].start, placed[0].method) == (en.index("Rutte", 1), "copied")


def test_place_a_name_inside_a_longer_word_is_not_a_copy() -> None:
    nl, en = "Hij woont in Brussel.", "He lives in Brussels."
    unit = Unit(nl, inlines=(inline(nl, "Brussel", 1),))
    assert spans(unit, en, one_segment(nl, en, None))[0][1] == "proportional"


def test_place_siblings_on_one_word_never_overlap() -> None:
    nl, en = "Hij ging weg.", "He left."
    links = ((0, 0), (1, 1), (2, 1))
    unit = Unit(nl, inlines=(inline(nl, "ging", 1), inline(nl, "weg", 2)))
    first, second = place_inlines(unit, en, one_segment(nl, en, links))
    assert en[first.start : first.end] == "left"
    assert second.start >= first.end  # no room left: after it, zero-width


def test_place_empty_translation_gives_zero_width_spans() -> None:
    unit = Unit(NL, inlines=(inline(NL, "Rutte", 1), Inline(0, len(NL), 2, "b")))
    assert [(p.start, p.end) for p in place_inlines(unit, "", [])] == [(0, 0), (0, 0)]


def test_place_unit_without_inlines_places_nothing() -> None:
    assert place_inlines(Unit(NL), EN, one_segment(NL, EN, LINKS)) == ()


# --- properties ------------------------------------------------------------------------------------------

WORDS = ["de", "Rutte", "sprak", "in", "Brussel,", "„ja”", "2024", "met", "(EU)", "https://nos.nl"]


def contains(outer: tuple[int, int], inner: tuple[int, int]) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def laminar(spans: list[tuple[int, int]], new: tuple[int, int]) -> bool:
    """Inline elements nest or are disjoint, never overlap (``pipeline.formats.base.Inline``)."""
    return all(b <= new[0] or new[1] <= a or contains((a, b), new) or contains(new, (a, b)) for a, b in spans)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Unit, str, list[SegmentAlignment]]:
    groups = draw(st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6), min_size=1, max_size=3))
    targets = draw(
        st.lists(st.lists(st.sampled_from(WORDS), min_size=0, max_size=7), min_size=len(groups), max_size=len(groups))
    )
    text = " ".join(" ".join(g) for g in groups)
    translated = " ".join(" ".join(t) for t in targets)
    segments, source_at, target_at = [], 0, 0
    for group, target in zip(groups, targets, strict=True):
        source_text, target_text = " ".join(group), " ".join(target)
        links = draw(
            st.none()
            | st.lists(
                st.tuples(st.integers(0, len(group) - 1), st.integers(0, max(0, len(target) - 1))), max_size=8
            ).map(tuple)
        )
        segments.append(
            SegmentAlignment(
                (source_at, source_at + len(source_text)), (target_at, target_at + len(target_text)), links
            )
        )
        source_at += len(source_text) + 1
        target_at += len(target_text) + (1 if target_text else 0)
    chosen: list[tuple[int, int]] = []
    for start, width in draw(st.lists(st.tuples(st.integers(0, len(text)), st.integers(0, 30)), max_size=7)):
        span = (start, min(len(text), start + width))
        if span[0] == span[1] or laminar(chosen, span):
            chosen.append(span)
    inlines = tuple(Inline(a, b, ref, "x") for ref, (a, b) in enumerate(chosen))
    return Unit(text, inlines=inlines), translated, segments


def source_contains(unit: Unit, i: int, j: int) -> bool:
    """Whether element ``i`` holds element ``j`` in the source (of two with one span, the earlier holds)."""
    outer, inner = unit.inlines[i], unit.inlines[j]
    if outer.start == outer.end or not contains((outer.start, outer.end), (inner.start, inner.end)):
        return False
    if inner.start == inner.end:  # a zero-width element on the edge could be either side of it
        return outer.start < inner.start < outer.end
    return (outer.start, outer.end) != (inner.start, inner.end) or i < j


@settings(max_examples=300, deadline=None)
@given(cases())
def test_place_properties_hold_for_any_unit(case: tuple[Unit, str, list[SegmentAlignment]]) -> None:
    unit, translated, segments = case
    placed = place_inlines(unit, translated, segments)
    assert [p.ref for p in placed] == [i.ref for i in unit.inlines]  # every element, in order
    for p in placed:
        assert isinstance(p, Placed) and p.method in METHODS
        assert 0 <= p.start <= p.end <= len(translated)
        if p.start < p.end:
            assert not translated[p.start].isspace() and not translated[p.end - 1].isspace()
            # no span cuts a run of letters or digits
            assert not (p.start > 0 and translated[p.start - 1].isalnum() and translated[p.start].isalnum())
            assert not (p.end < len(translated) and translated[p.end - 1].isalnum() and translated[p.end].isalnum())
    for i, a in enumerate(unit.inlines):
        for j, b in enumerate(unit.inlines):
            if i == j:
                continue
            if source_contains(unit, i, j):
                assert contains((placed[i].start, placed[i].end), (placed[j].start, placed[j].end))
            elif a.start != a.end and (b.end <= a.start or a.end <= b.start):  # apart in the source
                if b.start == b.end and b.start in (a.start, a.end):
                    continue
                if placed[j].start == placed[j].end:  # a point apart stays outside
                    assert not placed[i].start < placed[j].start < placed[i].end
                else:
                    assert min(placed[i].end, placed[j].end) <= max(placed[i].start, placed[j].start)


# --- end to end on the tiny model --------------------------------------------------------------------------


def test_place_inlines_in_a_tiny_model_translation_with_its_own_alignment(tiny_marian: Path) -> None:
    from pipeline.engines.seq2seq import TransformersEngine
    from pipeline.models.decoding import decoding_settings
    from pipeline.models.registry import resolve_model
    from pipeline.quality.ladder import GuardPolicy
    from pipeline.translation.translator import Seq2SeqTranslator

    model = resolve_model(str(tiny_marian))
    translator = Seq2SeqTranslator(
        TransformersEngine(model), decoding_settings(model, {"max_new_tokens": 16}), policy=GuardPolicy(mode="off")
    )
    text = "De minister bespreekt de gasprijzen met Brussel in Utrecht."
    unit = Unit(
        text,
        inlines=(
            inline(text, "De minister", 1, "a"),
            inline(text, "minister", 2, "em"),
            inline(text, "Utrecht", 3, "a"),
            Inline(text.index(" met"), text.index(" met"), 4, "br"),
        ),
    )
    (translation,) = translator.translate_batch([text])
    (links,) = translator.align([text], [translation.target])
    assert links is not None
    segments = [SegmentAlignment((0, len(text)), (0, len(translation.target)), links)]
    placed = place_inlines(unit, translation.target, segments)
    assert [p.ref for p in placed] == [1, 2, 3, 4]
    assert {p.method for p in placed} <= METHODS
    assert all(0 <= p.start <= p.end <= len(translation.target) for p in placed)
    assert placed[0].start <= placed[1].start and placed[1].end <= placed[0].end
    assert placed[3].start == placed[3].end
