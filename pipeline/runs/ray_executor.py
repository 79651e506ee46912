"""Translating and summarising on a Ray cluster, identical to local runs.

The driver keeps everything that decides *what* to compute: reading, segmenting, the
translation memory, publishing. Only the de-duplicated cache misses travel, in batches, to
long-lived Ray actors (``pipeline.runs.ray_pool``, ``pipeline.runs.ray_actors``): each
resolves the model the way the CLI does, checks that its fingerprint is the driver's (a
mismatch fails the run, outputs are never mixed) and loads it once for the whole run;
results come back as batches finish and are handed to the memory as they arrive.

Seq2seq models (Marian, NLLB) and instruct LLMs alike: for an instruct model each segment
travels with the previous sentences its prompt carries (``context_size`` of them), a segment
is one item per (source, context), and its cache key is the local ``LLMTranslator``'s.
Word links for inline markup (``align``) are computed on the actors too: one forced pass per
pair, as locally; an instruct model gives none, so that call never leaves the driver.

Ray is imported only here and only when a run asks for it: the local executor, and
``import pipeline.runs.ray_executor`` itself, never import ray.

Faults are bounded (see ``pipeline.runs.ray_pool``): a worker that dies is replaced and its
batch sent again, a segment that kills workers every time is left out and its document fails
on one line while the rest of the window is written, and once the cluster is gone every later
call fails at once with ``ClusterLostError``, which stops the batch.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Self

from pipeline.engines.factory import EngineOptions
from pipeline.errors import ExecutorError
from pipeline.runs import ray_pool
from pipeline.runs.ray_actors import FAULT_ENV, FINGERPRINT_MISMATCH, POISON_ENV, StageSpec, build_engine
from pipeline.runs.ray_pool import ReplicaPool, first_line, run_error
from pipeline.signature import ExecutorSection
from pipeline.summaries.base import Summarizer
from pipeline.translation.translator import Translation, Translator, glossary_key

__all__ = ["FAULT_ENV", "FINGERPRINT_MISMATCH", "POISON_ENV", "build_engine", "run_error"]

INSTALL_HINT = "pip install 'nl2en[ray]'"
ADDRESS_TIMEOUT_S = 10.0
BATCH_ROWS = 64  # sentences (or texts) per actor call
SINK_ROWS = 512  # translations handed to the sink (the memory) at a time
AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"
VERBOSE_ENV = "NL2EN_RAY_VERBOSE"  # set: Ray's own notices reach the terminal (see quiet_ray)
SinkRow = tuple[str, tuple[str, ...], Translation]  # a source, the context it was read after, its translation


def import_ray() -> Any:
    """The ray module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ExecutorError("--executor ray needs Ray, which is not installed", hint=INSTALL_HINT) from exc
    return ray


