"""Choosing an engine: one ``EngineOptions`` value per command, and the engine it picks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.models.registry import ResolvedModel

BACKENDS = ("auto", "transformers", "ctranslate2")


@dataclass(frozen=True)
class EngineOptions:
    """How to run a model, chosen once per command: backend, compute type, device, threads, batch size."""

    backend: str = "auto"
    compute_type: str = "int8"
    device: str = "cpu"
    threads: int | None = None
    batch_size: int = 16
    batch_tokens: int = 0  # CTranslate2: bound batches by source tokens instead of sentences when set

    def run_name_parts(self) -> list[str]:
        """What the user chose differently from the defaults, and can change outputs (not threads or batch size)."""
        default = EngineOptions()
        parts = [self.backend] if self.backend != default.backend else []
        parts += [self.compute_type] if self.compute_type != default.compute_type else []
        parts += [self.device] if self.device != default.device else []
        return parts


def resolve_backend(model: ResolvedModel, backend: str) -> str:
    """The backend ``backend`` names for ``model``: ``auto`` is CTranslate2 where installed and supported."""
    from pipeline.errors import ModelError

    if model.is_causal_lm:
        from pipeline.engines.ct2_generator import supports
    else:
        from pipeline.engines.ct2 import supports

    if backend not in BACKENDS:
        raise ModelError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        return "ctranslate2" if supports(model) else "transformers"
    if backend == "ctranslate2" and not supports(model):
        raise ModelError(
            f"{model.name}: CTranslate2 is not installed or does not support model type "
            f"{model.config().get('model_type')!r}",
            hint="use --backend transformers",
        )
    return backend


def make_engine(model: ResolvedModel, digest: str, options: EngineOptions | None = None) -> Any:
    """The engine for ``options.backend`` (see :func:`resolve_backend`); it loads nothing until first used.

    A causal LM gets a ``pipeline.engines.causal.CausalEngine``, any other model a seq2seq engine.
    """
    from pipeline.engines.ct2 import CT2Engine
    from pipeline.engines.seq2seq import TransformersEngine

    options = options or EngineOptions()
    backend = resolve_backend(model, options.backend)
    if model.is_causal_lm:
        return make_causal_engine(model, digest, backend, options)
    if backend == "ctranslate2":
        return CT2Engine(
            model,
            digest,
            compute_type=options.compute_type,
            device=options.device,
            threads=options.threads,
            batch_size=options.batch_size,
            max_batch_tokens=options.batch_tokens,
        )
    return TransformersEngine(model, device=options.device, threads=options.threads, batch_size=options.batch_size)


def make_causal_engine(model: ResolvedModel, digest: str, backend: str, options: EngineOptions) -> Any:
    """The causal-LM engine for a resolved ``backend``: CTranslate2's ``Generator`` or transformers."""
    from pipeline.engines.causal import TransformersCausalEngine
    from pipeline.engines.ct2_generator import CT2GeneratorEngine

    sizes = {
        "batch_size": options.batch_size,
        **({"max_batch_tokens": options.batch_tokens} if options.batch_tokens else {}),
    }
    if backend == "ctranslate2":
        return CT2GeneratorEngine(
            model, digest, compute_type=options.compute_type, device=options.device, threads=options.threads, **sizes
        )
    return TransformersCausalEngine(model, device=options.device, threads=options.threads, **sizes)
