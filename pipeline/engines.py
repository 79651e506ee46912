"""Engines and sessions: one ``EngineOptions`` value per command, the engine it picks, opened models.

Opening resolves a model and wraps its engine in the cache; no weights are loaded until
the first cache miss needs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline.outputs import run_name, summary_file, summary_slug
from pipeline.registry import ResolvedModel
from pipeline.translate import CachedTranslator

BACKENDS = ("auto", "transformers", "ctranslate2")
EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class EngineOptions:
    """How to run a model, chosen once per command: backend, compute type, device, threads, batch size."""

    backend: str = "auto"
    compute_type: str = "int8"
    device: str = "cpu"
    threads: int | None = None
    batch_size: int = 16
    batch_tokens: int = 0  # CTranslate2: bound batches by source tokens instead of sentences when set

    def run_name_parts(self) -> list[str]:
        """What the user chose differently from the defaults, and can change outputs (not threads or batch size)."""
        default = EngineOptions()
        parts = [self.backend] if self.backend != default.backend else []
        parts += [self.compute_type] if self.compute_type != default.compute_type else []
        parts += [self.device] if self.device != default.device else []
        return parts


@dataclass(frozen=True)
class ExecutorOptions:
    """Where cache misses are computed, chosen once per command: here, or on a Ray cluster.

    The local executor runs the engine in this process (and never imports ray); ``ray``
    sends each window's de-duplicated misses to ``workers`` model replicas of
    ``cpus_per_worker`` CPUs on the cluster at ``address`` (default: ``RAY_ADDRESS``,
    else a Ray started on this machine for the run and stopped after it).
    """

    kind: str = "local"
    workers: int = 1
    address: str | None = None
    cpus_per_worker: int = 1

    @property
    def remote(self) -> bool:
        if self.kind not in EXECUTORS:
            from pipeline.errors import ExecutorError

            raise ExecutorError(f"unknown executor {self.kind!r}; choose one of {', '.join(EXECUTORS)}")
        return self.kind == "ray"

    def ray_arguments(self) -> dict[str, Any]:
        """The Ray executors' placement arguments (``pipeline.ray_executor``), for translation and summaries alike."""
        return {"workers": self.workers, "cpus_per_worker": self.cpus_per_worker, "address": self.address}


def executor_manifest(inner: Any) -> dict[str, Any]:
    """What a manifest records about where a stage ran: ``local``, or the executor's own description."""
    describe = getattr(inner, "manifest", None)
    return describe() if callable(describe) else {"executor": "local"}


def close_executor(inner: Any) -> None:
    """Stop what an executor started (a local Ray); nothing for the local engine."""
    close = getattr(inner, "close", None)
    if callable(close):
        close()


def make_engine(model: ResolvedModel, digest: str, options: EngineOptions | None = None) -> Any:
    """The engine for ``options.backend``; ``auto`` is CTranslate2 where installed and the model is supported."""
    from pipeline.ct2 import CT2Engine, supports
    from pipeline.errors import ModelError
    from pipeline.seq2seq import TransformersEngine

    options = options or EngineOptions()
    backend = options.backend
    if backend not in BACKENDS:
        raise ModelError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        backend = "ctranslate2" if supports(model) else "transformers"
    if backend == "ctranslate2":
        if not supports(model):
            raise ModelError(
                f"{model.name}: CTranslate2 is not installed or does not support model type "
                f"{model.config().get('model_type')!r}",
                hint="use --backend transformers",
            )
        return CT2Engine(
            model,
            digest,
            compute_type=options.compute_type,
            device=options.device,
            threads=options.threads,
            batch_size=options.batch_size,
            max_batch_tokens=options.batch_tokens,
        )
    return TransformersEngine(model, device=options.device, threads=options.threads, batch_size=options.batch_size)


