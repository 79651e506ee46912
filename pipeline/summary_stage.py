"""Summaries of whole documents: of English files (``summarize``), or of fresh translations (``run``)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.batch import BatchReport, DocumentCallback, process_batch
from pipeline.document import (
    TranslatedDocument,
    document_manifest,
    english_body,
    input_manifest,
    translate_document,
    translator_manifest,
    write_translation,
)
from pipeline.engines import SummarizerSession, TranslatorSession
from pipeline.errors import ModelError
from pipeline.outputs import MANIFEST_FILE, dumps_manifest, library_versions, publish_directory, run_directory
from pipeline.reader import DEFAULT_MAX_CHARS, read_article


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
    """Summarise English text files into ``OUT/<doc>/<run>/summary.<slug>.txt`` + manifest."""

    def process(path: Path, name: str) -> tuple[Path, int, int]:
        started = time.perf_counter()
        article = read_article(path, encoding)
        run_dir = run_directory(out, name, run_name)
        hits = session.summarizer.hits
        summary = session.summarizer.summarize(article.text)
        manifest = {
            "input": input_manifest(article),
            "summarizer": session.manifest(summary),
            "cache": {"path": cache_path, "hits": session.summarizer.hits - hits,
                      "misses": 0 if summary.cached else 1},
            "timings": {"summarize_s": round(time.perf_counter() - started, 4)},
            "versions": library_versions(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }  # fmt: skip
        publish_directory(run_dir, {session.file: summary.text + "\n", MANIFEST_FILE: dumps_manifest(manifest)})
        return run_dir, int(summary.cached), int(not summary.cached)

    return process_batch(paths, process, on_document)


def check_source_side(session: SummarizerSession) -> None:
    """``--source-side`` selects Dutch sentences: only the extractive summariser can."""
    if session.abstractive:
        raise ModelError("--source-side needs the extractive summariser (--summarizer extractive)")


def summarize_translation(result: TranslatedDocument, session: SummarizerSession, source_side: bool) -> Any:
    """The summary of one translated document: of its English, or (source side) of its Dutch."""
    from pipeline.summarize import Summary, select_sentences

    if not source_side:
        return session.summarizer.summarize(english_body(result))
    segments = result.document.translatable
    chosen = select_sentences([s.source for s in segments], session.summarizer.inner.target_count(len(segments)))
    text = " ".join(result.translations[segments[i].index].target for i in chosen)
    return Summary(text, "extractive-source", [], (), "Dutch sentences selected, English shown")


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
    if source_side:
        check_source_side(summarizer)
    info = translator_manifest(translator.model, translator.translator)

    def process(path: Path, name: str) -> tuple[Path, int, int]:
        started = time.perf_counter()
        article = read_article(path, encoding, max_chars or DEFAULT_MAX_CHARS)
        run_dir = run_directory(out, name, run_name)
        result = translate_document(article, translator.translator)
        t1 = time.perf_counter()
        summary = summarize_translation(result, summarizer, source_side)
        result.timings["summarize_s"] = round(time.perf_counter() - t1, 4)
        result.timings["total_s"] = round(time.perf_counter() - started, 4)
        manifest = document_manifest(result, info, translator.cache_path)
        manifest["summarizer"] = summarizer.manifest(summary)
        write_translation(result, run_dir, manifest, {summarizer.file: summary.text + "\n"})
        return run_dir, result.hits, result.misses

    return process_batch(paths, process, on_document)
