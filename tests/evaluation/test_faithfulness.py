"""Summary faithfulness: entity precision, number precision, key-fact recall."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.evaluation import score
from pipeline.evaluation.faithfulness import entity_precision, faithfulness, number_precision, summary_entities
from pipeline.evaluation.references import load_references
from pipeline.quality.glossary import builtin_glossary

SOURCE = (
    "Belarusian President Alexander Lukashenko met Vladimir Putin in Sochi on 6 December. "
    "Russia gives Belarus 15 percent off its gas and lent it 1.5 billion dollars in 2019."
)


@pytest.mark.parametrize(
    ("summary", "entities"),
    [
        ("Lukashenko met Putin in Sochi.", ["Putin", "Sochi"]),
        ("He met Russian President Vladimir Putin.", ["Russian President Vladimir Putin"]),
        ("They spoke. Moscow agreed with Minsk's plan.", ["Minsk"]),
        ("“Kyiv is far,” said Jane Doe.", ["Jane Doe"]),
        ("nothing capitalised here", []),
    ],
)
def test_faithfulness_summary_entities(summary: str, entities: list[str]) -> None:
    assert summary_entities(summary) == entities


def test_faithfulness_glossary_names_count_even_at_sentence_start() -> None:
    assert summary_entities("Lukashenko met him.") == []
    assert summary_entities("Lukashenko met him.", builtin_glossary()) == ["Lukashenko"]
    # A glossary name inside a longer span is not counted twice.
    assert summary_entities("He met Vladimir Putin.", builtin_glossary()) == ["Vladimir Putin"]


def test_faithfulness_entity_precision() -> None:
    result = entity_precision("Lukashenko met Vladimir Putin and Dmitry Peskov in Sochi.", SOURCE, builtin_glossary())
    assert result["supported"] == ["Vladimir Putin", "Sochi", "Lukashenko"]
    assert result["unsupported"] == ["Dmitry Peskov"]
    assert result["precision"] == pytest.approx(3 / 4)
    titled = entity_precision("They met. Then President Vladimir Putin left.", SOURCE)
    assert titled["supported"] == ["President Vladimir Putin"]  # each word is in the source
    wrong_title = entity_precision("They met. Then Russian President Vladimir Putin left.", SOURCE)
    assert wrong_title["precision"] == 0.0  # the source never says "Russian"
    assert entity_precision("no names at all", SOURCE)["precision"] is None


def test_faithfulness_number_precision_uses_the_guards_normalisation() -> None:
    result = number_precision("On December 6, Russia cut 15% and lent $1.5 billion, not 2 billion, in 2019.", SOURCE)
    assert result["supported"] == ["December 6", "15%", "1.5 billion", "2019"]
    assert result["unsupported"] == ["2 billion"]
    assert result["precision"] == pytest.approx(4 / 5)
    assert number_precision("No numbers.", SOURCE)["precision"] is None


def test_faithfulness_reuses_key_fact_recall() -> None:
    result = faithfulness("Putin met Lukashenko in Sochi.", SOURCE, ["Putin", "Sochi", "2019"], builtin_glossary())
    assert result["key_fact_recall"] == score.key_fact_recall(
        ["Putin", "Sochi", "2019"], "Putin met Lukashenko in Sochi."
    )
    assert result["key_fact_recall"]["missing"] == ["2019"]
    assert result["entity_precision"]["precision"] == 1.0 and result["number_precision"]["precision"] is None


def test_faithfulness_reference_summary_is_faithful_to_reference_translation() -> None:
    refs = load_references(next(Path("seeds").glob("*.refs.toml")))
    assert refs.summary is not None
    source = " ".join(s.en for s in refs.translations)
    result = faithfulness(refs.summary.reference, source, refs.summary.key_facts, builtin_glossary())
    assert result["entity_precision"]["precision"] == 1.0, result["entity_precision"]["unsupported"]
    assert result["number_precision"]["precision"] == 1.0 and result["key_fact_recall"]["recall"] == 1.0
    swapped = refs.summary.reference.replace("Sochi", "Kazan").replace("2024", "2026")
    worse = faithfulness(swapped, source, refs.summary.key_facts, builtin_glossary())
    assert "Kazan" in worse["entity_precision"]["unsupported"]
    assert worse["number_precision"]["unsupported"] == ["2026"]


def test_faithfulness_a_capital_inside_a_word_is_no_entity() -> None:
    from pipeline.evaluation.faithfulness import summary_entities

    assert summary_entities("The talks went on in tok125Mde and jjJj, said Putin.") == ["Putin"]
