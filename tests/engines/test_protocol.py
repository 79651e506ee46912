"""The engines' decode request: typed, decoding settings only, and scored only when asked."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from pipeline.engines.ct2 import CT2Engine
from pipeline.engines.protocol import DecodeRequest
from pipeline.engines.seq2seq import TransformersEngine
from pipeline.models.decoding import decoding_settings
from pipeline.models.registry import fingerprint, resolve_model
from tests.translation.test_translator import SENTENCES


@pytest.mark.parametrize("key", ["banned_phrases", "num_return_sequences", "pieces", "scores"])
def test_request_settings_hold_decoding_settings_only(key: str) -> None:
    with pytest.raises(ValueError, match=f"not decoding settings: {key}"):
        DecodeRequest({"num_beams": 4, key: 1})


def test_request_fields() -> None:
    request = DecodeRequest({"num_beams": 4}, banned_phrases=("b", "a", "b"), num_return_sequences=6)
    assert request.banned_phrases == ("a", "b") and request.beams == 6
    assert request.describe() == {"num_beams": 4, "num_return_sequences": 6, "banned_phrases": ["a", "b"]}
    assert DecodeRequest({"num_beams": 4}).describe() == {"num_beams": 4} and DecodeRequest().beams == 1
    assert request.with_settings(num_beams=8).settings == {"num_beams": 8} and request.settings == {"num_beams": 4}
    with pytest.raises(ValueError, match="at least 1"):
        DecodeRequest(num_return_sequences=0)


def _engine(backend: str, path: Path) -> Any:
    model = resolve_model(str(path))
    if backend == "transformers":
        return TransformersEngine(model)
    return CT2Engine(model, fingerprint(model), compute_type="float32")


@pytest.mark.parametrize("backend", ["transformers", "ctranslate2"])
def test_request_without_scores_skips_the_scoring_and_keeps_the_outputs(
    tiny_marian: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(backend, tiny_marian)
    settings = decoding_settings(engine.model, {"num_beams": 2, "max_new_tokens": 8})
    scored = engine.decode(SENTENCES, DecodeRequest(settings, num_return_sequences=2))
    assert all(h.score is not None and math.isfinite(h.score) for c in scored for h in c)
    asked: list[tuple[bool, int]] = []
    if backend == "transformers":

        def no_scoring(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("the teacher-forced scoring pass ran")

        monkeypatch.setattr(engine, "token_log_probs", no_scoring)
    else:
        translator = engine.load()

        class Recording:
            def translate_batch(self, *args: Any, **kwargs: Any) -> Any:
                asked.append((kwargs["return_scores"], kwargs["max_batch_size"]))
                return translator.translate_batch(*args, **kwargs)

        engine._translator = Recording()
    plain = engine.decode(SENTENCES, DecodeRequest(settings, num_return_sequences=2, scores=False))
    assert [[h.target for h in c] for c in plain] == [[h.target for h in c] for c in scored]
    assert [[h.tokens for h in c] for c in plain] == [[h.tokens for h in c] for c in scored]
    assert all(h.score is None for c in plain for h in c)
    assert asked == ([] if backend == "transformers" else [(False, 16)])
    wide = engine.decode(SENTENCES, DecodeRequest({**settings, "num_beams": 8}, scores=False))
    assert len(wide) == len(SENTENCES) and all(len(c) == 1 for c in wide)
    assert asked[1:] == ([] if backend == "transformers" else [(False, 8)]), "beam 8: half the batch"


def test_request_wider_beams_take_a_smaller_share_of_a_batch() -> None:
    assert DecodeRequest({"num_beams": 4}).batch_share() == 1.0 and DecodeRequest().batch_share() == 1.0
    assert DecodeRequest({"num_beams": 8}).batch_share() == 0.5
    assert DecodeRequest({"num_beams": 4}, num_return_sequences=16).batch_share() == 0.25
