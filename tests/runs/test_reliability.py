"""Reliability: hostile inputs, kill and resume, concurrency, determinism, safe paths, offline."""

from __future__ import annotations

import codecs
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.engines.factory import EngineOptions
from pipeline.models.registry import resolve_model
from pipeline.runs.batch import BatchPlan, translate_paths
from pipeline.runs.outputs import run_directory
from pipeline.runs.sessions import NO_CACHE, CacheSpec, TranslatorSpec, open_translator
from tests.conftest import ROOT, SEED

SENTENCE = "Loekasjenko zei dat Wit-Rusland onafhankelijk blijft."

# (name, file name, bytes, accepted?)
HOSTILE: list[tuple[str, str, bytes, bool]] = [
    ("empty", "empty.txt", b"", False),
    ("whitespace only", "ws.txt", " \t\r\n\n  \u3000\n".encode(), False),
    ("utf-8 bom", "bom8.txt", codecs.BOM_UTF8 + SENTENCE.encode(), True),
    ("utf-16 le bom", "bom16le.txt", codecs.BOM_UTF16_LE + SENTENCE.encode("utf-16-le"), True),
    ("utf-16 be bom", "bom16be.txt", codecs.BOM_UTF16_BE + SENTENCE.encode("utf-16-be"), True),
    ("latin-1", "latin1.txt", "Één café in Zürich.".encode("latin-1"), False),
    ("binary with nul", "nul.bin", b"\x00\x01\x02PK\x03\x04" * 50, False),
    ("invalid utf-8", "badutf8.txt", b"Goed begin \xed\xa0\x80 en \xff einde.", False),
    ("nul inside utf-8 text", "nultext.txt", b"Een zin.\x00 Nog een zin.", False),
    ("5000 words, no punctuation", "longsentence.txt", " ".join(["integratie"] * 5000).encode(), True),
    ("only punctuation", "punct.txt", b"!!! ... ??? ,,, ;;; --- ()[]{} \xe2\x80\x9e\xe2\x80\x9d", True),
    ("emoji", "emoji.txt", "Poetin 🇷🇺 en Loekasjenko 🇧🇾 praten 🤝. Geweldig 😀!".encode(), True),
    ("right-to-left", "rtl.txt", "مرحبا بالعالم. שלום עולם. Hallo wereld.".encode(), True),
    ("crlf", "crlf.txt", b"Eerste zin.\r\n\r\nTweede zin.\r\nDerde zin.\r\n", True),
    ("cr only", "cr.txt", b"Eerste zin.\rTweede zin.\r\rDerde.", True),
    ("tabs", "tabs.txt", b"\tIngesprongen zin.\n\t\tDubbel\tingesprongen\tzin.\n", True),
    ("very long token", "longtoken.txt", ("Zie https://example.nl/" + "a" * 8000 + " nu.").encode(), True),
    (
        "html",
        "page.html",
        b"<html><body><h1>Kop</h1><p>Een <b>vette</b> zin.</p><script>x=1</script></body></html>",
        True,
    ),
    ("markdown", "md.md", b"# Kop\n\n* punt een\n* punt twee\n\n**Vet** en _schuin_ [link](http://x.nl).\n", True),
    ("control characters", "ctrl.txt", b"Een \x07bel en \x1b[31mkleur\x1b[0m zin.\x0c Nieuwe pagina.", True),
    ("decomposed unicode", "nfd.txt", "Cafe\u0301 en naïeve ruı\u0308ne.".encode(), True),
    ("zero-width and nbsp", "zw.txt", "Een\u200bzin\u00a0met\u2060rare\ufeff tekens.".encode(), True),
    ("single character", "one.txt", b"a", True),
    ("many short lines", "lines.txt", b"Ja.\n" * 3000, True),
    ("unicode line separators", "ls.txt", "Een zin.\u2028Tweede.\u2029Derde.\x85Vierde.".encode(), True),
    ("only a metadata line", "meta.txt", b" date 2019-12\n", True),
    ("list markers only", "markers.txt", b"- \n* \n1. \n", True),
]


