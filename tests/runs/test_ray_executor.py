"""The Ray executor: same outputs as the local engine, bounded faults, one model load per worker per run.

One local Ray (2 CPUs, no dashboard) serves the whole module. Ray's driver talks to its
own processes over loopback, so these tests allow loopback connections and nothing else.
Faults are real: the test hooks (``FAULT_ENV``, ``POISON_ENV``) make a worker process exit
as a crash would, and the pool sees what Ray reports.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipeline.engines.factory import EngineOptions
from pipeline.errors import BatchStoppedError, ClusterLostError, ModelError, ModelNotFoundError
from pipeline.models.decoding import decoding_settings
from pipeline.models.registry import fingerprint, resolve_model
from pipeline.runs import ray_pool
from pipeline.runs.batch import REMOTE_WINDOW, BatchPlan, Window, translate_paths
from pipeline.runs.cache import CachedTranslator
from pipeline.runs.corpus import iter_corpus
from pipeline.runs.document import translate_document
from pipeline.runs.memory import TranslationMemory
from pipeline.runs.ray_executor import (
    FAULT_ENV,
    INSTALL_HINT,
    POISON_ENV,
    ExecutorError,
    RayConnection,
    RayExecutor,
    RaySummaryExecutor,
    check_address,
    run_error,
    time_ray,
)
from pipeline.runs.ray_pool import START_ATTEMPTS, bisect, pack
from pipeline.runs.sessions import (
    NO_CACHE,
    CacheSpec,
    ExecutorOptions,
    SummarizerSpec,
    TranslatorSpec,
    open_summarizer,
    open_translator,
)
from pipeline.text.segment import segment_document
from tests.conftest import RAY_CLI_ENV, ROOT, SEED, loopback_only
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


@pytest.fixture(autouse=True)
def no_pool_outlives_its_test() -> Iterator[None]:
    """Replicas hold CPUs until their executor closes; a test that forgets one must not starve the next."""
    yield
    ray_pool.forget_all()


def documents() -> list[str]:
    """24 short Dutch documents (a title and two sentences each), some sharing sentences."""
    lines = [line for line in SEED.read_text(encoding="utf-8").splitlines() if len(line) > 40]
    return [f"Bericht {i}\n\n{lines[i % len(lines)]}\n{lines[(i * 5 + 3) % len(lines)]}\n" for i in range(24)]


def document_files(folder: Path) -> list[Path]:
    folder.mkdir()
    paths = []
    for i, text in enumerate(documents()):
        paths.append(folder / f"doc{i:02d}.txt")
        paths[-1].write_text(text, encoding="utf-8")
    return paths


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


def local_session(model: Path, cache: CacheSpec = NO_CACHE) -> Any:
    return open_translator(TranslatorSpec(str(model), overrides=OVERRIDES, engine=OPTIONS), cache)


def local_targets(model: Path, sources: list[str]) -> list[str]:
    """The local translator's targets, each sentence its own document (its own retry budget)."""
    return [t.target for t in local_session(model).translator.translate_batch(sources, list(range(len(sources))))]


def test_ray_executor_two_workers_match_the_local_engine(ray_local: RayConnection, tiny_marian: Path) -> None:
    sources = sentences(tiny_marian)
    assert len(sources) >= 20
    expected = local_targets(tiny_marian, sources)
    assert len(set(expected)) >= 10, "the tiny model must give varied outputs for this test to mean anything"
    with executor(tiny_marian, workers=2, batch_rows=8) as ray_executor:
        got = ray_executor.translate(sources, list(range(len(sources))))  # in batches of 8 on both workers
        info = ray_executor.executor()
        links = ray_executor.align(sources, expected)  # word links for inline markup, computed on the actors
    assert [t.target for t in got] == expected
    assert links == local_session(tiny_marian).translator.align(sources, expected)
    assert sum(1 for pairs in links if pairs) >= len(sources) // 2, "the links must be there to compare"
    assert all(not t.cached and t.tokens > 0 for t in got)
    assert info.kind == "ray" and info.details["workers"] == 2 and info.details["nodes"] == 1
    assert info.details["ray_version"].count(".") >= 2
    assert info.details["model_loads"] == 2 and info.details["worker_deaths"] == 0
    assert not ray_pool._POOLS, "closing the last executor of a pool stops its replicas"


