"""An instruct LLM (EuroLLM, Qwen2.5, TowerInstruct…) as a summariser, behind the ``Summarizer`` interface.

The model is asked for an English summary of a given length (``sentences``, else ``words``; three
sentences when neither is set) with its family's summary prompt (``pipeline.models.prompts``), of
the English translation or, cross-lingually, straight from the Dutch (``language="nl"``,
``--source-side``).

Long input is never truncated. As the abstractive summariser does, a text whose prompt would not
fit the model's context (less what it may generate) is cut at sentence boundaries into chunks
that fit; each chunk is summarised (``part``), the partial summaries joined and summarised again
until they fit, and the last level is one ``combine`` prompt. The plan is kept in
:attr:`Summary.chunks`.

The reply is cleaned (``pipeline.quality.cleaning``: preambles such as ``Here is a summary:``,
quotes and trailing notes; its lines are kept), held to the length asked for (sentences beyond
the number asked, or whole sentences past the words asked, are dropped: flag
``trimmed_to_length``) and its repeated sentences removed, as every summary's are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.engines.causal import CausalEngine
from pipeline.models.prompts import PromptTemplate, SummaryStage, summary_messages
from pipeline.quality.cleaning import clean_output
from pipeline.summaries.base import Summarizer, Summary, clean_summary, map_reduce, split_sentences

DEFAULT_SENTENCES = 3
DEFAULT_NEW_TOKENS = 256
PROMPT_MARGIN = 8  # tokens a text may gain where it meets the prompt around it


@dataclass
class LLMSummarizer(Summarizer):
    """An instruct model on a ``CausalEngine``, writing English summaries of a set length."""

    engine: CausalEngine
    settings: dict[str, Any]
    template: PromptTemplate
    language: str = "en"  # the language of the texts it is given: "nl" summarises the Dutch
    sentences: int | None = None
    words: int | None = None

    def __post_init__(self) -> None:
        if self.sentences is None and self.words is None:
            self.sentences = DEFAULT_SENTENCES
        for name in ("sentences", "words"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")

    def length(self) -> dict[str, Any]:
        """What the prompt is filled with besides the text: for the run signature."""
        return {"language": self.language, "sentences": self.sentences, "words": self.words}

    # --- what fits -------------------------------------------------------------------------------

    @property
    def new_tokens(self) -> int:
        return int(self.settings.get("max_new_tokens") or DEFAULT_NEW_TOKENS)

    def messages(self, text: str, stage: SummaryStage, language: str) -> list[dict[str, str]]:
        return summary_messages(
            self.template, text, language=language, sentences=self.sentences, words=self.words, stage=stage
        )

    @property
    def budget(self) -> int:
        """Tokens of text a prompt can hold and leave the model room to answer."""
        bare = [self.messages("", stage, "nl") for stage in ("whole", "part", "combine")]
        overhead = max(self.engine.count_tokens(self.engine.render(bare)))
        return max(16, self.engine.max_input_tokens() - self.new_tokens - overhead - PROMPT_MARGIN)

    def count_tokens(self, text: str) -> int:
        return self.engine.count_tokens([text])[0]

    # --- summarising -----------------------------------------------------------------------------

    def _generate(self, conversations: list[list[dict[str, str]]], cap: int | None = None) -> list[str]:
        settings = dict(self.settings)
        if cap is not None:  # partial summaries must shrink, whatever the settings say
            settings.pop("min_new_tokens", None)
            settings["max_new_tokens"] = min(cap, int(settings.get("max_new_tokens") or cap))
        prompts = self.engine.render(conversations)
        return [text for text, _ in self.engine.generate(prompts, settings)] if prompts else []

    def summarize(self, text: str) -> Summary:
        budget = self.budget
        cap = max(16, budget // 4)

        def summarize_parts(parts: list[str], language: str) -> list[str]:
            partials = self._generate([self.messages(part, "part", language) for part in parts], cap=cap)
            return [clean_output(p, "", one_line=False).text for p in partials]

        text, language, plan = map_reduce(
            text.strip(),
            budget,
            self.count_tokens,
            summarize_parts,
            limit="a prompt holds",
            language=self.language,
        )
        stage: SummaryStage = "combine" if plan else "whole"
        raw = self._generate([self.messages(text, stage, language)])[0] if text else ""
        cleaned = clean_output(raw, text, one_line=False)
        held, trimmed = self.hold_length(cleaned.text)
        final, flags = clean_summary(held)
        if trimmed:
            flags.append("trimmed_to_length")
        notes = []
        if cleaned.stripped:
            notes.append("removed from the reply: " + ", ".join(dict.fromkeys(s.kind for s in cleaned.stripped)))
        if not final:
            flags.append("empty_output")
            notes.append("the model generated nothing but wrapping for this input")
        return Summary(final, "abstractive", plan, tuple(flags), "; ".join(notes) or None)

    def hold_length(self, text: str) -> tuple[str, bool]:
        """``text`` cut to the sentences (or whole sentences within the words) asked for, and whether it was cut."""
        sentences = split_sentences(text)
        if self.sentences is not None:
            kept = sentences[: self.sentences]
        else:
            kept, count = [], 0
            for sentence in sentences:
                count += len(sentence.split())
                if kept and self.words is not None and count > self.words:
                    break
                kept.append(sentence)
        if len(kept) == len(sentences):
            return text, False
        return " ".join(kept), True
