"""Choices the CLI used to make silently: now refused up front (exit 2, E010), said on one line, or made usable."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from pipeline.cli.app import app

MISSING_MODEL = "no-such-model-here"  # resolving it fails at once: a refusal must come before it


def invoke(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin, env={"COLUMNS": "200"})


def one_error(result: Result, code: str) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error [{code}]"), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


# --- item 4: models list shows names --model resolves -----------------------------------------


def test_models_list_names_are_names_model_resolves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.models.registry import list_models, resolve_model
    from tests.models.test_registry import fake_model

    models = tmp_path / "models"
    monkeypatch.setenv("NL2EN_MODELS", str(models))
    fake_model(models / "tiny" / "marian")
    fake_model(models / "local" / "mijn-model")
    for cwd in (tmp_path, models / "tiny", tmp_path.parent):
        monkeypatch.chdir(cwd)
        listed = {row.name: row.location for row in list_models() if row.location}
        assert len(listed) == 2, listed
        for name, location in listed.items():
            assert resolve_model(name, allow_download=False).path == Path(location).resolve(), (cwd, name)
    monkeypatch.chdir(tmp_path)
    names = {row.name for row in list_models()}
    assert "mijn-model" in names and os.path.join("models", "tiny", "marian") in names
    shown = invoke("models", "list")
    assert shown.exit_code == 0 and os.path.join("models", "tiny", "marian") + " " in shown.stdout


# --- item 7: --verbose lets Ray's log lines through -------------------------------------------


@pytest.mark.parametrize("command", ["translate", "summarize", "run"])
def test_verbose_flag_sets_the_ray_switch(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.runs.ray_executor import VERBOSE_ENV

    monkeypatch.setenv(VERBOSE_ENV, "")
    monkeypatch.delenv(VERBOSE_ENV)
    article = tmp_path / "a.txt"
    article.write_text("Een zin.\n")
    model = "--summarizer" if command == "summarize" else "--model" if command == "translate" else "--translator"
    quiet = invoke(command, str(article), model, MISSING_MODEL, "--out", str(tmp_path / "o"))
    assert quiet.exit_code == 1 and VERBOSE_ENV not in os.environ
    loud = invoke(command, str(article), model, MISSING_MODEL, "--out", str(tmp_path / "o"), "--verbose")
    assert loud.exit_code == 1 and os.environ.get(VERBOSE_ENV) == "1", loud.output


# --- item 14: silent choices refused -----------------------------------------------------------


def test_stdin_with_file_only_options_is_refused() -> None:
    result = invoke("translate", "-", "--out", "elsewhere", "--model", MISSING_MODEL, stdin="Een zin.\n")
    assert result.exit_code == 2
    assert "--out does not apply to - (stdin)" in one_error(result, "E010")
    both = invoke("summarize", "-", "--out", "o", "--run-name", "r", stdin="A sentence.\n")
    assert both.exit_code == 2 and "--out and --run-name do not apply" in one_error(both, "E010")
    mixed = invoke("translate", "a.txt", "-", "--model", MISSING_MODEL)
    assert mixed.exit_code == 2 and "- (stdin) must be the only input" in one_error(mixed, "E010")


def test_run_name_that_would_be_changed_is_refused(tmp_path: Path) -> None:
    for name in ("../escape", "a/b", ".hidden", "with space"):
        result = invoke("translate", "a.txt", "--run-name", name, "--model", MISSING_MODEL, "--out", str(tmp_path))
        assert result.exit_code == 2 and "--run-name" in one_error(result, "E010"), name
    assert not any(tmp_path.iterdir())


def test_sentences_and_ratio_together_are_refused() -> None:
    result = invoke("summarize", "a.txt", "--summarizer", "extractive", "--sentences", "2", "--ratio", "0.5")
    assert result.exit_code == 2 and "--sentences and --ratio" in one_error(result, "E010")


def test_extractive_options_with_an_abstractive_summariser_are_refused(tiny_bart: Path, tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("A sentence. Another one.\n")
    result = invoke(
        "summarize", str(article), "--summarizer", str(tiny_bart), "--sentences", "2", "--out", str(tmp_path)
    )
    assert result.exit_code == 2 and "--sentences applies to the extractive summariser" in one_error(result, "E010")
    decoding = invoke("summarize", str(article), "--summarizer", "extractive", "--max-length", "20", "--out", "o")
    assert decoding.exit_code == 2 and "--max-length" in one_error(decoding, "E010")
    assert not (tmp_path / "a").exists(), "refused before anything was written"


# --- item 15: small inconsistencies ------------------------------------------------------------


def test_empty_jsonl_is_an_empty_input_like_an_empty_txt(tiny_marian: Path, tmp_path: Path) -> None:
    for name in ("leeg.jsonl", "leeg.txt"):
        (tmp_path / name).write_text("\n")
        result = invoke("translate", str(tmp_path / name), "--model", str(tiny_marian), "--out", str(tmp_path / "o"))
        assert result.exit_code == 1, (name, result.output)
        assert f"error [E101]: {tmp_path / name}: empty" in result.stderr, result.stderr


def test_run_from_stdin_is_refused_up_front_with_the_pipe_that_works() -> None:
    result = invoke("run", "-", "--translator", MISSING_MODEL)
    assert result.exit_code == 2
    line = one_error(result, "E010")
    assert "does not read - (stdin)" in line and "nl2en translate - | nl2en summarize -" in line


def test_wrong_explicit_encoding_says_what_to_try() -> None:
    from pipeline.errors import EncodingError
    from pipeline.text.reader import article_from_bytes

    with pytest.raises(EncodingError) as info:
        article_from_bytes("café is een woord.".encode("latin-1"), "oud.txt", "oud.txt", "utf-8")
    assert "0xe9" in str(info.value) and "--encoding latin-1" in str(info.value)


def test_cache_clear_unknown_stage_is_refused_and_stats_creates_nothing(tmp_path: Path) -> None:
    cache = tmp_path / "nowhere.sqlite3"
    stats = invoke("cache", "stats", "--cache", str(cache))
    assert stats.exit_code == 0 and "no cache file yet" in stats.stdout and "entries: 0" in stats.stdout
    cleared = invoke("cache", "clear", "--cache", str(cache))
    assert cleared.exit_code == 0 and "removed 0 entries" in cleared.stdout
    assert not cache.exists(), "looking at a cache must not create it"
    from pipeline.runs.memory import TranslationMemory

    with TranslationMemory(cache) as memory:
        memory.put_many([("k", "translate", "fp", "Een zin.", "A sentence.", {})])
    typo = invoke("cache", "clear", "--cache", str(cache), "--stage", "translat")
    assert typo.exit_code == 2 and "translate" in typo.output
    stage = invoke("cache", "clear", "--cache", str(cache), "--stage", "translate")
    assert stage.exit_code == 0 and "removed 1 entries of stage translate" in stage.stdout


def test_out_that_is_a_file_fails_once_before_the_model_loads(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("Een zin.\n")
    for out in (article, article / "sub"):
        result = invoke("translate", str(article), str(article), "--out", str(out), "--model", MISSING_MODEL)
        assert result.exit_code == 1 and "is a file" in one_error(result, "E400"), result.stderr


def cuda_available() -> bool:
    try:
        import ctranslate2

        if ctranslate2.get_cuda_device_count() > 0:
            return True
    except Exception:
        pass
    import torch

    return bool(torch.cuda.is_available())


@pytest.mark.parametrize("backend", ["ctranslate2", "transformers"])
def test_unusable_device_stops_the_batch_once(backend: str, tiny_marian: Path, tmp_path: Path) -> None:
    if cuda_available():
        pytest.skip("this machine has CUDA: --device cuda works here")
    paths = []
    for name in ("a", "b", "c"):
        paths.append(tmp_path / f"{name}.txt")
        paths[-1].write_text(f"Een zin over {name}.\n")
    args = [*map(str, paths), "--model", str(tiny_marian), "--device", "cuda", "--backend", backend]
    result = invoke("translate", *args, "--out", str(tmp_path / "o"), "--no-cache")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error [")]
    assert len(errors) == 2, result.stderr  # the first document's failure, then the batch stopped once
    assert errors[0].startswith("error [E200]") and "device 'cuda'" in errors[0] and "--device cpu" in errors[0]
    assert errors[1].startswith("error [E610]: stopped the batch") and "2 not processed" in errors[1]
    assert json.dumps(result.stderr).count("Traceback") == 0
