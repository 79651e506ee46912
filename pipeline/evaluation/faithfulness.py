"""Summary faithfulness without extra model weights, after Nan et al. (EACL 2021).

A faithful summary names only entities and numbers its source has. Entities are the
capitalised spans of the summary that do not open a sentence, plus the glossary's English
names it mentions; numbers are read with the same normalisation as the ``number_mismatch``
guard. Each precision is the share of the summary's distinct entities (numbers) found in the
English source; ``None`` when the summary has none. Key-fact recall is ``score.key_fact_recall``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pipeline.quality.glossary import Glossary
from pipeline.quality.numbers import NumberMention, english_numbers

_CAPITALISED = re.compile(r"(?<![\w'’-])[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?][\"”’')\]]*\s+)[\"“‘'(\[]*")
_POSSESSIVE = re.compile(r"(?:'s|’s|'|’)$")

ENTITY_METHOD = (
    "entities: runs of capitalised words that do not open a sentence (a run that does loses its "
    "first word), possessive 's removed, plus the glossary's English names the summary mentions; "
    "an entity is supported when the English source contains it, or each of its words (a title and a "
    "name the source gives apart), case-sensitive, on word boundaries"
)


def _contains(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text) is not None


def summary_entities(summary: str, glossary: Glossary | None = None) -> list[str]:
    """The distinct entity mentions of ``summary``, in order of first appearance."""
    starts = {m.end() for m in _SENTENCE_START.finditer(summary)}
    found: dict[str, None] = {}
    for match in _CAPITALISED.finditer(summary):
        words = match.group(0).split()
        if match.start() in starts:
            words = words[1:]
        if words:
            found[_POSSESSIVE.sub("", " ".join(words))] = None
    for entry in glossary or ():
        for _, english in entry.all_forms():
            name = _POSSESSIVE.sub("", english)
            if _contains(summary, name) and not any(_contains(span, name) for span in found):
                found[name] = None
    return [e for e in found if e]


def entity_precision(summary: str, source: str, glossary: Glossary | None = None) -> dict[str, Any]:
    """Share of the summary's entities that occur in the English ``source``."""
    entities = summary_entities(summary, glossary)
    supported = [e for e in entities if _contains(source, e) or all(_contains(source, w) for w in e.split())]
    return {
        "precision": len(supported) / len(entities) if entities else None,
        "supported": supported,
        "unsupported": [e for e in entities if e not in supported],
    }


def number_precision(summary: str, source: str) -> dict[str, Any]:
    """Share of the summary's distinct numbers, amounts, percentages and dates that the source has.

    One written number may read several ways (``15%`` is a percentage and a number); it is
    supported when any reading is in the source.
    """
    have = {n.key for n in english_numbers(source)}
    readings: dict[int, list[NumberMention]] = {}
    for mention in english_numbers(summary):
        readings.setdefault(mention.start, []).append(mention)
    verdicts: dict[str, bool] = {}
    for group in readings.values():
        text = max((m.text for m in group), key=len)
        verdicts[text] = verdicts.get(text, False) or any(m.key in have for m in group)
    supported = [text for text, ok in verdicts.items() if ok]
    return {
        "precision": len(supported) / len(verdicts) if verdicts else None,
        "supported": supported,
        "unsupported": [text for text, ok in verdicts.items() if not ok],
    }


def faithfulness(
    summary: str, source: str, key_facts: Sequence[str] = (), glossary: Glossary | None = None
) -> dict[str, Any]:
    """Entity precision, number precision and key-fact recall of ``summary`` against its English ``source``."""
    return {
        "entity_precision": entity_precision(summary, source, glossary),
        "number_precision": number_precision(summary, source),
        "key_fact_recall": key_fact_recall(key_facts, summary),
        "method": ENTITY_METHOD,
    }


def key_fact_recall(facts: Sequence[str], text: str) -> dict[str, Any]:
    """Share of key facts found in ``text`` as case-insensitive substrings."""
    folded = text.casefold()
    found = [f for f in facts if f.casefold() in folded]
    return {
        "recall": len(found) / len(facts) if facts else None,
        "found": found,
        "missing": [f for f in facts if f not in found],
    }
