"""Sessions: a model opened for a command, its run signature, and the cache around it.

Opening resolves a model, builds its engine (or a Ray executor), asks each component for its
section of the run signature (``pipeline.signature``) and wraps the translator or summariser
in the cache keyed by it. No weights are loaded until the first cache miss needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pipeline.engines.factory import EngineOptions, make_engine
from pipeline.models.registry import ResolvedModel
from pipeline.quality.glossary import Glossary, builtin_glossary
from pipeline.quality.ladder import parse_guard_mode
from pipeline.runs.batch import REMOTE_WINDOW, Window
from pipeline.runs.cache import CachedSummarizer, CachedTranslator
from pipeline.runs.manifest import SummarizerSection
from pipeline.runs.memory import TranslationMemory
from pipeline.runs.outputs import run_name, summary_file, summary_slug
from pipeline.signature import ExecutorSection, PromptSection, RunSignature
from pipeline.summaries.extractive import ExtractiveSummarizer
from pipeline.translation.llm import DEFAULT_CONTEXT

EXECUTORS = ("local", "ray")


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

    def __post_init__(self) -> None:
        """An unknown executor or an empty placement fails here, when the command builds its options.

        Whether the CPUs are there is the executor's check when it starts (``RayExecutor.start``):
        it depends on the cluster, or on this machine when nl2en starts the Ray itself.
        """
        from pipeline.errors import ExecutorError

        if self.kind not in EXECUTORS:
            raise ExecutorError(f"unknown executor {self.kind!r}; choose one of {', '.join(EXECUTORS)}")
        if self.workers < 1 or self.cpus_per_worker < 1:
            raise ExecutorError("--workers and --cpus-per-worker must be at least 1")

    @property
    def remote(self) -> bool:
        return self.kind == "ray"

    def signature(self) -> ExecutorSection:
        """Where misses will be computed, before the executor has started (it adds what it finds)."""
        if not self.remote:
            return ExecutorSection()
        return ExecutorSection("ray", {"workers": self.workers, "cpus_per_worker": self.cpus_per_worker})

    def ray_arguments(self) -> dict[str, Any]:
        """The Ray executors' placement arguments (``pipeline.runs.ray_executor``), translation and summaries alike."""
        return {"workers": self.workers, "cpus_per_worker": self.cpus_per_worker, "address": self.address}


@dataclass(frozen=True)
class CacheSpec:
    """Where the translation memory lives and whether a command uses it (``--cache``, ``--no-cache``).

    A value rather than an open memory, so a command can say what it wants before anything is
    opened; :meth:`open` is the one place that turns it into a ``TranslationMemory``.
    """

    path: Path | None = None  # None: NL2EN_CACHE, else the user cache
    enabled: bool = True

    def open(self) -> TranslationMemory | None:
        """The memory (the caller closes it), or None when the cache is off."""
        from pipeline.locations import default_cache_path

        return TranslationMemory(self.path or default_cache_path()) if self.enabled else None


DEFAULT_CACHE = CacheSpec()
"""Read and write the cache at NL2EN_CACHE, else the user cache: what a command does without cache options."""
NO_CACHE = CacheSpec(enabled=False)
"""Neither read nor write the cache: benchmarks, calibration, tests that must translate every time."""


@dataclass(frozen=True)
class TranslatorSpec:
    """Everything that chooses a translator, validated once when built and passed down whole.

    The CLI builds one from its options (``pipeline.cli.common.translator_spec``) for
    ``translate``, ``run`` and ``models calibrate`` alike; the library opens it with
    :func:`open_translator`. ``glossary`` is a loaded glossary, None for none, or ``"builtin"``
    (loaded on open); ``overrides`` are decoding settings over the model's own (``None`` values
    ignored). An unknown guard mode is a ``GuardModeError`` here, not halfway through opening.
    ``context`` is how many previous sentences of its document an instruct model's prompt carries
    (``--context``; seq2seq models read none).
    """

    model: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    engine: EngineOptions = field(default_factory=EngineOptions)
    executor: ExecutorOptions = field(default_factory=ExecutorOptions)
    glossary: Glossary | Literal["builtin"] | None = "builtin"
    guards: str = "retry"  # retry | flag | off (pipeline.quality.ladder), checked on construction
    allow_pickle: bool = False
    context: int = DEFAULT_CONTEXT

    def __post_init__(self) -> None:
        """The one check of guard mode and context; a ``GuardMode`` enum from the CLI is stored as the plain mode."""
        from pipeline.errors import OptionsError

        object.__setattr__(self, "guards", parse_guard_mode(str(self.guards)))
        if self.context < 0:
            raise OptionsError(f"--context must be 0 or more, not {self.context}")


