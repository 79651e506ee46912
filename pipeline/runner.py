"""Translating whole articles: segment, translate (through the cache), write outputs.

Each document gets ``OUT/<doc-stem>/<run-name>/`` with ``translation.en.txt`` (the
input's layout, every line kept), ``aligned.jsonl`` (one record per segment, with
offsets into the decoded input) and ``manifest.json`` (what made it, so any number
can be reproduced and ``compare`` needs nothing else).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import Nl2enError
from pipeline.outputs import library_versions, publish_directory, run_directory
from pipeline.reader import DEFAULT_MAX_CHARS, Article, read_article
from pipeline.registry import ResolvedModel
from pipeline.segment import Document, segment_document
from pipeline.translate import CachedTranslator, Translation

TRANSLATION_FILE = "translation.en.txt"
ALIGNED_FILE = "aligned.jsonl"
MANIFEST_FILE = "manifest.json"


@dataclass
class TranslatedDocument:
    """The result of translating one article, before or after writing it."""

    article: Article
    document: Document
    translations: dict[int, Translation]
    hits: int
    misses: int
    timings: dict[str, float]

    @property
    def text(self) -> str:
        return self.document.render({i: t.target for i, t in self.translations.items()})

    def records(self) -> list[dict[str, Any]]:
        blocks = {b.index: b.kind for b in self.document.blocks}
        out = []
        for seg in self.document.segments:
            tr = self.translations.get(seg.index)
            out.append(
                {
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
                    "flags": list(tr.flags) if tr else [],
                    "pieces": tr.pieces if tr else 0,
                    "tokens": tr.tokens if tr else 0,
                }
            )
        return out


SEGMENT_CHUNK = 256


def translate_document(
    article: Article, translator: CachedTranslator, chunk_size: int = SEGMENT_CHUNK
) -> TranslatedDocument:
    """Segment an article and translate its translatable segments in one batch."""
    t0 = time.perf_counter()
    document = segment_document(article.text)
    t1 = time.perf_counter()
    segments = document.translatable
    hits, misses = translator.hits, translator.misses
    results: list[Translation] = []
    # Chunks bound memory on long documents and let a killed run resume from the cache.
    for i in range(0, len(segments), chunk_size):
        results.extend(translator.translate_batch([s.source for s in segments[i : i + chunk_size]]))
    t2 = time.perf_counter()
    return TranslatedDocument(
        article=article,
        document=document,
        translations={s.index: r for s, r in zip(segments, results, strict=True)},
        hits=translator.hits - hits,
        misses=translator.misses - misses,
        timings={"segment_s": round(t1 - t0, 4), "translate_s": round(t2 - t1, 4)},
    )


def translator_manifest(model: ResolvedModel, translator: CachedTranslator) -> dict[str, Any]:
    return {
        "model": model.name,
        "hub_id": model.hub_id,
        "revision": model.revision,
        "path": str(model.path),
        "source": model.source,
        "fingerprint": translator.fingerprint,
        "backend": translator.backend,
        "engine": {k: v for k, v in translator.inner.identity().items() if k != "settings"},
        "decoding": translator.settings,
        "decoding_sources": translator.sources,
    }


def document_manifest(
    result: TranslatedDocument, translator_info: dict[str, Any], cache_path: str | None
) -> dict[str, Any]:
    flagged = sum(1 for t in result.translations.values() if t.flags)
    return {
        "input": {
            "path": result.article.path,
            "name": result.article.name,
            "sha256": result.article.sha256,
            "encoding": result.article.encoding,
            "chars": len(result.article.text),
        },
        "translator": translator_info,
        "segments": {
            "total": len(result.document.segments),
            "translated": len(result.translations),
            "flagged": flagged,
            "target_tokens": sum(t.tokens for t in result.translations.values()),
        },
        "cache": {"path": cache_path, "hits": result.hits, "misses": result.misses},
        "timings": result.timings,
        "versions": library_versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_translation(
    result: TranslatedDocument, run_dir: Path, manifest: dict[str, Any], extra: Mapping[str, str] | None = None
) -> None:
    """Publish the three outputs (and ``extra`` files) into ``run_dir`` at once."""
    files = {
        TRANSLATION_FILE: result.text,
        ALIGNED_FILE: "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in result.records()),
        MANIFEST_FILE: json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
        **(extra or {}),
    }
    publish_directory(run_dir, files)


@dataclass
class BatchReport:
    """What happened to each input of a batch: written run directories and failures."""

    written: list[Path] = field(default_factory=list)
    failed: list[tuple[str, Nl2enError]] = field(default_factory=list)
    hits: int = 0
    misses: int = 0


DocumentCallback = Callable[[str, Path | None, Nl2enError | None], None]


def process_batch(
    paths: Sequence[Path],
    process: Callable[[Path, str], tuple[Path, int, int]],
    on_document: DocumentCallback | None = None,
) -> BatchReport:
    """Run ``process(path, stem)`` for each file; a bad file is reported and never stops the others.

    ``process`` returns (run directory, cache hits, misses). Inputs that share a stem get
    ``stem-2``, ``stem-3``… so their outputs never overwrite one another.
    """
    report = BatchReport()
    used: dict[str, int] = {}
    for path in paths:
        stem = path.stem
        used[stem] = used.get(stem, 0) + 1
        if used[stem] > 1:
            stem = f"{stem}-{used[stem]}"
        try:
            run_dir, hits, misses = process(path, stem)
        except Nl2enError as exc:
            report.failed.append((str(path), exc))
            if on_document:
                on_document(str(path), None, exc)
            continue
        report.written.append(run_dir)
        report.hits += hits
        report.misses += misses
        if on_document:
            on_document(str(path), run_dir, None)
    return report


def translate_paths(
    paths: Sequence[Path],
    translator: CachedTranslator,
    model: ResolvedModel,
    *,
    out: Path,
    run_name: str,
    encoding: str | None = None,
    max_chars: int | None = None,
    cache_path: str | None = None,
    on_document: DocumentCallback | None = None,
) -> BatchReport:
    """Translate every file into ``OUT/<stem>/<run>/``."""
    info = translator_manifest(model, translator)

    def process(path: Path, stem: str) -> tuple[Path, int, int]:
        started = time.perf_counter()
        article = read_article(path, encoding, max_chars or DEFAULT_MAX_CHARS)
        run_dir = run_directory(out, stem, run_name)
        result = translate_document(article, translator)
        result.timings["total_s"] = round(time.perf_counter() - started, 4)
        write_translation(result, run_dir, document_manifest(result, info, cache_path))
        return run_dir, result.hits, result.misses

    return process_batch(paths, process, on_document)


@dataclass
class TranslatorSession:
    """A resolved model, its cached engine and the memory behind it."""

    model: ResolvedModel
    translator: CachedTranslator
    memory: Any  # TranslationMemory | None

    @property
    def cache_path(self) -> str | None:
        return str(self.memory.path) if self.memory else None

    def close(self) -> None:
        if self.memory:
            self.memory.close()


BACKENDS = ("auto", "transformers", "ctranslate2")


def make_engine(
    model: ResolvedModel,
    digest: str,
    *,
    backend: str = "auto",
    compute_type: str = "int8",
    device: str = "cpu",
    threads: int | None = None,
    batch_size: int = 16,
) -> Any:
    """The engine for ``backend``; ``auto`` is CTranslate2 where installed and the model is supported."""
    from pipeline.ct2 import CT2Engine, supports
    from pipeline.errors import ModelError
    from pipeline.seq2seq import TransformersEngine

    if backend not in BACKENDS:
        raise ModelError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        backend = "ctranslate2" if supports(model) else "transformers"
    if backend == "ctranslate2":
        if not supports(model):
            raise ModelError(
                f"{model.name}: CTranslate2 is not installed or does not support model type "
                f"{model.config().get('model_type')!r}",
                hint="use --backend transformers",
            )
        return CT2Engine(
            model, digest, compute_type=compute_type, device=device, threads=threads, batch_size=batch_size
        )
    return TransformersEngine(model, device=device, threads=threads, batch_size=batch_size)


def default_run_name(model: ResolvedModel, backend: str) -> str:
    """The model's slug, and the backend when one was asked for explicitly."""
    from pipeline.registry import slugify

    slug = slugify(model.hub_id or model.name)
    return slug if backend == "auto" else f"{slug}-{backend}"


