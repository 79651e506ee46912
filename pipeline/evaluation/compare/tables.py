"""What every renderer shows the same way: table cells, word diffs, p-values, the significance note."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from pipeline.evaluation.compare.model import (
    BEST_MARK,
    QUALITY_COLUMNS,
    SIGNIFICANCE_LEVEL,
    SPEED_COLUMNS,
    Column,
    Comparison,
    is_cached,
)


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
    """A p-value as shown: ``0.0010 *`` when the difference from the baseline is significant, ``same`` when the
    run's output is the baseline's word for word (p = 1: there is no difference to test)."""
    if row["run"] == baseline:
        return "baseline"
    if row.get(f"same_{metric}"):
        return "same"
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


CACHED_NOTE = "(cached)"


def _scored(comparison: Comparison, row: dict[str, Any], column: Column) -> Cell:
    """A score or timing; a timing of cache hits says so (it measures the cache, and is never marked best)."""
    text = column.format(row[column.key])
    if is_cached(row, column.key):
        return Cell(f"{text} {CACHED_NOTE}", numeric=True)
    return Cell(text, row["run"] in comparison.best.get(column.key, []), True)


def run_label(row: dict[str, Any]) -> str:
    """A run's family and prompt on one line, for headers and legends (``LLM · translate/x@1a2b3c4d context=2``)."""
    return " · ".join(part for part in (row["family"], row["prompt"]) if part) or "–"


def runs_table(comparison: Comparison, short: bool = False) -> tuple[list[str], list[list[Cell]]]:
    """Who made each run and how fast: run, family, models, prompt, backend, decoding, times, tokens/s, cache hits."""
    header = ["run", "family", "translator", "summariser", "prompt", "backend", "decoding"]
    header += [c.short if short else c.label for c in SPEED_COLUMNS] + ["cache hits"]
    rows = []
    for row in comparison.rows:
        cells = [Cell(row["run"]), Cell(row["family"] or "–"), Cell(row["translator"] or "–")]
        cells += [Cell(row["summarizer"] or "–"), Cell(row["prompt"] or "–")]
        cells += [Cell(row["backend"] or "–"), Cell(row["decoding"] or "–")]
        cells += [_scored(comparison, row, c) for c in SPEED_COLUMNS] + [Cell(_cache(row), numeric=True)]
        rows.append(cells)
    return header, rows


def scores_table(comparison: Comparison, short: bool = False) -> tuple[list[str], list[list[Cell]]]:
    """The scores of each run and its model family, with the paired-bootstrap p-value beside BLEU and chrF."""
    header: list[str] = ["run", "family"]
    for column in QUALITY_COLUMNS:
        header.append(column.short if short else column.label)
        if column.key in ("bleu", "chrf"):
            header.append(f"p {column.label}")
    rows = []
    for row in comparison.rows:
        cells = [Cell(row["run"]), Cell(row["family"] or "–")]
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
