"""Decoding settings as the checkpoint means them: generation config, config.json, task params, options."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipeline.models.decoding import DECODING_KEYS, resolve_decoding, summarization_decoding, translation_decoding
from pipeline.models.registry import resolve_model

# distilbart-cnn-12-6 keeps its decoding settings in config.json: some legacy top-level keys
# and the summarisation entry of task_specific_params (no generation_config.json).
LEGACY_TOP_LEVEL = {"num_beams": 2, "max_length": 30, "early_stopping": True, "force_bos_token_to_be_generated": True}
SUMMARIZATION = {
    "num_beams": 4, "length_penalty": 2.0, "max_length": 20, "min_length": 5, "no_repeat_ngram_size": 3,
    "early_stopping": True,
}  # fmt: skip


def old_layout(source: Path, target: Path, config_keys: dict[str, Any] | None = None) -> Path:
    """A copy of a tiny model laid out like an old hub checkpoint: no generation config, no tokenizer.json.

    The generation keys transformers wrote into the generation config move back into config.json
    (as old checkpoints had them), plus ``config_keys``.
    """
    shutil.copytree(source, target)
    generation = json.loads((target / "generation_config.json").read_text(encoding="utf-8"))
    for name in ("generation_config.json", "tokenizer.json", "special_tokens_map.json"):
        (target / name).unlink(missing_ok=True)
    config = json.loads((target / "config.json").read_text(encoding="utf-8"))
    for key in ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id", "forced_eos_token_id"):
        if key in generation:
            config[key] = generation[key]
    config.update(config_keys or {})
    (target / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    declared = json.loads((target / "tokenizer_config.json").read_text(encoding="utf-8")).get("model_max_length")
    (target / "tokenizer_config.json").write_text(json.dumps({"model_max_length": declared}), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def distilbart_layout(tiny_bart: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    keys = {**LEGACY_TOP_LEVEL, "task_specific_params": {"summarization": SUMMARIZATION}}
    return old_layout(tiny_bart, tmp_path_factory.mktemp("old") / "distilbart", keys)


def test_decoding_without_generation_config_reads_config_then_task_params(distilbart_layout: Path) -> None:
    decoding = summarization_decoding(resolve_model(str(distilbart_layout)))
    settings, sources = decoding.settings, decoding.sources
    for key, value in SUMMARIZATION.items():
        assert settings[key] == value and sources[key] == "task_specific_params", key
    assert settings["forced_bos_token_id"] == 0 and sources["forced_bos_token_id"] == "config"  # legacy flag
    assert settings["forced_eos_token_id"] == 2 and sources["forced_eos_token_id"] == "config"
    assert "default" not in sources.values(), "no default may replace what the checkpoint sets"
    assert set(settings) == set(sources) and set(settings) <= set(DECODING_KEYS)


def test_decoding_config_keys_match_transformers_generation_config(distilbart_layout: Path) -> None:
    """What transformers itself loads for a checkpoint without generation_config.json."""
    from transformers import AutoModelForSeq2SeqLM

    decoding = resolve_decoding(resolve_model(str(distilbart_layout)), "no-such-task")
    loaded = AutoModelForSeq2SeqLM.from_pretrained(str(distilbart_layout)).generation_config
    assert decoding.sources["num_beams"] == "config" and decoding.settings["num_beams"] == 2
    for key, value in decoding.settings.items():
        if decoding.sources[key] == "config":
            assert getattr(loaded, key) == value, key
    for key in DECODING_KEYS:  # every generation key transformers found in config.json, we found too
        if getattr(loaded, key, None) is not None and key in json.loads(
            (distilbart_layout / "config.json").read_text()
        ):
            assert key in decoding.settings, key


def test_decoding_translation_ignores_the_summarisation_entry(distilbart_layout: Path) -> None:
    decoding = translation_decoding(resolve_model(str(distilbart_layout)))
    assert decoding.settings["num_beams"] == 2 and decoding.sources["num_beams"] == "config"


def test_decoding_generation_config_comes_first(tiny_bart: Path) -> None:
    model = resolve_model(str(tiny_bart))
    decoding = summarization_decoding(model)
    generation = model.generation_config()
    assert decoding.settings["num_beams"] == generation["num_beams"]
    assert decoding.sources["num_beams"] == decoding.sources["max_length"] == "generation_config"


def test_decoding_options_win_and_replace_their_length_twin(tiny_marian: Path, tmp_path: Path) -> None:
    from tests.support.tiny import build_tiny_marian

    model = resolve_model(str(tiny_marian))
    tuned = translation_decoding(model, {"num_beams": 1, "max_new_tokens": 20, "length_penalty": None})
    assert tuned.settings["num_beams"] == 1 and tuned.sources["num_beams"] == "cli"
    assert tuned.settings["max_new_tokens"] == 20 and "max_length" not in tuned.settings
    fixed = resolve_model(str(build_tiny_marian(tmp_path / "fixed", layers=1, fixed_length=5)))
    assert translation_decoding(fixed).settings["max_new_tokens"] == 5
    longer = translation_decoding(fixed, {"max_length": 9})
    assert longer.settings["max_length"] == 9 and "max_new_tokens" not in longer.settings


def test_decoding_defaults_apply_only_to_unset_keys(distilbart_layout: Path, tmp_path: Path) -> None:
    bare = Path(shutil.copytree(distilbart_layout, tmp_path / "bare"))
    config = json.loads((bare / "config.json").read_text())
    for key in [*LEGACY_TOP_LEVEL, "task_specific_params"]:
        config.pop(key, None)
    (bare / "config.json").write_text(json.dumps(config))
    decoding = summarization_decoding(resolve_model(str(bare)))
    assert decoding.settings["num_beams"] == 1 and decoding.sources["num_beams"] == "default"
    assert decoding.settings["max_new_tokens"] == 256 and decoding.sources["max_new_tokens"] == "default"
    capped = summarization_decoding(resolve_model(str(bare)), {"max_length": 12})
    assert capped.settings["max_length"] == 12 and "max_new_tokens" not in capped.settings


def test_decoding_summariser_decodes_with_task_settings_and_records_sources(
    distilbart_layout: Path, english_sentences: list[str]
) -> None:
    from pipeline.engines.factory import EngineOptions
    from pipeline.runs.sessions import SummarizerSpec, open_summarizer

    session = open_summarizer(SummarizerSpec(str(distilbart_layout), engine=EngineOptions(backend="transformers")))
    summary = session.summarizer.summarize(" ".join(english_sentences[:3]))
    manifest = session.manifest(summary)
    assert manifest["decoding"]["num_beams"] == 4 and manifest["decoding"]["min_length"] == 5
    assert manifest["decoding_sources"]["num_beams"] == "task_specific_params"
    assert summary.text


def test_decoding_an_instruct_model_keeps_only_its_end_tokens(tiny_llama: Path, tmp_path: Path) -> None:
    """Qwen2.5-Instruct's generation config samples with a repetition penalty: translation takes neither."""
    model_dir = tmp_path / "qwen-like"
    shutil.copytree(tiny_llama, model_dir)
    generation = json.loads((model_dir / "generation_config.json").read_text(encoding="utf-8"))
    eos = generation["eos_token_id"]
    generation.update(do_sample=True, top_p=0.8, repetition_penalty=1.05, max_length=32768, num_beams=1)
    (model_dir / "generation_config.json").write_text(json.dumps(generation), encoding="utf-8")
    decoding = translation_decoding(resolve_model(str(model_dir)))
    assert decoding.settings == {"eos_token_id": eos, "num_beams": 1, "max_new_tokens": 256}
    assert decoding.sources == {
        "eos_token_id": "generation_config",
        "num_beams": "default",
        "max_new_tokens": "default",
    }
    # an option still wins
    assert translation_decoding(resolve_model(str(model_dir)), {"num_beams": 3}).settings["num_beams"] == 3
