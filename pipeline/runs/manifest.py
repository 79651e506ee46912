"""The manifest: one typed contract for ``manifest.json``, written and read through the same types.

Writers (``pipeline.runs.document``, ``pipeline.runs.summary_stage``, ``pipeline.runs.batch``,
``pipeline.runs.sessions``) build a :class:`RunManifest` from its sections; readers (``score``,
``compare``) get the same types back from :func:`read_manifest`. So the keys a writer puts down
and the keys a reader looks for are spelled once, here, and a run read back equals the run
written. File names and the schema version stay with :mod:`pipeline.runs.outputs`, which owns
the output contract.

The JSON keeps the shape the README documents (``schema``, ``input``, ``translator``,
``summarizer``, ``segments``, ``quality``, ``cache``, ``timings``, ``window``, ``versions``,
``created``). Reading is tolerant: manifests of schema 1, and schema 2 ones written before the
run signature (no ``quality``, ``window``, ``signature`` …), read with defaults for what they
lack; a key this module does not know is kept (:attr:`RunManifest.extra`,
:attr:`StageSection.extra`) and written back as it was.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pipeline.errors import ScoreError
from pipeline.runs.outputs import MANIFEST_FILE, MANIFEST_SCHEMA_VERSION, dumps_manifest
from pipeline.signature import RunSignature

if TYPE_CHECKING:
    from pipeline.summaries.base import Summary
    from pipeline.text.reader import Article

OLDEST_SCHEMA = 1  # what a manifest without a ``schema`` field is


def json_value(value: Any) -> Any:
    """``value`` as it reads back from JSON (mappings as dicts, tuples as lists), so written equals read."""
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def created_now() -> str:
    """The ``created`` stamp: local time with its UTC offset, which ``compare`` sorts runs by."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _object(value: Any) -> Mapping[str, Any] | None:
    """A section's JSON object; None for a missing, empty or malformed one (older readers treated them alike)."""
    return value if isinstance(value, Mapping) and value else None


# --- flat sections: one key per field ---------------------------------------------------------


