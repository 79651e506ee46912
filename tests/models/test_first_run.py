"""A new user's first run: `nl2en run` with the default models, from an empty machine, against a replica hub.

The CLI runs in subprocesses whose only allowed connection is the replica hub's loopback
port (``HF_ENDPOINT``), with an empty models folder, an empty Hugging Face cache and
``HF_HUB_OFFLINE`` unset, as on a fresh networked machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, allow_loopback_port
from tests.support.fakehub import Drop, FakeHub
from tests.support.replicas import DECOYS, DISTILBART, GATED, OPUS, SUMMARIZATION, replica_hub_root

pytestmark = pytest.mark.slow

ARTICLE = (
    "Het kabinet bespreekt de nieuwe begroting met de vakbonden in Utrecht.\n\n"
    "De minister zegt dat de economie groeit. De regering verwacht dat de prijzen stijgen.\n"
)


@dataclass
class Machine:
    """A fresh machine: its environment, folders and the replica hub it can reach."""

    hub: FakeHub
    env: dict[str, str]
    home: Path
    article: Path

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipeline", *args],
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=600,
            cwd=ROOT,
        )


@pytest.fixture
def machine(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Machine]:
    fake = FakeHub(replica_hub_root(tmp_path_factory.getbasetemp()))
    fake.serve(0)
    allowance = allow_loopback_port(monkeypatch, fake.port, fake.cdn_port)
    models = tmp_path / "models"
    models.mkdir()  # empty: the aliases ship with the package
    env = {k: v for k, v in os.environ.items() if k not in {"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN"}}
    env.update(
        {
            "PYTHONPATH": str(ROOT / "tests" / "netguard"),
            "HF_ENDPOINT": f"http://127.0.0.1:{fake.port}",
            "HF_HOME": str(tmp_path / "hf"),
            "NL2EN_MODELS": str(models),
            "NL2EN_CACHE": str(tmp_path / "memory.sqlite3"),
            **allowance,
        }
    )
    article = tmp_path / "artikel.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    yield Machine(fake, env, tmp_path, article)
    fake.close()


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error [")]


def manifest(out: Path, run: str) -> dict:
    return json.loads((out / "artikel" / run / "manifest.json").read_text())


def first_run_then_offline(machine: Machine, backend: str) -> dict:
    out = machine.home / "out"
    first = machine.run("run", str(machine.article), "--out", str(out), "--backend", backend)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Traceback" not in first.stderr and "NETWORK BLOCKED" not in first.stderr
    assert f"model opus-mt-nl-en: {OPUS}@" in first.stderr and "converted here to safetensors" in first.stderr
    assert f"model distilbart-cnn: {DISTILBART}@" in first.stderr and "conversion PR refs/pr/18" in first.stderr
    runs = [p.name for p in (out / "artikel").iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(runs) == 1 and runs[0].startswith("Helsinki-NLP--opus-mt-nl-en"), runs
    assert (f"-{backend}" in runs[0]) == (backend != "auto"), runs
    data = manifest(out, runs[0])
    assert data["translator"]["source"]["weights"]["route"] == "converted-pickle"
    assert data["summarizer"]["source"]["weights"]["route"] == "conversion-pr"
    assert data["summarizer"]["source"]["weights"]["revision"] == "refs/pr/18"
    assert "fallback" not in data["summarizer"] and data["summarizer"]["method"] != "extractive"
    # the summariser decodes with the checkpoint's task settings (config.json's task_specific_params)
    decoding = data["summarizer"]["decoding"]
    for key, value in SUMMARIZATION.items():
        assert decoding.get(key) == value, (key, decoding)
    assert data["summarizer"]["decoding_sources"]["num_beams"] == "task_specific_params"
    # nothing but the lean file set was asked for
    asked = " ".join(r for r in machine.hub.requests if "/resolve/" in r)
    for decoy in DECOYS:
        assert decoy not in asked
    assert f"/{DISTILBART}/resolve/" in asked and "pytorch_model.bin" in asked  # opus-mt's only weights
    assert not any(
        r.startswith("GET") and f"{DISTILBART}/" in r and "pytorch_model.bin" in r for r in machine.hub.requests
    )

    # the server is gone and the guard lets nothing through: everything is on the machine now
    offline_env = {k: v for k, v in machine.env.items() if k != "NL2EN_NETGUARD_ALLOW"}
    again = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", str(machine.article), "--out", str(machine.home / "again"),
         "--backend", backend],
        capture_output=True, text=True, env=offline_env, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert "NETWORK BLOCKED" not in again.stderr and "Traceback" not in again.stderr
    return machine.hub.sent


def test_first_run_defaults_on_transformers(machine: Machine) -> None:
    sent = first_run_then_offline(machine, "transformers")
    fetched = {name for name in sent if name.startswith((OPUS, DISTILBART))}
    assert fetched == {
        f"{OPUS}/{f}"
        for f in ("config.json", "generation_config.json", "source.spm", "target.spm", "vocab.json",
                  "tokenizer_config.json", "pytorch_model.bin")
    } | {f"{DISTILBART}/{f}" for f in ("config.json", "merges.txt", "vocab.json", "tokenizer_config.json",
                                      "model.safetensors")}  # fmt: skip
    sys.stderr.write(f"replica first run fetched {sum(sent.values())} bytes: {json.dumps(sent)}\n")


def test_first_run_defaults_on_auto(machine: Machine) -> None:
    first_run_then_offline(machine, "auto")


def test_first_run_dropped_connection_is_one_line_then_the_next_run_completes(machine: Machine) -> None:
    size = (machine.hub.root / OPUS / "main" / "pytorch_model.bin").stat().st_size
    machine.hub.drops.append(Drop("pytorch_model.bin", at=size // 2, times=50))
    args = ("translate", str(machine.article), "--out", str(machine.home / "out"), "--backend", "transformers")
    failed = machine.run(*args)
    assert failed.returncode == 1
    errors = error_lines(failed.stderr)
    assert len(errors) == 1 and "opus-mt-nl-en" in errors[0] and "resume" in errors[0], failed.stderr[-2000:]
    assert "Traceback" not in failed.stderr
    machine.hub.drops.clear()
    done = machine.run(*args)
    assert done.returncode == 0, done.stderr[-3000:]
    assert any("pytorch_model.bin" in r and "Range=bytes=" in r for r in machine.hub.requests)


@pytest.mark.parametrize(("model", "expected"), [("nobody/no-such-model", "no such model"), (GATED, "HF_TOKEN")])
def test_first_run_missing_or_gated_repo_is_one_line_naming_the_model(
    machine: Machine, model: str, expected: str
) -> None:
    result = machine.run("translate", str(machine.article), "--model", model, "--out", str(machine.home / "o"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error [") and model in lines[0] and expected in lines[0], lines


def test_first_run_summariser_unavailable_falls_back_with_the_reason(machine: Machine) -> None:
    machine.hub.gated.add(DISTILBART)
    result = machine.run("summarize", str(machine.article), "--out", str(machine.home / "s"))
    assert result.returncode == 0, result.stderr[-2000:]
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "401" in notes[0] and "extractive" in notes[0], result.stderr[-2000:]


def test_first_run_models_pull_then_list(machine: Machine) -> None:
    pulled = machine.run("models", "pull", "distilbart-cnn")
    assert pulled.returncode == 0, pulled.stderr[-2000:]
    assert "conversion PR refs/pr/18" in pulled.stderr and "pulled distilbart-cnn into" in pulled.stdout
    listed = machine.run("models", "list", env={"HF_HUB_OFFLINE": "1"})
    row = next(line for line in listed.stdout.splitlines() if line.startswith("distilbart-cnn"))
    assert "sshleifer--distilbart-cnn-12-6" in row
    missing = machine.run("models", "pull", "nobody/no-such-model")
    assert missing.returncode == 1 and error_lines(missing.stderr) == [
        line for line in missing.stderr.splitlines() if line.strip()
    ]
    assert "nobody/no-such-model" in missing.stderr and "no such model" in missing.stderr
