"""Summarisers: equivalence with generate(), map-reduce over long input, cleaning, cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.engines.seq2seq import TransformersEngine
from pipeline.models.decoding import summarizer_settings
from pipeline.models.registry import resolve_model
from pipeline.runs.cache import CachedSummarizer
from pipeline.runs.memory import TranslationMemory
from pipeline.summaries.abstractive import Seq2SeqSummarizer
from pipeline.summaries.base import Summarizer, Summary, clean_summary
from pipeline.summaries.extractive import ExtractiveSummarizer
from tests.support.signatures import signature_for


def summarizer(path: Path, **overrides: Any) -> Seq2SeqSummarizer:
    model = resolve_model(str(path))
    return Seq2SeqSummarizer(model, TransformersEngine(model), summarizer_settings(model, overrides))


def direct_summary(engine: Seq2SeqSummarizer, text: str) -> str:
    """A hand-written tokenizer + generate() call with the model's generation config."""
    import torch

    tokenizer, net = engine.engine.load()  # type: ignore[attr-defined]
    with torch.inference_mode():
        out = net.generate(**tokenizer([text], return_tensors="pt"))
    return " ".join(tokenizer.decode(out[0], skip_special_tokens=True).split())


@pytest.mark.parametrize("fixture", ["tiny_bart", "tiny_pegasus"])
def test_summarize_short_input_equals_direct_generate(
    fixture: str, request: pytest.FixtureRequest, english_sentences: list[str]
) -> None:
    engine = summarizer(request.getfixturevalue(fixture))
    texts = [" ".join(english_sentences[i : i + 3]) for i in (0, 40, 80)]
    directs = [direct_summary(engine, t) for t in texts]
    assert len(set(directs)) >= 2, "tiny model gives the same summary for every input"
    for text, direct in zip(texts, directs, strict=True):
        summary = engine.summarize(text)
        assert summary.chunks == [] and summary.method == "abstractive"
        assert summary.text == clean_summary(direct)[0]


def test_summarize_settings_from_generation_config_with_overrides(tiny_bart: Path) -> None:
    model = resolve_model(str(tiny_bart))
    settings = summarizer_settings(model, {"num_beams": 1, "max_length": 10})
    generation = model.generation_config()
    assert settings["num_beams"] == 1 and settings["max_length"] == 10
    assert settings["no_repeat_ngram_size"] == generation["no_repeat_ngram_size"]
    assert settings["length_penalty"] == generation["length_penalty"]


def test_summarize_long_input_is_chunked_and_reduced(tiny_bart: Path, english_sentences: list[str]) -> None:
    engine = summarizer(tiny_bart, num_beams=1)
    text = " ".join(english_sentences[:110])
    assert engine.count_tokens(text) > 1400 and engine.budget == 128
    summary = engine.summarize(text)
    first = summary.chunks[0]
    assert first["level"] == 0 and len(first["chunks"]) >= 10
    spans = first["chunks"]
    for chunk in spans:
        assert chunk["token_end"] - chunk["token_start"] <= engine.budget
    assert [c["start"] for c in spans] == sorted(c["start"] for c in spans)
    covered = "".join(text[c["start"] : c["end"]] for c in spans)
    assert covered.replace(" ", "") == text.replace(" ", ""), "a chunk plan must cover the whole input"
    levels = [level["level"] for level in summary.chunks]
    assert levels == list(range(len(levels))) and len(levels) >= 2
    assert summary.chunks[-1]["input_tokens"] <= engine.budget
    assert summary.text or summary.note


def test_summarize_clean_drops_repeats_and_says_why_empty() -> None:
    text, flags = clean_summary("It rains.  It rains. It   pours.")
    assert text == "It rains. It pours." and flags == ["repeated_sentences_removed"]
    empty = ExtractiveSummarizer().summarize("   ")
    assert empty.text == "" and empty.note and "empty_output" in empty.flags


class RecordingSummarizer(Summarizer):
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.settings: dict[str, Any] = {"k": 1}

    def summarize(self, text: str) -> Summary:
        self.calls.append(text)
        return Summary(text[:5], "abstractive", [{"level": 0}])


def test_summarize_cache_hits_skip_the_model(tmp_path: Path) -> None:
    fake = RecordingSummarizer()
    with TranslationMemory(tmp_path / "tm.sqlite3") as memory:
        cached = CachedSummarizer(fake, memory, signature_for("sha256:s", "summarize"))
        first = cached.summarize("Some English text.")
        second = cached.summarize("Some  English text.\n")
    assert fake.calls == ["Some English text."]
    assert not first.cached and second.cached
    assert second.text == first.text and second.chunks == [{"level": 0}]


def test_summarize_reduce_cap_never_binds_for_ten_megabytes_and_fails_clearly(
    tiny_bart: Path, english_sentences: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.summaries.abstractive as summarize_module
    from pipeline.errors import InputTooLargeError

    # each level at least halves the text; 10 MB is at most 10 million tokens
    assert 2**summarize_module.MAX_REDUCE_LEVELS > 10_000_000 * 1000
    engine = summarizer(tiny_bart, num_beams=1)
    text = " ".join(english_sentences[:40])
    assert engine.count_tokens(text) > engine.budget
    monkeypatch.setattr(summarize_module, "MAX_REDUCE_LEVELS", 0)
    with pytest.raises(InputTooLargeError, match="after 0 levels of map-reduce"):
        engine.summarize(text)
