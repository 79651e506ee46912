"""The driver's side of a Ray run: long-lived replicas, batches sent to them, and what to do when one dies.

One :class:`ReplicaPool` serves a whole run: its actors (``workers`` of them, ``cpus_per_worker``
CPUs each) are created on first use and live until the last executor using them closes, so
each model is loaded once per worker per run, not once per window. The translator and, in
``run``, the summariser of one process share the pool (they compute in turn), so a cluster
sized for ``--workers × --cpus-per-worker`` serves both stages.

Faults are bounded and deterministic, never retried forever:

* a worker that dies on a batch is replaced (its model loaded again) and the batch is sent
  again once as it was, so a passing fault (a killed process, a lost node) changes nothing;
* a batch that kills a worker twice is **bisected** at a document boundary where it has one
  (so every other document keeps the batch it would have had), and the halves go on; a single
  segment that kills a worker twice is *poisoned*: it is left out and reported, the rest of
  the run goes on;
* workers that die as they start (:data:`START_ATTEMPTS` in a row), :data:`DEATHS_IN_A_ROW`
  deaths without one finished batch, or no live node able to hold a worker mean the cluster
  is gone: a ``ClusterLostError``, after which the pool refuses every call at once.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import ClusterLostError, ExecutorError, ModelError, Nl2enError
from pipeline.runs.ray_actors import FINGERPRINT_MISMATCH, Replica, StageSpec

KILLS_PER_BATCH = 2  # a batch (or single segment) that kills this many workers is bisected (or left out)
START_ATTEMPTS = 3  # workers dying during setup this many times in a row (times the pool size): the cluster is gone
DEATHS_IN_A_ROW = 24  # worker deaths without one finished batch in between: the cluster is gone
HEALTH_S = 10.0  # with nothing finished for this long, check that a live node can still hold a worker

_REPLICA: Any = None  # Replica wrapped by ray.remote, once per process
Done = Callable[[Sequence[int], list[str], float], None]  # (indices, JSON records, busy seconds)


@dataclass
class Job:
    """Some of a call's items, sent to one worker as one batch."""

    indices: tuple[int, ...]
    kills: int = 0  # workers that died on this batch
    split: bool = False  # a half of a bisected batch: bisected again at its first death


@dataclass
class Slot:
    """One of the pool's places: its actor (None until started, or after it died) and the stages set up on it."""

    actor: Any = None
    ready: set[str] = field(default_factory=set)
    setup: Any = None  # the setup call in flight
    job: tuple[Any, Job] | None = None  # the batch in flight


def first_line(exc: BaseException) -> str:
    """An exception's first non-empty line: Ray's messages run to pages, an nl2en error is one line."""
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)[:300]


def death_reason(exc: BaseException) -> str:
    """Why Ray says a worker died, shortened to what a user can act on."""
    text = " ".join(str(exc).split())
    if "running low on memory" in text or "memory monitor" in text:
        return "out of memory"
    if "node has died" in text or "node died" in text.lower():
        return "its node died"
    return "the process exited: a crash, or the kernel's OOM killer"


