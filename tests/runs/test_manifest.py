"""The manifest contract: what the writers put down reads back equal, in the JSON shape the README documents.

Runs are made with scripted translators and the extractive summariser, so no model is loaded;
the older manifests below are the shapes earlier versions wrote (schema 1, and schema 2 before
the run signature), copied from those versions' writers.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import ScoreError
from pipeline.runs.batch import BatchPlan, translate_paths
from pipeline.runs.cache import CachedTranslator
from pipeline.runs.manifest import (
    InputSection,
    RunManifest,
    SummarizerSection,
    TranslatorSection,
    WindowSection,
    read_manifest,
)
from pipeline.runs.outputs import MANIFEST_SCHEMA_VERSION
from pipeline.runs.sessions import SummarizerSpec, TranslatorSession, open_summarizer
from pipeline.runs.summary_stage import run_paths, summarize_paths
from pipeline.signature import ExecutorSection, GlossarySection, QualitySection, RunSignature
from pipeline.summaries.base import Summary
from tests.runs.test_batch import ScriptedTranslator
from tests.support.signatures import signature_for

DUTCH = "Het kabinet wil meer geld voor onderwijs.\n\nDe minister zei dat gisteren in Den Haag.\n"
ENGLISH = "The cabinet wants more money for schools. The minister said so in The Hague. Nothing else happened.\n"
TRANSLATE_KEYS = {"schema", "input", "translator", "segments", "quality", "cache", "timings", "window", "versions"}


class RayLikeTranslator(ScriptedTranslator):
    """Reports an executor with details the run signature does not read back (``startup_s``)."""

    def executor(self) -> ExecutorSection:
        return ExecutorSection("ray", {"workers": 2, "cpus_per_worker": 1, "startup_s": 0.25})


def guarded_signature() -> RunSignature:
    """A translator signature with guard and glossary sections, as a session's has."""
    return dataclasses.replace(
        signature_for("sha256:scripted", settings={"num_beams": 4}),
        quality=QualitySection("retry", -1.5, {"max_rungs": 3}, {"corpus_digest": "abc"}),
        glossary=GlossarySection("builtin", 12, "0123456789abcdef"),
    )


