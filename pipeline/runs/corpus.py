"""Corpus inputs at scale: files, directories and JSONL corpora, read lazily.

A JSONL corpus holds one ``{"id": …, "text": …}`` object per line (or ``"html"`` instead of
``"text"``: a web page, read as ``--html`` says). It is read line by
line, so a batch over a million articles holds one window of documents at a time,
never the corpus. Each record becomes an :class:`~pipeline.text.reader.Article`; its id
names the output folder (``OUT/<id>/<run>/``), so ids must already be safe folder
names. A bad line (not JSON, no id, unsafe or repeated id, empty text) becomes a
one-line error naming the file and line, and the lines after it are read as usual.

Every item carries its :class:`~pipeline.runs.outputs.InputIdentity` (a file's resolved
path; a record's corpus path and id): the batch claims the document's folder by it
(:class:`~pipeline.runs.outputs.DocumentFolders`), so an input whose cleaned name another
input already owns gets a folder of its own (``<name>-<hash>``), never the other's.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from pipeline.errors import EmptyInputError, InputError, InputTooLargeError, Nl2enError
from pipeline.formats.base import MAX_DOCUMENT_BYTES, FormatOptions, text_view
from pipeline.formats.detect import STRUCTURED, detect_format, parse_document
from pipeline.runs.outputs import InputIdentity, safe_name
from pipeline.text.reader import DEFAULT_MAX_CHARS, Article, article_from_bytes, read_article

JSONL_SUFFIXES = (".jsonl", ".ndjson")
MAX_ID_CHARS = 120
DEFAULT_WINDOW = 500

T = TypeVar("T")


@dataclass(frozen=True)
class CorpusItem:
    """One document of a corpus: the name its folder is claimed by, and its article or why it has none.

    ``doc_id`` is the folder the document asks for (a file's cleaned stem, a record's id); the
    folder it gets is its ``identity``'s (:meth:`pipeline.runs.outputs.DocumentFolders.claim`).
    """

    doc_id: str
    origin: str  # where it came from, for messages: a path, or ``corpus.jsonl:12``
    article: Article | None = None
    error: Exception | None = None
    identity: InputIdentity | None = None  # None for a line that is not a document


def is_jsonl(path: Path) -> bool:
    return path.suffix.lower() in JSONL_SUFFIXES


@dataclass(frozen=True)
class Formats:
    """How inputs are read: ``--format`` (``auto`` goes by extension and content) and the format options."""

    requested: str = "auto"
    options: FormatOptions = field(default_factory=FormatOptions)

    def jsonl(self, path: Path) -> bool:
        return self.requested == "jsonl" or (self.requested == "auto" and is_jsonl(path))


def structured_article(data: bytes, name: str, path: str, fmt: str, formats: Formats, max_chars: int) -> Article:
    """A structured document read in its format: its text view is the article's text."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InputTooLargeError(
            f"{name}: {len(data):,} bytes is over the limit of {MAX_DOCUMENT_BYTES:,} for a {fmt} document"
        )
    parsed = parse_document(data, name, fmt, formats.options)
    text = text_view(parsed.units)  # may be empty (a Word file holding only an empty table): written as it is
    if len(text) > max_chars:
        raise InputTooLargeError(
            f"{name}: {len(text):,} characters of text is over the limit of {max_chars:,}",
            hint="raise it with --max-chars",
        )
    encoding = str(parsed.metadata.get("encoding") or fmt)
    return Article(name, path, text, encoding, hashlib.sha256(data).hexdigest(), fmt, parsed)


def read_document(path: Path, encoding: str | None, max_chars: int, formats: Formats) -> Article:
    """One input file in its format (plain text through :func:`~pipeline.text.reader.read_article`)."""
    if formats.requested == "text" or not path.is_file():
        return read_article(path, encoding, max_chars)  # and its one-line errors for a missing path or a directory
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    fmt = detect_format(path, data, formats.requested)
    if fmt not in STRUCTURED:
        if len(data) > MAX_DOCUMENT_BYTES:  # a long text: read whole, as text always was
            return read_article(path, encoding, max_chars)
        return article_from_bytes(data, str(path), str(path), encoding, max_chars)
    return structured_article(data, str(path), str(path), fmt, formats, max_chars)


