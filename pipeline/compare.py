"""Comparing runs of the same document: a score table, significance, sentences side by side.

Runs are the run directories under one document folder (``outputs/<doc>/<run>/``). Each is
scored (``scores.json``, recomputed when stale), the first run (oldest, or ``--baseline``) is
the baseline, and sacrebleu's paired bootstrap resampling says whether each other run's
BLEU and chrF differ from the baseline's by more than chance. Renderers: a rich table, Markdown,
JSON and one self-contained HTML file with an inline SVG chart.
"""

from __future__ import annotations

import difflib
import html
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import Nl2enError
from pipeline.references import ReferencesNotFoundError
from pipeline.score import (
    find_run_dirs,
    load_scores,
    read_manifest,
    read_records,
    read_text,
    score_run,
    summary_path,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from rich.console import Console

HTML_FILE = "compare.html"
DEFAULT_RESAMPLES = 1000
SIGNIFICANCE_LEVEL = 0.05
BEST_MARK = "★"
DECODING_KEYS = {
    "num_beams": "beams",
    "max_new_tokens": "max_new_tokens",
    "min_length": "min_length",
    "max_length": "max_length",
    "length_penalty": "length_penalty",
    "no_repeat_ngram_size": "no_repeat_ngram",
    "repetition_penalty": "repetition_penalty",
    "do_sample": "sample",
    "sentences": "sentences",
    "ratio": "ratio",
}
PALETTE = ("#3b6ea8", "#e0823a", "#4f9d69", "#b5485d", "#7a5ea8", "#8c7a3e", "#3a9aa8", "#6b6b6b")


class CompareError(Nl2enError):
    """Nothing to compare: no runs of the requested document."""

    code = "E520"


@dataclass(frozen=True)
class Column:
    """One score column: where it comes from, how it is shown and which way is better."""

    key: str
    label: str
    short: str  # for the terminal, where width is scarce
    better: str | None  # "high", "low" or None (not ranked)
    digits: int = 1
    percent: bool = False

    def format(self, value: float | None) -> str:
        if value is None:
            return "–"
        return f"{value * 100 if self.percent else value:.{self.digits}f}"


QUALITY_COLUMNS = (
    Column("bleu", "BLEU", "BLEU", "high"),
    Column("chrf", "chrF", "chrF", "high"),
    Column("ter", "TER", "TER", "low"),
    Column("rouge1", "ROUGE-1", "R-1", "high", percent=True),
    Column("rouge2", "ROUGE-2", "R-2", "high", percent=True),
    Column("rougeL", "ROUGE-L", "R-L", "high", percent=True),
    Column("facts_summary", "facts in summary %", "facts sum %", "high", 0, percent=True),
    Column("facts_translation", "facts in translation %", "facts tr %", "high", 0, percent=True),
    Column("untranslated", "untranslated words", "untransl.", "low", 0),
)
SPEED_COLUMNS = (
    Column("translate_s", "translate s", "transl. s", "low", 2),
    Column("summarize_s", "summarise s", "summ. s", "low", 2),
    Column("tokens_per_s", "tokens/s", "tok/s", "high", 0),
)
COLUMNS = QUALITY_COLUMNS + SPEED_COLUMNS
CHART_COLUMNS = ("bleu", "chrf", "ter", "rouge1", "rouge2", "rougeL", "facts_summary", "facts_translation")


@dataclass
class RunView:
    """One run as compare sees it: its manifest, aligned records, summary and scores."""

    run_dir: Path
    manifest: dict[str, Any]
    records: list[dict[str, Any]]
    summary: str | None
    scores: dict[str, Any] | None
    note: str | None = None

    @property
    def name(self) -> str:
        return self.run_dir.name

    @property
    def created(self) -> str:
        return str(self.manifest.get("created") or "")


@dataclass
class Comparison:
    """Everything a renderer needs for one document."""

    doc: str
    doc_dir: Path
    runs: list[RunView]
    rows: list[dict[str, Any]]
    best: dict[str, list[str]]
    significance: dict[str, dict[str, Any]]
    sentences: list[dict[str, Any]]
    reference_summary: str | None
    signatures: dict[str, str] = field(default_factory=dict)
    resamples: int = DEFAULT_RESAMPLES

    @property
    def baseline(self) -> str:
        return self.runs[0].name


# --- collecting runs --------------------------------------------------------------------------


def load_run(run_dir: Path) -> RunView:
    """Read a run and its scores; a run without a refs file is shown without scores."""
    manifest = read_manifest(run_dir)
    summary_file = summary_path(run_dir, manifest)
    scores, note = load_scores(run_dir), None
    if scores is None:
        try:
            scores = score_run(run_dir)
        except ReferencesNotFoundError as exc:
            note = f"not scored: {exc}"
    return RunView(
        run_dir=run_dir,
        manifest=manifest,
        records=read_records(run_dir),
        summary=read_text(summary_file).strip() if summary_file else None,
        scores=scores,
        note=note,
    )


def collect_runs(root: Path, doc: str | None = None, baseline: str | None = None) -> dict[Path, list[RunView]]:
    """Runs under ``root`` grouped by document folder, baseline first, the rest oldest first."""
    groups: dict[Path, list[Path]] = {}
    for run_dir in find_run_dirs(root):
        groups.setdefault(run_dir.parent, []).append(run_dir)
    if doc is not None:
        known = sorted({d.name for d in groups})
        groups = {d: runs for d, runs in groups.items() if d.name == doc}
        if not groups:
            raise CompareError(f"{root}: no runs of document {doc!r}", hint=f"documents: {', '.join(known)}")
    result: dict[Path, list[RunView]] = {}
    for doc_dir, run_dirs in sorted(groups.items()):
        views = sorted((load_run(r) for r in run_dirs), key=lambda v: (v.created, v.name))
        if baseline is not None:
            chosen = [v for v in views if v.name == baseline]
            if not chosen:
                raise CompareError(
                    f"{doc_dir}: no run named {baseline!r}", hint=f"runs: {', '.join(v.name for v in views)}"
                )
            views = chosen + [v for v in views if v.name != baseline]
        result[doc_dir] = views
    return result


# --- rows, best values, significance ----------------------------------------------------------


def decoding_summary(manifest: dict[str, Any]) -> str:
    """The decoding settings a reader cares about, e.g. ``beams=1 max_new_tokens=8``."""

    def pick(section: dict[str, Any] | None) -> str:
        settings = (section or {}).get("decoding") or {}
        return " ".join(f"{short}={settings[key]}" for key, short in DECODING_KEYS.items() if key in settings)

    translator = pick(manifest.get("translator"))
    summarizer = pick(manifest.get("summarizer"))
    return f"{translator}; summary: {summarizer}" if summarizer else translator


def engine_label(section: dict[str, Any]) -> str:
    """``transformers``, or ``ctranslate2/int8`` where the manifest names a compute type."""
    engine = section.get("engine") or {}
    compute_type = engine.get("compute_type")
    backend = str(engine.get("backend") or section.get("backend"))
    return f"{backend}/{compute_type}" if compute_type else backend


def run_row(view: RunView) -> dict[str, Any]:
    """The table row of one run: who made it, how, and its scores and speed."""
    manifest, scores = view.manifest, view.scores or {}
    translator = manifest.get("translator") or {}
    summarizer = manifest.get("summarizer") or {}
    translation = scores.get("translation") or {}
    summary = scores.get("summary") or {}
    timings = manifest.get("timings") or {}
    cache = manifest.get("cache") or {}
    tokens = (manifest.get("segments") or {}).get("target_tokens")
    translate_s = timings.get("translate_s")
    backends = [engine_label(section) for section in (translator, summarizer) if section.get("backend")]
    untranslated = scores.get("untranslated") or {}
    return {
        "run": view.name,
        "dir": str(view.run_dir),
        "translator": translator.get("hub_id") or translator.get("model"),
        "summarizer": summarizer.get("hub_id") or summarizer.get("model"),
        "backend": "+".join(dict.fromkeys(backends)),
        "decoding": decoding_summary(manifest),
        "bleu": translation.get("bleu"),
        "chrf": translation.get("chrf"),
        "ter": translation.get("ter"),
        "rouge1": summary.get("rouge1"),
        "rouge2": summary.get("rouge2"),
        "rougeL": summary.get("rougeL"),
        "facts_summary": summary.get("key_fact_recall"),
        "facts_translation": translation.get("key_fact_recall"),
        "untranslated": untranslated.get("count") if view.scores else None,
        "translate_s": translate_s,
        "summarize_s": timings.get("summarize_s"),
        # a fully cached run generated nothing: its "speed" would be the cache's, not the model's
        "tokens_per_s": tokens / translate_s if tokens and translate_s and cache.get("misses") != 0 else None,
        "cache_hits": cache.get("hits"),
        "cache_lookups": (cache.get("hits") or 0) + (cache.get("misses") or 0),
        "note": view.note,
    }


def best_values(rows: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """For each ranked column, the runs holding the best value as shown (ties all marked, all-equal none)."""
    best: dict[str, list[str]] = {}
    for column in COLUMNS:
        shown = {r["run"]: column.format(r[column.key]) for r in rows if r[column.key] is not None}
        if column.better is None or len(shown) < 2:
            continue
        numeric = {run: float(text) for run, text in shown.items()}
        if len(set(numeric.values())) == 1:
            continue  # all equal: nothing stands out
        target = max(numeric.values()) if column.better == "high" else min(numeric.values())
        best[column.key] = [run for run, value in numeric.items() if value == target]
    return best


def snippet_pairs(view: RunView) -> tuple[list[str], list[str]]:
    """A scored run's (hypotheses, references) over its reference snippets, in order."""
    snippets = ((view.scores or {}).get("translation") or {}).get("snippets") or []
    return [s["hypothesis"] for s in snippets], [s["reference"] for s in snippets]


def paired_bootstrap(views: Sequence[RunView], resamples: int = DEFAULT_RESAMPLES) -> tuple[dict[str, Any], str]:
    """sacrebleu's paired bootstrap resampling of BLEU and chrF, each run against the first.

    Only runs scored on the same reference snippets as the baseline take part. Returns, per
    run, ``{"bleu": {"score", "p_value", "mean", "ci", "significant"}, "chrf": {...}}`` (the
    baseline has no p-value), and the test's signature. ``significant`` needs p < 0.05 *and* a
    real difference: sacrebleu counts only resampled differences strictly above the observed one,
    so two runs with equal scores get p = 1/(n+1), which must not read as a difference.
    """
    _, references = snippet_pairs(views[0])
    systems: list[tuple[str, Sequence[str]]] = []
    for view in views:
        hypotheses, theirs = snippet_pairs(view)
        if references and theirs == references:
            systems.append((view.name, hypotheses))
    if len(systems) < 2:
        return {}, ""
    from sacrebleu.metrics import BLEU, CHRF
    from sacrebleu.significance import PairedTest, Result

    test = PairedTest(
        systems, {"BLEU": BLEU(), "chrF": CHRF()}, references=[references], test_type="bs", n_samples=resamples
    )
    signatures, table = test()
    metric_names = [name for name in table if name != "System"]  # "BLEU", "chrF2": in the order given
    results: dict[str, Any] = {}
    for position, (system, _) in enumerate(systems):
        entry = {}
        for key, name in zip(("bleu", "chrf"), metric_names, strict=True):
            outcome, base = table[name][position], table[name][0]
            assert isinstance(outcome, Result) and isinstance(base, Result)
            p_value = None if outcome.p_value is None else float(outcome.p_value)
            entry[key] = {
                "score": float(outcome.score),
                "p_value": p_value,
                "mean": None if outcome.mean is None else float(outcome.mean),
                "ci": None if outcome.ci is None else float(outcome.ci),
                "significant": p_value is not None and p_value < SIGNIFICANCE_LEVEL and outcome.score != base.score,
            }
        results[system] = entry
    signature = " / ".join(f"{name}: {sig}" for name, sig in signatures.items())
    return results, signature


def sentence_rows(views: Sequence[RunView]) -> list[dict[str, Any]]:
    """The baseline's translated segments with every run's English for the same source span."""
    baseline = views[0]
    references: dict[int, str] = {}
    for snippet in ((baseline.scores or {}).get("translation") or {}).get("snippets") or []:
        if len(snippet["segments"]) == 1 and not snippet["partial"]:
            references[snippet["segments"][0]] = snippet["reference"]
    by_span = [{(r["start"], r["end"]): r for r in v.records} for v in views]
    rows = []
    for record in baseline.records:
        if not record.get("translated"):
            continue
        outputs = []
        for spans in by_span:
            match = spans.get((record["start"], record["end"]))
            outputs.append(match["target"] if match else None)
        rows.append(
            {
                "index": record["index"],
                "kind": record["kind"],
                "source": record["source"],
                "reference": references.get(record["index"]),
                "outputs": outputs,
                "differs": any(o != outputs[0] for o in outputs[1:]),
            }
        )
    return rows


def compare_document(doc_dir: Path, views: list[RunView], resamples: int = DEFAULT_RESAMPLES) -> Comparison:
    """Build the comparison of one document's runs (first run = baseline)."""
    rows = [run_row(v) for v in views]
    significance, test_signature = paired_bootstrap(views, resamples)
    for row in rows:
        tested = significance.get(row["run"], {})
        for metric in ("bleu", "chrf"):
            row[f"p_{metric}"] = (tested.get(metric) or {}).get("p_value")
            row[f"significant_{metric}"] = bool((tested.get(metric) or {}).get("significant"))
    signatures: dict[str, str] = {}
    for view in views:  # the same metrics for every run; a run with a summary adds ROUGE's
        signatures.update((view.scores or {}).get("signature") or {})
    if test_signature:
        signatures["paired_bootstrap"] = test_signature
    reference_summary = None
    for view in views:
        refs_path = ((view.scores or {}).get("inputs") or {}).get("refs")
        if refs_path and Path(refs_path).is_file():
            from pipeline.references import load_references

            summary = load_references(Path(refs_path)).summary
            reference_summary = summary.reference if summary else None
            break
    return Comparison(
        doc=doc_dir.name,
        doc_dir=doc_dir,
        runs=views,
        rows=rows,
        best=best_values(rows),
        significance=significance,
        sentences=sentence_rows(views),
        reference_summary=reference_summary,
        signatures=signatures,
        resamples=resamples,
    )


def compare_runs(
    root: Path, doc: str | None = None, baseline: str | None = None, resamples: int = DEFAULT_RESAMPLES
) -> list[Comparison]:
    """Compare the runs of every document under ``root`` (or only ``doc``)."""
    return [compare_document(d, views, resamples) for d, views in collect_runs(root, doc, baseline).items()]


# --- shared formatting ------------------------------------------------------------------------


def diff_words(base: str | None, other: str | None) -> list[tuple[str, bool]]:
    """``other``'s words, each marked True where it differs from ``base`` (insert or replace)."""
    if other is None:
        return []
    new = other.split()
    if base is None:
        return [(w, True) for w in new]
    matcher = difflib.SequenceMatcher(a=base.split(), b=new, autojunk=False)
    marked: list[tuple[str, bool]] = []
    for tag, _, _, j1, j2 in matcher.get_opcodes():
        marked.extend((w, tag != "equal") for w in new[j1:j2])
    return marked


def format_p(row: dict[str, Any], metric: str, baseline: str) -> str:
    """A p-value as shown: ``0.0010 *`` when the difference from the baseline is significant."""
    if row["run"] == baseline:
        return "baseline"
    p_value = row[f"p_{metric}"]
    if p_value is None:
        return "–"
    return f"{p_value:.4f}{' *' if row[f'significant_{metric}'] else ''}"


@dataclass(frozen=True)
class Cell:
    """One table cell as every renderer shows it."""

    text: str
    best: bool = False
    numeric: bool = False


def _cache(row: dict[str, Any]) -> str:
    return "–" if row["cache_hits"] is None else f"{row['cache_hits']}/{row['cache_lookups']}"


def _scored(comparison: Comparison, row: dict[str, Any], column: Column) -> Cell:
    return Cell(column.format(row[column.key]), row["run"] in comparison.best.get(column.key, []), True)


def runs_table(comparison: Comparison, short: bool = False) -> tuple[list[str], list[list[Cell]]]:
    """Who made each run and how fast: run, models, backend, decoding, times, tokens/s, cache hits."""
    header = ["run", "translator", "summariser", "backend", "decoding"]
    header += [c.short if short else c.label for c in SPEED_COLUMNS] + ["cache hits"]
    rows = []
    for row in comparison.rows:
        cells = [Cell(row["run"]), Cell(row["translator"] or "–"), Cell(row["summarizer"] or "–")]
        cells += [Cell(row["backend"] or "–"), Cell(row["decoding"] or "–")]
        cells += [_scored(comparison, row, c) for c in SPEED_COLUMNS] + [Cell(_cache(row), numeric=True)]
        rows.append(cells)
    return header, rows


def scores_table(comparison: Comparison, short: bool = False) -> tuple[list[str], list[list[Cell]]]:
    """The scores of each run, with the paired-bootstrap p-value beside BLEU and chrF."""
    header: list[str] = ["run"]
    for column in QUALITY_COLUMNS:
        header.append(column.short if short else column.label)
        if column.key in ("bleu", "chrf"):
            header.append(f"p {column.label}")
    rows = []
    for row in comparison.rows:
        cells = [Cell(row["run"])]
        for column in QUALITY_COLUMNS:
            cells.append(_scored(comparison, row, column))
            if column.key in ("bleu", "chrf"):
                cells.append(Cell(format_p(row, column.key, comparison.baseline), numeric=True))
        rows.append(cells)
    return header, rows


def significance_note(comparison: Comparison) -> str:
    return (
        f"p: paired bootstrap resampling against the baseline ({comparison.baseline}), "
        f"{comparison.resamples} resamples over the reference snippets; "
        f"* p < {SIGNIFICANCE_LEVEL} and the scores differ. {BEST_MARK} best value."
    )


# --- JSON -------------------------------------------------------------------------------------


def comparison_dict(comparison: Comparison) -> dict[str, Any]:
    return {
        "doc": comparison.doc,
        "dir": str(comparison.doc_dir),
        "baseline": comparison.baseline,
        "runs": comparison.rows,
        "best": comparison.best,
        "significance": comparison.significance,
        "resamples": comparison.resamples,
        "sentences": comparison.sentences,
        "summaries": {v.name: v.summary for v in comparison.runs},
        "reference_summary": comparison.reference_summary,
        "signature": comparison.signatures,
    }


def render_json(comparisons: Sequence[Comparison]) -> str:
    return json.dumps([comparison_dict(c) for c in comparisons], indent=2, ensure_ascii=False) + "\n"


# --- Markdown ---------------------------------------------------------------------------------


def _md(text: str | None) -> str:
    if text is None:
        return "–"
    return html.escape(text, quote=False).replace("|", "\\|").replace("*", "\\*").replace("\n", " ")


def _md_diff(base: str | None, other: str | None) -> str:
    if other is None:
        return "–"
    return " ".join(f"**{_md(w)}**" if changed else _md(w) for w, changed in diff_words(base, other))


def _md_table(header: list[str], rows: list[list[Cell]]) -> list[str]:
    numeric = [any(r[i].numeric for r in rows) for i in range(len(header))]
    lines = ["| " + " | ".join(_md(h) for h in header) + " |", "|" + "".join("---:|" if n else "---|" for n in numeric)]
    for cells in rows:
        shown = [f"**{_md(c.text)}** {BEST_MARK}" if c.best else _md(c.text) for c in cells]
        lines.append("| " + " | ".join(shown) + " |")
    return lines


def render_markdown(comparisons: Sequence[Comparison], sentences: bool = True) -> str:
    out: list[str] = []
    for comparison in comparisons:
        out.append(f"## {_md(comparison.doc)}\n")
        out.extend(_md_table(*scores_table(comparison)))
        out.append("")
        out.extend(_md_table(*runs_table(comparison)))
        out.append("")
        out.append(_md(significance_note(comparison)))
        notes = [f"- {_md(row['run'])}: {_md(row['note'])}" for row in comparison.rows if row["note"]]
        out.extend(["", *notes] if notes else [])
        if sentences:
            out.append("\n### Sentences (changes from the baseline in bold)\n")
            names = [v.name for v in comparison.runs]
            out.append("| # | source | reference | " + " | ".join(_md(n) for n in names) + " |")
            out.append("|---:|---|---|" + "---|" * len(names))
            for sentence in comparison.sentences:
                base = sentence["outputs"][0]
                runs = [_md(base)] + [_md_diff(base, o) for o in sentence["outputs"][1:]]
                fields = [str(sentence["index"]), _md(sentence["source"]), _md(sentence["reference"]), *runs]
                out.append("| " + " | ".join(fields) + " |")
            out.append("\n### Summaries\n")
            out.append(f"- **reference**: {_md(comparison.reference_summary)}")
            out.extend(f"- **{_md(v.name)}**: {_md(v.summary)}" for v in comparison.runs)
        out.append("\n### Signatures\n")
        out.extend(f"- {name}: `{sig}`" for name, sig in comparison.signatures.items())
        out.append("")
    return "\n".join(out)


# --- rich table -------------------------------------------------------------------------------


def print_tables(comparisons: Sequence[Comparison], console: Console, sentences: bool = True) -> None:
    from rich.table import Table
    from rich.text import Text

    def rich_table(title: str, header: list[str], rows: list[list[Cell]]) -> Table:
        table = Table(title=title, title_justify="left")
        for position, name in enumerate(header):
            numeric = any(r[position].numeric for r in rows)
            table.add_column(name, justify="right" if numeric else "left", overflow="fold", no_wrap=position == 0)
        for cells in rows:
            table.add_row(*(Text(f"{c.text}{BEST_MARK}", style="bold green") if c.best else c.text for c in cells))
        return table

    for comparison in comparisons:
        console.print(rich_table(f"{comparison.doc}: scores", *scores_table(comparison, short=True)))
        console.print(significance_note(comparison), style="dim")
        for row in comparison.rows:
            if row["note"]:
                console.print(f"{row['run']}: {row['note']}", style="yellow")
        console.print(rich_table(f"{comparison.doc}: runs", *runs_table(comparison, short=True)))
        if sentences:
            side = Table(title="sentences (changes from the baseline highlighted)", title_justify="left")
            side.add_column("#", justify="right")
            side.add_column("source", overflow="fold")
            for view in comparison.runs:
                side.add_column(view.name, overflow="fold")
            for sentence in comparison.sentences:
                base = sentence["outputs"][0]
                cells: list[str | Text] = [str(sentence["index"]), sentence["source"], base or "–"]
                for other in sentence["outputs"][1:]:
                    marked = Text()
                    for position, (word, changed) in enumerate(diff_words(base, other)):
                        marked.append(("" if position == 0 else " ") + word, style="bold yellow" if changed else "")
                    cells.append(marked if other is not None else "–")
                side.add_row(*cells)
            console.print(side)
            summaries = Table(title="summaries", title_justify="left", show_header=False)
            summaries.add_column("run", style="bold")
            summaries.add_column("summary", overflow="fold")
            summaries.add_row("reference", comparison.reference_summary or "–")
            for view in comparison.runs:
                summaries.add_row(view.name, view.summary or "– (no summary)")
            console.print(summaries)
        for name, signature in comparison.signatures.items():
            console.print(f"{name}: {signature}", style="dim")


# --- HTML -------------------------------------------------------------------------------------

_CSS = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d0d7de; --soft: #f6f8fa; --best: #1a7f37; --mark: #fff1a8; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       margin: 0 auto; padding: 24px 32px 48px; max-width: 1400px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
p.meta, p.note { color: var(--muted); margin: 6px 0; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--line); padding: 4px 7px; vertical-align: top; text-align: left; font-size: 13px; }
th { background: var(--soft); font-weight: 600; }
th.num, td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.best { color: var(--best); font-weight: 700; }
td.first { font-weight: 600; white-space: nowrap; }
table.runs td:nth-child(5) { font-size: 12px; color: var(--muted); max-width: 420px; }
table.sentences { width: 100%; }
table.sentences td, .summaries p { overflow-wrap: anywhere; }
table.sentences td.idx { color: var(--muted); text-align: right; width: 2.5em; }
table.sentences td.ref { color: var(--muted); font-style: italic; }
table.sentences tr.same td.out { color: var(--muted); }
mark { background: var(--mark); padding: 0 1px; border-radius: 2px; }
.chart { overflow-x: auto; }
.chart svg { display: block; max-width: 100%; height: auto; }
.summaries { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 12px;
             align-items: start; }
.summaries section { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.summaries section.reference { background: var(--soft); }
.summaries h3 { font-size: 14px; margin: 0 0 6px; }
.summaries p { margin: 0; }
ul.signatures { padding-left: 18px; color: var(--muted); }
code { font-size: 12px; word-break: break-all; }
"""


def _e(text: Any) -> str:
    return html.escape("–" if text is None else str(text))


def _html_diff(base: str | None, other: str | None) -> str:
    if other is None:
        return "–"
    return " ".join(f"<mark>{_e(w)}</mark>" if changed else _e(w) for w, changed in diff_words(base, other))


def _html_table(css_class: str, header: list[str], rows: list[list[Cell]]) -> str:
    numeric = [any(r[i].numeric for r in rows) for i in range(len(header))]
    head = "".join(
        f'<th class="num">{_e(h)}</th>' if n else f"<th>{_e(h)}</th>" for h, n in zip(header, numeric, strict=True)
    )
    body = []
    for cells in rows:
        shown = []
        for position, c in enumerate(cells):
            classes = " ".join(
                name for name, on in (("first", position == 0), ("num", c.numeric), ("best", c.best)) if on
            )
            text = f"{_e(c.text)} {BEST_MARK}" if c.best else _e(c.text)
            shown.append(f'<td class="{classes}">{text}</td>' if classes else f"<td>{text}</td>")
        body.append("<tr>" + "".join(shown) + "</tr>")
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>' + "".join(body) + "</tbody></table>"


def svg_chart(comparison: Comparison) -> str:
    """A grouped bar chart (one group per score, one bar per run) on a 0–100 scale, as inline SVG."""
    columns = [c for c in COLUMNS if c.key in CHART_COLUMNS and any(r[c.key] is not None for r in comparison.rows)]
    runs = comparison.rows
    bar, gap, pad_left, top, plot_h, legend_w = 30, 28, 44, 44, 220, 150
    group_w = max(1, len(runs)) * bar
    width = max(pad_left + len(columns) * (group_w + gap) + gap, pad_left + len(runs) * legend_w)
    height = top + plot_h + 48
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="scores per run" font-family="system-ui, sans-serif" font-size="11">'
    ]
    for position, row in enumerate(runs):  # legend
        x = pad_left + position * legend_w
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{PALETTE[position % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 17}" y="18">{_e(row["run"])}</text>')
    for tick in (0, 25, 50, 75, 100):
        y = top + plot_h - tick * plot_h / 100
        parts.append(f'<line x1="{pad_left}" x2="{width - gap / 2}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ea"/>')
        parts.append(f'<text x="{pad_left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#59636e">{tick}</text>')
    for group, column in enumerate(columns):
        x0 = pad_left + gap + group * (group_w + gap)
        for position, row in enumerate(runs):
            value = row[column.key]
            if value is None:
                continue
            shown = value * 100 if column.percent else value
            h = max(0.0, min(shown, 100.0)) * plot_h / 100
            x, y = x0 + position * bar, top + plot_h - h
            label = f"{row['run']} {column.label}: {column.format(value)}"
            parts.append(
                f'<rect x="{x}" y="{y:.1f}" width="{bar - 3}" height="{h:.1f}" '
                f'fill="{PALETTE[position % len(PALETTE)]}"><title>{_e(label)}</title></rect>'
            )
            parts.append(
                f'<text x="{x + (bar - 3) / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" font-size="9">'
                f"{_e(column.format(value))}</text>"
            )
        caption = column.short.replace(" %", "") + (" ↓" if column.better == "low" else "")
        parts.append(
            f'<text x="{x0 + group_w / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{_e(caption)}</text>'
        )
    parts.append(
        f'<text x="{pad_left}" y="{height - 8}" fill="#59636e">0–100 scale (ROUGE and fact recall in %); '
        "↓ lower is better</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)


def render_html(comparison: Comparison) -> str:
    """One self-contained page: inline CSS and SVG, no scripts, fonts or links to load."""
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>nl2en compare — {_e(comparison.doc)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_e(comparison.doc)}</h1>",
        f'<p class="meta">{len(comparison.runs)} runs, baseline <b>{_e(comparison.baseline)}</b>; '
        f"{len(comparison.sentences)} translated segments; generated {_e(time.strftime('%Y-%m-%d %H:%M'))}</p>",
        "<h2>Scores</h2>",
        _html_table("scores", *scores_table(comparison, short=False)),
        f'<p class="note">{_e(significance_note(comparison))}</p>',
    ]
    out.extend(f'<p class="note">{_e(row["run"])}: {_e(row["note"])}</p>' for row in comparison.rows if row["note"])
    out.append("<h2>Runs</h2>")
    out.append(_html_table("runs", *runs_table(comparison, short=False)))
    if any(row[c.key] is not None for row in comparison.rows for c in COLUMNS if c.key in CHART_COLUMNS):
        out.append(f'<h2>Chart</h2><div class="chart">{svg_chart(comparison)}</div>')
    else:
        out.append('<h2>Chart</h2><p class="note">No scores to chart: no run has references.</p>')
    out.append("<h2>Sentences</h2>")
    out.append(f'<p class="note">Words that differ from the baseline ({_e(comparison.baseline)}) are highlighted.</p>')
    out.append(
        '<table class="sentences"><thead><tr><th>#</th><th>source</th><th>reference</th>'
        + "".join(f"<th>{_e(v.name)}</th>" for v in comparison.runs)
        + "</tr></thead><tbody>"
    )
    for sentence in comparison.sentences:
        base = sentence["outputs"][0]
        outputs = [f'<td class="out">{_e(base)}</td>']
        outputs += [f'<td class="out">{_html_diff(base, o)}</td>' for o in sentence["outputs"][1:]]
        out.append(
            f'<tr class="{"differs" if sentence["differs"] else "same"}"><td class="idx">{sentence["index"]}</td>'
            f'<td>{_e(sentence["source"])}</td><td class="ref">{_e(sentence["reference"])}</td>'
            + "".join(outputs)
            + "</tr>"
        )
    out.append("</tbody></table>")
    out.append('<h2>Summaries</h2><div class="summaries">')
    out.append(f'<section class="reference"><h3>reference</h3><p>{_e(comparison.reference_summary)}</p></section>')
    for view in comparison.runs:
        out.append(f"<section><h3>{_e(view.name)}</h3><p>{_e(view.summary or '– (no summary)')}</p></section>")
    out.append("</div>")
    out.append('<h2>Signatures</h2><ul class="signatures">')
    out.extend(f"<li>{_e(name)}: <code>{_e(sig)}</code></li>" for name, sig in comparison.signatures.items())
    out.append("</ul></body></html>")
    return "\n".join(out) + "\n"


def write_html(comparison: Comparison) -> Path:
    """``<doc dir>/compare.html``, written atomically."""
    from pipeline.outputs import write_atomic

    path = comparison.doc_dir / HTML_FILE
    write_atomic(path, render_html(comparison))
    return path