def open_translator(
    model_name: str,
    *,
    overrides: dict[str, Any] | None = None,
    cache: Path | None = None,
    use_cache: bool = True,
    backend: str = "auto",
    compute_type: str = "int8",
    device: str = "cpu",
    threads: int | None = None,
    batch_size: int = 16,
    allow_pickle: bool = False,
) -> TranslatorSession:
    """Resolve the model and wrap its engine in the cache; loads no weights yet."""
    from pipeline.decoding import translation_decoding
    from pipeline.memory import TranslationMemory, default_cache_path
    from pipeline.registry import fingerprint, resolve_model
    from pipeline.translate import Seq2SeqTranslator

    model = resolve_model(model_name, allow_pickle=allow_pickle)
    memory = TranslationMemory(cache or default_cache_path()) if use_cache else None
    digest = fingerprint(model, memory.digest if memory else None)
    engine = make_engine(
        model, digest, backend=backend, compute_type=compute_type, device=device, threads=threads,
        batch_size=batch_size,
    )  # fmt: skip
    decoding = translation_decoding(model, overrides)
    translator = Seq2SeqTranslator(engine, decoding.settings, decoding.sources)
    return TranslatorSession(model, CachedTranslator(translator, memory, digest), memory)


def english_body(result: TranslatedDocument) -> str:
    """The translated text to summarise: one line per block, metadata and markers left out."""
    lines: dict[int, list[str]] = {}
    for seg in result.document.translatable:
        target = result.translations[seg.index].target
        if target:
            lines.setdefault(seg.block, []).append(target)
    return "\n".join(" ".join(parts) for _, parts in sorted(lines.items()))


