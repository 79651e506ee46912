"""The contract between a document format and the pipeline: units in, translated units out.

A format's ``parse(data, name, options)`` returns a :class:`ParsedDocument`:

- ``units``: the translatable blocks in reading order. A unit's ``text`` is its **text view**
  (what is segmented and translated, e.g. the text of a paragraph with its inline markup
  removed); ``inlines`` say which character spans of that text an inline element (a link, an
  emphasis, a Word run) covers. ``aligned.jsonl`` offsets point into the document's text view:
  the units' texts joined by :data:`UNIT_SEPARATOR` (:func:`text_view`).
- ``render(translated)``: the whole document again, in its own format, with each unit's text
  replaced by the :class:`TranslatedUnit` at the same index and each inline element placed
  around its span there; everything else as it was.

Formats know nothing of models: how an inline element is placed in a translation is decided
by :mod:`pipeline.formats.inline` from word alignments the pipeline passes in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

FormatName = Literal["text", "html", "markdown", "docx", "srt", "vtt", "pdf", "jsonl"]
FORMAT_NAMES: tuple[str, ...] = ("auto", "text", "html", "markdown", "docx", "srt", "vtt", "pdf", "jsonl")
HtmlMode = Literal["auto", "page", "article"]
UnitKind = Literal[
    "title", "heading", "paragraph", "list_item", "quote", "cell", "caption", "attribute", "cue", "page", "other"
]
# Unit kinds translated whole, never split into sentences (short, and a split would mean nothing).
WHOLE_KINDS: frozenset[str] = frozenset({"title", "heading", "attribute"})
UNIT_SEPARATOR = "\n\n"

# Hostile-input limits shared by every format (a zip bomb, an entity bomb, a page too deep).
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024  # a document larger than this (on disk) is refused
MAX_UNZIPPED_BYTES = 256 * 1024 * 1024  # a DOCX whose parts unzip to more is refused
MAX_ZIP_RATIO = 100  # nor one whose parts compress better than this (a zip bomb)
MAX_NESTING = 512  # elements nested deeper than this are kept as they are, their text untranslated


@dataclass(frozen=True)
class FormatOptions:
    """What the user chose for structured documents (``--format``, ``--html``)."""

    html: HtmlMode = "auto"
    target_language: str = "en"


@dataclass(frozen=True)
class Inline:
    """An inline element inside a unit: it covers ``text[start:end]`` of the unit's text view.

    ``ref`` is the format's own handle for the element (opaque to the pipeline); ``tag`` names it
    for the records (``a``, ``em``, ``w:hyperlink``, ``**``); ``attrs`` are shown in the records
    (e.g. a link's ``href``). Inline elements of one unit nest or are disjoint, never overlap.
    """

    start: int
    end: int
    ref: int
    tag: str
    attrs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Unit:
    """One translatable block of a document: its text view, its kind and its inline elements."""

    text: str
    kind: UnitKind = "paragraph"
    inlines: tuple[Inline, ...] = ()


@dataclass(frozen=True)
class Placed:
    """Where an inline element went in a unit's translation, and how that was decided.

    ``method``: ``aligned`` (word alignments), ``copied`` (the same words appear in the
    translation: names, numbers, URLs), ``proportional`` (no confident alignment: the same
    relative position), ``whole`` (the element covered the whole unit, so it covers the whole
    translation).
    """

    ref: int
    start: int
    end: int
    method: str


@dataclass(frozen=True)
class TranslatedUnit:
    """A unit's translation and its inline elements placed in it (same order as the unit's)."""

    text: str
    inlines: tuple[Placed, ...] = ()


class ParsedDocument(Protocol):
    """A document read in its format: what the pipeline translates and how it is written back."""

    @property
    def format(self) -> str: ...

    @property
    def units(self) -> Sequence[Unit]: ...

    @property
    def metadata(self) -> Mapping[str, Any]:
        """What the document says about itself (title, byline, date, source URL, language), for the manifest."""
        ...

    @property
    def output_suffix(self) -> str:
        """The translation's suffix: ``.html``, ``.docx``, ``.md`` (a PDF becomes Markdown), ``.srt``, ``.vtt``."""
        ...

    def render(self, translated: Sequence[TranslatedUnit]) -> bytes:
        """The document in its format with every unit replaced by ``translated[i]``."""
        ...


def text_view(units: Sequence[Unit]) -> str:
    """The document's text view: every unit's text, in order, joined by :data:`UNIT_SEPARATOR`."""
    return UNIT_SEPARATOR.join(u.text for u in units)
