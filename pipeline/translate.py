"""Translation engines behind one small interface, and the cache that wraps them.

``Seq2SeqTranslator`` runs a seq2seq translation model (MarianMT, NLLB) on an engine
(transformers or CTranslate2) with the decoding settings of ``pipeline.decoding``.
torch and transformers are imported only when the first miss needs the model, so fully
cached documents never pay for them. ``CachedTranslator`` adds the translation memory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from pipeline.decoding import decoding_settings as decoding_settings  # re-exported for callers
from pipeline.glossary import Glossary, TermRecord, force_terms
from pipeline.guards import LENGTH_RATIO_BAND as LENGTH_RATIO_BAND  # re-exported for callers
from pipeline.guards import quality_flags as quality_flags  # re-exported for callers
from pipeline.memory import TranslationMemory, cache_key
from pipeline.retry import CandidateEngine, GuardedSegment, GuardPolicy, translate_guarded
from pipeline.seq2seq import Seq2SeqEngine

_CLAUSE_BREAK = re.compile(r"(?<=[;:,])\s+|\s+(?=[–—-]\s)")


@dataclass(frozen=True)
class Translation:
    """One translated segment, with what the guards found and how the ladder got there."""

    target: str
    flags: tuple[str, ...] = ()
    pieces: int = 1
    tokens: int = 0
    cached: bool = False
    score: float | None = None  # mean token log-probability of the winning attempt
    terms: tuple[dict[str, Any], ...] = ()  # glossary terms: nl, en, offsets, status, rendering
    attempts: tuple[dict[str, Any], ...] = ()  # every decode: rung, settings, target, flags, score
    flag_evidence: dict[str, Any] = field(default_factory=dict)  # flag name → what shows it

    def meta(self) -> dict[str, Any]:
        """What the cache stores beside the target, so a cached run writes the same records."""
        return {"pieces": self.pieces, "tokens": self.tokens, **self.record_fields()}

    def record_fields(self) -> dict[str, Any]:
        """The quality fields of a segment's ``aligned.jsonl`` record."""
        return {
            "flags": list(self.flags),
            "flag_evidence": self.flag_evidence,
            "score": self.score,
            "terms": list(self.terms),
            "attempts": list(self.attempts),
        }

    @classmethod
    def from_cache(cls, target: str, meta: dict[str, Any]) -> Translation:
        return cls(
            target,
            tuple(meta.get("flags", ())),
            meta.get("pieces", 1),
            meta.get("tokens", 0),
            True,
            meta.get("score"),
            tuple(meta.get("terms", ())),
            tuple(meta.get("attempts", ())),
            dict(meta.get("flag_evidence", {})),
        )


class Translator(Protocol):
    """What every translator offers; the cache and the runner need no more."""

    @property
    def backend(self) -> str: ...

    @property
    def settings(self) -> dict[str, Any]: ...

    @property
    def sources(self) -> dict[str, str]:
        """Where each decoding setting came from (``pipeline.decoding``)."""
        ...

    def identity(self) -> dict[str, Any]:
        """Everything but the model that determines the output: backend, compute type, settings."""
        ...

    def translate_batch(self, sources: Sequence[str]) -> list[Translation]: ...


def _middle_cut(text: str, cuts: list[int]) -> int | None:
    inner = [c for c in cuts if 0 < c < len(text)]
    return min(inner, key=lambda c: abs(c - len(text) / 2)) if inner else None


