"""A deterministic engine for tests: outputs chosen per source and per rung of the retry ladder."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.engines.protocol import Candidate, DecodeRequest


def rung_of(request: DecodeRequest) -> str:
    """Which rung asked, read from the request the ladder sends (an engine never knows the ladder)."""
    if request.num_return_sequences > 1:
        return "n_best"
    if request.settings.get("no_repeat_ngram_size"):
        return "wider_beam"
    return "normal"


def tokens_of(target: str) -> int:
    """What the scripted engine says it generated: a token per word, and the end token."""
    return len(target.split()) + 1


@dataclass
class ScriptedEngine:
    """``script[source][rung]`` lists (target, score) hypotheses, best first; a missing rung falls back
    to ``normal``. A source with no script goes to ``default`` (an error when there is none).

    Like a real engine asked to ban phrases, it drops hypotheses that contain a banned phrase
    (keeping the last one when every hypothesis has one), and like one asked for no scores it
    gives none. Each hypothesis counts ``tokens_of`` its target. Every call is recorded.
    """

    script: Mapping[str, Mapping[str, Sequence[tuple[str, float | None]]]]
    default: Callable[[str], tuple[str, float | None]] | None = None
    calls: list[tuple[tuple[str, ...], DecodeRequest]] = field(default_factory=list)

    def decode(self, sources: Sequence[str], request: DecodeRequest) -> list[list[Candidate]]:
        self.calls.append((tuple(sources), request))
        rung = rung_of(request)
        banned = [re.compile(rf"(?<![\w-]){re.escape(b)}(?![\w-])") for b in request.banned_phrases]
        outputs = []
        for source in sources:
            if source in self.script:
                by_rung = self.script[source]
                scripted = by_rung.get(rung) or by_rung["normal"]
            elif self.default is not None:
                scripted = [self.default(source)]
            else:
                raise KeyError(f"no scripted output for {source!r}")
            hypotheses = [Candidate(t, s if request.scores else None, tokens_of(t)) for t, s in scripted]
            allowed = [h for h in hypotheses if not any(p.search(h.target) for p in banned)]
            outputs.append((allowed or hypotheses[-1:])[: request.num_return_sequences])
        return outputs

    # what the translator needs of an engine besides ``decode`` (``pipeline.engines.seq2seq.Seq2SeqEngine``)
    backend = "scripted"
    max_input_tokens = 512

    def identity(self) -> dict[str, Any]:
        return {"backend": self.backend}

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) + 1 for t in texts]

    def generate(self, texts: Sequence[str], settings: Mapping[str, Any]) -> list[tuple[str, int]]:
        outputs = self.decode(texts, DecodeRequest(settings, scores=False))
        return [(c[0].target, len(c[0].target.split())) for c in outputs]

    def decodes(self, rung: str) -> int:
        """How many sources were decoded with ``rung``'s request."""
        return sum(len(sources) for sources, request in self.calls if rung_of(request) == rung)
