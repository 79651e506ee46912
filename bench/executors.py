"""The corpus section's executor rows: ``nl2en translate --executor ray`` against the local executor."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.common import BenchError, Variant, fmt_num, median
from bench.harness import Bench

RAY_WORKERS = (1, 2)
RAY_TARGET = 0.8  # Ray with 2 workers, excluding Ray's start-up, against the local executor's throughput


def ray_variants(bench: Bench, model: Path, files: list[Path], sources: list[str]) -> list[Variant]:
    """`nl2en translate --executor ray --workers N` over the files: a local Ray that nl2en starts and stops.

    Whole process (the driver's wall time and peak RSS; the actors are Ray's processes, not the driver's),
    with Ray's start-up as the run's manifests record it, so throughput can be given without it.
    """
    try:
        metadata.version("ray")
    except metadata.PackageNotFoundError:
        return []

    def run_with(workers: int) -> Callable[[Path, bool], dict[str, Any]]:
        cpus = max(1, (os.cpu_count() or 1) // workers)  # the machine's cores shared out, as the local engine uses them

        def run(out: Path, first: bool) -> dict[str, Any]:
            args = ["translate", *map(str, files), "--model", str(model), "--backend", "ctranslate2", "--no-cache",
                    "--executor", "ray", "--workers", str(workers), "--cpus-per-worker", str(cpus),
                    "--out", str(out)]  # fmt: skip
            env = {**bench.env, "RAY_USAGE_STATS_ENABLED": "0"}
            env.pop("RAY_ADDRESS", None)
            proc = bench.cli(args, f"nl2en-ray-{workers}", env)
            manifests = list(out.glob("*/*/manifest.json"))
            if len(manifests) != len(files):
                raise BenchError(f"nl2en on Ray wrote {len(manifests)} of {len(files)} documents")
            translator = json.loads(manifests[0].read_text(encoding="utf-8"))["translator"]
            startup = float(translator["startup_s"])
            return {"wall_s": proc.wall_s, "rss_mib": proc.rss_mib, "ray_startup_s": startup,
                    "after_startup_s": proc.wall_s - startup, "outputs": len(sources)}  # fmt: skip

        return run

    return [
        Variant(f"nl2en-ray-{n}", "corpus", f"`nl2en translate --executor ray --workers {n}` (local Ray)", run_with(n))
        for n in RAY_WORKERS
    ]


def render_executors(corpus: dict[str, Any]) -> list[str]:
    """The executor rows: throughput without Ray's start-up (reported apart), driver peak RSS, against local."""
    table = corpus["table"]
    local = table.get("nl2en-local", {})
    if not any(k.startswith("nl2en-ray-") for k in table) or not local.get("whole_s"):
        return []
    local_rate = corpus["sentences"] / local["whole_s"]
    lines = [
        f"**Executors** (same corpus, whole `nl2en translate` process; Ray rows exclude Ray's start-up, shown apart; "
        f"peak RSS is the driver's). Target: Ray with 2 workers ≥ {RAY_TARGET} × local.",
        "",
        "| executor | sentences/s | Ray start-up s | driver peak RSS MiB | × local | target |",
        "|---|---:|---:|---:|---:|---|",
        f"| local | {fmt_num(local_rate)} | — | {fmt_num(local['rss_mib'])} | 1.00× | — |",
    ]
    for key, row in table.items():
        if not key.startswith("nl2en-ray-"):
            continue
        if not row["whole_s"]:
            lines.append(f"| {key} | failed: {row['error']} |||||")
            continue
        after = median(row["runs"], "after_startup_s")
        rate = corpus["sentences"] / after if after else None
        ratio = rate / local_rate if rate else None
        target = "—" if key != "nl2en-ray-2" or ratio is None else "PASS" if ratio >= RAY_TARGET else "FAIL"
        lines.append(
            f"| Ray, {key.rsplit('-', 1)[1]} worker(s) | {fmt_num(rate)} | "
            f"{fmt_num(median(row['runs'], 'ray_startup_s'))} | {fmt_num(row['rss_mib'])} | "
            f"{fmt_num(ratio, '×')} | {target} |"
        )
    return [*lines, ""]
