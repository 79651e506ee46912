"""Instruct-model damage: the dev and held-out halves, seeding, and cleaning's changes to correct translations."""

from __future__ import annotations

from pipeline.evaluation.llm_damage import (
    LLM_KINDS,
    LLM_SPLITS,
    LLM_TEMPLATES,
    SPLITS,
    cleaning_changes,
    damage_llm,
    llm_damages,
)

NL = "De minister zei op dinsdag dat de regering 250 miljoen euro uittrekt voor nieuwe scholen in het land."
EN = "The minister said on Tuesday that the government is setting aside 250 million euros for new schools."


def test_llm_damage_halves_are_disjoint_and_cover_every_template() -> None:
    for kind, (_, templates) in LLM_TEMPLATES.items():
        dev, held = LLM_SPLITS[kind]["dev"], LLM_SPLITS[kind]["held"]
        assert not set(dev) & set(held), kind
        assert set(dev) | set(held) == set(templates) and dev and held
        if kind != "continuation":  # held-out templates written apart: more than half of each kind
            assert len(held) > len(dev), kind
    assert tuple(f"{kind}/{split}" for kind in LLM_TEMPLATES for split in SPLITS) == LLM_KINDS


def test_llm_damage_is_seeded_per_kind_split_and_row() -> None:
    following = ["The schools open in May."]
    for kind in LLM_TEMPLATES:
        for split in SPLITS:
            first = [damage_llm(kind, i, NL, EN, following, split) for i in range(30)]
            assert first == [damage_llm(kind, i, NL, EN, following, split) for i in range(30)]
            templates = LLM_SPLITS[kind][split]
            for damage in first:
                assert damage is not None and damage.kind == f"{kind}/{split}"
                assert templates[damage.detail["template"]]  # the template drawn is of this half
    pairs = [(NL, EN), ("Dag.", "Bye.")]
    assert llm_damages(pairs) == llm_damages(pairs)
    assert list(llm_damages(pairs)) == list(LLM_KINDS)


def test_llm_damage_cleaning_changes_names_what_it_would_cut() -> None:
    pairs = [(NL, EN), (NL, f"Here is the translation: {EN}"), ("Natuurlijk. Hij komt.", "Of course. He is coming.")]
    changes = cleaning_changes(pairs)
    assert [c["index"] for c in changes] == [1]
    assert changes[0]["cleaned"] == EN and changes[0]["stripped"][0]["kind"] == "preamble"
