"""The comparison as rich tables in the terminal, readable at any width.

A table squeezed into a narrow terminal wraps its headers one character per line and cuts its
values to ``…``. So a table is shown only at its natural width: whole when it fits; else its key
columns, when those fit (``--wide`` asks for every column, and a note names those left out);
else one block per run, every value labelled and nothing cut. Sentences are a side-by-side table
only when every output gets ``SENTENCE_COLUMN`` characters, else one paragraph per output; the
summaries are always paragraphs. :func:`fit_table` is shared with ``nl2en score``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from pipeline.evaluation.compare.model import BEST_MARK, Comparison
from pipeline.evaluation.compare.tables import Cell, diff_words, runs_table, scores_table, significance_note

if TYPE_CHECKING:  # pragma: no cover - typing only
    from rich.console import Console, RenderableType
    from rich.table import Table
    from rich.text import Text

SENTENCE_COLUMN = 28  # characters each text column of the side-by-side sentences needs to read well
KEY_SCORES = ("run", "family", "BLEU", "p BLEU", "chrF", "p chrF", "TER", "R-L")
KEY_RUNS = ("run", "family", "translator", "summariser", "prompt", "transl. s", "cache hits")
EMPTY = "–"


def _cell(cell: Cell) -> str | Text:
    from rich.text import Text

    return Text(f"{cell.text}{BEST_MARK}", style="bold green") if cell.best else cell.text


def _table(title: str, header: list[str], rows: list[list[Cell]], columns: Sequence[int]) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for position in columns:
        numeric = any(r[position].numeric for r in rows)
        table.add_column(header[position], justify="right" if numeric else "left", no_wrap=True)
    for cells in rows:
        table.add_row(*(_cell(cells[position]) for position in columns))
    return table


def natural_width(console: Console, renderable: RenderableType) -> int:
    """How wide ``renderable`` is when nothing in it is wrapped or cut."""
    from rich.measure import Measurement

    return Measurement.get(console, console.options.update_width(100_000), renderable).maximum


def _pack(items: list[Text], width: int, indent: str = "  ") -> list[Text]:
    """``items`` laid out left to right, as many a line as fit in ``width``; an item is never split."""
    from rich.text import Text

    lines: list[Text] = []
    line = Text(indent)
    for item in items:
        if line.cell_len > len(indent) and line.cell_len + 3 + item.cell_len > width:
            lines.append(line)
            line = Text(indent)
        if line.cell_len > len(indent):
            line.append("   ")
        line.append_text(item)
    if line.cell_len > len(indent):
        lines.append(line)
    return lines


def _blocks(title: str, header: list[str], rows: list[list[Cell]], columns: Sequence[int], width: int) -> list[Text]:
    """One block per run: its name on a line of its own, then ``label value`` pairs packed into ``width``."""
    from rich.text import Text

    out = [Text(title, style="italic")]
    for cells in rows:
        name = Text(cells[0].text, style="bold", overflow="fold")
        if any(cells[position].text == "baseline" for position in columns):  # its p-value columns
            name.append(" (baseline)", style="dim")
        items = []
        for position in columns[1:]:
            cell = cells[position]
            if cell.text in ("baseline", EMPTY):  # said once beside the name; no value: nothing to label
                continue
            item = Text(f"{header[position]} ", style="dim")
            item.append_text(Text(cell.text) if not cell.best else Text(f"{cell.text}{BEST_MARK}", style="bold green"))
            items.append(item)
        out.append(name)
        out.extend(_pack(items, width))
    return out


def fit_table(
    console: Console,
    title: str,
    header: list[str],
    rows: list[list[Cell]],
    key: Collection[str] = (),
    wide: bool = False,
) -> list[RenderableType]:
    """The table as it fits ``console``: whole, its ``key`` columns (unless ``wide``), or one block per run.

    Column 0 names the run and is always kept; a column with no value in any row is left out.
    """
    from rich.text import Text

    width = console.width
    columns = [0] + [i for i in range(1, len(header)) if any(r[i].text != EMPTY for r in rows)]
    whole = _table(title, header, rows, columns)
    if natural_width(console, whole) <= width:
        return [whole]
    if not wide and key:
        chosen = [i for i in columns if header[i] in key or i == 0]
        narrow = _table(title, header, rows, chosen)
        if len(chosen) < len(columns) and natural_width(console, narrow) <= width:
            left_out = ", ".join(header[i] for i in columns if i not in chosen)
            return [narrow, Text(f"not shown: {left_out} (--wide shows them)", style="dim")]
    return list(_blocks(title, header, rows, columns, width))


def _outputs_fit(console: Console, names: list[str]) -> bool:
    """Whether source and every run's output get ``SENTENCE_COLUMN`` characters (and their full names) side by side."""
    widths = [SENTENCE_COLUMN] + [max(SENTENCE_COLUMN, len(n)) for n in names]
    borders = 3 * (len(widths) + 1) + 1 + 4  # rules and padding, and the "#" column
    return sum(widths) + borders <= console.width


