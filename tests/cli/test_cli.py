"""The CLI as a user meets it: help, errors on one line, stdin, batches, cache and models."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SEED


def lines(data: bytes) -> list[str]:
    return [line for line in data.decode().splitlines() if line.strip()]


def test_cli_help_lists_commands_without_importing_torch(cli: Any) -> None:
    result = cli("--help")
    assert result.returncode == 0
    for command in ("translate", "cache", "models"):
        assert command in result.stdout.decode()
    probe = cli("--help", env={"PYTHONPROFILEIMPORTTIME": "1"})
    imported = probe.stderr.decode()
    assert "transformers" not in imported and " torch" not in imported and "| torch" not in imported


def test_cli_help_groups_options_into_panels(cli: Any) -> None:
    for command, panels in {
        "translate": ("Model", "Input/Output", "Decoding", "Engine", "Quality", "Executor"),
        "run": ("Model", "Decoding", "Extractive summaries", "Engine", "Quality", "Executor"),
    }.items():
        result = cli(command, "--help", env={"COLUMNS": "200"})
        assert result.returncode == 0, result.stderr.decode()
        text = result.stdout.decode()
        assert all(f"─ {panel} ─" in text for panel in panels), (command, text)
        assert "--max-new-tokens" in text and "--cpus-per-worker" in text and "--guards" in text


def test_cli_builders_give_the_specs_the_library_opens(tmp_path: Path) -> None:
    """``translate``, ``run`` and ``models calibrate`` share one translator builder; its defaults are the library's."""
    from pipeline.cli.common import GuardMode, cache_spec, executor_options, summarizer_spec, translator_spec
    from pipeline.errors import ExecutorError
    from pipeline.quality.glossary import Glossary, builtin_glossary
    from pipeline.runs.sessions import CacheSpec, SummarizerSpec, TranslatorSpec

    spec = translator_spec("m", guards=GuardMode.flag, beams=3, no_glossary=True)
    assert spec.guards == "flag" and type(spec.guards) is str, "the --guards enum is stored as the plain mode"
    assert spec.overrides == {"num_beams": 3, "max_new_tokens": None}
    assert isinstance(spec.glossary, Glossary) and spec.glossary.entries == ()
    plain, library = translator_spec("m"), TranslatorSpec("m")
    assert (plain.engine, plain.executor, plain.guards) == (library.engine, library.executor, library.guards)
    assert isinstance(plain.glossary, Glossary) and plain.glossary == builtin_glossary()
    assert summarizer_spec(None).explicit is False and summarizer_spec("extractive", sentences=2) == SummarizerSpec(
        "extractive", overrides={"num_beams": None, "min_length": None, "max_length": None}, sentences=2
    )
    assert cache_spec(tmp_path, no_cache=True) == CacheSpec(tmp_path, enabled=False)
    with pytest.raises(ExecutorError):
        executor_options("spark")


def test_cli_missing_model_fails_fast_on_one_line(cli: Any) -> None:
    started = time.monotonic()
    result = cli("translate", str(SEED), "--model", "opus-mt-nl-en")
    assert time.monotonic() - started < 10
    assert result.returncode == 1
    err = lines(result.stderr)
    assert len(err) == 1 and "opus-mt-nl-en" in err[0] and "nl2en models pull" in err[0]
    assert "Traceback" not in result.stderr.decode()


def test_cli_translate_batch_with_bad_files(cli: Any, tiny_marian: Path, tmp_path: Path) -> None:
    good = tmp_path / "goed artikel.txt"
    good.write_text("Dit is een zin. En nog een.\n")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x00\x01\x02\xff")
    out = tmp_path / "out"
    result = cli(
        "translate", str(binary), str(good), str(tmp_path / "nope.txt"),
        "--model", str(tiny_marian), "--out", str(out), "--max-new-tokens", "8",
    )  # fmt: skip
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "Traceback" not in err
    assert sum("error [" in line for line in lines(result.stderr)) == 2
    assert "bin.txt: binary data" in err and "nope.txt: no such file" in err
    run_dir = out / "goed-artikel" / "tiny-marian-max-new8"  # settings that differ from the model's
    assert (run_dir / "manifest.json").is_file()
    assert "1 translated, 2 failed" in err


