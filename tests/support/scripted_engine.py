"""A deterministic engine for tests: outputs chosen per source and per rung of the retry ladder."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.engines.protocol import BANNED_PHRASES, Candidate


def rung_of(settings: Mapping[str, Any]) -> str:
    """Which rung asked, read from the decoding settings the ladder sends."""
    if int(settings.get("num_return_sequences", 1) or 1) > 1:
        return "n_best"
    if settings.get("no_repeat_ngram_size"):
        return "wider_beam"
    return "normal"


@dataclass
class ScriptedEngine:
    """``script[source][rung]`` lists (target, score) hypotheses, best first; a missing rung falls back
    to ``normal``. A source with no script goes to ``default`` (an error when there is none).

    Like a real engine asked to ban phrases, it drops hypotheses that contain a banned phrase
    (keeping the last one when every hypothesis has one). Every call is recorded.
    """

    script: Mapping[str, Mapping[str, Sequence[tuple[str, float | None]]]]
    default: Callable[[str], tuple[str, float | None]] | None = None
    calls: list[tuple[tuple[str, ...], dict[str, Any]]] = field(default_factory=list)

    def decode(self, sources: Sequence[str], settings: Mapping[str, Any]) -> list[list[Candidate]]:
        self.calls.append((tuple(sources), dict(settings)))
        rung = rung_of(settings)
        limit = int(settings.get("num_return_sequences", 1) or 1)
        banned = [re.compile(rf"(?<![\w-]){re.escape(b)}(?![\w-])") for b in settings.get(BANNED_PHRASES, ())]
        outputs = []
        for source in sources:
            if source in self.script:
                by_rung = self.script[source]
                hypotheses = [Candidate(t, s) for t, s in by_rung.get(rung) or by_rung["normal"]]
            elif self.default is not None:
                hypotheses = [Candidate(*self.default(source))]
            else:
                raise KeyError(f"no scripted output for {source!r}")
            allowed = [h for h in hypotheses if not any(p.search(h.target) for p in banned)]
            outputs.append((allowed or hypotheses[-1:])[:limit])
        return outputs

    # what the translator needs of an engine besides ``decode`` (``pipeline.engines.seq2seq.Seq2SeqEngine``)
    backend = "scripted"
    max_input_tokens = 512

    def identity(self) -> dict[str, Any]:
        return {"backend": self.backend}

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) + 1 for t in texts]

    def generate(self, texts: Sequence[str], settings: Mapping[str, Any]) -> list[tuple[str, int]]:
        return [(c[0].target, len(c[0].target.split())) for c in self.decode(texts, settings)]

    def decodes(self, rung: str) -> int:
        """How many sources were decoded with ``rung``'s settings."""
        return sum(len(sources) for sources, settings in self.calls if rung_of(settings) == rung)
