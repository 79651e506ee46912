"""Random-weight stand-ins for the instruct LLMs (EuroLLM, Qwen2.5, TowerInstruct).

Tests and offline trials cannot download ``utter-project/EuroLLM-1.7B-Instruct`` (3.3 GB), so
this module builds causal LMs of the *real* classes (``LlamaForCausalLM`` for EuroLLM and Tower,
``Qwen2ForCausalLM`` for Qwen2.5) with *real* tokenizers trained on the fly on the repository's
Dutch and English sentences (:func:`tests.support.tiny.training_corpus`), ChatML special tokens,
a ChatML chat template and a ``generation_config.json`` whose end tokens are a list, as the
instruct checkpoints have. Outputs are gibberish by design; file layout, special tokens, chat
template and generation settings are faithful.

Tokenizers, as the families ship them:

- ``tokenizer="sentencepiece"`` (Llama family, the default): a sentencepiece BPE model with byte
  fallback (``tokenizer.model``), converted by transformers' ``LlamaTokenizer`` into
  ``tokenizer.json``; EuroLLM and TowerInstruct ship exactly this pair;
- ``tokenizer="byte-bpe"`` (Llama family) and every Qwen2 model: a byte-level BPE trained with
  the ``tokenizers`` library (the library transformers' fast tokenizers run on, so no second
  implementation is involved); Qwen's pre-tokenizer regex comes from ``Qwen2Tokenizer`` itself,
  and ``vocab.json`` + ``merges.txt`` are written beside ``tokenizer.json`` as Qwen's repo has them.

The chat template sits where the caller asks: ``template_in="tokenizer_config"`` puts it in
``tokenizer_config.json`` (where the three real repos keep it), ``"jinja"`` in
``chat_template.jinja`` (what transformers v5's ``save_pretrained`` writes).

Random weights use a large init std (``_INIT_GAIN / sqrt(hidden_size)``), as :mod:`tiny` does:
with the library default (0.02) every prompt, which ends in the same ``<|im_start|>assistant``
suffix, yields the same greedy continuation. The end token's output row is scaled up
(``end_gain``) so that greedy decoding stops by itself on some prompts; ``max_new_tokens`` in
the generation config bounds the rest.

Heavy libraries are imported inside the functions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from tests.support import tiny

__all__ = [
    "CHATML_END",
    "CHATML_START",
    "EUROLLM_1_7B",
    "EUROLLM_SYSTEM",
    "QWEN2_5_1_5B",
    "QWEN_SYSTEM",
    "TOWERINSTRUCT_7B",
    "build_eurollm_architecture",
    "build_tiny_llama",
    "build_tiny_qwen2",
    "chatml_template",
    "eurollm_architecture",
]

CHATML_START = "<|im_start|>"
CHATML_END = "<|im_end|>"
QWEN_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
EUROLLM_SYSTEM = ""  # EuroLLM's prompts open with an empty system turn (its model card's example)

# utter-project/EuroLLM-1.7B(-Instruct), from its model card's hyperparameter table: 24 layers,
# embedding size 2048, FFN 5632, 16 heads, 8 KV heads (GQA), SwiGLU, RoPE theta 10,000, RMSNorm,
# untied embeddings, 4,096 positions; 0.262B embedding parameters / 2048 = a 128,000-token vocabulary.
EUROLLM_1_7B: dict[str, Any] = {
    "vocab_size": 128000,
    "hidden_size": 2048,
    "intermediate_size": 5632,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "max_position_embeddings": 4096,
    "rope_theta": 10000.0,
    "rms_norm_eps": 1e-5,
    "tie_word_embeddings": False,
}
# Qwen/Qwen2.5-1.5B-Instruct (config.json): for reference and for scaled benchmarks.
QWEN2_5_1_5B: dict[str, Any] = {
    "vocab_size": 151936,
    "hidden_size": 1536,
    "intermediate_size": 8960,
    "num_hidden_layers": 28,
    "num_attention_heads": 12,
    "num_key_value_heads": 2,
    "max_position_embeddings": 32768,
    "rope_theta": 1000000.0,
    "rms_norm_eps": 1e-6,
    "tie_word_embeddings": True,
}
# Unbabel/TowerInstruct-7B-v0.2 (Llama 2 7B with ChatML tokens added): for reference.
TOWERINSTRUCT_7B: dict[str, Any] = {
    "vocab_size": 32007,
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "max_position_embeddings": 4096,
    "rope_theta": 10000.0,
    "rms_norm_eps": 1e-5,
    "tie_word_embeddings": False,
}

# The end tokens' output rows are scaled by this much, per tokenizer, so that greedy decoding of
# eight corpus prompts stops by itself on two to four of them (measured; see tests/support/test_tiny_llm.py).
_END_GAIN = {"sentencepiece": 1.3, "byte-bpe": 1.2, "qwen2": 1.6}
_MAX_SPM_PIECES = 600
_TEMPLATE_PLACES = ("tokenizer_config", "jinja")
# Files a loader prefers over those a build writes, besides the seq2seq builds' own (tiny.py).
_STALE_FILES = (*tiny._STALE_FILES, "chat_template.jinja", "tokenizer.model", "vocab.json", "merges.txt")


def chatml_template(default_system: str | None = None) -> str:
    """A ChatML chat template; with ``default_system``, a system turn is added when the messages have none.

    ``None`` (TowerInstruct): only the given turns; ``""`` (EuroLLM): an empty system turn;
    :data:`QWEN_SYSTEM` (Qwen2.5): Qwen's own default system prompt.
    """
    head = ""
    if default_system is not None:
        system = json.dumps(f"{CHATML_START}system\n{default_system}{CHATML_END}\n")
        head = f"{{%- if not messages or messages[0]['role'] != 'system' %}}{{{{- {system} }}}}{{%- endif %}}"
    body = (
        "{%- for message in messages %}"
        f"{{{{- '{CHATML_START}' + message['role'] + '\\n' + message['content'] + '{CHATML_END}' + '\\n' }}}}"
        "{%- endfor %}"
        f"{{%- if add_generation_prompt %}}{{{{- '{CHATML_START}assistant\\n' }}}}{{%- endif %}}"
    )
    return head + body


def _check_place(template_in: str) -> None:
    if template_in not in _TEMPLATE_PLACES:
        raise ValueError(f"template_in must be one of {_TEMPLATE_PLACES}, not {template_in!r}")


def _save_tokenizer(tok: Any, out_dir: Path, default_system: str | None, template_in: str, max_length: int) -> None:
    """Save ``tok`` with a ChatML template in ``tokenizer_config.json`` or in ``chat_template.jinja``, never both."""
    template = chatml_template(default_system)
    tok.chat_template = template
    tok.model_max_length = max_length
    tok.save_pretrained(str(out_dir))
    config_path = out_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config.pop("chat_template", None)
    jinja = out_dir / "chat_template.jinja"
    if template_in == "jinja":
        jinja.write_text(template, encoding="utf-8")
    else:
        jinja.unlink(missing_ok=True)
        config["chat_template"] = template
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _decoder_sizes(
    vocab_size: int, hidden_size: int, intermediate_size: int, layers: int, heads: int, kv_heads: int, positions: int
) -> dict[str, Any]:
    """The size keys of a Llama or Qwen2 config."""
    return {
        "vocab_size": vocab_size,
        "hidden_size": hidden_size,
        "intermediate_size": intermediate_size,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "max_position_embeddings": positions,
    }


def _sentencepiece_llama(out_dir: Path, vocab_size: int) -> Any:
    """A ``LlamaTokenizer`` on a sentencepiece BPE with byte fallback: ``<unk>`` ``<s>`` ``</s>`` = 0..2."""
    from transformers import LlamaTokenizer

    proto = tiny._train_spm(
        tiny.training_corpus(), min(vocab_size, _MAX_SPM_PIECES), model_type="bpe", byte_fallback=True
    )
    (out_dir / "tokenizer.model").write_bytes(proto)
    return LlamaTokenizer.from_pretrained(str(out_dir), legacy=False)


def _train_byte_bpe(
    vocab_size: int, specials: list[str], pre_tokenizer: Any
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """(vocab, merges) of a byte-level BPE trained on the corpus; ``specials`` take the first ids."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizer
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(tiny.training_corpus(), trainer)
    model = json.loads(bpe.to_str())["model"]
    merges: list[tuple[str, str]] = []
    for merge in model["merges"]:  # ["a", "b"] in recent tokenizers, "a b" in older ones
        left, right = merge.split(" ") if isinstance(merge, str) else merge
        merges.append((left, right))
    return dict(sorted(model["vocab"].items(), key=lambda kv: kv[1])), merges


