"""The output contract: names, the run-name rule, JSON lines any reader can read, publishing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.runs.outputs import (
    MANIFEST_SCHEMA_VERSION,
    OWNER_FILE,
    DocumentFolders,
    InputIdentity,
    dumps_jsonl,
    dumps_manifest,
    joint_run_name,
    loads_jsonl,
    publish_directory,
    run_name,
    summary_file,
    summary_slug,
    write_atomic,
)
from pipeline.signature import (
    DecodingSection,
    EngineSection,
    GlossarySection,
    ModelSection,
    QualitySection,
    RunSignature,
)
from tests.conftest import ROOT, SEED

# Every character some reader treats as a line end: str.splitlines(), Unicode, JSON-lines tools.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(LINE_BREAKS)), max_size=5))
def test_outputs_jsonl_round_trips_any_text_one_line_per_record(texts: list[str]) -> None:
    records = [{"source": t, "target": t[::-1]} for t in texts]
    text = dumps_jsonl(records)
    assert loads_jsonl(text) == records
    # one record per line for every reader: splitting at any line break gives the same lines
    assert text.splitlines() == text.split("\n")[:-1] if records else text == ""
    assert [json.loads(line) for line in text.splitlines()] == records


def test_outputs_jsonl_escapes_exactly_the_other_line_breaks() -> None:
    line = dumps_jsonl([{"t": "a\u2028b\u2029c\x85d é ü"}])
    assert "\u2028" not in line and "\\u2028" in line and "\\u0085" in line
    assert "é ü" in line, "other Unicode stays readable"


def named(
    slug: str, settings: dict[str, Any], defaults: dict[str, Any], engine: tuple[str, ...] = (), **quality: Any
) -> str:
    """The run name of a signature with these parts (translations: the built-in glossary unless given)."""
    glossary = quality.pop("glossary", GlossarySection("builtin", 89, "abc123"))
    return run_name(
        RunSignature(
            stage="translate" if quality or glossary else "summarize",
            model=ModelSection(slug, "sha256:x", slug=slug),
            engine=EngineSection("ctranslate2", choices=engine),
            decoding=DecodingSection(settings, {}, defaults),
            quality=QualitySection(quality.get("mode", "retry")) if glossary else None,
            glossary=glossary,
        )
    )


def test_outputs_run_name_rule() -> None:
    defaults = {"num_beams": 4, "max_length": 512}
    assert named("opus-mt-nl-en", {"num_beams": 4, "max_length": 512}, defaults) == "opus-mt-nl-en"
    assert named("opus-mt-nl-en", {"num_beams": 1, "max_length": 512}, defaults) == "opus-mt-nl-en-beams1"
    assert (
        named("opus-mt-nl-en", {"num_beams": 4, "max_new_tokens": 8}, defaults, ("ctranslate2",))
        == "opus-mt-nl-en-max-new8-ctranslate2"
    )
    assert named("x", {"length_penalty": 1.5}, {}) == "x-lp1.5"
    assert named("x", {}, {}, mode="flag") == "x-guards-flag"
    assert named("x", {}, {}, glossary=GlossarySection()) == "x-no-glossary"
    assert named("x", {}, {}, glossary=GlossarySection("terms.tsv", 2, "0123456789")) == "x-glossary-01234567"
    assert named("extractive", {"sentences": 3}, {"sentences": None}, glossary=None) == "extractive-sentences3"
    assert joint_run_name("a-beams1", "extractive") == "a-beams1+extractive"
    assert joint_run_name("a", "extractive-sentences3", source_side=True) == "a+extractive-sentences3-source-side"


def test_outputs_summary_slug_rule() -> None:
    assert summary_file(summary_slug(None)) == "summary.extractive.txt"
    assert summary_file(summary_slug("sshleifer--distilbart-cnn-12-6")) == "summary.sshleifer--distilbart-cnn-12-6.txt"


def test_outputs_manifest_carries_the_schema_version() -> None:
    assert json.loads(dumps_manifest({"input": {}}))["schema"] == MANIFEST_SCHEMA_VERSION


def file_identity(tmp_path: Path, relative: str) -> InputIdentity:
    return InputIdentity.of_file(tmp_path / relative)


def test_outputs_a_document_folder_belongs_to_one_input_across_commands(tmp_path: Path) -> None:
    out = tmp_path / "out"
    three, other = file_identity(tmp_path, "three/d1.txt"), file_identity(tmp_path, "other/d1.txt")
    assert DocumentFolders(out).claim("d1", three) == "d1"
    # a later command, another input of the same name: a folder of its own, named by its identity
    assert DocumentFolders(out).claim("d1", other) == f"d1-{other.digest[:8]}"
    for _ in range(2):  # and each keeps its folder, whoever asks first
        assert DocumentFolders(out).claim("d1", other) == f"d1-{other.digest[:8]}"
        assert DocumentFolders(out).claim("d1", three) == "d1"
    assert json.loads((out / "d1" / OWNER_FILE).read_text()) == {"kind": "file", "key": str(tmp_path / "three/d1.txt")}
    # a JSONL record is its corpus and id: the same id in another corpus is another input
    first = InputIdentity.of_record(tmp_path / "a.jsonl", "nos-1")
    second = InputIdentity.of_record(tmp_path / "b.jsonl", "nos-1")
    assert first.key == f"{tmp_path / 'a.jsonl'}#nos-1"
    assert [DocumentFolders(out).claim("nos-1", i) for i in (first, second, first)] == [
        "nos-1",
        f"nos-1-{second.digest[:8]}",
        "nos-1",
    ]


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0)])
def test_outputs_document_folders_do_not_depend_on_argument_order(tmp_path: Path, order: tuple[int, ...]) -> None:
    inputs = [("a b", file_identity(tmp_path, "x/a b.txt")), ("a-b", file_identity(tmp_path, "y/a-b.txt")),
              ("A-B", file_identity(tmp_path, "z/A-B.txt"))]  # fmt: skip
    folders = DocumentFolders(tmp_path / "out")
    folders.prefer(inputs)
    named = {identity: folders.claim(stem, identity) for stem, identity in (inputs[i] for i in order)}
    # the cleaned names collide (case-folded): the smallest identity gets its name, the others their own
    first = min((identity for _, identity in inputs), key=lambda i: i.key)
    cleaned = {"a b": "a-b", "a-b": "a-b", "A-B": "A-B"}
    assert named == {i: cleaned[stem] if i == first else f"{cleaned[stem]}-{i.digest[:8]}" for stem, i in inputs}
    assert len({name.casefold() for name in named.values()}) == 3, "distinct on a case-insensitive disk too"


def test_outputs_a_folder_from_before_owners_goes_to_the_input_its_manifests_name(tmp_path: Path) -> None:
    out = tmp_path / "out"
    mine, theirs = file_identity(tmp_path, "a/d1.txt"), file_identity(tmp_path, "b/d1.txt")
    (out / "d1" / "run").mkdir(parents=True)
    (out / "d1" / "run" / "manifest.json").write_text(json.dumps({"input": {"resolved": mine.key}}))
    assert DocumentFolders(out).claim("d1", theirs) == f"d1-{theirs.digest[:8]}"
    assert DocumentFolders(out).claim("d1", mine) == "d1"
    assert json.loads((out / "d1" / OWNER_FILE).read_text())["key"] == mine.key
    (out / "empty").mkdir()  # a folder with nothing in it: whoever comes first
    assert DocumentFolders(out).claim("empty", theirs) == "empty"


def test_outputs_publish_keeps_the_run_s_first_created(tmp_path: Path) -> None:
    run_dir = tmp_path / "doc" / "run"
    publish_directory(run_dir, {"manifest.json": dumps_manifest({"created": "2026-01-01T10:00:00+0100"})})
    publish_directory(run_dir, {"manifest.json": dumps_manifest({"created": "2026-02-02T10:00:00+0100", "n": 2})})
    written = json.loads((run_dir / "manifest.json").read_text())
    assert written["created"] == "2026-01-01T10:00:00+0100" and written["n"] == 2
    assert (run_dir / "manifest.json").read_text() == dumps_manifest({"created": written["created"], "n": 2})


@pytest.mark.parametrize("umask", [0o002, 0o022, 0o077])
def test_outputs_folders_and_files_get_the_umask_s_modes(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        out = tmp_path / "out"
        name = DocumentFolders(out).claim("doc", file_identity(tmp_path, "doc.txt"))
        publish_directory(out / name / "run", {"manifest.json": "{}", "translation.en.txt": "x\n"})
        publish_directory(out / name / "run", {"manifest.json": "{}"})  # published again
        write_atomic(out / name / "scores.json", "{}")
    finally:
        os.umask(previous)
    modes = {p.relative_to(out).as_posix(): p.stat().st_mode & 0o777 for p in out.rglob("*") if ".lock" not in p.name}
    expected_dir, expected_file = 0o777 & ~umask, 0o666 & ~umask
    assert modes == {
        "doc": expected_dir,
        f"doc/{OWNER_FILE}": expected_file,
        "doc/run": expected_dir,
        "doc/run/manifest.json": expected_file,
        "doc/scores.json": expected_file,
    }


def test_outputs_publish_replaces_the_directory_contents(tmp_path: Path) -> None:
    run_dir = tmp_path / "doc" / "run"
    publish_directory(run_dir, {"manifest.json": "{}", "summary.extractive.txt": "old summary\n"})
    publish_directory(run_dir, {"manifest.json": "{}", "translation.en.txt": "new\n"})
    assert sorted(p.name for p in run_dir.iterdir()) == ["manifest.json", "translation.en.txt"]
    assert sorted(p.name for p in run_dir.parent.iterdir() if p.name != ".run.lock") == ["run"]


def test_outputs_publish_leaves_live_staging_folders_alone(tmp_path: Path) -> None:
    parent = tmp_path / "doc"
    parent.mkdir()
    live = parent / f".run.staging-{os.getppid()}-abc"  # another process, still running
    live.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = parent / f".run.staging-{dead.stdout.strip()}-xyz"  # a process that is gone
    leftover.mkdir()
    publish_directory(parent / "run", {"manifest.json": "{}"})
    assert live.is_dir() and not leftover.exists()


def test_outputs_publish_onto_a_file_fails_and_cleans_its_staging(tmp_path: Path) -> None:
    (tmp_path / "doc").mkdir()
    (tmp_path / "doc" / "run").write_text("in the way")
    with pytest.raises(OSError):
        publish_directory(tmp_path / "doc" / "run", {"manifest.json": "{}"})
    assert sorted(p.name for p in (tmp_path / "doc").iterdir() if not p.name.endswith(".lock")) == ["run"]


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "NL2EN_CACHE": str(cache), "PYTHONPATH": str(ROOT / "tests" / "netguard")}


@pytest.mark.slow
def test_outputs_concurrent_publishers_of_one_run_all_succeed(tiny_marian: Path, tmp_path: Path) -> None:
    out, cache = tmp_path / "out", tmp_path / "c.sqlite3"
    cmd = [sys.executable, "-m", "pipeline", "translate", str(SEED), "--model", str(tiny_marian), "--out", str(out),
           "--max-new-tokens", "4", "--run-name", "r"]  # fmt: skip
    first = subprocess.run(cmd, env=_env(cache), capture_output=True, cwd=ROOT, timeout=600)
    assert first.returncode == 0, first.stderr.decode()
    expected = (out / SEED.stem / "r" / "translation.en.txt").read_bytes()
    failures: list[Any] = []
    for _ in range(10):
        procs = [subprocess.Popen(cmd, env=_env(cache), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
                 for _ in range(4)]  # fmt: skip
        for proc in procs:
            _, err = proc.communicate(timeout=600)
            if proc.returncode != 0:
                failures.append(err.decode()[-500:])
    assert not failures, failures
    run_dir = out / SEED.stem / "r"
    assert sorted(p.name for p in run_dir.iterdir()) == ["aligned.jsonl", "manifest.json", "translation.en.txt"]
    assert (run_dir / "translation.en.txt").read_bytes() == expected
    left = [p.name for p in run_dir.parent.iterdir() if p.name not in (".r.lock", OWNER_FILE)]
    assert left == ["r"], "no staging left behind"


def test_outputs_concurrent_claims_of_one_name_get_distinct_folders(tmp_path: Path) -> None:
    """Processes claiming ``d1`` at once for different inputs take turns on the lock: one folder each, no mix."""
    out = tmp_path / "out"
    script = (
        "import sys; from pathlib import Path; from pipeline.runs.outputs import DocumentFolders, InputIdentity\n"
        "print(DocumentFolders(Path(sys.argv[1])).claim('d1', InputIdentity.of_file(Path(sys.argv[2]))))"
    )
    inputs = [tmp_path / f"in{i}" / "d1.txt" for i in range(6)]
    procs = [subprocess.Popen([sys.executable, "-c", script, str(out), str(path)], stdout=subprocess.PIPE, text=True,
                              cwd=ROOT) for path in inputs]  # fmt: skip
    named = [proc.communicate(timeout=60)[0].strip() for proc in procs]
    assert len(set(named)) == 6 and "d1" in named
    for path, name in zip(inputs, named, strict=True):
        assert json.loads((out / name / OWNER_FILE).read_text())["key"] == str(path)
