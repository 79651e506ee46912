"""One document: the three outputs, losslessness, the manifest, caching."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline.engines.factory import EngineOptions
from pipeline.runs.batch import BatchPlan, translate_paths
from pipeline.runs.sessions import NO_CACHE, CacheSpec, TranslatorSpec, open_translator
from tests.conftest import SEED
from tests.support.signatures import signature_for


def run(paths: list[Path], model: Path, out: Path, cache: Path | None = None) -> object:
    spec = TranslatorSpec(str(model), {"max_new_tokens": 12}, EngineOptions(backend="transformers"))
    session = open_translator(spec, CacheSpec(cache))
    try:
        return translate_paths(paths, session.translator, BatchPlan(out, "tiny"))
    finally:
        session.close()


@pytest.fixture(scope="module")
def seed_run(tiny_marian: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out")
    report = run([SEED], tiny_marian, out, cache=out / "memory.sqlite3")
    assert not report.failed  # type: ignore[attr-defined]
    return out / SEED.stem / "tiny"


def test_document_writes_three_outputs(seed_run: Path) -> None:
    assert sorted(p.name for p in seed_run.iterdir()) == ["aligned.jsonl", "manifest.json", "translation.en.txt"]


def test_document_aligned_records_are_lossless(seed_run: Path, seed_text: str) -> None:
    records = [json.loads(line) for line in (seed_run / "aligned.jsonl").read_text().splitlines()]
    covered = set()
    for rec in records:
        assert seed_text[rec["start"] : rec["end"]] == rec["source"]
        covered.update(range(rec["start"], rec["end"]))
    assert all(ch.isspace() for i, ch in enumerate(seed_text) if i not in covered)
    kinds = {r["kind"] for r in records}
    assert kinds == {"metadata", "sentence", "heading"}
    meta = records[0]
    assert meta["kind"] == "metadata" and meta["target"] == meta["source"] and not meta["translated"]
    assert all(r["translated"] and isinstance(r["target"], str) for r in records if r["kind"] != "metadata")


def test_document_translation_keeps_line_structure(seed_run: Path, seed_text: str) -> None:
    translation = (seed_run / "translation.en.txt").read_text()
    src_lines, out_lines = seed_text.splitlines(), translation.splitlines()
    assert len(out_lines) == len(src_lines)
    for src, out in zip(src_lines, out_lines, strict=True):
        assert bool(src.strip()) == bool(out.strip())
    assert out_lines[0].startswith(" date 2019-12 ")


def test_document_manifest_describes_the_run(seed_run: Path, tiny_marian: Path) -> None:
    manifest = json.loads((seed_run / "manifest.json").read_text())
    assert manifest["input"]["sha256"] and manifest["input"]["path"] == str(SEED)
    translator = manifest["translator"]
    assert translator["fingerprint"].startswith("sha256:") and translator["backend"] == "transformers"
    assert translator["decoding"]["max_new_tokens"] == 12 and "num_beams" in translator["decoding"]
    assert manifest["cache"]["misses"] > 0 and manifest["cache"]["hits"] == 0
    assert {"transformers", "torch", "python"} <= set(manifest["versions"])
    assert set(manifest["timings"]) >= {"segment_s", "translate_s", "total_s"}


def test_document_rerun_is_fully_cached_and_identical(tiny_marian: Path, tmp_path: Path) -> None:
    first = run([SEED], tiny_marian, tmp_path / "a")
    again = run([SEED], tiny_marian, tmp_path / "b")
    assert first.misses > 0 and again.misses == 0 and again.hits == first.misses + first.hits  # type: ignore[attr-defined]
    a = (tmp_path / "a" / SEED.stem / "tiny" / "translation.en.txt").read_bytes()
    b = (tmp_path / "b" / SEED.stem / "tiny" / "translation.en.txt").read_bytes()
    assert a == b


def test_document_bad_files_never_stop_good_ones(tiny_marian: Path, tmp_path: Path) -> None:
    good = tmp_path / "goed.txt"
    good.write_text("Dit is een goede zin.\n")
    empty = tmp_path / "leeg.txt"
    empty.write_text("  \n")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Één café".encode("latin-1"))
    report = run([empty, tmp_path / "missing.txt", good, latin, tmp_path], tiny_marian, tmp_path / "out")
    assert [p.parent.name for p in report.written] == ["goed"]  # type: ignore[attr-defined]
    assert [Path(name).name for name, _ in report.failed] == ["leeg.txt", "missing.txt", "latin.txt", tmp_path.name]  # type: ignore[attr-defined]
    assert not (tmp_path / "out" / "leeg").exists()


def test_document_cached_run_imports_no_torch(tiny_marian: Path, tmp_path: Path) -> None:
    code = f"""