def _byte_bpe_llama(out_dir: Path, vocab_size: int) -> Any:
    """A fast tokenizer on a byte-level BPE (as Llama 3 has): ``<unk>`` ``<s>`` ``</s>`` = 0..2."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab, merges = _train_byte_bpe(
        vocab_size, ["<unk>", "<s>", "</s>"], pre_tokenizers.ByteLevel(add_prefix_space=False)
    )
    backend = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)]
    )
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token="<s>", eos_token="</s>")


def _random_causal_lm(
    out_dir: Path,
    architecture: str,
    config: Mapping[str, Any],
    generation: Mapping[str, Any],
    *,
    seed: int,
    init_std: float | None,
    end_ids: list[int],
    end_gain: float,
    dtype: str,
) -> None:
    """Seeded random weights of the real class, the end tokens' output rows scaled, saved as safetensors."""
    import torch
    import transformers

    model_class = getattr(transformers, architecture)
    std = init_std if init_std is not None else tiny._INIT_GAIN / math.sqrt(config["hidden_size"])
    model_config = model_class.config_class(**config, initializer_range=std, architectures=[architecture])
    torch.manual_seed(seed)
    model = model_class(model_config).eval()
    with torch.no_grad():
        head = model.get_output_embeddings().weight
        for token_id in end_ids:
            head[token_id].mul_(end_gain)
    tiny._check_finite(model)
    model.generation_config = transformers.GenerationConfig(**generation)
    if dtype != "float32":
        model = model.to(getattr(torch, dtype))
    model.save_pretrained(out_dir)


