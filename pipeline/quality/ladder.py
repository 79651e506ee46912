"""The retry ladder: decode, check, and try again in ways that usually cure what the guards found.

Attempt 1 is always the ``normal`` rung. In ``retry`` mode a flagged segment climbs the policy's
rungs (``GuardPolicy.rungs``), stopping at the first attempt without flags:

1. ``wider_beam``: a wider beam with ``no_repeat_ngram_size`` 3 and ``repetition_penalty`` 1.2
   (cures loops and many dropped words);
2. ``n_best``: n-best hypotheses, reranked by fewest flags, then best score;
3. ``clause_split``: the source cut at its clause boundaries, the pieces translated and joined.

Each rung is an object registered by name (``pipeline.quality.rungs``): it knows its decode
request, when it applies, what it costs and how it decodes.

When a glossary term is missing, retries ban the Dutch forms of the missing terms
(``DecodeRequest.banned_phrases``), and the n-best reranking keeps a hypothesis that has the term.

**The ladder never makes a segment worse.** An unflagged attempt 1 is never retried. A flagged one
is replaced only by a retry that clears a flag without adding a hard failure, and whose score
(mean token log-probability) is at most ``GuardPolicy.replace_margin`` below attempt 1's; a retry
that cures a hard failure (empty output, untranslated output, a loop where the source repeats nothing)
is exempt from the margin. Among the retries that qualify the winner has the fewest hard
failures, then flags, then the best score, then the earliest attempt. Every attempt after the
first records its ``verdict``: why it replaced attempt 1, or why not.

**A retry budget per document** (``GuardPolicy.retry_budget``, default 0.3): the retries of a
group of segments (one document; without groups, the whole call) may cost at most that share of
the group's first-pass tokens. A rung's cost is estimated before decoding, so it never depends
on timing: the segment's first-pass tokens (at least its source words) × the rung's beams over
the first pass's. Segments are served worst flag first (:data:`SEVERITY`); one the budget cannot
pay for leaves the ladder, and its last attempt records the refused rung (``budget_refused``).

In ``flag`` mode attempt 1 is checked but not retried; in ``off`` mode it is neither checked
nor scored, so each target equals attempt 1 of a ``retry`` run.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from typing import Any, Literal

from pipeline.engines.protocol import Candidate, CandidateEngine, DecodeRequest, Links
from pipeline.errors import GuardModeError, RungError
from pipeline.quality.glossary import ForcedSource, Glossary, TermRecord, check_terms, consistency_table, force_terms
from pipeline.quality.guards import DEFAULT_SETTINGS, Flag, GuardSettings, check_segment
from pipeline.quality.rungs import FIRST_RUNG, Rung, get_rung, is_first_attempt, retry_rungs
from pipeline.signature import QualitySection

GuardMode = Literal["retry", "flag", "off"]
GUARD_MODES: tuple[GuardMode, ...] = ("retry", "flag", "off")


def parse_guard_mode(text: str) -> GuardMode:
    """``text`` as a guard mode; anything else is a ``GuardModeError`` naming the choices (the one check)."""
    for mode in GUARD_MODES:
        if text == mode:
            return mode
    raise GuardModeError(f"unknown guard mode {text!r}; choose one of {', '.join(GUARD_MODES)}")


# --- flags: how bad, and which are hard failures -------------------------------------------

# Worst first: what the retry budget serves first. Nothing usable came out (0: an instruct model's
# chatter is an answer, not a translation), the output is the wrong size or says more than the
# source (1), a fact or term is wrong (2), the model is unsure (3); a flag of a custom checker: 4.
SEVERITY: dict[str, int] = {
    "empty_output": 0,
    "untranslated": 0,
    "repetition": 0,
    "chatter": 0,
    "length_ratio": 1,
    "added_content": 1,
    "number_mismatch": 2,
    "glossary_missing": 2,
    "low_confidence": 3,
}
_UNRANKED = max(SEVERITY.values()) + 1


def severity(flags: Iterable[Flag]) -> int:
    """The severity of the worst of ``flags`` (lower is worse); no flag ranks after every flag."""
    return min((SEVERITY.get(f.name, _UNRANKED) for f in flags), default=_UNRANKED + 1)


def hard_failures(flags: Iterable[Flag]) -> tuple[str, ...]:
    """The flags that mean no translation at all: empty, untranslated, chatter, or a loop of the model's own.

    A repetition is a loop when the source repeats nothing (the guard's ``source_times`` is at most
    1; a guard that does not say counts as a loop). One that overshoots a repetition the source has
    (``no, no, no, no`` for ``Nee, nee, nee.``) is an ordinary flag, held to the score margin.
    """
    return tuple(
        f.name
        for f in flags
        if f.name in ("empty_output", "untranslated", "chatter")
        or (f.name == "repetition" and int(f.evidence.get("source_times", 0)) <= 1)
    )


# --- attempts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One decode of one segment: how, what came out, what the guards said, and how it fared."""

    rung: str
    request: DecodeRequest
    target: str
    score: float | None
    flags: tuple[Flag, ...]
    terms: tuple[TermRecord, ...] = ()
    hypotheses: int = 1  # how many hypotheses this attempt chose from
    tokens: int = 0  # generated tokens of the chosen hypothesis
    pieces: int = 1  # the pieces a clause split translated
    hard: tuple[str, ...] = ()  # the flags that are hard failures (``hard_failures``)
    verdict: str = ""  # a retry: why it replaced attempt 1, or why not
    budget_refused: str = ""  # the rung the retry budget could not pay for after this attempt
    # the chosen hypothesis's word links (``Candidate.links``) between the decoded source and ``target``;
    # ``None`` when the engine gave none or the glossary check changed the target (never in the record)
    links: Links | None = None

    @property
    def settings(self) -> dict[str, Any]:
        """The decode request as the record shows it."""
        return self.request.describe()

    def standing(self) -> tuple[int, int]:
        return (len(self.hard), len(self.flags))

    def rank(self) -> tuple[int, int, float]:
        return (*self.standing(), -self.score if self.score is not None else math.inf)

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "rung": self.rung,
            "settings": self.settings,
            "target": self.target,
            "score": self.score,
            "flags": [f.to_dict() for f in self.flags],
            "hypotheses": self.hypotheses,
        }
        if self.pieces > 1:
            record["pieces"] = self.pieces
        if self.verdict:
            record["verdict"] = self.verdict
        if self.budget_refused:
            record["budget_refused"] = self.budget_refused
        return record


