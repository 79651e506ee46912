"""What runs inside a Ray worker: one long-lived replica that loads each model once and serves batches.

A :class:`Replica` is created once per worker per run by the driver's pool
(``pipeline.runs.ray_pool``). Each executor of the run (the translator, and in ``run`` the
summariser) is a *stage* of it: the first batch of a stage on a replica is preceded by
``setup``, which resolves the model the way the CLI does, checks its fingerprint against the
driver's (a mismatch fails the run, outputs are never mixed) and loads the weights, so the
load happens once, is counted, and is never paid again by later windows. A translation stage
builds the translator a local run builds: ``LLMTranslator`` for an instruct (causal) LM, with
the driver's prompt template and context size, ``Seq2SeqTranslator`` otherwise; both with the
driver's glossary and guard policy. The two stages
never compute at once (the driver runs them in turn), so they share the replica's CPUs.

Ray is not imported here: the driver wraps :class:`Replica` with ``ray.remote`` when it
starts a pool, and the workers import this module by name.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline.engines.factory import EngineOptions
from pipeline.errors import ModelError

FINGERPRINT_MISMATCH = "model fingerprint mismatch"
# test hooks, read by the workers (the executor's ``actor_env`` sets them):
FAULT_ENV = "NL2EN_RAY_FAULT"  # "<marker file>:<N>": kill the worker on its Nth batch, once per marker; "start":
# every worker dies while loading its model (a node out of memory, a cluster that cannot start workers)
POISON_ENV = "NL2EN_RAY_POISON"  # a segment (or text): every worker given it dies, like a segfault on one sentence


def build_engine(model: Any, digest: str, options: EngineOptions, threads: int | None) -> Any:
    """The engine the local executor would build, with ``threads`` CPU threads (``None``: the engine's default)."""
    from pipeline.engines.factory import make_engine

    return make_engine(model, digest, replace(options, threads=threads))


def maybe_fail(batch_number: int, sources: Sequence[str] = ()) -> None:
    """Test hooks: kill this worker's process as a crash would (no exception, no clean-up)."""
    poison = os.environ.get(POISON_ENV)
    if poison and poison in sources:
        os._exit(1)
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    if spec == "start":
        if batch_number == 0:
            os._exit(1)
        return
    marker, _, number = spec.rpartition(":")
    if int(number) == batch_number and not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()))
        os._exit(1)


@dataclass(frozen=True)
class StageSpec:
    """Everything a replica needs to build one stage: what the driver resolved, sent by value."""

    kind: str  # "translate" or "summarize"
    model_spec: str
    options: EngineOptions
    settings: dict[str, Any]
    fingerprint: str  # the driver's
    threads: int | None
    allow_pickle: bool = False
    glossary: Any = None  # translation: pipeline.quality.glossary.Glossary, as the driver has it
    policy: Any = None  # translation: pipeline.quality.ladder.GuardPolicy
    template: Any = None  # translation by an instruct LM: its pipeline.models.prompts.PromptTemplate
    context_size: int = 0  # translation by an instruct LM: previous sentences its prompt carries


class Stage:
    """One model on a replica: resolved as the CLI does, checked against the driver's fingerprint, loaded."""

    def __init__(self, spec: StageSpec) -> None:
        from pipeline.models.registry import fingerprint, resolve_model

        model = resolve_model(spec.model_spec, allow_pickle=spec.allow_pickle)
        found = fingerprint(model)
        if found != spec.fingerprint:
            raise ModelError(
                f"{FINGERPRINT_MISMATCH}: the worker on {socket.gethostname()} has {found} for "
                f"{spec.model_spec!r} ({model.path}), the driver has {spec.fingerprint}",
                hint="give every node the same model files (or the same pinned hub revision)",
            )
        self.fingerprint = found
        engine = build_engine(model, found, spec.options, spec.threads)
        engine.load()  # now, once: the load is what setup counts, and no batch pays for it
        self.worker: Any
        if spec.kind == "translate":
            from pipeline.quality.ladder import GuardPolicy
            from pipeline.translation.translator import Seq2SeqTranslator

            # the driver's glossary and guard policy: the replica checks and retries exactly as a local run does
            policy = spec.policy or GuardPolicy()
            if model.is_causal_lm:
                from pipeline.translation.llm import LLMTranslator

                self.worker = LLMTranslator(
                    engine, spec.settings, spec.template, spec.glossary, policy, context_size=spec.context_size
                )
            else:
                self.worker = Seq2SeqTranslator(engine, spec.settings, spec.glossary, policy)
        else:
            from pipeline.summaries.abstractive import Seq2SeqSummarizer

            self.worker = Seq2SeqSummarizer(model, engine, spec.settings)
        self.kind = spec.kind

    def run(
        self, sources: list[str], groups: list[Hashable] | None, contexts: list[tuple[str, ...]] | None = None
    ) -> list[str]:
        """One JSON record per source: what the driver turns back into a ``Translation`` or ``Summary``.

        ``contexts[i]``: the sentences before source ``i`` that its prompt carries (an instruct model's).
        """
        if self.kind == "translate":
            results = self.worker.translate_batch(sources, groups, contexts)
            return [json.dumps({"target": r.target, "meta": r.meta()}, ensure_ascii=False) for r in results]
        summaries = [self.worker.summarize(text) for text in sources]
        return [json.dumps({"text": s.text, **s.meta()}, ensure_ascii=False) for s in summaries]

    def align(self, sources: list[str], targets: list[str]) -> list[str]:
        """The translator's word links of each (source, target) pair, one JSON record each (``null``: none)."""
        return [json.dumps(links) for links in self.worker.align(sources, targets)]


class Replica:
    """One Ray actor: the run's stages, each set up (model loaded) once, then called batch after batch."""

    def __init__(self) -> None:
        self.stages: dict[str, Stage] = {}
        self.batches = 0

    def setup(self, name: str, spec: StageSpec) -> dict[str, Any]:
        """Build stage ``name`` (resolve, check, load the model); what the driver records about the load."""
        maybe_fail(0)
        started = time.perf_counter()
        self.stages[name] = Stage(spec)
        return {
            "fingerprint": self.stages[name].fingerprint,
            "load_s": time.perf_counter() - started,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }

    def run(
        self, name: str, sources: list[str], groups: list[Hashable] | None, extras: list[Any] | None = None
    ) -> dict[str, Any]:
        """Stage ``name`` over one batch (``extras``: each source's context); records in input order, and the time."""
        return self._batch(name, sources, lambda stage: stage.run(sources, groups, extras))

    def align(self, name: str, sources: list[str], groups: list[Hashable] | None, targets: list[str]) -> dict[str, Any]:
        """Word links of stage ``name``'s translator for a batch of (source, target) pairs (``groups``: unused)."""
        return self._batch(name, sources, lambda stage: stage.align(sources, targets))

    def _batch(self, name: str, sources: list[str], work: Callable[[Stage], list[str]]) -> dict[str, Any]:
        self.batches += 1
        maybe_fail(self.batches, sources)
        started = time.perf_counter()
        rows = work(self.stages[name])
        return {"rows": rows, "busy_s": time.perf_counter() - started, "fingerprint": self.stages[name].fingerprint}

    def drop(self, name: str) -> None:
        """Free a stage whose executor has closed while another still uses this replica."""
        self.stages.pop(name, None)
