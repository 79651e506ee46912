"""Engine options, engines, sessions: one options value, the cache key, the default run name."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from pipeline.engines.ct2 import CT2Engine
from pipeline.engines.factory import EngineOptions, make_engine
from pipeline.engines.seq2seq import TransformersEngine
from pipeline.models.decoding import decoding_settings
from pipeline.models.registry import resolve_model
from pipeline.runs.memory import cache_key
from pipeline.runs.sessions import (
    NO_CACHE,
    SummarizerSession,
    SummarizerSpec,
    TranslatorSession,
    TranslatorSpec,
    open_summarizer,
    open_translator,
)
from tests.support.signatures import signature_for

# Engine fields that are not in the engine's signature section, and why they cannot change the
# tokens: the model is keyed by its fingerprint; threads and batching change speed only (batch
# composition is tested not to change outputs in test_reliability).
NOT_IN_SIGNATURE = {"model", "fingerprint", "threads", "batch_size", "max_batch_tokens"}


@pytest.mark.parametrize("engine_class", [TransformersEngine, CT2Engine])
def test_engines_signature_holds_every_field_that_can_change_tokens(tiny_marian: Path, engine_class: Any) -> None:
    model = resolve_model(str(tiny_marian))
    make = (lambda **kw: engine_class(model, **kw)) if engine_class is TransformersEngine else (
        lambda **kw: engine_class(model, "sha256:model", **kw))  # fmt: skip
    base = make(device="cpu")
    section = base.signature()
    public = {f.name for f in dataclasses.fields(base) if not f.name.startswith("_")}
    described = {k for k, v in section.identity().items() if v is not None}
    assert public - NOT_IN_SIGNATURE <= described | {"device"}, "every other engine field is in its signature"
    signatures = {
        device: dataclasses.replace(signature_for("sha256:model"), engine=make(device=device).signature())
        for device in ("cpu", "cuda", "cuda:1")
    }
    keys = {device: cache_key("translate", s.key_fields(), "Een zin.") for device, s in signatures.items()}
    assert keys["cpu"] != keys["cuda"], "CPU and GPU outputs never share entries"
    assert keys["cuda"] == keys["cuda:1"], "which card of a kind does not matter"


def test_engines_make_engine_takes_one_options_value(tiny_marian: Path) -> None:
    model = resolve_model(str(tiny_marian))
    engine = make_engine(model, "x", EngineOptions(backend="ctranslate2", compute_type="float32", threads=2,
                                                   batch_size=4))  # fmt: skip
    assert (engine.backend, engine.compute_type, engine.threads, engine.batch_size) == ("ctranslate2", "float32", 2, 4)
    assert make_engine(model, "x", EngineOptions(backend="transformers", device="cpu")).backend == "transformers"


def test_engines_default_run_name_names_what_differs(tiny_marian: Path) -> None:
    model = resolve_model(str(tiny_marian))
    default_beams = decoding_settings(model)["num_beams"]
    other = 1 if default_beams != 1 else 3

    def opened(**fields: Any) -> TranslatorSession:
        return open_translator(TranslatorSpec(str(tiny_marian), **fields), NO_CACHE)

    sessions = {
        "plain": opened(),
        "beams": opened(overrides={"num_beams": other}),
        "same": opened(overrides={"num_beams": default_beams}),
        "engine": opened(engine=EngineOptions(backend="ctranslate2", compute_type="float32")),
        "threads": opened(engine=EngineOptions(threads=3, batch_size=2)),
    }
    names = {label: session.run_name for label, session in sessions.items()}
    assert names == {
        "plain": "tiny-marian",
        "beams": f"tiny-marian-beams{other}",
        "same": "tiny-marian",
        "engine": "tiny-marian-ctranslate2-float32",
        "threads": "tiny-marian",
    }


def test_engines_summarizer_run_name_and_file(tiny_bart: Path) -> None:
    extractive = open_summarizer(SummarizerSpec("extractive", sentences=2))
    assert (extractive.run_name, extractive.file) == ("extractive-sentences2", "summary.extractive.txt")
    assert open_summarizer(SummarizerSpec("extractive")).run_name == "extractive"
    bart = open_summarizer(SummarizerSpec(str(tiny_bart), engine=EngineOptions(backend="transformers")))
    assert isinstance(bart, SummarizerSession) and bart.abstractive
    assert (bart.run_name, bart.file) == ("tiny-bart-transformers", "summary.tiny-bart.txt")


def test_engines_run_name_names_guard_mode_and_glossary(tiny_marian: Path, tmp_path: Path) -> None:
    from pipeline.quality.glossary import load_glossary

    terms = tmp_path / "terms.tsv"
    terms.write_text("Zelenski\tZelensky\n", encoding="utf-8")
    names = {
        label: open_translator(TranslatorSpec(str(tiny_marian), **kwargs), NO_CACHE).run_name  # type: ignore[arg-type]
        for label, kwargs in {
            "default": {},
            "off": {"guards": "off"},
            "none": {"glossary": None, "guards": "flag"},
            "file": {"glossary": load_glossary(terms)},
        }.items()
    }
    digest = load_glossary(terms).digest()[:8]
    assert names == {
        "default": "tiny-marian",
        "off": "tiny-marian-guards-off",
        "none": "tiny-marian-guards-flag-no-glossary",
        "file": f"tiny-marian-glossary-{digest}",
    }


def test_sessions_specs_check_their_choices_when_built(tmp_path: Path) -> None:
    """A bad guard mode or executor fails where the command builds its options, before any model is resolved."""
    from pipeline.errors import ExecutorError, GuardModeError
    from pipeline.runs.sessions import CacheSpec, ExecutorOptions

    with pytest.raises(GuardModeError, match="sometimes"):
        TranslatorSpec("no-such-model", guards="sometimes")
    with pytest.raises(ExecutorError, match="choose one of local, ray"):
        ExecutorOptions(kind="spark")
    assert NO_CACHE.open() is None
    memory = CacheSpec(tmp_path / "memory.sqlite3").open()
    assert memory is not None and memory.path == tmp_path / "memory.sqlite3"
    memory.close()


def test_sessions_window_follows_the_executor(tiny_marian: Path) -> None:
    from pipeline.runs.batch import REMOTE_WINDOW, Window

    session = open_translator(TranslatorSpec(str(tiny_marian)), NO_CACHE)
    assert session.window == Window() and REMOTE_WINDOW.documents > Window().documents


# --- instruct models ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.tiny_llm import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("sessions-llm") / "tiny-llama")


def test_sessions_llm_specs_check_context_and_length() -> None:
    from pipeline.errors import OptionsError

    assert TranslatorSpec("m").context == 2
    with pytest.raises(OptionsError, match="--context"):
        TranslatorSpec("m", context=-1)
    with pytest.raises(OptionsError, match="--words"):
        SummarizerSpec("m", words=0)


def test_sessions_llm_signature_records_family_prompt_and_context(tiny_llama: Path, tiny_marian: Path) -> None:
    from pipeline.signature import RunSignature

    llm = open_translator(TranslatorSpec(str(tiny_llama)), NO_CACHE)
    wider = open_translator(TranslatorSpec(str(tiny_llama), context=0), NO_CACHE)
    marian = open_translator(TranslatorSpec(str(tiny_marian)), NO_CACHE)
    prompt = llm.signature.prompt
    assert prompt is not None and (prompt.family, prompt.template, prompt.context) == (
        "generic",
        "translate/generic",
        2,
    )
    assert marian.signature.prompt is None and "prompt:" not in marian.signature.format()
    assert "prompt:generic@" in llm.signature.format()
    assert llm.run_name == "tiny-llama" and wider.run_name == "tiny-llama-context0"
    key = cache_key("translate", llm.signature.key_fields(), "Zin.")
    assert key != cache_key("translate", wider.signature.key_fields(), "Zin."), "--context is keyed"
    again = RunSignature.from_manifest(llm.translator.manifest())
    assert again.prompt == prompt and again.key_fields() == llm.signature.key_fields()
    assert llm.signature.quality is not None and llm.signature.quality.policy["min_beams"] == 2


def test_sessions_llm_summarizer_any_alias_and_source_side(tiny_llama: Path) -> None:
    english = open_summarizer(SummarizerSpec(str(tiny_llama)))
    dutch = open_summarizer(SummarizerSpec(str(tiny_llama), source_side=True, sentences=5))
    assert english.signature.prompt is not None and english.signature.prompt.options["sentences"] == 3
    assert dutch.signature.prompt is not None and dutch.signature.prompt.options["language"] == "nl"
    assert english.run_name == "tiny-llama" and dutch.run_name == "tiny-llama-sentences5"
    assert english.signature.key_fields() != dutch.signature.key_fields()


def test_sessions_llm_summaries_refuse_the_ray_executor(tiny_llama: Path) -> None:
    """Instruct models translate on Ray (tests/runs/test_ray_executor.py); their summaries stay local."""
    from pipeline.errors import ExecutorError
    from pipeline.runs.sessions import ExecutorOptions

    with pytest.raises(ExecutorError, match="instruct LLM"):
        open_summarizer(SummarizerSpec(str(tiny_llama), executor=ExecutorOptions("ray")))
