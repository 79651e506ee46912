"""The benchmark's inputs from the seed article: its translatable segments and its reference English."""

from __future__ import annotations

import tomllib
from collections.abc import Callable

from bench.common import ROOT

SEED = ROOT / "seeds" / "2019-12-rusland-wit-rusland.txt"
REFS = ROOT / "seeds" / "2019-12-rusland-wit-rusland.refs.toml"


def seed_sources() -> list[str]:
    """The seed's translatable segments, as nl2en segments it."""
    from pipeline.text.reader import read_article
    from pipeline.text.segment import segment_document

    return [s.source for s in segment_document(read_article(SEED).text).translatable]


def english_text(limit_tokens: int, count: Callable[[str], int]) -> tuple[str, int, int, int]:
    """The `en` fields of the seed's refs, joined and trimmed to fit one chunk: (text, used, total, tokens)."""
    entries = [e["en"] for e in tomllib.loads(REFS.read_text(encoding="utf-8"))["translation"]]
    used = len(entries)
    text = " ".join(entries)
    while used > 1 and count(text) > limit_tokens:
        used -= 1
        text = " ".join(entries[:used])
    return text, used, len(entries), count(text)
