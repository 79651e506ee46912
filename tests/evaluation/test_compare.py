"""Comparing runs: one row per run, sacrebleu's paired bootstrap, best values, reports in four formats."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.errors import CompareError, NoRunsError
from pipeline.evaluation.compare import (
    HTML_FILE,
    Comparison,
    best_values,
    compare_runs,
    diff_words,
    render_html,
    render_json,
    render_markdown,
    write_html,
)
from pipeline.evaluation.score import SCORES_FILE
from tests.evaluation.test_score import build_seed_runs

RESAMPLES = 200  # enough to exercise the test; the CLI default is sacrebleu's 1000


@pytest.fixture(scope="module")
def seed_runs(tiny_marian: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_seed_runs(tiny_marian, tmp_path_factory.mktemp("outputs"))


@pytest.fixture(scope="module")
def comparison(seed_runs: dict[str, Path]) -> Comparison:
    comparisons = compare_runs(seed_runs["default"].parent.parent, resamples=RESAMPLES)
    assert len(comparisons) == 1
    return comparisons[0]


def manifest(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "manifest.json").read_text())


def test_compare_one_row_per_run_with_settings_speed_and_cache(
    comparison: Comparison, seed_runs: dict[str, Path]
) -> None:
    assert [row["run"] for row in comparison.rows] == ["default", "greedy"] and comparison.baseline == "default"
    default, greedy = comparison.rows
    assert "beams=1" in greedy["decoding"] and "max_new_tokens=8" in greedy["decoding"]
    assert default["summarizer"] == "extractive" and greedy["summarizer"] is None
    translator_backend = manifest(seed_runs["greedy"])["translator"]["backend"]
    assert greedy["backend"].split("/")[0] == translator_backend
    assert default["backend"].startswith(translator_backend) and default["backend"].endswith("+builtin")
    for row in comparison.rows:
        info = manifest(seed_runs[row["run"]])
        generated = info["segments"]["generated_tokens"]  # none when another module built the runs first (cache)
        speed = generated / info["timings"]["translate_s"] if generated else None
        assert row["tokens_per_s"] == speed
        assert row["translate_s"] == info["timings"]["translate_s"]
        assert row["cache_hits"] == info["cache"]["hits"]
        assert row["cache_lookups"] == info["cache"]["hits"] + info["cache"]["misses"] == 47
        stored = json.loads((seed_runs[row["run"]] / SCORES_FILE).read_text())
        assert row["bleu"] == stored["translation"]["bleu"] and row["chrf"] == stored["translation"]["chrf"]
    assert default["rouge1"] is not None and greedy["rouge1"] is None


def test_compare_paired_bootstrap_is_sacrebleus(comparison: Comparison, seed_runs: dict[str, Path]) -> None:
    from sacrebleu.metrics import BLEU, CHRF
    from sacrebleu.significance import PairedTest

    stored = {name: json.loads((path / SCORES_FILE).read_text()) for name, path in seed_runs.items()}
    refs = [s["reference"] for s in stored["default"]["translation"]["snippets"]]
    systems: list[tuple[str, Sequence[str]]] = [
        (name, [s["hypothesis"] for s in stored[name]["translation"]["snippets"]]) for name in ("default", "greedy")
    ]
    _, table = PairedTest(systems, {"BLEU": BLEU(), "chrF": CHRF()}, [refs], test_type="bs", n_samples=RESAMPLES)()
    greedy = comparison.significance["greedy"]
    assert greedy["bleu"]["p_value"] == table["BLEU"][1].p_value  # type: ignore[union-attr]
    assert greedy["chrf"]["p_value"] == table["chrF2"][1].p_value  # type: ignore[union-attr]
    assert greedy["chrf"]["score"] == stored["greedy"]["translation"]["chrf"]
    assert comparison.significance["default"]["bleu"]["p_value"] is None
    assert comparison.rows[1]["p_bleu"] == greedy["bleu"]["p_value"]
    assert "bs:200" in comparison.signatures["paired_bootstrap"]


def test_compare_equal_scores_are_never_called_significant(comparison: Comparison) -> None:
    greedy = comparison.significance["greedy"]
    for metric in ("bleu", "chrf"):
        if greedy[metric]["score"] == comparison.significance["default"][metric]["score"]:
            assert not greedy[metric]["significant"], "sacrebleu gives p = 1/(n+1) for equal scores"
        else:
            assert greedy[metric]["significant"] == (greedy[metric]["p_value"] < 0.05)


def test_compare_best_values_per_column() -> None:
    def row(run: str, **values: float | None) -> dict[str, Any]:
        keys: tuple[str, ...] = ("bleu", "chrf", "ter", "rouge1", "rouge2", "rougeL", "facts_summary")
        keys += ("facts_translation", "untranslated", "translate_s", "summarize_s", "tokens_per_s")
        return {"run": run, **dict.fromkeys(keys), **values}

    rows = [
        row("a", bleu=20.04, ter=60.0, chrf=50.0, untranslated=3, tokens_per_s=100.0),
        row("b", bleu=20.01, ter=55.0, chrf=50.0, untranslated=3, tokens_per_s=250.0, rouge1=0.3),
        row("c", bleu=12.0, ter=70.0, chrf=50.0, untranslated=1),
    ]
    best = best_values(rows)
    assert best["bleu"] == ["a", "b"], "equal as shown (20.0) is a tie"
    assert best["ter"] == ["b"] and best["untranslated"] == ["c"] and best["tokens_per_s"] == ["b"]
    assert "chrf" not in best, "all equal: nothing to mark"
    assert "rouge1" not in best, "a single value is not a comparison"


def test_compare_sentences_side_by_side(comparison: Comparison, seed_runs: dict[str, Path]) -> None:
    records = {
        name: [json.loads(line) for line in (path / "aligned.jsonl").read_text().splitlines()]
        for name, path in seed_runs.items()
    }
    translated = [r for r in records["default"] if r["translated"]]
    assert [s["index"] for s in comparison.sentences] == [r["index"] for r in translated]
    for sentence, default, greedy in zip(
        comparison.sentences, translated, [r for r in records["greedy"] if r["translated"]], strict=True
    ):
        assert sentence["source"] == default["source"]
        assert sentence["outputs"] == [default["target"], greedy["target"]]
        assert sentence["differs"] == (default["target"] != greedy["target"])
    with_reference = [s for s in comparison.sentences if s["reference"]]
    assert len(with_reference) >= 40, "single-sentence snippets give their sentence a reference"


def test_compare_diff_words_marks_inserted_and_replaced_words() -> None:
    assert diff_words("the cat sat", "the dog sat down") == [
        ("the", False),
        ("dog", True),
        ("sat", False),
        ("down", True),
    ]
    assert diff_words("same words", "same words") == [("same", False), ("words", False)]
    assert diff_words(None, "new") == [("new", True)] and diff_words("old", None) == []


class ReportParser(HTMLParser):
    """Collects what the report test checks: tables and their body rows, tags, and resource links."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.table_rows: dict[str, int] = {}
        self.links: list[str] = []
        self._table: str | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        attributes = dict(attrs)
        self.links += [v for k, v in attrs if k in ("src", "href", "srcset", "xlink:href", "action") and v]
        if tag == "table":
            self._table = attributes.get("class") or ""
            self.table_rows[self._table] = 0
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body and self._table is not None:
            self.table_rows[self._table] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None