@dataclass
class SummarizerSession:
    """A summariser wrapped in the cache, and how it was chosen."""

    summarizer: Any  # CachedSummarizer
    model: ResolvedModel | None
    fallback: str | None = None

    @property
    def slug(self) -> str:
        from pipeline.registry import slugify

        return slugify(self.model.hub_id or self.model.name) if self.model else "extractive"

    def manifest(self, summary: Any) -> dict[str, Any]:
        info: dict[str, Any] = {
            "model": self.model.name if self.model else "extractive",
            "hub_id": self.model.hub_id if self.model else None,
            "revision": self.model.revision if self.model else None,
            "source": self.model.source if self.model else None,
            "path": str(self.model.path) if self.model else None,
            "fingerprint": self.summarizer.fingerprint,
            "backend": self.summarizer.backend,
            "engine": self.summarizer.inner.identity(),
            "method": summary.method,
            "decoding": self.summarizer.settings,
            "decoding_sources": getattr(self.summarizer.inner, "sources", {}),
            "chunks": summary.chunks,
            "flags": list(summary.flags),
            "note": summary.note,
            "cached": summary.cached,
        }
        if self.fallback:
            info["fallback"] = self.fallback
        return info


def open_summarizer(
    name: str,
    *,
    memory: Any,
    explicit: bool = True,
    overrides: dict[str, Any] | None = None,
    sentences: int | None = None,
    ratio: float | None = None,
    backend: str = "auto",
    compute_type: str = "int8",
    device: str = "cpu",
    threads: int | None = None,
    allow_pickle: bool = False,
) -> SummarizerSession:
    """The named summariser; when the default model is missing, the extractive one, said so."""
    from pipeline.decoding import summarization_decoding
    from pipeline.errors import ModelNotFoundError
    from pipeline.registry import fingerprint, resolve_model
    from pipeline.summarize import (
        EXTRACTIVE,
        CachedSummarizer,
        ExtractiveSummarizer,
        Seq2SeqSummarizer,
    )

    fallback = None
    if name != EXTRACTIVE:
        try:
            model = resolve_model(name, allow_pickle=allow_pickle)
        except ModelNotFoundError as exc:
            if explicit:
                raise
            fallback = f"{exc.message}; used the extractive summariser instead"
        else:
            digest = fingerprint(model, memory.digest if memory else None)
            engine = make_engine(
                model, digest, backend=backend, compute_type=compute_type, device=device, threads=threads
            )
            decoding = summarization_decoding(model, overrides)
            summarizer = Seq2SeqSummarizer(model, engine, decoding.settings, decoding.sources)
            return SummarizerSession(CachedSummarizer(summarizer, memory, digest), model)
    extractive = ExtractiveSummarizer(sentences=sentences, ratio=ratio)
    return SummarizerSession(CachedSummarizer(extractive, memory, "builtin:textrank-tfidf-v1"), None, fallback)


