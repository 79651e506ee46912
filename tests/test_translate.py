"""The transformers translator: batching, long sentences, flags and the cache wrapper."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.memory import TranslationMemory
from pipeline.registry import resolve_model
from pipeline.seq2seq import TransformersEngine
from pipeline.translate import (
    CachedTranslator,
    MarianTranslator,
    Translation,
    decoding_settings,
    quality_flags,
    split_to_fit,
)

SENTENCES = [
    "Rusland en Wit-Rusland voeren gesprekken over vergaande integratie.",
    "Minsk bezwijkt nog niet onder de druk.",
    "Ultimatum",
    "„Het is ons land.”",
    "Loekasjenko, sinds 1994 aan de macht, moet zich voelen als een insect in een spinnenweb.",
    "Zijn termijn als president loopt af in 2024.",
    "Moskou ziet Wit-Rusland als buffer tegen de NAVO.",
]


def translator(path: Path, overrides: dict[str, Any] | None = None, batch_size: int = 16) -> MarianTranslator:
    model = resolve_model(str(path))
    return MarianTranslator(TransformersEngine(model, batch_size=batch_size), decoding_settings(model, overrides))


def direct_generate(translator: MarianTranslator, text: str) -> list[int]:
    """What a user would write by hand: one sentence, tokenizer + generate()."""
    import torch

    tokenizer, net = translator.engine.load()  # type: ignore[attr-defined]
    with torch.inference_mode():
        inputs = tokenizer([tokenizer.normalize(text)], return_tensors="pt")
        out = net.generate(**inputs, **translator.settings, do_sample=False)
    return [t for t in out[0].tolist() if t not in set(tokenizer.all_special_ids)]


def test_translate_settings_come_from_generation_config(tiny_marian: Path) -> None:
    model = resolve_model(str(tiny_marian))
    base = decoding_settings(model)
    generation = model.generation_config()
    assert base["num_beams"] == generation["num_beams"] and base["max_length"] == generation["max_length"]
    assert base["bad_words_ids"] == generation["bad_words_ids"]
    tuned = decoding_settings(model, {"num_beams": 1, "max_new_tokens": 20, "length_penalty": None})
    assert tuned["num_beams"] == 1 and tuned["max_new_tokens"] == 20 and "max_length" not in tuned


@pytest.mark.parametrize("beams", [1, 2])
def test_translate_batched_equals_per_sentence_generate(tiny_marian: Path, beams: int) -> None:
    engine = translator(tiny_marian, {"num_beams": beams}, batch_size=3)
    batched = engine.translate_batch(SENTENCES)
    tokenizer, _ = engine.engine.load()  # type: ignore[attr-defined]
    singles = [direct_generate(engine, s) for s in SENTENCES]
    assert len({tuple(ids) for ids in singles}) >= 4, "tiny model gives the same output for every input"
    for result, ids in zip(batched, singles, strict=True):
        assert result.target == " ".join(tokenizer.decode(ids, skip_special_tokens=True).split())
        assert result.tokens == len(ids)


def test_translate_applies_moses_punctuation_normalisation(tiny_marian: Path) -> None:
    engine = TransformersEngine(resolve_model(str(tiny_marian)))
    assert engine.prepare("„Het is ons land.”  Zo  gaat het.") == '"Het is ons land." Zo gaat het.'


def test_translate_order_restored_whatever_the_batch(tiny_marian: Path) -> None:
    short = {"max_new_tokens": 16}
    one = translator(tiny_marian, short, batch_size=1).translate_batch(SENTENCES)
    many = translator(tiny_marian, short, batch_size=64).translate_batch(list(reversed(SENTENCES)))
    assert [r.target for r in one] == [r.target for r in reversed(many)]


def test_translate_long_sentence_is_split_not_truncated(tiny_marian: Path) -> None:
    engine = translator(tiny_marian, {"num_beams": 1, "max_new_tokens": 8})
    limit = engine.engine.max_input_tokens
    words = " ".join(f"gesprek{i}, integratie" for i in range(400))
    assert engine.engine.count_tokens([words])[0] > limit
    (result,) = engine.translate_batch([words])
    assert result.pieces > 1 and "split" in result.flags
    pieces = split_to_fit(words, lambda t: engine.engine.count_tokens([t])[0] <= limit)
    assert all(engine.engine.count_tokens([p])[0] <= limit for p in pieces)
    assert "".join(pieces).replace(" ", "") == words.replace(" ", "")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.integers(min_value=1, max_value=40))
def test_translate_split_to_fit_is_lossless(text: str, width: int) -> None:
    pieces = split_to_fit(text, lambda t: len(t) <= width)
    assert all(0 < len(p) <= width for p in pieces)
    assert re.sub(r"\s", "", "".join(pieces)) == re.sub(r"\s", "", text)


def test_translate_split_prefers_clause_boundaries() -> None:
    text = "Eerst dit stuk van de zin; dan het tweede stuk, en ten slotte nog iets"
    assert split_to_fit(text, lambda t: len(t) <= 40) == [
        "Eerst dit stuk van de zin;",
        "dan het tweede stuk,",
        "en ten slotte nog iets",
    ]


@pytest.mark.parametrize(
    ("source", "target", "flag"),
    [
        ("Een zin van redelijke lengte hier.", "", "empty_output"),
        ("Een zin van redelijke lengte hier.", "the the the the the the", "repetition"),
        ("Een zin van redelijke lengte hier, toch?", "Yes.", "length_ratio"),
        ("Kort.", "Short.", None),
    ],
)
def test_translate_quality_flags(source: str, target: str, flag: str | None) -> None:
    flags = quality_flags(source, target)
    assert (flag in flags) if flag else flags == []


class RecordingTranslator:
    """A fake engine that records what it is asked, like llm's test models."""

    backend = "fake"

    def __init__(self) -> None:
        self.settings: dict[str, Any] = {"num_beams": 1}
        self.sources: dict[str, str] = {"num_beams": "default"}
        self.calls: list[list[str]] = []

    def identity(self) -> dict[str, Any]:
        return {"backend": self.backend, "settings": self.settings}

    def translate_batch(self, sources: Sequence[str]) -> list[Translation]:
        self.calls.append(list(sources))
        return [Translation(s.upper(), tokens=len(s)) for s in sources]


