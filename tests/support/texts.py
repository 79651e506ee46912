"""Synthetic English text for memory and speed measurements of the extractive summariser."""

from __future__ import annotations

import random
import re
import tomllib
from pathlib import Path

REFS = Path(__file__).resolve().parents[2] / "seeds" / "2019-12-rusland-wit-rusland.refs.toml"


def synthetic_english_article(chars: int, seed: int = 0) -> str:
    """A deterministic English article of about ``chars`` characters: sentences of 6-30 words drawn Zipf-wise
    from the seed's reference translation's words and ever new made-up ones (as names and rare words keep
    coming in real text), a paragraph break after one sentence in five."""
    rng = random.Random(seed)
    reference = " ".join(e["en"] for e in tomllib.loads(REFS.read_text(encoding="utf-8"))["translation"]).lower()
    counts: dict[str, int] = {}
    for word in re.findall(r"\w+", reference):
        counts[word] = counts.get(word, 0) + 1
    vocabulary = sorted(counts, key=lambda w: -counts[w]) + [f"n{k}x" for k in range(chars // 100)]
    cum, total = [], 0.0
    for k in range(len(vocabulary)):
        total += 1 / (k + 1)
        cum.append(total)
    parts: list[str] = []
    size = 0
    while size < chars:
        sentence = " ".join(rng.choices(vocabulary, cum_weights=cum, k=rng.randint(6, 30))).capitalize() + "."
        parts.append(sentence + ("\n\n" if rng.random() < 0.2 else " "))
        size += len(parts[-1])
    return "".join(parts)
