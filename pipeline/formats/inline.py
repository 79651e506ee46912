"""Where a unit's inline elements (links, emphasis, Word runs) go in its translation.

Pure: the pipeline passes in the unit, its translated text and, per segment, where the segment
and its translation lie and the model's word links between them (``align`` of the engines,
:mod:`pipeline.engines.seq2seq`). Words are ``\\S+`` runs, as the links count them.

Each element is placed by the first rule that applies (its :class:`~pipeline.formats.base.Placed`
``method`` says which):

1. ``whole``: the element covers every character of the unit (spaces aside), so it covers the
   whole translation. Alignment could only lose words at the edges. Likewise an element covering
   every character of its parent takes its parent's span (and says how that was placed).
2. ``copied``: its text looks like a name, a number or a URL (a capital, a digit, ``://``, ``@``)
   and occurs exactly once in the translation, between word boundaries. An exact match of such
   a string is more certain than attention; an element whose text occurs more than once is
   copied only when alignment is not confident, at the occurrence nearest its estimate.
3. ``aligned``: the target words linked to the element's source words, from the first to the
   last, when the alignment is confident: at least :data:`MIN_LINKED` of its source words have
   a link, and its linked target words fill at least :data:`MIN_DENSITY` of that span (a span
   mostly made of other words' translations means scattered links). A segment the element
   covers whole counts as aligned word for word: the segmentation is itself an alignment.
4. ``proportional``: the same relative position and length in the segment's translation (or
   the unit's, for an element across segments), rounded to whole words.

Spans are then made to fit, top-down: a child goes inside its parent's placed span (placed
proportionally inside it when its own estimate falls outside); siblings are ordered by where
they landed (a translation may reorder them) and shrunk so they never overlap: the earlier of
two overlapping ones ends before the later one's first word when it can, else the later one
starts after it; one left with no room takes the last word of the one before it when that one
has two or more, else it becomes zero-width there. Every span starts and ends at a word
boundary with no space inside its edges; punctuation the source element does not have at an
edge (a comma, a quote) is left out. An element that covers no word (a ``<br>``, an empty
anchor) gets a zero-width span after the translation of the word before it (its link) or at
its proportional position.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.formats.base import Inline, Placed, Unit

MIN_LINKED = 0.5
"""The share of an element's source words that must have a link for its alignment to count."""

MIN_DENSITY = 0.5
"""The share of the aligned target span that must be the element's own linked words."""

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class SegmentAlignment:
    """One segment of a unit and its translation, with the word links between them."""

    source: tuple[int, int]  # the segment's span in the unit's text view
    target: tuple[int, int]  # its translation's span in the unit's translated text
    links: tuple[tuple[int, int], ...] | None  # (source word, target word) pairs within the segment; None: none


@dataclass(frozen=True)
class _Words:
    """A text's words (``\\S+`` runs) and the segment each lies in (-1: none)."""

    spans: tuple[tuple[int, int], ...]
    segments: tuple[int, ...]

    @classmethod
    def of(cls, text: str, segments: Sequence[tuple[int, int]]) -> _Words:
        spans = tuple(m.span() for m in _WORD.finditer(text))
        owners = []
        for start, end in spans:
            middle = (start + end) / 2
            owners.append(next((k for k, (a, b) in enumerate(segments) if a <= middle < b), -1))
        return cls(spans, tuple(owners))

    def local(self, text: str, segment: tuple[int, int]) -> list[int]:
        """The global index of each word of ``text[segment]`` (the word containing its first character)."""
        offset = segment[0]
        found = []
        for match in _WORD.finditer(text[segment[0] : segment[1]]):
            position = match.start() + offset
            found.append(next((i for i, (a, b) in enumerate(self.spans) if a <= position < b), -1))
        return found

    def covered(self, start: int, end: int) -> list[int]:
        """Words overlapping ``[start, end)``."""
        return [i for i, (a, b) in enumerate(self.spans) if a < end and start < b]


@dataclass(frozen=True)
class _Context:
    unit: Unit
    translated: str
    segments: tuple[SegmentAlignment, ...]
    source: _Words
    target: _Words
    links: frozenset[tuple[int, int]]  # global (source word, target word)


