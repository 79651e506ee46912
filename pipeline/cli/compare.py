"""``nl2en compare``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import console, handled


class Format(StrEnum):
    table = "table"
    md = "md"
    html = "html"
    json = "json"


def compare(
    path: Annotated[Path, typer.Argument(help="Outputs directory, a document's directory or one run.")] = Path(
        "outputs"
    ),
    doc: Annotated[str | None, typer.Option("--doc", help="Only this document (its folder name).")] = None,
    output_format: Annotated[Format, typer.Option("--format", "-f", help="How to show the comparison.")] = Format.table,
    baseline: Annotated[str | None, typer.Option("--baseline", help="Run to test the others against.")] = None,
    resamples: Annotated[int, typer.Option("--resamples", min=10, help="Paired bootstrap resamples.")] = 1000,
    brief: Annotated[bool, typer.Option("--brief", help="Table/md: scores only, no sentences or summaries.")] = False,
    wide: Annotated[
        bool, typer.Option("--wide", help="Table: every column (a block per run where they do not fit).")
    ] = False,
) -> None:
    """Compare runs of the same document: scores, speed, significance, sentences side by side.

    Example: nl2en compare outputs --format html  (writes outputs/<doc>/compare.html)
    """
    from pipeline.evaluation.compare import compare_runs, print_tables, render_json, render_markdown, write_html

    with handled():
        comparisons = compare_runs(path, doc, baseline, resamples)
        if output_format is Format.html:
            for comparison in comparisons:
                typer.echo(str(write_html(comparison)))
        elif output_format is Format.json:
            typer.echo(render_json(comparisons), nl=False)
        elif output_format is Format.md:
            typer.echo(render_markdown(comparisons, sentences=not brief), nl=False)
        else:
            print_tables(comparisons, console(), sentences=not brief, wide=wide)
