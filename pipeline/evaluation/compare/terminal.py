"""The comparison as rich tables in the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pipeline.evaluation.compare.model import BEST_MARK, Comparison
from pipeline.evaluation.compare.tables import Cell, diff_words, runs_table, scores_table, significance_note

if TYPE_CHECKING:  # pragma: no cover - typing only
    from rich.console import Console


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
