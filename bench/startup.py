"""``--only startup``: ``nl2en --help`` and a rerun of the seed served entirely from the cache (whole process)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import median
from bench.harness import Bench
from bench.seed import SEED, seed_sources


def help_startup(bench: Bench) -> dict[str, Any]:
    bench.cli(["--help"], "help-warmup")  # compiles byte code, warms the page cache
    runs = [{"wall_s": p.wall_s, "rss_mib": p.rss_mib} for p in (bench.cli(["--help"], "help") for _ in range(5))]
    result = {"runs": runs, "wall_s": median(runs, "wall_s"), "rss_mib": median(runs, "rss_mib")}
    print(f"  nl2en --help: {result['wall_s']:.2f} s")
    return result


def cached_rerun(bench: Bench, model: Path, segments: int) -> dict[str, Any]:
    """`make translate` twice: the second run of the seed is served entirely from the cache (whole process)."""
    env = {**bench.env, "NL2EN_CACHE": str(bench.tmp / "cached-run.sqlite3")}
    out = bench.tmp / "runs" / "cached"
    args = ["translate", str(SEED), "--model", str(model), "--out", str(out)]
    first = bench.cli(args, "cached-fill", env)
    runs = []
    for _ in range(max(3, bench.repeats)):
        proc = bench.cli(args, "cached-rerun", env)
        manifest = json.loads(next(out.glob("*/*/manifest.json")).read_text(encoding="utf-8"))
        runs.append({"wall_s": proc.wall_s, "rss_mib": proc.rss_mib, **manifest.get("cache", {})})
    result = {
        "fill_wall_s": first.wall_s,
        "runs": runs,
        "wall_s": median(runs, "wall_s"),
        "rss_mib": median(runs, "rss_mib"),
        "all_hits": all(r.get("hits") == segments and r.get("misses") == 0 for r in runs),
    }
    print(f"  cached rerun: {result['wall_s']:.2f} s (first run, filling the cache: {first.wall_s:.1f} s)")
    return result


def bench_startup(bench: Bench) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(cached, help)``: the cached rerun of the seed and ``nl2en --help``."""
    help_ = help_startup(bench)
    model = bench.model("marian", bench.args.translate_tokens)
    bench.converted(model)
    segments = len(seed_sources())
    cached = cached_rerun(bench, model, segments)
    return cached, help_