def split_to_fit(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Split ``text`` into pieces that each satisfy ``fits``, losing no character.

    Cuts at the clause boundary nearest the middle (``; : ,`` and dashes), else at the
    whitespace nearest the middle, else in the middle of an over-long token; recursive,
    so pieces stay as long as the model allows.
    """
    text = text.strip()
    if not text or fits(text):
        return [text] if text else []
    cut = _middle_cut(text, [m.end() for m in _CLAUSE_BREAK.finditer(text)])
    if cut is None:
        cut = _middle_cut(text, [m.start() for m in re.finditer(r"\s+", text)])
    if cut is None:
        cut = max(1, len(text) // 2)
    return split_to_fit(text[:cut], fits) + split_to_fit(text[cut:], fits)


class TranslationEngine(Seq2SeqEngine, CandidateEngine, Protocol):
    """An engine that also gives scored hypotheses (both engines do)."""


def _term_dict(record: TermRecord, shift: int) -> dict[str, Any]:
    return {**record.to_dict(), "start": record.start + shift, "end": record.end + shift, "lemma": record.lemma}


def combine_pieces(source: str, parts: Sequence[str], guarded: Sequence[GuardedSegment]) -> Translation:
    """One segment's translation from its pieces' guarded translations (one piece: the segment itself).

    Term offsets are moved into the segment; a piece's flags count for the segment, with the
    evidence of the first piece that has each; every attempt is kept, with its piece's index.
    """
    targets = [g.target for g in guarded]
    target = " ".join(t for t in targets if t)
    terms: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []
    evidence: dict[str, Any] = {}
    position = 0
    for index, (part, segment) in enumerate(zip(parts, guarded, strict=True)):
        shift = source.find(part, position) if part else position
        shift = max(shift, 0)
        position = shift + len(part)
        terms.extend(_term_dict(t, shift) for t in segment.terms)
        for number, attempt in enumerate(segment.attempts):
            record = {**attempt.to_dict(), "winner": number == segment.winner}
            attempts.append({**record, "piece": index} if len(parts) > 1 else record)
        for flag in segment.flags:
            if flag.name not in evidence:
                evidence[flag.name] = {**flag.evidence, "piece": index} if len(parts) > 1 else flag.evidence
    flags = list(evidence)
    if len(parts) > 1:
        flags.append("split")
        evidence["split"] = {"pieces": len(parts)}
    scores = [g.score for g in guarded]
    tokens = [g.best.tokens for g in guarded]
    score = None
    if scores and all(s is not None for s in scores):
        weights = [max(1, n) for n in tokens]
        score = sum(s * w for s, w in zip(scores, weights, strict=True) if s is not None) / sum(weights)
    return Translation(
        target, tuple(flags), len(parts), sum(tokens), False, score, tuple(terms), tuple(attempts), evidence
    )


@dataclass
class Seq2SeqTranslator:
    """A seq2seq translation model (MarianMT, NLLB) on an engine: transformers or CTranslate2.

    Glossary terms are forced into the source, each output is checked by the guards and a
    flagged one goes up the retry ladder (``pipeline.retry``; ``policy.mode``). Sentences
    longer than the model's source limit (counted after forcing) are split at clause
    boundaries (then by words) and the translated pieces joined, so nothing is truncated.
    """

    engine: TranslationEngine
    settings: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)
    glossary: Glossary | None = None
    policy: GuardPolicy = field(default_factory=GuardPolicy)
    calibration: dict[str, Any] | None = None  # how the low_confidence threshold was found

    @property
    def backend(self) -> str:
        return self.engine.backend

    def identity(self) -> dict[str, Any]:
        return {**self.engine.identity(), "settings": self.settings}

    def key_fields(self, source: str) -> dict[str, Any]:
        """What the cache key adds for ``source``: the guard mode and threshold, and the digest of the
        glossary entries the source uses (all of the glossary its output depends on; none: nothing)."""
        fields: dict[str, Any] = {"guards": {"mode": self.policy.mode, "threshold": self.policy.threshold}}
        used = self.glossary.segment_key(source) if self.glossary else ""
        return {**fields, "glossary": used} if used else fields

    def quality_manifest(self) -> dict[str, Any]:
        """The manifest's account of the quality settings: glossary, guard mode, threshold and its origin."""
        glossary = self.glossary or Glossary()
        return {
            "glossary": {"name": glossary.name or None, "entries": len(glossary), "digest": glossary.digest() or None},
            "guards": self.policy.mode,
            "low_confidence": {"threshold": self.policy.threshold, "calibration": self.calibration},
        }

    def run_name_parts(self) -> list[str]:
        """What differs from the default quality settings (built-in glossary, ``retry``), for the run name."""
        parts = [] if self.policy.mode == "retry" else [f"guards-{self.policy.mode}"]
        if self.glossary is None or not len(self.glossary):
            return [*parts, "no-glossary"]
        if self.glossary.name != "builtin":
            parts.append(f"glossary-{self.glossary.digest()[:8]}")
        return parts

    def split(self, source: str) -> list[str]:
        limit = self.engine.max_input_tokens
        glossary = self.glossary or Glossary()
        return split_to_fit(source, lambda t: self.engine.count_tokens([force_terms(t, glossary).text])[0] <= limit)

    def translate_batch(self, sources: Sequence[str]) -> list[Translation]:
        parts = [self.split(source) or [source] for source in sources]
        flat = [p for ps in parts for p in ps]
        guarded = iter(translate_guarded(self.engine, flat, self.settings, glossary=self.glossary, policy=self.policy))
        return [
            combine_pieces(source, pieces, [next(guarded) for _ in pieces])
            for source, pieces in zip(sources, parts, strict=True)
        ]


MarianTranslator = Seq2SeqTranslator


def guard_policy(mode: str, fingerprint: str, engine: Seq2SeqEngine) -> tuple[GuardPolicy, dict[str, Any] | None]:
    """The policy for ``mode``, with the model's stored ``low_confidence`` threshold when it was calibrated."""
    from pipeline.guards import CalibrationStore, calibration_key, default_calibration_path
    from pipeline.retry import GUARD_MODES

    if mode not in GUARD_MODES:
        from pipeline.errors import Nl2enError

        raise Nl2enError(f"unknown guard mode {mode!r}; choose one of {', '.join(GUARD_MODES)}")
    found = CalibrationStore(default_calibration_path()).get(calibration_key(fingerprint, engine.identity()))
    policy = GuardPolicy(mode=mode, threshold=found.threshold if found else None)
    return policy, found.to_dict() if found else None


def calibrate_translator(
    translator: Seq2SeqTranslator,
    fingerprint: str,
    corpus: Any,
    *,
    q: float = 5.0,
    limit: int | None = None,
    store: Any = None,
) -> Any:
    """Calibrate the model's ``low_confidence`` threshold on a news corpus and store it.

    The corpus sentences are decoded as attempt 1 (normal settings, no glossary, no guards);
    the threshold is the ``q``-th percentile of their scores, kept per model and engine.
    """
    from dataclasses import replace as replace_fields

    from pipeline.guards import CalibrationStore, calibrate, calibration_key, default_calibration_path

    plain = replace_fields(translator, glossary=None, policy=GuardPolicy(mode="off"))
    key = calibration_key(fingerprint, translator.engine.identity())
    calibration = calibrate(
        lambda sentences: [t.score for t in plain.translate_batch(sentences)], key, corpus, q=q, limit=limit
    )
    (store or CalibrationStore(default_calibration_path())).put(calibration)
    return calibration


@dataclass
class CachedTranslator:
    """Serves segments from the translation memory; asks the engine only for misses."""

    inner: Translator
    memory: TranslationMemory | None
    fingerprint: str
    stage: str = "translate"
    hits: int = 0
    misses: int = 0

    @property
    def backend(self) -> str:
        return self.inner.backend

    @property
    def settings(self) -> dict[str, Any]:
        return self.inner.settings

    @property
    def sources(self) -> dict[str, str]:
        return self.inner.sources

    def identity(self) -> dict[str, Any]:
        return {"model": self.fingerprint, **self.inner.identity()}

    def quality_manifest(self) -> dict[str, Any]:
        describe = getattr(self.inner, "quality_manifest", None)
        return describe() if describe else {}

    def key(self, identity: dict[str, Any], source: str) -> str:
        """The cache key: stage, identity, source, guard mode, and only the glossary entries the source uses."""
        key_fields = getattr(self.inner, "key_fields", None)
        return cache_key(self.stage, {**identity, **key_fields(source)} if key_fields else identity, source)

    def translate_batch(self, sources: Sequence[str]) -> list[Translation]:
        identity = self.identity()
        keys = [self.key(identity, s) for s in sources]
        found = self.memory.get_many(keys) if self.memory else {}
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        fresh: dict[str, Translation] = {}
        if missing:
            first_source = {k: s for k, s in zip(keys, sources, strict=True)}
            computed = self.inner.translate_batch([first_source[k] for k in missing])
            fresh = dict(zip(missing, computed, strict=True))
            if self.memory:
                self.memory.put_many(
                    (k, self.stage, self.fingerprint, first_source[k], t.target, t.meta()) for k, t in fresh.items()
                )
        results = []
        for key in keys:
            if key in found:
                entry = found[key]
                results.append(Translation.from_cache(entry.target, entry.meta))
                self.hits += 1
            else:
                results.append(replace(fresh[key], cached=False))
                self.misses += 1
        return results
