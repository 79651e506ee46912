"""The retry ladder's rungs: each a small object, registered by name, that knows how it decodes.

As CTranslate2 registers its converters' loaders (``@register_loader``), a rung class is
registered with :func:`register_rung` under its ``name``; the ladder (``pipeline.quality.ladder``)
and the policy's ``rungs`` refer to rungs by name only through :func:`get_rung`, which names the
known ones when asked for another. A rung knows its decode request (on top of attempt 1's), whether
it applies to a text, what it costs per first-pass token (known before decoding: the retry budget
never depends on timing) and how it decodes, a clause split joining its pieces by :func:`pooled_score`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar, Protocol, TypeVar

from pipeline.engines.protocol import Candidate, CandidateEngine, DecodeRequest
from pipeline.errors import RungError
from pipeline.text.split import clause_pieces


class RetrySettings(Protocol):
    """What the rungs read of the guard policy (``pipeline.quality.ladder.GuardPolicy``)."""

    @property
    def n_best(self) -> int: ...

    @property
    def no_repeat_ngram_size(self) -> int: ...

    @property
    def repetition_penalty(self) -> float: ...

    def retry_beams(self, base: DecodeRequest) -> int: ...


def pooled_score(scores: Sequence[float | None], tokens: Sequence[int]) -> float | None:
    """Pieces' scores as one: their mean token log-probabilities weighted by each piece's tokens.

    The one rule for joining pieces (a clause split, a sentence too long for the model). A piece's
    score is a mean over its tokens, so token weights give the mean over every token of the joined
    output, what the whole would score; weighting by characters would let a long word count for
    several tokens. A piece whose engine counted no tokens weighs 1. ``None`` when any piece has none.
    """
    if not scores or any(s is None for s in scores):
        return None
    weights = [max(1, n) for n in tokens]
    return sum(s * w for s, w in zip(scores, weights, strict=True) if s is not None) / sum(weights)


class Rung:
    """One way of decoding a segment. Subclasses set ``name`` and are registered with ``@register_rung``."""

    name: ClassVar[str] = ""
    retry: ClassVar[bool] = True  # False for attempt 1

    def applies(self, text: str) -> bool:
        """Whether this rung can do anything for ``text`` (the source with terms forced)."""
        return True

    def request(self, base: DecodeRequest, policy: RetrySettings, banned: Sequence[str]) -> DecodeRequest:
        return replace(base, banned_phrases=tuple(banned))

    def cost(self, base: DecodeRequest, policy: RetrySettings) -> float:
        """Decoding work per first-pass token, known before decoding: the beams searched over attempt 1's."""
        return self.request(base, policy, ()).beams / base.beams

    def decode(
        self, engine: CandidateEngine, texts: Sequence[str], request: DecodeRequest
    ) -> list[tuple[list[Candidate], int]]:
        """For each text, its hypotheses best first and how many pieces were translated."""
        outputs = engine.decode(texts, request) if texts else []
        return [(list(c[: request.num_return_sequences]), 1) for c in outputs]


R = TypeVar("R", bound=type[Rung])
RUNGS: dict[str, Rung] = {}


def register_rung(cls: R) -> R:
    """Class decorator: register one instance of ``cls`` under ``cls.name``."""
    if not cls.name or cls.name in RUNGS:
        raise ValueError(f"rung name {cls.name!r} is empty or taken")
    RUNGS[cls.name] = cls()
    return cls


def get_rung(name: str) -> Rung:
    """The rung registered as ``name``; a ``RungError`` naming the known ones otherwise."""
    rung = RUNGS.get(name)
    if rung is None:
        raise RungError(f"unknown rung {name!r}; known rungs: {', '.join(RUNGS)}")
    return rung


def retry_rungs() -> list[str]:
    return [name for name, rung in RUNGS.items() if rung.retry]


@register_rung
class Normal(Rung):
    """Attempt 1: the model's own settings, nothing banned."""

    name = "normal"
    retry = False

    def request(self, base: DecodeRequest, policy: RetrySettings, banned: Sequence[str]) -> DecodeRequest:
        return base


@register_rung
class WiderBeam(Rung):
    name = "wider_beam"

    def request(self, base: DecodeRequest, policy: RetrySettings, banned: Sequence[str]) -> DecodeRequest:
        wider = base.with_settings(
            num_beams=policy.retry_beams(base),
            no_repeat_ngram_size=policy.no_repeat_ngram_size,
            repetition_penalty=policy.repetition_penalty,
        )
        return replace(wider, banned_phrases=tuple(banned))


@register_rung
class NBest(Rung):
    name = "n_best"

    def request(self, base: DecodeRequest, policy: RetrySettings, banned: Sequence[str]) -> DecodeRequest:
        beams = policy.retry_beams(base)
        return replace(
            base.with_settings(num_beams=beams),
            num_return_sequences=min(policy.n_best, beams),
            banned_phrases=tuple(banned),
        )


@register_rung
class ClauseSplit(Rung):
    """The source cut at its clause boundaries, the pieces translated with attempt 1's settings and joined."""

    name = "clause_split"

    def applies(self, text: str) -> bool:
        return len(clause_pieces(text)) > 1

    def decode(
        self, engine: CandidateEngine, texts: Sequence[str], request: DecodeRequest
    ) -> list[tuple[list[Candidate], int]]:
        pieces = [clause_pieces(t) for t in texts]
        flat = [p for ps in pieces for p in ps]
        outputs = iter(engine.decode(flat, replace(request, num_return_sequences=1)) if flat else ())
        joined = []
        for parts in pieces:
            tops = [next(outputs)[0] for _ in parts]
            target = " ".join(c.target.strip() for c in tops if c.target.strip())
            score = pooled_score([c.score for c in tops], [c.tokens for c in tops])
            joined.append(([Candidate(target, score, sum(c.tokens for c in tops))], len(parts)))
        return joined


FIRST_RUNG = Normal.name


def is_first_attempt(record: Mapping[str, Any]) -> bool:
    """Whether an attempt record (``Attempt.to_dict``) is a segment's (or a piece's) attempt 1."""
    return record.get("rung") == FIRST_RUNG
