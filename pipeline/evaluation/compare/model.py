"""Comparing runs of the same document: a score table, significance, sentences side by side.

Runs are the run directories under one document folder (``outputs/<doc>/<run>/``), all of
one input: runs whose inputs differ are refused (:func:`pipeline.evaluation.score.check_same_input`).
Each is scored (``scores.json``, recomputed when stale), the first run (``--baseline``, else
the oldest: the earliest manifest ``created``, which a run keeps when it is published again,
then the run name) is the baseline, and sacrebleu's paired bootstrap resampling says whether
each other run's BLEU and chrF differ from the baseline's by more than chance. This module builds the
data (:class:`Comparison`); the renderers beside it show it as a rich table, Markdown, JSON
and one self-contained HTML file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import CompareError, ReferencesNotFoundError
from pipeline.evaluation.compare.families import run_family, run_prompt
from pipeline.evaluation.score import (
    check_same_input,
    find_run_dirs,
    load_scores,
    read_records,
    read_text,
    score_run,
    summary_path,
)
from pipeline.runs.manifest import RunManifest, StageSection, read_manifest

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
    Column("entity_precision", "summary entity precision %", "ent. P %", "high", 0, percent=True),
    Column("number_precision", "summary number precision %", "num. P %", "high", 0, percent=True),
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
    manifest: RunManifest
    records: list[dict[str, Any]]
    summary: str | None
    scores: dict[str, Any] | None
    note: str | None = None

    @property
    def name(self) -> str:
        return self.run_dir.name

    @property
    def created(self) -> str:
        """When the run was first published: kept when it is published again (``publish_directory``)."""
        return self.manifest.created


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
    """Runs under ``root`` grouped by document folder, baseline first, the rest oldest first.

    Oldest is the manifest's ``created``, the run's first publication: running the baseline again,
    even fully cached, leaves it the baseline. A folder whose runs have different inputs is refused
    before anything is scored.
    """
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
        check_same_input([(r, read_manifest(r)) for r in run_dirs], f"{doc_dir}: compare pairs runs of one input")
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


def decoding_summary(manifest: RunManifest) -> str:
    """The decoding settings a reader cares about, e.g. ``beams=1 max_new_tokens=8``."""

    def shown(value: Any) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        return f"{value:g}" if isinstance(value, float) else str(value)

    def pick(section: StageSection | None) -> str:
        settings = section.signature.decoding.settings if section else {}
        return " ".join(
            f"{short}={shown(settings[key])}"
            for key, short in DECODING_KEYS.items()
            if settings.get(key) is not None  # unset (the extractive summariser's other knob) is not a setting
        )

    translator = pick(manifest.translator)
    summarizer = pick(manifest.summarizer)
    parts = [translator] if translator else []
    parts += [f"summary: {summarizer}"] if summarizer else []
    return "; ".join(parts)


def run_row(view: RunView) -> dict[str, Any]:
    """The table row of one run: who made it (models, their family, an instruct model's prompt), how, and its
    scores and speed."""
    manifest, scores = view.manifest, view.scores or {}
    translation = scores.get("translation") or {}
    summary = scores.get("summary") or {}
    cache, segments = manifest.cache, manifest.segments
    hits, misses = (cache.hits, cache.misses) if cache else (None, None)
    # tokens generated by this run: cached segments cost no generation time, so they do not count
    tokens = segments.generated_tokens if segments else None
    if tokens is None and hits == 0 and segments:  # older manifests: all tokens were generated
        tokens = segments.target_tokens
    translate_s = manifest.timings.get("translate_s")
    backends = [stage.engine_label for stage in manifest.stages if stage.signature.engine.backend]
    untranslated = scores.get("untranslated") or {}
    return {
        "run": view.name,
        "dir": str(view.run_dir),
        "family": run_family(manifest),
        "prompt": run_prompt(manifest),
        "translator": manifest.translator.model if manifest.translator else None,
        "summarizer": manifest.summarizer.model if manifest.summarizer else None,
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
        "entity_precision": summary.get("entity_precision"),
        "number_precision": summary.get("number_precision"),
        "translate_s": translate_s,
        "summarize_s": manifest.timings.get("summarize_s"),
        # every lookup a hit: the time measures the cache, not the model, so it is never "best"
        "translate_cached": bool(hits) and not misses and manifest.translator is not None,
        "summarize_cached": summary_cached(manifest),
        "tokens_per_s": tokens / translate_s if tokens and translate_s else None,
        "cache_hits": hits,
        "cache_lookups": (hits or 0) + (misses or 0),
        "note": view.note,
        "quality": guard_summary(manifest),
    }


def summary_cached(manifest: RunManifest) -> bool:
    """Whether the run's summary came from the cache (its manifest section says so)."""
    return manifest.summarizer is not None and bool(manifest.summarizer.cached)


def guard_summary(manifest: RunManifest) -> dict[str, Any]:
    """A run's guard mode, glossary, threshold and counts (segments flagged, retried, fixed, extra decodes)."""
    signature = manifest.translator.signature if manifest.translator else None
    configured = signature.quality if signature else None
    glossary = signature.glossary if signature else None
    counts = manifest.quality
    return {
        "guards": configured.mode if configured else None,
        "glossary": f"{glossary.name} ({glossary.entries} terms, {glossary.digest})"
        if glossary and glossary.entries
        else None,
        "threshold": configured.threshold if configured else None,
        **{k: getattr(counts, k) if counts else None for k in ("flagged", "retried", "fixed", "extra_decodes")},
        "flags": dict(counts.flags) if counts else {},
        "consistency": dict(counts.glossary_consistency) if counts else {},
    }


def segment_quality(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the report shows of a segment beside its output: flags with evidence, terms, attempts, score."""
    if record is None:
        return None
    evidence = record.get("flag_evidence") or {}
    return {
        "score": record.get("score"),
        "flags": [{"name": name, "evidence": evidence.get(name, {})} for name in record.get("flags") or []],
        "terms": record.get("terms") or [],
        "attempts": record.get("attempts") or [],
    }


def best_values(rows: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """For each ranked column, the runs holding the best value as shown (ties all marked, all-equal none)."""
    best: dict[str, list[str]] = {}
    for column in COLUMNS:
        shown = {
            r["run"]: column.format(r.get(column.key))
            for r in rows
            if r.get(column.key) is not None and not is_cached(r, column.key)
        }
        if column.better is None or len(shown) < 2:
            continue
        numeric = {run: float(text) for run, text in shown.items()}
        if len(set(numeric.values())) == 1:
            continue  # all equal: nothing stands out
        target = max(numeric.values()) if column.better == "high" else min(numeric.values())
        best[column.key] = [run for run, value in numeric.items() if value == target]
    return best


CACHED_TIMINGS = {"translate_s": "translate_cached", "summarize_s": "summarize_cached"}


def is_cached(row: dict[str, Any], key: str) -> bool:
    """A timing measured on cache hits: shown, marked as such, never ranked."""
    flag = CACHED_TIMINGS.get(key)
    return bool(flag and row.get(flag))


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
    so two runs with equal scores get p = 1/(n+1), which must not read as a difference. A run whose
    hypotheses are the baseline's, word for word, is the same system: p = 1.0 and ``same`` set.
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
    for position, (system, outputs) in enumerate(systems):
        same = position > 0 and list(outputs) == list(systems[0][1])
        entry = {}
        for key, name in zip(("bleu", "chrf"), metric_names, strict=True):
            outcome, base = table[name][position], table[name][0]
            assert isinstance(outcome, Result) and isinstance(base, Result)
            p_value = None if outcome.p_value is None else float(outcome.p_value)
            if same:  # every resample differs by exactly 0: nothing to attribute to chance
                p_value = 1.0
            entry[key] = {
                "score": float(outcome.score),
                "p_value": p_value,
                "mean": None if outcome.mean is None else float(outcome.mean),
                "ci": None if outcome.ci is None else float(outcome.ci),
                "significant": p_value is not None and p_value < SIGNIFICANCE_LEVEL and outcome.score != base.score,
                "same": same,
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
        outputs, quality = [], []
        for spans in by_span:
            match = spans.get((record["start"], record["end"]))
            outputs.append(match["target"] if match else None)
            quality.append(segment_quality(match))
        rows.append(
            {
                "index": record["index"],
                "kind": record["kind"],
                "source": record["source"],
                "reference": references.get(record["index"]),
                "outputs": outputs,
                "quality": quality,
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
            row[f"same_{metric}"] = bool((tested.get(metric) or {}).get("same"))
    signatures: dict[str, str] = {}
    for view in views:  # the same metrics for every run; a run with a summary adds ROUGE's
        signatures.update((view.scores or {}).get("signature") or {})
    if test_signature:
        signatures["paired_bootstrap"] = test_signature
    reference_summary = None
    for view in views:
        refs_path = ((view.scores or {}).get("inputs") or {}).get("refs")
        if refs_path and Path(refs_path).is_file():
            from pipeline.evaluation.references import load_references

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