@dataclass(frozen=True)
class SummarizerSpec:
    """Everything that chooses a summariser, built once per command and opened by :func:`open_summarizer`.

    ``explicit`` is False when the user named no summariser: a missing default model then falls
    back to the extractive summariser (said so) instead of failing. ``sentences`` applies to the
    extractive summariser and to instruct models, ``ratio`` to the extractive summariser only,
    ``words`` to instruct models only (``sentences`` wins when both are set). ``source_side``: an
    instruct model is given the Dutch text and writes its English summary from it.
    """

    name: str
    explicit: bool = True
    overrides: Mapping[str, Any] = field(default_factory=dict)
    sentences: int | None = None
    ratio: float | None = None
    words: int | None = None
    source_side: bool = False
    engine: EngineOptions = field(default_factory=EngineOptions)
    executor: ExecutorOptions = field(default_factory=ExecutorOptions)
    allow_pickle: bool = False

    def __post_init__(self) -> None:
        from pipeline.errors import OptionsError

        for name in ("sentences", "words"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise OptionsError(f"--{name} must be at least 1, not {value}")


@dataclass
class TranslatorSession:
    """A resolved model, its cached translator and the memory behind it."""

    model: ResolvedModel
    translator: CachedTranslator
    memory: TranslationMemory | None

    @property
    def signature(self) -> RunSignature:
        return self.translator.signature

    @property
    def cache_path(self) -> str | None:
        return str(self.memory.path) if self.memory else None

    @property
    def run_name(self) -> str:
        """The default run name (:func:`pipeline.runs.outputs.run_name`)."""
        return run_name(self.signature)

    @property
    def window(self) -> Window:
        """The batch window for its executor: larger on a cluster, where each window starts an actor pool."""
        return REMOTE_WINDOW if self.signature.executor.kind != "local" else Window()

    def close(self) -> None:
        try:
            self.translator.close()
        finally:
            if self.memory:
                self.memory.close()


def _local_only(executor: ExecutorOptions, model: ResolvedModel) -> None:
    if executor.remote:
        from pipeline.errors import ExecutorError

        raise ExecutorError(
            f"{model.name} is an instruct LLM: the Ray executor summarises with seq2seq models only",
            hint="use --executor local",
        )


def digest_memo(memory: TranslationMemory | None, cache_path: Path | None = None) -> Any:
    """The memo of model file digests: the translation memory's; with ``--no-cache`` a small file
    beside ``--cache FILE`` if one is named, else in the state folder (:func:`pipeline.locations.digests_path`)."""
    if memory is not None:
        return memory.digest
    from pipeline.locations import digests_path
    from pipeline.models.registry import DigestFile

    return DigestFile(digests_path(cache_path))


def open_translator(spec: TranslatorSpec, cache: CacheSpec = DEFAULT_CACHE) -> TranslatorSession:
    """Resolve the model and wrap its engine (or a Ray executor) in the cache; loads no weights yet.

    A Ray executor is started here, so an unreachable cluster fails before any input is read.
    The memory that ``cache`` opens belongs to the session: ``close()`` closes it.
    """
    from pipeline.models.decoding import translation_decoding
    from pipeline.models.prompts import model_family
    from pipeline.models.registry import fingerprint, resolve_model
    from pipeline.translation.llm import LLMTranslator, llm_policy
    from pipeline.translation.translator import Seq2SeqTranslator, Translator, guard_policy

    model_name, options, executor, allow_pickle = spec.model, spec.engine, spec.executor, spec.allow_pickle
    model = resolve_model(model_name, allow_pickle=allow_pickle)
    causal = model.is_causal_lm
    memory = cache.open()
    try:
        digest = fingerprint(model, digest_memo(memory, cache.path))
        decoding = translation_decoding(model, spec.overrides)
        glossary = builtin_glossary() if isinstance(spec.glossary, str) else spec.glossary
        engine = make_engine(model, digest, options)  # loads nothing; the Ray executor needs it for the policy only
        policy, calibration = guard_policy(spec.guards, digest, engine)
        prompt = None
        if causal:
            policy = llm_policy(policy)
            family = model_family(model)
            template = family.translation
            prompt = PromptSection(family.name, template.name, template.digest, spec.context)
        signature = RunSignature(
            stage="translate",
            model=model.signature(digest),
            engine=replace(engine.signature(), choices=tuple(options.run_name_parts())),
            decoding=decoding.signature(translation_decoding(model).settings),
            quality=policy.signature(calibration),
            glossary=(glossary or Glossary()).signature(),
            executor=executor.signature(),
            prompt=prompt,
        )
        translator: Translator
        if causal and not executor.remote:
            translator = LLMTranslator(
                engine, decoding.settings, family.translation, glossary, policy, context_size=spec.context
            )
        elif executor.remote:
            from pipeline.runs.ray_executor import RayExecutor

            translator = ray_executor = RayExecutor(
                model_name,
                replace(options, backend=engine.backend),
                decoding.settings,
                **executor.ray_arguments(),
                fingerprint=digest,
                allow_pickle=allow_pickle,
                glossary=glossary,
                policy=policy,
                context_size=spec.context,  # an instruct model's; a seq2seq model reads none
            )
            ray_executor.sink = _memory_writer(memory, signature, ray_executor.segment_key)  # keyed as the cache keys
            ray_executor.start()
        else:
            translator = Seq2SeqTranslator(engine, decoding.settings, glossary, policy)
    except BaseException:
        if memory:
            memory.close()
        raise
    return TranslatorSession(model, CachedTranslator(translator, memory, signature), memory)


def _memory_writer(
    memory: TranslationMemory | None, signature: RunSignature, segment_key: Callable[[str, Sequence[str]], Any]
) -> Callable[[Sequence[Any]], None] | None:
    """Writes (source, context, translation) rows to the memory under the keys the cache wrapper looks up.

    ``segment_key`` is the translator's own, the one ``CachedTranslator.key`` asks (an instruct
    model's holds its prompt digest and the context it carried; a seq2seq model's its glossary
    entries), so each row's key is the cache's. An executor hands its results over as they arrive,
    so a run killed inside a window keeps them; the cache wrapper's own write at the end of the
    window then finds them there.
    """
    if memory is None:
        return None
    from pipeline.runs.cache import segment_cache_key

    def write(done: Sequence[Any]) -> None:
        memory.put_many(
            (
                segment_cache_key(signature, segment_key(s, c), s),
                signature.stage,
                signature.model.fingerprint,
                s,
                t.target,
                t.meta(),
            )
            for s, c, t in done
        )

    return write


@dataclass
class SummarizerSession:
    """A summariser wrapped in the cache, and how it was chosen."""

    summarizer: CachedSummarizer
    model: ResolvedModel | None
    fallback: str | None = None
    extractive: ExtractiveSummarizer | None = None  # the extractive summariser, when that is the one

    @property
    def signature(self) -> RunSignature:
        return self.summarizer.signature

    @property
    def slug(self) -> str:
        return summary_slug(self.model.slug if self.model else None)

    @property
    def file(self) -> str:
        return summary_file(self.slug)

    @property
    def abstractive(self) -> bool:
        return self.model is not None

    @property
    def instruct(self) -> bool:
        """An instruct model (told its length in sentences or words, and able to read the Dutch)."""
        return self.model is not None and self.model.is_causal_lm

    @property
    def reads_dutch(self) -> bool:
        """Summarises the Dutch source itself (``--source-side`` with an instruct model)."""
        return (
            self.instruct
            and self.signature.prompt is not None
            and self.signature.prompt.options.get("language") == "nl"
        )

    def close(self) -> None:
        """Stop what its executor started; the memory belongs to the caller."""
        self.summarizer.close()

    @property
    def run_name(self) -> str:
        return run_name(self.signature)

    def section(self, summary: Any) -> SummarizerSection:
        """The manifest's ``summarizer`` section for ``summary`` (:class:`pipeline.runs.manifest.SummarizerSection`)."""
        return SummarizerSection.of_summary(self.summarizer.manifest(), summary, self.file, self.fallback)

    def manifest(self, summary: Any) -> dict[str, Any]:
        """That section as it is written to ``manifest.json``."""
        return self.section(summary).to_json()


def open_summarizer(
    spec: SummarizerSpec, memory: TranslationMemory | None = None, *, cache_path: Path | None = None
) -> SummarizerSession:
    """The named summariser; when the default model is missing, the extractive one, said so.

    ``memory`` is the caller's (``run`` shares the translator's), so the session does not close it.
    ``cache_path`` is ``--cache FILE`` when the memory is off: model digests are memoised beside it.
    """
    from pipeline.errors import ModelNotFoundError
    from pipeline.models.decoding import summarization_decoding
    from pipeline.models.prompts import model_family
    from pipeline.models.registry import fingerprint, resolve_model
    from pipeline.summaries.abstractive import Seq2SeqSummarizer
    from pipeline.summaries.base import Summarizer
    from pipeline.summaries.extractive import EXTRACTIVE
    from pipeline.summaries.llm import LLMSummarizer

    name, options, executor, allow_pickle = spec.name, spec.engine, spec.executor, spec.allow_pickle
    fallback = None
    if name != EXTRACTIVE:
        try:
            model = resolve_model(name, allow_pickle=allow_pickle)
        except ModelNotFoundError as exc:
            if spec.explicit:
                raise
            fallback = f"{exc.message}; used the extractive summariser instead"
        else:
            causal = model.is_causal_lm
            if causal:
                _local_only(executor, model)
            digest = fingerprint(model, digest_memo(memory, cache_path))
            # summaries are generated one at a time: the translator's batch size does not apply
            decoding = summarization_decoding(model, spec.overrides)
            engine = make_engine(model, digest, replace(options, batch_size=16))
            summarizer: Summarizer
            prompt = None
            if causal:
                template = model_family(model).summary
                language = "nl" if spec.source_side else "en"
                llm = LLMSummarizer(engine, decoding.settings, template, language, spec.sentences, spec.words)
                prompt = PromptSection(model_family(model).name, template.name, template.digest, 0, llm.length())
            signature = RunSignature(
                stage="summarize",
                model=model.signature(digest),
                engine=replace(engine.signature(), choices=tuple(options.run_name_parts())),
                decoding=decoding.signature(summarization_decoding(model).settings),
                executor=executor.signature(),
                prompt=prompt,
            )
            if causal:
                summarizer = llm
            elif executor.remote:
                from pipeline.runs.ray_executor import RaySummaryExecutor

                summarizer = RaySummaryExecutor(
                    name,
                    replace(options, batch_size=16, backend=engine.backend),
                    decoding.settings,
                    **executor.ray_arguments(),
                    fingerprint=digest,
                    allow_pickle=allow_pickle,
                ).start()
            else:
                summarizer = Seq2SeqSummarizer(model, engine, decoding.settings)
            return SummarizerSession(CachedSummarizer(summarizer, memory, signature), model)
    extractive = ExtractiveSummarizer(sentences=spec.sentences, ratio=spec.ratio)
    cached = CachedSummarizer(extractive, memory, extractive.signature())
    return SummarizerSession(cached, None, fallback, extractive)