def judge(first: Attempt, retry: Attempt, margin: float) -> tuple[bool, str]:
    """Whether ``retry`` may replace ``first`` (see the module doc), and why in words."""
    if len(retry.hard) > len(first.hard):
        return False, f"adds a hard failure ({', '.join(retry.hard)})"
    if retry.standing() >= first.standing():
        return False, "clears no flag"
    kept = {f.name for f in retry.flags}
    cleared = ", ".join(f.name for f in first.flags if f.name not in kept)
    if len(retry.hard) < len(first.hard):
        return True, f"clears {cleared}, a hard failure: the score margin does not apply"
    if retry.score is None or first.score is None:
        return True, f"clears {cleared} (no scores to compare)"
    drop = round(first.score - retry.score, 4)
    if drop > margin:
        return False, f"clears {cleared}, but its score {retry.score} is {drop} below {first.score} (margin {margin})"
    return True, f"clears {cleared}; score {retry.score} against {first.score} (margin {margin})"


def choose(attempts: Sequence[Attempt], margin: float) -> tuple[int, list[str]]:
    """The winning attempt's index, and each attempt's verdict (attempt 1 has none)."""
    first = attempts[0]
    judged = [judge(first, a, margin) for a in attempts[1:]]
    eligible = [i for i, (ok, _) in enumerate(judged, 1) if ok]
    winner = min([0, *eligible], key=lambda i: (*attempts[i].rank(), i))
    verdicts = [""]
    for i, (ok, why) in enumerate(judged, 1):
        if i == winner:
            verdicts.append(f"replaces attempt 1: {why}")
        elif ok:
            verdicts.append(f"could replace attempt 1 ({why}), but attempt {winner + 1} ranks higher")
        else:
            verdicts.append(f"attempt 1 kept: {why}")
    return winner, verdicts


