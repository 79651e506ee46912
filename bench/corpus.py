"""``--only corpus``: nl2en over a corpus of articles against one raw CTranslate2 call over the same sentences."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.common import BenchError, Variant, fmt_num, median
from bench.executors import ray_variants
from bench.harness import Bench
from bench.seed import SEED

CORPUS_RATIO_LIMIT = 1.05  # nl2en over the corpus files / raw CTranslate2 over the same sentences, whole process
CORPUS_RSS_MIB = 400


def drive_corpus_pipeline(spec: dict[str, Any]) -> dict[str, Any]:
    """nl2en's library over the corpus files (windows, no cache), with engine options the CLI does not offer."""
    t0 = time.perf_counter()
    from pipeline.engines.factory import EngineOptions
    from pipeline.runs.batch import translate_paths
    from pipeline.runs.sessions import open_translator

    options = EngineOptions(backend="ctranslate2", batch_tokens=spec["batch_tokens"])
    session = open_translator(spec["model"], use_cache=False, options=options)
    t1 = time.perf_counter()
    report = translate_paths([Path(p) for p in spec["files"]], session.translator, session.model,
                             out=Path(spec["out"]), run_name=session.run_name)  # fmt: skip
    t2 = time.perf_counter()
    if report.failed:
        raise RuntimeError(f"{len(report.failed)} documents failed: {report.failed[0][1]}")
    return {"work_s": t2 - t1, "open_s": t1 - t0, "outputs": report.hits + report.misses, "misses": report.misses}


def corpus_sources(files: Sequence[Path]) -> list[str]:
    """Every translatable segment of the corpus files, in order, duplicates kept: what the raw call translates."""
    from pipeline.text.reader import read_article
    from pipeline.text.segment import segment_document

    return [s.source for f in files for s in segment_document(read_article(f).text).translatable]


def corpus_variants(bench: Bench, model: Path, ct2: Path, files: list[Path], sources: list[str]) -> list[Variant]:
    """The corpus rows: nl2en's executors, then the raw call they are measured against (key ``ct2-raw``).

    Another executor (e.g. a Ray cluster) adds its row here: a ``Variant`` whose run returns at least
    ``wall_s`` and ``rss_mib`` of its whole process.
    """
    task = "corpus"

    def cli(out: Path, first: bool) -> dict[str, Any]:
        args = ["translate", *map(str, files), "--model", str(model), "--backend", "ctranslate2", "--no-cache"]
        proc = bench.cli([*args, "--out", str(out)], "nl2en-corpus")
        written = list(out.glob("*/*/manifest.json"))
        if len(written) != len(files):
            raise BenchError(f"nl2en wrote {len(written)} of {len(files)} documents")
        return {"wall_s": proc.wall_s, "rss_mib": proc.rss_mib, "outputs": len(sources)}

    def library(batch_tokens: int) -> Callable[[Path, bool], dict[str, Any]]:
        def run(out: Path, first: bool) -> dict[str, Any]:
            spec = {"model": str(model), "files": [str(f) for f in files], "out": str(out),
                    "batch_tokens": batch_tokens}  # fmt: skip
            proc, result = bench.driver("corpus-pipeline", spec)
            return {"wall_s": proc.wall_s, "rss_mib": proc.rss_mib, **result}

        return run

    raw_spec = {"model": str(model), "ct2": str(ct2), "sources": sources, "seed": str(SEED),
                "fixed": bench.args.corpus_tokens, "beams": bench.args.beams}  # fmt: skip
    variants = [Variant("nl2en-local", task, "`nl2en translate` over the files (local executor)", cli)]
    if bench.args.corpus_batch_tokens:
        label = f"nl2en library, CTranslate2 batches of {bench.args.corpus_batch_tokens} source tokens"
        variants.append(Variant("nl2en-local-tokens", task, label, library(bench.args.corpus_batch_tokens)))
    variants += ray_variants(bench, model, files, sources)
    variants.append(Variant("ct2-raw", task, "raw CTranslate2: one `translate_batch` call", bench.driver_variant(
        "translate-ct2-raw", raw_spec)))  # fmt: skip
    return variants


def bench_corpus(bench: Bench, corpus: Path) -> dict[str, Any]:
    """nl2en over a corpus of articles against one raw CTranslate2 call over the same sentences."""
    files = sorted(corpus.glob("*.txt"))
    if not files:
        raise BenchError(f"no *.txt articles in {corpus}")
    sources = corpus_sources(files)
    model = bench.model("marian", bench.args.corpus_tokens)
    ct2 = bench.converted(model)
    variants = corpus_variants(bench, model, ct2, files, sources)
    bench.run_variants("corpus", variants)
    raw = next((v for v in variants if v.key == "ct2-raw" and v.samples), None)
    raw_s = median(raw.samples, "wall_s") if raw else None
    table: dict[str, Any] = {}
    for v in variants:
        whole = median(v.samples, "wall_s") if v.samples else None
        table[v.key] = {
            "label": v.label, "error": v.error, "runs": v.samples, "whole_s": whole,
            "rss_mib": median(v.samples, "rss_mib") if v.samples else None,
            "sentences_per_s": len(sources) / whole if whole else None,
            "ratio": whole / raw_s if whole and raw_s else None,
        }  # fmt: skip
    return {"corpus": str(corpus), "documents": len(files), "sentences": len(sources),
            "distinct": len(set(sources)), "table": table, "model": bench.model_info(model, ct2)}  # fmt: skip


def render_corpus(corpus: dict[str, Any], settings: dict[str, Any]) -> list[str]:
    lines = [
        f"**Corpus**: {corpus['documents']} articles of `{Path(corpus['corpus']).name}`, {corpus['sentences']} "
        f"segments ({corpus['distinct']} distinct) × {settings['corpus_tokens']} new tokens, beam {settings['beams']}, "
        f"CTranslate2 int8; whole process, no cache. Targets: ≤ {CORPUS_RATIO_LIMIT} × raw, "
        f"peak RSS ≤ {CORPUS_RSS_MIB} MiB.",
        "",
        "| variant | seconds | sentences/s | peak RSS MiB | × raw | time target | memory target |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for key, row in corpus["table"].items():
        if key.startswith("nl2en-ray-"):
            continue  # in the executors table: without Ray's start-up, against the local executor
        if not row["whole_s"]:
            lines.append(f"| {row['label']} | failed: {row['error']} ||||||")
            continue
        is_raw = key == "ct2-raw"
        time_ok = "—" if is_raw or row["ratio"] is None else "PASS" if row["ratio"] <= CORPUS_RATIO_LIMIT else "FAIL"
        rss_ok = "—" if is_raw else "PASS" if row["rss_mib"] <= CORPUS_RSS_MIB else "FAIL"
        lines.append(
            f"| {row['label']} | {fmt_num(row['whole_s'])} | {fmt_num(row['sentences_per_s'])} "
            f"| {fmt_num(row['rss_mib'])} | {fmt_num(row['ratio'], '×')} | {time_ok} | {rss_ok} |"
        )
    return [*lines, ""]