def test_ray_executor_batch_outputs_identical_to_local_with_cached_and_fresh(
    ray_local: RayConnection, tiny_marian: Path, tmp_path: Path
) -> None:
    """translation.en.txt and aligned.jsonl (save ``cached``) are byte-identical across executors."""
    paths = document_files(tmp_path / "in")
    outs = {}
    for name in ("local", "ray"):
        session = local_session(tiny_marian, CacheSpec(tmp_path / f"{name}.sqlite3"))
        for path in paths[:8]:  # warm the memory: a third of the documents are cached
            translate_document(next(iter_corpus([path])).article, session.translator)  # type: ignore[arg-type]
        translator = session.translator
        if name == "ray":
            ray_executor = executor(tiny_marian, workers=2, batch_rows=8, fingerprint=translator.fingerprint)
            translator = CachedTranslator(ray_executor, session.memory, session.signature)
        report = translate_paths(paths, translator, BatchPlan(tmp_path / name, "run", window=REMOTE_WINDOW))
        session.close()
        assert not report.failed and len(report.written) == 24
        assert report.hits > 0 and report.misses > 0
        outs[name] = tmp_path / name
    targets: set[str] = set()
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
    # a worker's second batch kills its process, once in all (the marker file says it happened)
    with executor(tiny_marian, workers=2, batch_rows=4, actor_env={FAULT_ENV: f"{marker}:2"}) as ray_executor:
        got = ray_executor.translate(sources, list(range(len(sources))))
        deaths, loads = ray_executor.executor().details["worker_deaths"], ray_executor.model_loads
    assert marker.is_file(), "no actor was killed, so this test proved nothing"
    assert int(marker.read_text()) != os.getpid()
    assert [t.target for t in got] == expected
    assert deaths == 1 and loads == 3, "the dead worker was replaced once, and its model loaded again"


