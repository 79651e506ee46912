"""The Ray executor: same outputs as the local engine, worker kills survived, clear one-line errors.

One local Ray (2 CPUs, no dashboard) serves the whole module. Ray's driver talks to its
own processes over loopback, so these tests allow loopback connections and nothing else.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.engines.factory import EngineOptions
from pipeline.errors import ModelError, ModelNotFoundError
from pipeline.models.decoding import decoding_settings
from pipeline.models.registry import fingerprint, resolve_model
from pipeline.runs.batch import translate_paths
from pipeline.runs.cache import CachedTranslator
from pipeline.runs.corpus import iter_corpus
from pipeline.runs.document import translate_document
from pipeline.runs.memory import TranslationMemory
from pipeline.runs.ray_executor import (
    FAULT_ENV,
    INSTALL_HINT,
    ExecutorError,
    RayConnection,
    RayExecutor,
    RaySummaryExecutor,
    _run_error,
    check_address,
    time_ray,
)
from pipeline.runs.sessions import open_summarizer, open_translator
from pipeline.text.segment import segment_document
from tests.conftest import ROOT, SEED, loopback_only
from tests.support.signatures import signature_for

pytest.importorskip("ray")
pytestmark = pytest.mark.usefixtures("allow_loopback")

OVERRIDES = {"max_new_tokens": 12}
OPTIONS = EngineOptions(backend="ctranslate2", compute_type="int8")


@pytest.fixture(scope="module")
def ray_local() -> Iterator[RayConnection]:
    os.environ.pop("RAY_ADDRESS", None)
    with loopback_only():
        connection = RayConnection(num_cpus=2)
        connection.open()
    assert connection.owned
    yield connection
    connection.close()


def documents() -> list[str]:
    """24 short Dutch documents (a title and two sentences each), some sharing sentences."""
    lines = [line for line in SEED.read_text(encoding="utf-8").splitlines() if len(line) > 40]
    return [f"Bericht {i}\n\n{lines[i % len(lines)]}\n{lines[(i * 5 + 3) % len(lines)]}\n" for i in range(24)]


def executor(model: Path, **kwargs: Any) -> RayExecutor:
    from pipeline.quality.glossary import builtin_glossary

    resolved = resolve_model(str(model))
    kwargs.setdefault("glossary", builtin_glossary())  # as open_translator's local translator has it
    return RayExecutor(str(model), OPTIONS, decoding_settings(resolved, OVERRIDES), **kwargs)


def sentences(model: Path) -> list[str]:
    out: list[str] = []
    for text in documents():
        out.extend(s.source for s in segment_document(text).translatable)
    return list(dict.fromkeys(out))


def local_targets(model: Path, sources: list[str]) -> list[str]:
    session = open_translator(str(model), overrides=OVERRIDES, use_cache=False, options=OPTIONS)
    return [t.target for t in session.translator.translate_batch(sources)]


def test_ray_executor_two_workers_match_the_local_engine(ray_local: RayConnection, tiny_marian: Path) -> None:
    sources = sentences(tiny_marian)
    assert len(sources) >= 20
    expected = local_targets(tiny_marian, sources)
    assert len(set(expected)) >= 10, "the tiny model must give varied outputs for this test to mean anything"
    ray_executor = executor(tiny_marian, workers=2, batch_rows=8)
    got = ray_executor.translate(sources)
    assert [t.target for t in got] == expected
    assert all(not t.cached and t.tokens > 0 for t in got)
    info = ray_executor.executor()
    assert info.kind == "ray" and info.details["workers"] == 2 and info.details["nodes"] == 1
    assert info.details["ray_version"].count(".") >= 2


def test_ray_executor_batch_outputs_identical_to_local_with_cached_and_fresh(
    ray_local: RayConnection, tiny_marian: Path, tmp_path: Path
) -> None:
    """translation.en.txt and aligned.jsonl (save ``cached``) are byte-identical across executors."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    paths = []
    for i, text in enumerate(documents()):
        paths.append(inputs / f"doc{i:02d}.txt")
        paths[-1].write_text(text, encoding="utf-8")
    outs = {}
    for name in ("local", "ray"):
        session = open_translator(
            str(tiny_marian), overrides=OVERRIDES, cache=tmp_path / f"{name}.sqlite3", options=OPTIONS
        )
        for path in paths[:8]:  # warm the memory: a third of the documents are cached
            translate_document(next(iter_corpus([path])).article, session.translator)  # type: ignore[arg-type]
        translator = session.translator
        if name == "ray":
            ray_executor = executor(tiny_marian, workers=2, batch_rows=8, fingerprint=translator.fingerprint)
            translator = CachedTranslator(ray_executor, session.memory, session.signature)
            # as the batch loop does per window: all segments at once, only the misses go to Ray
            window = [s.source for p in paths for s in segment_document(p.read_text(encoding="utf-8")).translatable]
            translator.translate_batch(window)
            assert translator.hits > 0 and translator.misses > 0
        report = translate_paths(paths, translator, out=tmp_path / name, run_name="run")
        session.close()
        assert not report.failed and len(report.written) == 24
        assert report.hits > 0 and (report.misses > 0 or name == "ray")
        outs[name] = tmp_path / name
    targets = set()
    for path in paths:
        local, remote = outs["local"] / path.stem / "run", outs["ray"] / path.stem / "run"
        assert (local / "translation.en.txt").read_bytes() == (remote / "translation.en.txt").read_bytes()
        records = [
            [json.loads(line) for line in (d / "aligned.jsonl").read_text().splitlines()] for d in (local, remote)
        ]
        for rec in records[0] + records[1]:
            rec.pop("cached")
        assert records[0] == records[1]
        targets.update(r["target"] for r in records[1] if r["translated"])
    assert len(targets) >= 10


