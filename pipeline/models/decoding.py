"""Decoding settings as the checkpoint means them, and where each one came from.

The one place that decides how a model decodes, for every engine and both tasks:

1. the checkpoint's generation settings: ``generation_config.json`` when it has one;
   otherwise the generation keys of ``config.json``, read the way transformers builds a
   ``GenerationConfig`` from an old model config (``GenerationConfig.from_model_config``:
   ``None`` values ignored, ``force_bos_token_to_be_generated`` meaning ``forced_bos_token_id
   = bos_token_id``);
2. the task's ``task_specific_params`` entry in ``config.json`` (``summarization`` for
   summarisers, ``translation_nl_to_en`` for translators), over the above, as transformers'
   task pipelines applied it (old checkpoints such as distilbart-cnn keep their beam search
   and lengths only there);
3. the target language token of a many-to-many model (NLLB: ``eng_Latn`` as forced BOS);
4. explicit overrides (command-line options);
5. defaults, only for what none of the above sets: greedy search and at most 256 new tokens.

Greedy or beam search only, never sampling, so outputs are reproducible and cacheable.
:func:`resolve_decoding` returns the settings with the source of each
(``generation_config``, ``config``, ``task_specific_params``, ``target_language``, ``cli``,
``default``), which the manifest records beside them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.models.registry import ResolvedModel
from pipeline.signature import DecodingSection

# Settings that change what generate() produces; the rest of a generation config does not.
DECODING_KEYS: tuple[str, ...] = (
    "num_beams",
    "max_length",
    "max_new_tokens",
    "min_length",
    "min_new_tokens",
    "length_penalty",
    "no_repeat_ngram_size",
    "repetition_penalty",
    "early_stopping",
    "bad_words_ids",
    "forced_bos_token_id",
    "forced_eos_token_id",
    "decoder_start_token_id",
    "eos_token_id",
    "renormalize_logits",
)

DEFAULTS: dict[str, Any] = {"num_beams": 1, "max_new_tokens": 256}

# Task entries of ``task_specific_params`` each task reads, in order of preference.
TASK_ENTRIES: dict[str, tuple[str, ...]] = {
    "translation": ("translation_nl_to_en",),
    "summarization": ("summarization",),
}

# Pairs where the second (counted in new tokens) replaces the first (counted with the
# decoder start token) when both are set; of two sources, the later one wins.
_LENGTH_PAIRS = (("max_length", "max_new_tokens"), ("min_length", "min_new_tokens"))
_RANK = {"default": 0, "generation_config": 1, "config": 1, "task_specific_params": 2, "target_language": 3, "cli": 4}


@dataclass(frozen=True)
class Decoding:
    """Decoding settings and, per setting, the source it came from."""

    settings: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def signature(self, defaults: Mapping[str, Any]) -> DecodingSection:
        """The run signature's decoding section; ``defaults`` are the model's own (what the run name differs from)."""
        return DecodingSection(dict(self.settings), dict(self.sources), dict(defaults))


# What an instruct model's generation config may set here: its end tokens only. The rest is tuned for
# sampled chat (Qwen2.5-Instruct: repetition_penalty 1.05 beside top-p sampling) or counts the prompt
# (max_length); a translation or summary is greedy, unpenalised, bounded in new tokens.
CAUSAL_KEYS: tuple[str, ...] = ("eos_token_id",)


def checkpoint_generation(model: ResolvedModel) -> tuple[dict[str, Any], str]:
    """The checkpoint's own generation settings and their source, as transformers loads them.

    An instruct model (:attr:`ResolvedModel.is_causal_lm`) contributes only :data:`CAUSAL_KEYS`.
    """
    generation = model.generation_config()
    if model.is_causal_lm:
        source = "generation_config" if (model.path / "generation_config.json").is_file() else "config"
        found = generation if source == "generation_config" else model.config()
        return {k: found[k] for k in CAUSAL_KEYS if found.get(k) is not None}, source
    if (model.path / "generation_config.json").is_file():
        return {k: generation[k] for k in DECODING_KEYS if generation.get(k) is not None}, "generation_config"
    config = model.config()
    settings = {k: config[k] for k in DECODING_KEYS if config.get(k) is not None}
    legacy_bos = config.get("force_bos_token_to_be_generated") and config.get("bos_token_id") is not None
    if legacy_bos and "forced_bos_token_id" not in settings:
        settings["forced_bos_token_id"] = config["bos_token_id"]
    return settings, "config"


def task_params(model: ResolvedModel, task: str) -> dict[str, Any]:
    """The decoding keys of the task's ``task_specific_params`` entry (empty when it has none)."""
    entries = model.config().get("task_specific_params") or {}
    for name in TASK_ENTRIES.get(task, (task,)):
        entry = entries.get(name)
        if isinstance(entry, dict):
            return {k: entry[k] for k in DECODING_KEYS if entry.get(k) is not None}
    return {}


def resolve_decoding(
    model: ResolvedModel,
    task: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    forced_bos_token_id: int | None = None,
) -> Decoding:
    """The settings ``model`` decodes with for ``task``, and where each came from.

    ``forced_bos_token_id`` is the target language token of a many-to-many model;
    ``overrides`` with a ``None`` value are ignored.
    """
    settings: dict[str, Any] = {}
    sources: dict[str, str] = {}

    def apply(values: Mapping[str, Any], source: str) -> None:
        for key, value in values.items():
            if value is None:
                continue
            for longer, newer in _LENGTH_PAIRS:  # a length set here replaces its twin from earlier sources
                twin = newer if key == longer else longer if key == newer else None
                if twin and twin in settings and _RANK[sources[twin]] < _RANK[source]:
                    del settings[twin], sources[twin]
            settings[key] = value
            sources[key] = source

    base, base_source = checkpoint_generation(model)
    apply(base, base_source)
    apply(task_params(model, task), "task_specific_params")
    if forced_bos_token_id is not None:
        apply({"forced_bos_token_id": forced_bos_token_id}, "target_language")
    apply(dict(overrides or {}), "cli")
    for key, value in DEFAULTS.items():
        twins = [pair for pair in _LENGTH_PAIRS if key in pair]
        if key not in settings and not any(k in settings for pair in twins for k in pair):
            settings[key] = value
            sources[key] = "default"
    for longer, newer in _LENGTH_PAIRS:  # both from one source: transformers lets *_new_tokens win
        if longer in settings and newer in settings:
            del settings[longer], sources[longer]
    return Decoding(settings, sources)


def translation_decoding(model: ResolvedModel, overrides: Mapping[str, Any] | None = None) -> Decoding:
    """A translator's settings: a many-to-many model is forced to start with the target language."""
    from pipeline.models.languages import target_language_id

    return resolve_decoding(model, "translation", overrides, forced_bos_token_id=target_language_id(model))


def summarization_decoding(model: ResolvedModel, overrides: Mapping[str, Any] | None = None) -> Decoding:
    return resolve_decoding(model, "summarization", overrides)


def decoding_settings(model: ResolvedModel, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A translator's decoding settings, without their sources."""
    return translation_decoding(model, overrides).settings


def summarizer_settings(model: ResolvedModel, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A summariser's decoding settings, without their sources."""
    return summarization_decoding(model, overrides).settings
