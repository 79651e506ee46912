"""The prompts of instruct models: one place that owns every word nl2en says to an LLM.

A prompt is a :class:`PromptTemplate`: a system message (empty: none) and a user message, each a
jinja2 template written out below as a module constant. The engine puts the messages through the
model's own chat template (``CausalEngine.render``); nothing here knows a chat format.

Templates are chosen by model family (:data:`FAMILIES`; :func:`family_of` reads the model's config
and name): ``eurollm`` (EuroLLM-Instruct, the instruction of its model card), ``qwen2``
(Qwen2.5-Instruct, which needs a system message or its template adds its own), ``tower``
(TowerInstruct, its documented prompt exactly: ``Translate the following text from Dutch into
English.\\nDutch: …\\nEnglish:``) and ``generic`` for any other instruct model.

What every translation prompt can carry:

- ``context``: the previous sentences of the document, marked as context not to translate;
- ``terms``: the glossary terms the sentence uses, as instructions (``Translate "Poetin" as "Putin".``);
- ``strict``: the retry's stricter wording (the translation only: no preamble, note or question).

A template's :attr:`PromptTemplate.digest` is the sha256 of its text: the run signature and every
cache key hold it, so changing one word of a prompt computes its outputs again.

jinja2 is used because it is what the models' own chat templates are written in (transformers
renders them with it), it is installed with transformers, and its ``StrictUndefined`` turns a
misspelt variable into an error instead of an empty string.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.models.registry import ResolvedModel

Message = dict[str, str]
Conversation = list[Message]
SummaryStage = Literal["whole", "part", "combine"]

# --- the shared pieces of the translation prompts ------------------------------------------------

_CONTEXT = """\
{% if context %}
Earlier sentences of the same article, for context only (do not translate them):
{% for sentence in context %}
{{ sentence }}
{% endfor %}

{% endif %}"""

_TERMS = """\
{% if terms %}
Use these translations of names and terms:
{% for term in terms %}
- Translate "{{ term.nl }}" as "{{ term.en }}".
{% endfor %}

{% endif %}"""

_STRICT = """\
{% if strict %}
Reply with the English translation of the Dutch text only: no introduction, no notes, no explanations, \
no questions.

{% endif %}"""

# --- translation, per family ---------------------------------------------------------------------

# EuroLLM-1.7B-Instruct's model card opens its translation prompt with an empty system turn.
EUROLLM_SYSTEM: str | None = ""
EUROLLM_USER = (
    _CONTEXT
    + _TERMS
    + _STRICT
    + """\
Translate the following Dutch source text to English:
Dutch: {{ source }}
English:"""
)

# Without a system turn, Qwen2.5's template adds its own ("You are Qwen, created by Alibaba Cloud…").
QWEN2_SYSTEM: str | None = (
    "You are a professional translator of Dutch news into English. You reply with the translation only."
)
QWEN2_USER = (
    _CONTEXT
    + _TERMS
    + _STRICT
    + """\
Translate the following Dutch text into English.
Dutch: {{ source }}
English:"""
)

TOWER_SYSTEM: str | None = None  # TowerInstruct's documented prompt is one user turn
TOWER_USER = (
    _CONTEXT
    + _TERMS
    + _STRICT
    + """\
Translate the following text from Dutch into English.
Dutch: {{ source }}
English:"""
)

GENERIC_SYSTEM: str | None = "You translate Dutch news into English. You reply with the English translation only."
GENERIC_USER = QWEN2_USER

# --- summaries (one wording for every family) ----------------------------------------------------

SUMMARY_SYSTEM = "You are a news editor who writes short, faithful English summaries of news articles."
SUMMARY_USER = """\
{% if stage == "combine" %}
The following are summaries of consecutive parts of one news article. Combine them into one English summary \
of the whole article
{%- elif stage == "part" %}
The following is one part of a longer {{ language }} news article. Summarise this part
{%- if language != "English" %} in English{% endif %}
{%- else %}
Summarise the following {{ language }} news article
{%- if language != "English" %} in English{% endif %}
{%- endif %}
{% if sentences %} in at most {{ sentences }} sentence{{ "s" if sentences != 1 }}
{%- elif words %} in at most {{ words }} words
{%- endif %}. Use only facts stated in the text. Reply with the summary only.

