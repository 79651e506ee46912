"""Scoring: sacrebleu's numbers on the stored pairs, alignment through the source side, errors.

The seed runs come from the tiny random Marian model, so their scores are near zero and mean
nothing; the tests check that the numbers are sacrebleu's and rouge-score's for the stored
pairs, never what they are. Known-good values come from a hand-built run with real English.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sacrebleu
from rouge_score import rouge_scorer
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.errors import ReferencesMismatchError
from pipeline.evaluation.references import (
    ReferencesFormatError,
    ReferencesNotFoundError,
    load_references,
    refs_path_for,
)
from pipeline.evaluation.score import (
    DUTCH_FUNCTION_WORDS,
    SCORES_FILE,
    NoRunsError,
    find_run_dirs,
    load_scores,
    score_run,
    untranslated_words,
)
from pipeline.quality.glossary import builtin_glossary
from pipeline.runs.cache import CachedTranslator
from tests.conftest import ROOT, SEED
from tests.support.signatures import signature_for

SEED_REFS = refs_path_for(SEED)
RUN_SETTINGS = {"default": {"max_new_tokens": 8}, "greedy": {"num_beams": 1, "max_new_tokens": 8}}


def build_seed_runs(model: Path, out: Path) -> dict[str, Path]:
    """Two runs of the seed: "default" (translated and summarised extractively), "greedy" (translated only).

    The translations go through the session cache, so a second module building the same runs
    loads no model.
    """
    from pipeline.quality.glossary import builtin_glossary
    from pipeline.runs.batch import BatchPlan, translate_paths
    from pipeline.runs.sessions import SummarizerSpec, TranslatorSpec, open_summarizer, open_translator
    from pipeline.runs.summary_stage import run_paths

    runs = {}
    for name, overrides in RUN_SETTINGS.items():
        session = open_translator(TranslatorSpec(str(model), overrides, glossary=builtin_glossary()))
        try:
            if name == "default":
                summarizer = open_summarizer(SummarizerSpec("extractive", sentences=3), session.memory)
                report = run_paths([SEED], session, summarizer, BatchPlan(out, name))
            else:
                report = translate_paths([SEED], session.translator, BatchPlan(out, name))
        finally:
            session.close()
        assert not report.failed, report.failed
        runs[name] = out / SEED.stem / name
    return runs


@pytest.fixture(scope="module")
def seed_runs(tiny_marian: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_seed_runs(tiny_marian, tmp_path_factory.mktemp("outputs"))


@pytest.fixture(scope="module")
def default_scores(seed_runs: dict[str, Path]) -> dict[str, Any]:
    score_run(seed_runs["default"])
    return json.loads((seed_runs["default"] / SCORES_FILE).read_text())


def records(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "aligned.jsonl").read_text().splitlines()]


def hand_run(root: Path, nl: list[str], en: list[str], hyps: list[str], summary: str | None = None) -> Path:
    """A run written by hand: one Dutch sentence per segment, ``hyps`` as its English."""
    root.mkdir(parents=True, exist_ok=True)
    article = root / "hand.txt"
    text = " ".join(nl) + "\n"
    article.write_text(text)
    pairs = "".join(
        f"[[translation]]\nnl = {json.dumps(n)}\nen = {json.dumps(e)}\n\n" for n, e in zip(nl, en, strict=True)
    )
    summary_table = (
        '[summary]\nreference = "The dog bit the man, and the man bit back."\nkey_facts = ["dog", "man", "Putin"]\n'
    )
    (root / "hand.refs.toml").write_text(pairs + summary_table)
    run_dir = root / "out" / "hand" / "by-hand"
    run_dir.mkdir(parents=True)
    lines, start = [], 0
    for index, (source, target) in enumerate(zip(nl, hyps, strict=True)):
        lines.append(
            json.dumps({"index": index, "kind": "sentence", "block": 0, "start": start, "end": start + len(source),
                        "source": source, "target": target, "translated": True})
        )  # fmt: skip
        start += len(source) + 1
    (run_dir / "aligned.jsonl").write_text("\n".join(lines) + "\n")
    (run_dir / "translation.en.txt").write_text(" ".join(hyps) + "\n")
    manifest = {"input": {"path": str(article), "sha256": hashlib.sha256(text.encode()).hexdigest(),
                          "encoding": "utf-8", "chars": len(text)}}  # fmt: skip
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    if summary is not None:
        (run_dir / "summary.extractive.txt").write_text(summary + "\n")
    return run_dir


# sacrebleu's documented example (README, "Using the Python API"), first reference stream only
EXAMPLE_NL = ["De hond beet de man.", "Het was niet onverwacht.", "De man beet hem eerst."]
EXAMPLE_REFS = ["The dog bit the man.", "It was not unexpected.", "The man bit him first."]
EXAMPLE_REFS_2 = ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."]
EXAMPLE_SYS = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]


def test_score_known_good_values_on_sacrebleu_documented_example(tmp_path: Path) -> None:
    # anchor: the documented two-reference numbers, so the single-reference constants below are sacrebleu's too
    assert round(sacrebleu.corpus_bleu(EXAMPLE_SYS, [EXAMPLE_REFS, EXAMPLE_REFS_2]).score, 2) == 48.53
    assert round(sacrebleu.corpus_chrf(EXAMPLE_SYS, [EXAMPLE_REFS, EXAMPLE_REFS_2]).score, 2) == 59.73
    scores = score_run(hand_run(tmp_path, EXAMPLE_NL, EXAMPLE_REFS, EXAMPLE_SYS))
    translation = scores["translation"]
    assert (round(translation["bleu"], 2), round(translation["chrf"], 2), round(translation["ter"], 2)) == (
        45.07,
        50.04,
        50.0,
    )
    assert translation["bleu_detail"]["sys_len"] == translation["bleu_detail"]["ref_len"] == 17
    first = translation["snippets"][0]
    assert first["hypothesis"] == first["reference"] and round(first["bleu"], 6) == 100 and first["chrf"] == 100
    assert first["ter"] == 0
    assert [round(s["ter"], 2) for s in translation["snippets"]] == [0.0, 75.0, 80.0]


def test_score_equals_sacrebleu_on_the_stored_pairs(default_scores: dict[str, Any]) -> None:
    snippets = default_scores["translation"]["snippets"]
    hyps, refs = [s["hypothesis"] for s in snippets], [s["reference"] for s in snippets]
    assert len(snippets) == 45
    assert default_scores["translation"]["bleu"] == sacrebleu.corpus_bleu(hyps, [refs]).score
    assert default_scores["translation"]["chrf"] == sacrebleu.corpus_chrf(hyps, [refs]).score
    assert default_scores["translation"]["ter"] == sacrebleu.corpus_ter(hyps, [refs]).score
    for snippet in snippets:
        assert snippet["bleu"] == sacrebleu.sentence_bleu(snippet["hypothesis"], [snippet["reference"]]).score
        assert snippet["chrf"] == sacrebleu.sentence_chrf(snippet["hypothesis"], [snippet["reference"]]).score
        assert snippet["ter"] == sacrebleu.sentence_ter(snippet["hypothesis"], [snippet["reference"]]).score
    from sacrebleu.metrics import BLEU, CHRF, TER

    signature = default_scores["signature"]
    for name, metric in (("bleu", BLEU()), ("chrf", CHRF()), ("ter", TER())):
        metric.corpus_score(hyps, [refs])  # a signature needs a scored corpus (it names the reference count)
        assert signature[name] == str(metric.get_signature())
    assert signature["bleu"].startswith("nrefs:1|") and f"version:{sacrebleu.__version__}" in signature["bleu"]


def test_score_aligns_each_snippet_through_its_source_span(
    seed_runs: dict[str, Path], default_scores: dict[str, Any], seed_text: str
) -> None:
    translated = [r for r in records(seed_runs["default"]) if r["translated"]]
    multi = []
    for snippet in default_scores["translation"]["snippets"]:
        assert seed_text[snippet["start"] : snippet["end"]] == snippet["nl"]
        covering = [r for r in translated if r["start"] < snippet["end"] and r["end"] > snippet["start"]]
        assert snippet["segments"] == [r["index"] for r in covering]
        assert snippet["hypothesis"] == " ".join(r["target"] for r in covering if r["target"])
        if len(covering) > 1:
            multi.append(snippet["nl"])
    # the refs join two sentences in one snippet; nl2en splits the quote „Het is ons land. We zijn …” in two
    assert "Hij zit gevangen in de Russische draden. Maar opgegeten is hij nog niet." in multi
    assert any(nl.startswith("„Het is ons land.") for nl in multi)


def test_score_snippet_inside_a_segment_is_partial_and_spanning_ones_join(tmp_path: Path) -> None:
    run_dir = hand_run(tmp_path, EXAMPLE_NL, EXAMPLE_REFS, EXAMPLE_SYS)
    refs = tmp_path / "other.refs.toml"
    refs.write_text(
        '[[translation]]\nnl = "beet de man. Het was"\nen = "bit the man. It was"\n\n'
        '[[translation]]\nnl = "niet onverwacht"\nen = "not unexpected"\n'
    )
    snippets = score_run(run_dir, refs, write=False)["translation"]["snippets"]
    assert snippets[0]["segments"] == [0, 1] and snippets[0]["partial"]
    assert snippets[0]["hypothesis"] == f"{EXAMPLE_SYS[0]} {EXAMPLE_SYS[1]}"
    assert snippets[1]["segments"] == [1] and snippets[1]["hypothesis"] == EXAMPLE_SYS[1] and snippets[1]["partial"]


def test_score_summary_rouge_and_key_facts_are_rouge_scores(
    seed_runs: dict[str, Path], default_scores: dict[str, Any]
) -> None:
    summary_file = seed_runs["default"] / "summary.extractive.txt"
    summary = default_scores["summary"]
    assert summary["file"] == summary_file.name
    reference = load_references(SEED_REFS).summary
    assert reference is not None
    expected = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True).score(
        reference.reference, summary_file.read_text().strip()
    )
    for name in ("rouge1", "rouge2", "rougeL"):
        assert summary[name] == expected[name].fmeasure
        assert summary["detail"][name]["precision"] == expected[name].precision
    text = summary_file.read_text().casefold()
    found = [f for f in reference.key_facts if f.casefold() in text]
    assert summary["key_fact_recall"] == len(found) / len(reference.key_facts)
    assert summary["key_facts_found"] == found
    assert default_scores["signature"]["rouge"].startswith("rouge-score ")


def test_score_hand_summary_values(tmp_path: Path) -> None:
    perfect = score_run(hand_run(tmp_path / "a", EXAMPLE_NL, EXAMPLE_REFS, EXAMPLE_SYS,
                                 summary="The dog bit the man, and the man bit back."))  # fmt: skip
    assert perfect["summary"]["rouge1"] == perfect["summary"]["rougeL"] == 1.0
    assert perfect["summary"]["key_fact_recall"] == pytest.approx(2 / 3)
    assert perfect["summary"]["key_facts_missing"] == ["Putin"]
    assert perfect["translation"]["key_fact_recall"] == pytest.approx(2 / 3)
    stemmed = score_run(hand_run(tmp_path / "b", EXAMPLE_NL, EXAMPLE_REFS, EXAMPLE_SYS, summary="Dogs bit back."))
    assert stemmed["summary"]["detail"]["rouge1"]["precision"] == 1.0, "Porter stemming: dogs→dog"


def test_score_run_without_summary_has_no_summary_scores(seed_runs: dict[str, Path]) -> None:
    scores = score_run(seed_runs["greedy"], write=False)
    assert scores["summary"] is None and "rouge" not in scores["signature"]
    assert scores["translation"]["key_fact_recall"] is not None
    assert not (seed_runs["greedy"] / SCORES_FILE).exists()


def test_score_untranslated_word_method() -> None:
    hypothesis = "Minsk bezwijkt not yet under de pressure van Poetin."
    source = "Minsk bezwijkt nog niet onder de druk."
    reference = "Minsk is not yet buckling under the pressure."
    assert untranslated_words(hypothesis, source, reference) == ["bezwijkt", "de", "van"]
    assert untranslated_words("In de facto terms", "de facto", "de facto") == []
    assert {"in", "is", "over", "door", "want", "die", "was", "we"}.isdisjoint(DUTCH_FUNCTION_WORDS)


def test_score_untranslated_counts_add_up(default_scores: dict[str, Any]) -> None:
    untranslated = default_scores["untranslated"]
    per_snippet = [w for s in default_scores["translation"]["snippets"] for w in s["untranslated"]]
    assert untranslated["count"] == len(per_snippet) == sum(untranslated["words"].values())
    assert "Dutch" in untranslated["method"]


def test_score_rebuilds_the_input_from_records_when_the_article_is_gone(
    seed_runs: dict[str, Path], default_scores: dict[str, Any], tmp_path: Path
) -> None:
    copy = tmp_path / "doc" / "run"
    shutil.copytree(seed_runs["default"], copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["input"]["path"] = manifest["input"]["resolved"] = str(tmp_path / "gone.txt")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    rebuilt = score_run(copy, SEED_REFS, write=False)
    assert rebuilt["inputs"]["text_from"] == "aligned.jsonl"
    assert rebuilt["translation"]["snippets"] == default_scores["translation"]["snippets"]


def test_score_stored_scores_go_stale_when_outputs_change(seed_runs: dict[str, Path], tmp_path: Path) -> None:
    copy = tmp_path / "doc" / "run"
    shutil.copytree(seed_runs["default"], copy)
    stored = score_run(copy, SEED_REFS)
    assert load_scores(copy) == stored
    (copy / "summary.extractive.txt").write_text("Another summary.\n")
    assert load_scores(copy) is None


def test_score_errors(seed_runs: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(NoRunsError) as caught:
        find_run_dirs(tmp_path)
    assert caught.value.code == "E811" and "no run directories" in str(caught.value)
    with pytest.raises(NoRunsError, match="no such directory"):
        find_run_dirs(tmp_path / "missing")
    with pytest.raises(ReferencesNotFoundError):
        score_run(seed_runs["greedy"], tmp_path / "none.refs.toml")
    bad = tmp_path / "bad.refs.toml"
    bad.write_text("[[translation]]\nnl = 1\n")
    with pytest.raises(ReferencesFormatError):
        score_run(seed_runs["greedy"], bad)
    foreign = tmp_path / "foreign.refs.toml"
    foreign.write_text('[[translation]]\nnl = "Dit staat niet in het artikel."\nen = "Not in the article."\n')
    with pytest.raises(ReferencesMismatchError, match="not found in the run's input"):
        score_run(seed_runs["greedy"], foreign)


def test_score_cli_scores_a_tree_and_prints_a_table(seed_runs: dict[str, Path]) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["score", str(seed_runs["default"].parent.parent)])
    assert result.exit_code == 0, result.output
    assert "default" in result.stdout and "greedy" in result.stdout and "BLEU" in result.stdout
    assert "nrefs:1" in result.stdout and "2 scored" in result.stderr
    for run_dir in seed_runs.values():
        assert json.loads((run_dir / SCORES_FILE).read_text())["translation"]["snippet_count"] == 45


def test_score_cli_errors_are_one_line(seed_runs: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(app, ["score", str(tmp_path)])
    assert empty.exit_code == 1 and empty.stderr.startswith("error [E811]") and len(empty.stderr.splitlines()) == 1
    bad = tmp_path / "bad.refs.toml"
    bad.write_text("not toml [")
    malformed = runner.invoke(app, ["score", str(seed_runs["greedy"]), "--refs", str(bad)])
    assert malformed.exit_code == 1 and malformed.stderr.startswith("error [E802]")
    missing = runner.invoke(app, ["score", str(seed_runs["greedy"]), "--refs", str(tmp_path / "x.refs.toml")])
    assert missing.exit_code == 1 and "error [E801]" in missing.stderr and "Traceback" not in missing.output


def test_score_and_compare_import_neither_torch_nor_transformers(seed_runs: dict[str, Path]) -> None:
    code = f"""
