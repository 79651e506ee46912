"""The retry ladder: decode, check, and try again in ways that usually cure what the guards found.

Attempt 1 is always the normal decode. In ``retry`` mode a flagged segment gets at most three
more attempts, in this order, stopping at the first one without flags:

1. ``wider_beam``: a wider beam with ``no_repeat_ngram_size`` 3 and ``repetition_penalty`` 1.2
   (cures loops and many dropped words);
2. ``n_best``: n-best hypotheses, reranked by fewest flags, then best score;
3. ``clause_split``: the source cut at its clause boundaries, the pieces translated and joined.

When a glossary term is missing, attempts 2 and 3 ban the Dutch forms of the missing terms
(``banned_phrases``), and the n-best reranking keeps a hypothesis that contains the term.
The winner has the fewest flags, then the best score, then the earliest attempt. Every
attempt is recorded. In ``flag`` mode attempt 1 is checked but not retried; in ``off`` mode
it is not checked, so each target equals attempt 1 of a ``retry`` run.

The ladder is pure logic over ``CandidateEngine``: anything that turns sources and decoding
settings into scored hypotheses.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, Literal

from pipeline.engines.protocol import BANNED_PHRASES, Candidate, CandidateEngine
from pipeline.errors import GuardModeError
from pipeline.quality.glossary import ForcedSource, Glossary, TermRecord, check_terms, consistency_table, force_terms
from pipeline.quality.guards import DEFAULT_SETTINGS, Flag, GuardSettings, check_segment
from pipeline.signature import QualitySection
from pipeline.text.split import clause_pieces

GuardMode = Literal["retry", "flag", "off"]
GUARD_MODES: tuple[GuardMode, ...] = ("retry", "flag", "off")


def parse_guard_mode(text: str) -> GuardMode:
    """``text`` as a guard mode; anything else is a ``GuardModeError`` naming the choices (the one check)."""
    for mode in GUARD_MODES:
        if text == mode:
            return mode
    raise GuardModeError(f"unknown guard mode {text!r}; choose one of {', '.join(GUARD_MODES)}")


RUNGS = ("normal", "wider_beam", "n_best", "clause_split")


@dataclass(frozen=True)
class Attempt:
    """One decode of one segment: how, what came out, and what the guards said."""

    rung: str
    settings: dict[str, Any]
    target: str
    score: float | None
    flags: tuple[Flag, ...]
    terms: tuple[TermRecord, ...] = ()
    hypotheses: int = 1  # how many hypotheses this attempt chose from
    tokens: int = 0  # generated tokens of the chosen hypothesis

    def rank(self) -> tuple[int, float]:
        return (len(self.flags), -self.score if self.score is not None else math.inf)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rung": self.rung,
            "settings": self.settings,
            "target": self.target,
            "score": self.score,
            "flags": [f.to_dict() for f in self.flags],
            "hypotheses": self.hypotheses,
        }


@dataclass(frozen=True)
class GuardedSegment:
    """A segment's winning translation and every attempt that led to it."""

    source: str
    forced_source: str
    attempts: tuple[Attempt, ...]
    winner: int

    @property
    def best(self) -> Attempt:
        return self.attempts[self.winner]

    @property
    def target(self) -> str:
        return self.best.target

    @property
    def score(self) -> float | None:
        return self.best.score

    @property
    def flags(self) -> tuple[Flag, ...]:
        return self.best.flags

    @property
    def terms(self) -> tuple[TermRecord, ...]:
        return self.best.terms

    @property
    def flagged(self) -> bool:
        return bool(self.attempts[0].flags)

    @property
    def retried(self) -> bool:
        return len(self.attempts) > 1

    @property
    def fixed(self) -> bool:
        return self.flagged and not self.flags

    def to_dict(self) -> dict[str, Any]:
        """The per-segment record: target, score, flags, terms, and every attempt."""
        return {
            "target": self.target,
            "score": self.score,
            "flags": [f.to_dict() for f in self.flags],
            "terms": [t.to_dict() for t in self.terms],
            "attempts": [a.to_dict() for a in self.attempts],
            "winner": self.winner,
        }


Checker = Callable[[str, str, float | None, Sequence[TermRecord]], list[Flag]]


_NOT_POLICY = ("mode", "threshold", "checker")  # the first two have fields of their own in the signature


def _plain(value: Any) -> Any:
    return asdict(value) if is_dataclass(value) and not isinstance(value, type) else value