def hostile_files(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, file_name, data, _ in HOSTILE:
        path = root / file_name
        path.write_bytes(data)
        paths[name] = path
    return paths


def assert_lossless_run(run_dir: Path, text: str) -> None:
    records = [json.loads(line) for line in (run_dir / "aligned.jsonl").read_text(encoding="utf-8").splitlines()]
    covered: set[int] = set()
    for rec in records:
        assert text[rec["start"] : rec["end"]] == rec["source"]
        covered.update(range(rec["start"], rec["end"]))
        assert "\n" not in rec["target"] and "\r" not in rec["target"]
    assert all(ch.isspace() for i, ch in enumerate(text) if i not in covered), "a character was dropped"
    translation = (run_dir / "translation.en.txt").read_bytes().decode("utf-8")  # no newline translation
    assert translation.count("\n") == text.count("\n") and translation.count("\r") == text.count("\r")


@pytest.fixture(scope="module")
def hostile_run(tiny_marian: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path], Any]:
    root = tmp_path_factory.mktemp("hostile")
    paths = hostile_files(root / "in")
    spec = TranslatorSpec(str(tiny_marian), overrides={"max_new_tokens": 4})
    session = open_translator(spec, CacheSpec(root / "memory.sqlite3"))
    try:
        extra = [root / "in", root / "missing.txt"]
        report = translate_paths([*paths.values(), *extra], session.translator, BatchPlan(root / "out", "r"))
    finally:
        session.close()
    return root / "out", paths, report


@pytest.mark.parametrize(("name", "accepted"), [(h[0], h[3]) for h in HOSTILE])
def test_reliability_hostile_input(name: str, accepted: bool, hostile_run: tuple[Path, dict[str, Path], Any]) -> None:
    out, paths, report = hostile_run
    path = paths[name]
    failed = {Path(p).name: error for p, error in report.failed}
    run_dir = run_directory(out, path.stem, "r")
    if accepted:
        assert path.name not in failed, failed.get(path.name)
        from pipeline.runs.corpus import Formats, read_document
        from pipeline.text.reader import DEFAULT_MAX_CHARS

        # what the records index: the decoded text, or a page's and a Markdown file's text view
        assert_lossless_run(run_dir, read_document(path, None, DEFAULT_MAX_CHARS, Formats()).text)
    else:
        assert path.name in failed and "\n" not in str(failed[path.name])
        assert str(path) in str(failed[path.name])
        assert not run_dir.exists()


def test_reliability_directory_and_missing_path_are_reported(hostile_run: tuple[Path, dict[str, Path], Any]) -> None:
    _, _, report = hostile_run
    reasons = {Path(p).name: str(e) for p, e in report.failed}
    assert "directory" in reasons["in"] and "no such file" in reasons["missing.txt"]
    assert len(report.written) == sum(h[3] for h in HOSTILE)


def test_reliability_cli_batch_of_hostile_files_one_line_each(cli: Any, tiny_marian: Path, tmp_path: Path) -> None:
    paths = hostile_files(tmp_path / "in")
    result = cli("translate", *map(str, paths.values()), "--model", str(tiny_marian), "--out", str(tmp_path / "out"),
                 "--max-new-tokens", "2")  # fmt: skip
    err = result.stderr.decode()
    assert result.returncode == 1 and "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error [")]
    assert len(errors) == sum(not h[3] for h in HOSTILE)
    assert f"{sum(h[3] for h in HOSTILE)} translated" in err