def _marked(base: str | None, other: str | None) -> str | Text:
    from rich.text import Text

    if other is None:
        return EMPTY
    marked = Text()
    for position, (word, changed) in enumerate(diff_words(base, other)):
        marked.append(("" if position == 0 else " ") + word, style="bold yellow" if changed else "")
    return marked


def _sentences(comparison: Comparison, console: Console) -> list[RenderableType]:
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    title = "sentences (changes from the baseline highlighted)"
    names = [view.name for view in comparison.runs]
    if _outputs_fit(console, names):
        side = Table(title=title, title_justify="left")
        side.add_column("#", justify="right")
        side.add_column("source", overflow="fold", min_width=SENTENCE_COLUMN)
        for name in names:
            side.add_column(name, overflow="fold", min_width=max(SENTENCE_COLUMN, len(name)))
        for sentence in comparison.sentences:
            base = sentence["outputs"][0]
            cells: list[str | Text] = [str(sentence["index"]), sentence["source"], base or EMPTY]
            cells += [_marked(base, other) for other in sentence["outputs"][1:]]
            side.add_row(*cells)
        return [side]
    out: list[RenderableType] = [Text(title, style="italic")]
    for sentence in comparison.sentences:
        base = sentence["outputs"][0]
        out.append(Text.assemble((f"#{sentence['index']} ", "bold"), sentence["source"]))
        lines = [("reference", sentence["reference"] or EMPTY), (names[0], base or EMPTY)]
        lines += [(name, _marked(base, other)) for name, other in zip(names[1:], sentence["outputs"][1:], strict=True)]
        for name, text in lines:
            out.append(Padding(Text.assemble((f"{name}: ", "dim"), text), (0, 0, 0, 2), expand=False))
    return out


def _summaries(comparison: Comparison) -> list[RenderableType]:
    from rich.padding import Padding
    from rich.text import Text

    out: list[RenderableType] = [Text("summaries", style="italic")]
    shown = [("reference", comparison.reference_summary or EMPTY)]
    shown += [(view.name, view.summary or f"{EMPTY} (no summary)") for view in comparison.runs]
    for name, summary in shown:
        out.append(Text(name, style="bold", overflow="fold"))
        out.append(Padding(Text(summary), (0, 0, 0, 2), expand=False))
    return out


def print_tables(
    comparisons: Sequence[Comparison], console: Console, sentences: bool = True, wide: bool = False
) -> None:
    """Scores, runs, and (unless ``sentences`` is False) sentences and summaries, fitted to ``console``'s width."""
    for comparison in comparisons:
        for part in fit_table(console, f"{comparison.doc}: scores", *scores_table(comparison, short=True),
                              key=KEY_SCORES, wide=wide):  # fmt: skip
            console.print(part)
        console.print(significance_note(comparison), style="dim")
        for row in comparison.rows:
            if row["note"]:
                console.print(f"{row['run']}: {row['note']}", style="yellow")
        for part in fit_table(console, f"{comparison.doc}: runs", *runs_table(comparison, short=True),
                              key=KEY_RUNS, wide=wide):  # fmt: skip
            console.print(part)
        if sentences:
            for part in _sentences(comparison, console) + _summaries(comparison):
                console.print(part)
        for name, signature in comparison.signatures.items():
            console.print(f"{name}: {signature}", style="dim")
