"""Summaries of whole documents: of English files, or of fresh translations."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.engines.factory import EngineOptions
from pipeline.errors import ModelError
from pipeline.runs.batch import BatchPlan
from pipeline.runs.sessions import NO_CACHE, SummarizerSpec, TranslatorSpec, open_summarizer, open_translator
from pipeline.runs.summary_stage import run_paths


def test_summary_stage_source_side_with_an_abstractive_summariser_fails_once_up_front(
    tiny_marian: Path, tiny_bart: Path, tmp_path: Path
) -> None:
    paths = []
    for name in ("een", "twee"):
        paths.append(tmp_path / f"{name}.txt")
        paths[-1].write_text("Dit is een zin.\n")
    translator = open_translator(TranslatorSpec(str(tiny_marian)), NO_CACHE)
    summarizer = open_summarizer(SummarizerSpec(str(tiny_bart), engine=EngineOptions(backend="transformers")))
    seen: list[str] = []
    plan = BatchPlan(tmp_path / "out", "r", on_document=lambda path, run_dir, error: seen.append(path))
    with pytest.raises(ModelError, match="--source-side needs the extractive summariser"):
        run_paths(paths, translator, summarizer, plan, source_side=True)
    assert seen == [] and not (tmp_path / "out").exists(), "no document was tried"