@dataclass(frozen=True)
class FlatSection:
    """A section whose JSON is its fields, one key each: all written, read by name (missing keys: defaults)."""

    def to_json(self) -> dict[str, Any]:
        return {f.name: json_value(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        names = {f.name for f in fields(cls)}
        return cls(**{key: json_value(value) for key, value in data.items() if key in names})


@dataclass(frozen=True)
class InputSection(FlatSection):
    """The input as given and as an absolute path (schema 2), so references are found from anywhere."""

    path: str | None = None
    resolved: str | None = None  # None for standard input, and in schema 1 manifests
    name: str | None = None
    sha256: str | None = None
    encoding: str | None = None
    chars: int | None = None  # of the text the records' offsets index (a structured document's text view)
    format: str | None = None  # None in manifests written before structured documents: plain text
    # what a structured document says about itself (title, byline, date, url) and the language found
    document: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, article: Article, document: Mapping[str, Any] | None = None) -> InputSection:
        resolved = None if article.path == "-" else str(Path(article.path).resolve())
        return cls(
            article.path,
            resolved,
            article.name,
            article.sha256,
            article.encoding,
            len(article.text),
            article.format,
            dict(document or {}),
        )


@dataclass(frozen=True)
class SegmentCounts(FlatSection):
    """How many segments there were, were translated and flagged, and the tokens of their translations."""

    total: int = 0
    translated: int = 0
    flagged: int = 0
    target_tokens: int = 0
    # tokens this run generated (cache misses): what tokens/s is measured on; None in schema 1 manifests
    generated_tokens: int | None = None


@dataclass(frozen=True)
class QualityCounts(FlatSection):
    """The guards' counts for a document (``pipeline.quality.ladder.document_quality``)."""

    flagged: int = 0
    retried: int = 0
    fixed: int = 0
    extra_decodes: int = 0
    extra_decodes_per_flagged: float = 0.0
    # segments the retry budget left flagged, and their flags: {"segments": n, "flags": {name: count}}
    unretried: Mapping[str, Any] = field(default_factory=dict)
    flags: Mapping[str, int] = field(default_factory=dict)
    glossary_consistency: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class CacheSection(FlatSection):
    """Which translation memory the run used, and its hits and misses."""

    path: str | None = None
    hits: int = 0
    misses: int = 0


@dataclass(frozen=True)
class WindowSection(FlatSection):
    """The batch window the document was translated in (``pipeline.runs.batch.Window``)."""

    documents: int = 1
    segments_max: int = 0


# --- the stages: the run signature, plus what only the manifest holds -------------------------


_ABSENT = object()


@dataclass(frozen=True)
class StageSection:
    """A stage's section: the run signature as :meth:`RunSignature.manifest` writes it.

    A manifest records only part of a signature (not the model's slug, the engine choices or
    the model's own decoding defaults, which only name runs), so the section holds the
    recorded part: :meth:`of` goes through the JSON, and a section read back equals the one
    written. ``extra`` keeps the keys the signature does not reproduce as they were (an
    executor's ``startup_s``, an older manifest's engine identity), so nothing is lost on
    the way through.
    """

    STAGE: ClassVar[str] = "translate"  # what RunSignature.from_manifest is told the section describes

    signature: RunSignature
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, described: RunSignature | Mapping[str, Any]) -> Self:
        """The section for a signature, or for the manifest section a cache wrapper gives (``manifest()``)."""
        return cls.from_json(described.manifest() if isinstance(described, RunSignature) else described)

    def to_json(self) -> dict[str, Any]:
        return {**self.signature.manifest(), **self.extra}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        signature, extra = cls._signature_part(data)
        return cls(signature, extra)

    @classmethod
    def _signature_part(cls, data: Mapping[str, Any]) -> tuple[RunSignature, dict[str, Any]]:
        """The signature ``data`` describes, and the keys whose values it does not write back."""
        signature = RunSignature.from_manifest(data, cls.STAGE)
        rebuilt = signature.manifest()
        recorded = {key: json_value(value) for key, value in data.items()}
        extra = {key: value for key, value in recorded.items() if rebuilt.get(key, _ABSENT) != value}
        return signature, extra

    @property
    def model(self) -> str | None:
        """The model as ``compare`` names it: its hub id, else the name it was opened by."""
        return self.signature.model.hub_id or self.signature.model.name or None

    @property
    def engine_label(self) -> str:
        """``transformers``, or ``ctranslate2/int8`` where a compute type is recorded."""
        engine = self.signature.engine
        return f"{engine.backend}/{engine.compute_type}" if engine.compute_type else engine.backend


@dataclass(frozen=True)
class TranslatorSection(StageSection):
    """The ``translator`` section: the translator's signature (model, engine, decoding, guards, glossary)."""

    STAGE: ClassVar[str] = "translate"


_SUMMARY_KEYS = ("file", "method", "chunks", "flags", "note", "cached", "fallback")


@dataclass(frozen=True)
class SummarizerSection(StageSection):
    """The ``summarizer`` section: the summariser's signature, and how this summary was made."""

    STAGE: ClassVar[str] = "summarize"

    file: str | None = None  # the summary's file name (schema 2; older: by the slug rule)
    method: str | None = None  # abstractive, extractive, extractive-source
    chunks: list[Any] = field(default_factory=list)  # the map-reduce plan, per level
    flags: tuple[str, ...] = ()
    note: str | None = None
    cached: bool = False
    fallback: str | None = None  # why the extractive summariser stood in for the one asked for

    @classmethod
    def of_summary(
        cls, described: RunSignature | Mapping[str, Any], summary: Summary, file: str, fallback: str | None = None
    ) -> SummarizerSection:
        return replace(
            cls.of(described),
            file=file,
            method=summary.method,
            chunks=json_value(summary.chunks),
            flags=tuple(summary.flags),
            note=summary.note,
            cached=summary.cached,
            fallback=fallback or None,
        )

    def to_json(self) -> dict[str, Any]:
        own: dict[str, Any] = {} if self.file is None else {"file": self.file}
        own.update(method=self.method, chunks=self.chunks, flags=list(self.flags), note=self.note, cached=self.cached)
        if self.fallback:
            own["fallback"] = self.fallback
        return {**super().to_json(), **own}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        signature, extra = cls._signature_part({k: v for k, v in data.items() if k not in _SUMMARY_KEYS})
        return cls(
            signature,
            extra,
            file=data.get("file"),
            method=data.get("method"),
            chunks=json_value(data.get("chunks") or []),
            flags=tuple(data.get("flags") or ()),
            note=data.get("note"),
            cached=bool(data.get("cached", False)),
            fallback=data.get("fallback"),
        )