def summary_file(session: SummarizerSession) -> str:
    return f"summary.{session.slug}.txt"


def summarize_paths(
    paths: Sequence[Path],
    session: SummarizerSession,
    *,
    out: Path,
    run_name: str,
    encoding: str | None = None,
    cache_path: str | None = None,
    on_document: DocumentCallback | None = None,
) -> BatchReport:
    """Summarise English text files into ``OUT/<stem>/<run>/summary.<slug>.txt`` + manifest."""

    def process(path: Path, stem: str) -> tuple[Path, int, int]:
        started = time.perf_counter()
        article = read_article(path, encoding)
        run_dir = run_directory(out, stem, run_name)
        hits = session.summarizer.hits
        summary = session.summarizer.summarize(article.text)
        manifest = {
            "input": {"path": article.path, "sha256": article.sha256, "chars": len(article.text)},
            "summarizer": session.manifest(summary),
            "cache": {"path": cache_path, "hits": session.summarizer.hits - hits,
                      "misses": 0 if summary.cached else 1},
            "timings": {"summarize_s": round(time.perf_counter() - started, 4)},
            "versions": library_versions(),
        }  # fmt: skip
        publish_directory(
            run_dir,
            {
                summary_file(session): summary.text + "\n",
                MANIFEST_FILE: json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
            },
        )
        return run_dir, int(summary.cached), int(not summary.cached)

    return process_batch(paths, process, on_document)


def run_paths(
    paths: Sequence[Path],
    translator: TranslatorSession,
    summarizer: SummarizerSession,
    *,
    out: Path,
    run_name: str,
    encoding: str | None = None,
    max_chars: int | None = None,
    source_side: bool = False,
    on_document: DocumentCallback | None = None,
) -> BatchReport:
    """Translate each document exactly as ``translate`` does, then summarise the translation."""
    from pipeline.errors import ModelError
    from pipeline.summarize import ExtractiveSummarizer, Summary, select_sentences

    info = translator_manifest(translator.model, translator.translator)

    def process(path: Path, stem: str) -> tuple[Path, int, int]:
        started = time.perf_counter()
        article = read_article(path, encoding, max_chars or DEFAULT_MAX_CHARS)
        run_dir = run_directory(out, stem, run_name)
        result = translate_document(article, translator.translator)
        t1 = time.perf_counter()
        if source_side:
            inner = summarizer.summarizer.inner
            if not isinstance(inner, ExtractiveSummarizer):
                raise ModelError("--source-side needs the extractive summariser (--summarizer extractive)")
            segments = result.document.translatable
            chosen = select_sentences([s.source for s in segments], inner.target_count(len(segments)))
            text = " ".join(result.translations[segments[i].index].target for i in chosen)
            summary = Summary(text, "extractive-source", [], (), "Dutch sentences selected, English shown")
        else:
            summary = summarizer.summarizer.summarize(english_body(result))
        result.timings["summarize_s"] = round(time.perf_counter() - t1, 4)
        result.timings["total_s"] = round(time.perf_counter() - started, 4)
        manifest = document_manifest(result, info, translator.cache_path)
        manifest["summarizer"] = summarizer.manifest(summary)
        write_translation(result, run_dir, manifest, {summary_file(summarizer): summary.text + "\n"})
        return run_dir, result.hits, result.misses

    return process_batch(paths, process, on_document)