@dataclass(frozen=True)
class GuardPolicy:
    """How the ladder runs: mode, the model's ``low_confidence`` threshold, the rungs' settings."""

    mode: GuardMode = "retry"
    threshold: float | None = None
    guard_settings: GuardSettings = DEFAULT_SETTINGS
    min_beams: int = 8  # the wider beam and the n-best list use at least this many beams
    n_best: int = 8
    no_repeat_ngram_size: int = 3
    repetition_penalty: float = 1.2
    checker: Checker | None = field(default=None, compare=False)

    def signature(self, calibration: Mapping[str, Any] | None = None) -> QualitySection:
        """The run signature's quality section: every field of the policy and of its guards' settings.

        Built from the dataclass fields, so a field added here is keyed without further work;
        ``checker`` (a test hook that replaces the guards) is the one exception.
        """
        policy = {
            f.name: asdict(value)
            if is_dataclass(value := getattr(self, f.name)) and not isinstance(value, type)
            else value
            for f in fields(self)
            if f.name not in ("mode", "threshold", "checker")
        }
        return QualitySection(self.mode, self.threshold, policy, dict(calibration) if calibration else None)

    def check(self, source: str, target: str, score: float | None, terms: Sequence[TermRecord]) -> list[Flag]:
        if self.checker is not None:
            return self.checker(source, target, score, terms)
        return check_segment(
            source, target, score=score, terms=terms, threshold=self.threshold, settings=self.guard_settings
        )

    def rung_settings(self, rung: str, base: Mapping[str, Any], banned: Sequence[str] = ()) -> dict[str, Any]:
        """The decoding settings of one rung, on top of the model's ``base`` settings."""
        settings = dict(base)
        beams = max(self.min_beams, 2 * int(base.get("num_beams", 1) or 1))
        if rung == "wider_beam":
            settings.update(
                num_beams=beams,
                no_repeat_ngram_size=self.no_repeat_ngram_size,
                repetition_penalty=self.repetition_penalty,
            )
        elif rung == "n_best":
            n = min(self.n_best, beams)
            settings.update(num_beams=beams, num_return_sequences=n)
        if banned and rung != "normal":
            settings[BANNED_PHRASES] = sorted(set(banned))
        return settings


def _banned_for(terms: Sequence[TermRecord], glossary: Glossary | None) -> list[str]:
    """The Dutch forms of the terms the output misses: what the re-decode must not produce."""
    missing = {t.lemma or t.nl for t in terms if t.status == "missing"}
    banned = {t.nl for t in terms if t.status == "missing"}
    for entry in glossary or ():
        if entry.nl in missing:
            banned.update(nl for nl, _ in entry.all_forms())
    return sorted(banned)


def _mean_score(scores: Sequence[float | None], weights: Sequence[int]) -> float | None:
    """The pieces' scores averaged, weighted by output length; ``None`` when any piece has none."""
    known = [s for s in scores if s is not None]
    if not known or len(known) < len(scores):
        return None
    sizes = [max(1, w) for w in weights]
    return sum(s * w for s, w in zip(known, sizes, strict=True)) / sum(sizes)


@dataclass
class _Segment:
    source: str
    forced: ForcedSource
    attempts: list[Attempt] = field(default_factory=list)

    def done(self) -> bool:
        return not self.attempts[-1].flags


def _attempt(
    segment: _Segment, rung: str, settings: Mapping[str, Any], candidates: Sequence[Candidate], policy: GuardPolicy
) -> Attempt:
    """Check each candidate; keep the one with the fewest flags, then the best score (first on ties)."""
    best: Attempt | None = None
    for candidate in candidates:
        target, terms = check_terms(candidate.target, segment.forced.matches)
        flags = policy.check(segment.source, target, candidate.score, terms) if policy.mode != "off" else []
        attempt = Attempt(
            rung, dict(settings), target, candidate.score, tuple(flags), tuple(terms), len(candidates), candidate.tokens
        )
        if best is None or attempt.rank() < best.rank():
            best = attempt
    if best is None:
        raise ValueError("the engine returned no hypothesis")
    return best


