"""The cache wrapper: hits are served with records equal to a fresh run's, whatever the spacing."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipeline.engines.protocol import Candidate, DecodeRequest
from pipeline.quality.glossary import builtin_glossary
from pipeline.quality.ladder import GuardPolicy
from pipeline.runs.cache import CachedTranslator
from pipeline.runs.memory import TranslationMemory
from pipeline.translation.llm import LLMTranslator
from pipeline.translation.translator import Seq2SeqTranslator
from tests.support.scripted_engine import ScriptedEngine
from tests.support.signatures import signature_for

TIGHT = "Gisteren zei Poetin in Moskou dat het wachten is."
LOOSE = "Gisteren  zei   Poetin in Moskou dat het wachten is."  # the same sentence, spaced differently


def echo(source: str) -> tuple[str, float]:
    """A deterministic 'translation': the forced source, spaces collapsed (what the model would see)."""
    return " ".join(source.split()), -0.1


def translator(memory: TranslationMemory | None) -> CachedTranslator:
    inner = Seq2SeqTranslator(
        ScriptedEngine({}, default=echo),  # type: ignore[arg-type]
        {"num_beams": 1},
        glossary=builtin_glossary(),
        policy=GuardPolicy(mode="off"),
    )
    return CachedTranslator(inner, memory, signature_for("sha256:scripted", translator=inner))


def test_cache_hit_for_differently_spaced_text_points_its_terms_into_that_text(tmp_path: Path) -> None:
    with TranslationMemory(tmp_path / "tm.sqlite3") as memory:
        cached = translator(memory)
        cached.translate_batch([TIGHT])
        (hit,) = cached.translate_batch([LOOSE])
    (fresh,) = translator(None).translate_batch([LOOSE])
    assert hit.cached and not fresh.cached
    assert [(t["nl"], t["start"], t["end"]) for t in hit.terms] == [
        (t["nl"], t["start"], t["end"]) for t in fresh.terms
    ]
    assert hit.record_fields() == fresh.record_fields(), "a cached record equals a fresh one"
    assert [LOOSE[t["start"] : t["end"]] for t in hit.terms] == ["Poetin", "Moskou"]


def test_cache_repeat_within_one_batch_spaced_differently_gets_its_own_offsets() -> None:
    first, second = translator(None).translate_batch([TIGHT, LOOSE])
    assert [TIGHT[t["start"] : t["end"]] for t in first.terms] == ["Poetin", "Moskou"]
    assert [LOOSE[t["start"] : t["end"]] for t in second.terms] == ["Poetin", "Moskou"]
    assert first.terms[0]["start"] != second.terms[0]["start"]


def test_cache_hit_keeps_each_term_where_it_was_even_inside_a_longer_name(tmp_path: Path) -> None:
    """A term is moved by its offset, never searched for: `Rusland` stays the one after `Wit-Rusland`."""
    tight = "Wit-Rusland en Rusland praten in Moskou."
    loose = "Wit-Rusland  en   Rusland praten in  Moskou."
    with TranslationMemory(tmp_path / "tm.sqlite3") as memory:
        translator(memory).translate_batch([tight])
        (hit,) = translator(memory).translate_batch([loose])
    (fresh,) = translator(None).translate_batch([loose])
    assert hit.cached and hit.record_fields() == fresh.record_fields()
    assert all(loose[t["start"] : t["end"]] == t["nl"] for t in hit.terms)


def test_cache_normal_positions_map_offsets_between_spacings() -> None:
    from pipeline.text.normalise import normal_positions, normalise_source

    text = "  Een\t zin\n\nmet  ruimte. "
    positions = normal_positions(text)
    assert "".join(text[i] if not text[i].isspace() else " " for i in positions) == normalise_source(text)


# --- a run stopped inside a call resumes from its journaled decodes ------------------------------


@dataclass
class StoppingEngine(ScriptedEngine):
    """The scripted engine, stopped as Ctrl-C stops a run (``KeyboardInterrupt``) on its ``stop_at``-th decode."""

    stop_at: int = 0

    def decode(self, sources: Sequence[str], request: DecodeRequest) -> list[list[Candidate]]:
        if len(self.calls) + 1 == self.stop_at:
            raise KeyboardInterrupt
        return super().decode(sources, request)

    def decoded(self) -> int:
        return sum(len(sources) for sources, _ in self.calls)


def budget_script(count: int) -> dict[str, dict[str, list[tuple[str, float]]]]:
    """Every third sentence loops on the first pass and is cured by the wider beam; the others are fine."""
    script: dict[str, dict[str, list[tuple[str, float]]]] = {}
    for i in range(count):
        fine = f"Sentence number {i} is here."
        loop = {"normal": [("word word word word word word word", -0.1)], "wider_beam": [(fine, -0.3)]}
        script[f"Zin nummer {i} staat hier."] = loop if i % 3 == 0 else {"normal": [(fine, -0.2)]}
    return script


# four looping sentences per group of twelve (80 first-pass tokens); a budget of 2 pays for two wider beams
# (8 beams × 8 tokens each), so the group's whole first pass decides which two: an interrupted run must replay it
BUDGET_POLICY = GuardPolicy(mode="retry", retry_budget=2.0)
ROWS = 4


def budget_translator(engine: ScriptedEngine, memory: TranslationMemory | None) -> CachedTranslator:
    inner = Seq2SeqTranslator(engine, {"num_beams": 1}, policy=BUDGET_POLICY, journal_rows=ROWS)  # type: ignore[arg-type]
    return CachedTranslator(inner, memory, signature_for("sha256:scripted", translator=inner))


def stage_rows(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT stage, COUNT(*) FROM entries GROUP BY stage").fetchall())


@pytest.mark.parametrize("stop_at", [3, 7], ids=["inside-the-first-pass", "inside-the-retries"])
def test_cache_run_stopped_inside_a_call_resumes_from_its_decodes(tmp_path: Path, stop_at: int) -> None:
    script = budget_script(24)
    sources, groups = list(script), [i // 12 for i in range(24)]
    clean_engine = StoppingEngine(script)
    clean = budget_translator(clean_engine, None).translate_batch(sources, groups)
    # 24 first passes in slices of 4 (6 calls), then one call of 4 wider beams: 2 paid in each group, 4 refused
    assert clean_engine.decodes("wider_beam") == 4
    assert sum(bool(t.flags) for t in clean) == 4, "the budget refused some retries: it matters what it saw"
    path = tmp_path / "tm.sqlite3"
    with TranslationMemory(path) as memory:
        stopped = StoppingEngine(script, stop_at=stop_at)
        with pytest.raises(KeyboardInterrupt):
            budget_translator(stopped, memory).translate_batch(sources, groups)
    journaled = (stop_at - 1) * ROWS
    assert stage_rows(path) == {"translate:decodes": journaled}, "each completed slice is in the memory"
    with TranslationMemory(path) as memory:
        again = StoppingEngine(script)
        resumed = budget_translator(again, memory).translate_batch(sources, groups)
    assert again.decoded() == clean_engine.decoded() - journaled, "the rerun asks the engine only for the rest"
    assert [(t.target, t.record_fields(), t.cached) for t in resumed] == [
        (t.target, t.record_fields(), t.cached) for t in clean
    ]
    assert stage_rows(path) == {"translate": 24}, "the journal is removed once the translations are stored"


# --- a translator that reads context ------------------------------------------------------------

S1 = "De man kwam thuis."
S2 = "Hij was moe."


def llm_cached(memory: TranslationMemory | None, context: int = 2) -> tuple[Any, CachedTranslator]:
    from pipeline.models.prompts import FAMILIES
    from pipeline.signature import PromptSection
    from tests.support.scripted_engine import ScriptedCausalEngine

    engine = ScriptedCausalEngine(default=lambda prompt: "A translation.")
    template = FAMILIES["tower"].translation
    inner = LLMTranslator(engine, {}, template, policy=GuardPolicy(mode="off"), context_size=context)
    signature = dataclasses.replace(
        signature_for("sha256:llm", translator=inner),
        prompt=PromptSection("tower", template.name, template.digest, context),
    )
    return engine, CachedTranslator(inner, memory, signature)


def test_cache_same_sentence_in_other_contexts_is_not_merged() -> None:
    engine, cached = llm_cached(None)
    results = cached.translate_batch([S2, S2, S2], contexts=[(S1,), ("Anders.",), (S1,)])
    assert len(engine.prompts) == 2, "two contexts: two translations; the repeat of the first is merged"
    assert cached.misses == 3 and not any(r.cached for r in results)


def test_cache_unchanged_context_hits_and_changed_context_size_translates_again(tmp_path: Path) -> None:
    contexts = [(), (S1,)]
    with TranslationMemory(tmp_path / "tm.sqlite3") as memory:
        engine, cached = llm_cached(memory)
        cached.translate_batch([S1, S2], contexts=contexts)
        assert len(engine.prompts) == 2
        engine, again = llm_cached(memory)
        assert all(r.cached for r in again.translate_batch([S1, S2], contexts=contexts))
        assert engine.prompts == [], "nothing changed: the memory serves both"
        engine, moved = llm_cached(memory)
        (fresh,) = moved.translate_batch([S2], contexts=[("Een andere zin.",)])
        assert not fresh.cached and len(engine.prompts) == 1, "another context is another translation"
        engine, wider = llm_cached(memory, context=3)
        assert not any(r.cached for r in wider.translate_batch([S1, S2], contexts=contexts))
        assert len(engine.prompts) == 2, "--context changed: translated again"


def test_cache_contexts_are_ignored_for_a_translator_without_context(tmp_path: Path) -> None:
    with TranslationMemory(tmp_path / "tm.sqlite3") as memory:
        cached = translator(memory)
        cached.translate_batch([TIGHT], contexts=[("Een.",)])
        (hit,) = translator(memory).translate_batch([TIGHT], contexts=[("Iets anders.",)])
    assert hit.cached


def test_cache_journal_replays_a_decode_with_its_word_links(tmp_path: Path) -> None:
    """A resumed run places inline markup from the links its decode came with, not from a second pass."""
    from pipeline.runs.cache import MemoryJournal

    memory = TranslationMemory(tmp_path / "memory.sqlite3")
    journal = MemoryJournal(memory, signature_for("sha256:scripted"))
    request = DecodeRequest({"num_beams": 1})
    linked = Candidate("The law.", -0.2, 3, ((0, 0), (1, 1)))
    unlinked = Candidate("A law.", -0.9, 3)
    journal.record([("De wet.", [linked, unlinked])], request)
    [replayed] = MemoryJournal(memory, signature_for("sha256:scripted")).recall(["De wet."], request).values()
    assert replayed == [linked, unlinked] and replayed[0].links == ((0, 0), (1, 1)) and replayed[1].links is None
    memory.close()
