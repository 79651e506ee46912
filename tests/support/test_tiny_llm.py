"""The tiny instruct LLMs (``tests/support/tiny_llm.py``): real classes, loadable offline, input-dependent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.tiny_llm import (
    CHATML_END,
    CHATML_START,
    EUROLLM_1_7B,
    QWEN_SYSTEM,
    build_eurollm_architecture,
    build_tiny_llama,
    build_tiny_qwen2,
    chatml_template,
    eurollm_architecture,
)

PROMPTS = (
    "Het kabinet bespreekt de nieuwe begroting met de vakbonden in Utrecht.",
    "De minister zegt dat de economie groeit.",
    "Vertaal naar het Engels: De politie bevestigt dat er nog geen akkoord is.",
    "Sinds 1994 is 12,5% van het budget verdwenen; waarom?",
    "De burgemeester ontkent dat de prijzen stijgen in Rotterdam.",
    "Een onderzoeker meldt dat het land onafhankelijk blijft.",
    "Het parlement onderhandelt over de gasprijzen met de oppositie in Berlijn.",
    "De rechter verwacht dat de verkiezingen in maart worden gehouden.",
)
KINDS = ("llama-sentencepiece", "llama-byte-bpe", "qwen2")
MAX_NEW = 24


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("tiny-llm")
    return {
        "llama-sentencepiece": build_tiny_llama(base / "llama-spm"),
        "llama-byte-bpe": build_tiny_llama(base / "llama-bbpe", tokenizer="byte-bpe", template_in="jinja"),
        "qwen2": build_tiny_qwen2(base / "qwen2"),
    }


def load(path: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path)), AutoModelForCausalLM.from_pretrained(str(path))


@pytest.mark.parametrize("kind", KINDS)
def test_tiny_llm_loads_offline_as_the_real_classes(built: dict[str, Path], kind: str) -> None:
    tokenizer, model = load(built[kind])  # HF_HUB_OFFLINE is set for every test
    expected = "Qwen2ForCausalLM" if kind == "qwen2" else "LlamaForCausalLM"
    assert type(model).__name__ == expected and model.config.architectures == [expected]
    assert model.dtype.is_floating_point and str(model.dtype) == "torch.float32"
    assert tokenizer.eos_token == CHATML_END
    start, end = tokenizer.convert_tokens_to_ids([CHATML_START, CHATML_END])
    assert tokenizer(f"{CHATML_START}user\nHoi{CHATML_END}", add_special_tokens=False).input_ids[0] == start
    assert {start, end} <= set(tokenizer.all_special_ids)
    generation = json.loads((built[kind] / "generation_config.json").read_text())
    other = "<|endoftext|>" if kind == "qwen2" else "</s>"
    assert generation["eos_token_id"] == [end, tokenizer.convert_tokens_to_ids(other)]
    assert model.config.vocab_size >= len(tokenizer)


def test_tiny_llm_sentencepiece_ships_the_model_beside_its_conversion(built: dict[str, Path]) -> None:
    import sentencepiece as spm

    path = built["llama-sentencepiece"]
    tokenizer, _ = load(path)
    sp = spm.SentencePieceProcessor(model_file=str(path / "tokenizer.model"))
    text = "De coördinator noemde één idee „naïef”."
    assert tokenizer.tokenize(text) == sp.encode(text, out_type=str)  # tokenizer.json is tokenizer.model converted


def test_tiny_llm_qwen_layout_is_qwens(built: dict[str, Path]) -> None:
    path = built["qwen2"]
    tokenizer, model = load(path)
    vocab = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
    assert (path / "merges.txt").read_text(encoding="utf-8").startswith("#version: 0.2\n")
    assert tokenizer.convert_tokens_to_ids(["<|endoftext|>", CHATML_START, CHATML_END]) == [
        len(vocab),
        len(vocab) + 1,
        len(vocab) + 2,
    ]
    assert model.config.vocab_size % 64 == 0 and model.config.tie_word_embeddings
    assert model.generation_config.do_sample  # as Qwen's own: a caller wanting greedy output says so


@pytest.mark.parametrize("place", ["tokenizer_config", "jinja"])
def test_tiny_llm_chat_template_renders_from_either_place(tmp_path: Path, place: str) -> None:
    path = build_tiny_llama(tmp_path / place, template_in=place)  # type: ignore[arg-type]
    in_config = "chat_template" in json.loads((path / "tokenizer_config.json").read_text())
    assert in_config == (place == "tokenizer_config")
    assert (path / "chat_template.jinja").is_file() == (place == "jinja")
    tokenizer, _ = load(path)
    messages = [{"role": "user", "content": "Vertaal: De minister zegt dat de economie groeit."}]
    rendered = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert rendered == (
        "<|im_start|>system\n<|im_end|>\n"  # EuroLLM's prompts open with an empty system turn
        "<|im_start|>user\nVertaal: De minister zegt dat de economie groeit.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_chatml_template_default_system_turns() -> None:
    from jinja2 import Environment

    messages = [{"role": "user", "content": "Hoi"}]
    render = lambda source, msgs: Environment().from_string(source).render(messages=msgs, add_generation_prompt=False)  # noqa: E731
    assert render(chatml_template(None), messages) == "<|im_start|>user\nHoi<|im_end|>\n"
    assert render(chatml_template(QWEN_SYSTEM), messages).startswith(f"<|im_start|>system\n{QWEN_SYSTEM}<|im_end|>\n")
    own = [{"role": "system", "content": "Translate."}, *messages]
    assert render(chatml_template(QWEN_SYSTEM), own).count("<|im_start|>system") == 1


@pytest.mark.parametrize("kind", KINDS)
def test_tiny_llm_greedy_outputs_depend_on_the_input_and_sometimes_end(built: dict[str, Path], kind: str) -> None:
    tokenizer, model = load(built[kind])
    ends = set(model.generation_config.eos_token_id)
    outputs = []
    for prompt in PROMPTS:
        inputs = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        out = model.generate(**inputs, do_sample=False, max_new_tokens=MAX_NEW)
        outputs.append(tuple(out[0, inputs["input_ids"].shape[1] :].tolist()))
    assert len(set(outputs)) >= len(PROMPTS) - 1, outputs
    stopped = [o for o in outputs if len(o) < MAX_NEW]
    assert stopped and all(o[-1] in ends for o in stopped), outputs  # the end token, before the limit
    assert any(len(o) > 1 for o in outputs)  # not every answer is the end token alone


def test_eurollm_architecture_is_the_model_cards(tmp_path: Path) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    assert eurollm_architecture(1.0) == EUROLLM_1_7B
    with torch.device("meta"):  # no memory: only the parameter count
        model = LlamaForCausalLM(LlamaConfig(**EUROLLM_1_7B))
    embedding = EUROLLM_1_7B["vocab_size"] * EUROLLM_1_7B["hidden_size"]
    total = sum(p.numel() for p in model.parameters())
    # the model card: 0.262B embedding, 0.262B LM head, 1.133B non-embedding, 1.657B in all
    assert round(embedding / 1e9, 3) == 0.262 and round((total - 2 * embedding) / 1e9, 3) == 1.133
    assert round(total / 1e9, 3) == 1.657


@pytest.mark.slow
def test_build_eurollm_architecture_scaled_down_keeps_its_shape(tmp_path: Path) -> None:
    path = build_eurollm_architecture(tmp_path / "eurollm", scale=0.0625)
    config = json.loads((path / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"] and config["vocab_size"] == 128000
    assert config["hidden_size"] // config["num_attention_heads"] == 128
    assert config["num_attention_heads"] == 2 * config["num_key_value_heads"]
    assert config["dtype"] == "bfloat16" and not config["tie_word_embeddings"]
    tokenizer, model = load(path)
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": PROMPTS[0]}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    out = model.generate(**inputs, do_sample=False, max_new_tokens=4)
    assert out.shape[1] > inputs["input_ids"].shape[1]
