"""Translators behind one declared interface, and the segment they produce.

``Seq2SeqTranslator`` runs a seq2seq translation model (MarianMT, NLLB) on an engine
(transformers or CTranslate2) with the decoding settings of ``pipeline.models.decoding``.
torch and transformers are imported only when the first miss needs the model, so fully
cached documents never pay for them. ``pipeline.runs.cache.CachedTranslator`` adds the
translation memory around any ``Translator``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pipeline.engines.protocol import Candidate, DecodeRequest, Links
from pipeline.engines.seq2seq import Seq2SeqEngine
from pipeline.quality.glossary import Glossary, TermRecord, force_terms
from pipeline.quality.ladder import CandidateEngine, GuardedSegment, GuardPolicy, parse_guard_mode, translate_guarded
from pipeline.quality.rungs import pooled_score
from pipeline.signature import ExecutorSection
from pipeline.text.split import split_to_fit


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
    # (source word, target word) links that came with the decode (``Candidate.links``): set only when
    # ``target`` is the winning hypothesis as decoded (one piece, nothing changed after decoding)
    links: Links | None = None

    def meta(self) -> dict[str, Any]:
        """What the cache stores beside the target, so a cached run writes the same records.

        The attempts are stored whole (the manifest's quality counts read them); the record
        leaves out what it repeats (:func:`record_attempts`), from the same history either way.
        Word links are stored when there are any (for placing inline markup from the memory);
        the record has none.
        """
        meta = {"pieces": self.pieces, "tokens": self.tokens, **self.record_fields(), "attempts": list(self.attempts)}
        if self.links is not None:
            meta["links"] = [list(pair) for pair in self.links]
        return meta

    def record_fields(self) -> dict[str, Any]:
        """The quality fields of a segment's ``aligned.jsonl`` record."""
        return {
            "flags": list(self.flags),
            "flag_evidence": self.flag_evidence,
            "score": self.score,
            "terms": list(self.terms),
            "attempts": record_attempts(self.attempts),
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
            _links(meta.get("links")),
        )


def _links(stored: Any) -> Links | None:
    """Links as the cache stores them (pairs as lists; absent in entries written before links were)."""
    return None if stored is None else tuple((int(s), int(t)) for s, t in stored)


def record_attempts(attempts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The retry history as ``aligned.jsonl`` writes it: every attempt, less what the record already says.

    Written whole, the history was three quarters of the file (a segment decoded once repeated its
    target, score, flags and the run's decoding settings in its one attempt). Nothing is lost:

    - an attempt's ``settings`` are what its rung changed from attempt 1 of its piece (a key it drops
      is ``None``); attempt 1's are the run's decoding settings (the manifest's ``translator.decoding``),
      so it has none;
    - the one attempt of a segment decoded once (one piece, never retried) is its ``rung`` and
      ``winner`` (and ``budget_refused`` when the budget refused a retry): its target, score and
      flags are the record's.

    ``attempts`` are :meth:`pipeline.quality.ladder.Attempt.to_dict` records with ``winner`` (and
    ``piece`` for a sentence translated in pieces), as :func:`combine_pieces` makes them.
    """
    if len(attempts) == 1:
        (only,) = attempts
        return [{k: only[k] for k in ("rung", "winner", "budget_refused") if k in only}]
    first: dict[Any, Mapping[str, Any]] = {}
    out = []
    for attempt in attempts:
        record = {k: v for k, v in attempt.items() if k != "settings"}
        settings = attempt.get("settings") or {}
        base = first.setdefault(attempt.get("piece"), settings)
        changed = {k: v for k, v in settings.items() if base.get(k) != v}
        changed.update({k: None for k in base if k not in settings})
        if changed:
            record["settings"] = changed
        out.append(record)
    return out


JOURNAL_ROWS = 64
"""Sources decoded between two writes to the decode journal: a few engine batches (16 sentences each),
a few seconds of work on a CPU, what an interrupted run can lose."""


class DecodeJournal(Protocol):
    """Where a translator writes each decode as it completes, and finds those of a run that was stopped.

    A document's retry budget is a share of its whole first pass, so its translations are final
    (and stored in the memory) only when all of it has been through the ladder: a window of
    2,048 segments takes minutes on a CPU. The decodes themselves are final at once: each is
    a function of its text and request. Written as they complete, they let a rerun replay
    the ladder up to where it stopped, deciding exactly as the run without a stop would.
    """

    def recall(self, sources: Sequence[str], request: DecodeRequest) -> dict[int, list[Candidate]]:
        """The hypotheses already written for ``sources`` under ``request``, by index."""
        ...

    def record(self, done: Sequence[tuple[str, list[Candidate]]], request: DecodeRequest) -> None:
        """Write (source, hypotheses) pairs decoded under ``request``, at once."""
        ...


@dataclass
class JournaledEngine:
    """An engine whose decodes go through a journal: written every ``rows`` sources, replayed when there.

    The sources still to decode are taken shortest first, as the engines batch them, so cutting
    them into slices costs no padding; an engine's outputs do not depend on the batch a source
    is in (``tests/runs/test_reliability.py``), so neither slicing nor replay changes a result.
    """

    engine: CandidateEngine
    journal: DecodeJournal
    rows: int = JOURNAL_ROWS

    def decode(self, sources: Sequence[str], request: DecodeRequest) -> list[list[Candidate]]:
        results: dict[int, list[Candidate]] = self.journal.recall(sources, request) if sources else {}
        todo = sorted((i for i in range(len(sources)) if i not in results), key=lambda i: len(sources[i]))
        for start in range(0, len(todo), max(1, self.rows)):
            part = todo[start : start + max(1, self.rows)]
            outputs = self.engine.decode([sources[i] for i in part], request)
            self.journal.record([(sources[i], c) for i, c in zip(part, outputs, strict=True)], request)
            results.update(zip(part, outputs, strict=True))
        return [results[i] for i in range(len(sources))]


class Translator(Protocol):
    """What every translator offers, local or on an executor; the cache, the runs and the CLI use no more.

    Explicit subclasses get the defaults below (a local translator needs nothing to close).
    What determines a translator's outputs is not asked of it: the session builds the run
    signature (``pipeline.signature``) from the components it opened.
    """

    # How many sentences before a segment the translator reads (an instruct model's ``--context``);
    # 0: each segment alone, and callers need not compute contexts.
    context_size: int = 0

    def translate_batch(
        self,
        sources: Sequence[str],
        groups: Sequence[Hashable] | None = None,
        contexts: Sequence[Sequence[str]] | None = None,
    ) -> list[Translation]:
        """One translation per source, in order.

        ``groups`` names each source's document: the retry budget is spent per document
        (``pipeline.quality.ladder``); without it the whole call is one document.
        ``contexts[i]``: the sentences before source ``i`` in its document (a translator with
        ``context_size`` 0 ignores them).
        """
        ...

    def segment_key(self, source: str, context: Sequence[str] = ()) -> dict[str, Any]:
        """What the cache key adds for ``source`` (read with ``context``) beyond the run signature.

        The glossary entries it uses; a translator that reads context adds the context it used.
        """
        return {}

    def keep_decodes(self, journal: DecodeJournal | None) -> None:
        """Write decodes to ``journal`` as they complete (None: stop), so a stopped run resumes from them.

        The local translator's equivalent of an executor's ``sink``; the cache wrapper sets it
        around each call. A translator that decodes elsewhere ignores it (the default).
        """
        return None

    def executor(self) -> ExecutorSection:
        """Where misses are computed, for the manifest."""
        return ExecutorSection()

    def align(self, sources: Sequence[str], targets: Sequence[str]) -> list[Links | None]:
        """Word links (source word, target word) of each pair, for placing inline markup; ``None``: none known.

        A translator whose model gives no alignments (the default) says ``None`` for every pair;
        inline elements are then placed without them (``pipeline.formats.inline``).
        """
        return [None] * len(sources)

    def close(self) -> None:
        """Stop what the translator started (a local Ray); nothing for a local model."""
        return None


def context_size(translator: object) -> int:
    """How many sentences before each segment ``translator`` reads (0 for one that declares none)."""
    return int(getattr(translator, "context_size", 0) or 0)


def glossary_key(glossary: Glossary | None, source: str) -> dict[str, Any]:
    """The digest of the glossary entries ``source`` uses (none: nothing), for its cache key."""
    used = glossary.segment_key(source) if glossary else ""
    return {"glossary": used} if used else {}


class TranslationEngine(Seq2SeqEngine, CandidateEngine, Protocol):
    """An engine that also gives scored hypotheses (both engines do)."""


@runtime_checkable
class WordAligner(Protocol):
    """An engine that gives word alignments from its model's attention (both engines do)."""

    def align(self, sources: Sequence[str], targets: Sequence[str]) -> list[Links | None]: ...


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
    tokens = [g.best.tokens for g in guarded]
    score = pooled_score([g.score for g in guarded], tokens)
    # the decode's links hold for the segment only when it is the one piece, its target unchanged
    links = guarded[0].links if len(guarded) == 1 and target == guarded[0].target else None
    return Translation(
        target, tuple(flags), len(parts), sum(tokens), False, score, tuple(terms), tuple(attempts), evidence, links
    )


@dataclass
class Seq2SeqTranslator(Translator):
    """A seq2seq translation model (MarianMT, NLLB) on an engine: transformers or CTranslate2.

    Glossary terms are forced into the source, each output is checked by the guards and a
    flagged one goes up the retry ladder (``pipeline.quality.ladder``; ``policy.mode``). Sentences
    longer than the model's source limit (counted after forcing) are split at clause
    boundaries (then by words) and the translated pieces joined, so nothing is truncated.
    With a ``journal`` (``keep_decodes``), decodes go through :class:`JournaledEngine`:
    written ``journal_rows`` at a time as they complete, replayed when already there.
    """

    engine: TranslationEngine
    settings: dict[str, Any]
    glossary: Glossary | None = None
    policy: GuardPolicy = field(default_factory=GuardPolicy)
    journal: DecodeJournal | None = field(default=None, repr=False, compare=False)
    journal_rows: int = JOURNAL_ROWS

    def segment_key(self, source: str, context: Sequence[str] = ()) -> dict[str, Any]:
        return glossary_key(self.glossary, source)

    def keep_decodes(self, journal: DecodeJournal | None) -> None:
        self.journal = journal

    def align(self, sources: Sequence[str], targets: Sequence[str]) -> list[Links | None]:
        """The engine's word links for each (source, its translation); ``None`` each when it gives none."""
        if isinstance(self.engine, WordAligner):
            return self.engine.align(sources, targets)
        return [None] * len(sources)

    def split(self, source: str) -> list[str]:
        limit = self.engine.max_input_tokens
        glossary = self.glossary or Glossary()
        return split_to_fit(source, lambda t: self.engine.count_tokens([force_terms(t, glossary).text])[0] <= limit)

    def translate_batch(
        self,
        sources: Sequence[str],
        groups: Sequence[Hashable] | None = None,
        contexts: Sequence[Sequence[str]] | None = None,
    ) -> list[Translation]:
        parts = [self.split(source) or [source] for source in sources]
        flat = [p for ps in parts for p in ps]
        # a long sentence's pieces belong to its document
        flat_groups = None if groups is None else [g for g, ps in zip(groups, parts, strict=True) for _ in ps]
        engine: CandidateEngine = self.engine
        if self.journal is not None:
            engine = JournaledEngine(self.engine, self.journal, self.journal_rows)
        guarded = iter(
            translate_guarded(
                engine, flat, self.settings, glossary=self.glossary, policy=self.policy, groups=flat_groups
            )
        )
        return [
            combine_pieces(source, pieces, [next(guarded) for _ in pieces])
            for source, pieces in zip(sources, parts, strict=True)
        ]


def guard_policy(mode: str, fingerprint: str, engine: Seq2SeqEngine) -> tuple[GuardPolicy, dict[str, Any] | None]:
    """The policy for ``mode``, with the model's stored ``low_confidence`` threshold when it was calibrated."""
    from pipeline.quality.calibration import CalibrationStore, calibration_key, default_calibration_path

    found = CalibrationStore(default_calibration_path()).get(calibration_key(fingerprint, engine.signature()))
    policy = GuardPolicy(mode=parse_guard_mode(mode), threshold=found.threshold if found else None)
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

    from pipeline.quality.calibration import CalibrationStore, calibrate, calibration_key, default_calibration_path

    # ``flag`` mode scores each output (``off`` does not) and never retries; the empty checker skips the guards
    plain = replace_fields(translator, glossary=None, policy=GuardPolicy(mode="flag", checker=lambda *_: []))
    key = calibration_key(fingerprint, translator.engine.signature())
    store = store or CalibrationStore(default_calibration_path())
    store.load()  # a store that cannot be read fails now, not after the whole corpus is decoded
    calibration = calibrate(
        lambda sentences: [t.score for t in plain.translate_batch(sentences)], key, corpus, q=q, limit=limit
    )
    store.put(calibration)
    return calibration