def test_cli_translate_rerun_is_cached(cli: Any, tiny_marian: Path, tmp_path: Path) -> None:
    args = ("translate", str(SEED), "--model", str(tiny_marian), "--out", str(tmp_path), "--max-new-tokens", "8")
    assert cli(*args).returncode == 0
    again = cli(*args)
    assert again.returncode == 0 and "misses 0" in again.stderr.decode()
    manifest = json.loads((tmp_path / SEED.stem / "tiny-marian-max-new8" / "manifest.json").read_text())
    assert manifest["cache"]["misses"] == 0 and manifest["cache"]["hits"] > 0


def test_cli_translate_stdin_to_stdout(cli: Any, tiny_marian: Path, tmp_path: Path) -> None:
    text = "Kop\n\nEen zin. Nog een zin.\n"
    result = cli("translate", "-", "--model", str(tiny_marian), "--max-new-tokens", "6", stdin=text.encode())
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().count("\n") == text.count("\n")
    empty = cli("translate", "-", "--model", str(tiny_marian), stdin=b"   ")
    assert empty.returncode == 1 and "empty" in empty.stderr.decode()


def test_cli_no_cache_writes_nothing_to_cache(cli: Any, tiny_marian: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    args = ("translate", str(SEED), "--model", str(tiny_marian), "--out", str(tmp_path / "o"), "--max-new-tokens", "4")
    assert cli(*args, "--no-cache", "--cache", str(cache)).returncode == 0
    assert not cache.exists()
    assert cli(*args, "--cache", str(cache)).returncode == 0
    stats = cli("cache", "stats", "--cache", str(cache)).stdout.decode()
    assert "entries: 47" in stats and "stage translate: 47" in stats
    cleared = cli("cache", "clear", "--cache", str(cache))
    assert "removed 47 entries" in cleared.stdout.decode()


def test_cli_models_list_shows_aliases(cli: Any) -> None:
    result = cli("models", "list")
    assert result.returncode == 0
    out = result.stdout.decode()
    assert "opus-mt-nl-en" in out and "Helsinki-NLP/opus-mt-nl-en" in out and "nl2en models pull" in out
    nllb = next(line for line in out.splitlines() if line.startswith("nllb-600m "))
    assert "facebook/nllb-200-distilled-600M" in nllb and "CC-BY-NC" in nllb and "non-commercial" in nllb


def test_cli_models_pull_offline_is_a_clear_error(cli: Any) -> None:
    result = cli("models", "pull", "opus-mt-nl-en")
    assert result.returncode == 1 and "HF_HUB_OFFLINE" in result.stderr.decode()


def test_cli_summarize_extractive_file_and_stdin(cli: Any, tmp_path: Path, english_sentences: list[str]) -> None:
    article = tmp_path / "article.en.txt"
    article.write_text(" ".join(english_sentences[:20]) + "\n")
    result = cli("summarize", str(article), "--summarizer", "extractive", "--sentences", "3", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr.decode()
    run_dir = tmp_path / "article.en" / "extractive-sentences3"
    summary = (run_dir / "summary.extractive.txt").read_text().strip()
    assert summary and all(s in article.read_text() for s in summary.split(". "))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["summarizer"]["method"] == "extractive" and manifest["summarizer"]["decoding"]["sentences"] == 3
    piped = cli("summarize", "-", "--summarizer", "extractive", "--sentences", "1", stdin=article.read_bytes())
    assert piped.returncode == 0 and piped.stdout.decode().strip() in article.read_text()


def test_cli_summarize_default_falls_back_to_extractive_and_says_so(cli: Any, tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("One sentence here. Another sentence there. A third one.\n")
    result = cli("summarize", str(article), "--out", str(tmp_path))
    assert result.returncode == 0
    assert "distilbart-cnn" in result.stderr.decode() and "extractive" in result.stderr.decode()
    manifest = json.loads((tmp_path / "a" / "extractive" / "manifest.json").read_text())
    assert "fallback" in manifest["summarizer"]
    explicit = cli("summarize", str(article), "--summarizer", "bart-large-cnn", "--out", str(tmp_path))
    assert explicit.returncode == 1 and "nl2en models pull" in explicit.stderr.decode()


def test_cli_run_translates_summarises_and_reruns_from_cache(
    cli: Any, tiny_marian: Path, tiny_bart: Path, tmp_path: Path
) -> None:
    args = (
        "run", str(SEED), "--translator", str(tiny_marian), "--summarizer", str(tiny_bart),
        "--out", str(tmp_path), "--max-new-tokens", "6", "--summary-beams", "1",
    )  # fmt: skip
    first = cli(*args)
    assert first.returncode == 0, first.stderr.decode()
    run_dir = tmp_path / SEED.stem / "tiny-marian-max-new6+tiny-bart-beams1"
    assert {p.name for p in run_dir.iterdir()} == {
        "translation.en.txt", "aligned.jsonl", "manifest.json", "summary.tiny-bart.txt",
    }  # fmt: skip
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["translator"]["backend"] == "ctranslate2", "auto picks CTranslate2 for Marian"
    assert manifest["translator"]["engine"] == {"backend": "ctranslate2", "compute_type": "int8", "device": "cpu"}
    summarizer = manifest["summarizer"]
    assert summarizer["method"] == "abstractive" and summarizer["decoding"]["num_beams"] == 1
    assert len(summarizer["chunks"][0]["chunks"]) > 1, "a 128-position summariser needs several chunks"
    again = cli(*args, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert again.returncode == 0
    err = again.stderr.decode()
    assert "misses 0" in err
    assert "| torch" not in err and "| transformers" not in err, "a fully cached run must not import torch"
    assert json.loads((run_dir / "manifest.json").read_text())["summarizer"]["cached"] is True


def test_cli_run_source_side_selects_dutch_sentences(cli: Any, tiny_marian: Path, tmp_path: Path) -> None:
    result = cli(
        "run", str(SEED), "--translator", str(tiny_marian), "--summarizer", "extractive", "--source-side",
        "--sentences", "2", "--out", str(tmp_path), "--max-new-tokens", "4",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    run_dir = tmp_path / SEED.stem / "tiny-marian-max-new4+extractive-sentences2-source-side"
    records = [json.loads(line) for line in (run_dir / "aligned.jsonl").read_text().splitlines()]
    summary = (run_dir / "summary.extractive.txt").read_text().strip()
    targets = [r["target"] for r in records if r["translated"]]
    assert summary and sum(t in summary for t in targets if t) >= 1
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["summarizer"]["method"] == "extractive-source"


def test_cli_summarize_bad_inputs_do_not_stop_good_ones(cli: Any, tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("A first sentence. A second one. A third.\n")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x00\xff\x00")
    result = cli("summarize", str(empty), str(good), str(binary), "--summarizer", "extractive", "--out", str(tmp_path))
    err = result.stderr.decode()
    assert result.returncode == 1 and "Traceback" not in err
    assert "empty.txt: empty" in err and "bin.txt: binary" in err
    assert (tmp_path / "good" / "extractive" / "summary.extractive.txt").is_file()
    assert not (tmp_path / "empty").exists() and not (tmp_path / "bin").exists()


def test_cli_commands_depend_on_common_never_on_one_another() -> None:
    import ast

    from tests.conftest import ROOT

    commands = {"cache", "compare", "models", "score", "summarize", "translate"}
    for name in commands:
        tree = ast.parse((ROOT / "pipeline" / "cli" / f"{name}.py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module} | {
            alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        }
        cli_modules = {m.removeprefix("pipeline.cli.") for m in imported if m.startswith("pipeline.cli.")}
        assert cli_modules <= {"common", "progress"}, f"cli/{name}.py imports {cli_modules}"


def test_cli_republishing_a_run_leaves_no_stale_files(cli: Any, tiny_marian: Path, tmp_path: Path) -> None:
    common = (str(SEED), "--out", str(tmp_path), "--max-new-tokens", "4", "--run-name", "r")
    first = cli("run", "--translator", str(tiny_marian), "--summarizer", "extractive", *common)
    assert first.returncode == 0, first.stderr.decode()
    run_dir = tmp_path / SEED.stem / "r"
    assert (run_dir / "summary.extractive.txt").is_file()
    second = cli("translate", "--model", str(tiny_marian), *common)
    assert second.returncode == 0, second.stderr.decode()
    assert sorted(p.name for p in run_dir.iterdir()) == ["aligned.jsonl", "manifest.json", "translation.en.txt"]


def test_cli_explicit_run_name_wins_and_default_names_differ(cli: Any, tiny_marian: Path, tmp_path: Path) -> None:
    base = ("translate", str(SEED), "--model", str(tiny_marian), "--out", str(tmp_path), "--max-new-tokens", "4")
    for extra in ((), ("--beams", "1"), ("--beams", "1", "--run-name", "mine")):
        result = cli(*base, *extra)
        assert result.returncode == 0, result.stderr.decode()
    names = sorted(p.name for p in (tmp_path / SEED.stem).iterdir() if not p.name.startswith("."))
    beams = json.loads((tmp_path / SEED.stem / "mine" / "manifest.json").read_text())["translator"]["decoding"]
    assert beams["num_beams"] == 1
    assert names == ["mine", "tiny-marian-max-new4", "tiny-marian-max-new4-beams1"], "the tiny model beams 2"


def test_cli_os_error_in_one_document_fails_only_that_document(cli: Any, tiny_marian: Path, tmp_path: Path) -> None:
    paths = []
    for name in ("een", "twee", "drie"):
        paths.append(tmp_path / f"{name}.txt")
        paths[-1].write_text("Dit is een zin.\n")
    out = tmp_path / "out"
    (out / "twee").mkdir(parents=True)
    (out / "twee" / "r").write_text("a file where the run folder goes")
    result = cli("translate", *map(str, paths), "--model", str(tiny_marian), "--out", str(out),
                 "--max-new-tokens", "2", "--run-name", "r")  # fmt: skip
    err = lines(result.stderr)
    assert result.returncode == 1 and "Traceback" not in result.stderr.decode()
    assert [line for line in err if line.startswith("error")] == [
        next(line for line in err if line.startswith("error") and "twee.txt" in line)
    ]
    assert (out / "een" / "r" / "manifest.json").is_file() and (out / "drie" / "r" / "manifest.json").is_file()
    assert "2 translated, 1 failed" in result.stderr.decode()


def test_cli_translate_glossary_and_guard_options(cli: Any, tiny_marian: Path, tmp_path: Path) -> None:
    source = tmp_path / "kort.txt"
    source.write_text("Poetin sprak met Zelenski in Kyiv over de oorlog.\n\nDe regering praat.\n", encoding="utf-8")
    terms = tmp_path / "terms.tsv"
    terms.write_text("# Dutch\tEnglish\nZelenski\tZelensky\tWikipedia: Volodymyr Zelenskyy\n", encoding="utf-8")
    base = ("translate", str(source), "--model", str(tiny_marian), "--max-new-tokens", "8")

    def manifest_and_records(out: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        (run,) = [p.parent for p in (out / "kort").glob("*/manifest.json")]
        records = [json.loads(line) for line in (run / "aligned.jsonl").read_text().splitlines()]
        return json.loads((run / "manifest.json").read_text()), [r for r in records if r["translated"]]

    flagged = cli(*base, "--out", str(tmp_path / "flag"), "--glossary", str(terms), "--guards", "flag")
    assert flagged.returncode == 0, flagged.stderr.decode()
    manifest, records = manifest_and_records(tmp_path / "flag")
    quality = manifest["translator"]["quality"]
    assert quality["guards"] == "flag" and quality["glossary"]["name"] == "builtin+terms.tsv"
    assert [t["en"] for t in records[0]["terms"]] == ["Putin", "Zelensky"]
    assert all(len(r["attempts"]) == 1 and r["score"] is not None for r in records)
    assert set(manifest["quality"]["glossary_consistency"]) == {"Poetin", "Zelenski"}
    off = cli(*base, "--out", str(tmp_path / "off"), "--no-glossary", "--guards", "off")
    assert off.returncode == 0, off.stderr.decode()
    manifest, records = manifest_and_records(tmp_path / "off")
    assert manifest["translator"]["quality"]["glossary"]["entries"] == 0
    assert all(r["terms"] == [] and r["flags"] == [] for r in records)
    bad = cli(*base, "--out", str(tmp_path / "bad"), "--guards", "sometimes")
    assert bad.returncode == 2 and b"Traceback" not in bad.stderr and b"sometimes" in bad.stderr
    missing = cli(*base, "--out", str(tmp_path / "bad"), "--glossary", str(tmp_path / "nope.tsv"))
    assert missing.returncode == 1 and missing.stderr.decode().count("\n") == 1 and "E710" in missing.stderr.decode()


# --- executors and corpora -------------------------------------------------------------------


def ray_documents() -> list[str]:
    """24 short Dutch documents (a title and two sentences each), some sharing sentences."""
    lines = [line for line in SEED.read_text(encoding="utf-8").splitlines() if len(line) > 40]
    return [f"Bericht {i}\n\n{lines[i % len(lines)]}\n{lines[(i * 5 + 3) % len(lines)]}\n" for i in range(24)]


def aligned_without_cached(run_dir: Path) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in (run_dir / "aligned.jsonl").read_text(encoding="utf-8").splitlines()]
    for record in records:
        record.pop("cached")
    return records


def test_cli_executor_ray_output_is_byte_identical_to_local_despite_a_killed_worker(
    cli: Any, tiny_marian: Path, tmp_path: Path
) -> None:
    """24 documents, a third of them cached: ``--executor ray --workers 2`` writes what local writes.

    One actor is killed on its first batch; Ray restarts it and sends the batch again.
    """
    pytest.importorskip("ray")
    from pipeline.runs.ray_executor import FAULT_ENV
    from tests.conftest import RAY_CLI_ENV

    inputs = tmp_path / "in"
    inputs.mkdir()
    paths = []
    for i, text in enumerate(ray_documents()):
        paths.append(inputs / f"doc{i:02d}.txt")
        paths[-1].write_text(text, encoding="utf-8")
    model = ("--model", str(tiny_marian), "--max-new-tokens", "12", "--run-name", "r")
    warm = cli("translate", *map(str, paths[:8]), *model, "--out", str(tmp_path / "warm"),
               env={"NL2EN_CACHE": str(tmp_path / "warm.sqlite3")})  # fmt: skip
    assert warm.returncode == 0, warm.stderr.decode()[-2000:]
    for name in ("local", "ray"):
        shutil.copy(tmp_path / "warm.sqlite3", tmp_path / f"{name}.sqlite3")
    local = cli("translate", *map(str, paths), *model, "--out", str(tmp_path / "local"),
                env={"NL2EN_CACHE": str(tmp_path / "local.sqlite3")})  # fmt: skip
    assert local.returncode == 0, local.stderr.decode()[-2000:]
    marker = tmp_path / "killed"
    started = time.monotonic()
    env = {**RAY_CLI_ENV, "NL2EN_CACHE": str(tmp_path / "ray.sqlite3"), FAULT_ENV: f"{marker}:1"}
    remote = cli("translate", *map(str, paths), *model, "--out", str(tmp_path / "ray"),
                 "--executor", "ray", "--workers", "2", env=env)  # fmt: skip
    err = remote.stderr.decode()
    assert remote.returncode == 0, err[-3000:]
    assert "Traceback" not in err and "NETWORK BLOCKED" not in err
    assert marker.is_file(), (
        f"no actor was killed, so the fault half of this test proved nothing ({time.monotonic() - started:.0f} s)"
    )
    summary = [line for line in err.splitlines() if "translated," in line]
    assert summary == [line for line in local.stderr.decode().splitlines() if "translated," in line]
    assert "24 translated, 0 failed" in summary[0] and "hits 0" not in summary[0] and "misses 0" not in summary[0]
    targets = set()
    for path in paths:
        a, b = tmp_path / "local" / path.stem / "r", tmp_path / "ray" / path.stem / "r"
        assert (a / "translation.en.txt").read_bytes() == (b / "translation.en.txt").read_bytes()
        assert aligned_without_cached(a) == aligned_without_cached(b)
        targets.update(r["target"] for r in aligned_without_cached(b) if r["translated"])
        translator = json.loads((b / "manifest.json").read_text())["translator"]
        assert translator["executor"] == "ray" and translator["workers"] == 2 and translator["nodes"] == 1
        assert (
            translator["ray_version"]
            and json.loads((a / "manifest.json").read_text())["translator"]["executor"] == "local"
        )
    assert len(targets) >= 10, "the tiny model must give varied outputs for this test to mean anything"


def test_cli_run_jsonl_corpus_on_ray_summarises_each_window(
    cli: Any, tiny_marian: Path, tiny_bart: Path, tmp_path: Path
) -> None:
    pytest.importorskip("ray")
    from tests.conftest import RAY_CLI_ENV

    corpus = tmp_path / "corpus.jsonl"
    with corpus.open("w", encoding="utf-8") as fh:
        for i, text in enumerate(ray_documents()[:6]):
            fh.write(json.dumps({"id": f"art-{i}", "text": text}) + "\n")
        fh.write("{broken\n")
        fh.write(json.dumps({"id": "../escape", "text": "Een zin."}) + "\n")
    args = ("run", str(corpus), "--translator", str(tiny_marian), "--summarizer", str(tiny_bart),
            "--max-new-tokens", "8", "--max-length", "12", "--run-name", "r", "--out")  # fmt: skip
    remote = cli(*args, str(tmp_path / "ray"), "--executor", "ray", "--workers", "2", env=RAY_CLI_ENV)
    err = remote.stderr.decode()
    assert remote.returncode == 1 and "Traceback" not in err, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("error [")]
    assert len(errors) == 2 and f"{corpus}:7" in errors[0] and f"{corpus}:8" in errors[1]
    assert "6 translated and summarised" in err
    local = cli(*args, str(tmp_path / "local"), "--no-cache")
    assert local.returncode == 1
    for i in range(6):
        a, b = tmp_path / "local" / f"art-{i}" / "r", tmp_path / "ray" / f"art-{i}" / "r"
        summaries = sorted(p.name for p in b.glob("summary.*.txt"))
        assert len(summaries) == 1
        assert (a / summaries[0]).read_bytes() == (b / summaries[0]).read_bytes()
        assert (a / "translation.en.txt").read_bytes() == (b / "translation.en.txt").read_bytes()
        manifest = json.loads((b / "manifest.json").read_text())
        assert manifest["summarizer"]["executor"] == "ray" and manifest["summarizer"]["workers"] == 2
        assert manifest["input"]["name"] == f"art-{i}"


def test_cli_jsonl_corpus_bad_lines_never_stop_good_ones(cli: Any, tiny_marian: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "c.ndjson"
    good = {"id": "a-1", "text": "Dit is een zin. En nog een."}
    corpus.write_text("\n".join([json.dumps(good), "[1, 2]", json.dumps({"id": "A-1", "text": "Herhaald."}),
                                 json.dumps({"id": 7, "text": "Zeven."}), json.dumps({"id": "x"})]) + "\n")  # fmt: skip
    result = cli("translate", str(corpus), "--model", str(tiny_marian), "--out", str(tmp_path / "out"),
                 "--max-new-tokens", "4", "--run-name", "r")  # fmt: skip
    err = result.stderr.decode()
    assert result.returncode == 1 and "Traceback" not in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["7", "a-1"]
    errors = [line for line in err.splitlines() if line.startswith("error [")]
    assert len(errors) == 3
    for number, error in zip((2, 3, 5), errors, strict=True):
        assert f"{corpus}:{number}" in error
    assert "2 translated, 3 failed" in err
    assert (tmp_path / "out" / "a-1" / "r" / "translation.en.txt").is_file()


def test_cli_executor_errors_are_one_line_within_30_s(cli: Any, tiny_marian: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    from tests.conftest import RAY_CLI_ENV

    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = ("translate", str(SEED), "--model", str(tiny_marian), "--out", str(tmp_path / "out"), "--executor")
    fake = tmp_path / "no-ray" / "ray"  # a ray that cannot be imported, as on a machine without it
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    netguard = Path(__file__).parents[1] / "netguard"
    cases = {
        "unreachable": (("ray", "--ray-address", f"127.0.0.1:{port}"), RAY_CLI_ENV, "ray start --head"),
        "not installed": (("ray",), {"PYTHONPATH": f"{fake.parent}{os.pathsep}{netguard}"}, "pip install 'nl2en[ray]'"),
        "unknown": (("spark",), {}, "choose one of local, ray"),
    }
    for case, (extra, env, fix) in cases.items():
        started = time.monotonic()
        result = cli(*args, *extra, env=env)
        assert time.monotonic() - started < 30, case
        err = lines(result.stderr)
        assert result.returncode == 1 and len(err) == 1 and err[0].startswith("error [E500]"), (case, err)
        assert fix in err[0], (case, err)
    assert not (tmp_path / "out").exists()


def peak_rss_kib(args: list[str], env: dict[str, str]) -> int:
    """Run the CLI in a fresh wrapper process and return the CLI's peak resident memory (KiB)."""
    from tests.conftest import ROOT

    full_env = {**os.environ, "PYTHONPATH": str(ROOT / "tests" / "netguard"), **env}
    wrapper = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run([sys.executable, '-m', 'pipeline', *sys.argv[1:]], stdout=subprocess.DEVNULL)\n"
        "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", wrapper, *args], env=full_env, cwd=ROOT, capture_output=True, timeout=600
    )
    code, peak = result.stdout.decode().split()
    assert code == "0", result.stderr.decode()[-2000:]
    return int(peak)


def test_cli_corpus_driver_memory_does_not_grow_with_the_corpus(tiny_marian: Path, tmp_path: Path) -> None:
    """Peak RSS for 2,000 small articles ≈ peak for 200: the batch holds one window, not the corpus.

    Both runs start from an empty memory and load the model for the same distinct sentences.
    """
    lines_ = [line for line in SEED.read_text(encoding="utf-8").splitlines() if len(line) > 40]

    def corpus(count: int) -> Path:
        path = tmp_path / f"c{count}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for i in range(count):
                text = f"{lines_[i % len(lines_)]}\n\n{lines_[(i * 7 + 1) % len(lines_)]}\n"
                fh.write(json.dumps({"id": f"a{i}", "text": text}) + "\n")
        return path

    # converting the model for CTranslate2 (once per models folder) costs memory of its own: done first
    warm = ["translate", str(corpus(1)), "--model", str(tiny_marian), "--out", str(tmp_path / "o1"), "--no-cache"]
    peak_rss_kib(warm, {})
    peaks = {}
    for count in (200, 2000):
        args = ["translate", str(corpus(count)), "--model", str(tiny_marian), "--max-new-tokens", "6",
                "--run-name", "r", "--out", str(tmp_path / f"o{count}")]  # fmt: skip
        peaks[count] = peak_rss_kib(args, {"NL2EN_CACHE": str(tmp_path / f"m{count}.sqlite3")})
    assert len(list((tmp_path / "o2000").iterdir())) == 2000
    assert peaks[200] > 0 and peaks[2000] < peaks[200] * 1.05 + 4 * 1024, peaks


def test_cli_summarize_on_ray_matches_local(
    cli: Any, tiny_bart: Path, english_sentences: list[str], tmp_path: Path
) -> None:
    pytest.importorskip("ray")
    from tests.conftest import RAY_CLI_ENV

    paths = []
    for i in range(4):
        paths.append(tmp_path / f"text{i}.en.txt")
        paths[-1].write_text(" ".join(english_sentences[i * 3 : i * 3 + 3]) + "\n", encoding="utf-8")
    paths.append(tmp_path / "empty.en.txt")
    paths[-1].write_text("  \n", encoding="utf-8")
    args = ("summarize", *map(str, paths), "--summarizer", str(tiny_bart), "--max-length", "12", "--run-name", "s")
    local = cli(*args, "--out", str(tmp_path / "local"), "--no-cache")
    remote = cli(*args, "--out", str(tmp_path / "ray"), "--executor", "ray", "--workers", "2", env=RAY_CLI_ENV)
    err = remote.stderr.decode()
    assert local.returncode == remote.returncode == 1 and "Traceback" not in err, err[-3000:]
    assert "4 summarised" in err and len([line for line in err.splitlines() if line.startswith("error [")]) == 1
    texts = set()
    for path in paths[:4]:
        a, b = tmp_path / "local" / path.stem / "s", tmp_path / "ray" / path.stem / "s"
        [summary] = [p.name for p in b.glob("summary.*.txt")]
        assert (a / summary).read_bytes() == (b / summary).read_bytes()
        texts.add((b / summary).read_text(encoding="utf-8"))
        manifest = json.loads((b / "manifest.json").read_text())
        assert manifest["summarizer"]["executor"] == "ray" and manifest["cache"] == {
            "path": manifest["cache"]["path"], "hits": 0, "misses": 1,
        }  # fmt: skip
    assert len(texts) >= 2, "the tiny summariser must give varied outputs for this test to mean anything"
