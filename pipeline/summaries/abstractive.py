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
from pipeline.models.registry import ResolvedModel
from pipeline.summaries.base import MAX_REDUCE_LEVELS, Summarizer, Summary, clean_summary, map_reduce


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

    def summarize(self, text: str) -> Summary:
        budget = self.budget
        cap = max(8, budget // 4)
        text, _, plan = map_reduce(
            text.strip(),
            budget,
            self.count_tokens,
            lambda parts, _: self._generate(parts, cap=cap),
            limit="the model reads",
            max_levels=MAX_REDUCE_LEVELS,  # looked up at each call: lowering the module's name takes effect
        )
        final = self._generate([text])[0] if text else ""
        cleaned, flags = clean_summary(final)
        note = None
        if not cleaned:
            flags.append("empty_output")
            note = "the model generated only special tokens or whitespace for this input"
        return Summary(cleaned, "abstractive", plan, tuple(flags), note)
