"""Prompts: each family's messages written out in full, with and without context and glossary terms."""

from __future__ import annotations

import hashlib
import json

import pytest

from pipeline.models.prompts import (
    FAMILIES,
    PromptTemplate,
    TermInstruction,
    family_of,
    summary_messages,
    translation_messages,
)

SOURCE = "Poetin sprak gisteren in Moskou."
CONTEXT = ["Het was koud.", "De pers wachtte."]
TERMS = [TermInstruction("Poetin", "Putin"), TermInstruction("Moskou", "Moscow")]

PLAIN_TAIL = {
    "eurollm": (
        "Translate the following Dutch source text to English:\nDutch: Poetin sprak gisteren in Moskou.\nEnglish:"
    ),
    "qwen2": "Translate the following Dutch text into English.\nDutch: Poetin sprak gisteren in Moskou.\nEnglish:",
    "tower": "Translate the following text from Dutch into English.\nDutch: Poetin sprak gisteren in Moskou.\nEnglish:",
    "generic": "Translate the following Dutch text into English.\nDutch: Poetin sprak gisteren in Moskou.\nEnglish:",
}
SYSTEMS = {
    "eurollm": "",
    "qwen2": "You are a professional translator of Dutch news into English. You reply with the translation only.",
    "tower": None,
    "generic": "You translate Dutch news into English. You reply with the English translation only.",
}
CONTEXT_BLOCK = (
    "Earlier sentences of the same article, for context only (do not translate them):\n"
    "Het was koud.\nDe pers wachtte.\n\n"
)
TERMS_BLOCK = (
    'Use these translations of names and terms:\n- Translate "Poetin" as "Putin".\n'
    '- Translate "Moskou" as "Moscow".\n\n'
)
STRICT_BLOCK = (
    "Reply with the English translation of the Dutch text only: no introduction, no notes, no explanations, "
    "no questions.\n\n"
)


def expected(family: str, user: str) -> list[dict[str, str]]:
    system = SYSTEMS[family]
    head = [] if system is None else [{"role": "system", "content": system}]
    return [*head, {"role": "user", "content": user}]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_prompts_translation_without_context_or_terms(family: str) -> None:
    messages = translation_messages(FAMILIES[family].translation, SOURCE)
    assert messages == expected(family, PLAIN_TAIL[family])


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_prompts_translation_with_context_and_terms(family: str) -> None:
    messages = translation_messages(FAMILIES[family].translation, SOURCE, CONTEXT, TERMS)
    assert messages == expected(family, CONTEXT_BLOCK + TERMS_BLOCK + PLAIN_TAIL[family])


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_prompts_translation_context_only_terms_only_and_strict(family: str) -> None:
    template = FAMILIES[family].translation
    assert translation_messages(template, SOURCE, CONTEXT) == expected(family, CONTEXT_BLOCK + PLAIN_TAIL[family])
    assert translation_messages(template, SOURCE, (), TERMS) == expected(family, TERMS_BLOCK + PLAIN_TAIL[family])
    strict = translation_messages(template, SOURCE, strict=True)
    assert strict == expected(family, STRICT_BLOCK + PLAIN_TAIL[family])


def test_prompts_tower_is_its_documented_prompt_exactly() -> None:
    (only,) = translation_messages(FAMILIES["tower"].translation, "Hallo.")
    assert only == {
        "role": "user",
        "content": "Translate the following text from Dutch into English.\nDutch: Hallo.\nEnglish:",
    }


def test_prompts_a_source_with_line_breaks_stays_whole() -> None:
    messages = translation_messages(FAMILIES["tower"].translation, "Regel een.\nRegel twee.")
    assert messages[-1]["content"].endswith("Dutch: Regel een.\nRegel twee.\nEnglish:")


def test_prompts_summary_of_english_in_sentences() -> None:
    (system, user) = summary_messages(FAMILIES["qwen2"].summary, "The text.", sentences=3)
    assert system == {
        "role": "system",
        "content": "You are a news editor who writes short, faithful English summaries of news articles.",
    }
    assert user["content"] == (
        "Summarise the following English news article in at most 3 sentences. Use only facts stated in the text. "
        "Reply with the summary only.\n\nArticle:\nThe text.\n\nSummary:"
    )


def test_prompts_summary_from_dutch_in_words_and_one_sentence() -> None:
    template = FAMILIES["eurollm"].summary
    words = summary_messages(template, "De tekst.", language="nl", words=60)[-1]["content"]
    assert words == (
        "Summarise the following Dutch news article in English in at most 60 words. Use only facts stated in the "
        "text. Reply with the summary only.\n\nArticle:\nDe tekst.\n\nSummary:"
    )
    one = summary_messages(template, "T.", sentences=1)[-1]["content"]
    assert one.startswith("Summarise the following English news article in at most 1 sentence. Use")


def test_prompts_summary_stages_of_map_reduce() -> None:
    template = FAMILIES["generic"].summary
    part = summary_messages(template, "Deel.", language="nl", sentences=2, stage="part")[-1]["content"]
    assert part == (
        "The following is one part of a longer Dutch news article. Summarise this part in English in at most 2 "
        "sentences. Use only facts stated in the text. Reply with the summary only.\n\nArticle:\nDeel.\n\nSummary:"
    )
    combine = summary_messages(template, "A.\nB.", sentences=2, stage="combine")[-1]["content"]
    assert combine == (
        "The following are summaries of consecutive parts of one news article. Combine them into one English "
        "summary of the whole article in at most 2 sentences. Use only facts stated in the text. Reply with the "
        "summary only.\n\nSummaries:\nA.\nB.\n\nSummary:"
    )


def test_prompts_digest_is_the_sha256_of_the_template_text() -> None:
    template = PromptTemplate("t", "Sys", "User {{ source }}")
    text = json.dumps({"system": "Sys", "user": "User {{ source }}"}, ensure_ascii=False, sort_keys=True)
    assert template.digest == "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert PromptTemplate("t", "Sys", "User: {{ source }}").digest != template.digest
    assert PromptTemplate("t", None, "User {{ source }}").digest != template.digest


def test_prompts_every_template_has_its_own_digest() -> None:
    digests = [f.translation.digest for f in FAMILIES.values() if f.name != "generic"]
    assert len(set(digests)) == len(digests)
    assert FAMILIES["qwen2"].summary.digest == FAMILIES["tower"].summary.digest  # one summary wording for all


def test_prompts_a_missing_value_is_an_error_not_an_empty_string() -> None:
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        FAMILIES["tower"].translation.render(source="x")  # context, terms and strict not given


@pytest.mark.parametrize(
    ("config", "names", "family"),
    [
        ({"model_type": "llama"}, ("utter-project/EuroLLM-1.7B-Instruct",), "eurollm"),
        ({"model_type": "llama"}, (None, "eurollm-1.7b-instruct"), "eurollm"),
        ({"model_type": "llama"}, ("Unbabel/TowerInstruct-7B-v0.2",), "tower"),
        ({"model_type": "qwen2"}, ("Qwen/Qwen2.5-1.5B-Instruct",), "qwen2"),
        ({"model_type": "qwen2"}, (None, "/models/local/my-model"), "qwen2"),
        ({"model_type": "llama"}, ("meta-llama/Llama-3.2-1B-Instruct",), "generic"),
        ({}, (), "generic"),
    ],
)
def test_prompts_family_from_name_then_config(
    config: dict[str, str], names: tuple[str | None, ...], family: str
) -> None:
    assert family_of(config, *names) == family