def source_links(links: Links, read: str, source: str) -> Links:
    """Links over the words the engine read (``read``: terms forced to English) as links over ``source``'s words.

    The two word sequences are matched (difflib): a word outside the forced terms maps to its own
    word, a forced term's words to every word of the Dutch term it replaced.
    """
    from difflib import SequenceMatcher

    read_words, source_words = read.split(), source.split()
    to_source: dict[int, range] = {}
    for tag, i1, i2, j1, j2 in SequenceMatcher(a=read_words, b=source_words, autojunk=False).get_opcodes():
        if tag == "equal":
            to_source.update((i1 + k, range(j1 + k, j1 + k + 1)) for k in range(i2 - i1))
        elif tag == "replace":
            to_source.update((k, range(j1, j2)) for k in range(i1, i2))
    return tuple(sorted({(s, t) for r, t in links for s in to_source.get(r, ())}))


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
    def links(self) -> Links | None:
        """The winner's word links between ``source`` and ``target``: ``None`` when the engine gave none
        or the glossary check changed the decoded target. Where forced terms changed the source the
        engine read, its words are mapped back to the source's (:func:`source_links`)."""
        links = self.best.links
        if links is None or self.forced_source == self.source:
            return links
        return source_links(links, self.forced_source, self.source)

    @property
    def flagged(self) -> bool:
        return bool(self.attempts[0].flags)

    @property
    def retried(self) -> bool:
        return len(self.attempts) > 1

    @property
    def fixed(self) -> bool:
        return self.flagged and not self.flags

    @property
    def budget_refused(self) -> str:
        """The rung the retry budget refused this segment ('' when it never ran out)."""
        return self.attempts[-1].budget_refused

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


# --- the policy ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GuardPolicy:
    """How the ladder runs: mode, the model's ``low_confidence`` threshold, the rungs and their settings."""

    mode: GuardMode = "retry"
    threshold: float | None = None
    guard_settings: GuardSettings = DEFAULT_SETTINGS
    rungs: tuple[str, ...] = ("wider_beam", "n_best", "clause_split")  # the retries, in order
    min_beams: int = 8  # the wider beam and the n-best list use at least this many beams
    n_best: int = 8
    no_repeat_ngram_size: int = 3
    repetition_penalty: float = 1.2
    # How much lower (nats per token) a retry's mean log-probability may be and still replace attempt 1:
    # a judgement, not a measurement. 0.5 lets a retry pay for its changed settings (no-repeat, penalty,
    # bans), which cost some probability on a fix; a bigger drop means the model likes the retry much
    # less, and it has more likely traded the flagged mistake for an unflagged one.
    replace_margin: float = 0.5
    retry_budget: float = 0.3  # retries' estimated tokens per first-pass token, per document
    checker: Checker | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in self.rungs:
            if not get_rung(name).retry:
                raise RungError(f"{name!r} is attempt 1, not a retry; retry rungs: {', '.join(retry_rungs())}")

    def signature(self, calibration: Mapping[str, Any] | None = None) -> QualitySection:
        """The run signature's quality section: every field of the policy and of its guards' settings.

        Built from the dataclass fields, so a field added here is keyed without further work;
        ``checker`` (a hook that replaces the guards) is the one exception.
        """
        policy = {
            f.name: asdict(value)
            if is_dataclass(value := getattr(self, f.name)) and not isinstance(value, type)
            else value
            for f in fields(self)
            if f.name not in ("mode", "threshold", "checker")
        }
        return QualitySection(self.mode, self.threshold, policy, dict(calibration) if calibration else None)

    @property
    def checks(self) -> bool:
        """Whether the guards look at the output (and so need its score)."""
        return self.mode != "off"

    def check(self, source: str, target: str, score: float | None, terms: Sequence[TermRecord]) -> list[Flag]:
        if self.checker is not None:
            return self.checker(source, target, score, terms)
        return check_segment(
            source, target, score=score, terms=terms, threshold=self.threshold, settings=self.guard_settings
        )

    def base_request(self, settings: Mapping[str, Any]) -> DecodeRequest:
        """Attempt 1's request: the model's settings (the ladder decides how many hypotheses), scored when checked."""
        return DecodeRequest({k: v for k, v in settings.items() if k != "num_return_sequences"}, scores=self.checks)

    def retry_beams(self, base: DecodeRequest) -> int:
        return max(self.min_beams, 2 * base.beams)


