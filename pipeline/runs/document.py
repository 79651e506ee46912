"""Translating one document: segment it, translate its segments (through the cache), describe it.

Each document gets ``OUT/<doc>/<run>/`` with the files :mod:`pipeline.runs.outputs` names:
the translation (the input's layout, every line kept; a structured document's text view),
a structured document's translation in its own format (``translation.en.html`` …), the
aligned records (one per segment, with offsets into the decoded input or text view) and the
manifest (what made it, so any number can be reproduced and ``compare`` needs nothing else).
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from pipeline.formats.base import WHOLE_KINDS
from pipeline.quality.ladder import document_quality
from pipeline.runs.manifest import (
    CacheSection,
    InputSection,
    QualityCounts,
    RunManifest,
    SegmentCounts,
    TranslatorSection,
    created_now,
)
from pipeline.runs.outputs import (
    ALIGNED_FILE,
    MANIFEST_FILE,
    TRANSLATION_FILE,
    dumps_jsonl,
    library_versions,
    publish_directory,
    translation_file,
)
from pipeline.runs.structured import Aligner, render_units
from pipeline.signature import RunSignature
from pipeline.text.reader import Article
from pipeline.text.segment import Document, Segment, segment_document, segment_units
from pipeline.translation.translator import Translation, context_size

SEGMENT_CHUNK = 256
# A document is read as not Dutch only when the language found is this sure and it has this many words.
NOT_DUTCH_CONFIDENCE = 0.95
NOT_DUTCH_WORDS = 8


class SegmentTranslator(Protocol):
    """What translating a document needs: sources in, translations out (``cached`` says which were hits).

    ``contexts`` (each source's sentences before it in its document) go only to a translator
    whose ``context_size`` is above 0.
    """

    def translate_batch(
        self,
        sources: Sequence[str],
        groups: Sequence[Hashable] | None = None,
        contexts: Sequence[Sequence[str]] | None = None,
    ) -> list[Translation]: ...


@dataclass
class TranslatedDocument:
    """The result of translating one article, before or after writing it."""

    article: Article
    document: Document
    translations: dict[int, Translation]
    hits: int
    misses: int
    timings: dict[str, float]
    # translatable segments kept as they are (English inside a Dutch document), by segment index
    kept: frozenset[int] = frozenset()
    # what the document says about itself and the language found (the manifest's input.document)
    about: dict[str, Any] = field(default_factory=dict)
    # per segment: how each inline element overlapping it was placed (structured documents)
    inlines: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    # a structured document's translation in its own format (see :meth:`rendered`)
    output: bytes | None = None
    # the document's language as identified, and how sure (pipeline.text.language.document_language)
    language: tuple[str, float] = ("und", 0.0)

    @property
    def dutch(self) -> bool:
        """Read as Dutch: identified as Dutch, or not surely anything else (too short, or unsure)."""
        name, confidence = self.language
        words = len(self.document.text.split())
        return name in ("nl", "und") or confidence < NOT_DUTCH_CONFIDENCE or words < NOT_DUTCH_WORDS

    @property
    def to_translate(self) -> list[Segment]:
        """The segments that go to the translator: the translatable ones, less those kept as they are."""
        return [s for s in self.document.translatable if s.index not in self.kept]

    def contexts(self, size: int) -> list[tuple[str, ...]]:
        """For each segment :attr:`to_translate`, the (at most ``size``) translatable sources before it."""
        if size <= 0:
            return [() for _ in self.to_translate]
        sources = [s.source for s in self.document.translatable]
        position = {s.index: k for k, s in enumerate(self.document.translatable)}
        return [tuple(sources[max(0, position[s.index] - size) : position[s.index]]) for s in self.to_translate]

    def with_translations(self, results: Sequence[Translation]) -> TranslatedDocument:
        """This document with ``results`` for the segments :attr:`to_translate`, in order; hits and misses counted.

        A kept segment's translation is its source.
        """
        hits = sum(1 for r in results if r.cached)
        translations = {s.index: r for s, r in zip(self.to_translate, results, strict=True)}
        for seg in self.document.translatable:
            if seg.index in self.kept:
                translations[seg.index] = Translation(seg.source, pieces=0)
        return replace(
            self,
            translations=dict(sorted(translations.items())),
            hits=hits,
            misses=len(results) - hits,
            timings=dict(self.timings),
            inlines={},
            output=None,
        )

    def rendered(self, aligner: Aligner | None = None) -> TranslatedDocument:
        """A structured document with its translation rendered in its format (plain text: itself).

        ``aligner`` (the translator's ``align``, when it has one) places inline elements by
        word alignment; without it they are placed by the fallbacks (:mod:`pipeline.formats.inline`).
        """
        parsed = self.article.structured
        if parsed is None:
            return self
        started = time.perf_counter()
        blocks = [(b.start, b.end) for b in self.document.blocks]
        targets = {i: t.target for i, t in self.translations.items()}
        # links a translation came with (from its decode, or the memory); the rest are asked of the aligner
        found = {i: getattr(t, "links", None) for i, t in self.translations.items()}
        known = {i: links for i, links in found.items() if links is not None}
        units, inlines = render_units(
            self.document.text, blocks, parsed.units, self.document.segments, targets, aligner, known
        )
        output = parsed.render(units)
        timings = {**self.timings, "render_s": round(time.perf_counter() - started, 4)}
        return replace(self, inlines=inlines, output=output, timings=timings)

    @property
    def text(self) -> str:
        return self.document.render({i: t.target for i, t in self.translations.items()})

    def records(self) -> Iterator[dict[str, Any]]:
        """One aligned record per segment, made one at a time (a long document never holds them all)."""
        blocks = {b.index: b.kind for b in self.document.blocks}
        for seg in self.document.segments:
            tr = self.translations.get(seg.index)
            yield {
                "index": seg.index,
                "kind": seg.kind,
                "block": seg.block,
                "block_kind": blocks[seg.block],
                "start": seg.start,
                "end": seg.end,
                "source": seg.source,
                "target": tr.target if tr else seg.source,
                "translated": tr is not None,
                "cached": tr.cached if tr else None,
                "pieces": tr.pieces if tr else 0,
                "tokens": tr.tokens if tr else 0,
                **(tr or Translation("")).record_fields(),
                **({"source_english": True} if seg.index in self.kept else {}),
                **({"inlines": self.inlines[seg.index]} if seg.index in self.inlines else {}),
            }


def segment_article(article: Article, keep_english: bool = True) -> TranslatedDocument:
    """An article segmented, nothing translated yet (see :meth:`TranslatedDocument.with_translations`).

    A structured document is segmented unit by unit (its text view). The document's language is
    identified; with ``keep_english``, English passages inside a document read as Dutch
    (:func:`pipeline.text.language.english_passages`) are kept as they are, never translated.
    """
    started = time.perf_counter()
    if article.structured is not None:
        units = article.structured.units
        document = segment_units([u.text for u in units], [u.kind in WHOLE_KINDS for u in units])
        about = dict(article.structured.metadata)
    else:
        document = segment_document(article.text)
        about = {}
    from pipeline.text.language import document_language, english_passages

    language = document_language(document.text)
    about["language_found"] = {"language": language[0], "confidence": round(language[1], 4)}
    result = TranslatedDocument(article, document, {}, 0, 0, {}, about=about, language=language)
    if keep_english and result.dutch:  # English inside a Dutch document; a document read as English is translated
        segments = document.translatable
        english = english_passages([s.source for s in segments])
        result.kept = frozenset(s.index for s, keep in zip(segments, english, strict=True) if keep)
    result.timings["segment_s"] = round(time.perf_counter() - started, 4)
    return result


def translate_segments(
    translator: SegmentTranslator,
    sources: Sequence[str],
    chunk_size: int,
    groups: Sequence[Hashable] | None = None,
    contexts: Sequence[Sequence[str]] | None = None,
    links: Sequence[bool] | None = None,
) -> list[Translation]:
    """``sources`` through the translator in chunks: each chunk's results reach the cache before the next starts.

    Chunks bound the translation working set on long inputs and let a killed run resume
    from the cache. ``groups`` (each source's document) and ``contexts`` (the sentences
    before each source) go along, chunk by chunk. Word links are kept only where ``links``
    says so (a document with inline elements to place; None: nowhere), so a long plain text
    never holds them.
    """
    results: list[Translation] = []
    for i in range(0, len(sources), max(1, chunk_size)):
        chunk = sources[i : i + chunk_size]
        if contexts is not None:
            part = None if groups is None else groups[i : i + chunk_size]
            done = translator.translate_batch(chunk, part, contexts[i : i + chunk_size])
        elif groups is None:
            done = translator.translate_batch(chunk)
        else:
            done = translator.translate_batch(chunk, groups[i : i + chunk_size])
        wanted = links[i : i + chunk_size] if links is not None else [False] * len(done)
        results.extend(
            t if keep or t.links is None else replace(t, links=None) for t, keep in zip(done, wanted, strict=True)
        )
    return results


def wants_links(article: Article) -> bool:
    """Whether a document's translations need their word links: it has inline elements to place."""
    return article.structured is not None and any(u.inlines for u in article.structured.units)


def translate_document(
    article: Article, translator: SegmentTranslator, chunk_size: int = SEGMENT_CHUNK
) -> TranslatedDocument:
    """Segment an article and translate its translatable segments.

    Which segments need translating is decided here (``document.translatable``); how they
    are translated (cache lookups, then the engine for misses) is the translator's job.
    """
    prepared = segment_article(article)
    started = time.perf_counter()
    size = context_size(translator)
    contexts = prepared.contexts(size) if size else None
    sources = [s.source for s in prepared.to_translate]
    links = [wants_links(article)] * len(sources)
    results = translate_segments(translator, sources, chunk_size, None, contexts, links)
    result = prepared.with_translations(results).rendered(getattr(translator, "align", None))
    result.timings["translate_s"] = round(time.perf_counter() - started, 4)
    return result


def document_manifest(
    result: TranslatedDocument, translator: RunSignature | Mapping[str, Any], cache_path: str | None
) -> RunManifest:
    """The manifest of a translated document; ``translator`` is its signature or its cache wrapper's ``manifest()``.

    A batch adds the ``window`` it was translated in, and ``nl2en run`` the ``summarizer``
    (``dataclasses.replace``).
    """
    translations = result.translations.values()
    return RunManifest(
        input=InputSection.of(result.article, result.about),
        translator=TranslatorSection.of(translator),
        segments=SegmentCounts(
            total=len(result.document.segments),
            translated=len(result.translations),
            flagged=sum(1 for t in translations if t.flags),
            target_tokens=sum(t.tokens for t in translations),
            generated_tokens=sum(t.tokens for t in translations if not t.cached),
        ),
        quality=QualityCounts.from_json(document_quality(translations)),
        cache=CacheSection(cache_path, result.hits, result.misses),
        timings=dict(result.timings),
        versions=library_versions(),
        created=created_now(),
    )


def write_translation(
    result: TranslatedDocument, run_dir: Path, manifest: RunManifest, extra: Mapping[str, str] | None = None
) -> None:
    """Publish the three outputs (and ``extra`` files) as ``run_dir``'s whole content, at once."""
    files: dict[str, str | bytes] = {
        TRANSLATION_FILE: result.text,
        **({translation_file(result.article.structured.output_suffix): result.output} if result.output else {}),
        # encoded record by record: a long document never holds the lines, the text and the bytes at once
        ALIGNED_FILE: b"".join(dumps_jsonl((record,)).encode("utf-8") for record in result.records()),
        MANIFEST_FILE: manifest.dumps(),
        **(extra or {}),
    }
    publish_directory(run_dir, files)


def english_body(result: TranslatedDocument) -> str:
    """The translated text to summarise: one line per block, metadata and markers left out."""
    return _body(result, source=False)


def dutch_body(result: TranslatedDocument) -> str:
    """The Dutch text an instruct model summarises from (``--source-side``): one line per block."""
    return _body(result, source=True)


def _body(result: TranslatedDocument, *, source: bool) -> str:
    """The translatable segments' sources or translations, one line per block (empty ones left out)."""
    lines: dict[int, list[str]] = {}
    for seg in result.document.translatable:
        text = seg.source if source else result.translations[seg.index].target
        if text:
            lines.setdefault(seg.block, []).append(text)
    return "\n".join(" ".join(parts) for _, parts in sorted(lines.items()))