def machine_cpus() -> int:
    """The CPUs this process may use (its affinity, where the OS says): what a Ray started here gets."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


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


def quiet_ray() -> None:
    """Keep Ray's own notices off the terminal unless ``NL2EN_RAY_VERBOSE`` is set.

    A local Ray's token-auth note, Ray's ``(raylet) A worker died ...`` paragraph on stdout for
    every dead worker (the pool replaces it and reports what matters on one line), and the
    "Unhandled error" of a batch abandoned with its worker. The workers' own logs never reach
    the driver (``log_to_driver=False``); they stay in Ray's session logs.
    """
    if os.environ.get(VERBOSE_ENV):
        return
    logging.getLogger(AUTH_LOGGER).setLevel(logging.ERROR)
    os.environ.setdefault("RAY_IGNORE_UNHANDLED_ERRORS", "1")
    try:
        from ray._private import worker  # Ray prints the raylet's error notices through this function
    except ImportError:
        return
    printer = getattr(worker, "print_to_stdstream", None)
    if printer is None or getattr(printer, "nl2en_quiet", False):
        return

    def without_raylet_notices(data: dict[str, Any], ignore_prefix: bool) -> None:
        if data.get("pid") != "raylet":
            printer(data, ignore_prefix)

    without_raylet_notices.nl2en_quiet = True  # type: ignore[attr-defined]
    worker.print_to_stdstream = without_raylet_notices


@dataclass
class RayConnection:
    """A connection to Ray: an existing one, a cluster at an address, or a local Ray started here."""

    address: str | None = None
    num_cpus: int | None = None
    owned: bool = False
    startup_s: float = 0.0

    def open(self) -> Any:
        ray = import_ray()
        quiet_ray()
        address = self.address or os.environ.get("RAY_ADDRESS") or None
        if address:
            check_address(address)
        if ray.is_initialized():  # a Ray this process already joined (a test, a notebook) is reused
            return ray
        started = time.perf_counter()
        quiet = {"include_dashboard": False, "logging_level": "WARNING", "log_to_driver": False}
        if address:
            try:
                ray.init(address=address, **quiet)
            except Exception as exc:
                raise ExecutorError(
                    f"cannot join the Ray cluster at {address}: {first_line(exc)}",
                    hint="check that it runs the same Ray and Python versions as this machine",
                ) from exc
        else:
            try:
                here = {"num_cpus": self.num_cpus, "runtime_env": local_runtime_env(), "_node_ip_address": "127.0.0.1"}
                ray.init(**here, **quiet)
            except Exception as exc:
                raise ExecutorError(
                    f"cannot start Ray on this machine: {first_line(exc)}",
                    hint="see `ray start --head` for the same error in full, or pass --ray-address",
                ) from exc
            self.owned = True
        self.address = address
        self.startup_s = time.perf_counter() - started
        return ray

    def close(self) -> None:
        if self.owned:
            import ray

            ray_pool.forget_all()  # their actors go with this Ray
            ray.shutdown()
            self.owned = False


@dataclass
class RayExecutor(Translator):
    """Translates sentences on long-lived Ray actors, each holding one model replica for the whole run.

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
    actor_env: dict[str, str] | None = None  # extra environment for the actors (test hooks)
    allow_pickle: bool = False
    glossary: Any = None  # pipeline.quality.glossary.Glossary, as the local translator has it
    policy: Any = None  # pipeline.quality.ladder.GuardPolicy (default: retry)
    # called with (source, context, translation) rows as they arrive, every ``sink_rows`` or so: the
    # driver writes them to the translation memory under ``segment_key(source, context)``, so a run
    # killed inside a window keeps what came back (context: what the prompt carried; () for seq2seq)
    sink: Callable[[Sequence[SinkRow]], None] | None = field(default=None, repr=False)
    sink_rows: int = SINK_ROWS
    # an instruct model's prompt: the previous sentences it carries (--context; 0 for a seq2seq
    # model, which reads none), and its template (None: its family's, as the session chooses it)
    context_size: int = 0
    template: Any = None  # pipeline.models.prompts.PromptTemplate
    busy_s: float = field(default=0.0, init=False)  # actor time spent computing in the last call
    kind: str = field(default="translate", init=False)
    _connection: RayConnection | None = field(default=None, init=False, repr=False)
    _nodes: int | None = field(default=None, init=False, repr=False)
    _pool: ReplicaPool | None = field(default=None, init=False, repr=False)
    _stage: str = field(default="", init=False, repr=False)
    # what the last failed call computed before it failed: that window's documents, retried one by one
    # right after, take their results from here instead of Ray (see _keep)
    # (items: a source, or a source and its context)
    _salvage: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False)
    _poisoned: dict[Hashable, str] = field(default_factory=dict, init=False, repr=False)  # item → why left out
    _keys: Any = field(default=None, init=False, repr=False)  # an instruct model's local translator, for its keys

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

        # "auto" is decided here, once: a worker without CTranslate2 must fail, not switch engines
        self.engine_options = replace(self.engine_options, backend=resolve_backend(model, self.engine_options.backend))
        self.model = model
        self._stage = f"{self.kind}-{uuid.uuid4().hex[:12]}"
        if not model.is_causal_lm:
            self.policy, self.context_size = self.policy or GuardPolicy(), 0
            return
        if self.kind != "translate":
            raise ExecutorError(
                f"{model.name} is an instruct LLM: the Ray executor summarises with seq2seq models only",
                hint="use --executor local",
            )
        from pipeline.models.prompts import model_family
        from pipeline.translation.llm import LLMTranslator, llm_policy

        self.template = self.template or model_family(model).translation
        self.policy = self.policy or llm_policy(GuardPolicy())
        # the translator a local run would build (its engine loads nothing): its keys and contexts are this one's
        engine = build_engine(model, self.fingerprint, self.engine_options, None)
        self._keys = LLMTranslator(engine, self.settings, self.template, self.glossary, self.policy, self.context_size)

    # the translator interface -------------------------------------------------------------
    def translate_batch(
        self,
        sources: Sequence[str],
        groups: Sequence[Hashable] | None = None,
        contexts: Sequence[Sequence[str]] | None = None,
    ) -> list[Translation]:
        """As the local translator's; ``contexts[i]`` (the sentences before source ``i``) reach an instruct model."""
        if contexts is not None and len(contexts) != len(sources):
            raise ValueError(f"{len(contexts)} contexts for {len(sources)} sources")
        if self._keys is None or not self.context_size or contexts is None:
            return self.translate(sources, groups)
        # only what the prompt carries travels, and tells two items of one source apart
        return self.translate(sources, groups, [self._keys.used_context(c) for c in contexts])

    def segment_key(self, source: str, context: Sequence[str] = ()) -> dict[str, Any]:
        """The local translator's: the glossary entries ``source`` uses; an instruct model's prompt and context too."""
        if self._keys is not None:
            key: dict[str, Any] = self._keys.segment_key(source, context)
            return key
        return glossary_key(self.glossary, source)

    def align(self, sources: Sequence[str], targets: Sequence[str]) -> list[Any]:
        """The actors' word links of each pair, as the local ``align``; ``None`` each for an instruct model (no
        call), ``None`` for a pair that kills workers every time (links are optional: nothing fails)."""
        if self._keys is not None or not sources:
            return [None] * len(sources)
        links: list[Any] = [None] * len(sources)

        def done(indices: Sequence[int], rows: list[str], busy_s: float) -> None:
            for i, row in zip(indices, rows, strict=True):
                found = json.loads(row)
                links[i] = None if found is None else tuple(tuple(pair) for pair in found)

        pool = self._acquire()
        pool.map(self._stage, sources, None, range(len(sources)), self.batch_rows, done, targets, "align")
        return links

    def stage_spec(self) -> StageSpec:
        """What every replica needs to build this executor's stage (the glossary and guard policy included)."""
        return StageSpec(
            self.kind,
            self.model_spec,
            self.engine_options,
            self.settings,
            self.fingerprint or "",
            self.cpus_per_worker,
            self.allow_pickle,
            self.glossary,
            self.policy,
            self.template,
            self.context_size,
        )

    # lifecycle ---------------------------------------------------------------------------
    def start(self) -> Self:
        """Connect to ``address`` (else ``RAY_ADDRESS``, else start a local Ray) and check the CPUs; idempotent.

        Starts no actor: the pool starts on the first call that needs it.
        """
        if self._connection is not None:
            return self
        need = self.workers * self.cpus_per_worker
        placement = f"{self.workers} workers × {self.cpus_per_worker} CPUs need {need} CPUs"
        ray = import_ray()
        local = not (self.address or os.environ.get("RAY_ADDRESS")) and not ray.is_initialized()
        if local and need > (cpus := machine_cpus()):  # a Ray started here gets this machine's CPUs, no more
            raise ExecutorError(
                f"{placement}; this machine has {cpus}",
                hint="lower --workers or --cpus-per-worker, or pass --ray-address of a larger cluster",
            )
        connection = RayConnection(self.address, num_cpus=machine_cpus())
        ray = connection.open()
        self._connection = connection
        cpus = int(ray.cluster_resources().get("CPU", 0))
        held = ray_pool.held_cpus(ray_pool.pool_key(self.workers, self.cpus_per_worker, self.actor_env))
        if need + held > cpus:
            self.close()
            besides = f" ({held} held by another executor of this process)" if held else ""
            raise ExecutorError(
                f"{placement}; the Ray cluster has {cpus}{besides}",
                hint="lower --workers or --cpus-per-worker, or add nodes",
            )
        self._nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
        return self

    def close(self) -> None:
        """Stop this executor's replicas (the last user of the pool) and a local Ray it started."""
        if self._pool is not None:
            self._pool.unregister(self._stage)
            ray_pool.release(self._pool)
            self._pool = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def startup_s(self) -> float:
        return self._connection.startup_s if self._connection else 0.0

    @property
    def model_loads(self) -> int:
        """Models this executor's stage has loaded so far: one per worker, plus one per replaced worker."""
        return self._pool.loads[self._stage] if self._pool else 0

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
                "model_loads": self.model_loads,  # so far, when the manifest is written
                "worker_deaths": self._pool.deaths if self._pool else 0,
            },
        )

    # running -----------------------------------------------------------------------------
    def _compute(
        self,
        items: Sequence[str],
        groups: Sequence[Hashable] | None,
        convert: Callable[[str], Any],
        arrived: Callable[[list[tuple[str, tuple[str, ...], Any]]], None] | None = None,
        contexts: Sequence[tuple[str, ...]] | None = None,
    ) -> list[Any]:
        """``convert``-ed results for ``items`` in order; ``arrived`` hears each batch's (item, context, result)
        rows as it comes back (context ``()`` without ``contexts``).

        Items left out before (poisoned) fail at once; items a failed call computed come from the
        salvage; the rest go to the pool. If any item is left out, the others are computed all the
        same (and handed to ``arrived``), then one ``ExecutorError`` names the first. With
        ``contexts``, an item is a source *and* its context: the same source read after other
        sentences is another item.
        """
        if self._pool is not None and self._pool.broken is not None:
            raise self._pool.broken  # the cluster is gone: no Ray call for this one
        keys: Sequence[Hashable] = items if contexts is None else list(zip(items, contexts, strict=True))
        results: list[Any] = [None] * len(items)
        failed: dict[int, str] = {}
        todo: list[int] = []
        for i, key in enumerate(keys):
            if key in self._poisoned:
                failed[i] = self._poisoned[key]
            elif key in self._salvage:
                results[i] = self._salvage[key]
            else:
                todo.append(i)
        retrying = len(todo) < len(items)  # this call draws on a failed one: its salvage must outlive it
        try:
            if todo:
                self._send(items, groups, todo, results, convert, arrived, failed, contexts, keys)
        except BaseException:
            self._keep(keys, results, retrying)
            raise
        if failed:
            self._keep(keys, results, retrying)
            first = min(failed)
            preview = " ".join(items[first].split())
            preview = preview if len(preview) <= 60 else preview[:57] + "..."
            raise ExecutorError(
                f"{len(failed)} of {len(items)} {'segments' if self.kind == 'translate' else 'texts'} left out: "
                f"{preview!r}: {failed[first]}",
                hint="everything else was translated; this input crashes the worker every time",
            )
        return results

    def _send(
        self,
        items: Sequence[str],
        groups: Sequence[Hashable] | None,
        todo: list[int],
        results: list[Any],
        convert: Callable[[str], Any],
        arrived: Callable[[list[tuple[str, tuple[str, ...], Any]]], None] | None,
        failed: dict[int, str],
        contexts: Sequence[tuple[str, ...]] | None,
        keys: Sequence[Hashable],
    ) -> None:
        """Items ``todo`` through the pool, into ``results``; the ones it leaves out into ``failed``."""
        pool = self._acquire()

        def done(indices: Sequence[int], rows: list[str], busy_s: float) -> None:
            self.busy_s += busy_s
            got = [(todo[j], convert(row)) for j, row in zip(indices, rows, strict=True)]
            for i, result in got:
                results[i] = result
            if arrived is not None:
                arrived([(items[i], contexts[i] if contexts is not None else (), result) for i, result in got])

        self.busy_s = 0.0
        sent = [items[i] for i in todo]
        sent_groups = None if groups is None else [groups[i] for i in todo]
        units = self.units(sent_groups, len(todo))
        sent_contexts = None if contexts is None else [contexts[i] for i in todo]
        for j, why in pool.map(self._stage, sent, sent_groups, units, self.batch_rows, done, sent_contexts).items():
            failed[todo[j]] = self._poisoned[keys[todo[j]]] = why

    def _keep(self, items: Sequence[Hashable], results: list[Any], retrying: bool) -> None:
        """Keep a failed call's results for the retries that follow it (a window's documents, one by one).

        A fresh failure replaces the salvage, a retry's adds to it: it never holds much more than one
        window, and there may be no memory to find these results in.
        """
        kept = {item: r for item, r in zip(items, results, strict=True) if r is not None}
        self._salvage = {**self._salvage, **kept} if retrying else kept

    def units(self, groups: Sequence[Hashable] | None, count: int) -> Sequence[Hashable]:
        """What one batch must hold whole: a document, whose retry budget the ladder spends per call.

        Without groups the whole call is one document (``pipeline.quality.ladder``), so one batch:
        the batch loop always passes them, so its windows spread over the workers.
        """
        return groups if groups is not None else [0] * count

    def _acquire(self) -> ReplicaPool:
        if self._pool is None:
            self.start()
            self._pool = ray_pool.acquire(self.workers, self.cpus_per_worker, self.actor_env)
            self._pool.register(self._stage, self.stage_spec())
        return self._pool

    def translate(
        self,
        sources: Sequence[str],
        groups: Sequence[Hashable] | None = None,
        contexts: Sequence[tuple[str, ...]] | None = None,
    ) -> list[Translation]:
        """Translate ``sources`` (read after ``contexts``) on the pool, in order; the sink hears them as they come."""
        if not sources:
            return []
        pending: list[SinkRow] = []

        def arrived(rows: list[tuple[str, tuple[str, ...], Any]]) -> None:
            pending.extend(rows)
            while self.sink is not None and len(pending) >= self.sink_rows:
                self.sink(pending[: self.sink_rows])
                del pending[: self.sink_rows]

        def convert(row: str) -> Translation:
            data = json.loads(row)
            return replace(Translation.from_cache(data["target"], data["meta"]), cached=False)

        try:
            return self._compute(sources, groups, convert, arrived, contexts)
        finally:
            if self.sink is not None and pending:
                self.sink(pending)  # what arrived before a failure is kept too