# --- the ladder ----------------------------------------------------------------------------


def _banned_for(terms: Sequence[TermRecord], glossary: Glossary | None) -> list[str]:
    """The Dutch forms of the terms the output misses: what the re-decode must not produce (never an English form)."""
    from pipeline.quality.glossary import banned_forms

    return banned_forms(terms, glossary)


@dataclass
class _Segment:
    index: int
    source: str
    forced: ForcedSource
    group: Hashable
    attempts: list[Attempt] = field(default_factory=list)
    refused: str = ""  # the rung the budget could not pay for

    @property
    def first_tokens(self) -> int:
        """Attempt 1's size in tokens (its words when the engine counts none): what the budget is a share of."""
        first = self.attempts[0]
        return first.tokens or len(first.target.split())

    @property
    def retry_basis(self) -> int:
        """Tokens a retry should decode: attempt 1's, at least the source's words (an empty output is no saving)."""
        return max(self.first_tokens, len(self.forced.text.split()))

    def climbing(self) -> bool:
        return not self.refused and all(a.flags for a in self.attempts)

    def result(self, margin: float) -> GuardedSegment:
        winner, verdicts = choose(self.attempts, margin)
        attempts = [replace(a, verdict=v) for a, v in zip(self.attempts, verdicts, strict=True)]
        if self.refused:
            attempts[-1] = replace(attempts[-1], budget_refused=self.refused)
        return GuardedSegment(self.source, self.forced.text, tuple(attempts), winner)


def _attempt(
    segment: _Segment,
    rung: str,
    request: DecodeRequest,
    candidates: Sequence[Candidate],
    pieces: int,
    policy: GuardPolicy,
) -> Attempt:
    """Check each candidate; keep the one with the fewest hard failures, then flags, then the best score."""
    best: Attempt | None = None
    for candidate in candidates:
        target, terms = check_terms(candidate.target, segment.forced.matches)
        flags = tuple(policy.check(segment.source, target, candidate.score, terms) if policy.checks else ())
        links = candidate.links if target == candidate.target else None
        attempt = Attempt(
            rung, request, target, candidate.score, flags, tuple(terms), len(candidates), candidate.tokens, pieces,
            hard_failures(flags), links=links,
        )  # fmt: skip
        if best is None or attempt.rank() < best.rank():
            best = attempt
    if best is None:
        raise ValueError("the engine returned no hypothesis")
    return best


def _decode_rung(
    engine: CandidateEngine,
    segments: Sequence[_Segment],
    rung: Rung,
    base: DecodeRequest,
    policy: GuardPolicy,
    glossary: Glossary | None,
) -> None:
    """Run one rung for ``segments``, batched by identical requests (the banned phrases differ)."""
    groups: dict[tuple[str, ...], list[_Segment]] = {}
    for segment in segments:
        terms = segment.attempts[-1].terms if segment.attempts else ()
        groups.setdefault(tuple(_banned_for(terms, glossary)), []).append(segment)
    for banned, group in groups.items():
        request = rung.request(base, policy, banned)
        outputs = rung.decode(engine, [s.forced.text for s in group], request)
        for segment, (candidates, pieces) in zip(group, outputs, strict=True):
            segment.attempts.append(_attempt(segment, rung.name, request, candidates, pieces, policy))