# --- the manifest -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunManifest:
    """What made a run directory's files: enough to reproduce any number, and all ``compare`` needs.

    A translation has ``translator``, ``segments``, ``quality`` (and ``window`` from a batch); a
    summary has ``summarizer``; ``nl2en run`` has both. Sections a run lacks are None and are
    not written.
    """

    input: InputSection = field(default_factory=InputSection)
    translator: TranslatorSection | None = None
    summarizer: SummarizerSection | None = None
    segments: SegmentCounts | None = None
    quality: QualityCounts | None = None
    cache: CacheSection | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    window: WindowSection | None = None
    versions: Mapping[str, str] = field(default_factory=dict)
    created: str = ""
    schema: int = MANIFEST_SCHEMA_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict)  # top-level keys of a newer writer, kept as they were

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"schema": self.schema, "input": self.input.to_json()}
        sections = {
            "translator": self.translator,
            "summarizer": self.summarizer,
            "segments": self.segments,
            "quality": self.quality,
            "cache": self.cache,
        }
        data.update((key, section.to_json()) for key, section in sections.items() if section is not None)
        data["timings"] = json_value(self.timings)
        if self.window is not None:
            data["window"] = self.window.to_json()
        data.update(versions=json_value(self.versions), created=self.created, **self.extra)
        return data

    def dumps(self) -> str:
        """The text of ``manifest.json`` (:func:`pipeline.runs.outputs.dumps_manifest`)."""
        return dumps_manifest(self.to_json())

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunManifest:
        """A manifest of any schema; what it lacks gets the defaults above."""
        translator, summarizer = _object(data.get("translator")), _object(data.get("summarizer"))
        segments, quality = _object(data.get("segments")), _object(data.get("quality"))
        cache, window = _object(data.get("cache")), _object(data.get("window"))
        return cls(
            input=InputSection.from_json(_object(data.get("input")) or {}),
            translator=TranslatorSection.from_json(translator) if translator else None,
            summarizer=SummarizerSection.from_json(summarizer) if summarizer else None,
            segments=SegmentCounts.from_json(segments) if segments else None,
            quality=QualityCounts.from_json(quality) if quality else None,
            cache=CacheSection.from_json(cache) if cache else None,
            timings=json_value(_object(data.get("timings")) or {}),
            window=WindowSection.from_json(window) if window else None,
            versions=json_value(_object(data.get("versions")) or {}),
            created=str(data.get("created") or ""),
            schema=int(data.get("schema", OLDEST_SCHEMA)),
            extra={key: value for key, value in data.items() if key not in _MANIFEST_KEYS},
        )

    @property
    def stages(self) -> tuple[StageSection, ...]:
        """The translator's and the summariser's sections, those the run has, in that order."""
        return tuple(s for s in (self.translator, self.summarizer) if s is not None)


_MANIFEST_KEYS = frozenset(f.name for f in fields(RunManifest)) - {"extra"}


def read_manifest(run_dir: Path) -> RunManifest:
    """``run_dir``'s manifest, of any schema; an unreadable or malformed one is a one-line error."""
    path = run_dir / MANIFEST_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScoreError(f"{path}: unreadable ({exc})") from exc
    if not isinstance(data, dict):
        raise ScoreError(f"{path}: not a JSON object")
    try:
        return RunManifest.from_json(data)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ScoreError(f"{path}: not a manifest ({exc})") from exc