def test_compare_html_report_is_self_contained(comparison: Comparison) -> None:
    path = write_html(comparison)
    assert path == comparison.doc_dir / HTML_FILE
    page = path.read_text()
    parser = ReportParser()
    parser.feed(page)
    assert parser.table_rows["scores"] == parser.table_rows["runs"] == 2, "one row per run"
    assert parser.table_rows["sentences"] == len(comparison.sentences)
    assert "svg" in parser.tags and parser.tags.count("rect") >= 2 and "style" in parser.tags
    assert not {"script", "link", "img", "iframe", "object"} & set(parser.tags)
    assert [link for link in parser.links if "://" in link or link.startswith("//")] == []
    assert "http://" not in page and "https://" not in page and "@import" not in page and "url(" not in page
    assert page.count(f">{comparison.rows[0]['run']}<") >= 2 and "<mark>" in page


def test_compare_html_escapes_what_it_shows(comparison: Comparison) -> None:
    hostile = {**comparison.sentences[0], "source": '<script src="https://x.test/a.js"></script>'}
    page = render_html(dataclasses.replace(comparison, sentences=[hostile]))
    parser = ReportParser()
    parser.feed(page)
    assert "script" not in parser.tags and parser.links == []


def test_compare_markdown_and_json(comparison: Comparison) -> None:
    markdown = render_markdown([comparison])
    assert markdown.startswith(f"## {comparison.doc}")
    assert sum(line.startswith(("| default |", "| greedy |")) for line in markdown.splitlines()) == 4
    assert "### Sentences" in markdown and "### Summaries" in markdown
    assert "### Sentences" not in render_markdown([comparison], sentences=False)
    data = json.loads(render_json([comparison]))
    assert len(data) == 1 and data[0]["baseline"] == "default"
    assert [r["run"] for r in data[0]["runs"]] == ["default", "greedy"]
    assert data[0]["significance"]["greedy"]["bleu"]["p_value"] == comparison.significance["greedy"]["bleu"]["p_value"]
    assert len(data[0]["sentences"]) == len(comparison.sentences)
    assert data[0]["summaries"]["greedy"] is None and data[0]["summaries"]["default"]