class ReplicaPool:
    """``workers`` replicas on the cluster, shared by every stage of one run."""

    def __init__(self, workers: int, cpus_per_worker: int, env: dict[str, str] | None = None) -> None:
        self.workers, self.cpus_per_worker, self.env = workers, cpus_per_worker, dict(env or {})
        self.slots = [Slot() for _ in range(workers)]
        self.specs: dict[str, StageSpec] = {}
        self.loads: Counter[str] = Counter()  # stage → models loaded (setups that finished)
        self.deaths = 0  # workers that died during batches or setups
        self.users = 0
        self.broken: ClusterLostError | None = None
        self._starts_failed = 0  # setups in a row that died
        self._in_a_row = 0  # deaths in a row without a finished batch

    # lifecycle ---------------------------------------------------------------------------
    def register(self, name: str, spec: StageSpec) -> None:
        """Stage ``name`` may run on this pool; each replica builds it (loads its model) before its first batch."""
        self.specs[name] = spec

    def unregister(self, name: str) -> None:
        """Forget stage ``name``; its replicas free the model (best effort: the pool may be closing)."""
        self.specs.pop(name, None)
        for slot in self.slots:
            if slot.actor is not None and name in slot.ready:
                slot.ready.discard(name)
                with contextlib.suppress(Exception):  # a replica that is gone holds nothing
                    slot.actor.drop.remote(name)

    def close(self) -> None:
        """Stop every replica."""
        for slot in self.slots:
            self._retire(slot)

    def _retire(self, slot: Slot) -> None:
        if slot.actor is not None:
            import ray

            with contextlib.suppress(Exception):  # already dead, or Ray already shut down
                ray.kill(slot.actor, no_restart=True)
        slot.actor, slot.setup, slot.job = None, None, None
        slot.ready.clear()

    def _start(self, slot: Slot) -> None:
        """A new replica in ``slot`` (Ray places it; its setup call waits until it runs)."""
        import ray

        options: dict[str, Any] = {
            "num_cpus": self.cpus_per_worker,
            "max_restarts": 0,  # the pool replaces a dead replica itself, so it can count and bound restarts
            "max_task_retries": 0,
            "scheduling_strategy": "SPREAD",
        }
        if self.env:
            options["runtime_env"] = {"env_vars": self.env}
        global _REPLICA
        if _REPLICA is None:
            _REPLICA = ray.remote(Replica)
        slot.actor = _REPLICA.options(**options).remote()

    # running -----------------------------------------------------------------------------
    def map(
        self,
        name: str,
        items: Sequence[str],
        groups: Sequence[Hashable] | None,
        units: Sequence[Hashable],
        batch_rows: int,
        done: Done,
        extras: Sequence[Any] | None = None,
        method: str = "run",
    ) -> dict[int, str]:
        """Run stage ``name`` over ``items``; ``done`` hears each batch as it finishes.

        ``groups`` and ``extras`` go to the replicas with the items (each item's document, for the
        retry budget; what else the item needs: its context, or the target to align it with);
        ``method`` is the replica's call (``run``, or ``align``: word links of (item, extra) pairs);
        ``units`` say which items a batch never separates (see :func:`pack`). Returns the poisoned
        items (index → why) that were left out; raises what no retry can fix (a ``ModelError``
        from a replica, ``ClusterLostError``).
        """
        import ray
        from ray.exceptions import RayActorError, RayTaskError

        if self.broken is not None:
            raise self.broken
        queue = deque(Job(indices) for indices in pack(units, batch_rows))
        poisoned: dict[int, str] = {}
        waiting: dict[Any, Slot] = {}
        last_progress = time.monotonic()
        try:
            while queue or waiting:
                self._dispatch(name, (items, groups, extras), method, queue, waiting)
                ready, _ = ray.wait(list(waiting), num_returns=1, timeout=HEALTH_S)
                if not ready:
                    self._check_health(time.monotonic() - last_progress)
                    continue
                last_progress = time.monotonic()
                ref = ready[0]
                slot = waiting.pop(ref)
                in_setup = slot.setup is not None and ref == slot.setup
                try:
                    out = ray.get(ref)
                except RayTaskError as exc:  # the replica raised: the same error a local run would raise
                    self._retire(slot)
                    raise task_error(exc) from exc
                except RayActorError as exc:
                    self._died(slot, in_setup, exc, queue, poisoned, units)
                    continue
                except Exception as exc:  # Ray itself failed (the driver lost its connection)
                    raise self._lost(f"the Ray cluster stopped answering: {first_line(exc)}") from exc
                if in_setup:
                    self._set_up(slot, name, out)
                    continue
                assert slot.job is not None
                job = slot.job[1]
                slot.job = None
                self._in_a_row = 0
                if out["fingerprint"] != self.specs[name].fingerprint:  # checked at setup too: never mix outputs
                    raise ModelError(f"{FINGERPRINT_MISMATCH}: a worker has {out['fingerprint']}")
                done(job.indices, out["rows"], float(out["busy_s"]))
        finally:
            for slot in set(waiting.values()):  # a call that stops early leaves no work queued on a replica
                self._retire(slot)
        return poisoned

    def _dispatch(
        self,
        name: str,
        columns: tuple[Sequence[Any], Sequence[Any] | None, Sequence[Any] | None],
        method: str,
        queue: deque[Job],
        waiting: dict[Any, Slot],
    ) -> None:
        """Give every idle replica work: its setup for this stage first, then the next batch.

        ``columns``: the items, their groups and their extras (None: none), cut into each batch.
        """
        for slot in self.slots:
            if slot.setup is not None or slot.job is not None or not queue:
                continue  # busy, or nothing to give it (a replica is started or set up only for work)
            if slot.actor is None:
                self._start(slot)
            if name not in slot.ready:
                slot.setup = slot.actor.setup.remote(name, self.specs[name])
                waiting[slot.setup] = slot
                continue
            job = queue.popleft()
            sources, batch_groups, batch_extras = (
                None if column is None else [column[i] for i in job.indices] for column in columns
            )
            call = getattr(slot.actor, method)
            ref = call.remote(name, sources, batch_groups, batch_extras)
            slot.job = (ref, job)
            waiting[ref] = slot

    def _set_up(self, slot: Slot, name: str, out: dict[str, Any]) -> None:
        """A replica loaded stage ``name``: count the load, and check it is the driver's model."""
        slot.setup = None
        expected = self.specs[name].fingerprint
        if out["fingerprint"] != expected:
            raise ModelError(f"{FINGERPRINT_MISMATCH}: a worker has {out['fingerprint']}, the driver has {expected}")
        slot.ready.add(name)
        self.loads[name] += 1
        self._starts_failed = 0

    def _died(
        self,
        slot: Slot,
        in_setup: bool,
        exc: BaseException,
        queue: deque[Job],
        poisoned: dict[int, str],
        units: Sequence[Hashable],
    ) -> None:
        """A replica died: replace it later, and decide what becomes of its batch (see the module doc)."""
        job = None if in_setup or slot.job is None else slot.job[1]
        self._retire(slot)
        self.deaths += 1
        reason = death_reason(exc)
        if in_setup:
            self._starts_failed += 1
            if self._starts_failed >= START_ATTEMPTS * self.workers:
                raise self._lost(
                    f"Ray workers die as they start ({self._starts_failed} in a row, {reason})",
                    hint="check the workers' memory (ray status) and their logs; lower --workers",
                )
            return
        self._in_a_row += 1
        if self._in_a_row >= DEATHS_IN_A_ROW:
            raise self._lost(
                f"Ray workers died {self._in_a_row} times in a row without finishing a batch ({reason})",
                hint="check the workers' memory (ray status) and their logs",
            )
        if job is None:
            return
        job.kills += 1
        if len(job.indices) == 1:
            if job.kills >= KILLS_PER_BATCH:
                poisoned[job.indices[0]] = f"it killed a Ray worker {job.kills} times ({reason})"
            else:
                queue.appendleft(job)
        elif job.kills < KILLS_PER_BATCH and not job.split:
            queue.appendleft(job)  # once more as it was: a passing fault must not change the batches
        else:
            first, second = bisect(job.indices, units)
            queue.appendleft(Job(second, split=True))
            queue.appendleft(Job(first, split=True))

    def _check_health(self, idle_s: float) -> None:
        """Nothing finished for a while: fail if no live node can hold a worker any more."""
        import ray

        try:
            nodes = ray.nodes()
        except Exception as exc:
            raise self._lost(f"the Ray cluster stopped answering: {first_line(exc)}") from exc
        hosts = [n for n in nodes if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) >= self.cpus_per_worker]
        if not hosts:
            raise self._lost(
                f"no live Ray node has {self.cpus_per_worker} CPUs for a worker "
                f"({sum(1 for n in nodes if n.get('Alive'))} of {len(nodes)} nodes alive, nothing done for "
                f"{idle_s:.0f} s)",
                hint="restart the nodes (ray start) and run again: what was translated is in the memory",
            )

    def _lost(self, message: str, hint: str | None = None) -> ClusterLostError:
        self.broken = ClusterLostError(message, hint=hint)
        return self.broken


