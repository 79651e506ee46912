"""Each option of ``translate``, ``summarize`` and ``run`` changes the default run name, or cannot change an output.

Two runs that differ in a setting that changes outputs must not share a run directory, or the
second silently replaces the first. So each option of the three commands is enumerated from the
Typer commands themselves and is either

- in :data:`NAMED`: giving it (with a value that changes outputs) changes the default run name,
  checked here through the command itself on tiny models, the library stubbed at the batch call
  that receives the name; or
- in :data:`CANNOT_CHANGE_OUTPUTS`, with the reason.

An option added later fails :func:`test_run_names_every_option_is_classified` until it is put in one.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.runs.batch import BatchReport

COMMANDS = ("translate", "summarize", "run")

CANNOT_CHANGE_OUTPUTS: dict[str, str] = {
    "out": "where the run directories go, not what they hold",
    "run_name": "names the run itself (the default name is what this test checks)",
    "cache": "which memory to use: a hit is what the same run signature computed (the cache key is the signature)",
    "no_cache": "computes every result again; the same signature gives the same output",
    "batch_size": "sentences per engine call: speed and memory, not in the run signature (not in the engine section)",
    "threads": "CPU threads: speed only (not in the engine section of the run signature)",
    "encoding": "how the input's bytes are read: a property of the input, not of the run; a file reads correctly "
    "in one encoding (others fail with E102 or garble it, and input.encoding in the manifest records which)",
    "max_chars": "a limit: a longer document is refused (E104), never changed",
    "input_format": "how the input's bytes are read, as --encoding: a document reads as one format (auto finds it; "
    "another fails with a one-line error or reads it as text), and input.format in the manifest records which",
    "html": "how a web page is read (every text in place, or its extracted article): a property of the reading, "
    "recorded in the manifest (input.format, input.document); give --run-name to keep both readings of one page",
    "any_language": "which documents are translated, never how: one not identified as Dutch is translated the same "
    "way or left out with a note",
    "allow_pickle": "lets a pickle checkpoint load at all; the same files give the same fingerprint and outputs",
    "executor": "where misses are computed: every executor runs the same engine code (NOT_IN_KEY executor.kind)",
    "workers": "executor placement: speed only (NOT_IN_KEY executor.details)",
    "ray_address": "executor placement: speed only (NOT_IN_KEY executor.details)",
    "cpus_per_worker": "executor placement: speed only (NOT_IN_KEY executor.details)",
    "verbose": "what the terminal shows (Ray's own log lines), never what is written",
}

# option → command → (context, arguments that change outputs); the context names the base command line
NAMED: dict[str, dict[str, tuple[str, list[str]]]] = {
    "model": {"translate": ("marian", ["--model", "{other_marian}"])},
    "translator": {"run": ("extractive", ["--translator", "{other_marian}"])},
    "summarizer": {
        "summarize": ("abstractive", ["--summarizer", "extractive"]),
        "run": ("abstractive", ["--summarizer", "extractive"]),
    },
    "beams": {
        "translate": ("marian", ["--beams", "3"]),
        "summarize": ("abstractive", ["--beams", "3"]),
        "run": ("extractive", ["--beams", "3"]),
    },
    "max_new_tokens": {
        "translate": ("marian", ["--max-new-tokens", "5"]),
        "run": ("extractive", ["--max-new-tokens", "5"]),
    },
    "summary_beams": {"run": ("abstractive", ["--summary-beams", "3"])},
    "min_length": {"summarize": ("abstractive", ["--min-length", "3"]), "run": ("abstractive", ["--min-length", "3"])},
    "max_length": {"summarize": ("abstractive", ["--max-length", "9"]), "run": ("abstractive", ["--max-length", "9"])},
    "sentences": {"summarize": ("extractive", ["--sentences", "3"]), "run": ("extractive", ["--sentences", "3"])},
    "ratio": {"summarize": ("extractive", ["--ratio", "0.5"]), "run": ("extractive", ["--ratio", "0.5"])},
    "source_side": {"run": ("extractive", ["--source-side"])},
    "device": {
        "translate": ("marian", ["--device", "cuda"]),
        "summarize": ("abstractive", ["--device", "cuda"]),
        "run": ("abstractive", ["--device", "cuda"]),
    },
    "backend": {
        "translate": ("marian", ["--backend", "transformers"]),
        "summarize": ("abstractive", ["--backend", "transformers"]),
        "run": ("abstractive", ["--backend", "transformers"]),
    },
    "compute_type": {
        "translate": ("marian", ["--compute-type", "float32"]),
        "summarize": ("abstractive", ["--compute-type", "float32"]),
        "run": ("abstractive", ["--compute-type", "float32"]),
    },
    "glossary": {
        "translate": ("marian", ["--glossary", "{glossary}"]),
        "run": ("extractive", ["--glossary", "{glossary}"]),
    },
    "no_glossary": {"translate": ("marian", ["--no-glossary"]), "run": ("extractive", ["--no-glossary"])},
    "guards": {"translate": ("marian", ["--guards", "flag"]), "run": ("extractive", ["--guards", "flag"])},
    "context": {"translate": ("llm", ["--context", "0"]), "run": ("llm", ["--context", "0"])},
    "words": {"summarize": ("llm", ["--words", "30"]), "run": ("llm", ["--words", "30"])},
}

CONTEXTS: dict[str, dict[str, list[str]]] = {
    "translate": {"marian": ["--model", "{marian}"], "llm": ["--model", "{llama}"]},
    "summarize": {
        "abstractive": ["--summarizer", "{bart}"],
        "extractive": ["--summarizer", "extractive"],
        "llm": ["--summarizer", "{llama}"],
    },
    "run": {
        "abstractive": ["--translator", "{marian}", "--summarizer", "{bart}"],
        "extractive": ["--translator", "{marian}", "--summarizer", "extractive"],
        "llm": ["--translator", "{llama}", "--summarizer", "{llama}"],
    },
}


def options(command: str) -> list[str]:
    """The command's options as Typer declares them (parameter names), arguments left out."""
    group: Any = typer.main.get_command(app)
    return [p.name for p in group.commands[command].params if p.param_type_name == "option" and p.name]


