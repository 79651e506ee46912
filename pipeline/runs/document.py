"""Translating one document: segment it, translate its segments (through the cache), describe it.

Each document gets ``OUT/<doc>/<run>/`` with the files :mod:`pipeline.runs.outputs` names:
the translation (the input's layout, every line kept), the aligned records (one per
segment, with offsets into the decoded input) and the manifest (what made it, so any
number can be reproduced and ``compare`` needs nothing else).
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

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
)
from pipeline.signature import RunSignature
from pipeline.text.reader import Article
from pipeline.text.segment import Document, segment_document
from pipeline.translation.translator import Translation

SEGMENT_CHUNK = 256


class SegmentTranslator(Protocol):
    """What translating a document needs: sources in, translations out (``cached`` says which were hits)."""

    def translate_batch(
        self, sources: Sequence[str], groups: Sequence[Hashable] | None = None
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

    def with_translations(self, results: Sequence[Translation]) -> TranslatedDocument:
        """This document with ``results`` for its translatable segments, in order; hits and misses counted."""
        segments = self.document.translatable
        hits = sum(1 for r in results if r.cached)
        return TranslatedDocument(
            article=self.article,
            document=self.document,
            translations={s.index: r for s, r in zip(segments, results, strict=True)},
            hits=hits,
            misses=len(results) - hits,
            timings=dict(self.timings),
        )

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
            }


def segment_article(article: Article) -> TranslatedDocument:
    """An article segmented, nothing translated yet (see :meth:`TranslatedDocument.with_translations`)."""
    started = time.perf_counter()
    document = segment_document(article.text)
    return TranslatedDocument(article, document, {}, 0, 0, {"segment_s": round(time.perf_counter() - started, 4)})


def translate_segments(
    translator: SegmentTranslator,
    sources: Sequence[str],
    chunk_size: int,
    groups: Sequence[Hashable] | None = None,
) -> list[Translation]:
    """``sources`` through the translator in chunks: each chunk's results reach the cache before the next starts.

    Chunks bound the translation working set on long inputs and let a killed run resume
    from the cache. ``groups`` (each source's document) goes along, chunk by chunk.
    """
    results: list[Translation] = []
    for i in range(0, len(sources), max(1, chunk_size)):
        chunk = sources[i : i + chunk_size]
        if groups is None:
            results.extend(translator.translate_batch(chunk))
        else:
            results.extend(translator.translate_batch(chunk, groups[i : i + chunk_size]))
    return results


def translate_document(
    article: Article, translator: SegmentTranslator, chunk_size: int = SEGMENT_CHUNK
) -> TranslatedDocument:
    """Segment an article and translate its translatable segments.

    Which segments need translating is decided here (``document.translatable``); how they
    are translated (cache lookups, then the engine for misses) is the translator's job.
    """
    prepared = segment_article(article)
    started = time.perf_counter()
    results = translate_segments(translator, [s.source for s in prepared.document.translatable], chunk_size)
    result = prepared.with_translations(results)
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
        input=InputSection.of(result.article),
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
        # encoded record by record: a long document never holds the lines, the text and the bytes at once
        ALIGNED_FILE: b"".join(dumps_jsonl((record,)).encode("utf-8") for record in result.records()),
        MANIFEST_FILE: manifest.dumps(),
        **(extra or {}),
    }
    publish_directory(run_dir, files)


def english_body(result: TranslatedDocument) -> str:
    """The translated text to summarise: one line per block, metadata and markers left out."""
    lines: dict[int, list[str]] = {}
    for seg in result.document.translatable:
        target = result.translations[seg.index].target
        if target:
            lines.setdefault(seg.block, []).append(target)
    return "\n".join(" ".join(parts) for _, parts in sorted(lines.items()))