import sys
from pathlib import Path
from typing import Any
from pipeline.runs.batch import BatchPlan, translate_paths
from pipeline.engines.factory import EngineOptions
from pipeline.runs.sessions import TranslatorSpec, open_translator
for out in ("a", "b"):
    options = EngineOptions(backend="transformers")
    s = open_translator(TranslatorSpec({str(tiny_marian)!r}, {{"max_new_tokens": 12}}, options))
    r = translate_paths([Path({str(SEED)!r})], s.translator, BatchPlan(Path({str(tmp_path)!r}) / out, "t"))
    s.close()
print(r.misses, "torch" in sys.modules, "transformers" in sys.modules)
"""
    # first run in one process (loads torch), second run in a fresh one (must not)
    subprocess.run([sys.executable, "-c", code.replace('("a", "b")', '("a",)')], check=True, capture_output=True)
    fresh = subprocess.run(
        [sys.executable, "-c", code.replace('("a", "b")', '("b",)')], check=True, capture_output=True, text=True
    )
    assert fresh.stdout.split() == ["0", "False", "False"]


@pytest.mark.parametrize("backend", ["ctranslate2", "transformers"])
def test_document_window_outputs_equal_the_per_document_path(tiny_marian: Path, tmp_path: Path, backend: str) -> None:
    from pipeline.runs.document import document_manifest, translate_document, write_translation
    from pipeline.text.reader import read_article

    paragraphs = [p for p in SEED.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    paths = []
    for i in range(4):  # overlapping documents: shared paragraphs are de-duplicated in the window
        paths.append(tmp_path / "in" / f"doc{i}.txt")
        paths[-1].parent.mkdir(exist_ok=True)
        paths[-1].write_text("\n\n".join(paragraphs[i : i + 3]) + "\n", encoding="utf-8")
    options = EngineOptions(backend=backend)
    spec = TranslatorSpec(str(tiny_marian), {"max_new_tokens": 8}, options)
    session = open_translator(spec, NO_CACHE)
    report = translate_paths(paths, session.translator, BatchPlan(tmp_path / "window", "t"))
    assert not report.failed
    info = session.translator.manifest()
    alone: dict[str, str] = {}
    # a fresh translator per document, in order, sharing only a memory: a paragraph two documents share is
    # translated once, for the first (the retry budget is per document), in the window as here
    shared = CacheSpec(tmp_path / "alone.sqlite3")
    for path in paths:
        single = open_translator(spec, shared)
        result = translate_document(read_article(path), single.translator)
        single.close()
        write_translation(result, tmp_path / "alone" / path.stem, document_manifest(result, info, None))
        alone.update((s.source, result.translations[s.index].target) for s in result.document.translatable)
    assert len(set(alone.values())) > len(alone) // 2, "tiny model gives the same output for every input"
    for path in paths:
        window_text = (tmp_path / "window" / path.stem / "t" / "translation.en.txt").read_bytes()
        assert window_text == (tmp_path / "alone" / path.stem / "translation.en.txt").read_bytes()


# --- quality control through the document path (scripted engine) -------------------------------

QC_TEXT = (
    "Poetin sprak in Moskou met Loekasjenko.\n\n"
    "De regering in Minsk voert gesprekken over vergaande integratie.\n\n"
    "Op 1 juli steeg de prijs met 15 procent, zei Poetin.\n"
)
QC_SCRIPT = {
    "Putin sprak in Moscow met Lukashenko.": {"normal": [("Putin spoke in Moscow with Lukashenko.", -0.2)]},
    "De regering in Minsk voert gesprekken over vergaande integratie.": {
        "normal": [("The the the the the the the the the the the the.", -0.1)],
        "wider_beam": [("The government in Minsk is holding talks on far-reaching integration.", -0.4)],
    },
    "Op 1 juli steeg de prijs met 15 procent, zei Putin.": {
        "normal": [("On July 1 the price rose by 16 percent, Poetin said.", -0.3)],
        "wider_beam": [("On July 1 the price rose by 16 percent, said Poetin.", -0.35)],
        "n_best": [("On July 1 the price rose 16 percent, Putin said.", -0.3)],
    },
    "Op 1 juli steeg de prijs met 15 procent,": {"normal": [("On July 1 the price rose by 15 percent,", -0.5)]},
    "zei Putin.": {"normal": [("said Putin.", -0.4)]},
}


def _scripted_document(tmp_path: Path, mode: str = "retry", budget: float = 3.0) -> tuple[Any, Any, Any]:
    from pipeline.quality.glossary import builtin_glossary
    from pipeline.quality.ladder import GuardPolicy
    from pipeline.runs.cache import CachedTranslator
    from pipeline.runs.document import document_manifest, translate_document
    from pipeline.runs.memory import TranslationMemory
    from pipeline.text.reader import article_from_bytes
    from pipeline.translation.translator import Seq2SeqTranslator
    from tests.support.scripted_engine import ScriptedEngine

    engine = ScriptedEngine(QC_SCRIPT)
    # three segments, two of them flagged: a budget of 3 first passes pays for their whole ladders (83 of 96 tokens)
    policy = GuardPolicy(mode=mode, retry_budget=budget)  # type: ignore[arg-type]
    inner = Seq2SeqTranslator(engine, {"num_beams": 4}, glossary=builtin_glossary(), policy=policy)  # type: ignore[arg-type]
    memory = TranslationMemory(tmp_path / "tm.sqlite3")
    translator = CachedTranslator(inner, memory, signature_for("sha256:scripted", translator=inner))
    article = article_from_bytes(QC_TEXT.encode(), "qc", str(tmp_path / "qc.txt"))
    result = translate_document(article, translator)
    manifest = document_manifest(result, translator.manifest(), str(memory.path)).to_json()
    memory.close()
    return engine, result, manifest


def test_document_records_carry_score_flags_terms_and_attempts(tmp_path: Path) -> None:
    _, result, manifest = _scripted_document(tmp_path)
    records = [r for r in result.records() if r["translated"]]
    names, loop, numbers = records
    assert names["target"] == "Putin spoke in Moscow with Lukashenko." and names["flags"] == []
    assert [(t["nl"], t["status"]) for t in names["terms"]] == [
        ("Poetin", "applied"), ("Moskou", "applied"), ("Loekasjenko", "applied"),
    ]  # fmt: skip
    assert all(names["source"][t["start"] : t["end"]] == t["nl"] for t in names["terms"])
    assert names["score"] == -0.2 and len(names["attempts"]) == 1
    assert [a["rung"] for a in loop["attempts"]] == ["normal", "wider_beam"] and loop["flags"] == []
    assert loop["attempts"][0]["flags"][0]["name"] == "repetition" and loop["attempts"][1]["winner"]
    # the number is wrong in attempts 1-3 (the Dutch name repaired on the way); the clause split gets it right
    assert [a["rung"] for a in numbers["attempts"]] == ["normal", "wider_beam", "n_best", "clause_split"]
    assert numbers["target"] == "On July 1 the price rose by 15 percent, said Putin." and numbers["flags"] == []
    first = numbers["attempts"][0]
    assert first["target"].endswith("Putin said.") and first["flags"][0]["name"] == "number_mismatch"
    assert first["flags"][0]["evidence"]["missing"] == [{"source": "15 procent", "expected": "15%", "kind": "percent"}]
    quality = manifest["quality"]
    assert (quality["flagged"], quality["retried"], quality["fixed"], quality["extra_decodes"]) == (2, 2, 2, 4)
    assert quality["glossary_consistency"] == {
        "Loekasjenko": {"Lukashenko": 1},
        "Moskou": {"Moscow": 1},
        "Poetin": {"Putin": 2},
    }
    assert manifest["translator"]["quality"]["guards"] == "retry"
    assert manifest["translator"]["quality"]["glossary"]["name"] == "builtin"
    # a second run is served from the cache and writes the same records
    _, again, manifest_again = _scripted_document(tmp_path)
    strip = [{k: v for k, v in r.items() if k != "cached"} for r in again.records()]
    assert strip == [{k: v for k, v in r.items() if k != "cached"} for r in result.records()]
    assert manifest_again["quality"] == quality and manifest_again["cache"]["misses"] == 0


def test_document_manifest_counts_what_the_retry_budget_left_flagged(tmp_path: Path) -> None:
    engine, result, manifest = _scripted_document(tmp_path, budget=0.3)  # the default: 9.6 tokens, a retry costs 22+
    assert engine.decodes("wider_beam") == 0
    refused = [r for r in result.records() if any(a.get("budget_refused") for a in r["attempts"])]
    assert [r["attempts"][-1]["budget_refused"] for r in refused] == ["wider_beam", "wider_beam"]
    quality = manifest["quality"]
    assert quality["unretried"] == {"segments": 2, "flags": {"number_mismatch": 1, "repetition": 1}}
    assert (quality["flagged"], quality["retried"], quality["fixed"]) == (2, 0, 0)


def test_document_flag_mode_flags_without_retrying(tmp_path: Path) -> None:
    engine, result, manifest = _scripted_document(tmp_path, mode="flag")
    records = [r for r in result.records() if r["translated"]]
    assert [len(r["attempts"]) for r in records] == [1, 1, 1]
    assert records[1]["flags"] == ["repetition"] and records[1]["flag_evidence"]["repetition"]["repeated"]
    assert manifest["quality"]["flagged"] == 2 and manifest["quality"]["retried"] == 0
    assert engine.decodes("wider_beam") == engine.decodes("n_best") == 0


def _expanded(record: dict[str, Any], settings: dict[str, Any]) -> list[dict[str, Any]]:
    """A record's attempts as the ladder made them, rebuilt from the record and the run's decoding settings."""
    attempts = record["attempts"]
    if len(attempts) == 1:  # the segment's one decode: its target, score and flags are the record's
        flags = [{"name": n, "evidence": record["flag_evidence"][n]} for n in record["flags"]]
        (only,) = attempts
        return [{"settings": settings, "target": record["target"], "score": record["score"], "flags": flags,
                 "hypotheses": 1, **only}]  # fmt: skip
    return [{**a, "settings": {**settings, **a.get("settings", {})}} for a in attempts]


@pytest.mark.parametrize("mode,budget", [("retry", 3.0), ("retry", 0.3), ("flag", 3.0)])
def test_document_records_leave_out_what_the_record_and_manifest_already_say(
    tmp_path: Path, mode: str, budget: float
) -> None:
    """aligned.jsonl was mostly attempts repeating their record; nothing is lost by leaving the repeats out."""
    _, result, _ = _scripted_document(tmp_path, mode=mode, budget=budget)
    settings = {"num_beams": 4}  # the translator's (a session's manifest records them as ``translator.decoding``)
    records = [r for r in result.records() if r["translated"]]
    for record in records:
        history = list(result.translations[record["index"]].attempts)  # as the ladder made them (and the cache keeps)
        assert _expanded(record, settings) == history
        if len(history) == 1:
            line = json.dumps(record, ensure_ascii=False)
            assert line.count(json.dumps(record["target"], ensure_ascii=False)) == 1, "the target is written once"
            assert "settings" not in line
    if (mode, budget) == ("retry", 3.0):
        loop = records[1]
        assert "settings" not in loop["attempts"][0]
        assert loop["attempts"][1]["settings"] == {"num_beams": 8, "no_repeat_ngram_size": 3, "repetition_penalty": 1.2}
    if budget == 0.3:
        refused = {"rung": "normal", "winner": True, "budget_refused": "wider_beam"}
        assert [r["attempts"] for r in records[1:]] == [[refused], [refused]]


def test_document_record_attempts_of_a_split_sentence_keep_each_piece() -> None:
    """Pieces' targets are not in the record: a split sentence keeps every attempt, settings relative to its piece's."""
    from pipeline.translation.translator import record_attempts

    base, wide = {"num_beams": 4, "max_new_tokens": 9}, {"num_beams": 8, "max_new_tokens": 9, "no_repeat_ngram_size": 3}
    history = [
        {"rung": "normal", "settings": base, "target": "One", "score": -0.1, "flags": [], "hypotheses": 1,
         "winner": True, "piece": 0},
        {"rung": "normal", "settings": base, "target": "two two two", "score": -0.2, "flags": [{"name": "repetition"}],
         "hypotheses": 1, "winner": False, "piece": 1},
        {"rung": "wider_beam", "settings": {k: v for k, v in wide.items() if k != "max_new_tokens"},
         "target": "two", "score": -0.3, "flags": [], "hypotheses": 1, "winner": True, "piece": 1},
    ]  # fmt: skip
    written = record_attempts(history)
    assert [a["target"] for a in written] == ["One", "two two two", "two"]
    assert ["settings" in a for a in written] == [False, False, True]
    assert written[2]["settings"] == {"num_beams": 8, "no_repeat_ngram_size": 3, "max_new_tokens": None}
    assert [{k: v for k, v in a.items() if k != "settings"} for a in written] == [
        {k: v for k, v in a.items() if k != "settings"} for a in history
    ]
