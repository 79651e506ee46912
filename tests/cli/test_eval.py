"""``nl2en eval``: guards on correct pairs and damaged copies, sentence boundaries; errors on one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app

PAIRS = [
    (
        "Rusland en Wit-Rusland voeren gesprekken over integratie.",
        "Russia and Belarus are holding talks on integration.",
    ),
    ("Poetin sprak in Moskou met de pers.", "Putin spoke to the press in Moskou."),  # repaired to Moscow
    ("Het kabinet viel op 1 juli.", "The cabinet fell on 2 July."),  # number_mismatch
]


def _pairs_file(folder: Path, rows: list[tuple[str, str]] = PAIRS) -> Path:
    path = folder / "pairs.tsv"
    lines = ["doc\tnl\ten", *(f"d{i}\t{nl}\t{en}" for i, (nl, en) in enumerate(rows))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, ["eval", *args])


def test_eval_guards_json_and_one_line_per_row(tmp_path: Path) -> None:
    out = tmp_path / "rows.jsonl"
    result = _run("guards", str(_pairs_file(tmp_path)), "--json", "--out", str(out))
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload == {
        "pairs": 3,
        "flagged": {
            "empty_output": 0,
            "repetition": 0,
            "length_ratio": 0,
            "untranslated": 0,
            "number_mismatch": 1,
            "glossary_missing": 0,
            "chatter": 0,
            "added_content": 0,
        },
        "any": 1,
    }
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == [
        {"index": 0, "flags": [], "repairs": []},
        {"index": 1, "flags": [], "repairs": [{"nl": "Moskou", "en": "Moscow"}]},
        {"index": 2, "flags": ["number_mismatch"], "repairs": []},
    ]


def test_eval_guards_table_and_damage(tmp_path: Path) -> None:
    result = _run("guards", str(_pairs_file(tmp_path)), "--damage")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("3 correct pairs")
    table = [line.split() for line in text.splitlines()]
    assert ["number_mismatch", "1", "33.3%"] in table and ["glossary", "repairs", "1", "33.3%"] in table
    kinds = ("number", "copy", "truncate", "loop", "exonym", "preamble", "refusal", "answer", "question")
    for kind in (*kinds, "explanation", "note", "invented", "continuation"):
        assert any(line.startswith(kind) for line in text.splitlines()), kind
    payload = json.loads(_run("guards", str(_pairs_file(tmp_path)), "--damage", "--json").stdout)
    assert payload["damage"]["copy"] == {
        "expected": "untranslated",
        "rows": 3,
        "caught": 3,
        "rate": 1.0,
        "clean_rows": 3,
        "clean_caught": 3,
        "clean_rate": 1.0,
        "any_rate": 1.0,
    }
    assert payload["cleaning_changes"] == 0
    continuation = payload["damage"]["continuation/dev"]  # every row but the last, caught or not
    assert continuation["expected"] == "added_content" and continuation["rows"] == 2
    assert continuation["rate"] == continuation["caught"] / 2
    assert sum(continuation["cleaned"].values()) == 2 and 0 <= continuation["stopped_rate"] <= 1
    assert "cleaned first, as the LLM translator does:" in text and "cleaning changes 0 correct" in text


def test_eval_guards_without_glossary_repairs_nothing(tmp_path: Path) -> None:
    out = tmp_path / "rows.jsonl"
    result = _run("guards", str(_pairs_file(tmp_path)), "--no-glossary", "--out", str(out), "--json")
    assert result.exit_code == 0 and all(not json.loads(line)["repairs"] for line in out.read_text().splitlines())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("doc\tnl\nd\tHallo\n", "error [E100]: "),
        (None, "error [E100]: cannot read "),
    ],
)
def test_eval_guards_errors_are_one_line(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "pairs.tsv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = _run("guards", str(path))
    assert result.exit_code == 1 and result.stderr.startswith(message) and len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.output


def test_eval_guards_unwritable_out_is_one_line(tmp_path: Path) -> None:
    result = _run("guards", str(_pairs_file(tmp_path)), "--out", str(tmp_path / "missing" / "rows.jsonl"))
    assert result.exit_code == 1 and result.stderr.startswith("error [E400]: cannot write")
    assert len(result.stderr.splitlines()) == 1


def _corpus(folder: Path) -> Path:
    folder.mkdir()
    (folder / "a.txt").write_text("Eerste zin. Tweede zin.", encoding="utf-8")
    (folder / "b.txt").write_text("Een zin. Nog een.", encoding="utf-8")
    gold = [{"doc": "a", "ends": [11, 23]}, {"doc": "b", "ends": [17]}]
    (folder / "gold.jsonl").write_text("\n".join(json.dumps(g) for g in gold) + "\n", encoding="utf-8")
    return folder


def test_eval_segmentation_prints_errors_and_figures(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    result = _run("segmentation", str(corpus))
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("false  b@8: …Een zin. ‖  Nog een.")
    assert lines[-2] == "documents 2  gold 3  found 4  P 0.750  R 1.000  F1 0.857  (missed 0, false 1)"
    assert lines[-1].startswith(f"corpus {corpus}  half all  sentencex ")
    even = _run("segmentation", str(corpus), "--half", "even", "--no-errors").stdout.strip().splitlines()
    assert even[0].startswith("documents 1  gold 1  found 2") and "half even" in even[1]


def test_eval_segmentation_missing_corpus_is_one_line(tmp_path: Path) -> None:
    result = _run("segmentation", str(tmp_path / "absent"))
    assert result.exit_code == 1 and result.stderr.startswith("error [E100]: corpus folder not found")
    assert len(result.stderr.splitlines()) == 1


def test_eval_help_lists_both_commands(cli: Any) -> None:
    result = cli("eval", "--help")
    assert result.returncode == 0
    assert "guards" in result.stdout.decode() and "segmentation" in result.stdout.decode()
