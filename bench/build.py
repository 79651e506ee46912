"""Child side: building a random model of a real architecture (``bench.py --build KIND``)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from bench.common import MODEL_SPEC_VERSION, record_path


def build_model(kind: str, dest: Path, fixed: int, beams: int, tiny: bool) -> None:
    """Build a random model of the real architecture (or a tiny one) into ``dest``, atomically."""
    from tests.support import tiny as tm

    tmp = dest.with_name(f".{dest.name}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    started = time.perf_counter()
    if kind == "marian":
        if tiny:
            tm.build_tiny_marian(tmp, fixed_length=fixed, num_beams=beams)
        else:
            tm.build_marian_like(tmp, tm.MARIAN_OPUS_NL_EN, fixed, num_beams=beams)
    else:
        if tiny:
            tm.build_tiny_bart(tmp, fixed_length=fixed, num_beams=beams)
        else:
            tm.build_bart_like(tmp, tm.DISTILBART_CNN_12_6, fixed, num_beams=beams)
    info = {
        "version": MODEL_SPEC_VERSION,
        "kind": kind,
        "tiny": tiny,
        "fixed_new_tokens": fixed,
        "beams": beams,
        "parameters": safetensors_parameters(tmp),
        "build_s": round(time.perf_counter() - started, 2),
    }
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    # Beside the model, never inside: any file in the model directory is part of its fingerprint.
    record_path(dest).write_text(json.dumps({"model": info}, indent=2), encoding="utf-8")


def safetensors_parameters(model_dir: Path) -> int:
    """Number of stored parameters, read from the safetensors headers (tied weights are stored once)."""
    total = 0
    for file in model_dir.glob("*.safetensors"):
        with file.open("rb") as fh:
            header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
        for name, entry in header.items():
            if name != "__metadata__":
                count = 1
                for dim in entry["shape"]:
                    count *= dim
                total += count
    return total
