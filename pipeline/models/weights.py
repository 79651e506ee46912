"""Pickle checkpoints to safetensors, with a loader that cannot run code.

``pytorch_model.bin`` is a pickle: loading it with plain ``torch.load`` can run any code
the file's author put there. ``torch.load(..., weights_only=True)`` unpickles only
tensors and plain containers, so a checkpoint that needs more is refused instead. The
tensors are then written as ``model.safetensors`` beside it.

safetensors refuses tensors that share storage, which tied checkpoints have (Marian's
embeddings and output layer are one tensor under several names). Of each group of
names sharing one tensor, one is kept: a name the model class does not re-tie itself on
loading, so transformers finds every weight it needs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pipeline.errors import ModelError, PickleRejected

PICKLE_WEIGHTS = "pytorch_model.bin"
SAFE_WEIGHTS = "model.safetensors"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_pickle_weights(path: Path, *, trusted: bool = False) -> dict[str, Any]:
    """The state dict in ``path``, unpickled with ``weights_only=True`` unless ``trusted``."""
    import pickle

    import torch

    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=not trusted, mmap=True)
        except RuntimeError as exc:  # checkpoints older than torch 1.6's zip format cannot be mapped
            if "mmap" not in str(exc):
                raise
            state = torch.load(path, map_location="cpu", weights_only=not trusted)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError) as exc:
        if trusted:
            raise ModelError(f"{path}: cannot read the checkpoint ({type(exc).__name__})") from exc
        raise PickleRejected(
            f"{path}: the restricted loader (torch.load weights_only=True) refuses this checkpoint: "
            "it contains more than tensors, and loading it in full could run code",
            hint="pass --allow-pickle only if you trust its source",
        ) from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)} if isinstance(state, dict) else {}
    if not tensors:
        raise ModelError(f"{path}: not a state dict of tensors")
    return tensors  # anything else in the file (training state, counters) is not part of the model


def _retied_names(model_dir: Path) -> set[str]:
    """Weight names transformers ties again on loading, for the model in ``model_dir``.

    The model is built on the meta device (no memory, no weights) only to ask it.
    """
    import torch
    from transformers import AutoConfig, AutoModelForSeq2SeqLM

    try:
        config = AutoConfig.from_pretrained(str(model_dir), trust_remote_code=False)
        with torch.device("meta"):
            model = AutoModelForSeq2SeqLM.from_config(config, trust_remote_code=False)
    except Exception:  # not a seq2seq model transformers knows: keep every name
        return set()
    tied = getattr(model, "all_tied_weights_keys", None) or getattr(model, "_tied_weights_keys", None) or {}
    return set(tied)


def _storage_groups(state: dict[str, Any]) -> list[list[str]]:
    """Names whose tensors share memory (same storage, offset, shape and strides)."""
    groups: dict[tuple[Any, ...], list[str]] = {}
    for name, tensor in state.items():
        if tensor.device.type == "meta" or tensor.numel() == 0:
            groups[("own", name)] = [name]
            continue
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape), tensor.stride())
        groups.setdefault(key, []).append(name)
    return list(groups.values())


def deduplicate_shared(state: dict[str, Any], retied: set[str]) -> dict[str, Any]:
    """One name per shared tensor, preferring names transformers does not re-tie; others cloned.

    Views that overlap without being identical are copied, so safetensors accepts them.
    """
    out: dict[str, Any] = {}
    seen_storage: set[int] = set()
    for names in _storage_groups(state):
        keep = sorted(n for n in names if n not in retied) or sorted(names)
        chosen = keep[0]
        tensor = state[chosen]
        if tensor.device.type != "meta" and tensor.numel():
            pointer = tensor.untyped_storage().data_ptr()
            # another group lives in the same storage (partial views): give this one its own memory
            tensor = tensor.contiguous().clone() if pointer in seen_storage else tensor.contiguous()
            seen_storage.add(pointer)
        out[chosen] = tensor
        for other in names:
            if other != chosen and other not in retied:
                out[other] = tensor.clone()
    return out


def pickle_to_safetensors(source: Path, target: Path, *, trusted: bool = False) -> dict[str, str]:
    """Write the tensors of ``source`` (pickle) to ``target`` (safetensors); returns both sha256."""
    from safetensors.torch import save_file

    state = deduplicate_shared(load_pickle_weights(source, trusted=trusted), _retied_names(source.parent))
    partial = target.with_name(target.name + ".partial")
    save_file(state, str(partial), metadata={"format": "pt"})
    partial.replace(target)
    return {"sha256": file_sha256(source), "safetensors_sha256": file_sha256(target)}