def build_tiny_llama(
    out_dir: Path,
    *,
    template_in: Literal["tokenizer_config", "jinja"] = "tokenizer_config",
    tokenizer: Literal["sentencepiece", "byte-bpe"] = "sentencepiece",
    default_system: str | None = EUROLLM_SYSTEM,
    hidden_size: int = 64,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int = 2,
    intermediate_size: int = 128,
    max_positions: int = 4096,
    vocab_size: int = 600,
    max_new_tokens: int = 48,
    seed: int = 0,
    init_std: float | None = None,
    end_gain: float | None = None,
    arch: Mapping[str, Any] | None = None,
    dtype: str = "float32",
) -> Path:
    """A random ``LlamaForCausalLM`` laid out like EuroLLM-1.7B-Instruct (or TowerInstruct).

    Tokens: ``<unk>`` ``<s>`` ``</s>`` = 0..2, the trained pieces, then ``<|im_start|>`` and
    ``<|im_end|>`` as added special tokens; the tokenizer's ``eos_token`` is ``<|im_end|>`` and the
    generation config stops on ``[<|im_end|>, </s>]``. ``arch`` (e.g. :data:`EUROLLM_1_7B`)
    overrides the size keywords; a ``vocab_size`` above the tokenizer's leaves unused rows, as
    Qwen's padded embeddings do.
    """
    _check_place(template_in)
    out_dir = tiny._prepare_dir(out_dir, _STALE_FILES)
    if tokenizer == "sentencepiece":
        tok = _sentencepiece_llama(out_dir, vocab_size)
    elif tokenizer == "byte-bpe":
        tok = _byte_bpe_llama(out_dir, vocab_size)
    else:
        raise ValueError(f"tokenizer must be 'sentencepiece' or 'byte-bpe', not {tokenizer!r}")
    tok.add_special_tokens({"additional_special_tokens": [CHATML_START, CHATML_END]})
    tok.eos_token = CHATML_END
    tok.pad_token = "</s>"
    _save_tokenizer(tok, out_dir, default_system, template_in, max_positions)
    im_end, eos = tok.convert_tokens_to_ids(CHATML_END), tok.convert_tokens_to_ids("</s>")
    sizes: dict[str, Any] = {
        **_decoder_sizes(len(tok), hidden_size, intermediate_size, layers, heads, kv_heads, max_positions),
        "rope_theta": 10000.0,
        "rms_norm_eps": 1e-5,
        "tie_word_embeddings": False,
        **(arch or {}),
    }
    if sizes["vocab_size"] < len(tok):
        raise ValueError(f"vocab_size {sizes['vocab_size']} is below the tokenizer's {len(tok)} tokens")
    tokens = {"bos_token_id": 1, "eos_token_id": im_end, "pad_token_id": eos}
    _random_causal_lm(
        out_dir,
        "LlamaForCausalLM",
        {**sizes, **tokens, "hidden_act": "silu", "attention_bias": False, "mlp_bias": False},
        {"bos_token_id": 1, "eos_token_id": [im_end, eos], "pad_token_id": eos, "max_new_tokens": max_new_tokens},
        seed=seed,
        init_std=init_std,
        end_ids=[im_end, eos],
        end_gain=_END_GAIN[tokenizer] if end_gain is None else end_gain,
        dtype=dtype,
    )
    return out_dir


