"""``nl2en score``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipeline.cli.common import console, handled, report
from pipeline.errors import Nl2enError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from rich.console import Console


KEY_COLUMNS = ("run", "BLEU", "chrF", "TER", "R-L", "facts tr %")


def score_values(result: dict[str, Any]) -> dict[str, Any]:
    """One scored run's values under ``compare``'s column keys, so both commands show them alike."""
    translation, summary = result["translation"], result["summary"] or {}
    return {
        "bleu": translation["bleu"],
        "chrf": translation["chrf"],
        "ter": translation["ter"],
        **{key: summary.get(key) for key in ("rouge1", "rouge2", "rougeL", "entity_precision", "number_precision")},
        "facts_summary": summary.get("key_fact_recall"),
        "facts_translation": translation["key_fact_recall"],
        "untranslated": result["untranslated"]["count"],
    }


def print_scores(results: list[dict[str, Any]], out: Console, wide: bool = False) -> None:
    """One table per document, fitted to the console (key columns, or a block per run, when narrow)."""
    from pipeline.evaluation.compare.model import QUALITY_COLUMNS
    from pipeline.evaluation.compare.tables import Cell
    from pipeline.evaluation.compare.terminal import fit_table

    header = ["run", "snippets", *(column.short for column in QUALITY_COLUMNS)]
    documents: dict[str, list[list[Cell]]] = {}
    for result in results:
        values = score_values(result)
        cells = [Cell(result["run"]["name"]), Cell(str(result["translation"]["snippet_count"]), numeric=True)]
        cells += [Cell(column.format(values[column.key]), numeric=True) for column in QUALITY_COLUMNS]
        documents.setdefault(result["run"]["doc"], []).append(cells)
    for doc, rows in documents.items():
        for part in fit_table(out, f"{doc}: scores", header, rows, key=KEY_COLUMNS, wide=wide):
            out.print(part)
    signatures: dict[str, str] = {}
    for result in results:
        signatures.update(result["signature"])
    for name, signature in signatures.items():
        out.print(f"{name}: {signature}", style="dim")


def score(
    path: Annotated[Path, typer.Argument(help="A run directory, or any directory above run directories.")],
    refs: Annotated[
        Path | None, typer.Option("--refs", help="References (default: the input's .txt → .refs.toml).")
    ] = None,
    wide: Annotated[bool, typer.Option("--wide", help="Every column (a block per run where they do not fit).")] = False,
) -> None:
    """Score runs against reference translations and summaries; writes scores.json in each run directory.

    Example: nl2en score outputs/  (or: nl2en score outputs/doc/run --refs seeds/doc.refs.toml)
    """
    from pipeline.errors import ReferencesNotFoundError
    from pipeline.evaluation.references import load_references
    from pipeline.evaluation.score import check_refs_fit, find_run_dirs, score_run

    with handled():
        runs = find_run_dirs(path)
        references = load_references(refs) if refs is not None else None
        if references is not None:
            check_refs_fit(runs)
    results, failed, skipped = [], 0, []
    for run_dir in runs:
        try:
            results.append(score_run(run_dir, references))
        except ReferencesNotFoundError as exc:
            if len(runs) == 1:
                report(exc, str(run_dir))
                failed += 1
            else:  # a tree may hold articles nobody wrote references for
                skipped.append(f"{run_dir}: {exc}")
        except Nl2enError as exc:
            report(exc, str(run_dir))
            failed += 1
    for line in skipped:
        typer.echo(f"note: skipped {line}", err=True)
    if results:
        print_scores(results, console(), wide=wide)
    elif not failed:
        with handled():
            raise ReferencesNotFoundError(f"{path}: none of the {len(runs)} runs has a references file")
    typer.echo(f"{len(results)} scored, {len(skipped)} without references, {failed} failed", err=True)
    if failed:
        raise typer.Exit(1)