def test_compare_rescores_runs_whose_scores_are_missing(seed_runs: dict[str, Path], tmp_path: Path) -> None:
    copy = tmp_path / "outputs"
    shutil.copytree(seed_runs["default"].parent.parent, copy)
    stale = copy / seed_runs["greedy"].parent.name / "greedy" / SCORES_FILE
    stale.unlink(missing_ok=True)
    result = compare_runs(copy, resamples=20)[0]
    assert stale.is_file() and result.rows[1]["chrf"] is not None


def test_compare_run_without_references_is_shown_unscored(seed_runs: dict[str, Path], tmp_path: Path) -> None:
    run_dir = tmp_path / "outputs" / "other" / "run"
    shutil.copytree(seed_runs["greedy"], run_dir)
    (run_dir / SCORES_FILE).unlink(missing_ok=True)
    info = manifest(run_dir)
    info["input"]["path"] = info["input"]["resolved"] = str(tmp_path / "other.txt")
    (run_dir / "manifest.json").write_text(json.dumps(info))
    result = compare_runs(tmp_path / "outputs", resamples=20)[0]
    assert result.rows[0]["bleu"] is None and "no references" in result.rows[0]["note"]
    assert result.significance == {} and "<svg" not in render_html(result)


def test_compare_errors(seed_runs: dict[str, Path], tmp_path: Path) -> None:
    root = seed_runs["default"].parent.parent
    with pytest.raises(CompareError) as caught:
        compare_runs(root, doc="nope")
    assert caught.value.code == "E820" and seed_runs["default"].parent.name in str(caught.value)
    with pytest.raises(CompareError, match="no run named"):
        compare_runs(root, baseline="nope")
    with pytest.raises(NoRunsError):
        compare_runs(tmp_path)