def build_tiny_qwen2(
    out_dir: Path,
    *,
    template_in: Literal["tokenizer_config", "jinja"] = "tokenizer_config",
    default_system: str | None = QWEN_SYSTEM,
    hidden_size: int = 64,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int = 2,
    intermediate_size: int = 128,
    max_positions: int = 32768,
    vocab_size: int = 700,
    pad_vocab_to: int = 64,
    max_new_tokens: int = 48,
    sampling: bool = True,
    seed: int = 0,
    init_std: float | None = None,
    end_gain: float | None = None,
) -> Path:
    """A random ``Qwen2ForCausalLM`` laid out like Qwen2.5-1.5B-Instruct.

    A byte-level BPE with Qwen's own pre-tokenizer (``Qwen2Tokenizer``), the trained pieces
    first and ``<|endoftext|>`` ``<|im_start|>`` ``<|im_end|>`` added after them (as 151643..151645
    follow Qwen's 151,643 pieces); the embedding is padded to a multiple of ``pad_vocab_to`` and
    tied, as Qwen's is. The generation config is Qwen's: end tokens ``[<|im_end|>,
    <|endoftext|>]`` and, with ``sampling``, its sampling settings (``do_sample``, temperature 0.7,
    top_p 0.8, top_k 20, repetition_penalty 1.05), which a caller wanting greedy output must override.
    """
    from tokenizers import Regex, pre_tokenizers
    from transformers import Qwen2Tokenizer
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    _check_place(template_in)
    out_dir = tiny._prepare_dir(out_dir, _STALE_FILES)
    split = pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False)
    pre = pre_tokenizers.Sequence([split, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    vocab, merges = _train_byte_bpe(vocab_size, [], pre)
    (out_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (out_dir / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
    pairs: Any = list(merges)  # the backend takes (left, right) pairs; the annotation names only strings
    tok = Qwen2Tokenizer(vocab=dict(vocab), merges=pairs, errors="replace")
    tok.add_special_tokens({"additional_special_tokens": [CHATML_START, CHATML_END]})
    tok.add_special_tokens({"eos_token": CHATML_END, "pad_token": "<|endoftext|>"})
    ids = tok.convert_tokens_to_ids(["<|endoftext|>", CHATML_START, CHATML_END])
    if ids != [len(vocab), len(vocab) + 1, len(vocab) + 2]:
        raise RuntimeError(f"Qwen special tokens landed at {ids}, expected right after the {len(vocab)} pieces")
    _save_tokenizer(tok, out_dir, default_system, template_in, 131072)
    endoftext, im_end = ids[0], ids[2]
    padded = math.ceil(len(tok) / pad_vocab_to) * pad_vocab_to
    generation: dict[str, Any] = {
        "bos_token_id": endoftext,
        "eos_token_id": [im_end, endoftext],
        "pad_token_id": endoftext,
        "max_new_tokens": max_new_tokens,
    }
    if sampling:
        generation.update(do_sample=True, temperature=0.7, top_p=0.8, top_k=20, repetition_penalty=1.05)
    _random_causal_lm(
        out_dir,
        "Qwen2ForCausalLM",
        {
            **_decoder_sizes(padded, hidden_size, intermediate_size, layers, heads, kv_heads, max_positions),
            "rope_theta": 1000000.0,
            "rms_norm_eps": 1e-6,
            "tie_word_embeddings": True,
            "hidden_act": "silu",
            "use_sliding_window": False,
            "bos_token_id": endoftext,
            "eos_token_id": im_end,
        },
        generation,
        seed=seed,
        init_std=init_std,
        end_ids=[im_end],
        end_gain=_END_GAIN["qwen2"] if end_gain is None else end_gain,
        dtype="float32",
    )
    return out_dir


def eurollm_architecture(scale: float = 1.0) -> dict[str, Any]:
    """EuroLLM-1.7B's configuration (:data:`EUROLLM_1_7B`), shrunk by ``scale`` < 1 for a quick run.

    Shrinking scales the head count (each head stays 128 wide, half as many KV heads as query
    heads, as EuroLLM's GQA has), the FFN size and the layer count; the 128,000-row vocabulary,
    whose softmax is a real cost per generated token, is kept.
    """
    if not 0 < scale <= 1:
        raise ValueError("scale must be in (0, 1]")
    arch = dict(EUROLLM_1_7B)
    if scale < 1:
        head_dim = EUROLLM_1_7B["hidden_size"] // EUROLLM_1_7B["num_attention_heads"]
        heads = max(2, round(EUROLLM_1_7B["num_attention_heads"] * scale) // 2 * 2)
        arch.update(
            hidden_size=heads * head_dim,
            num_attention_heads=heads,
            num_key_value_heads=heads // 2,
            intermediate_size=max(64, round(EUROLLM_1_7B["intermediate_size"] * scale / 64) * 64),
            num_hidden_layers=max(1, round(EUROLLM_1_7B["num_hidden_layers"] * scale)),
        )
    return arch


def build_eurollm_architecture(out_dir: Path, scale: float = 1.0, *, seed: int = 0, dtype: str = "bfloat16") -> Path:
    """A random model with EuroLLM-1.7B's exact configuration (:func:`eurollm_architecture`), for benchmarks.

    At ``scale=1.0`` it has 1.66B parameters (3.3 GB in bfloat16, twice that in memory while it
    is built): never build it in tests. The tokenizer is the tiny sentencepiece one with the
    ChatML tokens; the embedding rows above it are unused, as padded vocabularies' are.
    """
    return build_tiny_llama(out_dir, arch=eurollm_architecture(scale), seed=seed, dtype=dtype)
