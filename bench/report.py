"""Summaries: per-variant medians, ratios, targets and the Markdown of ``results.md``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.common import BUDGET_S, Variant, fmt_num, median
from bench.corpus import render_corpus
from bench.executors import render_executors
from bench.extractive import EXTRACTIVE_TARGET_MIB, EXTRACTIVE_TARGET_S
from bench.formats import render_formats
from bench.llm import render_llm


def summarise_variants(variants: list[Variant], fixed: int) -> dict[str, Any]:
    base = next((v for v in variants if v.key == "tutorial" and v.samples), None)
    base_whole = median(base.samples, "wall_s") if base else None
    base_work = median(base.samples, "work_s") if base else None
    table: dict[str, Any] = {}
    for v in variants:
        row: dict[str, Any] = {"label": v.label, "error": v.error, "runs": v.samples}
        if v.samples:
            whole, work = median(v.samples, "wall_s"), median(v.samples, "work_s")
            outputs = v.samples[0]["outputs"]
            steps = [s for sample in v.samples for s in sample.get("steps", [])]
            gen_tokens = v.samples[0]["outputs"] * fixed
            row.update(
                {
                    "whole_s": whole,
                    "work_s": work,
                    "load_s": median(v.samples, "load_s"),
                    "open_s": median(v.samples, "open_s"),
                    "rss_mib": median(v.samples, "rss_mib"),
                    "rss_mib_max": max(s["rss_mib"] for s in v.samples),
                    "outputs": outputs,
                    "whole_runs": len(v.samples),
                    "work_runs": sum(1 for sample in v.samples if "work_s" in sample),
                    "generated_tokens": gen_tokens,
                    "steps_per_output": sorted(set(steps)),
                    "steps_ok": bool(steps) and all(s == fixed for s in steps),
                    "outputs_per_s_whole": outputs / whole if whole else None,
                    "outputs_per_s_work": outputs / work if work else None,
                    "tokens_per_s_whole": gen_tokens / whole if whole else None,
                    "tokens_per_s_work": gen_tokens / work if work else None,
                    "speedup_whole": base_whole / whole if base_whole and whole else None,
                    "speedup_work": base_work / work if base_work and work else None,
                }
            )
        table[v.key] = row
    return table


@dataclass(frozen=True)
class Target:
    key: str
    text: str
    limit: float
    higher_is_better: bool
    unit: str
    primary: bool = True  # a project target; secondary rows are the in-process view of the same ratio


def ratio(table: dict[str, Any], a: str, b: str, key: str) -> float | None:
    """table[a][key] / table[b][key] (e.g. a slower variant's time over a faster one's: a speed-up of b)."""
    x, y = table.get(a, {}).get(key), table.get(b, {}).get(key)
    return x / y if x and y else None


def evaluate_targets(tr: dict[str, Any], su: dict[str, Any], cached: dict[str, Any], help_: dict[str, Any],
                     bench_s: float, ex: dict[str, Any] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    ex = ex or {}
    ex_text = f"extractive summary of a {ex.get('bytes', 0) / 1e6:.1f} MB article"
    measured: list[tuple[Target, float | None]] = [
        (Target("ct2_vs_tutorial", "translate: nl2en CTranslate2 int8 vs tutorial loop, whole process", 12, True, "×"),
         ratio(tr, "tutorial", "nl2en-ctranslate2", "whole_s")),
        (Target("ct2_vs_tutorial_inproc", "translate: same, in-process", 12, True, "×", False),
         ratio(tr, "tutorial", "nl2en-ctranslate2", "work_s")),
        (Target("ct2_vs_raw", "translate: nl2en CTranslate2 time / raw CTranslate2, whole process", 1.5, False, "×"),
         ratio(tr, "nl2en-ctranslate2", "ct2-raw", "whole_s")),
        (Target("ct2_vs_raw_inproc", "translate: same, in-process", 1.5, False, "×", False),
         ratio(tr, "nl2en-ctranslate2", "ct2-raw", "work_s")),
        (Target("tf_vs_tutorial", "translate: nl2en transformers vs tutorial loop, whole process", 3, True, "×"),
         ratio(tr, "tutorial", "nl2en-transformers", "whole_s")),
        (Target("tf_vs_tutorial_inproc", "translate: same, in-process", 3, True, "×", False),
         ratio(tr, "tutorial", "nl2en-transformers", "work_s")),
        (Target("ct2_rss", "translate: peak RSS of the nl2en CTranslate2 run", 400, False, "MiB"),
         tr.get("nl2en-ctranslate2", {}).get("rss_mib")),
        (Target("sum_ct2_vs_tf", "summarise: nl2en CTranslate2 vs nl2en transformers, whole process", 2, True, "×"),
         ratio(su, "nl2en-transformers", "nl2en-ctranslate2", "whole_s")),
        (Target("sum_ct2_vs_tf_inproc", "summarise: same, in-process", 2, True, "×", False),
         ratio(su, "nl2en-transformers", "nl2en-ctranslate2", "work_s")),
        (Target("cached", "fully cached rerun of the seed (`make translate` again), whole process", 1, False, "s"),
         cached.get("wall_s")),
        (Target("help", "`nl2en --help` start-up", 0.5, False, "s"), help_.get("wall_s")),
        (Target("bench_time", "this benchmark's own run time", BUDGET_S / 60, False, "min"), bench_s / 60),
        (Target("extractive_time", f"{ex_text}, whole process", EXTRACTIVE_TARGET_S, False, "s"), ex.get("wall_s")),
        (Target("extractive_rss", f"{ex_text}, peak RSS", EXTRACTIVE_TARGET_MIB, False, "MiB"), ex.get("rss_mib")),
    ]  # fmt: skip
    out = []
    for target, value in measured:
        if value is None:
            verdict, note = "n/a", "not measured"
        else:
            ok = value >= target.limit if target.higher_is_better else value < target.limit
            verdict = "PASS" if ok else "MISS"
            if ok:
                note = ""
            elif target.higher_is_better:
                note = f"{1 - value / target.limit:.0%} short"
            else:
                note = f"{value / target.limit - 1:.0%} over"
        sign = "≥" if target.higher_is_better else "<"
        out.append({"key": target.key, "target": target.text, "limit": f"{sign} {fmt_num(target.limit)} {target.unit}",
                    "measured": None if value is None else round(value, 3), "unit": target.unit, "result": verdict,
                    "note": note, "primary": target.primary})  # fmt: skip
    return out


def markdown_table(table: dict[str, Any], unit: str, repeats: int) -> list[str]:
    lines = [
        f"| variant | whole process s | in-process s | {unit}/s (whole · in-proc) | tokens/s (whole · in-proc) "
        "| peak RSS MiB | × tutorial (whole · in-proc) | steps/output |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in table.values():
        if not row.get("whole_s"):
            lines.append(f"| {row['label']} | failed: {row.get('error')} |||||||")
            continue
        steps = ", ".join(str(s) for s in row["steps_per_output"]) + ("" if row["steps_ok"] else " ⚠")
        label = row["label"] + (" — ran once" if row["whole_runs"] == 1 and repeats > 1 else "")
        lines.append(
            f"| {label} | {fmt_num(row['whole_s'])} | {fmt_num(row['work_s'])} "
            f"| {fmt_num(row['outputs_per_s_whole'])} · {fmt_num(row['outputs_per_s_work'])} "
            f"| {fmt_num(row['tokens_per_s_whole'])} · {fmt_num(row['tokens_per_s_work'])} "
            f"| {fmt_num(row['rss_mib'])} | {fmt_num(row['speedup_whole'], '×')} · {fmt_num(row['speedup_work'], '×')} "
            f"| {steps} |"
        )
    return lines


def render_markdown(results: dict[str, Any]) -> str:
    s, m = results["settings"], results["machine"]
    lines = [
        f"Benchmark of {results['date']}: {m['cpu']}, {m['cpus']} CPUs, {m['mem_gib']} GiB; load average "
        f"{m['load_before'][0]} before, {m['load_after'][0]} after; torch {m['torch_threads']} threads, CTranslate2 "
        f"intra_threads=0 (default; {m['ct2_isa']}); median of {s['repeats']} run(s); beam {s['beams']}."
        + (" **Tiny models: a smoke test, not a benchmark.**" if s["tiny"] else ""),
        "",
    ]
    tr = results.get("translate")
    if tr:
        lines += [
            f"**Translation** of the seed: {tr['segments']} segments × {s['translate_tokens']} new tokens "
            f"({'tiny random Marian' if s['tiny'] else 'random opus-mt-nl-en architecture'}, "
            f"{tr['model']['parameters'] / 1e6:.1f}M parameters).",
            "",
            *markdown_table(tr["table"], "sentences", s["repeats"]),
            "",
        ]
    su = results.get("summarize")
    if su:
        bart = "tiny random BART" if s["tiny"] else "random distilbart-cnn-12-6 architecture"
        lines += [
            f"**Summarisation** of the seed's reference translation (the first {su['snippets_used']} of "
            f"{su['snippets_total']} `en` snippets: {su['input_tokens']} input tokens, one chunk) "
            f"× {s['summary_tokens']} new tokens ({bart}, {su['model']['parameters'] / 1e6:.1f}M parameters).",
            "",
            *markdown_table(su["table"], "summaries", s["repeats"]),
            "",
        ]
    if results.get("corpus"):
        lines += render_corpus(results["corpus"], s)
        lines += render_executors(results["corpus"])
    ex = results.get("extractive")
    if ex:
        lines += [
            f"**Extractive summary** (`nl2en summarize --summarizer extractive`, fresh cache) of a generated "
            f"{ex['bytes'] / 1e6:.1f} MB English article: {fmt_num(ex['wall_s'])} s whole process, "
            f"{fmt_num(ex['rss_mib'])} MiB peak RSS.",
            "",
        ]
    if results.get("formats"):
        lines += render_formats(results["formats"], s)
    if results.get("llm"):
        lines += render_llm(results["llm"])
    other = []
    if tr and tr["model"].get("convert_s"):
        other.append(f"Marian int8 conversion (once): {tr['model']['convert_s']:.1f} s")
    if su and su["model"].get("convert_s"):
        other.append(f"BART int8 conversion (once): {su['model']['convert_s']:.1f} s")
    for name, part in (("translate", tr), ("summarise", su)):
        row = (part or {}).get("table", {}).get("nl2en-ctranslate2", {})
        if row.get("open_s") is not None:
            other.append(f"nl2en {name}, model lookup + fingerprint before loading: {row['open_s']:.2f} s")
    if results.get("cached"):
        other.append(f"cached rerun of the seed: {fmt_num(results['cached']['wall_s'])} s")
    if results.get("help"):
        other.append(f"`nl2en --help`: {fmt_num(results['help']['wall_s'])} s")
    other.append(f"benchmark run time: {results['bench_s'] / 60:.1f} min")
    lines += ["; ".join(other) + ".", "", "| target | limit | measured | result |", "|---|---:|---:|---|"]
    for t in results["targets"]:
        measured = "—" if t["measured"] is None else f"{fmt_num(t['measured'])} {t['unit']}"
        result = f"**{t['result']}**" if t["primary"] else t["result"]
        lines.append(f"| {t['target']} | {t['limit']} | {measured} | {result} {t['note']} |")
    return "\n".join(lines) + "\n"
