"""An instruct LLM (EuroLLM, Qwen2.5, TowerInstruct…) as a translator, behind the ``Translator`` interface.

Each segment is asked for in a prompt of its model family (``pipeline.models.prompts``): the
sentence, the previous ``context_size`` sentences of its document marked as context not to
translate, and the glossary terms it uses as instructions (``Translate "Poetin" as "Putin".``).
The reply is cleaned (``pipeline.quality.cleaning``: preambles, quotes, extra lines and notes
removed) and then treated exactly as a seq2seq model's output: the glossary check and repair and
every guard, ``chatter`` and ``added_content`` among them, then the retry ladder
(``pipeline.quality.ladder``) for a flagged segment.

**Retries.** The ladder's rungs run as for any model (a wider beam, n-best, a clause split), and
every retry asks with the family's *strict* wording: the same prompt plus "Reply with the English
translation of the Dutch text only: no introduction, no notes, no explanations, no questions."
The engine's penalties and bans look at the generated tokens only, never at the prompt.

The ladder sees each segment as its source with the glossary terms forced (as it sends a seq2seq
model); :class:`PromptedEngine` turns that text back into the segment's prompt. When one batch
holds the same text with two different contexts, the ladder runs once per context (a *round*),
so each segment gets its own prompt.

A sentence whose prompt does not fit the model's context (less ``max_new_tokens``) is asked for
without its context, and one that still does not fit is cut at clause boundaries, the pieces
translated and joined, as the seq2seq translator does.

Each attempt record holds the prompt's digest (``prompt``), whether it used the strict wording
(``strict``) and what cleaning removed from the reply (``cleaned``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.engines.causal import CausalEngine
from pipeline.engines.protocol import Candidate, CandidateEngine, DecodeRequest
from pipeline.models.prompts import PromptTemplate, TermInstruction, translation_messages
from pipeline.quality.cleaning import clean_output
from pipeline.quality.glossary import Glossary, force_terms
from pipeline.quality.ladder import Attempt, GuardedSegment, GuardPolicy, translate_guarded
from pipeline.quality.rungs import ClauseSplit
from pipeline.text.normalise import normalise_source
from pipeline.text.split import clause_pieces, split_to_fit
from pipeline.translation.translator import (
    JOURNAL_ROWS,
    DecodeJournal,
    JournaledEngine,
    Translation,
    Translator,
    combine_pieces,
    glossary_key,
)

DEFAULT_CONTEXT = 2
"""Previous sentences of the document a prompt carries (``--context``)."""
CLAUSE_SPLIT = ClauseSplit.name
Note = tuple[bool, list[dict[str, str]]]  # an attempt's strict wording, and what cleaning removed
DEFAULT_NEW_TOKENS = 256  # what the engines generate at most when the settings name no limit


@dataclass(frozen=True)
class Ask:
    """What one prompt asks for: a source (a whole segment or a piece of one), its context and its terms."""

    source: str
    context: tuple[str, ...] = ()
    terms: tuple[TermInstruction, ...] = ()


def _request_key(request: DecodeRequest) -> str:
    return json.dumps(dataclasses.asdict(request), sort_keys=True, ensure_ascii=False, default=str)


@dataclass
class PromptedEngine:
    """The ladder's engine (``CandidateEngine``) for an instruct model: texts in, cleaned replies out.

    ``asks`` maps each text the ladder will send (a source with its terms forced) to what its prompt
    asks; a text it does not hold (a clause-split piece) is asked for alone. A request other than
    ``first`` (attempt 1's) is a retry and gets the strict wording. ``cleaned`` keeps, per text and
    request, each reply's cleaned text and what was removed from it.
    """

    engine: CausalEngine
    template: PromptTemplate
    first: DecodeRequest
    asks: Mapping[str, Ask]
    inner: CandidateEngine
    cleaned: dict[tuple[str, str], dict[str, list[dict[str, str]]]] = field(default_factory=dict)

    def strict(self, text: str, request: DecodeRequest) -> bool:
        """Whether a retry asks: a request other than attempt 1's, or a piece of a clause split."""
        return request != self.first or text not in self.asks

    def prompts(self, texts: Sequence[str], request: DecodeRequest) -> list[str]:
        conversations = []
        for text in texts:
            ask = self.asks.get(text) or Ask(text)
            strict = self.strict(text, request)
            conversations.append(translation_messages(self.template, ask.source, ask.context, ask.terms, strict=strict))
        return self.engine.render(conversations)

    def decode(self, sources: Sequence[str], request: DecodeRequest) -> list[list[Candidate]]:
        if not sources:
            return []
        replies = self.inner.decode(self.prompts(sources, request), request)
        key = _request_key(request)
        out = []
        for text, candidates in zip(sources, replies, strict=True):
            source = (self.asks.get(text) or Ask(text)).source
            kept = []
            for candidate in candidates:
                cleaned = clean_output(candidate.target, source)
                self.cleaned.setdefault((text, key), {})[cleaned.text] = cleaned.record()
                kept.append(dataclasses.replace(candidate, target=cleaned.text))
            out.append(kept)
        return out

    def stripped(self, text: str, attempt: Attempt) -> list[dict[str, str]]:
        """What cleaning removed from the reply (a clause split: each piece's) that became ``attempt``."""
        key = _request_key(attempt.request)
        if attempt.pieces > 1 or attempt.rung == CLAUSE_SPLIT:  # its pieces were asked for one by one
            return [s for piece in clause_pieces(text) for s in self._only(self.cleaned.get((piece, key)))]
        found = self.cleaned.get((text, key)) or {}
        return found.get(attempt.target, self._only(found))

    @staticmethod
    def _only(found: Mapping[str, list[dict[str, str]]] | None) -> list[dict[str, str]]:
        """The record of the one reply there was (a reply the glossary check then repaired)."""
        return next(iter(found.values())) if found and len(found) == 1 else []


@dataclass
class _Item:
    """One source the ladder translates: a segment or a piece of one."""

    segment: int
    text: str
    ask: Ask
    forced: str
    group: Hashable


@dataclass
class LLMTranslator(Translator):
    """An instruct LLM on a ``CausalEngine``, translating with context, glossary instructions, cleaning and guards."""

    engine: CausalEngine
    settings: dict[str, Any]
    template: PromptTemplate
    glossary: Glossary | None = None
    policy: GuardPolicy = field(default_factory=GuardPolicy)
    context_size: int = DEFAULT_CONTEXT
    journal: DecodeJournal | None = field(default=None, repr=False, compare=False)
    journal_rows: int = JOURNAL_ROWS

    def __post_init__(self) -> None:
        if self.context_size < 0:
            raise ValueError("context_size must be 0 or more")

    def used_context(self, context: Sequence[str] | None) -> tuple[str, ...]:
        """The last ``context_size`` sentences of ``context``, normalised, empty ones left out."""
        if not context or self.context_size == 0:
            return ()
        kept = [normalise_source(s) for s in context]
        return tuple(s for s in kept if s)[-self.context_size :]

    def segment_key(self, source: str, context: Sequence[str] | None = None) -> dict[str, Any]:
        """The prompt's digest, the context the prompt carries, and the glossary entries the source uses."""
        return {
            "prompt": self.template.digest,
            "context": list(self.used_context(context)),
            **glossary_key(self.glossary, source),
        }

    def keep_decodes(self, journal: DecodeJournal | None) -> None:
        self.journal = journal

    # --- prompts that fit --------------------------------------------------------------------

    @property
    def prompt_budget(self) -> int:
        """Prompt tokens the model can read and still generate ``max_new_tokens``."""
        new = self.settings.get("max_new_tokens") or DEFAULT_NEW_TOKENS
        return max(1, self.engine.max_input_tokens() - int(new))

    def prompt_tokens(self, asks: Sequence[Ask]) -> list[int]:
        conversations = [translation_messages(self.template, a.source, a.context, a.terms, strict=True) for a in asks]
        return self.engine.count_tokens(self.engine.render(conversations)) if asks else []

    def terms(self, text: str) -> tuple[TermInstruction, ...]:
        matches = force_terms(text, self.glossary).matches if self.glossary else ()
        return tuple(dict.fromkeys(TermInstruction(m.nl, m.en) for m in matches))

    def plan(self, sources: Sequence[str], contexts: Sequence[tuple[str, ...]]) -> list[list[Ask]]:
        """Each source's asks: itself with its context; without it if too long; in pieces if still too long."""
        budget = self.prompt_budget
        whole = [Ask(s, c, self.terms(s)) for s, c in zip(sources, contexts, strict=True)]
        plans: list[list[Ask]] = []
        for ask, tokens in zip(whole, self.prompt_tokens(whole), strict=True):
            if tokens <= budget:
                plans.append([ask])
                continue
            alone = dataclasses.replace(ask, context=())
            if self.prompt_tokens([alone])[0] <= budget:
                plans.append([alone])
                continue
            pieces = split_to_fit(ask.source, lambda t: self.prompt_tokens([Ask(t, (), self.terms(t))])[0] <= budget)
            plans.append([Ask(p, (), self.terms(p)) for p in pieces] or [alone])
        return plans

    # --- translating -------------------------------------------------------------------------

    def translate_batch(
        self,
        sources: Sequence[str],
        groups: Sequence[Hashable] | None = None,
        contexts: Sequence[Sequence[str]] | None = None,
    ) -> list[Translation]:
        """One translation per source; ``contexts[i]``: the sentences before source ``i`` in its document."""
        if contexts is not None and len(contexts) != len(sources):
            raise ValueError(f"{len(contexts)} contexts for {len(sources)} sources")
        used = [self.used_context(contexts[i] if contexts is not None else ()) for i in range(len(sources))]
        plans = self.plan(sources, used)
        glossary = self.glossary or Glossary()
        items = [
            _Item(i, ask.source, ask, force_terms(ask.source, glossary).text, groups[i] if groups is not None else None)
            for i, asks in enumerate(plans)
            for ask in asks
        ]
        guarded: dict[int, GuardedSegment] = {}
        notes: dict[int, list[Note]] = {}
        for round_items in _rounds(items):
            self._translate_round(round_items, guarded, notes)
        results = []
        position = 0
        for source, asks in zip(sources, plans, strict=True):
            span = range(position, position + len(asks))
            position += len(asks)
            translation = combine_pieces(source, [a.source for a in asks], [guarded[k] for k in span])
            records = [note for k in span for note in notes[k]]
            results.append(self._annotated(translation, records))
        return results

    def _translate_round(
        self,
        items: Sequence[tuple[int, _Item]],
        guarded: dict[int, GuardedSegment],
        notes: dict[int, list[Note]],
    ) -> None:
        """Run the ladder over ``items`` (each text has one ask here) and keep each item's result."""
        inner: CandidateEngine = SharedPrefix(self.engine)
        if self.journal is not None:
            inner = JournaledEngine(inner, self.journal, self.journal_rows)
        prompted = PromptedEngine(
            self.engine,
            self.template,
            self.policy.base_request(self.settings),
            {i.forced: i.ask for _, i in items},
            inner,
        )
        group_list = [i.group for _, i in items] if any(i.group is not None for _, i in items) else None
        results = translate_guarded(
            prompted,
            [i.text for _, i in items],
            self.settings,
            glossary=self.glossary,
            policy=self.policy,
            groups=group_list,
        )
        for (index, item), segment in zip(items, results, strict=True):
            guarded[index] = segment
            notes[index] = [(prompted.strict(item.forced, a.request) or a.pieces > 1, prompted.stripped(item.forced, a))
                            for a in segment.attempts]  # fmt: skip

    def _annotated(self, translation: Translation, notes: Sequence[Note]) -> Translation:
        """``translation`` with each attempt's prompt digest, wording and what cleaning removed."""
        attempts = []
        for attempt, (strict, stripped) in zip(translation.attempts, notes, strict=True):
            record = {**attempt, "prompt": self.template.digest, "strict": strict}
            if stripped:
                record["cleaned"] = stripped
            attempts.append(record)
        return dataclasses.replace(translation, attempts=tuple(attempts))


def shared_prefix(prompts: Sequence[str]) -> str | None:
    """The text every prompt starts with, up to its last line break (None: fewer than two, or none shared).

    Cut at a line break so the prefix is tokenised as inside each prompt; the engine checks the
    tokens match before it uses the prefix, and uses none otherwise.
    """
    if len(prompts) < 2:
        return None
    first, last = min(prompts), max(prompts)  # what all prompts share is what these two share
    size = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), min(len(first), len(last)))
    cut = first.rfind("\n", 0, size)
    return first[: cut + 1] if cut > 0 else None


