"""The causal-LM engine on transformers: chat templates, left-padded batches, end tokens, lengths, scores.

Tiny random Llama (EuroLLM's layout) and Qwen2 models from ``tests.support.tiny_llm``; never assert
on the wording of their output.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipeline.engines.causal import (
    CONTEXT_CAP,
    CausalDecoding,
    ChatTokenizer,
    TransformersCausalEngine,
    prompt_batches,
)
from pipeline.engines.factory import EngineOptions, make_engine, resolve_backend
from pipeline.engines.protocol import DecodeRequest
from pipeline.errors import ChatTemplateError
from pipeline.models.registry import resolve_model

SOURCES = [
    "De minister zegt dat de economie groeit.",
    "Hoi.",
    "Het kabinet bespreekt de nieuwe begroting met de vakbonden in Utrecht, na lang beraad en tegen de verwachting in.",
    "De politie bevestigt dat er nog geen akkoord is.",
    "Sinds 1994 is 12,5% van het budget (ruim €3 miljard) verdwenen; waarom?",
    "Brussel onderhandelt over de gasprijzen.",
]
SYSTEM = "Translate the user's Dutch text into English."
GREEDY: dict[str, Any] = {"num_beams": 1, "max_new_tokens": 24}


def conversations(sources: list[str] = SOURCES) -> list[list[dict[str, str]]]:
    return [[{"role": "system", "content": SYSTEM}, {"role": "user", "content": s}] for s in sources]


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.tiny_llm import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("causal") / "tiny-llama", template_in="tokenizer_config")


@pytest.fixture(scope="session")
def tiny_llama_jinja(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.tiny_llm import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("causal") / "tiny-llama-jinja", template_in="jinja")


@pytest.fixture(scope="session")
def tiny_qwen2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.tiny_llm import build_tiny_qwen2

    # Qwen's own generation config samples (temperature, top_p, repetition_penalty): the engines must not
    return build_tiny_qwen2(tmp_path_factory.mktemp("causal") / "tiny-qwen2", sampling=True)


@pytest.fixture(params=["llama", "qwen2"])
def tiny_causal(request: pytest.FixtureRequest) -> Path:
    path: Path = request.getfixturevalue("tiny_llama" if request.param == "llama" else "tiny_qwen2")
    return path


def copy_with_generation_eos(source: Path, target: Path, extra_eos: int) -> Path:
    """A copy of a tiny model whose ``generation_config.json`` lists one more end token."""
    shutil.copytree(source, target)
    config = json.loads((target / "generation_config.json").read_text(encoding="utf-8"))
    config["eos_token_id"] = [*config["eos_token_id"], extra_eos]
    (target / "generation_config.json").write_text(json.dumps(config), encoding="utf-8")
    return target


def generated_ids(engine: TransformersCausalEngine, prompt: str, settings: dict[str, Any]) -> list[int]:
    """The ids one prompt generates, up to (not including) the first end token."""
    import torch

    chat = engine.chat
    decoding = CausalDecoding.from_settings(settings, chat.end_ids)
    with torch.inference_mode():
        _, _, out = engine._generate_batch([chat.encode(prompt)], decoding)
    return chat.finish(out[0].tolist(), decoding.end_ids)[0]


# --- prompts -----------------------------------------------------------------------------------------


def test_causal_both_chat_template_locations_render_the_same_prompt(tiny_llama: Path, tiny_llama_jinja: Path) -> None:
    in_config = json.loads((tiny_llama / "tokenizer_config.json").read_text(encoding="utf-8"))
    in_jinja = json.loads((tiny_llama_jinja / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert "chat_template" in in_config and not (tiny_llama / "chat_template.jinja").exists()
    assert "chat_template" not in in_jinja and (tiny_llama_jinja / "chat_template.jinja").is_file()
    a = TransformersCausalEngine(resolve_model(str(tiny_llama))).render(conversations())
    b = TransformersCausalEngine(resolve_model(str(tiny_llama_jinja))).render(conversations())
    assert a == b
    assert len(set(a)) == len(SOURCES)
    for prompt, source in zip(a, SOURCES, strict=True):
        assert source in prompt and SYSTEM in prompt


def test_causal_render_without_a_chat_template_is_a_chat_template_error(tiny_llama: Path, tmp_path: Path) -> None:
    target = shutil.copytree(tiny_llama, tmp_path / "no-template")
    config = json.loads((target / "tokenizer_config.json").read_text(encoding="utf-8"))
    del config["chat_template"]
    (target / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ChatTemplateError):
        TransformersCausalEngine(resolve_model(str(target))).render(conversations())


def test_causal_context_is_the_models_capped(tiny_llama: Path, tiny_qwen2: Path) -> None:
    assert TransformersCausalEngine(resolve_model(str(tiny_llama))).max_input_tokens() == 4096
    qwen = resolve_model(str(tiny_qwen2))
    assert qwen.config()["max_position_embeddings"] > CONTEXT_CAP
    assert TransformersCausalEngine(qwen).max_input_tokens() == CONTEXT_CAP


def test_causal_count_tokens_adds_no_special_tokens(tiny_llama: Path) -> None:
    engine = TransformersCausalEngine(resolve_model(str(tiny_llama)))
    prompt = engine.render(conversations()[:1])[0]
    ids = engine.chat.encode(prompt)
    assert engine.count_tokens([prompt, "Hoi."]) == [len(ids), len(engine.chat.encode("Hoi."))]
    assert ids.count(engine.chat.tokenizer.bos_token_id) <= prompt.count("<s>")


# --- generation --------------------------------------------------------------------------------------


def test_causal_left_padded_batch_gives_what_each_prompt_gives_alone(tiny_causal: Path) -> None:
    engine = TransformersCausalEngine(resolve_model(str(tiny_causal)))
    prompts = engine.render(conversations())
    lengths = engine.count_tokens(prompts)
    assert len(set(lengths)) >= 4, "prompts of different lengths, so the batch is padded"
    batched = engine.generate(prompts, GREEDY)
    assert len({text for text, _ in batched}) >= 4, "the tiny model gives the same output for every prompt"
    assert batched == [engine.generate([p], GREEDY)[0] for p in prompts]


def test_causal_checkpoint_sampling_settings_never_act(tiny_qwen2: Path) -> None:
    generation = json.loads((tiny_qwen2 / "generation_config.json").read_text(encoding="utf-8"))
    assert generation.get("do_sample") is True, "the tiny Qwen must mirror Qwen's sampling defaults"
    engine = TransformersCausalEngine(resolve_model(str(tiny_qwen2)))
    prompts = engine.render(conversations())
    assert engine.generate(prompts, GREEDY) == engine.generate(prompts, GREEDY)


def test_causal_max_new_tokens_bounds_the_output(tiny_llama: Path) -> None:
    engine = TransformersCausalEngine(resolve_model(str(tiny_llama)))
    prompts = engine.render(conversations())
    counts = {n: [count for _, count in engine.generate(prompts, {"max_new_tokens": n})] for n in (3, 9)}
    assert all(c <= 3 for c in counts[3]) and all(c <= 9 for c in counts[9])
    assert 3 in counts[3] and max(counts[9]) > 3, "some generation runs into the limit"


def test_causal_stops_at_any_end_token_of_the_generation_config(tiny_llama: Path, tmp_path: Path) -> None:
    engine = TransformersCausalEngine(resolve_model(str(tiny_llama)))
    prompt = engine.render(conversations())[2]
    ids = generated_ids(engine, prompt, {"max_new_tokens": 16})
    assert len(ids) >= 6
    stop = ids[4]
    cut = ids.index(stop)
    other = TransformersCausalEngine(resolve_model(str(copy_with_generation_eos(tiny_llama, tmp_path / "m", stop))))
    assert stop in other.chat.end_ids
    text, count = other.generate([prompt], {"max_new_tokens": 16})[0]
    assert (text, count) == engine.chat.text(ids[:cut])
    assert count < engine.generate([prompt], {"max_new_tokens": 16})[0][1]


def test_causal_batches_by_token_budget_keep_input_order(tiny_llama: Path) -> None:
    model = resolve_model(str(tiny_llama))
    whole = TransformersCausalEngine(model, batch_size=16, max_batch_tokens=100_000)
    prompts = whole.render(conversations())
    longest = max(whole.count_tokens(prompts))
    small = TransformersCausalEngine(model, batch_size=16, max_batch_tokens=2 * longest)
    assert len(prompt_batches(small.count_tokens(prompts), 16, 2 * longest)) >= 3
    assert small.generate(prompts, GREEDY) == whole.generate(prompts, GREEDY)


@pytest.mark.parametrize("equal_lengths", [False, True])
def test_causal_prompt_batches_cover_every_prompt_within_budget(equal_lengths: bool) -> None:
    lengths = [5, 9, 5, 30, 9, 9, 12, 1, 30]
    batches = prompt_batches(lengths, 3, 40, equal_lengths)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 3
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= 40
        if equal_lengths:
            assert len({lengths[i] for i in batch}) == 1


def test_causal_no_repeat_ngram_looks_at_the_generated_tokens_only(tiny_llama: Path) -> None:
    engine = TransformersCausalEngine(resolve_model(str(tiny_llama)))
    prompts = engine.render(conversations())
    free = [generated_ids(engine, p, {"max_new_tokens": 40}) for p in prompts]
    assert any(len(set(ids)) < len(ids) for ids in free), "the check needs an output that repeats a token"
    blocked = [generated_ids(engine, p, {"max_new_tokens": 40, "no_repeat_ngram_size": 1}) for p in prompts]
    assert all(len(set(ids)) == len(ids) for ids in blocked)
    # had the prompt counted, no token of it could be generated
    assert any(set(ids) & set(engine.chat.encode(p)) for ids, p in zip(blocked, prompts, strict=True))


# --- scored hypotheses --------------------------------------------------------------------------------


def test_causal_decode_gives_the_generated_text_with_mean_log_probabilities(tiny_llama: Path) -> None:
    engine = TransformersCausalEngine(resolve_model(str(tiny_llama)))
    prompts = engine.render(conversations())
    greedy = engine.generate(prompts, GREEDY)
    candidates = engine.decode(prompts, DecodeRequest(GREEDY))
    assert [(c[0].target, c[0].tokens) for c in candidates] == greedy
    assert all(c[0].score is not None and c[0].score < 0 for c in candidates)
    unscored = engine.decode(prompts, DecodeRequest(GREEDY, scores=False))
    assert [c[0].target for c in unscored] == [t for t, _ in greedy] and all(c[0].score is None for c in unscored)
    nbest = engine.decode(prompts[:2], DecodeRequest(GREEDY, num_return_sequences=2))
    assert [len(c) for c in nbest] == [2, 2]
    assert all(c[0].score is not None and c[1].score is not None for c in nbest)


def test_causal_decode_bans_a_phrase(tiny_llama: Path) -> None:
    engine = TransformersCausalEngine(resolve_model(str(tiny_llama)))
    prompt = engine.render(conversations())[0]
    ids = generated_ids(engine, prompt, GREEDY)
    chat = engine.chat
    # a phrase of the greedy output whose own tokens are those the output has (byte pieces may not be)
    spans = [ids[i : i + n] for n in (2, 1, 3) for i in range(len(ids) - n + 1)]
    phrase = next(text for span in spans if (text := chat.text(span)[0]) and tuple(span) in chat.phrase_ids([text]))
    banned = engine.decode([prompt], DecodeRequest(GREEDY, banned_phrases=(phrase,)))[0][0]
    assert phrase in engine.generate([prompt], GREEDY)[0][0]
    assert phrase not in banned.target


# --- choosing the engine --------------------------------------------------------------------------------

from tests.runs.test_sessions import NOT_IN_SIGNATURE  # noqa: E402 - the one list of fields outside the signature


def test_causal_factory_builds_causal_engines_from_the_options(tiny_llama: Path) -> None:
    import dataclasses

    model = resolve_model(str(tiny_llama))
    assert model.is_causal_lm
    assert resolve_backend(model, "auto") == "ctranslate2"
    ct2 = make_engine(model, "sha256:x", EngineOptions(compute_type="float32", threads=2, batch_size=4))
    assert (type(ct2).__name__, ct2.compute_type, ct2.threads, ct2.batch_size) == (
        "CT2GeneratorEngine",
        "float32",
        2,
        4,
    )
    hf = make_engine(model, "sha256:x", EngineOptions(backend="transformers", device="cpu", batch_tokens=500))
    assert isinstance(hf, TransformersCausalEngine) and hf.max_batch_tokens == 500
    for engine in (ct2, hf):
        public = {f.name for f in dataclasses.fields(engine) if not f.name.startswith("_")}
        described = {k for k, v in engine.signature().identity().items() if v is not None}
        assert public - NOT_IN_SIGNATURE <= described | {"device"}
        assert engine.signature().device == "cpu"


def test_causal_seq2seq_models_still_get_seq2seq_engines(tiny_marian: Path) -> None:
    model = resolve_model(str(tiny_marian))
    assert not model.is_causal_lm
    assert type(make_engine(model, "x", EngineOptions(backend="transformers"))).__name__ == "TransformersEngine"


def test_causal_chat_tokenizer_ends_on_generation_config_list_and_turn_end(tiny_qwen2: Path) -> None:
    chat = ChatTokenizer(resolve_model(str(tiny_qwen2)))
    generation = json.loads((tiny_qwen2 / "generation_config.json").read_text(encoding="utf-8"))
    im_end = chat.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert set(generation["eos_token_id"]) | {im_end} <= set(chat.end_ids)
