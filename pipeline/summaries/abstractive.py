"""The abstractive summariser: a seq2seq model (DistilBART, BART, PEGASUS…) on an engine.

Long input is never truncated: when the text exceeds the model's context it is cut at
sentence boundaries into chunks that fit, each chunk is summarised, and the joined
partial summaries are summarised again (map-reduce) until they fit. The plan is kept
in :attr:`Summary.chunks` and recorded in the manifest.

The extractive summariser (TextRank over TF-IDF sentence similarity) is
:mod:`pipeline.summaries.extractive`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.engines.seq2seq import Seq2SeqEngine
from pipeline.errors import InputTooLargeError
from pipeline.models.registry import ResolvedModel
from pipeline.summaries.base import Summarizer, Summary, clean_summary
from pipeline.text.segment import sentence_spans
from pipeline.text.split import split_to_fit

# Each level at least halves the text (chunks fill at least half the context, and each partial
# summary is capped at a quarter of it), so 40 levels cover 2**40 tokens: no article can reach it.
MAX_REDUCE_LEVELS = 40


@dataclass
class Seq2SeqSummarizer(Summarizer):
    """An abstractive summariser (DistilBART, BART, PEGASUS…) on an engine."""

    model: ResolvedModel
    engine: Seq2SeqEngine
    settings: dict[str, Any]

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
