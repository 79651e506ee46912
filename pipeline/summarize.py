"""Summarisers: a seq2seq model (DistilBART, BART, PEGASUS…) or a built-in extractive one.

Long input is never truncated: when the text exceeds the model's context it is cut at
sentence boundaries into chunks that fit, each chunk is summarised, and the joined
partial summaries are summarised again (map-reduce) until they fit. The plan is kept
in :attr:`Summary.chunks` and recorded in the manifest.

The extractive summariser (TextRank over TF-IDF sentence similarity) lives in
:mod:`pipeline.extractive`; it is re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from pipeline.decoding import summarizer_settings as summarizer_settings  # re-exported for callers
from pipeline.errors import InputTooLargeError
from pipeline.extractive import EXTRACTIVE as EXTRACTIVE  # re-exported: callers import them from here
from pipeline.extractive import ExtractiveSummarizer as ExtractiveSummarizer
from pipeline.extractive import select_sentences as select_sentences
from pipeline.extractive import textrank as textrank
from pipeline.memory import TranslationMemory, cache_key, normalise_source
from pipeline.registry import ResolvedModel
from pipeline.segment import sentence_spans
from pipeline.seq2seq import Seq2SeqEngine
from pipeline.translate import split_to_fit

# Each level at least halves the text (chunks fill at least half the context, and each partial
# summary is capped at a quarter of it), so 40 levels cover 2**40 tokens: no article can reach it.
MAX_REDUCE_LEVELS = 40


@dataclass(frozen=True)
class Summary:
    """A summary, how it was made, and why it might be empty."""

    text: str
    method: str  # "abstractive" or "extractive"
    chunks: list[dict[str, Any]] = field(default_factory=list)
    flags: tuple[str, ...] = ()
    note: str | None = None
    cached: bool = False

    def meta(self) -> dict[str, Any]:
        return {"method": self.method, "chunks": self.chunks, "flags": list(self.flags), "note": self.note}


class Summarizer(Protocol):
    """What every summariser offers; the cache and the runner need no more."""

    def identity(self) -> dict[str, Any]: ...

    @property
    def name(self) -> str: ...
    @property
    def backend(self) -> str: ...
    @property
    def settings(self) -> dict[str, Any]: ...

    def summarize(self, text: str) -> Summary: ...


def split_sentences(text: str, language: str = "en") -> list[str]:
    """Sentences of ``text`` (all lines), none lost."""
    return [text[s:e] for s, e in sentence_spans(text, 0, len(text), language)]


def clean_summary(text: str) -> tuple[str, list[str]]:
    """Collapse whitespace and drop repeated sentences; returns (text, flags)."""
    flags: list[str] = []
    seen: set[str] = set()
    kept: list[str] = []
    for sentence in split_sentences(" ".join(text.split())):
        key = normalise_source(sentence).lower()
        if key in seen:
            if "repeated_sentences_removed" not in flags:
                flags.append("repeated_sentences_removed")
            continue
        seen.add(key)
        kept.append(sentence)
    return " ".join(kept), flags


@dataclass
class Seq2SeqSummarizer:
    """An abstractive summariser (DistilBART, BART, PEGASUS…) on an engine."""

    model: ResolvedModel
    engine: Seq2SeqEngine
    settings: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def backend(self) -> str:
        return self.engine.backend

    def identity(self) -> dict[str, Any]:
        return {**self.engine.identity(), "settings": self.settings}

    @property
    def budget(self) -> int:
        """Input tokens per chunk, special tokens included."""
        return self.engine.max_input_tokens

    def count_tokens(self, text: str) -> int:
        return self.engine.count_tokens([text])[0]

    def _generate(self, texts: list[str], cap: int | None = None) -> list[str]:
        settings = dict(self.settings)
        if cap is not None:  # intermediate summaries must shrink, whatever the settings say
            for key in ("max_length", "min_length", "min_new_tokens"):
                settings.pop(key, None)
            settings["max_new_tokens"] = min(cap, int(settings.get("max_new_tokens", cap)))
        return [text for text, _ in self.engine.generate(texts, settings)]

    def plan_chunks(self, text: str) -> list[tuple[int, int]]:
        """Character spans of consecutive sentence groups that each fit the context."""
        budget = self.budget
        spans: list[tuple[int, int]] = []
        for s, e in sentence_spans(text, 0, len(text), "en"):
            if self.count_tokens(text[s:e]) > budget:
                pos = s
                for piece in split_to_fit(text[s:e], lambda t: self.count_tokens(t) <= budget):
                    start = text.index(piece, pos)
                    pos = start + len(piece)
                    spans.append((start, pos))
            else:
                spans.append((s, e))
        chunks: list[tuple[int, int]] = []
        for s, e in spans:
            if chunks and self.count_tokens(text[chunks[-1][0] : e]) <= budget:
                chunks[-1] = (chunks[-1][0], e)
            else:
                chunks.append((s, e))
        return chunks

    def summarize(self, text: str) -> Summary:
        text = text.strip()
        plan: list[dict[str, Any]] = []
        level = 0
        cap = max(8, self.budget // 4)
        while (tokens := self.count_tokens(text)) > self.budget:
            if level >= MAX_REDUCE_LEVELS:
                raise InputTooLargeError(
                    f"text still {tokens} tokens after {level} levels of map-reduce summarising "
                    f"(the model reads {self.budget})",
                    hint="summarise a shorter text",
                )
            spans = self.plan_chunks(text)
            record, token_pos = [], 0
            for s, e in spans:
                n = self.count_tokens(text[s:e])
                record.append({"start": s, "end": e, "token_start": token_pos, "token_end": token_pos + n})
                token_pos += n
            plan.append({"level": level, "input_tokens": self.count_tokens(text), "chunks": record})
            partials = self._generate([text[s:e] for s, e in spans], cap=cap)
            text = "\n".join(p for p in partials if p.strip())
            level += 1
        final = self._generate([text])[0] if text else ""
        if plan:
            plan.append(
                {"level": level, "input_tokens": self.count_tokens(text), "chunks": [{"start": 0, "end": len(text)}]}
            )
        cleaned, flags = clean_summary(final)
        note = None
        if not cleaned:
            flags.append("empty_output")
            note = "the model generated only special tokens or whitespace for this input"
        return Summary(cleaned, "abstractive", plan, tuple(flags), note)


@dataclass
class CachedSummarizer:
    """Serves summaries from the translation memory (stage ``summarize``)."""

    inner: Summarizer
    memory: TranslationMemory | None
    fingerprint: str
    hits: int = 0
    misses: int = 0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def backend(self) -> str:
        return self.inner.backend

    @property
    def settings(self) -> dict[str, Any]:
        return self.inner.settings

    def summarize_many(self, texts: Sequence[str]) -> list[Summary]:
        """Summaries of ``texts`` in order; the distinct misses go to the inner summariser at once
        when it can take many (an executor's pool), else one by one."""
        identity = {"model": self.fingerprint, **self.inner.identity()}
        keys = [cache_key("summarize", identity, t) for t in texts]
        found = self.memory.get_many(keys) if self.memory else {}
        first = {k: t for k, t in zip(keys, texts, strict=True)}
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        many = getattr(self.inner, "summarize_many", None)
        if not missing:
            computed: list[Summary] = []
        elif callable(many):
            computed = list(many([first[k] for k in missing]))
        else:
            computed = [self.inner.summarize(first[k]) for k in missing]
        fresh = dict(zip(missing, computed, strict=True))
        if self.memory and fresh:
            self.memory.put_many(
                (k, "summarize", self.fingerprint, normalise_source(first[k]), s.text, s.meta())
                for k, s in fresh.items()
            )
        out = []
        for key in keys:
            if key in found:
                self.hits += 1
                meta = found[key].meta
                out.append(
                    Summary(found[key].target, meta["method"], meta["chunks"], tuple(meta["flags"]), meta["note"], True)
                )
            else:
                self.misses += 1
                out.append(replace(fresh[key], cached=False))
        return out

    def summarize(self, text: str) -> Summary:
        identity = {"model": self.fingerprint, **self.inner.identity()}
        key = cache_key("summarize", identity, text)
        if self.memory:
            found = self.memory.get_many([key]).get(key)
            if found is not None:
                self.hits += 1
                meta = found.meta
                return Summary(
                    found.target, meta["method"], meta["chunks"], tuple(meta["flags"]), meta["note"], cached=True
                )
        summary = self.inner.summarize(text)
        self.misses += 1
        if self.memory:
            self.memory.put_many(
                [(key, "summarize", self.fingerprint, normalise_source(text), summary.text, summary.meta())]
            )
        return replace(summary, cached=False)