def test_translate_cache_serves_hits_and_asks_only_for_misses(tmp_path: Path) -> None:
    fake = RecordingTranslator()
    with TranslationMemory(tmp_path / "tm.sqlite3") as memory:
        cached = CachedTranslator(fake, memory, "sha256:x")
        first = cached.translate_batch(["een", "twee", "een"])
        assert fake.calls == [["een", "twee"]]
        assert [r.cached for r in first] == [False, False, False]
        second = cached.translate_batch(["twee", "drie", "een"])
        assert fake.calls[-1] == ["drie"]
        assert [r.target for r in second] == ["TWEE", "DRIE", "EEN"]
        assert [r.cached for r in second] == [True, False, True]
        assert (cached.hits, cached.misses) == (2, 4)
        fake.settings = {"num_beams": 4}
        cached.translate_batch(["een"])
        assert fake.calls[-1] == ["een"], "a changed setting must miss"


@pytest.mark.parametrize("backend", ["ctranslate2", "transformers"])
def test_translate_each_text_is_tokenised_once(tiny_marian: Path, backend: str) -> None:
    from pipeline.engines import EngineOptions, make_engine

    model = resolve_model(str(tiny_marian))
    engine = make_engine(model, "sha256:test", EngineOptions(backend=backend))
    marian = MarianTranslator(engine, decoding_settings(model, {"max_new_tokens": 4}))
    long = ", ".join(["de integratie van Rusland en Wit-Rusland"] * 60) + "."  # over the 512-token limit
    encoded: list[str] = []
    real = engine.memo.encode
    engine.memo.encode = lambda text: encoded.append(text) or real(text)
    results = marian.translate_batch([*SENTENCES, long])
    assert results[-1].pieces > 1, "the long sentence was split"
    assert len(encoded) == len(set(encoded)), "a text was tokenised twice"
    assert set(SENTENCES) <= set(encoded)
    again = marian.translate_batch(SENTENCES)
    assert [r.target for r in again] == [r.target for r in results[:-1]]


def test_translate_nllb_forces_english_and_records_why(tiny_nllb: Path, tmp_path: Path) -> None:
    from pipeline.document import translator_manifest
    from pipeline.engines import EngineOptions, open_translator

    session = open_translator(
        str(tiny_nllb), options=EngineOptions(backend="transformers"), cache=tmp_path / "tm.sqlite3"
    )
    translator = session.translator
    tokenizer, net = translator.inner.engine.load()  # type: ignore[attr-defined]
    english = tokenizer.convert_tokens_to_ids("eng_Latn")
    assert translator.settings["forced_bos_token_id"] == english
    manifest = translator_manifest(session.model, translator)
    assert manifest["decoding_sources"]["forced_bos_token_id"] == "target_language"
    assert manifest["decoding_sources"]["num_beams"] == "generation_config"
    results = translator.translate_batch(SENTENCES)
    assert len({r.target for r in results}) >= 4, "tiny model gives the same output for every input"
    import torch

    for sentence, result in zip(SENTENCES, results, strict=True):
        with torch.inference_mode():
            inputs = tokenizer([sentence], return_tensors="pt")
            assert tokenizer.convert_ids_to_tokens(inputs["input_ids"][0].tolist())[0] == "nld_Latn"
            out = net.generate(**inputs, **translator.settings, do_sample=False)[0].tolist()
        assert out[:2] == [net.generation_config.decoder_start_token_id, english]
        assert result.target == " ".join(tokenizer.decode(out, skip_special_tokens=True).split())


def test_translate_nllb_alias_is_registered_with_its_licence() -> None:
    import tomllib

    from pipeline.registry import load_aliases, models_dir

    alias = load_aliases()["nllb-600m"]
    assert alias.hub_id == "facebook/nllb-200-distilled-600M" and alias.task == "translation"
    with (models_dir() / "registry.toml").open("rb") as fh:
        assert "CC-BY-NC" in tomllib.load(fh)["nllb-600m"]["licence"]