def pack(units: Sequence[Hashable], batch_rows: int) -> list[tuple[int, ...]]:
    """Batches of about ``batch_rows`` items that never separate a unit (a document: its retry budget is per call).

    Units keep their first-seen order and their items' order; a unit larger than ``batch_rows`` is
    a batch of its own. So each document meets the ladder with exactly the segments a local run
    gives it, whatever the batching.
    """
    members: dict[Hashable, list[int]] = {}
    for i, unit in enumerate(units):
        members.setdefault(unit, []).append(i)
    batches: list[tuple[int, ...]] = []
    current: list[int] = []
    for indices in members.values():
        if current and len(current) + len(indices) > batch_rows:
            batches.append(tuple(current))
            current = []
        current.extend(indices)
    if current:
        batches.append(tuple(current))
    return batches


def bisect(indices: tuple[int, ...], units: Sequence[Hashable]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two halves of a batch, cut at the unit boundary nearest the middle (the middle when it is one unit)."""
    middle = len(indices) // 2
    cuts = [i for i in range(1, len(indices)) if units[indices[i]] != units[indices[i - 1]]]
    if cuts:
        middle = min(cuts, key=lambda c: (abs(c - len(indices) / 2), c))
    return indices[:middle], indices[middle:]


def task_error(exc: BaseException) -> Nl2enError:
    """The error a replica raised, as the driver's own: an nl2en error as it was, anything else on one line."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, Nl2enError):
        return cause
    if isinstance(cause, BaseException):
        return ExecutorError(f"a Ray worker failed: {type(cause).__name__}: {first_line(cause)}")
    return run_error(exc)


_REMOTE_ERROR = re.compile(r"(?:pipeline\.errors\.)?\b(\w+Error): (.+)")


def run_error(exc: BaseException) -> Nl2enError:
    """A failed Ray call on one line: the nl2en error a replica raised (passed as text), or what Ray said."""
    from pipeline import errors

    text = "\n".join(str(e) for e in _chain(exc))
    for match in reversed(list(_REMOTE_ERROR.finditer(text))):
        kind = getattr(errors, match.group(1), None)
        if isinstance(kind, type) and issubclass(kind, Nl2enError):
            error: Nl2enError = kind(match.group(2).strip())
            return error
    return ExecutorError(f"the Ray run failed: {first_line(exc)}")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


# --- one pool per process and placement ------------------------------------------------------

_POOLS: dict[tuple[Any, ...], ReplicaPool] = {}


def pool_key(workers: int, cpus_per_worker: int, env: dict[str, str] | None) -> tuple[Any, ...]:
    """Executors with the same placement (and worker environment) share one pool."""
    return (workers, cpus_per_worker, tuple(sorted((env or {}).items())))


def held_cpus(except_key: tuple[Any, ...] | None = None) -> int:
    """CPUs held by this process's other live pools: a new pool must fit beside them."""
    return sum(p.workers * p.cpus_per_worker for k, p in _POOLS.items() if k != except_key)


def acquire(workers: int, cpus_per_worker: int, env: dict[str, str] | None) -> ReplicaPool:
    """The pool of this placement, shared with the process's other executors (started on first use)."""
    key = pool_key(workers, cpus_per_worker, env)
    pool = _POOLS.get(key)
    if pool is None or (pool.broken is not None and pool.users <= 0):  # a lost cluster's pool is not reused
        pool = _POOLS[key] = ReplicaPool(workers, cpus_per_worker, env)
    pool.users += 1
    return pool


def release(pool: ReplicaPool) -> None:
    """One executor is done with ``pool``; the last one stops its replicas."""
    pool.users -= 1
    if pool.users <= 0:
        pool.close()
        for key, value in list(_POOLS.items()):
            if value is pool:
                del _POOLS[key]


def forget_all() -> None:
    """Ray is shutting down: every pool's replicas go with it."""
    for pool in _POOLS.values():
        pool.close()
    _POOLS.clear()
