"""``--only llm``: instruct LLMs on CTranslate2 int8 against transformers float32 (EuroLLM-1.7B's architecture)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from bench.build import safetensors_parameters
from bench.common import MODEL_SPEC_VERSION, record_path


def build_llm(dest: Path, scale: float) -> None:
    """A random model of EuroLLM-1.7B's architecture (``scale`` < 1: shrunk) into ``dest``, atomically."""
    from tests.support.tiny_llm import build_eurollm_architecture

    tmp = dest.with_name(f".{dest.name}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    started = time.perf_counter()
    build_eurollm_architecture(tmp, scale=scale)
    info = {
        "version": MODEL_SPEC_VERSION,
        "kind": "eurollm",
        "scale": scale,
        "parameters": safetensors_parameters(tmp),
        "build_s": round(time.perf_counter() - started, 2),
    }
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    record_path(dest).write_text(json.dumps({"model": info}, indent=2), encoding="utf-8")