def test_compare_cli_formats_and_errors(seed_runs: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    root = str(seed_runs["default"].parent.parent)
    html_run = runner.invoke(app, ["compare", root, "--format", "html", "--resamples", "20"])
    assert html_run.exit_code == 0, html_run.output
    assert html_run.stdout.strip() == str(seed_runs["default"].parent / HTML_FILE)
    table = runner.invoke(app, ["compare", root, "--resamples", "20", "--baseline", "greedy"])
    assert table.exit_code == 0 and "baseline (greedy)" in table.stdout and "sentences" in table.stdout
    md = runner.invoke(app, ["compare", root, "--doc", seed_runs["default"].parent.name, "-f", "md", "--brief"])
    assert md.exit_code == 0 and "| greedy |" in md.stdout and "### Sentences" not in md.stdout
    as_json = runner.invoke(app, ["compare", root, "--format", "json", "--resamples", "20"])
    assert as_json.exit_code == 0 and json.loads(as_json.stdout)[0]["doc"] == seed_runs["default"].parent.name
    unknown = runner.invoke(app, ["compare", root, "--doc", "nope"])
    assert (
        unknown.exit_code == 1 and unknown.stderr.startswith("error [E820]") and len(unknown.stderr.splitlines()) == 1
    )
    empty = runner.invoke(app, ["compare", str(tmp_path)])
    assert empty.exit_code == 1 and empty.stderr.startswith("error [E811]")
    bad_format = runner.invoke(app, ["compare", root, "--format", "pdf"])
    assert bad_format.exit_code == 2


@pytest.mark.parametrize(
    ("changes", "family"),
    [
        ({}, "Marian"),  # config.json at the recorded path
        ({"path": "<tiny_nllb>"}, "NLLB"),  # a many-to-many M2M100 with NLLB's tokenizer
        ({"path": "/gone", "model": "m", "hub_id": "Helsinki-NLP/opus-mt-nl-en"}, "Marian"),  # files gone: hub id
        ({"path": "/gone", "model": "m", "hub_id": "facebook/nllb-200-distilled-600M"}, "NLLB"),
        ({"path": None, "model": "m", "source": None}, None),  # an older manifest of a model no longer here
        ({"prompt": {"family": "eurollm", "template": "translate/eurollm", "digest": "sha256:" + "ab" * 32}}, "LLM"),
    ],
)
def test_compare_family_and_prompt_from_the_manifest(
    seed_runs: dict[str, Path], tiny_nllb: Path, tmp_path: Path, changes: dict[str, Any], family: str | None
) -> None:
    from pipeline.evaluation.compare.model import RunView, run_row
    from pipeline.evaluation.compare.tables import runs_table
    from pipeline.runs.manifest import RunManifest

    info = manifest(seed_runs["greedy"])
    info["translator"].update(changes)
    if changes.get("path") == "<tiny_nllb>":
        info["translator"]["path"] = str(tiny_nllb)
    row = run_row(RunView(tmp_path, RunManifest.from_json(info), [], None, None))
    prompt = "translate/eurollm@abababab context=0" if "prompt" in changes else None
    assert (row["family"], row["prompt"]) == (family, prompt)
    header, [cells] = runs_table(Comparison("doc", tmp_path, [], [row], {}, {}, [], None))
    assert [cells[header.index(k)].text for k in ("family", "prompt")] == [family or "–", prompt or "–"]


def test_compare_tokens_per_second_counts_only_generated_tokens(tmp_path: Path) -> None:
    from pipeline.evaluation.compare.model import RunView, run_row
    from pipeline.runs.manifest import RunManifest

    def row(segments: dict[str, int], hits: int) -> Any:
        info = {"segments": segments, "timings": {"translate_s": 2.0}, "cache": {"hits": hits, "misses": 5}}
        return run_row(RunView(tmp_path, RunManifest.from_json(info), [], None, None))["tokens_per_s"]

    assert row({"target_tokens": 100, "generated_tokens": 40}, hits=5) == 20.0, "60 cached tokens cost no time"
    assert row({"target_tokens": 100, "generated_tokens": 0}, hits=10) is None
    assert row({"target_tokens": 100}, hits=0) == 50.0, "older manifests without cache hits: all generated"
    assert row({"target_tokens": 100}, hits=3) is None, "older manifests with cache hits: unknown"


def test_compare_shows_summarize_runs(tmp_path: Path, english_sentences: list[str]) -> None:
    from pipeline.runs.batch import BatchPlan
    from pipeline.runs.sessions import SummarizerSpec, open_summarizer
    from pipeline.runs.summary_stage import summarize_paths
    from tests.evaluation.test_score import write_english_article

    article = write_english_article(tmp_path, english_sentences)
    out = tmp_path / "out"
    for sentences in (2, 3):
        session = open_summarizer(SummarizerSpec("extractive", sentences=sentences))
        report = summarize_paths([article], session, BatchPlan(out, session.run_name))
        assert not report.failed, report.failed
    [comparison] = compare_runs(out, resamples=RESAMPLES)
    assert [row["run"] for row in comparison.rows] == ["extractive-sentences2", "extractive-sentences3"]
    assert all(row["rouge1"] is not None and row["bleu"] is None for row in comparison.rows)
    assert all(view.summary for view in comparison.runs)


def test_compare_puts_two_model_families_side_by_side(tiny_marian: Path, tiny_nllb: Path, tmp_path: Path) -> None:
    """A Marian run and an NLLB run of the same article, scored and compared as two rows."""
    from tests.conftest import SEED, run_cli

    out = tmp_path / "out"
    for model in (tiny_marian, tiny_nllb):
        done = run_cli("translate", str(SEED), "--model", str(model), "--out", str(out), "--max-new-tokens", "6")
        assert done.returncode == 0, done.stderr.decode()[-2000:]
    compared = run_cli("compare", str(out), "--format", "json", "--resamples", "20")
    assert compared.returncode == 0, compared.stderr.decode()[-2000:]
    (document,) = json.loads(compared.stdout)
    translators = {row["translator"] for row in document["runs"]}
    assert len(document["runs"]) == 2 and len(translators) == 2, translators
    assert all(row["bleu"] is not None and row["chrf"] is not None for row in document["runs"])


def test_compare_html_shows_flags_terms_attempts_and_guard_counts(comparison: Comparison) -> None:
    page = render_html(comparison)
    parser = ReportParser()
    parser.feed(page)
    assert parser.table_rows["guards"] == len(comparison.runs), "guard counts: one row per run"
    assert parser.table_rows["sentences"] == len(comparison.sentences), "attempt lists add no table rows"
    flagged = [q for s in comparison.sentences for q in s["quality"] if q and q["flags"]]
    retried = [q for s in comparison.sentences for q in s["quality"] if q and len(q["attempts"]) > 1]
    assert flagged and retried, "random weights give flagged and retried segments"
    titles: list[tuple[str, str]] = []

    class Flags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found = dict(attrs)
            if tag == "span" and (found.get("class") or "").startswith("flag ") and found.get("title"):
                titles.append(((found["class"] or "")[5:], found["title"] or ""))

    Flags().feed(page)
    shown = {(name, json.dumps(json.loads(title), sort_keys=True)) for name, title in titles}
    for quality in flagged:
        for flag in quality["flags"]:
            assert (flag["name"], json.dumps(flag["evidence"], sort_keys=True)) in shown, "evidence on hover (title)"
    assert page.count('<details class="attempts">') == len(retried)
    assert "Quality control" in page and "Glossary consistency" in page


def test_compare_html_shows_the_glossary_consistency_table(comparison: Comparison) -> None:
    rows = [dict(r) for r in comparison.rows]
    rows[0]["quality"] = {**rows[0]["quality"], "consistency": {"Poetin": {"Putin": 3, "Poetin": 1}}}
    rows[1]["quality"] = {**rows[1]["quality"], "consistency": {"Poetin": {"Putin": 4}}}
    page = render_html(dataclasses.replace(comparison, rows=rows))
    parser = ReportParser()
    parser.feed(page)
    assert parser.table_rows["consistency"] == 1
    assert '<td class="variants">Putin × 3; Poetin × 1</td><td>Putin × 4</td>' in page


def test_compare_report_in_a_real_browser(comparison: Comparison, tmp_path: Path) -> None:
    """Chromium renders the report: every section is there, nothing errs, and a screenshot is kept."""
    import os

    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if os.environ.get("NL2EN_REQUIRE_BROWSER") != "1":
        if chromium is None:
            pytest.skip("Debian's chromium is not installed (`make test` installs it as root)")
        pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
    assert chromium is not None, "NL2EN_REQUIRE_BROWSER=1 but chromium is missing"
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "compare.html"
    page_file.write_text(render_html(comparison), encoding="utf-8")
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(page_file.as_uri())
            headings = page.locator("h2").all_inner_texts()
            assert headings == [
                "Scores", "Runs", "Chart", "Quality control", "Sentences", "Summaries", "Signatures",
            ]  # fmt: skip
            assert page.locator("table.guards tbody tr").count() == len(comparison.runs)
            assert page.locator("table.sentences tbody tr").count() == len(comparison.sentences)
            assert page.locator("svg rect").count() >= 2
            flag = page.locator("table.sentences span.flag").first
            assert flag.is_visible() and json.loads(flag.get_attribute("title") or "") is not None
            details = page.locator("details.attempts").first
            assert not details.locator("ol").is_visible(), "attempts start folded"
            details.locator("summary").click()
            assert details.locator("ol").is_visible() and details.locator("li").count() >= 2
            page.screenshot(path=str(tmp_path / "compare.png"), full_page=False)
        finally:
            browser.close()
    assert errors == [], errors
    assert requests == [page_file.as_uri()], "the page loads nothing else"
    assert (tmp_path / "compare.png").stat().st_size > 10_000


def mixed_runs(seed_runs: dict[str, Path], root: Path) -> Path:
    """A document folder from before folders had owners: the seed's run beside a run of another article."""
    doc = root / "outputs" / seed_runs["default"].parent.name
    shutil.copytree(seed_runs["default"], doc / "default")
    shutil.copytree(seed_runs["greedy"], doc / "greedy")
    other = root / "other" / seed_runs["default"].parent.name
    other.parent.mkdir()
    other.write_text("Een heel ander artikel.\n")
    info = manifest(doc / "greedy")
    info["input"].update(path=str(other), resolved=str(other), sha256="f" * 64)
    (doc / "greedy" / "manifest.json").write_text(json.dumps(info))
    for run in ("default", "greedy"):
        (doc / run / SCORES_FILE).unlink(missing_ok=True)
    return doc


def test_compare_refuses_runs_of_different_inputs(seed_runs: dict[str, Path], tmp_path: Path) -> None:
    from pipeline.errors import MixedInputsError

    doc = mixed_runs(seed_runs, tmp_path)
    with pytest.raises(MixedInputsError) as caught:
        compare_runs(doc.parent, resamples=20)
    assert caught.value.code == "E830" and "different inputs" in str(caught.value)
    result = CliRunner().invoke(app, ["compare", str(doc.parent), "--doc", doc.name])
    assert result.exit_code == 1 and result.stderr.startswith("error [E830]") and len(result.stderr.splitlines()) == 1
    assert not list(doc.rglob(SCORES_FILE)), "refused before anything was scored"


def test_compare_baseline_stays_the_oldest_run_when_it_is_run_again(tmp_path: Path) -> None:
    from pipeline.runs.batch import BatchPlan, translate_paths
    from pipeline.runs.cache import CachedTranslator
    from tests.runs.test_batch import ScriptedTranslator
    from tests.support.signatures import signature_for

    article = tmp_path / "stuk.txt"
    article.write_text("Een zin. Nog een zin.\n")
    out = tmp_path / "out"

    def publish(run: str) -> Path:
        translator = CachedTranslator(ScriptedTranslator(), None, signature_for("sha256:scripted"))
        [run_dir] = translate_paths([article], translator, BatchPlan(out, run)).written
        return run_dir

    older = publish("z-older")  # named to sort last: only its age makes it the baseline
    info = manifest(older)
    info["created"] = "2020-01-01T00:00:00+0000"  # made long ago
    (older / "manifest.json").write_text(json.dumps(info))
    publish("a-newer")
    assert compare_runs(out, resamples=20)[0].baseline == "z-older"
    publish("z-older")  # the baseline run again (what a fully cached re-run does)
    assert manifest(older)["created"] == "2020-01-01T00:00:00+0000"
    assert compare_runs(out, resamples=20)[0].baseline == "z-older"


# --- cell values and terminal layout (items 11 and 12) ------------------------------------------

LONG_RUN = "opus-mt-nl-en-max-new64-ctranslate2-float32+distilbart-cnn-12-6"


@pytest.fixture(scope="module")
def with_copies(seed_runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    """The seed runs, plus a byte-identical copy of the baseline under a long run name."""
    out = tmp_path_factory.mktemp("copies")
    doc = out / seed_runs["default"].parent.name
    for name, run_dir in seed_runs.items():
        shutil.copytree(run_dir, doc / name)
    shutil.copytree(seed_runs["default"], doc / LONG_RUN)
    info = manifest(doc / LONG_RUN)
    info["created"] = "2999-01-01T00:00:00+0000"  # newest: "default" stays the baseline
    (doc / LONG_RUN / "manifest.json").write_text(json.dumps(info))
    [built] = compare_runs(out, baseline="default", resamples=RESAMPLES)
    return built


def test_compare_identical_output_is_the_same_system_not_p_0001(with_copies: Comparison) -> None:
    from pipeline.evaluation.compare.tables import format_p

    copy = with_copies.significance[LONG_RUN]
    assert copy["bleu"]["p_value"] == 1.0 and copy["chrf"]["p_value"] == 1.0, "sacrebleu alone says 1/(n+1)"
    assert copy["bleu"]["same"] and not copy["bleu"]["significant"]
    row = next(r for r in with_copies.rows if r["run"] == LONG_RUN)
    assert format_p(row, "bleu", with_copies.baseline) == "same"
    greedy = next(r for r in with_copies.rows if r["run"] == "greedy")
    assert format_p(greedy, "bleu", with_copies.baseline) != "same"
    assert not with_copies.significance["greedy"]["bleu"]["same"]


def test_compare_cached_timings_are_marked_and_never_best(seed_runs: dict[str, Path], tmp_path: Path) -> None:
    from pipeline.evaluation.compare.model import RunView, run_row
    from pipeline.evaluation.compare.tables import runs_table
    from pipeline.runs.manifest import RunManifest

    def row(name: str, seconds: float, hits: int, misses: int) -> dict[str, Any]:
        info = manifest(seed_runs["greedy"])
        info.update(timings={"translate_s": seconds}, cache={"hits": hits, "misses": misses})
        return run_row(RunView(tmp_path / name, RunManifest.from_json(info), [], None, None))

    rows = [row("fresh", 0.9, 0, 47), row("cached", 0.01, 47, 0), row("slower", 1.5, 0, 47)]
    best = best_values(rows)
    assert best["translate_s"] == ["fresh"], "a fully cached run's time measures the cache"
    comparison = Comparison("doc", tmp_path, [], rows, best, {}, [], None)
    header, body = runs_table(comparison)
    cells = {r[0].text: r[header.index("translate s")] for r in body}
    assert cells["cached"].text == "0.01 (cached)" and not cells["cached"].best and cells["fresh"].best


def test_compare_decoding_shows_no_python_reprs(tmp_path: Path, english_sentences: list[str]) -> None:
    from pipeline.runs.batch import BatchPlan
    from pipeline.runs.sessions import SummarizerSpec, open_summarizer
    from pipeline.runs.summary_stage import summarize_paths
    from tests.evaluation.test_score import write_english_article

    article = write_english_article(tmp_path, english_sentences)
    session = open_summarizer(SummarizerSpec("extractive", sentences=2))
    summarize_paths([article], session, BatchPlan(tmp_path / "out", session.run_name))
    [comparison] = compare_runs(tmp_path / "out", resamples=RESAMPLES)
    assert comparison.rows[0]["decoding"] == "summary: sentences=2", "no None, no leading '; '"


def test_compare_chart_scales_its_axis_to_the_data(comparison: Comparison) -> None:
    import re

    from pipeline.evaluation.compare.html_report import svg_chart

    rows = [dict(r, ter=ter) for r, ter in zip(comparison.rows, (150.9, 143.1), strict=True)]
    svg = svg_chart(dataclasses.replace(comparison, rows=rows))
    heights = {
        label: float(h) for h, label in re.findall(r'height="([\d.]+)" fill="#\w+"><title>([^<]*TER[^<]*)</title>', svg)
    }
    assert len(heights) == 2 and len(set(heights.values())) == 2, heights
    assert "0–175 scale" in svg and ">175</text>" in svg
    assert "0–100 scale" in svg_chart(comparison), "scores within 0–100 keep the 0–100 axis"


def readable(text: str, names: list[str]) -> None:
    import re

    assert "…" not in text, text
    for name in names:
        assert name in text, f"run name {name} cut"
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[┃│]", line)[1:-1]]
        assert not any(len(c) == 1 and c.isalpha() for c in cells), f"a header folded one letter a line:\n{text}"


@pytest.mark.parametrize("width", [80, 120])
def test_compare_terminal_is_readable_at_80_and_120_columns(with_copies: Comparison, width: int) -> None:
    from rich.console import Console

    from pipeline.evaluation.compare import print_tables

    names = [view.name for view in with_copies.runs]
    for wide in (False, True):
        console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
        print_tables([with_copies], console, wide=wide)
        text = console.export_text()
        readable(text, names)
        assert "BLEU" in text and "p BLEU" in text and "same" in text and "summaries" in text
        assert all(len(line.rstrip()) <= width for line in text.splitlines()), "nothing wider than the terminal"


def test_compare_cli_honours_columns_and_wide(with_copies: Comparison) -> None:
    root = str(with_copies.doc_dir.parent)
    # 140: the 63-character run name and its family's key columns (at 120 it is one block per run)
    narrow = CliRunner().invoke(app, ["compare", root, "--brief", "--resamples", "20"], env={"COLUMNS": "140"})
    assert narrow.exit_code == 0 and "not shown:" in narrow.stdout and "--wide" in narrow.stdout
    assert "┃ family" in narrow.stdout and "Marian+extractive" in narrow.stdout, "the family is a key column"
    wide = CliRunner().invoke(app, ["compare", root, "--brief", "--wide", "--resamples", "20"], env={"COLUMNS": "140"})
    assert wide.exit_code == 0 and "not shown:" not in wide.stdout and "untransl." in wide.stdout
    readable(wide.stdout, [LONG_RUN, "default", "greedy"])