def test_ray_executor_leaves_out_a_segment_that_kills_every_worker(
    ray_local: RayConnection, tiny_marian: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A segfault on one sentence, every time: that document fails on one line, the 23 others are written."""
    paths = document_files(tmp_path / "in")
    poison = segment_document(documents()[5]).translatable[0].source
    assert poison == "Bericht 5" and all(poison not in text for i, text in enumerate(documents()) if i != 5)
    calls: list[int] = []
    real_map = ray_pool.ReplicaPool.map

    def counted(self: ray_pool.ReplicaPool, name: str, items: Any, *args: Any) -> Any:
        calls.append(len(items))
        return real_map(self, name, items, *args)

    monkeypatch.setattr(ray_pool.ReplicaPool, "map", counted)
    ray_executor = executor(tiny_marian, workers=2, batch_rows=8, actor_env={POISON_ENV: poison})
    translator = CachedTranslator(ray_executor, None, signature_for(ray_executor.fingerprint or ""))
    started = time.monotonic()
    report = translate_paths(paths, translator, BatchPlan(tmp_path / "out", "r", window=REMOTE_WINDOW))
    elapsed = time.monotonic() - started
    deaths = ray_executor.executor().details["worker_deaths"]
    ray_executor.close()
    assert [(Path(p).name, type(e)) for p, e in report.failed] == [("doc05.txt", ExecutorError)]
    message = str(report.failed[0][1])
    assert "\n" not in message and "'Bericht 5'" in message and "killed a Ray worker 2 times" in message
    assert len(report.written) == 23
    # the batch of 8 dies twice, then its halves are bisected down to the segment, which dies twice
    assert 4 <= deaths <= 2 + 3 + 2, deaths
    # the window went to Ray once; the documents retried one by one after it failed took its results
    assert calls == [len(sentences(tiny_marian))], calls
    healthy = [s for s in sentences(tiny_marian) if s != poison]
    expected = dict(zip(healthy, local_targets(tiny_marian, healthy), strict=True))
    written = {
        r["source"]: r["target"]
        for p in paths
        if p.name != "doc05.txt"
        for r in map(json.loads, (tmp_path / "out" / p.stem / "r" / "aligned.jsonl").read_text().splitlines())
        if r["translated"]
    }
    assert written == {s: t for s, t in expected.items() if s in written} and len(written) >= len(healthy) - 2
    assert elapsed < 240


def test_ray_executor_stops_the_batch_when_workers_cannot_start(
    ray_local: RayConnection, tiny_marian: Path, tmp_path: Path
) -> None:
    """A cluster that cannot run workers costs a few attempts, then one error stops the batch: no run per document."""
    paths = document_files(tmp_path / "in")
    ray_executor = executor(tiny_marian, workers=1, actor_env={FAULT_ENV: "start"})
    translator = CachedTranslator(ray_executor, None, signature_for(ray_executor.fingerprint or ""))
    seen: list[tuple[str, Any]] = []
    started = time.monotonic()
    with pytest.raises(BatchStoppedError) as err:
        translate_paths(paths, translator, BatchPlan(tmp_path / "out", "r", window=Window(documents=8),
                                                     on_document=lambda p, d, e: seen.append((p, e))))  # fmt: skip
    assert time.monotonic() - started < 180
    assert "stopped the batch: Ray workers die as they start (3 in a row" in str(err.value)
    assert "0 written, 23 not processed" in str(err.value) and "\n" not in str(err.value)
    assert len(seen) == 1 and isinstance(seen[0][1], ClusterLostError) and seen[0][1].code == "E510"
    assert ray_executor.executor().details["worker_deaths"] == START_ATTEMPTS
    assert ray_executor.model_loads == 0
    again = time.monotonic()
    with pytest.raises(ClusterLostError):  # every later call fails at once, without Ray
        ray_executor.translate(["Nog een zin."])
    assert time.monotonic() - again < 0.5
    assert ray_executor.executor().details["worker_deaths"] == START_ATTEMPTS
    ray_executor.close()


def test_ray_executor_loads_the_model_once_per_worker_per_run(
    ray_local: RayConnection, tiny_marian: Path, tmp_path: Path
) -> None:
    """Three windows, one pool: each worker loads the model once, and the manifest says how many loads."""
    paths = document_files(tmp_path / "in")
    ray_executor = executor(tiny_marian, workers=2)
    calls: list[int] = []
    real = ray_executor.translate

    def counted(sources: Any, groups: Any = None, contexts: Any = None) -> Any:
        calls.append(len(sources))
        return real(sources, groups, contexts)

    ray_executor.translate = counted  # type: ignore[method-assign]
    translator = CachedTranslator(ray_executor, None, signature_for(ray_executor.fingerprint or ""))
    report = translate_paths(paths, translator, BatchPlan(tmp_path / "out", "r", window=Window(documents=8)))
    assert not report.failed and len(report.written) == 24
    assert len(calls) == 3, calls
    assert ray_executor.model_loads == 2
    manifest = json.loads((tmp_path / "out" / "doc23" / "r" / "manifest.json").read_text())
    assert manifest["translator"]["executor"] == "ray" and manifest["translator"]["model_loads"] == 2
    ray_executor.close()


def test_ray_executor_translator_and_summariser_share_the_workers(
    ray_local: RayConnection, tiny_marian: Path, tiny_bart: Path, english_sentences: list[str]
) -> None:
    """``run`` on a cluster sized for one pool: both stages live on the same 2 workers, each model loaded once."""
    translator = executor(tiny_marian, workers=2, batch_rows=8)
    session = open_summarizer(SummarizerSpec(str(tiny_bart), engine=OPTIONS))
    summariser = RaySummaryExecutor(str(tiny_bart), OPTIONS, session.summarizer.inner.settings, workers=2)  # type: ignore[attr-defined]
    with translator, summariser:
        texts = [" ".join(english_sentences[i : i + 3]) for i in range(0, 6, 3)]
        for window in range(2):  # translate, summarise, translate, summarise: as run does per window
            translator.translate(sentences(tiny_marian)[window * 10 : window * 10 + 10])
            summariser.summarize_many(texts[window:])
        assert translator.model_loads == 2 and summariser.model_loads == 2
        assert len(ray_pool._POOLS) == 1


def test_ray_executor_translates_a_jsonl_corpus(ray_local: RayConnection, tiny_marian: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    with corpus.open("w", encoding="utf-8") as fh:
        for i, text in enumerate(documents()[:20]):
            fh.write(json.dumps({"id": f"art-{i}", "text": text}) + "\n")
        fh.write("{broken\n")
    items = list(iter_corpus([corpus]))
    assert [i.error is None for i in items] == [True] * 20 + [False]
    session = local_session(tiny_marian)
    memory = TranslationMemory(tmp_path / "memory.sqlite3")
    with executor(tiny_marian, workers=2, fingerprint=session.translator.fingerprint) as ray_executor:
        translator = CachedTranslator(ray_executor, memory, session.signature)
        articles = [item.article for item in items[:20] if item.article is not None]
        # the window's segments go to Ray in one run (the memory de-duplicates them) ...
        window = [s.source for a in articles for s in segment_document(a.text).translatable]
        groups = [i for i, a in enumerate(articles) for _ in segment_document(a.text).translatable]
        translator.translate_batch(window, groups)  # each document its retry budget, as when translated alone
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
    with pytest.raises(ModelError) as err, executor(tiny_marian, workers=1, fingerprint=wrong) as ray_executor:
        ray_executor.translate(["Dit is een zin."])
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


def test_ray_executor_refuses_more_workers_than_this_machine_before_starting_ray(tiny_marian: Path) -> None:
    """No cluster given: the Ray nl2en would start gets this machine's CPUs, so more is refused at once."""
    script = f"""
import os, sys, time
os.environ.pop("RAY_ADDRESS", None)
from pipeline.engines.factory import EngineOptions
from pipeline.errors import ExecutorError
from pipeline.runs.ray_executor import RayExecutor, machine_cpus
import ray
started = time.monotonic()
try:
    RayExecutor({str(tiny_marian)!r}, EngineOptions(backend="ctranslate2"), {{}}, workers=machine_cpus() + 1).start()
except ExecutorError as exc:
    print(machine_cpus(), ray.is_initialized(), round(time.monotonic() - started, 1))
    print(exc)
"""
    env = {**os.environ, **RAY_CLI_ENV, "PYTHONPATH": str(ROOT / "tests" / "netguard")}
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    head, message = done.stdout.strip().split("\n")
    cpus, initialised, seconds = head.split()
    assert initialised == "False" and float(seconds) < 5, "refused before any Ray was started"
    assert f"{int(cpus) + 1} workers × 1 CPUs need {int(cpus) + 1} CPUs; this machine has {cpus}" in message


def test_ray_executor_times_start_up_apart_from_translation(ray_local: RayConnection, tiny_marian: Path) -> None:
    with executor(tiny_marian, workers=2) as ray_executor:
        figures = time_ray(ray_executor, sentences(tiny_marian), calls=1)
    assert figures["sentences"] >= 20 and figures["model_loads"] == 2
    assert figures["pool_startup_s"] > figures["call_overhead_s"] > 0, "later calls load nothing"
    assert figures["run_s"] > 0 and figures["sentences_per_s"] > 0
    assert 0 < figures["actor_busy_s"] <= figures["run_s"]


def test_ray_executor_local_runs_never_import_ray(tiny_marian: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "a1", "text": SEED.read_text(encoding="utf-8")}) + "\n", encoding="utf-8")
    script = f"""
import sys
import pipeline.runs.ray_executor, pipeline.runs.corpus
from pathlib import Path
from pipeline.runs.sessions import NO_CACHE, TranslatorSpec, open_translator
from pipeline.runs.document import translate_document
session = open_translator(TranslatorSpec({str(tiny_marian)!r}, overrides={{"max_new_tokens": 4}}), NO_CACHE)
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
    session = open_summarizer(SummarizerSpec(str(tiny_bart), engine=OPTIONS))
    local = session.summarizer.inner
    texts = [" ".join(english_sentences[i : i + 3]) for i in range(0, 18, 3)]
    texts.append(" ".join(english_sentences[:40]))  # longer than the context: map-reduce chunks
    expected = [local.summarize(t) for t in texts]
    assert len({s.text for s in expected}) >= 3, "the tiny summariser must give varied outputs"
    with RaySummaryExecutor(str(tiny_bart), OPTIONS, local.settings, workers=2) as remote:  # type: ignore[attr-defined]
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
        "ray::Replica.setup() (pid=1, ip=10.0.0.2)\n"
        "  File ...\n"
        "pipeline.errors.ModelNotFoundError: model 'opus-mt-nl-en' is not available on this machine (looked in: x)"
    )
    error = run_error(remote)
    assert isinstance(error, ModelNotFoundError)
    assert str(error) == "model 'opus-mt-nl-en' is not available on this machine (looked in: x)"
    other = run_error(RuntimeError("ActorDiedError: the node went away\nmore"))
    assert isinstance(other, ExecutorError) and str(other) == "the Ray run failed: ActorDiedError: the node went away"


def test_ray_pool_never_separates_a_document() -> None:
    """Batches and bisections keep documents whole where they can: each meets the retry ladder as locally."""
    groups = [0, 0, 0, 1, 1, 2, 2, 2]
    assert pack(groups, 4) == [(0, 1, 2), (3, 4), (5, 6, 7)]
    assert pack([7, 8, 7, 9], 2) == [(0, 2), (1, 3)]  # a document's segments together, in their order
    assert pack([0] * 5, 2) == [(0, 1, 2, 3, 4)]  # larger than a batch: a batch of its own
    assert bisect(tuple(range(8)), groups) == ((0, 1, 2), (3, 4, 5, 6, 7))
    assert bisect((5, 6, 7), groups) == ((5,), (6, 7))  # one document: the middle


def test_ray_executor_decides_the_auto_backend_on_the_driver(tiny_marian: Path) -> None:
    settings = decoding_settings(resolve_model(str(tiny_marian)), OVERRIDES)
    auto = RayExecutor(str(tiny_marian), EngineOptions(backend="auto"), settings)
    assert auto.engine_options.backend == "ctranslate2"


def test_ray_executor_hands_results_to_the_memory_as_they_arrive(
    ray_local: RayConnection, tiny_marian: Path, tmp_path: Path
) -> None:
    """Opened through the engines with ``--executor ray``: results reach the memory in chunks, during the run."""
    spec = TranslatorSpec(str(tiny_marian), overrides=OVERRIDES, engine=OPTIONS, executor=ExecutorOptions("ray", 2))
    session = open_translator(spec, CacheSpec(tmp_path / "m.sqlite3"))
    ray_executor = session.translator.inner
    assert isinstance(ray_executor, RayExecutor) and ray_executor.sink is not None
    written = ray_executor.sink
    chunks: list[int] = []

    def counting(done: Any) -> None:
        chunks.append(len(done))
        written(done)

    ray_executor.sink, ray_executor.sink_rows, ray_executor.batch_rows = counting, 8, 8
    sources = sentences(tiny_marian)
    first = session.translator.translate_batch(sources, list(range(len(sources))))
    assert sum(chunks) == len(sources) and len(chunks) >= 3 and max(chunks) == 8
    fresh = CachedTranslator(ray_executor, session.memory, session.signature)
    ray_executor.sink = None
    again = fresh.translate_batch(sources)  # every one a hit: nothing goes to Ray
    assert fresh.hits == len(sources) and fresh.misses == 0
    assert [t.target for t in again] == [t.target for t in first]
    info = session.translator.manifest()
    assert info["executor"] == "ray" and info["startup_s"] == 0  # the module's Ray was reused, not started
    assert info["model_loads"] == 2
    session.close()
    import ray

    assert ray.is_initialized(), "closing a session must not stop a Ray it did not start"
    memory = TranslationMemory(tmp_path / "m.sqlite3")
    assert len(memory.get_many([fresh.key(s) for s in sources])) == len(sources)
    memory.close()


def test_cli_poisoned_segment_fails_its_document_on_one_line_and_ray_stays_quiet(
    cli: Any, tiny_marian: Path, tmp_path: Path
) -> None:
    """``nl2en translate --executor ray`` with a segment that kills every worker: one error line, the rest written."""
    paths = document_files(tmp_path / "in")[:8]
    env = {**RAY_CLI_ENV, POISON_ENV: "Bericht 5"}
    args = ("--model", str(tiny_marian), "--max-new-tokens", "12", "--run-name", "r", "--no-cache")
    started = time.monotonic()
    result = cli("translate", *map(str, paths), *args, "--out", str(tmp_path / "out"),
                 "--executor", "ray", "--workers", "2", env=env)  # fmt: skip
    elapsed = time.monotonic() - started
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 1, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("error [")]
    assert len(errors) == 1 and "doc05.txt" in errors[0] and "'Bericht 5'" in errors[0], err[-3000:]
    assert "7 translated, 1 failed" in err
    for noise in ("raylet", "Traceback", "core_worker", "Unhandled error", "A worker died"):
        assert noise not in out + err, (noise, (out + err)[-3000:])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [p.stem for p in paths if p.stem != "doc05"]
    assert elapsed < 240


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.tiny_llm import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("ray-llm") / "tiny-llama", tokenizer="byte-bpe")


def test_ray_executor_translates_with_an_instruct_llm_as_the_local_translator(
    ray_local: RayConnection, tiny_llama: Path, tmp_path: Path
) -> None:
    """``--executor ray`` with an instruct LLM: each segment reaches the actors with its context, and
    comes back as the local ``LLMTranslator`` gives it, under its cache key. A run stopped inside its
    window keeps what its sink wrote, under the local run's keys: the rerun sends only the rest to Ray."""
    lines = [line for line in SEED.read_text(encoding="utf-8").splitlines() if len(line) > 40]
    sources = lines[:6] * 2  # each sentence twice: first read after another sentence, then alone
    contexts: list[tuple[str, ...]] = [(lines[(i + 5) % len(lines)],) for i in range(6)] + [()] * 6
    groups = list(range(len(sources)))
    pairs = list(zip(sources, contexts, strict=True))
    spec = TranslatorSpec(str(tiny_llama), overrides=OVERRIDES, engine=OPTIONS, context=1)
    local = open_translator(spec, NO_CACHE)
    assert local.signature.decoding.settings["num_beams"] == 1, "greedy"
    # one sentence per decode, here and on the actors (batch_rows=1): padding moves an LLM's retry attempts
    expected = [local.translator.translate_batch([s], [0], [c])[0] for s, c in pairs]
    targets = [t.target for t in expected]
    assert len(set(targets[:6])) == 6, "the tiny model must give varied outputs for this test to mean anything"
    assert targets[:6] != targets[6:], "the context must change outputs, or its way to the actors goes untested"
    memory, remote_spec = CacheSpec(tmp_path / "m.sqlite3"), replace(spec, executor=ExecutorOptions("ray", 2))

    # a run stopped (Ctrl-C) when its sink is handed the third chunk: two chunks of 2 are in the memory
    # (batches go out in order, one per worker at a time: those four were read after a sentence)
    stopped = open_translator(remote_spec, memory)
    halted = stopped.translator.inner
    assert isinstance(halted, RayExecutor) and halted.sink is not None
    writer, chunks = halted.sink, list[int]()

    def stopping(done: Any) -> None:
        if len(chunks) == 2:
            raise KeyboardInterrupt
        chunks.append(len(done))
        writer(done)

    halted.sink, halted.sink_rows, halted.batch_rows = stopping, 2, 1
    with pytest.raises(KeyboardInterrupt):
        stopped.translator.translate_batch(sources, groups, contexts)
    stopped.close()
    assert chunks == [2, 2]
    with TranslationMemory(tmp_path / "m.sqlite3") as store:  # looked up under the keys of the local LLM run
        kept = {k: (e.source, e.target) for k, e in store.get_many([local.translator.key(*p) for p in pairs]).items()}
    assert len(kept) == 4, "the sink's rows are under the local keys, context and prompt included"
    rows = [(s, c, t) for (s, c), t in zip(pairs, targets, strict=True) if local.translator.key(s, c) in kept]
    assert all(c for _, c, _ in rows), "each kept row is keyed by the context its prompt carried"
    assert [kept[local.translator.key(s, c)] for s, c, _ in rows] == [(s, t) for s, _, t in rows]

    remote = open_translator(remote_spec, memory)  # the rerun
    ray_executor = remote.translator.inner
    assert isinstance(ray_executor, RayExecutor) and ray_executor.context_size == 1
    ray_executor.batch_rows = 1
    got = remote.translator.translate_batch(sources, groups, contexts)
    assert [t.meta() for t in got] == [t.meta() for t in expected]  # targets, flags, scores, every attempt
    assert [ray_executor.segment_key(*p) for p in pairs] == [local.translator.inner.segment_key(*p) for p in pairs]
    keys = [remote.translator.key(*p) for p in pairs]
    assert keys == [local.translator.key(*p) for p in pairs]
    assert len(set(keys)) == len(sources), "a sentence read after another is another entry"
    assert remote.translator.hits == 4 and remote.translator.misses == len(sources) - 4, "only the rest went to Ray"
    assert ray_executor.model_loads == 2
    assert remote.translator.align(sources, targets) == [None] * len(sources)  # an instruct model gives no links
    remote.close()
    again = open_translator(spec, memory)  # a local run over the memory the Ray runs wrote
    hits = again.translator.translate_batch(sources, groups, contexts)
    assert again.translator.hits == len(sources) and [t.target for t in hits] == targets
    again.close()