@dataclass
class TranslatorSession:
    """A resolved model, its cached engine and the memory behind it."""

    model: ResolvedModel
    translator: CachedTranslator
    memory: Any  # TranslationMemory | None
    options: EngineOptions = field(default_factory=EngineOptions)

    @property
    def cache_path(self) -> str | None:
        return str(self.memory.path) if self.memory else None

    @property
    def run_name(self) -> str:
        """The default run name (see :func:`pipeline.outputs.run_name`)."""
        from pipeline.translate import decoding_settings

        quality: list[str] = getattr(self.translator.inner, "run_name_parts", list)()  # guards, glossary
        return run_name(
            self.model.slug,
            self.translator.settings,
            decoding_settings(self.model),
            self.options.run_name_parts() + quality,
        )

    def close(self) -> None:
        try:
            close_executor(self.translator.inner)
        finally:
            if self.memory:
                self.memory.close()


def digest_memo(memory: Any) -> Any:
    """The memo of model file digests: the translation memory's, or a small file beside it with ``--no-cache``."""
    if memory is not None:
        return memory.digest
    from pipeline.memory import default_cache_path
    from pipeline.registry import DigestFile

    return DigestFile(default_cache_path().with_name("file-digests.json"))


def default_run_name(session: TranslatorSession) -> str:
    return session.run_name


def open_translator(
    model_name: str,
    *,
    overrides: dict[str, Any] | None = None,
    cache: Path | None = None,
    use_cache: bool = True,
    options: EngineOptions | None = None,
    allow_pickle: bool = False,
    glossary: Any = "builtin",  # a Glossary, None for none, or "builtin" (the default)
    guards: str = "retry",  # retry | flag | off (pipeline.retry)
    executor: ExecutorOptions | None = None,
) -> TranslatorSession:
    """Resolve the model and wrap its engine (or a Ray executor) in the cache; loads no weights yet.

    A Ray executor is started here, so an unreachable cluster fails before any input is read.
    """
    from pipeline.decoding import translation_decoding
    from pipeline.memory import TranslationMemory, default_cache_path
    from pipeline.registry import fingerprint, resolve_model
    from pipeline.translate import Seq2SeqTranslator, guard_policy

    options = options or EngineOptions()
    model = resolve_model(model_name, allow_pickle=allow_pickle)
    memory = TranslationMemory(cache or default_cache_path()) if use_cache else None
    digest = fingerprint(model, digest_memo(memory))
    decoding = translation_decoding(model, overrides)
    if isinstance(glossary, str):
        from pipeline.glossary import builtin_glossary

        glossary = builtin_glossary()
    engine = make_engine(model, digest, options)  # loads nothing; the Ray executor needs it for the policy only
    policy, calibration = guard_policy(guards, digest, engine)
    translator: Any
    if executor is not None and executor.remote:
        from pipeline.ray_executor import RayExecutor

        try:
            translator = RayExecutor(
                model_name,
                options,
                decoding.settings,
                decoding.sources,
                **executor.ray_arguments(),
                fingerprint=digest,
                allow_pickle=allow_pickle,
                glossary=glossary,
                policy=policy,
                calibration=calibration,
            ).start()
        except BaseException:
            if memory:
                memory.close()
            raise
    else:
        translator = Seq2SeqTranslator(engine, decoding.settings, decoding.sources, glossary, policy, calibration)
    cached = CachedTranslator(translator, memory, digest)
    if memory is not None and executor is not None and executor.remote:
        translator.sink = memory_writer(cached)
    return TranslatorSession(model, cached, memory, options)


def memory_writer(cached: CachedTranslator) -> Any:
    """Writes (source, translation) pairs to ``cached``'s memory under the keys ``cached`` looks up.

    An executor hands its results over as they arrive, so a run killed inside a window keeps
    them; the cache wrapper's own write at the end of the window then finds them there.
    """

    def write(done: Any) -> None:
        identity = cached.identity()
        cached.memory.put_many(  # type: ignore[union-attr]
            (cached.key(identity, s), cached.stage, cached.fingerprint, s, t.target, t.meta()) for s, t in done
        )

    return write


