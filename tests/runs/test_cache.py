"""The cache wrapper: hits are served with records equal to a fresh run's, whatever the spacing."""

from __future__ import annotations

from pathlib import Path

from pipeline.quality.glossary import builtin_glossary
from pipeline.quality.ladder import GuardPolicy
from pipeline.runs.cache import CachedTranslator
from pipeline.runs.memory import TranslationMemory
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
