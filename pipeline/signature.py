"""The run signature: one typed description of everything that determines an output.

Modelled on sacrebleu's ``Metric.get_signature()``: a frozen value built from sections, each
produced by the component it describes —

- ``ModelSection``: ``ResolvedModel.signature(fingerprint)`` (``pipeline.models.registry``);
- ``EngineSection``: the engine's ``signature()`` (``pipeline.engines``);
- ``DecodingSection``: ``Decoding.signature()`` (``pipeline.models.decoding``), settings with
  the source of each;
- ``QualitySection``: ``GuardPolicy.signature()`` (``pipeline.quality.ladder``), every field of
  the policy and of the guards' settings;
- ``GlossarySection``: ``Glossary.signature()`` (``pipeline.quality.glossary``);
- ``ExecutorSection``: ``ExecutorOptions.signature()`` (``pipeline.runs.sessions``);
- ``PromptSection``: an instruct model's prompt (``pipeline.runs.sessions`` from
  ``pipeline.models.prompts``): family, template, digest, context, summary length;
- ``version``: :data:`LOGIC_VERSION`, nl2en's own output-affecting logic.

Three things are derived from it and from nothing else: the cache key (:meth:`RunSignature.key_fields`),
the default run name (``pipeline.runs.outputs.run_name``, fed by :meth:`RunSignature.name_parts`)
and the manifest's ``translator``/``summarizer`` section (:meth:`RunSignature.manifest`), which
``score`` and ``compare`` read back with :meth:`RunSignature.from_manifest`.

Every field is in the cache key unless :data:`NOT_IN_KEY` lists it with the reason it cannot
change an output; ``tests/test_signature.py`` fails on a field that is in neither.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Bump when nl2en's own logic changes what an output is for the same model, engine and settings
# (guards, ladder, glossary repair, splitting, cleaning): every cached result is then computed again.
LOGIC_VERSION = 3  # 3: glossary repair beside English forms, word-based repetition, untranslated names

# Fields that cannot change an output, and why; every other field is part of the cache key.
NOT_IN_KEY: dict[str, str] = {
    "model.name": "an alias or path as typed; the fingerprint identifies the files",
    "model.hub_id": "where the files came from; the fingerprint identifies them",
    "model.revision": "where the files came from; the fingerprint identifies them",
    "model.path": "where the files are on this machine; the fingerprint identifies them",
    "model.source": "how the files got here (download route, import); the fingerprint identifies them",
    "model.slug": "the model's name in file names; the fingerprint identifies the files",
    "decoding.defaults": "the model's own settings, for the run name; the settings used are keyed",
    "engine.choices": "what the command asked for (e.g. an explicit backend), for the run name; the engine is keyed",
    "decoding.sources": "where each setting came from; the settings themselves are keyed",
    "quality.calibration": "how the threshold was found; the threshold itself is keyed",
    "glossary.name": "the entries a segment uses are keyed per segment (Translator.segment_key)",
    "glossary.entries": "the entries a segment uses are keyed per segment (Translator.segment_key)",
    "glossary.digest": "the entries a segment uses are keyed per segment (Translator.segment_key)",
    "executor.kind": "every executor runs the same engine code; the Ray tests check the records are equal",
    "executor.details": "placement (workers, CPUs, address) changes speed, never the tokens",
    "stage": "keyed separately: the cache key's first field",
}


@dataclass(frozen=True)
class ModelSection:
    """Which model: its files' fingerprint, and where they came from."""

    name: str
    fingerprint: str
    hub_id: str | None = None
    revision: str | None = None
    path: str | None = None
    source: Any = None  # the model's source record (route, commit, sha256), or its kind
    slug: str = ""  # the model's name in run names and summary files


@dataclass(frozen=True)
class EngineSection:
    """Which engine runs the model: backend, compute type (CTranslate2) and device kind."""

    backend: str
    device: str = "cpu"
    compute_type: str | None = None
    choices: tuple[str, ...] = ()  # engine options the command set away from their defaults, for the run name

    def identity(self) -> dict[str, Any]:
        found = {"backend": self.backend, "device": self.device}
        return {**found, "compute_type": self.compute_type} if self.compute_type is not None else found


@dataclass(frozen=True)
class DecodingSection:
    """Decoding settings, and the source of each (``pipeline.models.decoding``)."""

    settings: Mapping[str, Any] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)  # the model's own, without command-line settings


@dataclass(frozen=True)
class QualitySection:
    """The guard policy: mode, ``low_confidence`` threshold, every rung and guard setting."""

    mode: str = "off"
    threshold: float | None = None
    policy: Mapping[str, Any] = field(default_factory=dict)
    calibration: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class GlossarySection:
    """Which glossary: its name, size and digest (segments key only the entries they use)."""

    name: str | None = None
    entries: int = 0
    digest: str | None = None