import sys
from pathlib import Path
import pipeline.cli.app
from pipeline.evaluation.score import score_run
from pipeline.evaluation.compare import compare_runs, render_html, render_markdown
score_run(Path({str(seed_runs["default"])!r}))
comparison = compare_runs(Path({str(seed_runs["default"].parent)!r}), resamples=20)[0]
render_html(comparison), render_markdown([comparison])
print("torch" in sys.modules, "transformers" in sys.modules, len(comparison.rows))
"""
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["False", "False", "2"]


def write_english_article(root: Path, sentences: list[str]) -> Path:
    """An English text with the seed's references beside it (their summary is what gets scored)."""
    root.mkdir(parents=True, exist_ok=True)
    article = root / "article.txt"
    article.write_text(" ".join(sentences[:20]) + "\n")
    shutil.copy(SEED_REFS, root / "article.refs.toml")
    return article


def test_score_scores_summarize_runs(tmp_path: Path, english_sentences: list[str]) -> None:
    from pipeline.runs.batch import BatchPlan
    from pipeline.runs.sessions import SummarizerSpec, open_summarizer
    from pipeline.runs.summary_stage import summarize_paths

    article = write_english_article(tmp_path, english_sentences)
    session = open_summarizer(SummarizerSpec("extractive", sentences=3))
    report = summarize_paths([article], session, BatchPlan(tmp_path / "out", "s"))
    [run_dir] = report.written
    assert find_run_dirs(tmp_path / "out") == [run_dir]
    scores = score_run(run_dir)
    assert scores["summary"]["file"] == "summary.extractive.txt" and scores["summary"]["rouge1"] is not None
    assert scores["translation"]["snippet_count"] == 0 and scores["translation"]["bleu"] is None
    result = CliRunner().invoke(app, ["score", str(tmp_path / "out")])
    assert result.exit_code == 0 and "1 scored" in result.output


