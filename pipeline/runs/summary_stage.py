"""Summaries of whole documents: of English files (``summarize``), or of fresh translations (``run``)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline.errors import ModelError
from pipeline.runs.batch import BatchPlan, BatchReport, ReadOptions, process_batch, translate_paths
from pipeline.runs.document import TranslatedDocument, dutch_body, english_body
from pipeline.runs.manifest import CacheSection, InputSection, RunManifest, created_now
from pipeline.runs.outputs import MANIFEST_FILE, library_versions, publish_directory, run_directory
from pipeline.runs.sessions import SummarizerSession, TranslatorSession
from pipeline.summaries.extractive import ExtractiveSummarizer
from pipeline.text.reader import read_article

SUMMARY_WINDOW = 64  # documents an executor summarises in one run


def summarize_paths(
    paths: Sequence[Path], session: SummarizerSession, plan: BatchPlan, reading: ReadOptions | None = None
) -> BatchReport:
    """Summarise English text files into ``OUT/<doc>/<run>/summary.<slug>.txt`` + manifest.

    Of ``plan`` this uses ``out``, ``run_name``, ``cache_path`` and ``on_document``; of ``reading``
    the encoding (an English file has no length limit here). A file given twice is summarised
    once (a note in the report); each file's folder is its own (``process_batch``).
    """
    from pipeline.runs.corpus import distinct_inputs

    out, run_name, cache_path = plan.out, plan.run_name, plan.cache_path
    encoding = (reading or ReadOptions()).encoding
    paths, notes = distinct_inputs(paths)  # here, so the executor's windows line up with the documents
    remote = session.signature.executor.kind != "local"
    ready: dict[str, Any] = {}  # an executor's summaries of the current window, by text
    position = 0

    def prefetch() -> None:
        """On an executor: summarise the next window's texts in one run (unreadable files are left to ``process``)."""
        ready.clear()
        texts = []
        for path in paths[position : position + SUMMARY_WINDOW]:
            with contextlib.suppress(Exception):
                texts.append(read_article(path, encoding).text)
        with contextlib.suppress(Exception):  # on failure each document is summarised alone, and reports it
            texts = list(dict.fromkeys(texts))
            ready.update(zip(texts, session.summarizer.summarize_many(texts), strict=True))

    def process(path: Path, folder: Callable[[], str]) -> tuple[Path, int, int]:
        nonlocal position
        if remote and position % SUMMARY_WINDOW == 0:
            prefetch()
        position += 1
        started = time.perf_counter()
        article = read_article(path, encoding)
        summary = ready.get(article.text) or session.summarizer.summarize(article.text)
        manifest = RunManifest(
            input=InputSection.of(article),
            summarizer=session.section(summary),
            cache=CacheSection(cache_path, hits=int(summary.cached), misses=int(not summary.cached)),
            timings={"summarize_s": round(time.perf_counter() - started, 4)},
            versions=library_versions(),
            created=created_now(),
        )
        run_dir = run_directory(out, folder(), run_name)
        publish_directory(run_dir, {session.file: summary.text + "\n", MANIFEST_FILE: manifest.dumps()})
        return run_dir, int(summary.cached), int(not summary.cached)

    report = process_batch(paths, process, out, plan.on_document)
    report.notes[:0] = notes
    return report


def _extractive(session: SummarizerSession) -> ExtractiveSummarizer:
    if session.extractive is None:
        raise ModelError("--source-side needs the extractive summariser (--summarizer extractive)")
    return session.extractive


def check_source_side(session: SummarizerSession) -> None:
    """``--source-side`` works from the Dutch: the extractive summariser selects Dutch sentences, an
    instruct model opened to read Dutch writes its English summary from them; no other can."""
    if session.abstractive and not session.reads_dutch:
        raise ModelError("--source-side needs the extractive summariser (--summarizer extractive) or an instruct model")


def summarize_translation(result: TranslatedDocument, session: SummarizerSession, source_side: bool) -> Any:
    """The summary of one translated document: of its English, or (source side) of its Dutch."""
    from pipeline.summaries.base import Summary
    from pipeline.summaries.extractive import select_sentences

    if not source_side:
        return session.summarizer.summarize(english_body(result))
    if session.reads_dutch:
        return session.summarizer.summarize(dutch_body(result))
    segments = result.document.translatable
    chosen = select_sentences([s.source for s in segments], _extractive(session).target_count(len(segments)))
    text = " ".join(result.translations[segments[i].index].target for i in chosen)
    return Summary(text, "extractive-source", [], (), "Dutch sentences selected, English shown")


def run_paths(
    paths: Sequence[Path],
    translator: TranslatorSession,
    summarizer: SummarizerSession,
    plan: BatchPlan,
    reading: ReadOptions | None = None,
    *,
    source_side: bool = False,
) -> BatchReport:
    """Translate the inputs exactly as ``translate`` does, then summarise each translation.

    Summaries are a second stage over each window: its documents' English is summarised
    together (on an executor, in one run), then each document is published with its summary.
    The summary stage owns the plan's ``on_window`` and ``finish``; the manifests record the
    translator's cache.
    """
    if source_side:
        check_source_side(summarizer)
    ready: dict[str, Any] = {}  # the window's summaries, by the text summarised

    body = dutch_body if source_side else english_body  # what an abstractive summariser reads

    def on_window(results: list[TranslatedDocument]) -> None:
        ready.clear()
        if source_side and not summarizer.reads_dutch:
            return
        texts = list(dict.fromkeys(body(r) for r in results))
        ready.update(zip(texts, summarizer.summarizer.summarize_many(texts), strict=True))

    def finish(result: TranslatedDocument) -> tuple[dict[str, Any], dict[str, str]]:
        started = time.perf_counter()
        summary = ready.get(body(result)) if not source_side or summarizer.reads_dutch else None
        summary = summary or summarize_translation(result, summarizer, source_side)
        result.timings["summarize_s"] = round(time.perf_counter() - started, 4)
        return {"summarizer": summarizer.section(summary)}, {summarizer.file: summary.text + "\n"}

    staged = replace(plan, cache_path=translator.cache_path, on_window=on_window, finish=finish)
    return translate_paths(paths, translator.translator, staged, reading)
