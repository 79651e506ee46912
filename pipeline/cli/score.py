"""``nl2en score``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipeline.cli.common import console, handled, report
from pipeline.errors import Nl2enError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from rich.console import Console


def print_scores(results: list[dict[str, Any]], out: Console) -> None:
    from rich.table import Table

    def show(value: float | None, scale: float = 1.0, digits: int = 1) -> str:
        return "–" if value is None else f"{value * scale:.{digits}f}"

    table = Table(title="scores", title_justify="left")
    for name in ("document", "run", "snippets", "BLEU", "chrF", "TER", "ROUGE-1", "ROUGE-2", "ROUGE-L"):
        table.add_column(name, justify="left" if name in ("document", "run") else "right", no_wrap=name == "document")
    for name in ("facts in summary %", "facts in translation %", "untranslated words"):
        table.add_column(name, justify="right")
    for result in results:
        translation, summary = result["translation"], result["summary"] or {}
        table.add_row(
            result["run"]["doc"],
            result["run"]["name"],
            str(translation["snippet_count"]),
            show(translation["bleu"]),
            show(translation["chrf"]),
            show(translation["ter"]),
            *(show(summary.get(name), 100) for name in ("rouge1", "rouge2", "rougeL")),
            show(summary.get("key_fact_recall"), 100, 0),
            show(translation["key_fact_recall"], 100, 0),
            str(result["untranslated"]["count"]),
        )
    out.print(table)
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
        print_scores(results, console())
    elif not failed:
        with handled():
            raise ReferencesNotFoundError(f"{path}: none of the {len(runs)} runs has a references file")
    typer.echo(f"{len(results)} scored, {len(skipped)} without references, {failed} failed", err=True)
    if failed:
        raise typer.Exit(1)
