"""The causal-LM engine on CTranslate2: transformers' tokens (float32, greedy), static prompts, conversion reuse.

Tiny random Llama and Qwen2 models from ``tests.support.tiny_llm``; never assert on the wording of their output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.engines.causal import TransformersCausalEngine
from pipeline.engines.ct2 import MARKER, conversion_dir
from pipeline.engines.ct2_generator import CT2GeneratorEngine
from pipeline.engines.protocol import DecodeRequest
from pipeline.models.registry import fingerprint, resolve_model
from tests.engines.test_causal import GREEDY, SOURCES, SYSTEM, conversations, copy_with_generation_eos, generated_ids


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.tiny_llm import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("ct2-causal") / "tiny-llama")


@pytest.fixture(scope="module")
def tiny_qwen2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.tiny_llm import build_tiny_qwen2

    return build_tiny_qwen2(tmp_path_factory.mktemp("ct2-causal") / "tiny-qwen2")


@pytest.fixture(params=["llama", "qwen2"])
def tiny_causal(request: pytest.FixtureRequest) -> Path:
    path: Path = request.getfixturevalue("tiny_llama" if request.param == "llama" else "tiny_qwen2")
    return path


def engines(
    path: Path, compute_type: str = "float32", **sizes: Any
) -> tuple[TransformersCausalEngine, CT2GeneratorEngine]:
    model = resolve_model(str(path))
    return TransformersCausalEngine(model, **sizes), CT2GeneratorEngine(
        model, fingerprint(model), compute_type, **sizes
    )


def test_ct2_generator_greedy_float32_gives_the_tokens_of_transformers(tiny_causal: Path) -> None:
    hf, ct = engines(tiny_causal)
    prompts = hf.render(conversations())
    assert ct.render(conversations()) == prompts
    assert len(set(hf.count_tokens(prompts))) >= 4, "prompts of different lengths"
    expected = hf.generate(prompts, GREEDY)
    assert len({text for text, _ in expected}) >= 4, "the tiny model gives the same output for every prompt"
    assert ct.generate(prompts, GREEDY) == expected
    assert [ct.generate([p], GREEDY)[0] for p in prompts] == expected


def test_ct2_generator_penalties_see_the_generated_tokens_only_as_on_transformers(tiny_causal: Path) -> None:
    hf, ct = engines(tiny_causal)
    prompts = hf.render(conversations())
    settings = {**GREEDY, "max_new_tokens": 32, "repetition_penalty": 1.3, "no_repeat_ngram_size": 2}
    expected = hf.generate(prompts, settings)
    assert expected != hf.generate(prompts, {**GREEDY, "max_new_tokens": 32}), "the settings change the output"
    assert ct.generate(prompts, settings) == expected


def test_ct2_generator_stops_at_any_end_token_of_the_generation_config(tiny_llama: Path, tmp_path: Path) -> None:
    hf, ct = engines(tiny_llama)
    prompt = hf.render(conversations())[2]
    ids = generated_ids(hf, prompt, {"max_new_tokens": 16})
    assert len(ids) >= 6
    stop = ids[4]
    _, other = engines(copy_with_generation_eos(tiny_llama, tmp_path / "m", stop))
    text, count = other.generate([prompt], {"max_new_tokens": 16})[0]
    assert (text, count) == hf.chat.text(ids[: ids.index(stop)])
    assert count < ct.generate([prompt], {"max_new_tokens": 16})[0][1]


def test_ct2_generator_max_new_tokens_bounds_the_output(tiny_llama: Path) -> None:
    _, ct = engines(tiny_llama)
    prompts = ct.render(conversations())
    counts = [count for _, count in ct.generate(prompts, {"max_new_tokens": 4})]
    assert max(counts) == 4 and all(c <= 4 for c in counts)


def test_ct2_generator_static_prompt_gives_the_same_outputs(tiny_causal: Path) -> None:
    _, ct = engines(tiny_causal, batch_size=4)
    prompts = ct.render(conversations())
    prefix = prompts[0][: prompts[0].index(SOURCES[0])]
    assert SYSTEM in prefix and all(p.startswith(prefix) for p in prompts)
    assert ct.static_split(prompts, [ct.chat.encode(p) for p in prompts], prefix) > 0, "the static prompt is used"
    plain = ct.generate(prompts, GREEDY)
    assert ct.generate(prompts, GREEDY, static_prefix=prefix) == plain
    assert ct.generate(prompts, GREEDY, static_prefix=prefix) == plain  # from the generator's cached state
    # a prefix some prompt lacks is not used, and changes nothing
    assert ct.static_split(prompts, [ct.chat.encode(p) for p in prompts], prefix + "x") == 0
    assert ct.generate(prompts, GREEDY, static_prefix=prefix + "x") == plain


def test_ct2_generator_batches_by_token_budget_keep_input_order(tiny_llama: Path) -> None:
    _, whole = engines(tiny_llama, batch_size=16, max_batch_tokens=100_000)
    prompts = whole.render(conversations())
    _, small = engines(tiny_llama, batch_size=16, max_batch_tokens=2 * max(whole.count_tokens(prompts)))
    assert small.generate(prompts, GREEDY) == whole.generate(prompts, GREEDY)


def test_ct2_generator_decode_scores_match_transformers(tiny_llama: Path) -> None:
    hf, ct = engines(tiny_llama)
    prompts = hf.render(conversations())
    ours, theirs = ct.decode(prompts, DecodeRequest(GREEDY)), hf.decode(prompts, DecodeRequest(GREEDY))
    assert [(c[0].target, c[0].tokens) for c in ours] == [(c[0].target, c[0].tokens) for c in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert a[0].score is not None and b[0].score is not None
        assert a[0].score == pytest.approx(b[0].score, abs=2e-3)
    assert all(c[0].score is None for c in ct.decode(prompts, DecodeRequest(GREEDY, scores=False)))
    assert [len(c) for c in ct.decode(prompts[:2], DecodeRequest(GREEDY, num_return_sequences=3))] == [3, 3]


def test_ct2_generator_int8_conversion_is_made_once(tiny_qwen2: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ctranslate2

    model = resolve_model(str(tiny_qwen2))
    first = CT2GeneratorEngine(model, fingerprint(model))
    assert first.compute_type == "int8" and first.signature().compute_type == "int8"
    prompts = first.render(conversations())
    outputs = first.generate(prompts, GREEDY)
    target = conversion_dir(model, "int8")
    assert (target / MARKER).is_file()
    stamp = (target / "model.bin").stat().st_mtime_ns

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("converted again")

    monkeypatch.setattr(ctranslate2.converters, "TransformersConverter", refuse)
    second = CT2GeneratorEngine(model, fingerprint(model))
    assert second.generate(prompts, GREEDY) == outputs
    assert (target / "model.bin").stat().st_mtime_ns == stamp
