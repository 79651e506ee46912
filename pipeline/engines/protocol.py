"""What every engine offers the layers above: scored hypotheses for sources under a typed decode request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

SCORE_DIGITS = 4
BATCH_BEAMS = 4  # the beam the engines' batch sizes were chosen for (opus-mt's; bench/README.md)

# What a request carries beside the decoding settings; a settings mapping holding one of these is a
# caller's mistake (they used to travel as extra keys of the settings dict).
REQUEST_KEYS = ("banned_phrases", "num_return_sequences", "scores", "pieces")

Links = tuple[tuple[int, int], ...]
"""Word alignment links: (source word index, target word index), words being ``\\S+`` runs of the text."""


@dataclass(frozen=True)
class Candidate:
    """One hypothesis and its score (mean token log-probability; ``None`` when the engine gives none).

    ``links``: the hypothesis's word alignment (source word, target word), read from the attention
    of the decode itself, words being the ``\\S+`` runs of the source text and of ``target`` (as
    the engines' ``align`` defines them); ``None`` when the engine gives none.
    """

    target: str
    score: float | None = None
    tokens: int = 0  # generated tokens (0 when the engine does not say)
    links: Links | None = None

    def __post_init__(self) -> None:
        # float32 sums differ in the last bits with thread count and batch shape; four decimals of a
        # mean log-probability are all a guard or a reader uses, and they are the same on every executor
        if self.score is not None:
            object.__setattr__(self, "score", round(float(self.score), SCORE_DIGITS))
        if self.links is not None:  # pairs read back from JSON are lists
            object.__setattr__(self, "links", tuple((int(s), int(t)) for s, t in self.links))


@dataclass(frozen=True)
class DecodeRequest:
    """One decode as an engine sees it: decoding settings proper, and what the caller wants back.

    - ``settings``: generation settings only (``num_beams``, ``no_repeat_ngram_size``,
      ``repetition_penalty`` and the model's own; ``pipeline.models.decoding.DECODING_KEYS``);
    - ``banned_phrases``: strings whose target-vocabulary pieces must not be generated
      (transformers ``bad_words_ids``, CTranslate2 ``suppress_sequences``, after tokenizing each
      phrase with the target tokenizer);
    - ``num_return_sequences``: hypotheses wanted per source (the beam is widened to at least this);
    - ``scores``: whether each hypothesis needs its mean token log-probability. Scoring costs a
      teacher-forced pass on transformers, so a caller that reads no score (guards off) says so.
    """

    settings: Mapping[str, Any] = field(default_factory=dict)
    banned_phrases: tuple[str, ...] = ()
    num_return_sequences: int = 1
    scores: bool = True

    def __post_init__(self) -> None:
        stray = sorted(k for k in self.settings if k in REQUEST_KEYS)
        if stray:
            raise ValueError(f"not decoding settings: {', '.join(stray)} (fields of DecodeRequest)")
        if self.num_return_sequences < 1:
            raise ValueError("num_return_sequences must be at least 1")
        object.__setattr__(self, "settings", dict(self.settings))
        object.__setattr__(self, "banned_phrases", tuple(sorted(set(self.banned_phrases))))

    @property
    def beams(self) -> int:
        """The beam this request searches with (at least the hypotheses it asks for)."""
        return max(self.num_return_sequences, int(self.settings.get("num_beams", 1) or 1))

    def batch_share(self) -> float:
        """The share of an engine's batch this request may fill: beam search holds every hypothesis of a
        batch at once, so a beam wider than ``BATCH_BEAMS`` gets proportionally fewer sources per batch
        (the retry ladder's beams of 8 would otherwise double the working memory of a batch sized at 4)."""
        return min(1.0, BATCH_BEAMS / self.beams)

    def with_settings(self, **changes: Any) -> DecodeRequest:
        return replace(self, settings={**self.settings, **changes})

    def describe(self) -> dict[str, Any]:
        """The request as an attempt record shows it: the settings, and the request fields that differ."""
        out = dict(self.settings)
        if self.num_return_sequences > 1:
            out["num_return_sequences"] = self.num_return_sequences
        if self.banned_phrases:
            out["banned_phrases"] = list(self.banned_phrases)
        return out


class CandidateEngine(Protocol):
    """What the ladder needs from an engine.

    ``decode`` returns, for each source, its hypotheses best first: at least one, at most
    ``request.num_return_sequences``; scored when ``request.scores`` (otherwise a score may be ``None``).
    """

    def decode(self, sources: Sequence[str], request: DecodeRequest) -> list[list[Candidate]]: ...
