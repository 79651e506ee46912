"""The comparison as Markdown tables."""

from __future__ import annotations

import html
from collections.abc import Sequence

from pipeline.evaluation.compare.model import BEST_MARK, Comparison
from pipeline.evaluation.compare.tables import Cell, diff_words, runs_table, scores_table, significance_note


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