def _climb(
    engine: CandidateEngine,
    segments: Sequence[_Segment],
    base: DecodeRequest,
    policy: GuardPolicy,
    glossary: Glossary | None,
) -> None:
    """The retries, rung by rung, each paid from its group's budget, worst flag first."""
    budget: dict[Hashable, float] = {}
    for segment in segments:
        budget[segment.group] = budget.get(segment.group, 0.0) + policy.retry_budget * segment.first_tokens
    for name in policy.rungs:
        rung = get_rung(name)
        pending = [s for s in segments if s.climbing() and rung.applies(s.forced.text)]
        pending.sort(key=lambda s: (severity(s.attempts[-1].flags), s.index))
        factor = rung.cost(base, policy)
        paid = []
        for segment in pending:
            cost = segment.retry_basis * factor
            if cost <= budget[segment.group]:
                budget[segment.group] -= cost
                paid.append(segment)
            else:
                segment.refused = name
        if paid:
            _decode_rung(engine, sorted(paid, key=lambda s: s.index), rung, base, policy, glossary)


def translate_guarded(
    engine: CandidateEngine,
    sources: Sequence[str],
    settings: Mapping[str, Any],
    *,
    glossary: Glossary | None = None,
    policy: GuardPolicy | None = None,
    groups: Sequence[Hashable] | None = None,
) -> list[GuardedSegment]:
    """Translate ``sources`` with forced terminology, guards and the retry ladder (see the module doc).

    ``groups`` gives each source's document (any hashable): the retry budget is per group. Without
    it the whole call is one group.
    """
    policy = policy or GuardPolicy()
    parse_guard_mode(policy.mode)
    if groups is not None and len(groups) != len(sources):
        raise ValueError(f"{len(groups)} groups for {len(sources)} sources")
    empty = Glossary()
    keys: Sequence[Hashable] = groups if groups is not None else [None] * len(sources)
    segments = [
        _Segment(i, s, force_terms(s, glossary or empty), g) for i, (s, g) in enumerate(zip(sources, keys, strict=True))
    ]
    base = policy.base_request(settings)
    if segments:
        _decode_rung(engine, segments, get_rung(FIRST_RUNG), base, policy, glossary)
    if policy.mode == "retry":
        _climb(engine, segments, base, policy, glossary)
    return [segment.result(policy.replace_margin) for segment in segments]


# --- the manifest's counts -----------------------------------------------------------------


def _records(terms: Iterable[Mapping[str, Any]]) -> list[TermRecord]:
    known = set(TermRecord.__dataclass_fields__)
    return [TermRecord(**{k: v for k, v in t.items() if k in known}) for t in terms]


def document_quality(translations: Iterable[Any]) -> dict[str, Any]:
    """The manifest's quality counts from a document's translations (``pipeline.translation.translator.Translation``).

    A segment is ``flagged`` when a first attempt had a flag, ``retried`` when it went up the
    ladder, ``fixed`` when it was flagged and its final output has none; ``extra_decodes`` counts
    the ladder's decodes; ``unretried`` counts the segments the retry budget left flagged, with
    their flags. Also each flag's count and the glossary consistency table.
    """
    flagged = retried = fixed = extra = 0
    final: Counter[str] = Counter()
    unretried: Counter[str] = Counter()
    refused = 0
    terms: list[TermRecord] = []
    for translation in translations:
        attempts = list(translation.attempts)
        first_flags = [a for a in attempts if is_first_attempt(a) and a.get("flags")]
        ladder = sum(1 for a in attempts if not is_first_attempt(a))
        guard_flags = [f for f in translation.flags if f != "split"]
        flagged += bool(first_flags)
        retried += bool(ladder)
        fixed += bool(first_flags) and not guard_flags
        extra += ladder
        final.update(guard_flags)
        if guard_flags and any(a.get("budget_refused") for a in attempts):
            refused += 1
            unretried.update(guard_flags)
        terms.extend(_records(translation.terms))
    return {
        "flagged": flagged,
        "retried": retried,
        "fixed": fixed,
        "extra_decodes": extra,
        "extra_decodes_per_flagged": round(extra / flagged, 3) if flagged else 0.0,
        "unretried": {"segments": refused, "flags": dict(sorted(unretried.items()))},
        "flags": dict(sorted(final.items())),
        "glossary_consistency": consistency_table(terms),
    }
