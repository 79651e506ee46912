"""Sentence-boundary evaluation: counts on a hand-made corpus, halves, errors, and the shared news corpus."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.evaluation.segmentation import evaluate, load_corpus, main, select_half
from tests.conftest import ROOT

# The shared corpus lies beside the repository (../shared); NL2EN_SEGMENTATION_CORPUS points elsewhere.
NEWS_CORPUS = Path(os.environ.get("NL2EN_SEGMENTATION_CORPUS") or ROOT.parent / "shared" / "corpora" / "nl-news-ud-dev")


def write_corpus(folder: Path, docs: dict[str, tuple[str, list[int]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, (text, ends) in docs.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
        lines.append(json.dumps({"doc": name, "ends": ends}))
    (folder / "gold.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    # a: three sentences, all found; b: gold has one sentence, the segmenter finds two
    # (one false boundary); c: gold cuts after a comma, where no segmenter would (one miss).
    return write_corpus(
        tmp_path / "tiny",
        {
            "a": ("Hij kwam. Zij ging.\n\nWij bleven.\n", [9, 19, 32]),
            "b": ("Eerste zin. Tweede zin.", [23]),
            "c": ("Eerste deel, tweede deel.", [12, 25]),
        },
    )


def test_segment_eval_counts_on_hand_made_corpus(tiny_corpus: Path) -> None:
    score = evaluate(load_corpus(tiny_corpus))
    assert (score.documents, score.true_positives, score.false_positives, score.false_negatives) == (3, 5, 1, 1)
    assert score.precision == pytest.approx(5 / 6)
    assert score.recall == pytest.approx(5 / 6)
    assert score.f1 == pytest.approx(5 / 6)
    assert [(e.doc, e.offset, e.kind) for e in score.errors] == [("b", 11, "false"), ("c", 12, "missed")]
    false_split = score.errors[0]
    assert false_split.before == "Eerste zin." and false_split.after == " Tweede zin."


def test_segment_eval_perfect_and_empty_scores(tmp_path: Path) -> None:
    perfect = evaluate(load_corpus(write_corpus(tmp_path / "p", {"a": ("Ja. Nee.", [3, 8])})))
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0) and perfect.errors == []
    empty = evaluate([])
    assert (empty.documents, empty.true_positives) == (0, 0)


def test_segment_eval_halves_alternate_in_name_order(tiny_corpus: Path) -> None:
    docs = load_corpus(tiny_corpus)
    assert [d.name for d in select_half(docs, "odd")] == ["a", "c"]
    assert [d.name for d in select_half(docs, "even")] == ["b"]
    assert [d.name for d in select_half(docs, None)] == ["a", "b", "c"]


def test_segment_eval_rejects_missing_or_broken_corpus(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_corpus(tmp_path / "absent")
    (tmp_path / "nogold").mkdir()
    with pytest.raises(InputError, match=r"no gold\.jsonl"):
        load_corpus(tmp_path / "nogold")
    with pytest.raises(InputError, match="outside"):
        load_corpus(write_corpus(tmp_path / "bad", {"a": ("Kort.", [99])}))
    broken = write_corpus(tmp_path / "broken", {"a": ("Kort.", [5])})
    (broken / "gold.jsonl").write_text('{"doc": "a"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="not a gold record"):
        load_corpus(broken)


def test_segment_eval_main_prints_errors_and_figures(tiny_corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tiny_corpus)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("false  b@11: …Eerste zin. ‖  Tweede zin.")
    assert out[1].startswith("missed c@12: …Eerste deel, ‖  tweede deel.")
    assert out[-2] == "documents 3  gold 6  found 6  P 0.833  R 0.833  F1 0.833  (missed 1, false 1)"
    assert main([str(tiny_corpus), "--half", "even", "--no-errors"]) == 0
    figures, signature = capsys.readouterr().out.strip().splitlines()
    assert figures.startswith("documents 1  gold 1  found 2  P 0.500  R 1.000")
    assert signature.startswith(f"corpus {tiny_corpus}  half even  sentencex ")


def test_segment_eval_main_one_line_error_for_missing_corpus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "absent")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: corpus folder not found")
    assert len(captured.err.strip().splitlines()) == 1


@pytest.mark.skipif(not (NEWS_CORPUS / "gold.jsonl").is_file(), reason=f"news corpus not found at {NEWS_CORPUS}")
def test_segment_eval_news_corpus_meets_targets() -> None:
    docs = load_corpus(NEWS_CORPUS)
    assert len(docs) >= 50
    score = evaluate(docs)
    assert score.precision >= 0.995, score.summary()
    assert score.f1 >= 0.985, score.summary()
    for half in ("odd", "even"):
        part = evaluate(select_half(docs, half))
        assert part.precision >= 0.995 and part.f1 >= 0.985, f"{half}: {part.summary()}"
