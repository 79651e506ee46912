"""What every summariser returns and offers, and the sentence and map-reduce tools they share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipeline.errors import InputTooLargeError
from pipeline.signature import ExecutorSection
from pipeline.text.normalise import normalise_source
from pipeline.text.segment import sentence_spans
from pipeline.text.split import split_to_fit

# Each level at least halves the text (chunks fill at least half the budget, and each partial
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
    """What every summariser offers, local or on an executor; the cache and the runs use no more.

    Explicit subclasses get the defaults below. What determines a summariser's outputs is not
    asked of it: the session builds the run signature from the components it opened.
    """

    def summarize(self, text: str) -> Summary: ...

    def summarize_many(self, texts: Sequence[str]) -> list[Summary]:
        """Summaries of ``texts``, in order (an executor sends them to its pool at once)."""
        return [self.summarize(text) for text in texts]

    def executor(self) -> ExecutorSection:
        """Where summaries are computed, for the manifest."""
        return ExecutorSection()

    def close(self) -> None:
        """Stop what the summariser started (a local Ray); nothing for a local model."""
        return None


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


def chunk_spans(
    text: str, budget: int, count_tokens: Callable[[str], int], language: str = "en"
) -> list[tuple[int, int]]:
    """Character spans of consecutive sentence groups of ``text`` that each fit ``budget`` tokens.

    A sentence longer than ``budget`` is cut into pieces that fit (``split_to_fit``).
    """
    spans: list[tuple[int, int]] = []
    for s, e in sentence_spans(text, 0, len(text), language):
        if count_tokens(text[s:e]) > budget:
            pos = s
            for piece in split_to_fit(text[s:e], lambda t: count_tokens(t) <= budget):
                start = text.index(piece, pos)
                pos = start + len(piece)
                spans.append((start, pos))
        else:
            spans.append((s, e))
    chunks: list[tuple[int, int]] = []
    for s, e in spans:
        if chunks and count_tokens(text[chunks[-1][0] : e]) <= budget:
            chunks[-1] = (chunks[-1][0], e)
        else:
            chunks.append((s, e))
    return chunks


def map_reduce(
    text: str,
    budget: int,
    count_tokens: Callable[[str], int],
    summarize_parts: Callable[[list[str], str], list[str]],
    *,
    limit: str,
    max_levels: int = MAX_REDUCE_LEVELS,
    language: str = "en",
) -> tuple[str, str, list[dict[str, Any]]]:
    """``text`` reduced until it fits ``budget`` tokens, the language it is then in, and the plan.

    While the text is too long it is cut into chunks that fit (:func:`chunk_spans`), each chunk is
    summarised (``summarize_parts(chunks, language)``, which returns English) and the partial
    summaries are joined, one per line. The plan has one record per level (its chunks' character and
    token spans) and, when there was a level, a last one for the text left; it is empty when
    ``text`` fits as it is. Past ``max_levels`` levels: ``InputTooLargeError``, whose message ends
    with ``limit`` (``"the model reads"``) and the budget.
    """
    plan: list[dict[str, Any]] = []
    level = 0
    while (tokens := count_tokens(text)) > budget:
        if level >= max_levels:
            raise InputTooLargeError(
                f"text still {tokens} tokens after {level} levels of map-reduce summarising ({limit} {budget})",
                hint="summarise a shorter text",
            )
        spans = chunk_spans(text, budget, count_tokens, language)
        record, position = [], 0
        for s, e in spans:
            n = count_tokens(text[s:e])
            record.append({"start": s, "end": e, "token_start": position, "token_end": position + n})
            position += n
        plan.append({"level": level, "input_tokens": tokens, "chunks": record})
        partials = summarize_parts([text[s:e] for s, e in spans], language)
        text = "\n".join(p for p in partials if p.strip())
        language = "en"  # the partial summaries are English
        level += 1
    if plan:
        plan.append({"level": level, "input_tokens": count_tokens(text), "chunks": [{"start": 0, "end": len(text)}]})
    return text, language, plan