def place_inlines(unit: Unit, translated: str, segments: Sequence[SegmentAlignment]) -> tuple[Placed, ...]:
    """Each of ``unit.inlines`` placed in ``translated`` (same order), nested as in the source, siblings apart."""
    if not unit.inlines:
        return ()
    context = _context(unit, translated, segments)
    parents = _parents(unit.inlines)
    placed: dict[int, Placed] = {}
    region = _region(translated, 0, len(translated))
    for parent in _top_down(parents):
        children = [i for i, p in enumerate(parents) if p == parent]
        if parent is None:
            bounds, method = region, "whole"
            source_span = (0, len(unit.text))
        else:
            bounds, method = (placed[parent].start, placed[parent].end), placed[parent].method
            source_span = (unit.inlines[parent].start, unit.inlines[parent].end)
        estimates = [_estimate(context, unit.inlines[i], source_span, bounds, method) for i in children]
        for i, done in zip(children, _fit_siblings(context, children, estimates, bounds, source_span), strict=True):
            placed[i] = done
    return tuple(placed[i] for i in range(len(unit.inlines)))


def _context(unit: Unit, translated: str, segments: Sequence[SegmentAlignment]) -> _Context:
    text = unit.text
    kept = tuple(s for s in segments if _valid(s.source, len(text)) and _valid(s.target, len(translated)))
    source = _Words.of(text, [s.source for s in kept])
    target = _Words.of(translated, [s.target for s in kept])
    links: set[tuple[int, int]] = set()
    for segment in kept:
        if not segment.links:
            continue
        sources, targets = source.local(text, segment.source), target.local(translated, segment.target)
        for s, t in segment.links:
            if 0 <= s < len(sources) and 0 <= t < len(targets) and sources[s] >= 0 and targets[t] >= 0:
                links.add((sources[s], targets[t]))
    return _Context(unit, translated, kept, source, target, frozenset(links))


def _valid(span: tuple[int, int], length: int) -> bool:
    return 0 <= span[0] <= span[1] <= length


def _parents(inlines: Sequence[Inline]) -> list[int | None]:
    """Each element's innermost enclosing element (of two with one span, the earlier encloses the later)."""
    parents: list[int | None] = []
    for i, inner in enumerate(inlines):
        best: int | None = None
        for j, outer in enumerate(inlines):
            if j == i or outer.start == outer.end or not (outer.start <= inner.start and inner.end <= outer.end):
                continue
            if (outer.start, outer.end) == (inner.start, inner.end) and j > i:
                continue
            if best is None or outer.end - outer.start < inlines[best].end - inlines[best].start:
                best = j
            elif (outer.start, outer.end) == (inlines[best].start, inlines[best].end) and j > best:
                best = j  # of several with one span, the innermost is the last
        parents.append(best)
    return parents


def _top_down(parents: Sequence[int | None]) -> list[int | None]:
    """None (the unit), then every element that has children, each after its own parent."""
    order: list[int | None] = [None]
    seen: set[int | None] = {None}
    while True:
        ready = [i for i, p in enumerate(parents) if p in seen and i not in seen and i in parents]
        if not ready:
            return order
        order.extend(ready)
        seen.update(ready)


