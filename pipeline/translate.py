"""Translation engines behind one small interface, and the cache that wraps them.

``Seq2SeqTranslator`` runs a seq2seq translation model (MarianMT, NLLB) on an engine
(transformers or CTranslate2) with the decoding settings of ``pipeline.decoding``.
torch and transformers are imported only when the first miss needs the model, so fully
cached documents never pay for them. ``CachedTranslator`` adds the translation memory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from pipeline.decoding import decoding_settings as decoding_settings  # re-exported for callers
from pipeline.memory import TranslationMemory, cache_key
from pipeline.seq2seq import Seq2SeqEngine

_CLAUSE_BREAK = re.compile(r"(?<=[;:,])\s+|\s+(?=[–—-]\s)")
_REPEAT = re.compile(r"\b(\w+(?:\W+\w+){0,3}?)(?:\W+\1\b){3,}", re.IGNORECASE)
LENGTH_RATIO_BAND = (0.4, 2.5)


@dataclass(frozen=True)
class Translation:
    """One translated segment, with what the engine noticed about it."""

    target: str
    flags: tuple[str, ...] = ()
    pieces: int = 1
    tokens: int = 0
    cached: bool = False

    def meta(self) -> dict[str, Any]:
        return {"flags": list(self.flags), "pieces": self.pieces, "tokens": self.tokens}


class Translator(Protocol):
    """What every translator offers; the cache and the runner need no more."""

    @property
    def backend(self) -> str: ...

    @property
    def settings(self) -> dict[str, Any]: ...

    @property
    def sources(self) -> dict[str, str]:
        """Where each decoding setting came from (``pipeline.decoding``)."""
        ...

    def identity(self) -> dict[str, Any]:
        """Everything but the model that determines the output: backend, compute type, settings."""
        ...

    def translate_batch(self, sources: Sequence[str]) -> list[Translation]: ...


def quality_flags(source: str, target: str) -> list[str]:
    """Signs of a suspicious output: empty, looping, or far too short or long."""
    flags: list[str] = []
    if not target.strip():
        flags.append("empty_output")
        return flags
    if _REPEAT.search(target):
        flags.append("repetition")
    if len(source) >= 20:
        ratio = len(target) / len(source)
        if not LENGTH_RATIO_BAND[0] <= ratio <= LENGTH_RATIO_BAND[1]:
            flags.append("length_ratio")
    return flags


def _middle_cut(text: str, cuts: list[int]) -> int | None:
    inner = [c for c in cuts if 0 < c < len(text)]
    return min(inner, key=lambda c: abs(c - len(text) / 2)) if inner else None


def split_to_fit(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Split ``text`` into pieces that each satisfy ``fits``, losing no character.

    Cuts at the clause boundary nearest the middle (``; : ,`` and dashes), else at the
    whitespace nearest the middle, else in the middle of an over-long token; recursive,
    so pieces stay as long as the model allows.
    """
    text = text.strip()
    if not text or fits(text):
        return [text] if text else []
    cut = _middle_cut(text, [m.end() for m in _CLAUSE_BREAK.finditer(text)])
    if cut is None:
        cut = _middle_cut(text, [m.start() for m in re.finditer(r"\s+", text)])
    if cut is None:
        cut = max(1, len(text) // 2)
    return split_to_fit(text[:cut], fits) + split_to_fit(text[cut:], fits)


@dataclass
class Seq2SeqTranslator:
    """A seq2seq translation model (MarianMT, NLLB) on an engine: transformers or CTranslate2.

    Sentences longer than the model's source limit are split at clause boundaries (then
    by words) and the translated pieces joined, so nothing is truncated; outputs are
    checked for signs of trouble.
    """

    engine: Seq2SeqEngine
    settings: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def backend(self) -> str:
        return self.engine.backend

    def identity(self) -> dict[str, Any]:
        return {**self.engine.identity(), "settings": self.settings}

    def translate_batch(self, sources: Sequence[str]) -> list[Translation]:
        limit = self.engine.max_input_tokens
        pieces: list[tuple[int, str]] = []
        for index, source in enumerate(sources):
            parts = split_to_fit(source, lambda t: self.engine.count_tokens([t])[0] <= limit)
            pieces.extend((index, part) for part in parts or [source])
        outputs = self.engine.generate([p for _, p in pieces], self.settings)
        joined: list[list[tuple[str, int]]] = [[] for _ in sources]
        for (index, _), result in zip(pieces, outputs, strict=True):
            joined[index].append(result)
        results = []
        for source, parts_out in zip(sources, joined, strict=True):
            target = " ".join(t for t, _ in parts_out if t)
            flags = quality_flags(source, target)
            if len(parts_out) > 1:
                flags.append("split")
            results.append(Translation(target, tuple(flags), len(parts_out), sum(n for _, n in parts_out)))
        return results


MarianTranslator = Seq2SeqTranslator


@dataclass
class CachedTranslator:
    """Serves segments from the translation memory; asks the engine only for misses."""

    inner: Translator
    memory: TranslationMemory | None
    fingerprint: str
    stage: str = "translate"
    hits: int = 0
    misses: int = 0

    @property
    def backend(self) -> str:
        return self.inner.backend

    @property
    def settings(self) -> dict[str, Any]:
        return self.inner.settings

    @property
    def sources(self) -> dict[str, str]:
        return self.inner.sources

    def identity(self) -> dict[str, Any]:
        return {"model": self.fingerprint, **self.inner.identity()}

    def translate_batch(self, sources: Sequence[str]) -> list[Translation]:
        identity = self.identity()
        keys = [cache_key(self.stage, identity, s) for s in sources]
        found = self.memory.get_many(keys) if self.memory else {}
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        fresh: dict[str, Translation] = {}
        if missing:
            first_source = {k: s for k, s in zip(keys, sources, strict=True)}
            computed = self.inner.translate_batch([first_source[k] for k in missing])
            fresh = dict(zip(missing, computed, strict=True))
            if self.memory:
                self.memory.put_many(
                    (k, self.stage, self.fingerprint, first_source[k], t.target, t.meta()) for k, t in fresh.items()
                )
        results = []
        for key in keys:
            if key in found:
                entry = found[key]
                meta = entry.meta
                results.append(
                    Translation(
                        entry.target, tuple(meta.get("flags", ())), meta.get("pieces", 1), meta.get("tokens", 0), True
                    )
                )
                self.hits += 1
            else:
                results.append(replace(fresh[key], cached=False))
                self.misses += 1
        return results