def test_ray_executor_survives_a_killed_worker(ray_local: RayConnection, tiny_marian: Path, tmp_path: Path) -> None:
    sources = sentences(tiny_marian)
    expected = local_targets(tiny_marian, sources)
    marker = tmp_path / "killed"
    # each actor's second batch kills its process, once in all (the marker file says it happened)
    ray_executor = executor(tiny_marian, workers=2, batch_rows=4, actor_env={FAULT_ENV: f"{marker}:2"})
    got = ray_executor.translate(sources)
    assert marker.is_file(), "no actor was killed, so this test proved nothing"
    assert int(marker.read_text()) != os.getpid()
    assert [t.target for t in got] == expected


def test_ray_executor_translates_a_jsonl_corpus(ray_local: RayConnection, tiny_marian: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    with corpus.open("w", encoding="utf-8") as fh:
        for i, text in enumerate(documents()[:20]):
            fh.write(json.dumps({"id": f"art-{i}", "text": text}) + "\n")
        fh.write("{broken\n")
    items = list(iter_corpus([corpus]))
    assert [i.error is None for i in items] == [True] * 20 + [False]
    session = open_translator(str(tiny_marian), overrides=OVERRIDES, use_cache=False, options=OPTIONS)
    memory = TranslationMemory(tmp_path / "memory.sqlite3")
    ray_executor = executor(tiny_marian, workers=2, fingerprint=session.translator.fingerprint)
    translator = CachedTranslator(ray_executor, memory, session.signature)
    articles = [item.article for item in items[:20] if item.article is not None]
    # the window's segments go to Ray in one run (the memory de-duplicates them) ...
    window = [s.source for a in articles for s in segment_document(a.text).translatable]
    translator.translate_batch(window)
    assert translator.misses == len(window) - translator.hits > 0
    # ... then each document is assembled from the memory, as the local executor would write it
    for article in articles:
        remote = translate_document(article, translator)
        assert remote.misses == 0
        assert remote.text == translate_document(article, session.translator).text
    memory.close()


def test_ray_executor_fingerprint_mismatch_fails_the_run(ray_local: RayConnection, tiny_marian: Path) -> None:
    wrong = "sha256:" + "0" * 32
    real = fingerprint(resolve_model(str(tiny_marian)))
    with pytest.raises(ModelError) as err:
        executor(tiny_marian, workers=1, fingerprint=wrong).translate(["Dit is een zin."])
    message = str(err.value)
    assert "fingerprint mismatch" in message and wrong in message and real in message
    assert "\n" not in message


def test_ray_executor_unreachable_address_fails_fast() -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ExecutorError) as err:
        RayConnection(address=f"127.0.0.1:{port}").open()
    assert time.monotonic() - started < 30
    assert f"127.0.0.1:{port}" in str(err.value) and "ray start --head" in str(err.value)
    assert "\n" not in str(err.value)
    with pytest.raises(ExecutorError, match="not host:port"):
        check_address("nowhere")


