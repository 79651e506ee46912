"""The translation memory: a persistent cache of every stage's results.

SQLite (stdlib) in WAL mode with a busy timeout, so several processes can share one
cache file; each entry is written once (``INSERT OR IGNORE``) in short transactions.
Keys hash everything that determines an output: stage, model fingerprint, backend,
decoding settings and the normalised source. Backends know nothing of the cache;
:class:`pipeline.runs.cache.CachedTranslator` wraps them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import CacheError
from pipeline.text.normalise import normalise_source

# Numbered migrations; PRAGMA user_version records how many have been applied.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE entries (
        key TEXT PRIMARY KEY,
        stage TEXT NOT NULL,
        model TEXT NOT NULL,
        source TEXT NOT NULL,
        target TEXT NOT NULL,
        meta TEXT NOT NULL DEFAULT '{}',
        created REAL NOT NULL
    );
    CREATE TABLE file_digests (key TEXT PRIMARY KEY, digest TEXT NOT NULL);
    """,
)


def cache_key(stage: str, identity: Mapping[str, Any], source: str) -> str:
    """Hash of the stage, the engine identity (model, backend, settings) and the source."""
    payload = json.dumps(
        {"stage": stage, "identity": identity, "source": normalise_source(source)},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedEntry:
    target: str
    meta: dict[str, Any]
    source: str = ""  # the source as first stored (its spacing may differ from a later hit's)


@dataclass(frozen=True)
class CacheStats:
    path: str
    entries: int
    size_bytes: int
    by_stage: dict[str, int]
    by_model: dict[str, int]


class TranslationMemory:
    """A SQLite-backed store of stage outputs, shared safely between processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=60.0, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout = 60000")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise CacheError(f"cannot open cache {path}: {exc}", hint="pass --cache PATH or --no-cache") from exc

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version >= len(_MIGRATIONS):
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(_MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _rollback(self) -> None:
        """Undo an open transaction after a failure; a connection that cannot even do that is left as is."""
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TranslationMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_many(self, keys: Iterable[str]) -> dict[str, CachedEntry]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, CachedEntry] = {}
        try:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, target, meta, source FROM entries WHERE key IN ({marks})", chunk)
                for key, target, meta, source in rows:
                    found[key] = CachedEntry(target, json.loads(meta), source)
        except sqlite3.Error as exc:
            raise CacheError(f"cannot read cache {self.path}: {exc}") from exc
        return found

    def put_many(self, items: Iterable[tuple[str, str, str, str, str, Mapping[str, Any]]]) -> None:
        """Store (key, stage, model, source, target, meta) rows; existing keys are kept."""
        now = time.time()
        rows = [(k, st, m, src, tgt, json.dumps(meta, ensure_ascii=False), now) for k, st, m, src, tgt, meta in items]
        if not rows:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise CacheError(f"cannot write cache {self.path}: {exc}") from exc

    def delete_many(self, keys: Iterable[str]) -> None:
        """Remove entries by key (a decode journal whose translations are stored); absent keys are no error."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                self._db.execute(f"DELETE FROM entries WHERE key IN ({','.join('?' * len(chunk))})", chunk)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise CacheError(f"cannot write cache {self.path}: {exc}") from exc

    def digest(self, key: str, compute: Callable[[], str]) -> str:
        """Memoised file digest (see :func:`pipeline.models.registry.fingerprint`)."""
        try:
            row = self._db.execute("SELECT digest FROM file_digests WHERE key = ?", (key,)).fetchone()
            if row:
                return str(row[0])
            value = compute()
            self._db.execute("INSERT OR REPLACE INTO file_digests VALUES (?, ?)", (key, value))
        except sqlite3.Error as exc:
            raise CacheError(f"cannot use cache {self.path}: {exc}") from exc
        return value

    def stats(self) -> CacheStats:
        try:
            count = self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
            by_stage = dict(self._db.execute("SELECT stage, COUNT(*) FROM entries GROUP BY stage").fetchall())
            by_model = dict(self._db.execute("SELECT model, COUNT(*) FROM entries GROUP BY model").fetchall())
        except sqlite3.Error as exc:
            raise CacheError(f"cannot read cache {self.path}: {exc}") from exc
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return CacheStats(str(self.path), count, size, by_stage, by_model)

    def clear(self, stage: str | None = None) -> int:
        """Delete entries (of one stage and its sub-stages, e.g. ``translate:decodes``, or all); how many went."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            if stage:
                removed = self._db.execute(
                    "DELETE FROM entries WHERE stage = ? OR stage LIKE ?", (stage, f"{stage}:%")
                ).rowcount
            else:
                removed = self._db.execute("DELETE FROM entries").rowcount
                self._db.execute("DELETE FROM file_digests")
            self._db.execute("COMMIT")
            self._db.execute("VACUUM")
        except sqlite3.Error as exc:
            self._rollback()
            raise CacheError(f"cannot clear cache {self.path}: {exc}") from exc
        return int(removed)
