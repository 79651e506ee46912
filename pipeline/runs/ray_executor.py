"""Translating and summarising on a Ray cluster with Ray Data, identical to local runs.

The driver keeps everything that decides *what* to compute: reading, segmenting, the
translation memory, publishing. Only the de-duplicated cache misses travel, through
``ray.data.from_items(...).map_batches(<actor class>, compute=ActorPoolStrategy(size=N))``.
Each actor resolves the model the same way the CLI does, checks that its fingerprint
is the driver's (a mismatch fails the run, outputs are never mixed), loads the engine
once and serves batches; results come back in input order.

Ray is imported only here and only when a run asks for it: the local executor, and
``import pipeline.runs.ray_executor`` itself, never import ray.

Fault tolerance is Ray Data's: its actor pools default to ``max_restarts=-1`` and
``max_task_retries=-1``, so a killed actor is started again and the batch it held is
sent again (Ray 2.60 deprecates passing these as extra ``map_batches`` arguments, so the
defaults are relied on, not repeated). Decoding is deterministic, so a re-sent batch
gives the same outputs.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Self

from pipeline.engines.factory import EngineOptions
from pipeline.errors import ExecutorError, ModelError, Nl2enError
from pipeline.signature import ExecutorSection
from pipeline.summaries.base import Summarizer
from pipeline.translation.translator import Translation, Translator, glossary_key

INSTALL_HINT = "pip install 'nl2en[ray]'"
ADDRESS_TIMEOUT_S = 10.0
BATCH_ROWS = 64  # sentences (or texts) per actor call: one Ray Data block each
SINK_ROWS = 512  # translations handed to the sink (the memory) at a time
FINGERPRINT_MISMATCH = "model fingerprint mismatch"
AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"
FAULT_ENV = "NL2EN_RAY_FAULT"  # test hook: "<marker file>:<batch number>", see _maybe_fail


def build_engine(model: Any, digest: str, options: EngineOptions, threads: int | None) -> Any:
    """The engine the local executor would build, with ``threads`` CPU threads (``None``: the engine's default)."""
    from pipeline.engines.factory import make_engine

    return make_engine(model, digest, replace(options, threads=threads))


def import_ray() -> Any:
    """The ray module, or a one-line error saying how to install it."""
    try:
        import ray
        import ray.data  # the Data library (the ``data`` extra) is what the executor needs
    except ImportError as exc:
        raise ExecutorError("--executor ray needs Ray, which is not installed", hint=INSTALL_HINT) from exc
    return ray


def check_address(address: str, timeout: float = ADDRESS_TIMEOUT_S) -> None:
    """Fail fast when ``host:port`` does not answer, instead of waiting on Ray's long retries."""
    if address in ("auto", "local") or ("://" in address and not address.startswith("ray://")):
        return
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        raise ExecutorError(f"Ray address {address!r} is not host:port", hint="e.g. --ray-address 10.0.0.5:6379")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise ExecutorError(
            f"no Ray cluster answers at {address} ({exc.strerror or type(exc).__name__})",
            hint="start one with `ray start --head` on that machine, check the address and firewall, "
            "or leave out --ray-address (and RAY_ADDRESS) to run Ray on this machine",
        ) from exc


def local_runtime_env() -> dict[str, Any]:
    """Workers of a Ray started here import this very ``pipeline`` package, not another install."""
    root = str(Path(__file__).resolve().parents[2])
    paths = [root, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}}