def test_reliability_latin1_with_encoding_flag(cli: Any, tiny_marian: Path, tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Één café in Zürich. Tweede zin.".encode("latin-1"))
    args = ("translate", str(path), "--model", str(tiny_marian), "--out", str(tmp_path), "--max-new-tokens", "2")
    refused = cli(*args)
    assert refused.returncode == 1 and "--encoding" in refused.stderr.decode()
    accepted = cli(*args, "--encoding", "latin-1")
    assert accepted.returncode == 0, accepted.stderr.decode()
    manifest = json.loads((tmp_path / "latin1" / "tiny-marian-max-new2" / "manifest.json").read_text())
    assert manifest["input"]["encoding"] == "latin-1"


@pytest.mark.parametrize("name", ["met spaties.txt", "ünïcødé-Wit-Rusland.txt", "-leading-dash.txt", "..dots...txt"])
def test_reliability_awkward_file_names_stay_under_out(cli: Any, tiny_marian: Path, tmp_path: Path, name: str) -> None:
    path = tmp_path / "in" / name
    path.parent.mkdir()
    path.write_text(SENTENCE)
    out = tmp_path / "out"
    result = cli("translate", "--model", str(tiny_marian), "--out", str(out), "--max-new-tokens", "2", "--", str(path))
    assert result.returncode == 0, result.stderr.decode()
    manifests = list(out.rglob("manifest.json"))
    assert len(manifests) == 1
    assert out.resolve() in manifests[0].resolve().parents
    assert not any(part.startswith((".", "-")) for part in manifests[0].relative_to(out).parts)


def test_reliability_output_paths_cannot_escape(tmp_path: Path) -> None:
    for stem in ["../../etc", "..", "/abs/path", "a/../../b", "."]:
        path = run_directory(tmp_path / "out", stem, "../run")
        assert (tmp_path / "out").resolve() in path.parents


def test_reliability_outputs_do_not_depend_on_batch_composition(tiny_marian: Path, tmp_path: Path) -> None:
    from pipeline.models.decoding import decoding_settings
    from pipeline.quality.ladder import GuardPolicy
    from pipeline.translation.translator import Seq2SeqTranslator

    sentences = [s for s in SEED.read_text(encoding="utf-8").split(". ") if s.strip()][:24]
    model = resolve_model(str(tiny_marian))
    for backend in ("transformers", "ctranslate2"):
        spec = TranslatorSpec(str(tiny_marian), {"max_new_tokens": 6}, EngineOptions(backend=backend))
        session = open_translator(spec, NO_CACHE)
        engine = session.translator.inner.engine  # type: ignore[attr-defined]
        translator = Seq2SeqTranslator(
            engine, decoding_settings(model, {"max_new_tokens": 6}), policy=GuardPolicy(mode="off")
        )
        together = [t.target for t in translator.translate_batch(sentences)]
        alone = [translator.translate_batch([s])[0].target for s in sentences]
        shuffled_order = list(range(len(sentences)))
        random.Random(0).shuffle(shuffled_order)
        shuffled = translator.translate_batch([sentences[i] for i in shuffled_order])
        assert together == alone, backend
        assert [together[i] for i in shuffled_order] == [t.target for t in shuffled], backend
        assert len(set(together)) > len(together) // 2, "tiny model gives the same output for every input"


def make_corpus(root: Path, count: int) -> list[Path]:
    """Documents made of shuffled paragraphs of the seed, so they overlap but differ."""
    paragraphs = [p for p in SEED.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        rng = random.Random(i)
        chosen = rng.sample(paragraphs, k=4)
        path = root / f"doc{i:02d}.txt"
        path.write_text("\n\n".join(chosen) + f"\n\nDocument {i}.\n", encoding="utf-8")
        paths.append(path)
    return paths


def translate_cmd(paths: list[Path], model: Path, out: Path, guards: str = "retry") -> list[str]:
    return [sys.executable, "-m", "pipeline", "translate", *map(str, paths), "--model", str(model), "--out", str(out),
            "--max-new-tokens", "6", "--guards", guards]  # fmt: skip


def cli_env(cache: Path) -> dict[str, str]:
    return {**os.environ, "NL2EN_CACHE": str(cache), "PYTHONPATH": str(ROOT / "tests" / "netguard")}


def visible_outputs(out: Path) -> dict[str, bytes]:
    """translation.en.txt of every visible run directory, checking each is complete."""
    found = {}
    for run_dir in sorted(p for p in out.glob("*/*") if p.is_dir() and not p.name.startswith(".")):
        names = {p.name for p in run_dir.iterdir()}
        assert names == {"translation.en.txt", "aligned.jsonl", "manifest.json"}, f"incomplete {run_dir}: {names}"
        json.loads((run_dir / "manifest.json").read_text())
        assert (run_dir / "translation.en.txt").stat().st_size > 0
        found[run_dir.parent.name] = (run_dir / "translation.en.txt").read_bytes()
    return found


def stable_records(run_dir: Path) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in json.loads(line).items() if k != "cached"}
        for line in (run_dir / "aligned.jsonl").read_text().splitlines()
    ]