@dataclass
class RaySummaryExecutor(RayExecutor, Summarizer):
    """Summarises whole texts on the run's Ray actors, each holding one summariser replica.

    A ``Summarizer`` like the local one inside ``CachedSummarizer``; ``summarize_many()`` sends
    many at once. In ``run`` it shares the translator's actors (``pipeline.runs.ray_pool``).
    """

    batch_rows: int = 4
    kind: str = field(default="summarize", init=False)

    def stage_spec(self) -> StageSpec:
        return replace(super().stage_spec(), glossary=None, policy=None, template=None, context_size=0)

    def units(self, groups: Sequence[Hashable] | None, count: int) -> Sequence[Hashable]:
        return range(count)  # texts are summarised one by one: any batching gives the same summaries

    def summarize(self, text: str) -> Any:
        return self.summarize_many([text])[0]

    def summarize_many(self, texts: Sequence[str]) -> list[Any]:
        """Summaries (``pipeline.summaries.base.Summary``) of ``texts``, in input order."""
        from pipeline.summaries.base import Summary

        def convert(row: str) -> Summary:
            data = json.loads(row)
            return Summary(data["text"], data["method"], data["chunks"], tuple(data["flags"]), data["note"])

        return self._compute(texts, None, convert) if texts else []


def time_ray(executor: RayExecutor, sources: Sequence[str], calls: int = 3) -> dict[str, float]:
    """Ray start-up, the pool's start-up (model loads included) and translation of ``sources``, timed apart.

    A first call over one sentence per worker starts the actors and loads the model on each
    (``pool_startup_s``, paid once per run); the median of ``calls`` more such calls is what every
    later call (window) pays beyond its translation (``call_overhead_s``: no load, the actors
    live on). ``run_s`` is the full run over ``sources``; ``actor_busy_s`` is the actors' own
    time inside their batches, per worker: the steadiest measure of translation alone.
    """
    started = time.perf_counter()
    executor.start()
    ray_s = time.perf_counter() - started
    warm = list(sources[: executor.workers])

    def timed(batch: Sequence[str]) -> float:
        t0 = time.perf_counter()
        executor.translate(batch, list(range(len(batch))))  # each sentence a document: spread over the workers
        return time.perf_counter() - t0

    pool_s = timed(warm)
    call_s = statistics.median(timed(warm) for _ in range(max(1, calls)))
    run_s = timed(sources)
    busy_s = max(executor.busy_s / executor.workers, 1e-3)
    return {
        "ray_startup_s": round(ray_s, 3),
        "pool_startup_s": round(pool_s, 3),
        "call_overhead_s": round(call_s, 3),
        "model_loads": executor.model_loads,
        "run_s": round(run_s, 3),
        "sentences": len(sources),
        "sentences_per_s": round(len(sources) / max(run_s, 1e-3), 2),
        "actor_busy_s": round(busy_s, 3),
        "sentences_per_s_busy": round(len(sources) / busy_s, 2),
    }


def ray_imported() -> bool:
    """Whether this process has imported ray (the local executor never should)."""
    return "ray" in sys.modules
