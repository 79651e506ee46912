"""The comparison as one self-contained HTML page with an inline SVG chart."""

from __future__ import annotations

import html
import time
from functools import cache
from pathlib import Path
from typing import Any

from pipeline.evaluation.compare.model import BEST_MARK, CHART_COLUMNS, COLUMNS, Comparison
from pipeline.evaluation.compare.tables import Cell, diff_words, run_label, runs_table, scores_table, significance_note

HTML_FILE = "compare.html"
PALETTE = ("#3b6ea8", "#e0823a", "#4f9d69", "#b5485d", "#7a5ea8", "#8c7a3e", "#3a9aa8", "#6b6b6b")


TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"


def _e(text: Any) -> str:
    return html.escape("–" if text is None else str(text))


def _html_diff(base: str | None, other: str | None) -> str:
    if other is None:
        return "–"
    return " ".join(f"<mark>{_e(w)}</mark>" if changed else _e(w) for w, changed in diff_words(base, other))


def _table(header: list[str], rows: list[list[Cell]]) -> tuple[list[str], list[list[Cell]], list[bool]]:
    """A table for the template's ``table`` macro: header, rows, and which columns are numeric."""
    return header, rows, [any(r[i].numeric for r in rows) for i in range(len(header))]


def _cell_classes(position: int, cell: Cell) -> str:
    return " ".join(name for name, on in (("first", position == 0), ("num", cell.numeric), ("best", cell.best)) if on)


def _consistency(comparison: Comparison) -> list[tuple[str, list[dict[str, int]]]]:
    """Each source name of any run's glossary consistency table, with every run's renderings."""
    tables = [row["quality"]["consistency"] for row in comparison.rows]
    names = sorted({name for table in tables for name in table})
    return [(name, [table.get(name, {}) for table in tables]) for name in names]


@cache
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("pipeline.evaluation.compare", "templates"),
        autoescape=select_autoescape(["html", "html.j2"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=False,
    )


def chart_top(values: list[float]) -> tuple[int, int]:
    """The axis top and tick step: 100 for scores on a 0–100 scale, higher when one is above (TER can pass 100).

    Bars are never clipped: two TERs of 150.9 and 143.1 must not be drawn the same height.
    """
    highest = max([100.0, *values])
    step = 25
    while highest / step > 8:  # at most 8 gridlines: 25, 50, 100, 250, 500, 1000, 2500…
        step = step * 5 // 2 if str(step).startswith("1") else step * 2
    return int(-(-highest // step) * step), step


def svg_chart(comparison: Comparison) -> str:
    """A grouped bar chart (one group per score, one bar per run) on a 0–100 scale, or higher when needed, as SVG."""
    columns = [c for c in COLUMNS if c.key in CHART_COLUMNS and any(r[c.key] is not None for r in comparison.rows)]
    runs = comparison.rows
    shown_values = [r[c.key] * 100 if c.percent else r[c.key] for c in columns for r in runs if r[c.key] is not None]
    axis, step = chart_top(shown_values)
    labels = [run_label(row) for row in runs]
    bar, gap, pad_left, top, plot_h = 30, 28, 44, 52, 220
    # each legend entry as wide as its longer line (about 6.5 px a character at 11 px), at least 150 px
    legend_w = max(
        [150] + [int(6.5 * max(len(r["run"]), len(label))) + 32 for r, label in zip(runs, labels, strict=True)]
    )
    group_w = max(1, len(runs)) * bar
    width = max(pad_left + len(columns) * (group_w + gap) + gap, pad_left + len(runs) * legend_w)
    height = top + plot_h + 48
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="scores per run" font-family="system-ui, sans-serif" font-size="11">'
    ]
    for position, (row, label) in enumerate(zip(runs, labels, strict=True)):  # legend: the run, its family and prompt
        x = pad_left + position * legend_w
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{PALETTE[position % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 17}" y="18">{_e(row["run"])}</text>')
        parts.append(f'<text x="{x + 17}" y="32" font-size="10" fill="#59636e">{_e(label)}</text>')
    for tick in range(0, axis + 1, step):
        y = top + plot_h - tick * plot_h / axis
        parts.append(f'<line x1="{pad_left}" x2="{width - gap / 2}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ea"/>')
        parts.append(f'<text x="{pad_left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#59636e">{tick}</text>')
    for group, column in enumerate(columns):
        x0 = pad_left + gap + group * (group_w + gap)
        for position, row in enumerate(runs):
            value = row[column.key]
            if value is None:
                continue
            shown = value * 100 if column.percent else value
            h = max(0.0, shown) * plot_h / axis
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
        f'<text x="{pad_left}" y="{height - 8}" fill="#59636e">0–{axis} scale (ROUGE and fact recall in %); '
        "↓ lower is better</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)


def render_html(comparison: Comparison) -> str:
    """One self-contained page from ``templates/report.html.j2``: inline CSS and SVG, no scripts or links."""
    from markupsafe import Markup

    environment = _environment()
    charted = any(row[c.key] is not None for row in comparison.rows for c in COLUMNS if c.key in CHART_COLUMNS)
    sentences = []
    for sentence in comparison.sentences:
        base = sentence["outputs"][0]
        outputs = [Markup(_e(base))] + [Markup(_html_diff(base, o)) for o in sentence["outputs"][1:]]
        quality = sentence.get("quality") or [None] * len(outputs)
        sentences.append({**sentence, "outputs": outputs, "quality": quality})
    page = environment.get_template(TEMPLATE).render(
        c=comparison,
        css=Markup(environment.loader.get_source(environment, STYLESHEET)[0]),
        generated=time.strftime("%Y-%m-%d %H:%M"),
        scores=_table(*scores_table(comparison, short=False)),
        runs=_table(*runs_table(comparison, short=False)),
        significance=significance_note(comparison),
        chart=Markup(svg_chart(comparison)) if charted else None,
        consistency=_consistency(comparison),
        labels=[run_label(row) for row in comparison.rows],
        sentences=sentences,
        cell_classes=_cell_classes,
        best_mark=BEST_MARK,
    )
    return page.rstrip("\n") + "\n"


def write_html(comparison: Comparison) -> Path:
    """``<doc dir>/compare.html``, written atomically."""
    from pipeline.runs.outputs import write_atomic

    path = comparison.doc_dir / HTML_FILE
    write_atomic(path, render_html(comparison))
    return path