@pytest.mark.slow
def test_reliability_sigkill_then_resume_matches_clean_run(tiny_marian: Path, tmp_path: Path) -> None:
    docs = make_corpus(tmp_path / "in", 16)
    clean = subprocess.run(translate_cmd(docs, tiny_marian, tmp_path / "clean"), env=cli_env(tmp_path / "c.sqlite3"),
                           capture_output=True, timeout=600)  # fmt: skip
    assert clean.returncode == 0, clean.stderr.decode()
    expected = visible_outputs(tmp_path / "clean")
    rng = random.Random(42)
    killed_mid_run = 0
    for trial in range(3):
        out, cache = tmp_path / f"killed{trial}", tmp_path / f"k{trial}.sqlite3"
        # one kill at a random moment (often while loading), one right after the first document is out
        for mode in ("random", "after-first-output"):
            proc = subprocess.Popen(translate_cmd(docs, tiny_marian, out), env=cli_env(cache),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            if mode == "random":
                time.sleep(rng.uniform(0.2, 3.0))
            else:
                deadline = time.monotonic() + 120
                while (
                    proc.poll() is None and time.monotonic() < deadline and not list(out.glob("*/tiny-marian-max-new6"))
                ):
                    time.sleep(0.01)
            killed_mid_run += proc.poll() is None
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            partial = visible_outputs(out) if out.exists() else {}
            assert all(expected[name] == data for name, data in partial.items())
            with sqlite3.connect(cache) as db:
                assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        resumed = subprocess.run(translate_cmd(docs, tiny_marian, out), env=cli_env(cache), capture_output=True,
                                 timeout=600)  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr.decode()
        assert visible_outputs(out) == expected
        for doc in docs:
            run = f"{doc.stem}/tiny-marian-max-new6"
            assert stable_records(out / run) == stable_records(tmp_path / "clean" / run)
    assert killed_mid_run >= 3, "the kills must land while the process is still working"


@pytest.mark.slow
def test_reliability_four_concurrent_processes_share_one_cache(tiny_marian: Path, tmp_path: Path) -> None:
    docs = make_corpus(tmp_path / "in", 6)
    cache = tmp_path / "shared.sqlite3"
    # guards flag: every output a function of its segment alone. Under retry the retry budget is per document, so
    # a paragraph two documents share is retried as its first document's budget allows, and which process
    # computes it first is a matter of timing (the ladder's tests cover that budget)
    procs = [
        subprocess.Popen(
            translate_cmd(docs[i : i + 3], tiny_marian, tmp_path / f"out{i}", guards="flag"),
            env=cli_env(cache),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(4)
    ]
    results = [(p.wait(timeout=600), p.stderr.read().decode() if p.stderr else "") for p in procs]
    for code, err in results:
        assert code == 0, err
        assert "locked" not in err and "Traceback" not in err
    outputs = [visible_outputs(tmp_path / f"out{i}") for i in range(4)]
    for name in {n for o in outputs for n in o}:
        versions = {o[name] for o in outputs if name in o}
        assert len(versions) == 1, f"{name} differs between processes"
    from pipeline.text.segment import segment_document

    unique = {" ".join(s.source.split()) for d in docs[:6] for s in segment_document(d.read_text()).translatable}
    with sqlite3.connect(cache) as db:
        rows = db.execute("SELECT COUNT(*), COUNT(DISTINCT source) FROM entries WHERE stage = 'translate'").fetchone()
    assert rows[0] == rows[1] == len(unique)


@pytest.mark.slow
def test_reliability_ten_megabyte_article_streams_with_bounded_memory(tiny_marian: Path, tmp_path: Path) -> None:
    paragraph = SEED.read_text(encoding="utf-8")
    big = tmp_path / "big.txt"
    big.write_text((paragraph + "\n\n") * (10_000_000 // len(paragraph) + 1), encoding="utf-8")
    assert big.stat().st_size > 10_000_000
    code = (
        "import resource, runpy, sys; sys.argv = ['nl2en', 'translate', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('pipeline', run_name='__main__')\nexcept SystemExit as e:\n    code = e.code\n"
        "print('RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(big), "--model", str(tiny_marian), "--out", str(tmp_path / "out"),
         "--max-new-tokens", "4"],
        env=cli_env(tmp_path / "c.sqlite3"), capture_output=True, timeout=900,
    )  # fmt: skip
    err = result.stderr.decode()
    assert result.returncode == 0 and "1 translated" in err, err[-2000:]
    rss_mb = int(err.split("RSS_KB")[1].split()[0]) / 1024
    print(f"peak RSS for a {big.stat().st_size / 1e6:.1f} MB article: {rss_mb:.0f} MB")
    # 0.8-1.0 GB when this test runs alone or with its file; 2.0 GB has been seen inside the whole
    # suite (the child inherits the session's environment and model folder; the cause is not found)
    assert rss_mb < 2500
    run_dir = tmp_path / "out" / "big" / "tiny-marian-max-new4"
    assert_lossless_run(run_dir, big.read_text(encoding="utf-8"))


def test_reliability_network_guard_really_blocks(tmp_path: Path) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", "import socket; socket.create_connection(('127.0.0.1', 9), timeout=1)"],
        env=cli_env(tmp_path / "c.sqlite3"), capture_output=True,
    )  # fmt: skip
    assert probe.returncode != 0 and "NETWORK BLOCKED" in probe.stderr.decode()


def test_reliability_offline_run_opens_no_socket(cli: Any, tiny_marian: Path, tmp_path: Path) -> None:
    result = cli("run", str(SEED), "--translator", str(tiny_marian), "--summarizer", "extractive",
                 "--out", str(tmp_path), "--max-new-tokens", "2", env={"HF_HUB_OFFLINE": "1"})  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert "NETWORK BLOCKED" not in result.stderr.decode()


@pytest.mark.skipif(shutil.which("unshare") is None, reason="unshare (util-linux) is not installed")
def test_reliability_cli_works_without_any_network_interface(tiny_marian: Path, tmp_path: Path) -> None:
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"network namespaces are not permitted here: {probe.stderr.decode().strip()}")
    env = {**cli_env(tmp_path / "c.sqlite3"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        ["unshare", "-rn", sys.executable, "-m", "pipeline", "translate", str(SEED), "--model", str(tiny_marian),
         "--out", str(tmp_path / "out"), "--max-new-tokens", "2"],
        env=env, capture_output=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    missing = subprocess.run(["unshare", "-rn", sys.executable, "-m", "pipeline", "translate", str(SEED)],
                             env={**env, "HF_HUB_OFFLINE": "0"}, capture_output=True, timeout=60)  # fmt: skip
    assert missing.returncode == 1 and len(missing.stderr.decode().strip().splitlines()) == 1


def test_reliability_ctrl_c_inside_a_window_resumes_where_it_stopped(tiny_marian: Path, tmp_path: Path) -> None:
    """The tiny model through a session, stopped by Ctrl-C on its 4th decode: the rerun decodes only the rest
    and writes byte for byte what a run without a stop writes."""
    docs = make_corpus(tmp_path / "in", 6)
    spec = TranslatorSpec(str(tiny_marian), {"max_new_tokens": 6}, EngineOptions(backend="ctranslate2"))

    def run(out: Path, cache: Path, stop_at: int = 0) -> int:
        session = open_translator(spec, CacheSpec(cache))
        inner = session.translator.inner
        inner.journal_rows = 8  # type: ignore[attr-defined]
        engine = inner.engine  # type: ignore[attr-defined]
        decoded: list[int] = []
        decode = engine.decode

        def stopping(sources: Any, request: Any) -> Any:
            if len(decoded) + 1 == stop_at:
                raise KeyboardInterrupt
            decoded.append(len(sources))
            return decode(sources, request)

        engine.decode = stopping
        try:
            translate_paths(docs, session.translator, BatchPlan(out, "r"))
        finally:
            session.close()
        return sum(decoded)

    clean = run(tmp_path / "clean", tmp_path / "clean.sqlite3")
    assert clean > 4 * 8
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "out", tmp_path / "m.sqlite3", stop_at=4)
    with sqlite3.connect(tmp_path / "m.sqlite3") as db:
        rows = db.execute("SELECT stage, COUNT(*) FROM entries GROUP BY stage").fetchall()
    assert rows == [("translate:decodes", 3 * 8)], "each completed slice of decodes is in the memory"
    assert run(tmp_path / "out", tmp_path / "m.sqlite3") == clean - 3 * 8, "the rerun decodes only what was not done"
    for doc in docs:
        for name in ("aligned.jsonl", "translation.en.txt"):
            expected = (tmp_path / "clean" / doc.stem / "r" / name).read_bytes()
            assert (tmp_path / "out" / doc.stem / "r" / name).read_bytes() == expected