@dataclass
class RayConnection:
    """A connection to Ray: an existing one, a cluster at an address, or a local Ray started here."""

    address: str | None = None
    num_cpus: int | None = None
    owned: bool = False
    startup_s: float = 0.0

    def open(self) -> Any:
        ray = import_ray()
        # a local Ray's default token auth, and Ray Data's progress notes, are not the user's business
        for name in (AUTH_LOGGER, "ray.data"):
            logging.getLogger(name).setLevel(logging.ERROR)
        address = self.address or os.environ.get("RAY_ADDRESS") or None
        if address:
            check_address(address)
        if ray.is_initialized():  # a Ray this process already joined (a test, a notebook) is reused
            return ray
        started = time.perf_counter()
        if address:
            try:
                ray.init(address=address, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
            except Exception as exc:
                raise ExecutorError(
                    f"cannot join the Ray cluster at {address}: {_first_line(exc)}",
                    hint="check that it runs the same Ray and Python versions as this machine",
                ) from exc
        else:
            try:
                ray.init(
                    num_cpus=self.num_cpus,
                    include_dashboard=False,
                    logging_level="WARNING",
                    log_to_driver=False,
                    runtime_env=local_runtime_env(),
                    _node_ip_address="127.0.0.1",
                )
            except Exception as exc:
                raise ExecutorError(
                    f"cannot start Ray on this machine: {_first_line(exc)}",
                    hint="see `ray start --head` for the same error in full, or pass --ray-address",
                ) from exc
            self.owned = True
        self.address = address
        self.startup_s = time.perf_counter() - started
        return ray

    def close(self) -> None:
        if self.owned:
            import ray

            ray.shutdown()
            self.owned = False


def _maybe_fail(batch_number: int) -> None:
    """Test hook: kill this actor's process on batch N, once per marker file."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    marker, _, number = spec.rpartition(":")
    if int(number) == batch_number and not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()))
        os._exit(1)


def bound_actor(actor_class: type, args: tuple[Any, ...]) -> type:
    """``actor_class`` with its constructor arguments built in (Ray ships the class by value)."""

    class Bound(actor_class):
        def __init__(self) -> None:
            super().__init__(*args)

    Bound.__name__ = Bound.__qualname__ = actor_class.__name__
    return Bound


class _ModelActor:
    """What both actors share: resolve the model as the CLI does, check it is the driver's, build the engine."""

    def __init__(
        self,
        model_spec: str,
        options: EngineOptions,
        expected_fingerprint: str,
        threads: int | None,
        allow_pickle: bool,
    ) -> None:
        from pipeline.models.registry import fingerprint, resolve_model

        model = resolve_model(model_spec, allow_pickle=allow_pickle)
        found = fingerprint(model)
        if found != expected_fingerprint:
            host = socket.gethostname()
            raise ModelError(
                f"{FINGERPRINT_MISMATCH}: the worker on {host} has {found} for {model_spec!r} "
                f"({model.path}), the driver has {expected_fingerprint}",
                hint="give every node the same model files (or the same pinned hub revision)",
            )
        self.model = model
        self.fingerprint = found
        self.engine = build_engine(model, found, options, threads)
        self.batches = 0


class TranslationActor(_ModelActor):
    """One model replica: translates batches of sentences exactly as the local translator does."""

    def __init__(
        self,
        model_spec: str,
        options: EngineOptions,
        settings: dict[str, Any],
        expected_fingerprint: str,
        threads: int | None,
        allow_pickle: bool = False,
        glossary: Any = None,
        policy: Any = None,
    ) -> None:
        super().__init__(model_spec, options, expected_fingerprint, threads, allow_pickle)
        from pipeline.quality.ladder import GuardPolicy
        from pipeline.translation.translator import Seq2SeqTranslator

        # the driver's glossary and guard policy: the replica checks and retries exactly as a local run does
        self.translator = Seq2SeqTranslator(self.engine, settings, glossary, policy or GuardPolicy())

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        self.batches += 1
        _maybe_fail(self.batches)
        started = time.perf_counter()
        results = self.translator.translate_batch([str(s) for s in batch["source"]])
        busy = time.perf_counter() - started
        return {
            "busy_s": [busy] + [0.0] * (len(results) - 1),
            "index": [int(i) for i in batch["index"]],
            "target": [r.target for r in results],
            "meta": [json.dumps(r.meta()) for r in results],  # flags, evidence, score, terms, attempts
            "fingerprint": [self.fingerprint] * len(results),
        }


class SummaryActor(_ModelActor):
    """One summariser replica: summarises whole texts exactly as the local summariser does."""

    def __init__(
        self,
        model_spec: str,
        options: EngineOptions,
        settings: dict[str, Any],
        expected_fingerprint: str,
        threads: int | None,
        allow_pickle: bool = False,
    ) -> None:
        super().__init__(model_spec, options, expected_fingerprint, threads, allow_pickle)
        from pipeline.summaries.abstractive import Seq2SeqSummarizer

        self.summarizer = Seq2SeqSummarizer(self.model, self.engine, settings)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        self.batches += 1
        _maybe_fail(self.batches)
        started = time.perf_counter()
        summaries = [self.summarizer.summarize(str(t)) for t in batch["source"]]
        busy = time.perf_counter() - started
        return {
            "busy_s": [busy] + [0.0] * (len(summaries) - 1),
            "index": [int(i) for i in batch["index"]],
            "summary": [json.dumps({"text": s.text, **s.meta()}, ensure_ascii=False) for s in summaries],
            "fingerprint": [self.fingerprint] * len(summaries),
        }


@dataclass
class RayExecutor(Translator):
    """Translates sentences on a pool of Ray actors, each holding one model replica.

    A ``Translator`` like the local one, so ``CachedTranslator(RayExecutor(...), memory, signature)``
    sends only the de-duplicated misses to Ray, and its cache keys are the local ones.
    """

    model_spec: str
    engine_options: EngineOptions
    settings: dict[str, Any]
    workers: int = 1
    cpus_per_worker: int = 1
    address: str | None = None
    fingerprint: str | None = None  # the driver's; computed from model_spec when None
    batch_rows: int = BATCH_ROWS
    actor_env: Mapping[str, str] | None = None  # extra environment for the actors
    allow_pickle: bool = False
    glossary: Any = None  # pipeline.quality.glossary.Glossary, as the local translator has it
    policy: Any = None  # pipeline.quality.ladder.GuardPolicy (default: retry)
    # called with (source, translation) pairs as they arrive, every ``sink_rows`` or so: the driver
    # writes them to the translation memory, so a run killed inside a window keeps what came back
    sink: Callable[[Sequence[tuple[str, Translation]]], None] | None = field(default=None, repr=False)
    sink_rows: int = SINK_ROWS
    _connection: RayConnection | None = field(default=None, init=False, repr=False)
    _nodes: int | None = field(default=None, init=False, repr=False)
    busy_s: float = field(default=0.0, init=False)  # actor time spent translating in the last run

    actor_class: Any = field(default=TranslationActor, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.workers < 1 or self.cpus_per_worker < 1 or self.batch_rows < 1:
            raise ExecutorError("--workers, --cpus-per-worker and the batch size must be at least 1")
        from pipeline.models.registry import fingerprint, resolve_model

        model = resolve_model(self.model_spec, allow_pickle=self.allow_pickle)
        if Path(self.model_spec).expanduser().is_dir():  # actors run in other directories
            self.model_spec = str(Path(self.model_spec).expanduser().resolve())
        if self.fingerprint is None:
            self.fingerprint = fingerprint(model)
        from pipeline.engines.factory import resolve_backend
        from pipeline.quality.ladder import GuardPolicy

        self.policy = self.policy or GuardPolicy()
        # "auto" is decided here, once: a worker without CTranslate2 must fail, not switch engines
        self.engine_options = replace(self.engine_options, backend=resolve_backend(model, self.engine_options.backend))
        self.model = model

    # the translator interface -------------------------------------------------------------
    def translate_batch(self, sources: Sequence[str]) -> list[Translation]:
        return self.translate(sources)

    def segment_key(self, source: str) -> dict[str, Any]:
        return glossary_key(self.glossary, source)

    def actor_extra_args(self) -> tuple[Any, ...]:
        """Constructor arguments of the actor beyond the shared ones: the glossary and guard policy."""
        return (self.glossary, self.policy)

    # lifecycle ---------------------------------------------------------------------------
    def start(self) -> Self:
        """Connect to ``address`` (else ``RAY_ADDRESS``, else start a local Ray); idempotent."""
        if self._connection is None:
            need = self.workers * self.cpus_per_worker
            connection = RayConnection(self.address, num_cpus=max(os.cpu_count() or 1, need))
            ray = connection.open()
            self._connection = connection
            cpus = int(ray.cluster_resources().get("CPU", 0))
            if cpus < need:
                self.close()
                raise ExecutorError(
                    f"{self.workers} workers × {self.cpus_per_worker} CPUs need {need} CPUs; "
                    f"the Ray cluster has {cpus}",
                    hint="lower --workers or --cpus-per-worker, or add nodes",
                )
            self._nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
            from ray.data import DataContext

            context = DataContext.get_current()
            context.enable_progress_bars = False
            context.print_on_execution_start = False
        return self

    def close(self) -> None:
        """Stop the local Ray this executor started; leave any other Ray running."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> RayExecutor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def startup_s(self) -> float:
        return self._connection.startup_s if self._connection else 0.0

    def executor(self) -> ExecutorSection:
        """What the run's manifests record about the executor."""
        import ray

        return ExecutorSection(
            "ray",
            {
                "ray_version": ray.__version__,
                "workers": self.workers,
                "cpus_per_worker": self.cpus_per_worker,
                "nodes": self._nodes,
                "address": (self._connection.address if self._connection else None) or "local",
                "startup_s": round(self.startup_s, 3),  # joining or starting Ray (0 when this process had joined one)
            },
        )

    # running -----------------------------------------------------------------------------
    def _run(self, sources: Sequence[str]) -> Iterator[dict[str, Any]]:
        """Rows of actor output for ``sources``, in completion order (each row has its ``index``)."""
        self.start()
        import ray

        env = dict(self.actor_env or {})
        self.busy_s = 0.0
        items = [{"index": i, "source": s} for i, s in enumerate(sources)]
        # one block per actor call, and at least one per actor so none idles on small runs
        blocks = max(min(self.workers, len(items)), -(-len(items) // self.batch_rows))
        dataset = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
            batch_size=-(-len(items) // blocks),
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=self.workers),
            num_cpus=self.cpus_per_worker,
            # the arguments travel inside the class, not the object store, so a restarted actor always has them
            fn=bound_actor(
                self.actor_class,
                (
                    self.model_spec,
                    self.engine_options,
                    self.settings,
                    self.fingerprint,
                    self.cpus_per_worker,
                    self.allow_pickle,
                    *self.actor_extra_args(),
                ),
            ),
            runtime_env={"env_vars": env} if env else None,
        )
        try:
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                for fp in set(batch["fingerprint"]):
                    if fp != self.fingerprint:  # the actors check this too; never mix outputs
                        raise ModelError(
                            f"{FINGERPRINT_MISMATCH}: a worker has {fp}, the driver has {self.fingerprint}"
                        )
                self.busy_s += float(sum(batch["busy_s"]))
                columns = list(batch)
                for row in zip(*(batch[c] for c in columns), strict=True):
                    yield dict(zip(columns, row, strict=True))
        except Nl2enError:
            raise
        except Exception as exc:
            raise _run_error(exc) from exc

    def translate(self, sources: Sequence[str]) -> list[Translation]:
        """Translate ``sources`` on the actor pool; results in input order."""
        results: list[Translation | None] = [None] * len(sources)
        if not sources:
            return []
        arrived: list[tuple[str, Translation]] = []
        for row in self._run(sources):
            index = int(row["index"])
            meta = json.loads(str(row["meta"]))
            results[index] = replace(Translation.from_cache(str(row["target"]), meta), cached=False)
            if self.sink is not None:
                arrived.append((sources[index], results[index]))  # type: ignore[arg-type]
                if len(arrived) >= self.sink_rows:
                    self.sink(arrived)
                    arrived = []
        if self.sink is not None and arrived:
            self.sink(arrived)
        missing = [i for i, r in enumerate(results) if r is None]
        if missing:
            raise ExecutorError(f"the Ray run returned no result for {len(missing)} of {len(sources)} sentences")
        return [r for r in results if r is not None]


@dataclass
class RaySummaryExecutor(RayExecutor, Summarizer):
    """Summarises whole texts on a pool of Ray actors, each holding one summariser replica.

    A ``Summarizer`` like the local one inside ``CachedSummarizer``; ``summarize_many()`` sends
    many at once.
    """

    batch_rows: int = 4

    def __post_init__(self) -> None:
        super().__post_init__()
        self.actor_class = SummaryActor

    def actor_extra_args(self) -> tuple[Any, ...]:
        return ()

    def summarize(self, text: str) -> Any:
        return self.summarize_many([text])[0]

    def summarize_many(self, texts: Sequence[str]) -> list[Any]:
        """Summaries (``pipeline.summaries.base.Summary``) of ``texts``, in input order."""
        from pipeline.summaries.base import Summary

        results: list[Summary | None] = [None] * len(texts)
        if not texts:
            return []
        for row in self._run(texts):
            data = json.loads(str(row["summary"]))
            results[int(row["index"])] = Summary(
                data["text"], data["method"], data["chunks"], tuple(data["flags"]), data["note"]
            )
        if any(r is None for r in results):
            raise ExecutorError("the Ray run returned no summary for some texts")
        return [r for r in results if r is not None]


_REMOTE_ERROR = re.compile(r"(?:pipeline\.errors\.)?\b(\w+Error): (.+)")


def _first_line(exc: BaseException) -> str:
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)[:300]


def _run_error(exc: BaseException) -> Nl2enError:
    """A failed Ray run as one line: the nl2en error an actor raised (Ray passes it as text), or what Ray said."""
    from pipeline import errors

    text = "\n".join(str(e) for e in _chain(exc))
    for match in reversed(list(_REMOTE_ERROR.finditer(text))):
        kind = getattr(errors, match.group(1), None)
        if isinstance(kind, type) and issubclass(kind, Nl2enError):
            error: Nl2enError = kind(match.group(2).strip())
            return error
    return ExecutorError(f"the Ray run failed: {_first_line(exc)}")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def time_ray(executor: RayExecutor, sources: Sequence[str], pool_runs: int = 3) -> dict[str, float]:
    """Ray start-up, actor-pool start-up and translation of ``sources``, timed separately.

    A first run over one sentence per worker starts Ray's worker processes (cold); the
    median of ``pool_runs`` more such runs is what every ``translate()`` call pays to start
    its actor pool and load the model (``pool_startup_s``). ``run_s`` is the full run, pool
    included (``sentences_per_s_with_pool``); ``translate_s`` is ``run_s`` less the pool
    start-up, an estimate that is only as steady as the two timings behind it.
    ``actor_busy_s`` is the actors' own time inside their batches, per worker: the
    steadiest measure of translation alone (``sentences_per_s_busy``).
    """
    started = time.perf_counter()
    executor.start()
    ray_s = time.perf_counter() - started
    warm = list(sources[: executor.workers])

    def timed(batch: Sequence[str]) -> float:
        t0 = time.perf_counter()
        executor.translate(batch)
        return time.perf_counter() - t0

    cold_s = timed(warm)
    pool_s = statistics.median(timed(warm) for _ in range(max(1, pool_runs)))
    run_s = timed(sources)
    translate_s = max(run_s - pool_s, 1e-3)
    busy_s = max(executor.busy_s / executor.workers, 1e-3)
    return {
        "ray_startup_s": round(ray_s, 3),
        "first_pool_s": round(cold_s, 3),
        "pool_startup_s": round(pool_s, 3),
        "run_s": round(run_s, 3),
        "translate_s": round(translate_s, 3),
        "sentences": len(sources),
        "sentences_per_s": round(len(sources) / translate_s, 2),
        "sentences_per_s_with_pool": round(len(sources) / run_s, 2),
        "actor_busy_s": round(busy_s, 3),
        "sentences_per_s_busy": round(len(sources) / busy_s, 2),
    }


def ray_imported() -> bool:
    """Whether this process has imported ray (the local executor never should)."""
    return "ray" in sys.modules
