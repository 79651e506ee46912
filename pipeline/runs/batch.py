"""The batch loop: every document of a batch, each isolated from the others' failures.

A document that fails, for whatever reason (unreadable input, a full disk, a database or
engine error, text that cannot be encoded), gets one line naming it and the batch goes
on. Only a failure that every later document would hit too (the model cannot be loaded)
stops the batch, and says so.

Translation runs over **windows** of documents, not one document at a time: the
translatable segments of every document in a window (at most ``Window.documents``
documents or about ``Window.segments`` segments, which bounds memory) go through the
translator together, in chunks of at most ``Window.segments``. The cache wrapper
(:class:`pipeline.runs.cache.CachedTranslator`) looks them up, drops duplicates across
documents, and hands only the distinct misses to its inner translator, which sorts them
by length and batches them by token budget. The cache is written after every chunk, and
the local translator's decodes a few engine batches at a time while a chunk is computed
(:class:`pipeline.runs.cache.MemoryJournal`), so a killed run resumes where it stopped.
Each document of a window is published as soon as the window's translations are in. If a
window's translation fails, its documents are translated one by one, so only the document
that causes the failure reports it.

The seam for other executors (e.g. a Ray cluster): the inner translator. Whatever
implements the :class:`pipeline.translation.translator.Translator` protocol
(``translate_batch(sources) -> list[Translation]`` in input order, plus ``backend``,
``settings`` and ``identity()``) receives one window chunk's de-duplicated cache misses
in one call and may spread them over workers as it likes; wrap it in ``CachedTranslator``
and pass it to :func:`translate_paths`. Reading, segmenting, the cache and publishing
stay here. :func:`process_batch` is the plain one-document-at-a-time loop that the
summary stage uses.

Each document's folder belongs to one input (:class:`pipeline.runs.outputs.DocumentFolders`),
claimed when the document is first published: a file given twice is done once (a note in
:attr:`BatchReport.notes` says so), and an input whose cleaned name another input owns gets
a folder of its own, whatever the order of the arguments.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.errors import BatchStoppedError, ClusterLostError, DocumentError, ModelError, Nl2enError
from pipeline.runs.cache import CachedTranslator
from pipeline.runs.corpus import Formats
from pipeline.runs.document import (
    SegmentTranslator,
    TranslatedDocument,
    document_manifest,
    segment_article,
    translate_segments,
    wants_links,
    write_translation,
)
from pipeline.runs.manifest import WindowSection
from pipeline.runs.outputs import DocumentFolders, InputIdentity, run_directory
from pipeline.translation.translator import Translation, context_size

if TYPE_CHECKING:
    from pipeline.runs.corpus import CorpusItem

DocumentCallback = Callable[[str, Path | None, Nl2enError | None], None]
DocumentProcess = Callable[[Path, Callable[[], str]], tuple[Path, int, int]]


class BatchProgress(Protocol):
    """Hears how far a translation batch has got, in segments (a progress display's counts).

    Documents alone say nothing while one long article is translated for minutes; segments do.
    ``planned`` comes first, with the number of documents (None: a stream of unknown length),
    ``read`` once per input as it is read (0 segments when it cannot be), ``translated`` after
    each chunk the translator returns; documents finished still go to ``on_document``.
    """

    def planned(self, documents: int | None) -> None: ...

    def read(self, segments: int) -> None: ...

    def translated(self, segments: int) -> None: ...


@dataclass
class CountedTranslator:
    """A translator that tells ``progress`` how many segments each call returned.

    ``done`` is what it has reported, so a caller that translates the same segments again
    (a failed window, document by document) can take it back first.
    """

    inner: SegmentTranslator
    progress: BatchProgress
    done: int = 0

    @property
    def context_size(self) -> int:
        return context_size(self.inner)

    def translate_batch(
        self,
        sources: Sequence[str],
        groups: Sequence[Hashable] | None = None,
        contexts: Sequence[Sequence[str]] | None = None,
    ) -> list[Translation]:
        results = self.inner.translate_batch(sources, groups, contexts)
        self.done += len(sources)
        self.progress.translated(len(sources))
        return results

    def take_back(self) -> None:
        """Un-report what was counted (its segments will be translated and counted again)."""
        if self.done:
            self.progress.translated(-self.done)
            self.done = 0


@dataclass(frozen=True)
class Window:
    """How many documents, and about how many segments, are translated together.

    A window closes when it holds ``documents`` documents or at least ``segments``
    translatable segments; a longer document is a window of its own, translated in
    chunks of ``segments``. Peak memory grows with these, not with the batch.
    """

    documents: int = 64
    segments: int = 2048


REMOTE_WINDOW = Window(documents=1024, segments=32768)
"""Windows for an executor on a cluster: each window's misses start one actor pool (seconds), so
windows are larger than local ones; memory still grows with the window, not with the corpus."""


@dataclass
class BatchReport:
    """What happened to each input of a batch: written run directories, failures, and notes for the user.

    ``notes`` are one line each (an input given twice, done once); the commands print them on stderr.
    """

    written: list[Path] = field(default_factory=list)
    failed: list[tuple[str, Nl2enError]] = field(default_factory=list)
    hits: int = 0
    misses: int = 0
    notes: list[str] = field(default_factory=list)


def document_error(exc: Exception) -> Nl2enError:
    """Any exception as a library error with a one-line message."""
    if isinstance(exc, Nl2enError):
        return exc
    detail = " ".join(str(exc).split()) or "no details"
    return DocumentError(f"{type(exc).__name__}: {detail}")


def is_fatal(error: Nl2enError) -> bool:
    """A failure every later document would hit too: the model cannot be loaded or run, the cluster is gone."""
    return isinstance(error, ModelError | ClusterLostError)


@dataclass
class _Tally:
    """Reports each document's outcome in input order and stops the batch on a fatal error."""

    total: int | None  # None: a stream of unknown length (a JSONL corpus)
    report: BatchReport = field(default_factory=BatchReport)
    on_document: DocumentCallback | None = None

    def written(self, path: Path | str, run_dir: Path, hits: int, misses: int) -> None:
        self.report.written.append(run_dir)
        self.report.hits += hits
        self.report.misses += misses
        if self.on_document:
            self.on_document(str(path), run_dir, None)

    def failed(self, position: int, path: Path | str, exc: Exception) -> None:
        error = document_error(exc)
        self.report.failed.append((str(path), error))
        if self.on_document:
            self.on_document(str(path), None, error)
        if is_fatal(error):
            left = "the rest" if self.total is None else str(self.total - position - 1)
            raise BatchStoppedError(
                f"stopped the batch: {error}; {len(self.report.written)} written, {left} not processed"
            ) from exc


def process_batch(
    paths: Sequence[Path], process: DocumentProcess, out: Path, on_document: DocumentCallback | None = None
) -> BatchReport:
    """Run ``process(path, folder)`` for each distinct file; a failing file is reported and never stops the others.

    ``process`` returns (run directory, cache hits, misses); it calls ``folder()`` for the
    file's document folder under ``out`` just before publishing, so a file that fails
    claims none (:class:`pipeline.runs.outputs.DocumentFolders`). A file given twice is done once.
    """
    paths, notes = _distinct(paths)
    folders = _folders_for(out, paths)
    tally = _Tally(len(paths), report=BatchReport(notes=notes), on_document=on_document)
    for position, path in enumerate(paths):
        try:
            run_dir, hits, misses = process(path, _claimer(folders, path))
        except Exception as exc:
            tally.failed(position, path, exc)
            continue
        tally.written(path, run_dir, hits, misses)
    return tally.report


def _claimer(folders: DocumentFolders, path: Path) -> Callable[[], str]:
    """Claims ``path``'s document folder when called (the file has been processed and is about to be published)."""
    return lambda: folders.claim(path.stem, InputIdentity.of_file(path))


def _distinct(paths: Sequence[Path]) -> tuple[list[Path], list[str]]:
    from pipeline.runs.corpus import distinct_inputs

    return distinct_inputs(paths)


def _folders_for(out: Path, files: Sequence[Path]) -> DocumentFolders:
    """The batch's folder namer, told the files known up front, so argument order never decides a folder."""
    from pipeline.runs.corpus import is_jsonl

    folders = DocumentFolders(out)
    folders.prefer((p.stem, InputIdentity.of_file(p)) for p in files if not is_jsonl(p))
    return folders


@dataclass
class _Entry:
    """One input of a window: read and segmented, or the reason it could not be."""

    position: int
    path: str  # where it came from: a file, or ``corpus.jsonl:12``
    name: str  # the folder it asks for (``CorpusItem.doc_id``)
    identity: InputIdentity | None
    started: float
    prepared: TranslatedDocument | None = None
    error: Exception | None = None
    skipped: str | None = None  # why it is not translated (not Dutch): a note, not a failure

    @property
    def sources(self) -> list[str]:
        return [s.source for s in self.prepared.to_translate] if self.prepared else []


WindowHook = Callable[[list[TranslatedDocument]], None]
DocumentFinish = Callable[[TranslatedDocument], tuple[dict[str, Any], dict[str, str]]]


@dataclass(frozen=True)
class ReadOptions:
    """How input files are read and which are translated.

    ``encoding``/``max_chars`` (``--encoding``, ``--max-chars``; None: UTF-8/BOM and the default
    limit); ``formats`` (``--format``, ``--html``); ``any_language`` (``--any-language``): translate
    a document identified as not Dutch instead of leaving it out with a note.
    """

    encoding: str | None = None
    max_chars: int | None = None
    formats: Formats = field(default_factory=Formats)
    any_language: bool = False


@dataclass(frozen=True)
class BatchPlan:
    """Where a batch writes and who hears about it: built once by the caller, passed down whole.

    ``out``/``run_name``: each document goes to ``OUT/<doc>/<run_name>/``; ``cache_path`` is
    recorded in each manifest; ``on_document`` hears each outcome in input order, ``progress``
    the segments read and translated (translation batches only). ``on_window``
    sees a window's translated documents before any is published (the summary stage summarises
    them together there); ``finish`` gives each document's extra manifest entries and files.
    """

    out: Path
    run_name: str
    cache_path: str | None = None
    window: Window = field(default_factory=Window)
    on_document: DocumentCallback | None = None
    progress: BatchProgress | None = None
    on_window: WindowHook | None = None
    finish: DocumentFinish | None = None


def translate_paths(
    paths: Sequence[Path],
    translator: CachedTranslator,
    plan: BatchPlan,
    reading: ReadOptions | None = None,
) -> BatchReport:
    """Translate every input into ``OUT/<doc>/<run>/``, window by window (see the module docstring).

    Inputs are files and JSONL corpora (one document a line), read lazily by
    :func:`pipeline.runs.corpus.iter_corpus`, so memory is bounded by the window; a directory is
    a bad input, reported like an unreadable file. A file or corpus given twice is read once
    (a note in the report).
    """
    from pipeline.runs.corpus import iter_corpus

    reading = reading or ReadOptions()
    paths, notes = _distinct(paths)
    plain = not any(reading.formats.jsonl(p) for p in paths)
    items = iter_corpus(
        paths, encoding=reading.encoding, max_chars=reading.max_chars, directories=False, formats=reading.formats
    )
    report = translate_corpus(
        items,
        translator,
        plan,
        len(paths) if plain else None,
        _folders_for(plan.out, paths),
        any_language=reading.any_language,
    )
    report.notes[:0] = notes
    return report


def translate_corpus(
    items: Iterable[CorpusItem],
    translator: CachedTranslator,
    plan: BatchPlan,
    total: int | None = None,
    folders: DocumentFolders | None = None,
    *,
    any_language: bool = False,
) -> BatchReport:
    """Translate a stream of corpus documents (``total`` of them, if known), window by window.

    A document identified as not Dutch (:attr:`~pipeline.runs.document.TranslatedDocument.dutch`)
    is left out with a note, unless ``any_language``.

    The translator's manifest is taken after the first window's translation, so an executor
    started on demand describes itself. Each document's folder is claimed from ``folders``
    (default: a new :class:`~pipeline.runs.outputs.DocumentFolders` over ``plan.out``) by its
    identity, when it is published.
    """
    out, run_name, cache_path, window = plan.out, plan.run_name, plan.cache_path, plan.window
    on_window, finish, progress = plan.on_window, plan.finish, plan.progress
    if progress:
        progress.planned(total)
    folders = folders or DocumentFolders(out)
    tally = _Tally(total, on_document=plan.on_document)
    info: dict[str, Any] = {}

    def prepare(position: int, item: CorpusItem) -> _Entry:
        entry = _Entry(position, item.origin, item.doc_id, item.identity, time.perf_counter())
        try:
            if item.error is not None:
                raise item.error
            assert item.article is not None
            prepared = segment_article(item.article)
            if prepared.dutch or any_language:
                entry.prepared = prepared
            else:
                entry.skipped = (
                    f"language {prepared.language[0]} ({prepared.language[1]:.2f}), not Dutch: "
                    "not translated (--any-language translates it)"
                )
        except Exception as exc:
            entry.error = exc
        if progress:
            progress.read(len(entry.sources))
        return entry

    def publish(entry: _Entry, result: TranslatedDocument, documents: int) -> None:
        if not info:
            info.update(translator.manifest())
        extra_manifest, extra_files = finish(result) if finish else ({}, {})
        result.timings["total_s"] = round(time.perf_counter() - entry.started, 4)
        identity = entry.identity or InputIdentity.of_file(Path(entry.path))
        run_dir = run_directory(out, folders.claim(entry.name, identity), run_name)
        # finish's entries are RunManifest sections too (the summary stage's ``summarizer``)
        entries: dict[str, Any] = {"window": WindowSection(documents, window.segments), **extra_manifest}
        manifest = replace(document_manifest(result, info, cache_path), **entries)
        write_translation(result, run_dir, manifest, extra_files)
        tally.written(entry.path, run_dir, result.hits, result.misses)

    def translated(entry: _Entry, results: list[Translation], translate_s: float) -> TranslatedDocument:
        assert entry.prepared is not None
        result = entry.prepared.with_translations(results)
        result.timings["translate_s"] = round(translate_s, 4)
        return result.rendered(getattr(translator, "align", None))

    def contexts(entries: list[_Entry]) -> list[tuple[str, ...]] | None:
        """Each source's sentences before it in its document, for a translator that reads them."""
        size = context_size(translator)
        if not size:
            return None
        return [c for e in entries if e.prepared for c in e.prepared.contexts(size)]

    def flush(entries: list[_Entry]) -> None:
        ready = [e for e in entries if e.prepared]
        sources = [s for e in ready for s in e.sources]
        started = time.perf_counter()
        counted: SegmentTranslator = translator
        if progress:
            counted = CountedTranslator(translator, progress)
        together: list[Translation] | None
        try:
            # each document is its own group: the retry budget is spent per document
            groups = [e.position for e in ready for _ in e.sources]
            links = [wants_links(e.prepared.article) for e in ready if e.prepared for _ in e.sources]
            together = translate_segments(counted, sources, window.segments, groups, contexts(ready), links)
        except Exception:
            together = None  # translated one by one below, so only the failing document reports it
            if isinstance(counted, CountedTranslator):
                counted.take_back()
        translate_s = time.perf_counter() - started
        done: dict[int, TranslatedDocument] = {}
        if together is not None:
            offset = 0
            for entry in ready:
                count = len(entry.sources)
                done[entry.position] = translated(entry, together[offset : offset + count], translate_s)
                offset += count
            if on_window:
                # on failure each document's ``finish`` runs alone below, so only the failing one reports it
                with contextlib.suppress(Exception):
                    on_window(list(done.values()))
        for entry in entries:
            if entry.skipped:
                tally.report.notes.append(f"{entry.path}: {entry.skipped}")
                continue
            if entry.error or not entry.prepared:
                tally.failed(entry.position, entry.path, entry.error or DocumentError("not read"))
                continue
            try:
                if together is not None:
                    publish(entry, done.pop(entry.position), len(ready))
                else:
                    alone = time.perf_counter()
                    links = [wants_links(entry.prepared.article)] * len(entry.sources)
                    results = translate_segments(
                        counted, entry.sources, window.segments, None, contexts([entry]), links
                    )
                    publish(entry, translated(entry, results, time.perf_counter() - alone), 1)
            except Exception as exc:
                tally.failed(entry.position, entry.path, exc)
            finally:
                done.pop(entry.position, None)
                entry.prepared = None  # free the document as soon as it is out

    pending: list[_Entry] = []
    segments = 0
    for position, item in enumerate(items):
        entry = prepare(position, item)
        pending.append(entry)
        segments += len(entry.sources)
        if len(pending) >= window.documents or segments >= window.segments:
            flush(pending)
            pending, segments = [], 0
    if pending:
        flush(pending)
    return tally.report