{{ "Summaries" if stage == "combine" else "Article" }}:
{{ text }}

Summary:"""


@dataclass(frozen=True)
class PromptTemplate:
    """A named pair of message templates; :attr:`digest` (sha256 of their text) identifies it in keys.

    ``system`` None: no system turn; ``""``: an empty one (what some model cards show).
    """

    name: str
    system: str | None
    user: str

    @property
    def digest(self) -> str:
        text = json.dumps({"system": self.system, "user": self.user}, ensure_ascii=False, sort_keys=True)
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

    def render(self, **values: Any) -> Conversation:
        """The messages with ``values`` filled in (a variable the template names but ``values`` lacks is an error)."""
        messages: Conversation = []
        if self.system is not None:
            messages.append({"role": "system", "content": _compiled(self.system).render(**values)})
        messages.append({"role": "user", "content": _compiled(self.user).render(**values)})
        return messages


@functools.cache
def _compiled(text: str) -> Any:
    import jinja2

    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    return environment.from_string(text)


# --- families --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptFamily:
    """The prompts of one model family."""

    name: str
    translation: PromptTemplate
    summary: PromptTemplate


def _family(name: str, system: str | None, user: str) -> PromptFamily:
    return PromptFamily(
        name,
        PromptTemplate(f"translate/{name}", system, user),
        PromptTemplate(f"summarize/{name}", SUMMARY_SYSTEM, SUMMARY_USER),
    )


FAMILIES: dict[str, PromptFamily] = {
    family.name: family
    for family in (
        _family("eurollm", EUROLLM_SYSTEM, EUROLLM_USER),
        _family("qwen2", QWEN2_SYSTEM, QWEN2_USER),
        _family("tower", TOWER_SYSTEM, TOWER_USER),
        _family("generic", GENERIC_SYSTEM, GENERIC_USER),
    )
}

# Words of a model's hub id, path or alias that name its family (checked in this order), for
# families whose config does not: EuroLLM and TowerInstruct are ``llama`` models.
_NAMED_FAMILIES = (("tower", "tower"), ("eurollm", "eurollm"), ("qwen2", "qwen2"))
_MODEL_TYPES = {"qwen2": "qwen2"}


def family_of(config: Mapping[str, Any], *names: str | None) -> str:
    """The prompt family of a model: from its name (hub id, path, alias) first, then its ``model_type``."""
    for name in names:
        lowered = (name or "").lower()
        for word, family in _NAMED_FAMILIES:
            if word in lowered:
                return family
    return _MODEL_TYPES.get(str(config.get("model_type", "")), "generic")


def model_family(model: ResolvedModel) -> PromptFamily:
    """The prompts for ``model`` (see :func:`family_of`)."""
    return FAMILIES[family_of(model.config(), model.hub_id, model.name, model.path.name)]


def get_family(name: str) -> PromptFamily:
    """The family called ``name``; a ``ValueError`` naming the known ones otherwise."""
    if name not in FAMILIES:
        raise ValueError(f"unknown prompt family {name!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[name]


# --- filling them in -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TermInstruction:
    """A glossary term a sentence uses: its Dutch form as the sentence has it, and the English to use."""

    nl: str
    en: str


def translation_messages(
    template: PromptTemplate,
    source: str,
    context: Sequence[str] = (),
    terms: Sequence[TermInstruction] = (),
    *,
    strict: bool = False,
) -> Conversation:
    """The messages that ask for ``source``'s translation (``context``: earlier sentences, not to translate)."""
    return template.render(source=source, context=list(context), terms=list(terms), strict=strict)


def summary_messages(
    template: PromptTemplate,
    text: str,
    *,
    language: str = "en",
    sentences: int | None = None,
    words: int | None = None,
    stage: SummaryStage = "whole",
) -> Conversation:
    """The messages that ask for an English summary of ``text`` (``language``: ``en`` or ``nl``)."""
    return template.render(
        text=text, language=LANGUAGE_NAMES.get(language, language), sentences=sentences, words=words, stage=stage
    )


LANGUAGE_NAMES = {"en": "English", "nl": "Dutch"}
