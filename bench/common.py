"""What every section of the benchmark shares: settings, child processes (wall time, peak RSS), variants, medians,
facts about the machine, the model records and number formatting."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "bench.py"  # what the child processes run, with --driver NAME or --build KIND
MODEL_SPEC_VERSION = 1  # bump to rebuild cached models when the way they are built changes
MIB = 1024 * 1024
BUDGET_S = 15 * 60  # `make bench` must finish within this on the 2-core machine
# What the pipeline uses by default (TransformersEngine, CT2Engine); the baselines batch the same way.
HF_BATCH_SIZE = 16
HF_MAX_BATCH_TOKENS = 6000
CT2_BATCH_SIZE = 16  # sentences per batch, as nl2en's CTranslate2 engine uses
VERSIONED = ("nl2en", "torch", "transformers", "ctranslate2", "tokenizers", "sentencepiece", "sacremoses", "numpy")


def record_path(model_dir: Path) -> Path:
    """What the benchmark knows about a built model (build and conversion times), kept next to it."""
    return model_dir.with_name(f"{model_dir.name}.bench.json")


def read_record(model_dir: Path) -> dict[str, Any]:
    path = record_path(model_dir)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


@dataclass
class Proc:
    """One finished child process: wall time from spawn to exit, peak RSS, exit code and output."""

    wall_s: float
    rss_mib: float
    returncode: int
    stdout: str
    stderr: str


def run_process(cmd: Sequence[str], env: dict[str, str], log_dir: Path) -> Proc:
    """Run ``cmd`` to completion; ``wait4`` gives this child's own peak RSS (not the max over all children)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / "stdout.txt", log_dir / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=env, cwd=ROOT)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # interrupted: never leave a child running
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Proc(
        wall,
        usage.ru_maxrss / 1024,  # KiB on Linux
        proc.returncode,
        out_path.read_text(encoding="utf-8", errors="replace"),
        err_path.read_text(encoding="utf-8", errors="replace"),
    )


class BenchError(RuntimeError):
    pass


def check(proc: Proc, what: str) -> Proc:
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise BenchError(f"{what} failed with exit code {proc.returncode}:\n{tail}")
    return proc


@dataclass
class Variant:
    """One line of a results table: a whole-process run, and where its in-process numbers come from."""

    key: str
    task: str
    label: str
    run: Callable[[Path, bool], dict[str, Any]]  # (run dir, first repetition?) -> sample: wall_s, rss_mib, work_s…
    samples: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def median(samples: Sequence[dict[str, Any]], key: str) -> float | None:
    values = [s[key] for s in samples if isinstance(s.get(key), int | float)]
    return statistics.median(values) if values else None


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in VERSIONED:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def thread_env() -> dict[str, str]:
    names = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TOKENIZERS_PARALLELISM")
    found = {name: os.environ.get(name, "(unset)") for name in names}
    found.update({k: v for k, v in os.environ.items() if k.startswith("CT2_")})
    return found


def fmt_num(x: float | None, unit: str = "") -> str:
    if x is None:
        return "—"
    text = f"{x:.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"
    return f"{text}{unit}"