@pytest.mark.parametrize("command", COMMANDS)
def test_run_names_every_option_is_classified(command: str) -> None:
    unclassified = [o for o in options(command) if o not in CANNOT_CHANGE_OUTPUTS and command not in NAMED.get(o, {})]
    assert not unclassified, (
        f"nl2en {command}: classify {unclassified} in tests/cli/test_run_names.py: NAMED (it changes outputs, so "
        "the default run name must change with it: pipeline/runs/outputs.py run_name) or CANNOT_CHANGE_OUTPUTS (why)"
    )
    both = [o for o in options(command) if o in CANNOT_CHANGE_OUTPUTS and command in NAMED.get(o, {})]
    assert not both, f"{both}: either it changes outputs or it cannot"
    stale = [o for o, commands in NAMED.items() if command in commands and o not in options(command)]
    assert not stale, f"nl2en {command} has no option {stale}"


@pytest.fixture
def names(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    tiny_marian: Path,
    tiny_bart: Path,
    tiny_llama: Path,
    english_sentences: list[str],
) -> Iterator[Any]:
    """``names(command, args)``: the default run name the command hands the batch (which is stubbed)."""
    import pipeline.runs.batch
    import pipeline.runs.summary_stage

    seen: list[str] = []

    def record(*args: Any, **kwargs: Any) -> BatchReport:
        plan = next(a for a in (*args, *kwargs.values()) if isinstance(a, pipeline.runs.batch.BatchPlan))
        seen.append(plan.run_name)
        return BatchReport()

    for module, function in ((pipeline.runs.batch, "translate_paths"),
                             (pipeline.runs.summary_stage, "summarize_paths"),
                             (pipeline.runs.summary_stage, "run_paths")):  # fmt: skip
        monkeypatch.setattr(module, function, record)
    other_marian = tmp_path / "other-marian"  # the same weights under another name: another model to the command
    shutil.copytree(tiny_marian, other_marian)
    glossary = tmp_path / "terms.tsv"
    glossary.write_text("kabinet\tcabinet\n", encoding="utf-8")
    dutch, english = tmp_path / "stuk.txt", tmp_path / "article.txt"
    dutch.write_text("Het kabinet vergadert.\n", encoding="utf-8")
    english.write_text(" ".join(english_sentences[:4]) + "\n", encoding="utf-8")
    values = {"marian": str(tiny_marian), "bart": str(tiny_bart), "other_marian": str(other_marian),
              "glossary": str(glossary), "llama": str(tiny_llama)}  # fmt: skip

    def name(command: str, context: str, extra: list[str]) -> str:
        given = [a.format(**values) for a in (*CONTEXTS[command][context], *extra)]
        source = english if command == "summarize" else dutch
        result = CliRunner().invoke(app, [command, str(source), *given, "--out", str(tmp_path / "out")])
        assert result.exit_code == 0, f"nl2en {command} {' '.join(given)}: {result.output}"
        return seen.pop()

    yield name


@pytest.mark.parametrize("command", COMMANDS)
def test_run_names_each_option_that_changes_outputs_changes_the_default_name(command: str, names: Any) -> None:
    base = {context: names(command, context, []) for context in CONTEXTS[command]}
    unchanged = []
    for commands in NAMED.values():
        if command not in commands:
            continue
        context, extra = commands[command]
        if names(command, context, extra) == base[context]:
            unchanged.append(f"{' '.join(extra)} (still {base[context]!r})")
    assert not unchanged, f"nl2en {command}: these change outputs but not the default run name: {unchanged}"
