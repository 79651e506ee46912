"""The comparison as JSON, for other tools."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pipeline.evaluation.compare.model import Comparison


def comparison_dict(comparison: Comparison) -> dict[str, Any]:
    return {
        "doc": comparison.doc,
        "dir": str(comparison.doc_dir),
        "baseline": comparison.baseline,
        "runs": comparison.rows,
        "best": comparison.best,
        "significance": comparison.significance,
        "resamples": comparison.resamples,
        "sentences": comparison.sentences,
        "summaries": {v.name: v.summary for v in comparison.runs},
        "reference_summary": comparison.reference_summary,
        "signature": comparison.signatures,
    }


def render_json(comparisons: Sequence[Comparison]) -> str:
    return json.dumps([comparison_dict(c) for c in comparisons], indent=2, ensure_ascii=False) + "\n"