def raw(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture
def article(tmp_path: Path) -> Path:
    path = tmp_path / "stuk.txt"
    path.write_text(DUTCH, encoding="utf-8")
    return path


def test_manifest_of_a_translate_run_reads_back_equal(article: Path, tmp_path: Path) -> None:
    translator = CachedTranslator(ScriptedTranslator(), None, guarded_signature())
    report = translate_paths([article], translator, BatchPlan(tmp_path / "out", "r"))
    [run_dir] = report.written
    written = raw(run_dir)
    manifest = read_manifest(run_dir)
    assert manifest.to_json() == written, "every key written is read, and written back the same"
    assert RunManifest.from_json(manifest.to_json()) == manifest
    assert set(written) == TRANSLATE_KEYS | {"created"} and written["schema"] == MANIFEST_SCHEMA_VERSION
    # the section is the signature as the manifest records it, read back by RunSignature.from_manifest
    assert manifest.translator is not None
    assert manifest.translator.signature == RunSignature.from_manifest(translator.manifest(), "translate")
    assert manifest.translator.extra == {}
    assert written["translator"]["quality"]["guards"] == "retry" and manifest.translator.signature.quality
    assert manifest.input == InputSection(
        str(article), str(article.resolve()), str(article), manifest.input.sha256, "utf-8", len(DUTCH), "text",
        {"language_found": {"language": "nl", "confidence": manifest.input.document["language_found"]["confidence"]}},
    )  # fmt: skip
    assert manifest.segments and manifest.segments.generated_tokens == manifest.segments.target_tokens > 0
    assert manifest.window == WindowSection(documents=1, segments_max=BatchPlan(tmp_path, "r").window.segments)
    assert manifest.cache and manifest.cache.misses == manifest.segments.translated and manifest.summarizer is None


def test_manifest_keeps_executor_details_the_signature_does_not_read(article: Path, tmp_path: Path) -> None:
    translator = CachedTranslator(RayLikeTranslator(), None, signature_for("sha256:scripted"))
    [run_dir] = translate_paths([article], translator, BatchPlan(tmp_path / "out", "r")).written
    written = raw(run_dir)["translator"]
    assert written["executor"] == "ray" and written["startup_s"] == 0.25 and written["workers"] == 2
    section = read_manifest(run_dir).translator
    assert section is not None and section.extra == {"startup_s": 0.25}
    assert section.signature.executor == ExecutorSection("ray", {"workers": 2, "cpus_per_worker": 1})
    assert section.to_json() == written


def test_manifest_of_a_summarize_run_reads_back_equal(tmp_path: Path) -> None:
    english = tmp_path / "article.txt"
    english.write_text(ENGLISH, encoding="utf-8")
    session = open_summarizer(SummarizerSpec("extractive", sentences=2))
    [run_dir] = summarize_paths([english], session, BatchPlan(tmp_path / "out", "s")).written
    written = raw(run_dir)
    manifest = read_manifest(run_dir)
    assert manifest.to_json() == written and RunManifest.from_json(written) == manifest
    assert set(written) == {"schema", "input", "summarizer", "cache", "timings", "versions", "created"}
    summarizer = manifest.summarizer
    assert summarizer is not None and manifest.translator is None and manifest.segments is None
    assert (summarizer.file, summarizer.method, summarizer.cached) == ("summary.extractive.txt", "extractive", False)
    assert summarizer.signature.decoding.settings["sentences"] == 2
    text = (run_dir / "summary.extractive.txt").read_text().strip()
    assert written["summarizer"] == session.manifest(Summary(text, "extractive")), (
        "the file holds the session's section"
    )
    assert "fallback" not in written["summarizer"]


def test_manifest_of_a_run_has_both_stages_and_reads_back_equal(article: Path, tmp_path: Path) -> None:
    translator = TranslatorSession(None, CachedTranslator(ScriptedTranslator(), None, guarded_signature()), None)  # type: ignore[arg-type]
    summarizer = open_summarizer(SummarizerSpec("extractive", sentences=1))
    [run_dir] = run_paths([article], translator, summarizer, BatchPlan(tmp_path / "out", "r+s")).written
    written = raw(run_dir)
    manifest = read_manifest(run_dir)
    assert manifest.to_json() == written and RunManifest.from_json(written) == manifest
    assert set(written) == TRANSLATE_KEYS | {"created", "summarizer"}
    assert [s.STAGE for s in manifest.stages] == ["translate", "summarize"]
    assert manifest.summarizer and manifest.summarizer.file == "summary.extractive.txt"
    assert {"translate_s", "summarize_s", "total_s"} <= set(manifest.timings)


# --- older manifests ----------------------------------------------------------------------------

SCHEMA_1_TRANSLATE: dict[str, Any] = {  # pipeline/runner.py's document_manifest before schema 2
    "input": {"path": "seeds/doc.txt", "name": "doc.txt", "sha256": "ab" * 32, "encoding": "utf-8", "chars": 120},
    "translator": {
        "model": "Helsinki-NLP/opus-mt-nl-en",
        "hub_id": "Helsinki-NLP/opus-mt-nl-en",
        "revision": "main",
        "path": "/models/opus-mt-nl-en",
        "source": "hub",
        "fingerprint": "sha256:1234",
        "backend": "ctranslate2",
        "engine": {"backend": "ctranslate2", "compute_type": "int8", "device": "cpu", "inter_threads": 1},
        "decoding": {"num_beams": 4, "max_new_tokens": 256},
    },
    "segments": {"total": 10, "translated": 8, "flagged": 1, "target_tokens": 90},
    "cache": {"path": "/cache/tm.sqlite3", "hits": 0, "misses": 8},
    "timings": {"segment_s": 0.01, "translate_s": 1.5, "total_s": 1.6},
    "versions": {"python": "3.11.9", "transformers": "4.44.0"},
    "created": "2026-11-01T10:00:00+0100",
}
SCHEMA_1_SUMMARIZE: dict[str, Any] = {  # SummarizerSession.manifest before schema 2: no file name
    "input": {"path": "en.txt", "name": "en.txt", "sha256": "cd" * 32, "encoding": "utf-8", "chars": 400},
    "summarizer": {
        "model": "sshleifer/distilbart-cnn-12-6",
        "hub_id": "sshleifer/distilbart-cnn-12-6",
        "path": "/models/distilbart",
        "fingerprint": "sha256:5678",
        "backend": "transformers",
        "engine": {"backend": "transformers", "device": "cpu", "settings": {"num_beams": 4}},
        "method": "abstractive",
        "decoding": {"num_beams": 4},
        "chunks": [{"level": 0, "input_tokens": 300, "chunks": [[0, 400, 0, 300]]}],
        "flags": [],
        "note": None,
        "cached": False,
    },
    "cache": {"path": None, "hits": 0, "misses": 1},
    "timings": {"summarize_s": 2.0},
    "versions": {"python": "3.11.9"},
    "created": "2026-11-01T10:00:00+0100",
}


def schema_2_before_signature() -> dict[str, Any]:
    """Schema 2 as written before the run signature: resolved input, generated tokens, a summary file."""
    data = json.loads(json.dumps(SCHEMA_1_TRANSLATE))
    data["schema"] = 2
    data["input"]["resolved"] = "/work/seeds/doc.txt"
    data["segments"]["generated_tokens"] = 90
    data["summarizer"] = {**SCHEMA_1_SUMMARIZE["summarizer"], "file": "summary.sshleifer--distilbart-cnn-12-6.txt"}
    return data


def contains(found: Any, expected: Any) -> bool:
    """Every key of ``expected`` is in ``found`` with the same value (objects compared key by key)."""
    if isinstance(expected, dict):
        return isinstance(found, dict) and all(k in found and contains(found[k], v) for k, v in expected.items())
    return bool(found == expected)


@pytest.mark.parametrize("data", [SCHEMA_1_TRANSLATE, SCHEMA_1_SUMMARIZE, schema_2_before_signature()])
def test_manifest_older_manifests_read_with_defaults_and_lose_nothing(data: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    manifest = read_manifest(tmp_path)
    assert manifest.schema == data.get("schema", 1)
    assert manifest.quality is None and manifest.window is None, "sections they never had stay absent"
    assert contains(manifest.to_json(), data), "every recorded value is kept"
    assert RunManifest.from_json(manifest.to_json()) == manifest
    for stage in manifest.stages:
        assert stage.signature.version == 1 and stage.signature.quality is None
        assert stage.signature.executor == ExecutorSection()


def test_manifest_older_fields_get_defaults() -> None:
    old = RunManifest.from_json(SCHEMA_1_TRANSLATE)
    assert old.input.resolved is None and old.segments and old.segments.generated_tokens is None
    assert old.translator and old.translator.model == "Helsinki-NLP/opus-mt-nl-en"
    assert old.translator.engine_label == "ctranslate2/int8"
    assert old.translator.extra == {"engine": SCHEMA_1_TRANSLATE["translator"]["engine"]}, (
        "only what the signature cannot write back"
    )
    summary = RunManifest.from_json(SCHEMA_1_SUMMARIZE).summarizer
    assert summary and summary.file is None and summary.method == "abstractive" and summary.fallback is None
    assert "file" not in summary.to_json()
    bare = RunManifest.from_json({})
    assert bare == RunManifest(schema=1) and bare.input == InputSection() and bare.stages == ()


def test_manifest_keeps_unknown_keys_of_a_newer_writer() -> None:
    data = {**SCHEMA_1_TRANSLATE, "schema": 9, "hardware": {"gpu": "H200"}}
    manifest = RunManifest.from_json(data)
    assert manifest.extra == {"hardware": {"gpu": "H200"}} and manifest.to_json()["hardware"] == {"gpu": "H200"}


def test_manifest_sections_from_a_signature_equal_those_read_back() -> None:
    signature = guarded_signature()
    section = TranslatorSection.of(signature)
    assert section == TranslatorSection.from_json(json.loads(json.dumps(section.to_json())))
    assert section.to_json() == signature.manifest()
    summarizer = SummarizerSection.from_json({**signature.manifest(), "method": "extractive", "fallback": "no model"})
    assert summarizer.fallback == "no model" and summarizer.to_json()["fallback"] == "no model"


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"schema": "two"}'])
def test_manifest_unreadable_ones_are_one_line_errors(text: str, tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(ScoreError) as caught:
        read_manifest(tmp_path)
    assert caught.value.code == "E810" and "manifest.json" in str(caught.value)
    with pytest.raises(ScoreError, match="unreadable"):
        read_manifest(tmp_path / "missing")


def test_manifest_readers_find_an_older_summary_by_the_slug_rule(tmp_path: Path) -> None:
    from pipeline.evaluation.score import summary_path

    (tmp_path / "summary.sshleifer--distilbart-cnn-12-6.txt").write_text("A summary.\n")
    (tmp_path / "summary.extractive.txt").write_text("Another.\n")
    found = summary_path(tmp_path, RunManifest.from_json(SCHEMA_1_SUMMARIZE))
    assert found == tmp_path / "summary.sshleifer--distilbart-cnn-12-6.txt"
    extractive = {**SCHEMA_1_SUMMARIZE["summarizer"], "path": None, "hub_id": None, "model": "extractive"}
    assert summary_path(tmp_path, RunManifest.from_json({"summarizer": extractive})) == (
        tmp_path / "summary.extractive.txt"
    )