def test_score_finds_references_from_any_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.runs.batch import BatchPlan, translate_paths
    from tests.runs.test_batch import ScriptedTranslator

    inputs, elsewhere = tmp_path / "inputs", tmp_path / "elsewhere"
    inputs.mkdir()
    elsewhere.mkdir()
    shutil.copy(SEED, inputs / "doc.txt")
    shutil.copy(SEED_REFS, inputs / "doc.refs.toml")
    monkeypatch.chdir(inputs)
    translator = CachedTranslator(ScriptedTranslator(), None, signature_for("sha256:scripted"))
    report = translate_paths([Path("doc.txt")], translator, BatchPlan(tmp_path / "runs", "r"))
    manifest = json.loads((report.written[0] / "manifest.json").read_text())
    assert manifest["input"]["path"] == "doc.txt" and manifest["input"]["resolved"] == str(inputs / "doc.txt")
    monkeypatch.chdir(elsewhere)  # neither the input's directory nor one above the run
    scores = score_run(report.written[0], write=False)
    assert scores["inputs"]["refs"] == str(inputs / "doc.refs.toml")
    assert scores["translation"]["snippet_count"] > 0


def test_score_dutch_function_words_are_not_english_words() -> None:
    spelt_alike = {"er", "heel", "hem", "hoe", "op", "tot", "dan", "in", "is", "over", "door", "want", "die", "was"}
    assert not DUTCH_FUNCTION_WORDS & spelt_alike
    assert untranslated_words("Dan is in the op", "", "") == [], "English text has no Dutch words"


