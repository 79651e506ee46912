"""Where nl2en keeps its state: one folder, moved whole by ``NL2EN_CACHE``, and ``--cache`` keeps a command's writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.locations import calibration_path, default_cache_path, digests_path, state_dir
from pipeline.quality.calibration import default_calibration_path


@pytest.fixture
def user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No ``NL2EN_CACHE``: the per-user cache folder (platformdirs reads XDG_CACHE_HOME), here a temporary one."""
    monkeypatch.delenv("NL2EN_CACHE", raising=False)
    monkeypatch.delenv("NL2EN_CALIBRATION", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "xdg" / "nl2en"


def test_locations_every_state_file_is_in_one_folder(
    user_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert state_dir() == user_cache
    assert [default_cache_path(), digests_path(), calibration_path(), default_calibration_path()] == [
        user_cache / "memory.sqlite3",
        user_cache / "file-digests.json",
        user_cache / "calibration.json",
        user_cache / "calibration.json",
    ]
    elsewhere = tmp_path / "elsewhere" / "nl2en.sqlite3"
    monkeypatch.setenv("NL2EN_CACHE", str(elsewhere))  # moves the whole folder
    assert {default_cache_path().parent, digests_path().parent, calibration_path().parent} == {elsewhere.parent}
    assert digests_path(tmp_path / "c" / "m.sqlite3") == tmp_path / "c" / "file-digests.json"
    monkeypatch.setenv("NL2EN_CALIBRATION", str(tmp_path / "cal.json"))
    assert default_calibration_path() == tmp_path / "cal.json"


def test_locations_cache_elsewhere_keeps_every_write_out_of_the_user_cache(
    user_cache: Path, tmp_path: Path, tiny_marian: Path, tiny_bart: Path, english_sentences: list[str]
) -> None:
    """``--cache FILE --no-cache``: the model-digest memo goes beside FILE, never to ~/.cache/nl2en."""
    article, english = tmp_path / "stuk.txt", tmp_path / "article.txt"
    article.write_text("Een zin.\n")
    english.write_text(" ".join(english_sentences[:4]) + "\n")
    elsewhere = tmp_path / "elsewhere" / "memory.sqlite3"
    common = ["--out", str(tmp_path / "out"), "--cache", str(elsewhere), "--no-cache"]
    runner = CliRunner()
    translated = runner.invoke(app, ["translate", str(article), "--model", str(tiny_marian), "--max-new-tokens", "4",
                                     *common])  # fmt: skip
    assert translated.exit_code == 0, translated.output
    summarised = runner.invoke(app, ["summarize", str(english), "--summarizer", str(tiny_bart), "--max-length", "8",
                                     *common])  # fmt: skip
    assert summarised.exit_code == 0, summarised.output
    assert not (tmp_path / "xdg").exists() and not (tmp_path / "home").exists()
    assert sorted(p.name for p in elsewhere.parent.iterdir()) == ["file-digests.json"], "the memory itself is off"