@dataclass
class SharedPrefix:
    """An engine asked to decode with the prompts' shared opening as its static prompt.

    The system turn and instructions open every prompt of a batch: CTranslate2 processes them once
    and keeps their state (``static_prompt``: 1.39 times as fast on prompt-heavy batches of the
    EuroLLM-1.7B architecture, ``make bench --only llm``); the hypotheses are the same without it.
    """

    engine: CausalEngine

    def decode(self, prompts: Sequence[str], request: DecodeRequest) -> list[list[Candidate]]:
        return self.engine.decode(prompts, request, static_prefix=shared_prefix(prompts))


def _rounds(items: Sequence[_Item]) -> list[list[tuple[int, _Item]]]:
    """Items in rounds where each forced text has one ask (the same sentence in two contexts: two rounds)."""
    rounds: list[list[tuple[int, _Item]]] = []
    seen: list[dict[str, Ask]] = []
    for index, item in enumerate(items):
        for number, asks in enumerate(seen):
            if asks.get(item.forced, item.ask) == item.ask:
                asks[item.forced] = item.ask
                rounds[number].append((index, item))
                break
        else:
            seen.append({item.forced: item.ask})
            rounds.append([(index, item)])
    return rounds


LLM_MIN_BEAMS = 2
"""The beams of an instruct model's retries (a wider beam, n-best): its strict wording does most of the
curing, and each beam of a billion-parameter model costs what a whole seq2seq decode does."""


def llm_policy(policy: GuardPolicy) -> GuardPolicy:
    """``policy`` for an instruct model: retries search :data:`LLM_MIN_BEAMS` beams, so the retry
    budget (a share of the first pass's tokens) pays for four times as many of them as at 8 beams."""
    return dataclasses.replace(policy, min_beams=LLM_MIN_BEAMS, n_best=LLM_MIN_BEAMS)
