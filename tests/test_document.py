"""One document: the three outputs, losslessness, the manifest, caching."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.batch import translate_paths
from pipeline.engines import EngineOptions, open_translator
from tests.conftest import SEED


def run(paths: list[Path], model: Path, out: Path, cache: Path | None = None, **kwargs: object) -> object:
    session = open_translator(
        str(model), overrides={"max_new_tokens": 12}, cache=cache, options=EngineOptions(backend="transformers")
    )
    try:
        return translate_paths(paths, session.translator, session.model, out=out, run_name="tiny", **kwargs)  # type: ignore[arg-type]
    finally:
        session.close()


@pytest.fixture(scope="module")
def seed_run(tiny_marian: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out")
    report = run([SEED], tiny_marian, out, cache=out / "memory.sqlite3")
    assert not report.failed  # type: ignore[attr-defined]
    return out / SEED.stem / "tiny"


def test_document_writes_three_outputs(seed_run: Path) -> None:
    assert sorted(p.name for p in seed_run.iterdir()) == ["aligned.jsonl", "manifest.json", "translation.en.txt"]


def test_document_aligned_records_are_lossless(seed_run: Path, seed_text: str) -> None:
    records = [json.loads(line) for line in (seed_run / "aligned.jsonl").read_text().splitlines()]
    covered = set()
    for rec in records:
        assert seed_text[rec["start"] : rec["end"]] == rec["source"]
        covered.update(range(rec["start"], rec["end"]))
    assert all(ch.isspace() for i, ch in enumerate(seed_text) if i not in covered)
    kinds = {r["kind"] for r in records}
    assert kinds == {"metadata", "sentence", "heading"}
    meta = records[0]
    assert meta["kind"] == "metadata" and meta["target"] == meta["source"] and not meta["translated"]
    assert all(r["translated"] and isinstance(r["target"], str) for r in records if r["kind"] != "metadata")


def test_document_translation_keeps_line_structure(seed_run: Path, seed_text: str) -> None:
    translation = (seed_run / "translation.en.txt").read_text()
    src_lines, out_lines = seed_text.splitlines(), translation.splitlines()
    assert len(out_lines) == len(src_lines)
    for src, out in zip(src_lines, out_lines, strict=True):
        assert bool(src.strip()) == bool(out.strip())
    assert out_lines[0].startswith(" date 2019-12 ")


def test_document_manifest_describes_the_run(seed_run: Path, tiny_marian: Path) -> None:
    manifest = json.loads((seed_run / "manifest.json").read_text())
    assert manifest["input"]["sha256"] and manifest["input"]["path"] == str(SEED)
    translator = manifest["translator"]
    assert translator["fingerprint"].startswith("sha256:") and translator["backend"] == "transformers"
    assert translator["decoding"]["max_new_tokens"] == 12 and "num_beams" in translator["decoding"]
    assert manifest["cache"]["misses"] > 0 and manifest["cache"]["hits"] == 0
    assert {"transformers", "torch", "python"} <= set(manifest["versions"])
    assert set(manifest["timings"]) >= {"segment_s", "translate_s", "total_s"}


def test_document_rerun_is_fully_cached_and_identical(tiny_marian: Path, tmp_path: Path) -> None:
    first = run([SEED], tiny_marian, tmp_path / "a")
    again = run([SEED], tiny_marian, tmp_path / "b")
    assert first.misses > 0 and again.misses == 0 and again.hits == first.misses + first.hits  # type: ignore[attr-defined]
    a = (tmp_path / "a" / SEED.stem / "tiny" / "translation.en.txt").read_bytes()
    b = (tmp_path / "b" / SEED.stem / "tiny" / "translation.en.txt").read_bytes()
    assert a == b


def test_document_bad_files_never_stop_good_ones(tiny_marian: Path, tmp_path: Path) -> None:
    good = tmp_path / "goed.txt"
    good.write_text("Dit is een goede zin.\n")
    empty = tmp_path / "leeg.txt"
    empty.write_text("  \n")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Één café".encode("latin-1"))
    report = run([empty, tmp_path / "missing.txt", good, latin, tmp_path], tiny_marian, tmp_path / "out")
    assert [p.parent.name for p in report.written] == ["goed"]  # type: ignore[attr-defined]
    assert [Path(name).name for name, _ in report.failed] == ["leeg.txt", "missing.txt", "latin.txt", tmp_path.name]  # type: ignore[attr-defined]
    assert not (tmp_path / "out" / "leeg").exists()


def test_document_cached_run_imports_no_torch(tiny_marian: Path, tmp_path: Path) -> None:
    code = f"""
import sys
from pathlib import Path
from pipeline.batch import translate_paths
from pipeline.engines import EngineOptions, open_translator
for out in ("a", "b"):
    options = EngineOptions(backend="transformers")
    s = open_translator({str(tiny_marian)!r}, overrides={{"max_new_tokens": 12}}, options=options)
    r = translate_paths([Path({str(SEED)!r})], s.translator, s.model, out=Path({str(tmp_path)!r}) / out, run_name="t")
    s.close()
print(r.misses, "torch" in sys.modules, "transformers" in sys.modules)
"""
    # first run in one process (loads torch), second run in a fresh one (must not)
    subprocess.run([sys.executable, "-c", code.replace('("a", "b")', '("a",)')], check=True, capture_output=True)
    fresh = subprocess.run(
        [sys.executable, "-c", code.replace('("a", "b")', '("b",)')], check=True, capture_output=True, text=True
    )
    assert fresh.stdout.split() == ["0", "False", "False"]


@pytest.mark.parametrize("backend", ["ctranslate2", "transformers"])
def test_document_window_outputs_equal_the_per_document_path(tiny_marian: Path, tmp_path: Path, backend: str) -> None:
    from pipeline.document import document_manifest, translate_document, translator_manifest, write_translation
    from pipeline.reader import read_article

    paragraphs = [p for p in SEED.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    paths = []
    for i in range(4):  # overlapping documents: shared paragraphs are de-duplicated in the window
        paths.append(tmp_path / "in" / f"doc{i}.txt")
        paths[-1].parent.mkdir(exist_ok=True)
        paths[-1].write_text("\n\n".join(paragraphs[i : i + 3]) + "\n", encoding="utf-8")
    options = EngineOptions(backend=backend)
    session = open_translator(str(tiny_marian), overrides={"max_new_tokens": 8}, use_cache=False, options=options)
    report = translate_paths(paths, session.translator, session.model, out=tmp_path / "window", run_name="t")
    assert not report.failed
    info = translator_manifest(session.model, session.translator)
    alone: dict[str, str] = {}
    for path in paths:  # a fresh translator per document: nothing shared between them
        single = open_translator(str(tiny_marian), overrides={"max_new_tokens": 8}, use_cache=False, options=options)
        result = translate_document(read_article(path), single.translator)
        write_translation(result, tmp_path / "alone" / path.stem, document_manifest(result, info, None))
        alone.update((s.source, result.translations[s.index].target) for s in result.document.translatable)
    assert len(set(alone.values())) > len(alone) // 2, "tiny model gives the same output for every input"
    for path in paths:
        window_text = (tmp_path / "window" / path.stem / "t" / "translation.en.txt").read_bytes()
        assert window_text == (tmp_path / "alone" / path.stem / "translation.en.txt").read_bytes()
