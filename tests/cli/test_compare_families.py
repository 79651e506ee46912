"""``nl2en compare`` labels each run with its model family and an instruct model's prompt.

The real pipeline, through the command line, on the seed article: one run each of a tiny random
Marian, NLLB and Llama (opened as an instruct LLM because its config says ``LlamaForCausalLM``),
then ``nl2en compare`` as a terminal table, at a width that shows it whole and at 80 columns
(one block per run), and as the HTML report. Only labels are checked, never the random output.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import SEED, run_cli

FAMILIES = ("Marian", "NLLB", "LLM")


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.tiny_llm import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("llm") / "tiny-llama", tokenizer="byte-bpe")


@pytest.fixture(scope="module")
def three_runs(
    tiny_marian: Path, tiny_nllb: Path, tiny_llama: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str], str]:
    """The seed translated by the three models: (outputs folder, run name → family, the LLM's prompt label)."""
    out = tmp_path_factory.mktemp("compare-families") / "out"
    doc = out / SEED.stem
    families: dict[str, str] = {}
    for model, family in zip((tiny_marian, tiny_nllb, tiny_llama), FAMILIES, strict=True):
        before = set(doc.glob("*/manifest.json"))
        args = ("--out", str(out), "--max-new-tokens", "4", "--guards", "off")
        done = run_cli("translate", str(SEED), "--model", str(model), *args)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        [written] = set(doc.glob("*/manifest.json")) - before
        families[written.parent.name] = family
    [llm_run] = [name for name, family in families.items() if family == "LLM"]
    prompt = json.loads((doc / llm_run / "manifest.json").read_text())["translator"]["prompt"]
    assert prompt["context"] == 2 and prompt["template"].startswith("translate/"), prompt
    label = f"{prompt['template']}@{prompt['digest'].removeprefix('sha256:')[:8]} context=2"
    return out, families, label


def compare(out: Path, *args: str, columns: int = 400) -> str:
    done = run_cli("compare", str(out), "--resamples", "20", *args, env={"COLUMNS": str(columns)})
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return done.stdout.decode()


def runs_section(text: str) -> str:
    """The runs table (or its blocks): from its title to the first signature line."""
    start = text.index(f"{SEED.stem}: runs")
    return text[start : text.index("bleu: ", start)]


def test_compare_families_terminal_table_labels_each_run(three_runs: tuple[Path, dict[str, str], str]) -> None:
    out, families, prompt = three_runs
    text = compare(out, "--brief")
    header: list[str] = []
    rows: dict[str, dict[str, str]] = {}
    for line in runs_section(text).splitlines():
        cells = [cell.strip() for cell in re.split(r"[┃│]", line)[1:-1]]
        if line.startswith("┃"):
            header = cells
        elif line.startswith("│"):
            rows[cells[0]] = dict(zip(header, cells, strict=True))
    assert set(rows) == set(families), text
    for run, family in families.items():
        assert rows[run]["family"] == family
        assert rows[run]["prompt"] == (prompt if family == "LLM" else "–")
    scores = text[: text.index(f"{SEED.stem}: runs")]
    assert all(re.search(rf"│ {re.escape(run)} +│ {family} +│", scores) for run, family in families.items()), scores


def test_compare_families_at_80_columns_every_block_is_labelled(
    three_runs: tuple[Path, dict[str, str], str],
) -> None:
    out, families, prompt = three_runs
    section = runs_section(compare(out, "--brief", columns=80))
    starts = sorted((section.index(f"\n{run}\n"), run) for run in families)
    for (start, run), (end, _) in zip(starts, [*starts[1:], (len(section), "")], strict=True):
        block = " ".join(section[start:end].split())  # a block's items may wrap onto several lines
        assert re.findall(r"family (\w+)", block) == [families[run]], block
        assert (f"prompt {prompt}" in block) == (families[run] == "LLM"), block


class ReportTables(HTMLParser):
    """Each table's rows as (text, family label) per cell, and the chart legend's texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str]]]] = {}
        self.legend: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._label = False
        self._svg_text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table":
            self._table = found.get("class") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = ["", ""]
        elif tag == "span" and found.get("class") == "family":
            self._label = True
        elif tag == "text":
            self._svg_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append((self._cell[0].strip(), self._cell[1].strip()))
            self._cell = None
        elif tag == "span":
            self._label = False
        elif tag == "table":
            self._table = None
        elif tag == "text" and self._svg_text is not None:
            self.legend.append("".join(self._svg_text))
            self._svg_text = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[1 if self._label else 0] += data
        if self._svg_text is not None:
            self._svg_text.append(data)


def test_compare_families_html_report_labels_each_run(three_runs: tuple[Path, dict[str, str], str]) -> None:
    out, families, prompt = three_runs
    [written] = compare(out, "--format", "html").splitlines()
    assert Path(written) == out / SEED.stem / "compare.html"
    report = ReportTables()
    report.feed(Path(written).read_text(encoding="utf-8"))
    labels = {run: f"LLM · {prompt}" if family == "LLM" else family for run, family in families.items()}

    header, *body = ([text for text, _ in row] for row in report.tables["runs"])
    runs = {row[0]: dict(zip(header, row, strict=True)) for row in body}
    assert {run: (r["family"], r["prompt"]) for run, r in runs.items()} == {
        run: (family, prompt if family == "LLM" else "–") for run, family in families.items()
    }
    scores_header, *scores_body = ([text for text, _ in row] for row in report.tables["scores"])
    assert {row[0]: row[scores_header.index("family")] for row in scores_body} == families
    sentence_heads = report.tables["sentences"][0][3:]  # after #, source and reference: one per run
    assert dict(sentence_heads) == labels, "each run's column is headed by its name, family and prompt"
    for run, label in labels.items():
        assert label in report.legend and run in report.legend, "the chart's legend says it too"
