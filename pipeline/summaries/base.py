"""What every summariser returns and offers, and the sentence tools they share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipeline.signature import ExecutorSection
from pipeline.text.normalise import normalise_source
from pipeline.text.segment import sentence_spans


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