@dataclass(frozen=True)
class PromptSection:
    """An instruct model's prompt: its family, template and the template's digest, how many previous
    sentences it carries (``--context``), and what else it is filled with (a summary's length and language)."""

    family: str
    template: str
    digest: str
    context: int = 0
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecutorSection:
    """Where misses were computed: ``local``, or ``ray`` with its placement."""

    kind: str = "local"
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSignature:
    """Everything that determines one stage's outputs (see the module doc)."""

    stage: str
    model: ModelSection
    engine: EngineSection
    decoding: DecodingSection = field(default_factory=DecodingSection)
    quality: QualitySection | None = None
    glossary: GlossarySection | None = None
    executor: ExecutorSection = field(default_factory=ExecutorSection)
    version: int = LOGIC_VERSION
    prompt: PromptSection | None = None  # instruct models only

    def fields(self) -> dict[str, Any]:
        """Every field as ``section.name`` → value (sections that are absent give nothing)."""
        flat: dict[str, Any] = {"stage": self.stage, "version": self.version}
        for section in dataclasses.fields(self):
            value = getattr(self, section.name)
            if dataclasses.is_dataclass(value):
                for item in dataclasses.fields(value):
                    flat[f"{section.name}.{item.name}"] = getattr(value, item.name)
        return flat

    def key_fields(self) -> dict[str, Any]:
        """What the cache key holds: every field that can change an output (not the stage, keyed apart)."""
        return {name: _plain(value) for name, value in self.fields().items() if name not in NOT_IN_KEY}

    def with_executor(self, executor: ExecutorSection) -> RunSignature:
        return dataclasses.replace(self, executor=executor)

    def manifest(self) -> dict[str, Any]:
        """The manifest's section for this stage (the keys ``compare`` and ``score`` read)."""
        found: dict[str, Any] = {
            "model": self.model.name,
            "hub_id": self.model.hub_id,
            "revision": self.model.revision,
            "path": self.model.path,
            "source": _plain(self.model.source),
            "fingerprint": self.model.fingerprint,
            "backend": self.engine.backend,
            "engine": self.engine.identity(),
            "executor": self.executor.kind,
            **_plain(self.executor.details),
            "decoding": _plain(self.decoding.settings),
            "decoding_sources": _plain(self.decoding.sources),
            "signature": self.format(),
            "version": self.version,
        }
        if self.quality is not None or self.glossary is not None:
            glossary = self.glossary or GlossarySection()
            quality = self.quality or QualitySection()
            found["quality"] = {
                "glossary": {"name": glossary.name, "entries": glossary.entries, "digest": glossary.digest},
                "guards": quality.mode,
                "policy": _plain(quality.policy),
                "low_confidence": {"threshold": quality.threshold, "calibration": _plain(quality.calibration)},
            }
        if self.prompt is not None:
            found["prompt"] = _plain(self.prompt)
        return found

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any], stage: str = "translate") -> RunSignature:
        """The signature a manifest section describes (older manifests: what they recorded)."""
        engine = data.get("engine") or {}
        quality = data.get("quality")
        executor = {k: v for k, v in data.items() if k in _EXECUTOR_KEYS and k != "executor"}
        prompt = data.get("prompt")
        return cls(
            stage=stage,
            model=ModelSection(
                name=str(data.get("model", "")),
                fingerprint=str(data.get("fingerprint", "")),
                hub_id=data.get("hub_id"),
                revision=data.get("revision"),
                path=data.get("path"),
                source=data.get("source"),
            ),
            engine=EngineSection(
                backend=str(engine.get("backend") or data.get("backend") or ""),
                device=str(engine.get("device", "cpu")),
                compute_type=engine.get("compute_type"),
            ),
            decoding=DecodingSection(dict(data.get("decoding") or {}), dict(data.get("decoding_sources") or {})),
            quality=_quality_from(quality) if isinstance(quality, Mapping) else None,
            glossary=_glossary_from(quality) if isinstance(quality, Mapping) else None,
            executor=ExecutorSection(str(data.get("executor", "local")), executor),
            version=int(data.get("version", 1)),
            prompt=_prompt_from(prompt) if isinstance(prompt, Mapping) else None,
        )

    def format(self) -> str:
        """The short form, sacrebleu style: ``model:opus-mt-nl-en@1a2b3c4d|engine:ctranslate2-int8-cpu|…``."""
        parts = [f"model:{self.model.name}@{self.model.fingerprint[:8]}"]
        parts.append("engine:" + "-".join(str(v) for v in self.engine.identity().values()))
        parts.append("decoding:" + ",".join(f"{k}={v}" for k, v in sorted(self.decoding.settings.items())))
        if self.quality is not None:
            threshold = "none" if self.quality.threshold is None else f"{self.quality.threshold:g}"
            parts.append(f"guards:{self.quality.mode},threshold={threshold}")
        if self.glossary is not None:
            parts.append(f"glossary:{self.glossary.name or 'none'}@{(self.glossary.digest or '')[:8]}")
        if self.prompt is not None:
            digest = self.prompt.digest.removeprefix("sha256:")[:8]
            parts.append(f"prompt:{self.prompt.family}@{digest},context={self.prompt.context}")
        parts.append(f"executor:{self.executor.kind}")
        parts.append(f"version:{self.version}")
        return "|".join(parts)


_EXECUTOR_KEYS = ("executor", "ray_version", "workers", "cpus_per_worker", "nodes", "address", "model_loads")


def _quality_from(data: Mapping[str, Any]) -> QualitySection:
    confidence = data.get("low_confidence") or {}
    return QualitySection(
        mode=str(data.get("guards", "off")),
        threshold=confidence.get("threshold"),
        policy=dict(data.get("policy") or {}),
        calibration=confidence.get("calibration"),
    )


def _prompt_from(data: Mapping[str, Any]) -> PromptSection:
    return PromptSection(
        str(data.get("family", "")),
        str(data.get("template", "")),
        str(data.get("digest", "")),
        int(data.get("context", 0)),
        dict(data.get("options") or {}),
    )


def _glossary_from(data: Mapping[str, Any]) -> GlossarySection:
    glossary = data.get("glossary") or {}
    return GlossarySection(glossary.get("name"), int(glossary.get("entries", 0)), glossary.get("digest"))


def _plain(value: Any) -> Any:
    """JSON-ready: mappings become dicts and tuples lists, recursively."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