def _region(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` less the spaces at its edges (empty: a zero-width span at ``start``)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# --- each element's own estimate ----------------------------------------------------------------


@dataclass(frozen=True)
class _Estimate:
    start: int
    end: int
    method: str
    zero: bool  # the element covers no word


def _estimate(
    context: _Context, inline: Inline, outer: tuple[int, int], bounds: tuple[int, int], outer_method: str
) -> _Estimate:
    text = context.unit.text
    words = context.source.covered(inline.start, inline.end)
    if not words:
        start, method = _zero_position(context, inline.start, outer, bounds)
        return _Estimate(start, start, method, True)
    if _covers_all(text, inline.start, inline.end, *outer):
        if outer == (0, len(text)):
            return _Estimate(*_region(context.translated, 0, len(context.translated)), "whole", False)
        return _Estimate(bounds[0], bounds[1], outer_method, False)
    own = text[inline.start : inline.end].strip()
    copies = [c for c in _occurrences(context.translated, own) if bounds[0] <= c and c + len(own) <= bounds[1]]
    if len(copies) == 1:
        return _Estimate(copies[0], copies[0] + len(own), "copied", False)
    aligned = _aligned(context, inline, words)
    if aligned is not None:
        return _Estimate(*aligned, "aligned", False)
    guess = _proportional(context, inline.start, inline.end, outer, bounds)
    if copies:
        middle = (guess[0] + guess[1]) / 2
        best = min(copies, key=lambda c: abs(c + len(own) / 2 - middle))
        return _Estimate(best, best + len(own), "copied", False)
    return _Estimate(*guess, "proportional", False)


def _covers_all(text: str, start: int, end: int, outer_start: int, outer_end: int) -> bool:
    """Whether ``[start, end)`` holds every non-space character of ``text[outer_start:outer_end]``."""
    inside = _region(text, outer_start, outer_end)
    return inside[0] < inside[1] and start <= inside[0] and inside[1] <= end


def _copyable(text: str) -> bool:
    """A name, a number or a URL: worth finding verbatim in the translation (a lower-case word is not)."""
    return any(c.isdigit() or c.isupper() for c in text) or "://" in text or "@" in text


def _occurrences(text: str, needle: str) -> list[int]:
    """Where ``needle``, a name, number or URL, occurs in ``text`` with no letter or digit touching it."""
    if not needle or not _copyable(needle):
        return []
    found = []
    for match in re.finditer(re.escape(needle), text):
        before = text[match.start() - 1] if match.start() else " "
        after = text[match.end()] if match.end() < len(text) else " "
        if not (before.isalnum() and needle[0].isalnum()) and not (after.isalnum() and needle[-1].isalnum()):
            found.append(match.start())
    return found


def _aligned(context: _Context, inline: Inline, words: list[int]) -> tuple[int, int] | None:
    """The span of the target words linked to ``words``, when confident enough (see the module docstring)."""
    text = context.unit.text
    whole_segments = {
        k for k, s in enumerate(context.segments) if _covers_all(text, inline.start, inline.end, *s.source)
    }
    chosen = set(words)
    targets = {t for s, t in context.links if s in chosen}
    linked = {s for s, _ in context.links if s in chosen}
    for k in whole_segments:
        targets |= {t for t, owner in enumerate(context.target.segments) if owner == k}
        linked |= {s for s in words if context.source.segments[s] == k}
    if not targets or len(linked) < MIN_LINKED * len(words):
        return None
    first, last = min(targets), max(targets)
    if len(targets) < MIN_DENSITY * (last - first + 1):
        return None
    start, end = context.target.spans[first][0], context.target.spans[last][1]
    return _trim_like(context.translated, start, end, text[inline.start : inline.end].strip())


def _proportional(
    context: _Context, start: int, end: int, outer: tuple[int, int], bounds: tuple[int, int]
) -> tuple[int, int]:
    """The words at the same relative position and length: in the segment's translation when the
    element lies in one segment (and its parent's span allows), else in ``bounds``."""
    text = context.unit.text
    frame_source, frame_target = outer, bounds
    for segment in context.segments:
        a, b = segment.source
        target = _region(context.translated, *segment.target)
        if a <= start and end <= b and _contains(outer, segment.source) and _contains(bounds, target):
            frame_source, frame_target = segment.source, target
            break
    span = _scale(start, end, frame_source, frame_target)
    words = [w for w in context.target.spans if frame_target[0] <= w[0] and w[1] <= frame_target[1]]
    if not words:
        return frame_target[0], frame_target[0]
    inside = [w for w in words if min(w[1], span[1]) - max(w[0], span[0]) > (w[1] - w[0]) / 2]
    if not inside:
        middle = (span[0] + span[1]) / 2
        inside = [min(words, key=lambda w: abs((w[0] + w[1]) / 2 - middle))]
    return _trim_like(context.translated, inside[0][0], inside[-1][1], text[start:end].strip())


def _contains(outer: tuple[int, int], inner: tuple[int, int]) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def _scale(start: int, end: int, frame: tuple[int, int], into: tuple[int, int]) -> tuple[float, float]:
    width = max(1, frame[1] - frame[0])
    ratio = (into[1] - into[0]) / width
    return into[0] + (start - frame[0]) * ratio, into[0] + (end - frame[0]) * ratio


def _trim_like(text: str, start: int, end: int, source: str) -> tuple[int, int]:
    """``[start, end)`` less leading/trailing punctuation where ``source`` has a letter or digit at that edge."""
    if source and source[0].isalnum():
        while start < end - 1 and not text[start].isalnum() and any(c.isalnum() for c in text[start:end]):
            start += 1
    if source and source[-1].isalnum():
        while end > start + 1 and not text[end - 1].isalnum() and any(c.isalnum() for c in text[start:end]):
            end -= 1
    return start, end


def _zero_position(
    context: _Context, position: int, outer: tuple[int, int], bounds: tuple[int, int]
) -> tuple[int, str]:
    """Where an element covering no word goes: after the translation of the word before it, if linked."""
    spans = context.source.spans
    before = [i for i, (a, _) in enumerate(spans) if a < position and outer[0] <= a]
    if not before:
        return bounds[0], "proportional"
    if spans[before[-1]][1] >= outer[1] or position >= _region(context.unit.text, *outer)[1]:
        return bounds[1], "proportional"
    targets = [t for s, t in context.links if s == before[-1]]
    if targets:
        end = context.target.spans[max(targets)][1]
        if bounds[0] <= end <= bounds[1]:
            return end, "aligned"
    # between two words: the end of the target word nearest the proportional position
    point = _scale(position, position, outer, bounds)[0]
    ends = [b for a, b in context.target.spans if bounds[0] < b <= bounds[1]]
    return (min(ends, key=lambda b: abs(b - point)) if ends else bounds[0]), "proportional"


# --- fitting siblings into their parent ---------------------------------------------------------


def _fit_siblings(
    context: _Context,
    children: Sequence[int],
    estimates: Sequence[_Estimate],
    bounds: tuple[int, int],
    outer: tuple[int, int],
) -> list[Placed]:
    """The siblings' spans inside ``bounds``, ordered by where they landed and never overlapping."""
    text = context.translated
    inlines = context.unit.inlines
    fitted: list[_Estimate] = []
    for i, estimate in zip(children, estimates, strict=True):
        if estimate.zero:
            point = min(max(estimate.start, bounds[0]), bounds[1])
            fitted.append(_Estimate(point, point, estimate.method, True))
            continue
        start, end = max(estimate.start, bounds[0]), min(estimate.end, bounds[1])
        if start >= end:  # outside the parent's span: placed inside it instead
            inline = inlines[i]
            start, end = _proportional(context, inline.start, inline.end, outer, bounds)
            fitted.append(_Estimate(start, end, "proportional", start == end))
        else:
            fitted.append(_Estimate(*_region(text, start, end), estimate.method, False))
    order = sorted(
        range(len(children)),
        key=lambda k: (fitted[k].start, not fitted[k].zero, inlines[children[k]].start, children[k]),
    )
    spans: dict[int, list[int]] = {}
    cursor = bounds[0]
    last: int | None = None  # the latest sibling with a non-empty span
    previous: int | None = None  # the latest sibling placed
    for k in order:
        start, end = fitted[k].start, fitted[k].end
        if fitted[k].zero:
            start = end = max(start, cursor)
        else:
            if last is not None and previous == last and start < spans[last][1]:
                # overlapping the sibling just before: that one ends before this one's first word if it can
                ends = [b for _, b in _word_spans(text, *spans[last]) if b <= start]
                if ends:
                    spans[last][1] = cursor = ends[-1]
            start = _word_start(text, max(start, cursor), end)
            if start >= end and last is not None:
                start, end = _take_last_word(text, spans[last])
            if start >= end:
                start = end = max(cursor, min(fitted[k].start, bounds[1]))
            else:
                last = k
        spans[k] = [start, end]
        previous = k
        cursor = max(cursor, end)
    return [Placed(inlines[i].ref, spans[k][0], spans[k][1], fitted[k].method) for k, i in enumerate(children)]


def _word_start(text: str, position: int, end: int) -> int:
    """``position`` if a word starts there, else the start of the next word (at most ``end``)."""
    if position < end and not text[position].isspace() and (position == 0 or text[position - 1].isspace()):
        return position
    while position < end and not text[position].isspace():
        position += 1
    while position < end and text[position].isspace():
        position += 1
    return position


def _word_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return [m.span() for m in _WORD.finditer(text, start, end)]


def _take_last_word(text: str, previous: list[int]) -> tuple[int, int]:
    """Cut the last word off ``previous`` (in place) when it has two or more, and return that word's span."""
    words = _word_spans(text, *previous)
    if len(words) < 2:
        return previous[1], previous[1]
    previous[1] = words[-2][1]
    return words[-1]
