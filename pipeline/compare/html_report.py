"""The comparison as one self-contained HTML page with an inline SVG chart."""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

from pipeline.compare.model import BEST_MARK, CHART_COLUMNS, COLUMNS, Comparison
from pipeline.compare.tables import Cell, diff_words, runs_table, scores_table, significance_note

HTML_FILE = "compare.html"
PALETTE = ("#3b6ea8", "#e0823a", "#4f9d69", "#b5485d", "#7a5ea8", "#8c7a3e", "#3a9aa8", "#6b6b6b")


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
