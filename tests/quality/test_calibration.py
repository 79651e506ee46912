"""Calibrating ``low_confidence``: the percentile, the corpus, and a store that never loses entries silently."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipeline.errors import CalibrationError
from pipeline.quality.calibration import (
    Calibration,
    CalibrationStore,
    calibrate,
    corpus_sentences,
    find_news_corpus,
    percentile,
)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [([1.0], 5, 1.0), ([0.0, 10.0], 50, 5.0), ([3.0, 1.0, 2.0], 0, 1.0), ([3.0, 1.0, 2.0], 100, 3.0)],
)
def test_calibration_percentile(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_calibration_percentile_refuses_nothing() -> None:
    with pytest.raises(ValueError):
        percentile([float("nan")], 5)


def _tiny_corpus(folder: Path) -> Path:
    folder.mkdir()
    (folder / "a.txt").write_text("Een zin. Nog een zin.\n\nDerde zin hier.", encoding="utf-8")
    (folder / "gold.jsonl").write_text(json.dumps({"doc": "a", "ends": [8, 21, 38]}) + "\n", encoding="utf-8")
    return folder


def test_calibration_calibrate_and_store(tmp_path: Path) -> None:
    corpus = _tiny_corpus(tmp_path / "corpus")
    assert corpus_sentences(corpus) == ["Een zin.", "Nog een zin.", "Derde zin hier."]
    seen: list[str] = []

    def score(sentences: list[str]) -> list[float]:
        seen.extend(sentences)
        return [-len(s) / 10 for s in sentences]

    calibration = calibrate(score, "model-a", corpus, q=50)
    assert seen == corpus_sentences(corpus)
    assert calibration.threshold == pytest.approx(-1.2) and calibration.segments == 3
    assert calibration.percentile == 50 and calibration.corpus == "corpus" and "percentile" in calibration.method
    store = CalibrationStore(tmp_path / "state" / "calibration.json")
    assert store.get("model-a") is None and store.load() == {}
    store.put(calibration)
    store.put(Calibration("model-b", -2.0, 5, 10, "x", "d"))
    assert store.get("model-a") == calibration and store.get("model-b") == Calibration("model-b", -2.0, 5, 10, "x", "d")
    store.put(Calibration("model-b", -3.0, 5, 10, "x", "d"))  # replaces its own entry, keeps the other
    assert set(store.load()) == {"model-a", "model-b"} and store.load()["model-b"].threshold == -3.0
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["calibration.json", "calibration.json.lock"]


@pytest.mark.parametrize(
    "content",
    [
        "{broken",
        "[1, 2]",
        '{"m": 3}',
        '{"m": {"fingerprint": "m", "percentile": 5, "segments": 3}}',  # no threshold
        '{"m": {"fingerprint": "m", "threshold": "low", "percentile": 5, "segments": 3}}',
        '{"m": {"fingerprint": "m", "threshold": NaN, "percentile": 5, "segments": 3}}',
        "\xff\xfe not utf-8",
    ],
)
def test_calibration_corrupt_store_is_an_error_and_never_overwritten(tmp_path: Path, content: str) -> None:
    path = tmp_path / "calibration.json"
    path.write_bytes(content.encode("latin-1") if content.startswith("\xff") else content.encode("utf-8"))
    before = path.read_bytes()
    store = CalibrationStore(path)
    with pytest.raises(CalibrationError) as read:
        store.get("m")
    assert read.value.code == "E730" and str(path) in str(read.value) and "\n" not in str(read.value)
    with pytest.raises(CalibrationError):
        store.put(Calibration("other", -1.0, 5, 3, "c", "d"))
    assert path.read_bytes() == before, "a corrupt store is refused, not replaced"


def test_calibration_a_failed_write_leaves_the_store_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = CalibrationStore(tmp_path / "calibration.json")
    store.put(Calibration("model-a", -1.0, 5, 3, "c", "d"))
    before = store.path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(CalibrationError, match="cannot write"):
        store.put(Calibration("model-b", -2.0, 5, 3, "c", "d"))
    assert store.path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".calibration-")], "no temporary file left"


def test_calibration_unreadable_store_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "calibration.json"
    folder.mkdir()  # a directory where the file should be
    with pytest.raises(CalibrationError, match="cannot read"):
        CalibrationStore(folder).load()


def test_calibration_on_the_news_corpus() -> None:
    corpus = find_news_corpus()
    if corpus is None:
        pytest.skip("the shared news corpus (shared/corpora/nl-news-ud-dev) is not beside this checkout")
    sentences = corpus_sentences(corpus)
    assert len(sentences) == 718

    def score(batch: list[str]) -> list[float]:  # stands in for a model: longer sentences, lower scores
        return [-len(s) / 100 for s in batch]

    calibration = calibrate(score, "scripted", corpus, q=5)
    below = sum(-len(s) / 100 < calibration.threshold for s in sentences)
    assert calibration.segments == 718 and 0.03 <= below / 718 <= 0.06
    assert calibration.corpus == "nl-news-ud-dev" and len(calibration.corpus_digest) == 16
