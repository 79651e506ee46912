"""Comparing runs of the same document: the data (:mod:`.model`) and its renderers.

Renderers: :mod:`.terminal` (rich tables), :mod:`.markdown`, :mod:`.json_report` and
:mod:`.html_report`; what they show alike (cells, word diffs, p-values) is in :mod:`.tables`.
Each run is labelled with its model family (Marian, NLLB, LLM…) and an instruct model's prompt,
read from its manifest by :mod:`.families`.
"""

from pipeline.evaluation.compare.html_report import HTML_FILE, render_html, write_html
from pipeline.evaluation.compare.json_report import render_json
from pipeline.evaluation.compare.markdown import render_markdown
from pipeline.evaluation.compare.model import Comparison, RunView, best_values, collect_runs, compare_runs
from pipeline.evaluation.compare.tables import diff_words
from pipeline.evaluation.compare.terminal import print_tables

__all__ = [
    "HTML_FILE",
    "Comparison",
    "RunView",
    "best_values",
    "collect_runs",
    "compare_runs",
    "diff_words",
    "print_tables",
    "render_html",
    "render_json",
    "render_markdown",
    "write_html",
]
