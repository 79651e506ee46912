"""The translation memory around translators and summarisers: hits served, misses computed and stored.

Keys come from the run signature (``pipeline.signature``) and nothing else: its key fields, the
stage, the normalised source and, for translations, what the translator adds per segment (the
glossary entries the segment uses; for a translator that reads context, the prompt's digest and
the previous sentences its prompt carries). Translators and summarisers know nothing of the cache.

While a call's misses are computed, the local translator writes each decode to a journal in the
memory (:class:`MemoryJournal`, stage ``translate:decodes``) as it completes; a run stopped inside
a window replays them on the next run, and once the call's translations are stored the journal's
entries are removed.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pipeline.engines.protocol import Candidate, DecodeRequest
from pipeline.runs.memory import TranslationMemory, cache_key
from pipeline.signature import RunSignature
from pipeline.summaries.base import Summarizer, Summary
from pipeline.text.normalise import normal_positions, normalise_source
from pipeline.translation.translator import Translation, Translator, context_size


def rebased(translation: Translation, stored: str, source: str) -> Translation | None:
    """``translation``, made for ``stored``, with its glossary terms' offsets pointing into ``source``.

    Keys normalise the source (NFC, whitespace collapsed), so a hit may have been stored for the
    same sentence spaced differently; its term offsets index that text. Both texts have the same
    normal form, so an offset maps through it: stored → normal → ``source``. ``None`` when they do
    not share one character for character (NFC changed a text): the caller then translates afresh
    rather than write wrong offsets.
    """
    if not translation.terms or stored == source:
        return translation
    old, new = normal_positions(stored), normal_positions(source)
    if len(old) != len(new) or unicodedata.normalize("NFC", source) != source:
        return None
    terms = []
    for term in translation.terms:
        start, end = int(term["start"]), int(term["end"])
        first, last = bisect.bisect_left(old, start), bisect.bisect_left(old, end - 1)
        if first >= len(old) or last >= len(old) or old[first] != start or old[last] != end - 1:
            return None
        begin, finish = new[first], new[last] + 1
        terms.append({**term, "nl": source[begin:finish], "start": begin, "end": finish})
    return replace(translation, terms=tuple(terms))


def segment_cache_key(signature: RunSignature, extra: Mapping[str, Any], source: str) -> str:
    """A segment's key: the signature's key fields, what the translator adds for this source, the source."""
    return cache_key(signature.stage, {**signature.key_fields(), **extra}, source)


@dataclass
class MemoryJournal:
    """The decode journal (:class:`pipeline.translation.translator.DecodeJournal`) in the translation memory.

    Each decode is keyed by the run signature's key fields, the whole request and the exact text
    the engine saw (no normalising: replay must give what the engine gave), under the stage
    ``<stage>:decodes``, so it never meets a translation's key. ``settle`` removes what the
    journal wrote or replayed since the last call: those segments' translations are stored by then.
    """

    memory: TranslationMemory
    signature: RunSignature
    touched: set[str] = field(default_factory=set)
    _identity: str = field(default="", init=False, repr=False)

    def __post_init__(self) -> None:
        self._identity = json.dumps(self.signature.key_fields(), sort_keys=True, ensure_ascii=False, default=str)

    @property
    def stage(self) -> str:
        return f"{self.signature.stage}:decodes"

    def key(self, source: str, request: DecodeRequest) -> str:
        """The hash of the stage, the signature's key fields, every field of ``request`` and ``source`` as is."""
        fields = json.dumps(dataclasses.asdict(request), sort_keys=True, ensure_ascii=False, default=str)
        payload = json.dumps([self.stage, self._identity, fields, source], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def recall(self, sources: Sequence[str], request: DecodeRequest) -> dict[int, list[Candidate]]:
        keys = [self.key(s, request) for s in sources]
        found = self.memory.get_many(keys)
        out: dict[int, list[Candidate]] = {}
        for index, key in enumerate(keys):
            entry = found.get(key)
            if entry is not None and entry.source == sources[index]:
                # [target, score, tokens] and, from a decode that gave them, its word links
                out[index] = [
                    Candidate(row[0], row[1], row[2], row[3] if len(row) > 3 else None)
                    for row in entry.meta["candidates"]
                ]
                self.touched.add(key)
        return out

    def record(self, done: Sequence[tuple[str, list[Candidate]]], request: DecodeRequest) -> None:
        rows = [
            (
                self.key(source, request),
                self.stage,
                self.signature.model.fingerprint,
                source,
                candidates[0].target if candidates else "",
                {
                    "candidates": [
                        [c.target, c.score, c.tokens, *([c.links] if c.links is not None else [])] for c in candidates
                    ]
                },
            )
            for source, candidates in done
        ]
        self.memory.put_many(rows)
        self.touched.update(row[0] for row in rows)

    def settle(self) -> None:
        """Remove the entries written or replayed since the last settle (their translations are stored)."""
        if self.touched:
            self.memory.delete_many(self.touched)
            self.touched.clear()


class _Cached:
    """What both cache wrappers derive from their signature and their inner translator or summariser."""

    inner: Translator | Summarizer
    signature: RunSignature

    @property
    def fingerprint(self) -> str:
        return self.signature.model.fingerprint

    @property
    def settings(self) -> Mapping[str, Any]:
        return self.signature.decoding.settings

    def manifest(self) -> dict[str, Any]:
        """The manifest's ``translator``/``summarizer`` section: the signature, with where misses were computed."""
        return self.signature.with_executor(self.inner.executor()).manifest()

    def close(self) -> None:
        self.inner.close()


Context = tuple[str, ...]


@dataclass
class CachedTranslator(_Cached):
    """Serves segments from the translation memory; asks the inner translator only for misses.

    A translator that reads context (``context_size`` above 0: an instruct model given the
    sentences before each segment) is keyed by the segment *and* its context (``segment_key``):
    the same sentence after other sentences is another translation, never merged with the first.
    The inner translator writes its decodes to the memory's journal while it computes them
    (``Translator.keep_decodes``), so a run stopped inside a call resumes where it stopped.
    """

    inner: Translator
    memory: TranslationMemory | None
    signature: RunSignature
    hits: int = 0
    misses: int = 0
    journal: MemoryJournal | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.memory is not None:
            self.journal = MemoryJournal(self.memory, self.signature)

    @property
    def context_size(self) -> int:
        """How many previous sentences of its document the inner translator reads (0: none)."""
        return context_size(self.inner)  # a translator that declares nothing reads none

    def key(self, source: str, context: Sequence[str] = ()) -> str:
        inner: Any = self.inner  # segment_key(source, context) where context_size is declared
        extra = inner.segment_key(source, tuple(context)) if self.context_size else inner.segment_key(source)
        return segment_cache_key(self.signature, extra, source)

    def align(self, sources: Sequence[str], targets: Sequence[str]) -> list[Any]:
        """The inner translator's word links for each (source, translation) pair (never cached: cheap, one pass)."""
        align = getattr(self.inner, "align", None)
        return list(align(sources, targets)) if align is not None else [None] * len(sources)

    def _put(self, rows: Iterable[tuple[str, str, Translation]]) -> None:
        if self.memory is not None:
            self.memory.put_many((k, self.signature.stage, self.fingerprint, s, t.target, t.meta()) for k, s, t in rows)

    def translate_batch(
        self,
        sources: Sequence[str],
        groups: Sequence[Hashable] | None = None,
        contexts: Sequence[Sequence[str]] | None = None,
    ) -> list[Translation]:
        """Hits from the memory; the distinct misses from the inner translator, each in its first source's group.

        ``contexts[i]``: the sentences before source ``i`` in its document (the translator keeps the
        last ``context_size``); ignored by a translator that reads none.
        """
        if contexts is not None and len(contexts) != len(sources):
            raise ValueError(f"{len(contexts)} contexts for {len(sources)} sources")
        reads = self.context_size > 0 and contexts is not None
        own: list[Context] = [tuple(contexts[i]) if reads and contexts else () for i in range(len(sources))]
        keys = [self.key(s, c) for s, c in zip(sources, own, strict=True)]
        found = self.memory.get_many(keys) if self.memory else {}
        served: dict[int, Translation] = {}
        for index, (key, source) in enumerate(zip(keys, sources, strict=True)):
            if key in found:
                entry = found[key]
                hit = rebased(Translation.from_cache(entry.target, entry.meta), entry.source, source)
                if hit is None:  # stored for a differently spaced text whose terms cannot be placed here
                    keys[index] = f"{key}:{index}"
                else:
                    served[index] = hit
        missing = list(dict.fromkeys(k for i, k in enumerate(keys) if i not in served))
        fresh: dict[str, Translation] = {}
        first: dict[str, int] = {}
        for index, key in enumerate(keys):
            first.setdefault(key, index)
        if missing:
            todo = [first[k] for k in missing]
            computed = self._compute(
                [sources[i] for i in todo],
                None if groups is None else [groups[i] for i in todo],
                [own[i] for i in todo] if reads else None,
            )
            fresh = dict(zip(missing, computed, strict=True))
            self._put((k, sources[first[k]], t) for k, t in fresh.items())
            if self.journal is not None:
                self.journal.settle()
        results = []
        for index, (key, source) in enumerate(zip(keys, sources, strict=True)):
            if index in served:
                results.append(served[index])
                self.hits += 1
            else:
                # a repeat of a segment within this batch, spaced differently: its terms placed in its own text
                made = fresh[key]
                placed = rebased(made, sources[first[key]], source)
                results.append(replace(placed or made, cached=False))
                self.misses += 1
        return results

    def _compute(
        self, sources: list[str], groups: list[Hashable] | None, contexts: list[Context] | None
    ) -> list[Translation]:
        """The inner translator's translations of ``sources``, its decodes journaled meanwhile."""
        # a structural translator that does not subclass the protocol has no keep_decodes: it journals nothing
        keep = getattr(self.inner, "keep_decodes", None) if self.journal is not None else None
        if keep is not None:
            keep(self.journal)
        try:
            if contexts is not None:
                inner: Any = self.inner  # translate_batch(sources, groups, contexts) where context_size is declared
                return list(inner.translate_batch(sources, groups, contexts))
            if groups is None:
                return self.inner.translate_batch(sources)
            return self.inner.translate_batch(sources, groups)
        finally:
            if keep is not None:
                keep(None)


def _from_memory(target: str, meta: Mapping[str, Any]) -> Summary:
    return Summary(target, meta["method"], meta["chunks"], tuple(meta["flags"]), meta["note"], cached=True)


@dataclass
class CachedSummarizer(_Cached):
    """Serves summaries from the translation memory (stage ``summarize``)."""

    inner: Summarizer
    memory: TranslationMemory | None
    signature: RunSignature
    hits: int = 0
    misses: int = 0

    def key(self, text: str) -> str:
        return cache_key(self.signature.stage, self.signature.key_fields(), text)

    def summarize_many(self, texts: Sequence[str]) -> list[Summary]:
        """Summaries of ``texts`` in order; the distinct misses go to the inner summariser at once."""
        return self._summarize(texts, self.inner.summarize_many)

    def summarize(self, text: str) -> Summary:
        return self._summarize([text], self.inner.summarize_many)[0]

    def _summarize(self, texts: Sequence[str], compute: Callable[[Sequence[str]], list[Summary]]) -> list[Summary]:
        keys = [self.key(t) for t in texts]
        found = self.memory.get_many(keys) if self.memory else {}
        first = {k: t for k, t in zip(keys, texts, strict=True)}
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        fresh = dict(zip(missing, compute([first[k] for k in missing]) if missing else [], strict=True))
        if self.memory and fresh:
            self.memory.put_many(
                (k, self.signature.stage, self.fingerprint, normalise_source(first[k]), s.text, s.meta())
                for k, s in fresh.items()
            )
        out = []
        for key in keys:
            if key in found:
                self.hits += 1
                out.append(_from_memory(found[key].target, found[key].meta))
            else:
                self.misses += 1
                out.append(replace(fresh[key], cached=False))
        return out
