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


# --- instruct models ---------------------------------------------------------------------------


def render_plain(conversation: Sequence[Mapping[str, str]]) -> str:
    """The scripted engine's 'chat template': each turn as ``<role>`` and its content, then the assistant's turn."""
    return "".join(f"<{m['role']}>\n{m['content']}\n" for m in conversation) + "<assistant>\n"


@dataclass
class ScriptedCausalEngine:
    """An instruct-model engine (``pipeline.engines.causal.CausalEngine``) whose replies are scripted.

    ``script[text]`` lists the replies to prompts that ask about ``text``: the n-th such prompt gets
    the n-th reply, the last repeating. A prompt asks about the scripted text that starts last in it
    (the sentence to translate comes after its context in every prompt); a prompt that holds none
    goes to ``default`` (given the whole prompt; an error when there is none). Every reply scores
    ``score`` (``None`` when the request asks for no scores) and counts ``tokens_of`` its text.
    Every call is recorded, with its prompts, in ``calls``.
    """

    script: Mapping[str, Sequence[str]] = field(default_factory=dict)
    default: Callable[[str], str] | None = None
    score: float = -0.2
    context_tokens: int = 4096
    calls: list[tuple[tuple[str, ...], DecodeRequest]] = field(default_factory=list)
    asked: dict[str, int] = field(default_factory=dict)

    backend = "scripted"

    def signature(self) -> Any:
        from pipeline.signature import EngineSection

        return EngineSection(self.backend)

    def max_input_tokens(self) -> int:
        return self.context_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    def render(self, conversations: Sequence[Sequence[Mapping[str, str]]]) -> list[str]:
        return [render_plain(c) for c in conversations]

    def subject(self, prompt: str) -> str | None:
        """The scripted text this prompt asks about: the one that starts last (the longest of those)."""
        found = [(prompt.rfind(text), len(text), text) for text in self.script if text in prompt]
        return max(found)[2] if found else None

    def reply(self, prompt: str) -> str:
        text = self.subject(prompt)
        if text is None:
            if self.default is None:
                raise KeyError(f"no scripted reply for {prompt!r}")
            return self.default(prompt)
        replies = self.script[text]
        count = self.asked.get(text, 0)
        self.asked[text] = count + 1
        return replies[min(count, len(replies) - 1)]

    def decode(
        self, prompts: Sequence[str], request: DecodeRequest, static_prefix: str | None = None
    ) -> list[list[Candidate]]:
        self.calls.append((tuple(prompts), request))
        outputs = []
        for prompt in prompts:
            text = self.reply(prompt)
            outputs.append([Candidate(text, self.score if request.scores else None, tokens_of(text))])
        return outputs

    def generate(
        self, prompts: Sequence[str], settings: Mapping[str, Any], static_prefix: str | None = None
    ) -> list[tuple[str, int]]:
        outputs = self.decode(prompts, DecodeRequest(settings, scores=False))
        return [(c[0].target, c[0].tokens) for c in outputs]

    @property
    def prompts(self) -> list[str]:
        """Every prompt decoded, in order."""
        return [p for prompts, _ in self.calls for p in prompts]
