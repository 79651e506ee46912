"""Child side: what the in-process drivers (``bench.py --driver NAME``) share, and the CTranslate2 probe."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any


def torch_threads() -> dict[str, Any]:
    import torch

    return {"torch_threads": torch.get_num_threads(), "torch_interop_threads": torch.get_num_interop_threads()}


def process_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def hf_steps(row: Sequence[int], eos: int) -> int:
    """Decoder steps of one generate() output row: tokens after the decoder start, up to and including EOS."""
    for i, token in enumerate(row[1:], 1):
        if token == eos:
            return i
    return len(row) - 1


def eos_id(net: Any) -> int:
    eos = net.generation_config.eos_token_id
    return int(eos[0] if isinstance(eos, list) else eos)


def driver_result(t0: float, t1: float, t2: float, steps: list[int], texts: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "load_s": t1 - t0,
        "work_s": t2 - t1,
        "outputs": len(texts),
        "steps": steps,
        "sample": texts[0][:120] if texts else "",
        **extra,
    }


class CountingTranslator:
    """Wraps a ``ctranslate2.Translator`` to record the decoder steps of each hypothesis (prefix included)."""

    def __init__(self, inner: Any, steps: list[int]) -> None:
        self._inner = inner
        self._steps = steps

    def translate_batch(self, *args: Any, **kwargs: Any) -> Any:
        results = self._inner.translate_batch(*args, **kwargs)
        self._steps.extend(len(r.hypotheses[0]) for r in results)
        return results

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def record_steps(engine: Any) -> list[int]:
    """Load ``engine`` (a pipeline Seq2SeqEngine) and count the decoder steps it runs from now on."""
    steps: list[int] = []
    if engine.backend == "ctranslate2":
        engine._translator = CountingTranslator(engine.load(), steps)
    else:
        _, net = engine.load()
        original = net.generate
        eos = eos_id(net)

        def generate(*args: Any, **kwargs: Any) -> Any:
            out = original(*args, **kwargs)
            steps.extend(hf_steps(row, eos) for row in out.tolist())
            return out

        net.generate = generate
    engine.count_tokens(["warm up the tokenizer"])
    return steps


def drive_ct2_info(spec: dict[str, Any]) -> dict[str, Any]:
    """What CTranslate2 picks on this CPU (ISA, GEMM backends): run with CT2_VERBOSE=1, parsed by the parent."""
    import ctranslate2

    ctranslate2.Translator(spec["ct2"], device="cpu", compute_type="int8")
    return {
        "ctranslate2": ctranslate2.__version__,
        "compute_types": sorted(ctranslate2.get_supported_compute_types("cpu")),
    }