def check_doc_id(raw: object, where: str) -> str:
    """A corpus id that is usable, unchanged, as an output folder name; else a one-line error."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or not raw:
        raise InputError(f'{where}: "id" must be a non-empty string or an integer')
    if len(raw) > MAX_ID_CHARS or safe_name(raw, "") != raw:
        raise InputError(
            f"{where}: id {raw[:60]!r} is not a safe folder name",
            hint=f"use letters, digits, '.', '_' and '-' (at most {MAX_ID_CHARS}), not starting or ending with '.' "
            "or '-', no '..'",
        )
    return raw


class _SeenIds:
    """Ids already used in this corpus, case-folded (folders collide on case-insensitive disks).

    Kept as 64-bit digests in a set: the one thing that grows with the corpus, at about
    100 bytes an id (100 MB for a million), so repeats are caught without holding the ids.
    """

    def __init__(self) -> None:
        self._seen: set[int] = set()

    def claim(self, doc_id: str) -> bool:
        """True if ``doc_id`` is new."""
        key = int.from_bytes(hashlib.blake2b(doc_id.casefold().encode(), digest_size=8).digest())
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


def read_jsonl_corpus(
    path: Path, max_chars: int = DEFAULT_MAX_CHARS, formats: Formats | None = None
) -> Iterator[CorpusItem]:
    """Stream the articles of a JSONL corpus, one line at a time."""
    seen = _SeenIds()
    try:
        fh = path.open("rb")
    except OSError as exc:
        yield CorpusItem(path.stem, str(path), error=InputError(f"{path}: cannot read ({exc.strerror or exc})"))
        return
    documents = 0
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            documents += 1
            where = f"{path}:{lineno}"
            try:
                yield _jsonl_item(raw, path, where, seen, max_chars, formats or Formats())
            except Nl2enError as exc:
                yield CorpusItem(f"line-{lineno}", where, error=exc)
    if not documents:  # an empty corpus is an empty input, as an empty .txt is (E101), not a silent success
        yield CorpusItem(path.stem, str(path), error=EmptyInputError(f"{path}: empty corpus (no JSONL records)"))


def _jsonl_item(raw: bytes, path: Path, where: str, seen: _SeenIds, max_chars: int, formats: Formats) -> CorpusItem:
    try:
        record = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: not UTF-8 (invalid byte at offset {exc.start})") from exc
    except ValueError as exc:
        raise InputError(f"{where}: not valid JSON ({exc})") from exc
    if not isinstance(record, dict):
        raise InputError(f'{where}: expected an object {{"id": …, "text": …}}')
    if "id" not in record:
        raise InputError(f'{where}: no "id"')
    doc_id = check_doc_id(record["id"], where)
    html = record.get("html") if "text" not in record else None
    text = record.get("text")
    if html is not None and not isinstance(html, str):
        raise InputError(f'{where}: "html" must be a string (id {doc_id})')
    if html is None and not isinstance(text, str):
        raise InputError(f'{where}: "text" (or "html") must be a string (id {doc_id})')
    if not seen.claim(doc_id):
        raise InputError(f"{where}: id {doc_id!r} repeats an earlier id (ids are compared ignoring case)")
    if isinstance(html, str):
        article = structured_article(html.encode("utf-8"), where, where, "html", formats, max_chars)
    else:
        assert isinstance(text, str)
        article = article_from_bytes(text.encode("utf-8"), where, where, "utf-8", max_chars)
    return CorpusItem(doc_id, where, replace(article, name=doc_id), identity=InputIdentity.of_record(path, doc_id))


def expand_inputs(paths: Sequence[Path], directories: bool = True) -> Iterator[Path]:
    """The given files, and (with ``directories``) the visible files directly inside the given directories, sorted."""
    for path in paths:
        if directories and path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        else:
            yield path


def iter_corpus(
    paths: Sequence[Path],
    *,
    encoding: str | None = None,
    max_chars: int | None = None,
    directories: bool = True,
    formats: Formats | None = None,
) -> Iterator[CorpusItem]:
    """Every document of the inputs, lazily: files, directories' files, and JSONL corpora' lines.

    Files ask for their cleaned stem, JSONL records for their id; the folder each gets is its
    identity's (see the module doc). A bad document is an item with ``error`` set, never an
    exception. Without ``directories``, a directory is such a bad document (the batch
    commands' contract), not a list of files.
    """
    limit = max_chars or DEFAULT_MAX_CHARS
    formats = formats or Formats()
    for path in expand_inputs(paths, directories):
        if formats.jsonl(path) and path.is_file():
            yield from read_jsonl_corpus(path, limit, formats)
            continue
        doc_id, identity = safe_name(path.stem), InputIdentity.of_file(path)
        try:
            yield CorpusItem(doc_id, str(path), read_document(path, encoding, limit, formats), identity=identity)
        except Exception as exc:
            yield CorpusItem(doc_id, str(path), error=exc, identity=identity)


def distinct_inputs(paths: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """The inputs with each file (or corpus) once, and a note for every repeat.

    Two arguments are one input when they resolve to the same file (``a.txt``, ``./a.txt``, a
    symbolic link to it): it is translated once, into its one folder, and the note says so.
    """
    kept: list[Path] = []
    first: dict[str, Path] = {}
    notes = []
    for path in paths:
        key = InputIdentity.of_file(path).key
        if key in first:
            notes.append(f"{path} is the same input as {first[key]}: done once")
            continue
        first[key] = path
        kept.append(path)
    return kept, notes


def windows(items: Iterable[T], size: int = DEFAULT_WINDOW) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items; only one list is held at a time."""
    if size < 1:
        raise ValueError("window size must be at least 1")
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