def test_ray_executor_without_ray_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tiny_marian: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(ExecutorError) as err:
        executor(tiny_marian).start()
    assert INSTALL_HINT in str(err.value) and "\n" not in str(err.value)


def test_ray_executor_times_start_up_apart_from_translation(ray_local: RayConnection, tiny_marian: Path) -> None:
    figures = time_ray(executor(tiny_marian, workers=2), sentences(tiny_marian), pool_runs=1)
    assert figures["sentences"] >= 20
    assert figures["pool_startup_s"] > 0 and figures["run_s"] > 0 and figures["sentences_per_s"] > 0
    assert 0 < figures["actor_busy_s"] <= figures["run_s"]


def test_ray_executor_local_runs_never_import_ray(tiny_marian: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "a1", "text": SEED.read_text(encoding="utf-8")}) + "\n", encoding="utf-8")
    script = f"""
import sys
import pipeline.runs.ray_executor, pipeline.runs.corpus
from pathlib import Path
from pipeline.runs.sessions import open_translator
from pipeline.runs.document import translate_document
session = open_translator({str(tiny_marian)!r}, overrides={{"max_new_tokens": 4}}, use_cache=False)
for item in pipeline.runs.corpus.iter_corpus([Path({str(corpus)!r})]):
    translate_document(item.article, session.translator)
print("ray" in sys.modules, any(m.startswith("ray.") for m in sys.modules))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests" / "netguard")}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "False"]


def test_ray_executor_summaries_match_the_local_summariser(
    ray_local: RayConnection, tiny_bart: Path, english_sentences: list[str]
) -> None:
    session = open_summarizer(str(tiny_bart), memory=None, options=OPTIONS)
    local = session.summarizer.inner
    texts = [" ".join(english_sentences[i : i + 3]) for i in range(0, 18, 3)]
    texts.append(" ".join(english_sentences[:40]))  # longer than the context: map-reduce chunks
    expected = [local.summarize(t) for t in texts]
    assert len({s.text for s in expected}) >= 3, "the tiny summariser must give varied outputs"
    remote = RaySummaryExecutor(str(tiny_bart), OPTIONS, local.settings, workers=2)  # type: ignore[attr-defined]
    got = remote.summarize_many(texts)
    assert [(s.text, s.chunks, s.flags) for s in got] == [(s.text, s.chunks, s.flags) for s in expected]
    assert len(expected[-1].chunks) > 0


def test_ray_executor_refuses_more_workers_than_cpus(ray_local: RayConnection, tiny_marian: Path) -> None:
    with pytest.raises(ExecutorError, match="need 3 CPUs; the Ray cluster has 2"):
        executor(tiny_marian, workers=3).start()


def test_ray_executor_sends_actors_an_absolute_model_directory(
    tiny_marian: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tiny_marian.parent)
    assert executor(Path(tiny_marian.name)).model_spec == str(tiny_marian.resolve())


def test_ray_executor_turns_an_actor_error_into_the_same_nl2en_error() -> None:
    remote = RuntimeError(
        "ray::MapWorker(MapBatches(TranslationActor)).__init__() (pid=1, ip=10.0.0.2)\n"
        "  File ...\n"
        "pipeline.errors.ModelNotFoundError: model 'opus-mt-nl-en' is not available on this machine (looked in: x)"
    )
    error = _run_error(remote)
    assert isinstance(error, ModelNotFoundError)
    assert str(error) == "model 'opus-mt-nl-en' is not available on this machine (looked in: x)"
    other = _run_error(RuntimeError("ActorDiedError: the node went away\nmore"))
    assert isinstance(other, ExecutorError) and str(other) == "the Ray run failed: ActorDiedError: the node went away"


def test_ray_executor_decides_the_auto_backend_on_the_driver(tiny_marian: Path) -> None:
    settings = decoding_settings(resolve_model(str(tiny_marian)), OVERRIDES)
    auto = RayExecutor(str(tiny_marian), EngineOptions(backend="auto"), settings)
    assert auto.engine_options.backend == "ctranslate2"


def test_ray_executor_hands_results_to_the_memory_as_they_arrive(
    ray_local: RayConnection, tiny_marian: Path, tmp_path: Path
) -> None:
    """Opened through the engines with ``--executor ray``: results reach the memory in chunks, during the run."""
    from pipeline.runs.sessions import ExecutorOptions

    session = open_translator(
        str(tiny_marian), overrides=OVERRIDES, cache=tmp_path / "m.sqlite3", options=OPTIONS,
        executor=ExecutorOptions("ray", workers=2),
    )  # fmt: skip
    ray_executor = session.translator.inner
    assert isinstance(ray_executor, RayExecutor) and ray_executor.sink is not None
    written = ray_executor.sink
    chunks: list[int] = []

    def counting(done: Any) -> None:
        chunks.append(len(done))
        written(done)

    ray_executor.sink, ray_executor.sink_rows, ray_executor.batch_rows = counting, 8, 8
    sources = sentences(tiny_marian)
    first = session.translator.translate_batch(sources)
    assert sum(chunks) == len(sources) and len(chunks) >= 3 and max(chunks) == 8
    fresh = CachedTranslator(ray_executor, session.memory, session.signature)
    ray_executor.sink = None
    again = fresh.translate_batch(sources)  # every one a hit: nothing goes to Ray
    assert fresh.hits == len(sources) and fresh.misses == 0
    assert [t.target for t in again] == [t.target for t in first]
    info = session.translator.manifest()
    assert info["executor"] == "ray" and info["startup_s"] == 0  # the module's Ray was reused, not started
    session.close()
    import ray

    assert ray.is_initialized(), "closing a session must not stop a Ray it did not start"


def test_ray_executor_gets_one_run_per_window_of_the_batch(
    ray_local: RayConnection, tiny_marian: Path, tmp_path: Path
) -> None:
    """The batch hands each window's de-duplicated misses to the executor in one call: one actor pool a window."""
    from pipeline.runs.batch import REMOTE_WINDOW, Window

    inputs = tmp_path / "in"
    inputs.mkdir()
    paths = []
    for i, text in enumerate(documents()):
        paths.append(inputs / f"doc{i:02d}.txt")
        paths[-1].write_text(text, encoding="utf-8")
    for window, expected in ((REMOTE_WINDOW, 1), (Window(documents=8), 3)):
        ray_executor = executor(tiny_marian, workers=2)
        calls: list[int] = []
        real = ray_executor.translate

        def counted(sources: Any, real: Any = real, calls: list[int] = calls) -> Any:
            calls.append(len(sources))
            return real(sources)

        ray_executor.translate = counted  # type: ignore[method-assign]
        translator = CachedTranslator(ray_executor, None, signature_for(ray_executor.fingerprint or ""))
        out = tmp_path / f"out-{expected}"
        report = translate_paths(paths, translator, out=out, run_name="r",
                                 window=window)  # fmt: skip
        assert not report.failed and len(report.written) == 24
        assert len(calls) == expected, calls
        distinct = {s.source for p in paths for s in segment_document(p.read_text(encoding="utf-8")).translatable}
        if expected == 1:
            assert calls == [len(distinct)], "only the distinct segments go to Ray"
