"""``--only extractive``: ``nl2en summarize --summarizer extractive`` on a long generated article."""

from __future__ import annotations

from typing import Any

from bench.common import median
from bench.harness import Bench

EXTRACTIVE_TARGET_S = 60
EXTRACTIVE_TARGET_MIB = 1536


def extractive_article(chars: int, seed: int = 0) -> str:
    """The long article the benchmark summarises (``tests.support.texts``, shared with the memory test)."""
    from tests.support.texts import synthetic_english_article

    return synthetic_english_article(chars, seed)


def bench_extractive(bench: Bench, megabytes: float) -> dict[str, Any]:
    """``nl2en summarize --summarizer extractive`` on a generated article: whole-process time and peak RSS.

    Each run gets a fresh cache, so it is a first run, cache writes included."""
    text = extractive_article(int(megabytes * 1_000_000))
    path = bench.tmp / "long-article.en.txt"
    path.write_text(text, encoding="utf-8")
    runs = []
    for i in range(bench.repeats):
        out = bench.tmp / f"extractive-{i}"
        env = {**bench.env, "NL2EN_CACHE": str(bench.tmp / f"extractive-{i}.sqlite3")}
        proc = bench.cli(["summarize", str(path), "--summarizer", "extractive", "--out", str(out)], "extractive", env)
        summary = next(out.rglob("summary.extractive.txt")).read_text(encoding="utf-8")
        runs.append({"wall_s": round(proc.wall_s, 3), "rss_mib": round(proc.rss_mib, 1), "summary_chars": len(summary)})
        print(f"  extractive, {megabytes:g} MB: {proc.wall_s:.1f} s, {proc.rss_mib:.0f} MiB", flush=True)
    return {"chars": len(text), "bytes": len(text.encode("utf-8")), "runs": runs,
            "wall_s": median(runs, "wall_s"), "rss_mib": median(runs, "rss_mib")}  # fmt: skip