def test_score_summary_faithfulness_against_the_translation(seed_runs: dict[str, Path]) -> None:
    from pipeline.evaluation.faithfulness import entity_precision, number_precision

    result = score_run(seed_runs["default"], write=False)
    summary = result["summary"]
    text = (seed_runs["default"] / "translation.en.txt").read_text(encoding="utf-8")
    summary_text = next(seed_runs["default"].glob("summary*.txt")).read_text(encoding="utf-8").strip()
    assert summary["faithfulness"]["entities"] == entity_precision(summary_text, text, builtin_glossary())
    assert summary["entity_precision"] == summary["faithfulness"]["entities"]["precision"]
    assert summary["number_precision"] == number_precision(summary_text, text)["precision"]
    # the extractive summary copies sentences of the translation: whatever it names, the source has
    assert summary["entity_precision"] in (None, 1.0) and summary["number_precision"] in (None, 1.0)
    assert "faithfulness" not in (result["translation"] or {})


def test_score_one_refs_file_refuses_runs_of_different_inputs(seed_runs: dict[str, Path], tmp_path: Path) -> None:
    from tests.evaluation.test_compare import mixed_runs

    doc = mixed_runs(seed_runs, tmp_path)
    result = CliRunner().invoke(app, ["score", str(doc), "--refs", str(SEED_REFS)])
    assert result.exit_code == 1 and result.stderr.startswith("error [E830]") and len(result.stderr.splitlines()) == 1
    assert not (doc / "greedy" / SCORES_FILE).exists(), "nothing scored against the wrong article"
    alone = CliRunner().invoke(app, ["score", str(doc / "default"), "--refs", str(SEED_REFS)])
    assert alone.exit_code == 0, alone.output
