"""What every engine offers the layers above: scored hypotheses for sources under decoding settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

BANNED_PHRASES = "banned_phrases"  # the settings key engines read to ban target pieces


SCORE_DIGITS = 4


@dataclass(frozen=True)
class Candidate:
    """One hypothesis and its score (mean token log-probability; ``None`` when the engine gives none)."""

    target: str
    score: float | None = None
    tokens: int = 0  # generated tokens (0 when the engine does not say)

    def __post_init__(self) -> None:
        # float32 sums differ in the last bits with thread count and batch shape; four decimals of a
        # mean log-probability are all a guard or a reader uses, and they are the same on every executor
        if self.score is not None:
            object.__setattr__(self, "score", round(float(self.score), SCORE_DIGITS))


class CandidateEngine(Protocol):
    """What the ladder needs from an engine.

    ``decode`` returns, for each source, its hypotheses best first (at least one; up to
    ``num_return_sequences`` when that is set). ``settings`` are decoding settings:
    ``num_beams``, ``num_return_sequences``, ``no_repeat_ngram_size``, ``repetition_penalty``
    and the model's own, plus ``banned_phrases``: a list of strings whose target-vocabulary
    pieces must not be generated (transformers ``bad_words_ids``, CTranslate2
    ``suppress_sequences``, after tokenizing each phrase with the target tokenizer).
    """

    def decode(self, sources: Sequence[str], settings: Mapping[str, Any]) -> list[list[Candidate]]: ...