def _decode_rung(
    engine: CandidateEngine,
    segments: Sequence[_Segment],
    rung: str,
    base: Mapping[str, Any],
    policy: GuardPolicy,
    glossary: Glossary | None,
) -> None:
    """Run one rung for ``segments``, batched by identical settings (the banned phrases differ)."""
    groups: dict[tuple[str, ...], list[_Segment]] = {}
    for segment in segments:
        terms = segment.attempts[-1].terms if segment.attempts else ()
        groups.setdefault(tuple(_banned_for(terms, glossary)), []).append(segment)
    for banned, group in groups.items():
        settings = policy.rung_settings(rung, base, banned)
        if rung == "clause_split":
            pieces = [clause_pieces(s.forced.text) for s in group]
            flat = [p for ps in pieces for p in ps]
            outputs = iter(engine.decode(flat, settings)) if flat else iter(())
            for segment, parts in zip(group, pieces, strict=True):
                tops = [next(outputs)[0] for _ in parts]
                joined = Candidate(
                    " ".join(c.target.strip() for c in tops if c.target.strip()),
                    _mean_score([c.score for c in tops], [len(c.target) for c in tops]),
                    sum(c.tokens for c in tops),
                )
                segment.attempts.append(_attempt(segment, rung, {**settings, "pieces": len(parts)}, [joined], policy))
        else:
            outputs_by_segment = engine.decode([s.forced.text for s in group], settings)
            limit = int(settings.get("num_return_sequences", 1) or 1)
            for segment, candidates in zip(group, outputs_by_segment, strict=True):
                segment.attempts.append(_attempt(segment, rung, settings, candidates[:limit], policy))


def translate_guarded(
    engine: CandidateEngine,
    sources: Sequence[str],
    settings: Mapping[str, Any],
    *,
    glossary: Glossary | None = None,
    policy: GuardPolicy | None = None,
) -> list[GuardedSegment]:
    """Translate ``sources`` with forced terminology, guards and the retry ladder (see the module doc)."""
    policy = policy or GuardPolicy()
    parse_guard_mode(policy.mode)
    empty = Glossary()
    segments = [_Segment(s, force_terms(s, glossary or empty)) for s in sources]
    base = dict(settings)
    base.pop("num_return_sequences", None)
    if segments:
        _decode_rung(engine, segments, "normal", base, policy, glossary)
    if policy.mode == "retry":
        for rung in RUNGS[1:]:
            pending = [s for s in segments if not s.done()]
            if rung == "clause_split":
                pending = [s for s in pending if len(clause_pieces(s.forced.text)) > 1]
            if pending:
                _decode_rung(engine, pending, rung, base, policy, glossary)
    results = []
    for segment in segments:
        winner = min(range(len(segment.attempts)), key=lambda i: (*segment.attempts[i].rank(), i))
        results.append(GuardedSegment(segment.source, segment.forced.text, tuple(segment.attempts), winner))
    return results


def guard_counts(segments: Sequence[GuardedSegment]) -> dict[str, Any]:
    """Per document: segments flagged, retried and fixed, the extra decodes, and each flag's count."""
    flagged = [s for s in segments if s.flagged]
    extra = sum(len(s.attempts) - 1 for s in segments)
    return {
        "segments": len(segments),
        "flagged": len(flagged),
        "retried": sum(s.retried for s in segments),
        "fixed": sum(s.fixed for s in segments),
        "extra_decodes": extra,
        "extra_decodes_per_flagged": extra / len(flagged) if flagged else 0.0,
        "flags_first_attempt": dict(Counter(f.name for s in segments for f in s.attempts[0].flags)),
        "flags_final": dict(Counter(f.name for s in segments for f in s.flags)),
    }


def _records(terms: Iterable[Mapping[str, Any]]) -> list[TermRecord]:
    known = set(TermRecord.__dataclass_fields__)
    return [TermRecord(**{k: v for k, v in t.items() if k in known}) for t in terms]


def document_quality(translations: Iterable[Any]) -> dict[str, Any]:
    """The manifest's quality counts from a document's translations (``pipeline.translation.translator.Translation``).

    A segment is ``flagged`` when a first attempt had a flag, ``retried`` when it went up the
    ladder, ``fixed`` when it was flagged and its final output has none; ``extra_decodes`` counts
    the ladder's decodes. Also each flag's count and the glossary consistency table.
    """
    segments = list(translations)
    flagged = retried = fixed = extra = 0
    final: Counter[str] = Counter()
    terms: list[TermRecord] = []
    for translation in segments:
        attempts = list(translation.attempts)
        first_flags = [a for a in attempts if a.get("rung") == "normal" and a.get("flags")]
        ladder = sum(1 for a in attempts if a.get("rung") != "normal")
        guard_flags = [f for f in translation.flags if f != "split"]
        flagged += bool(first_flags)
        retried += bool(ladder)
        fixed += bool(first_flags) and not guard_flags
        extra += ladder
        final.update(guard_flags)
        terms.extend(_records(translation.terms))
    return {
        "flagged": flagged,
        "retried": retried,
        "fixed": fixed,
        "extra_decodes": extra,
        "extra_decodes_per_flagged": round(extra / flagged, 3) if flagged else 0.0,
        "flags": dict(sorted(final.items())),
        "glossary_consistency": consistency_table(terms),
    }
