#!/usr/bin/env python
"""Speed benchmark for nl2en: the tutorial loop against transformers batched, the nl2en pipeline and raw CTranslate2.

Run it as ``.venv/bin/python bench/bench.py [--quick] [--out bench]`` (``make bench``); see ``bench/README.md``.

Random-weight models of the real architectures (opus-mt-nl-en, distilbart-cnn-12-6) are built once into
``bench/.models/``, with a generation config that forces a fixed number of new tokens, so every engine does
the same work. Each variant runs in its own process: wall time from start to exit and peak RSS (``wait4``)
are the whole-process figures; each process also times its own work after loading (the in-process figures).
For the two ``nl2en`` CLI variants the in-process figures come from a companion process that drives the same
pipeline API with the model loaded beforehand. Results go to ``<out>/results.json`` and ``<out>/results.md``.

The parent process imports neither torch nor transformers; all heavy work happens in child processes, which
re-run this file with ``--driver NAME`` (in-process work) or ``--build KIND`` (model building).

This file only parses the arguments and dispatches; the sections live in the ``bench`` package beside it
(``common``, ``harness``, ``translate``, ``summarize``, ``startup``, ``corpus``, ``extractive``, ``guards``,
``formats``, ``llm``, ``report``, ...), see ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# The repository root comes first on the path in every mode (parent, --driver and --build children): the bench
# package, pipeline and the test scaffolding (tests.models) import from it. This folder itself is taken off the
# path, so its modules (bench/corpus.py, bench/guards.py, ...) are only ever the bench package's, and never
# shadow a top-level module of the same name.
if Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.build import build_model
from bench.common import (
    CT2_BATCH_SIZE,
    HF_BATCH_SIZE,
    HF_MAX_BATCH_TOKENS,
    ROOT,
    BenchError,
    cpu_model,
    loadavg,
    mem_total_gib,
    thread_env,
    versions,
)
from bench.corpus import bench_corpus, drive_corpus_pipeline, realistic_default
from bench.extractive import bench_extractive
from bench.formats import bench_formats, drive_formats, formats_targets
from bench.guards import NTREX_FALSE_POSITIVE_RATE, bench_guards, drive_guards_memory, guard_targets
from bench.harness import Bench
from bench.inprocess import drive_ct2_info
from bench.llm import (
    bench_llm,
    build_llm,
    drive_llm_convert,
    drive_llm_engine,
    drive_llm_static,
    drive_llm_translate,
    llm_targets,
)
from bench.report import evaluate_targets, render_markdown
from bench.seed import SEED
from bench.startup import bench_startup
from bench.summarize import bench_summarize, drive_summarize_ct2_raw, drive_summarize_pipeline, drive_summarize_tutorial
from bench.translate import (
    bench_translate,
    drive_translate_batched,
    drive_translate_ct2_raw,
    drive_translate_pipeline,
    drive_translate_tutorial,
)

# What a child process started with ``--driver NAME`` runs; its result goes back as JSON (``--result``).
DRIVERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "corpus-pipeline": drive_corpus_pipeline,
    "guards-memory": drive_guards_memory,
    "translate-tutorial": drive_translate_tutorial,
    "translate-batched": drive_translate_batched,
    "translate-pipeline": drive_translate_pipeline,
    "translate-ct2-raw": drive_translate_ct2_raw,
    "summarize-tutorial": drive_summarize_tutorial,
    "summarize-pipeline": drive_summarize_pipeline,
    "summarize-ct2-raw": drive_summarize_ct2_raw,
    "ct2-info": drive_ct2_info,
    "formats-page": drive_formats,
    "llm-convert": drive_llm_convert,
    "llm-engine": drive_llm_engine,
    "llm-translate": drive_llm_translate,
    "llm-static": drive_llm_static,
}


# ---------------------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/bench.py",
        description="nl2en speed benchmark: tutorial loop vs transformers batched vs nl2en vs raw CTranslate2.",
    )
    parser.add_argument("--quick", action="store_true", help="one run per variant instead of three")
    parser.add_argument("--repeats", type=int, default=None, help="runs per variant (median reported; default 3)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench", help="where results.json and results.md go")
    parser.add_argument("--models", type=Path, default=ROOT / "bench" / ".models", help="cache of built models")
    parser.add_argument("--translate-tokens", type=int, default=32, help="fixed new tokens per translated segment")
    parser.add_argument("--summary-tokens", type=int, default=64, help="fixed new tokens of the summary")
    parser.add_argument("--beams", type=int, default=4, help="beam size of both models")
    parser.add_argument(
        "--only",
        default="translate,summarize,startup,extractive,corpus,guards,formats",
        help="comma list of: translate, summarize, startup, extractive, corpus, guards, formats, llm "
        "(llm is not in the default: see bench/README.md)",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=ROOT.parent / "shared" / "corpora" / "nl-news-ud-dev",
        help="folder of Dutch articles (*.txt) for the corpus section (and Dutch text for the formats section)",
    )
    parser.add_argument("--corpus-tokens", type=int, default=24, help="fixed new tokens per segment, corpus section")
    parser.add_argument(
        "--corpus-batch-tokens", type=int, default=512,
        help="also run nl2en with CTranslate2 batches of this many source tokens (0: leave the row out)",
    )  # fmt: skip
    parser.add_argument("--no-ray", action="store_true", help="leave the Ray executor rows out of the corpus section")
    parser.add_argument(
        "--flag-rate", type=float, default=NTREX_FALSE_POSITIVE_RATE,
        help="share of segments a real model's output gets flagged, for the corpus section's estimate of the default",
    )  # fmt: skip
    parser.add_argument("--llm-tokens", type=int, default=16, help="fixed new tokens per prompt, llm section")
    parser.add_argument("--extractive-mb", type=float, default=5.0, help="size of the extractive summariser's article")
    parser.add_argument(
        "--slow-s", type=float, default=30, help="a variant whose first run takes longer than this runs only once"
    )
    parser.add_argument("--tiny", action="store_true", help="tiny models: a quick smoke test, timings meaningless")
    # Internal: child processes.
    parser.add_argument("--driver", choices=sorted(DRIVERS), help=argparse.SUPPRESS)
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--build", choices=("marian", "bart", "eurollm"), help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--dest", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fixed", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def benchmark(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    args.out.mkdir(parents=True, exist_ok=True)
    machine: dict[str, Any] = {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "mem_gib": mem_total_gib(),
        "platform": platform.platform(),
        "load_before": loadavg(),
        "thread_env": thread_env(),
        "versions": versions(),
        "torch_threads": "?",
        "ct2_isa": "?",
    }
    if machine["load_before"][0] > 0.75 * (machine["cpus_usable"] or 1):
        print(f"note: load average {machine['load_before']} on {machine['cpus_usable']} CPUs: timings will be noisy")
    with tempfile.TemporaryDirectory(prefix="nl2en-bench-") as tmp_name:
        bench = Bench(args, Path(tmp_name))
        print(f"nl2en benchmark: {bench.repeats} run(s) per variant, beam {args.beams}; {machine['cpu']}, "
              f"{machine['cpus_usable']} CPUs, load {machine['load_before']}", flush=True)  # fmt: skip
        results: dict[str, Any] = {
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "settings": {
                "repeats": bench.repeats,
                "beams": args.beams,
                "translate_tokens": args.translate_tokens,
                "summary_tokens": args.summary_tokens,
                "tiny": args.tiny,
                "seed": str(SEED.relative_to(ROOT)),
                "hf_batch_size": HF_BATCH_SIZE,
                "hf_max_batch_tokens": HF_MAX_BATCH_TOKENS,
                "ct2_batch_size": CT2_BATCH_SIZE,
                "ct2_compute_type": "int8",
                "ct2_intra_threads": 0,
                "corpus_tokens": args.corpus_tokens,
                "corpus_batch_tokens": args.corpus_batch_tokens,
                "llm_tokens": args.llm_tokens,
            },
            "machine": machine,
        }
        tr_table: dict[str, Any] = {}
        su_table: dict[str, Any] = {}
        if "translate" in only:
            print("translation:", flush=True)
            results["translate"] = bench_translate(bench, machine)
            tr_table = results["translate"]["table"]
        if "summarize" in only:
            print("summarisation:", flush=True)
            results["summarize"] = bench_summarize(bench)
            su_table = results["summarize"]["table"]
        cached: dict[str, Any] = {}
        help_: dict[str, Any] = {}
        if "startup" in only:
            print("start-up and cache:", flush=True)
            cached, help_ = bench_startup(bench)
            results["cached"], results["help"] = cached, help_
        if "corpus" in only:
            print("corpus:", flush=True)
            results["corpus"] = bench_corpus(bench, args.corpus)
        if "extractive" in only:
            print("extractive summariser, long article:", flush=True)
            results["extractive"] = bench_extractive(bench, args.extractive_mb)
        if "guards" in only:
            print("guards (scripted engine passing every guard) vs translating:", flush=True)
            results["guards"] = bench_guards(bench)
        if "formats" in only:
            print("web page (--html page) vs its text view:", flush=True)
            results["formats"] = bench_formats(bench, args.corpus)
        if "llm" in only:
            print("instruct LLM (EuroLLM-1.7B architecture), CTranslate2 int8 vs transformers float32:", flush=True)
            results["llm"] = bench_llm(bench)
    corpus, guards = results.get("corpus"), results.get("guards")
    if corpus and guards:  # the ladder's depth without a budget, as a flagged segment climbs at a realistic rate
        raw = corpus["table"].get("ct2-raw", {}).get("whole_s")
        depth = guards["ladder_unlimited"]["extra_decodes_per_flagged"]
        rate = args.flag_rate
        corpus["realistic_default"] = realistic_default(corpus["table"], corpus["sentences"], rate, depth, raw)
    machine["load_after"] = loadavg()
    results["bench_s"] = time.perf_counter() - started
    results["targets"] = evaluate_targets(tr_table, su_table, cached, help_, results["bench_s"],
                                          results.get("extractive"))  # fmt: skip
    results["targets"] += guard_targets(results.get("guards"))
    results["targets"] += formats_targets(results.get("formats"))
    results["targets"] += llm_targets(results.get("llm"))
    markdown = render_markdown(results)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    (args.out / "results.md").write_text(markdown, encoding="utf-8")
    print()
    print(markdown)
    print(f"wrote {args.out / 'results.json'} and {args.out / 'results.md'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.driver:
        spec = json.loads(args.spec.read_text(encoding="utf-8"))
        args.result.write_text(json.dumps(DRIVERS[args.driver](spec)), encoding="utf-8")
        return 0
    if args.build == "eurollm":
        build_llm(args.dest, args.scale)
        return 0
    if args.build:
        build_model(args.build, args.dest, args.fixed, args.beams, args.tiny)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up children and the temporary directory
    try:
        return benchmark(args)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
