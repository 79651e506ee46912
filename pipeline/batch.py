"""The batch loop: every document of a batch, each isolated from the others' failures.

A document that fails, for whatever reason (unreadable input, a full disk, a database or
engine error, text that cannot be encoded), gets one line naming it and the batch goes
on. Only a failure that every later document would hit too (the model cannot be loaded)
stops the batch, and says so.

The seam for other executors: :func:`process_batch` knows only "a document in, a run
directory out"; :func:`pipeline.document.translate_document` decides which segments need
translating, and the translator it is given decides how the misses get translated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.document import document_manifest, translate_document, translator_manifest, write_translation
from pipeline.errors import BatchStoppedError, DocumentError, ModelError, Nl2enError
from pipeline.outputs import document_names, run_directory
from pipeline.reader import DEFAULT_MAX_CHARS, read_article
from pipeline.registry import ResolvedModel
from pipeline.translate import CachedTranslator

DocumentCallback = Callable[[str, Path | None, Nl2enError | None], None]
DocumentProcess = Callable[[Path, str], tuple[Path, int, int]]


@dataclass
class BatchReport:
    """What happened to each input of a batch: written run directories and failures."""

    written: list[Path] = field(default_factory=list)
    failed: list[tuple[str, Nl2enError]] = field(default_factory=list)
    hits: int = 0
    misses: int = 0


def document_error(exc: Exception) -> Nl2enError:
    """Any exception as a library error with a one-line message."""
    if isinstance(exc, Nl2enError):
        return exc
    detail = " ".join(str(exc).split()) or "no details"
    return DocumentError(f"{type(exc).__name__}: {detail}")


def is_fatal(error: Nl2enError) -> bool:
    """A failure every later document would hit too: the model cannot be loaded or run at all."""
    return isinstance(error, ModelError)


def process_batch(
    paths: Sequence[Path], process: DocumentProcess, on_document: DocumentCallback | None = None
) -> BatchReport:
    """Run ``process(path, name)`` for each file; a failing file is reported and never stops the others.

    ``process`` returns (run directory, cache hits, misses). ``name`` is the file's output
    folder, distinct for every input even when cleaned names collide
    (:func:`pipeline.outputs.document_names`).
    """
    report = BatchReport()
    names = document_names([path.stem for path in paths])
    for position, (path, name) in enumerate(zip(paths, names, strict=True)):
        try:
            run_dir, hits, misses = process(path, name)
        except Exception as exc:
            error = document_error(exc)
            report.failed.append((str(path), error))
            if on_document:
                on_document(str(path), None, error)
            if is_fatal(error):
                left = len(paths) - position - 1
                raise BatchStoppedError(
                    f"stopped the batch: {error}; {len(report.written)} written, {left} not processed"
                ) from exc
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
    """Translate every file into ``OUT/<doc>/<run>/``."""
    info = translator_manifest(model, translator)

    def process(path: Path, name: str) -> tuple[Path, int, int]:
        started = time.perf_counter()
        article = read_article(path, encoding, max_chars or DEFAULT_MAX_CHARS)
        run_dir = run_directory(out, name, run_name)
        result = translate_document(article, translator)
        result.timings["total_s"] = round(time.perf_counter() - started, 4)
        write_translation(result, run_dir, document_manifest(result, info, cache_path))
        return run_dir, result.hits, result.misses

    return process_batch(paths, process, on_document)
