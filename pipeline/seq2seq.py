"""Loading seq2seq models and calling ``generate()``: shared by translation and summarisation.

transformers v5 has no ``translation``/``summarization`` pipelines; this is the small
part of them nl2en needs. Heavy imports happen inside the functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.errors import ModelError
from pipeline.registry import ResolvedModel


def load_seq2seq(model: ResolvedModel, device: str = "cpu", threads: int | None = None) -> tuple[Any, Any]:
    """(tokenizer, model) in eval mode on ``device``; never runs remote code."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    if threads:
        torch.set_num_threads(threads)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model.path), trust_remote_code=False)
        net = AutoModelForSeq2SeqLM.from_pretrained(str(model.path), trust_remote_code=False)
    except Exception as exc:  # corrupt or incomplete model files
        raise ModelError(f"cannot load model {model.name} from {model.path}: {exc}") from exc
    net.eval()
    net.to(device)
    return tokenizer, net


def context_limit(tokenizer: Any, net: Any) -> int:
    """The longest input, in tokens, the model accepts."""
    limits = [getattr(net.config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)]
    return min(int(x) for x in limits if isinstance(x, int) and 0 < x < 1_000_000)


def generate(
    tokenizer: Any, net: Any, texts: Sequence[str], kwargs: Mapping[str, Any], device: str = "cpu"
) -> list[tuple[str, int]]:
    """Generate for a batch; returns (decoded text with whitespace collapsed, tokens) each."""
    import torch

    with torch.inference_mode():
        batch = tokenizer(list(texts), return_tensors="pt", padding=True).to(device)
        out = net.generate(**batch, **kwargs, do_sample=False)
    special = set(tokenizer.all_special_ids)
    decoded = tokenizer.batch_decode(out, skip_special_tokens=True)
    counts = [sum(1 for t in row.tolist() if t not in special) for row in out]
    return [(" ".join(text.split()), n) for text, n in zip(decoded, counts, strict=True)]
