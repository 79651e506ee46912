"""Quality with the real models: opus-mt-nl-en + distilbart-cnn on the seed, against its references.

Run with ``make test-quality`` (``pytest -m quality``). Where the weights are not on the
machine the tests are skipped, saying how to get them; nothing is downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from pipeline.errors import ModelNotFoundError
from pipeline.evaluation.references import refs_path_for
from pipeline.models.registry import resolve_model
from tests.conftest import SEED

pytestmark = pytest.mark.quality

TRANSLATOR = "opus-mt-nl-en"
SUMMARIZER = "distilbart-cnn"
MIN_SNIPPET_CHRF = 55.0
MIN_SUMMARY_KEY_FACT_RECALL = 0.8
# Where the user keeps models, read at import (collection), before the fixtures point NL2EN_MODELS and
# HF_HOME at empty temporary folders for every other test.
USER_MODEL_ENV = {name: os.environ.get(name) for name in ("NL2EN_MODELS", "HF_HOME")}


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Translate and summarise the seed once with the real models, and score the run."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in USER_MODEL_ENV.items():
            if value is None:
                patch.delenv(name, raising=False)
            else:
                patch.setenv(name, value)
        patch.setenv("HF_HUB_OFFLINE", "1")
        missing: dict[str, str] = {}
        for name in (TRANSLATOR, SUMMARIZER):
            try:
                resolve_model(name, allow_download=False)
            except ModelNotFoundError as exc:
                missing[name] = exc.message
        if missing:
            pulls = " and ".join(f"`nl2en models pull {name}`" for name in missing)
            pytest.skip(f"{'; '.join(missing.values())}. Get the weights with {pulls} (then copy models/hub/ here)")
        from pipeline.evaluation.score import score_run
        from pipeline.runs.batch import BatchPlan
        from pipeline.runs.sessions import CacheSpec, SummarizerSpec, TranslatorSpec, open_summarizer, open_translator
        from pipeline.runs.summary_stage import run_paths

        out = tmp_path_factory.mktemp("quality")
        translator = open_translator(TranslatorSpec(TRANSLATOR), CacheSpec(out / "memory.sqlite3"))
        try:
            summarizer = open_summarizer(SummarizerSpec(SUMMARIZER), translator.memory)
            report = run_paths([SEED], translator, summarizer, BatchPlan(out, "quality"))
        finally:
            translator.close()
        assert not report.failed, report.failed
        yield score_run(out / SEED.stem / "quality", refs_path_for(SEED))


def test_quality_translation_chrf_on_reference_snippets(real_run: dict[str, Any]) -> None:
    translation = real_run["translation"]
    worst = sorted(translation["snippets"], key=lambda s: s["chrf"])[:3]
    detail = "; ".join(f"{s['chrf']:.0f}: {s['hypothesis']!r} vs {s['reference']!r}" for s in worst)
    assert translation["chrf"] >= MIN_SNIPPET_CHRF, f"chrF {translation['chrf']:.1f}; worst snippets: {detail}"


def test_quality_summary_names_the_key_facts(real_run: dict[str, Any]) -> None:
    summary = real_run["summary"]
    assert summary is not None, "the run wrote no summary"
    assert summary["key_fact_recall"] >= MIN_SUMMARY_KEY_FACT_RECALL, (
        f"key-fact recall {summary['key_fact_recall']:.2f}, missing {summary['key_facts_missing']}"
    )