@dataclass
class SummarizerSession:
    """A summariser wrapped in the cache, and how it was chosen."""

    summarizer: Any  # CachedSummarizer
    model: ResolvedModel | None
    fallback: str | None = None
    options: EngineOptions = field(default_factory=EngineOptions)
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return summary_slug(self.model.slug if self.model else None)

    @property
    def file(self) -> str:
        return summary_file(self.slug)

    @property
    def abstractive(self) -> bool:
        return self.model is not None

    def close(self) -> None:
        """Stop what its executor started; the memory belongs to the caller."""
        close_executor(self.summarizer.inner)

    @property
    def run_name(self) -> str:
        engine = self.options.run_name_parts() if self.model else []
        return run_name(self.slug, self.summarizer.settings, self.defaults, engine)

    def manifest(self, summary: Any) -> dict[str, Any]:
        info: dict[str, Any] = {
            "model": self.model.name if self.model else "extractive",
            "hub_id": self.model.hub_id if self.model else None,
            "revision": self.model.revision if self.model else None,
            "source": self.model.source if self.model else None,
            "path": str(self.model.path) if self.model else None,
            "file": self.file,
            "fingerprint": self.summarizer.fingerprint,
            "backend": self.summarizer.backend,
            "engine": self.summarizer.inner.identity(),
            **executor_manifest(self.summarizer.inner),
            "method": summary.method,
            "decoding": self.summarizer.settings,
            "decoding_sources": getattr(self.summarizer.inner, "sources", {}),
            "chunks": summary.chunks,
            "flags": list(summary.flags),
            "note": summary.note,
            "cached": summary.cached,
        }
        if self.fallback:
            info["fallback"] = self.fallback
        return info


def open_summarizer(
    name: str,
    *,
    memory: Any,
    explicit: bool = True,
    overrides: dict[str, Any] | None = None,
    sentences: int | None = None,
    ratio: float | None = None,
    options: EngineOptions | None = None,
    allow_pickle: bool = False,
    executor: ExecutorOptions | None = None,
) -> SummarizerSession:
    """The named summariser; when the default model is missing, the extractive one, said so."""
    from pipeline.decoding import summarization_decoding
    from pipeline.errors import ModelNotFoundError
    from pipeline.registry import fingerprint, resolve_model
    from pipeline.summarize import EXTRACTIVE, CachedSummarizer, ExtractiveSummarizer, Seq2SeqSummarizer

    options = options or EngineOptions()
    fallback = None
    if name != EXTRACTIVE:
        try:
            model = resolve_model(name, allow_pickle=allow_pickle)
        except ModelNotFoundError as exc:
            if explicit:
                raise
            fallback = f"{exc.message}; used the extractive summariser instead"
        else:
            digest = fingerprint(model, digest_memo(memory))
            # summaries are generated one at a time: the translator's batch size does not apply
            decoding = summarization_decoding(model, overrides)
            summarizer: Any
            if executor is not None and executor.remote:
                from pipeline.ray_executor import RaySummaryExecutor

                summarizer = RaySummaryExecutor(
                    name,
                    replace(options, batch_size=16),
                    decoding.settings,
                    decoding.sources,
                    **executor.ray_arguments(),
                    fingerprint=digest,
                    allow_pickle=allow_pickle,
                ).start()
            else:
                engine = make_engine(model, digest, replace(options, batch_size=16))
                summarizer = Seq2SeqSummarizer(model, engine, decoding.settings, decoding.sources)
            cached = CachedSummarizer(summarizer, memory, digest)
            return SummarizerSession(cached, model, None, options, summarization_decoding(model).settings)
    extractive = ExtractiveSummarizer(sentences=sentences, ratio=ratio)
    cached = CachedSummarizer(extractive, memory, "builtin:textrank-tfidf-v1")
    return SummarizerSession(cached, None, fallback, options, ExtractiveSummarizer().settings)
