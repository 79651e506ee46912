"""Reference translations and summaries for scoring: ``<doc-stem>.refs.toml`` beside each article.

A refs file holds ``[[translation]]`` snippets (a Dutch passage, quoted verbatim from the
article, and its English reference) and an optional ``[summary]`` with a reference summary
and the key facts a good summary names. Snippets are matched to a run's output through
their Dutch side, so they need not line up with nl2en's sentence boundaries.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import (
    ReferencesFormatError,
    ReferencesNotFoundError,
)

REFS_SUFFIX = ".refs.toml"


@dataclass(frozen=True)
class Snippet:
    """One reference pair: ``nl`` appears verbatim in the article, ``en`` is its translation."""

    nl: str
    en: str


@dataclass(frozen=True)
class SummaryReference:
    reference: str
    key_facts: tuple[str, ...]


@dataclass(frozen=True)
class References:
    """A parsed refs file; ``sha256`` lets stored scores notice that the references changed."""

    path: Path
    sha256: str
    translations: tuple[Snippet, ...]
    summary: SummaryReference | None


def refs_path_for(input_path: str | Path) -> Path:
    """``seeds/a.txt`` → ``seeds/a.refs.toml`` (any other name just gets the suffix appended)."""
    path = Path(input_path)
    if path.suffix.lower() == ".txt":
        return path.with_name(path.stem + REFS_SUFFIX)
    return path.with_name(path.name + REFS_SUFFIX)


def _string(value: Any, where: str, path: Path) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ReferencesFormatError(f"{path}: {where} must be a non-empty string")
    return value


def _check_keys(table: dict[str, Any], allowed: set[str], where: str, path: Path) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ReferencesFormatError(
            f"{path}: unknown key(s) {', '.join(unknown)} in {where}", hint=f"allowed: {', '.join(sorted(allowed))}"
        )


def parse_references(data: bytes, path: Path) -> References:
    """Validate a refs file's content strictly, so a typo fails loudly instead of scoring nothing."""
    try:
        table = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ReferencesFormatError(f"{path}: not UTF-8 (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ReferencesFormatError(f"{path}: not valid TOML ({exc})") from exc
    _check_keys(table, {"translation", "summary"}, "the file", path)
    entries = table.get("translation", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ReferencesFormatError(f"{path}: 'translation' must be an array of tables ([[translation]])")
    snippets = []
    for number, entry in enumerate(entries, 1):
        where = f"[[translation]] #{number}"
        _check_keys(entry, {"nl", "en"}, where, path)
        snippets.append(
            Snippet(_string(entry.get("nl"), f"{where} nl", path), _string(entry.get("en"), f"{where} en", path))
        )
    summary = None
    if "summary" in table:
        raw = table["summary"]
        if not isinstance(raw, dict):
            raise ReferencesFormatError(f"{path}: 'summary' must be a table ([summary])")
        _check_keys(raw, {"reference", "key_facts"}, "[summary]", path)
        facts = raw.get("key_facts", [])
        if not isinstance(facts, list):
            raise ReferencesFormatError(f"{path}: [summary] key_facts must be a list of strings")
        summary = SummaryReference(
            _string(raw.get("reference"), "[summary] reference", path),
            tuple(_string(f, "[summary] key_facts entry", path) for f in facts),
        )
    if not snippets and summary is None:
        raise ReferencesFormatError(f"{path}: no [[translation]] entries and no [summary]")
    return References(path, hashlib.sha256(data).hexdigest(), tuple(snippets), summary)


def load_references(path: Path) -> References:
    """Read and validate ``path``; a missing or unreadable file is a one-line error."""
    if not path.is_file():
        raise ReferencesNotFoundError(
            f"no references at {path}", hint="write one beside the article or pass --refs FILE"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReferencesNotFoundError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return parse_references(data, path)


def find_references(manifest: dict[str, Any], run_dir: Path) -> Path:
    """The refs file for a run: its input path with ``.txt`` → ``.refs.toml``.

    The input's absolute path (recorded since manifest schema 2) is tried first; a relative
    input path was relative to wherever the run was started, so it is tried as given and
    then against each directory above the run (``outputs/`` usually sits beside
    ``seeds/``).
    """
    info = manifest.get("input") or {}
    input_path = info.get("path")
    if not input_path or input_path == "-":
        raise ReferencesNotFoundError(f"{run_dir}: the manifest names no input file", hint="pass --refs FILE")
    if info.get("resolved") and refs_path_for(info["resolved"]).is_file():
        return refs_path_for(info["resolved"])
    candidate = refs_path_for(input_path)
    if candidate.is_absolute() or candidate.is_file():
        return candidate
    for parent in run_dir.resolve().parents:
        if (parent / candidate).is_file():
            return parent / candidate
    return candidate


def locate(text: str, snippet: str, start: int = 0) -> tuple[int, int] | None:
    """The span of ``snippet`` in ``text`` at or after ``start`` (else anywhere).

    Exact match first; then any run of whitespace may stand for any other, so a snippet
    written on one line still matches an article that wraps it.
    """
    for offset in (start, 0):
        found = text.find(snippet, offset)
        if found >= 0:
            return found, found + len(snippet)
    pattern = re.compile(r"\s+".join(re.escape(part) for part in snippet.split()))
    for offset in (start, 0):
        match = pattern.search(text, offset)
        if match:
            return match.start(), match.end()
    return None


def missing_snippets(refs: References, text: str) -> list[str]:
    """The snippets whose Dutch side is not in ``text`` (an empty list when the refs fit)."""
    return [s.nl for s in refs.translations if locate(text, s.nl) is None]
