"""The instruct-model summariser: length control, Dutch or English input, map-reduce, cleaning."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.models.prompts import FAMILIES
from pipeline.summaries.llm import LLMSummarizer
from tests.support.scripted_engine import ScriptedCausalEngine

TEMPLATE = FAMILIES["qwen2"].summary
ARTICLE = "De man kwam thuis. Hij was moe na de reis. Zijn vrouw wachtte op hem. Ze aten samen."


def summarizer(engine: ScriptedCausalEngine, **kwargs: object) -> LLMSummarizer:
    return LLMSummarizer(engine, {"max_new_tokens": 32}, TEMPLATE, **kwargs)  # type: ignore[arg-type]


def test_llm_summary_asks_for_the_length_and_cleans_the_reply() -> None:
    engine = ScriptedCausalEngine(default=lambda p: "Here is a summary:\nA tired man came home. His wife waited.")
    summary = summarizer(engine, sentences=2).summarize(ARTICLE)
    assert summary.text == "A tired man came home. His wife waited."
    assert summary.method == "abstractive" and summary.chunks == []
    assert "preamble" in (summary.note or "")
    (prompt,) = engine.prompts
    assert "Summarise the following English news article in at most 2 sentences." in prompt


def test_llm_summary_from_dutch_in_words() -> None:
    engine = ScriptedCausalEngine(default=lambda p: "A man came home.")
    summarizer(engine, language="nl", words=40).summarize(ARTICLE)
    assert "Summarise the following Dutch news article in English in at most 40 words." in engine.prompts[0]


def test_llm_summary_is_held_to_the_length_asked() -> None:
    engine = ScriptedCausalEngine(default=lambda p: "One. Two. Three. Four.")
    summary = summarizer(engine, sentences=2).summarize(ARTICLE)
    assert summary.text == "One. Two." and "trimmed_to_length" in summary.flags
    words = summarizer(ScriptedCausalEngine(default=lambda p: "One two three. Four five six. Seven."), words=6)
    assert words.summarize(ARTICLE).text == "One two three. Four five six."


def test_llm_summary_defaults_to_three_sentences() -> None:
    assert summarizer(ScriptedCausalEngine()).length() == {"language": "en", "sentences": 3, "words": None}
    with pytest.raises(ValueError):
        summarizer(ScriptedCausalEngine(), sentences=0)


def test_llm_summary_map_reduces_a_text_longer_than_the_context() -> None:
    engine = ScriptedCausalEngine(default=lambda p: "Part summary." if "one part" in p else "The whole story.")
    article = " ".join(f"Zin nummer {i} van een lang artikel over de reis." for i in range(60))
    small = summarizer(engine, language="nl")
    engine.context_tokens = small.new_tokens + 120  # a prompt holds under a hundred words of text
    summary = small.summarize(article)
    assert summary.text == "The whole story."
    levels = [level["level"] for level in summary.chunks]
    assert levels[0] == 0 and len(summary.chunks[0]["chunks"]) > 1
    parts = [p for p in engine.prompts if "one part of a longer Dutch news article" in p]
    assert len(parts) == len(summary.chunks[0]["chunks"])
    assert "Combine them into one English summary" in engine.prompts[-1]


def test_llm_summary_empty_reply_is_flagged() -> None:
    summary = summarizer(ScriptedCausalEngine(default=lambda p: "  \n")).summarize(ARTICLE)
    assert summary.text == "" and "empty_output" in summary.flags and summary.note


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.tiny_llm import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("llm-summary") / "tiny-llama")


def test_llm_summary_tiny_llama_through_open_summarizer(tiny_llama: Path) -> None:
    from pipeline.engines.factory import EngineOptions
    from pipeline.runs.sessions import SummarizerSpec, open_summarizer

    spec = SummarizerSpec(str(tiny_llama), overrides={"max_new_tokens": 12}, engine=EngineOptions(), words=30)
    session = open_summarizer(spec)
    try:
        summary = session.summarizer.summarize(ARTICLE)
    finally:
        session.close()
    assert session.abstractive and type(session.summarizer.inner).__name__ == "LLMSummarizer"
    prompt = session.signature.prompt
    assert prompt is not None and prompt.options == {"language": "en", "sentences": None, "words": 30}
    assert session.run_name.endswith("words30")
    assert summary.method == "abstractive" and isinstance(summary.text, str)
