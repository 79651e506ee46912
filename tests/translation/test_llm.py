"""The instruct-model translator: prompts with context and terms, cleaning, guards and retries.

A scripted causal engine (``tests.support.scripted_engine.ScriptedCausalEngine``) answers each
prompt as the test says; the tiny random Llama runs the real engines end to end (never asserting on
its wording).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.models.prompts import FAMILIES
from pipeline.quality.glossary import builtin_glossary
from pipeline.quality.ladder import GuardPolicy
from pipeline.translation.llm import LLMTranslator, llm_policy
from tests.support.scripted_engine import ScriptedCausalEngine

TEMPLATE = FAMILIES["tower"].translation
S1 = "De man kwam gisteren thuis na een lange reis."
T1 = "The man came home yesterday after a long journey."
OTHERS = [f"Dit is zin nummer {i} van het verhaal over de lange reis." for i in range(1, 9)]
STRICT = "Reply with the English translation of the Dutch text only"


def story(prompt: str) -> str:
    """A faithful reply to any of ``OTHERS``."""
    number = prompt.split("nummer ")[-1].split()[0]
    return f"This is sentence number {number} of the story about the long journey."


def translator(engine: ScriptedCausalEngine, **kwargs: object) -> LLMTranslator:
    options: dict[str, object] = {"policy": llm_policy(GuardPolicy()), **kwargs}
    return LLMTranslator(engine, {"max_new_tokens": 64}, TEMPLATE, **options)  # type: ignore[arg-type]


def test_llm_chatter_is_flagged_and_retried_with_the_strict_prompt() -> None:
    engine = ScriptedCausalEngine({S1: ["I'm sorry, I cannot translate that.", T1]}, default=story)
    results = translator(engine).translate_batch([S1, *OTHERS], groups=["doc"] * 9)
    first = results[0]
    assert first.target == T1 and first.flags == ()
    assert [a["rung"] for a in first.attempts] == ["normal", "wider_beam"]
    assert first.attempts[0]["flags"][0]["name"] == "chatter"
    assert [a["strict"] for a in first.attempts] == [False, True]
    asked = [p for p in engine.prompts if S1 in p]
    assert len(asked) == 2 and STRICT not in asked[0] and STRICT in asked[1]
    assert all(r.flags == () and len(r.attempts) == 1 for r in results[1:]), "unflagged segments are not retried"


def test_llm_added_content_is_flagged_and_retried() -> None:
    added = T1 + " He was tired."  # longer by a sentence, within the length band
    engine = ScriptedCausalEngine({S1: [added, T1]}, default=story)
    first = translator(engine).translate_batch([S1, *OTHERS], groups=["doc"] * 9)[0]
    assert [f["name"] for f in first.attempts[0]["flags"]] == ["added_content"]
    assert first.target == T1 and first.flags == ()


def test_llm_a_flagged_reply_stays_flagged_in_flag_mode() -> None:
    engine = ScriptedCausalEngine({S1: ["I'm sorry, I cannot translate that.", T1]})
    (only,) = translator(engine, policy=llm_policy(GuardPolicy(mode="flag"))).translate_batch([S1])
    assert only.flags == ("chatter",) and len(engine.prompts) == 1


def test_llm_cleaning_and_prompt_digest_are_recorded() -> None:
    engine = ScriptedCausalEngine({S1: [f'Here is the translation:\n"{T1}"\n\n(Note: literal.)']})
    (only,) = translator(engine).translate_batch([S1])
    assert only.target == T1 and only.flags == ()
    (attempt,) = only.attempts
    assert attempt["prompt"] == TEMPLATE.digest
    assert [c["kind"] for c in attempt["cleaned"]] == ["preamble", "lines", "quotes"]
    assert only.meta()["attempts"][0]["cleaned"] == attempt["cleaned"], "the cache keeps the record"


def test_llm_prompt_carries_the_last_n_sentences_as_context() -> None:
    engine = ScriptedCausalEngine({S1: [T1]})
    translator(engine, context_size=2).translate_batch([S1], contexts=[("Een.", "Twee.", "Drie.")])
    (prompt,) = engine.prompts
    assert "context only (do not translate them):\nTwee.\nDrie.\n" in prompt and "Een." not in prompt
    engine = ScriptedCausalEngine({S1: [T1]})
    translator(engine, context_size=0).translate_batch([S1], contexts=[("Een.", "Twee.")])
    assert "context" not in engine.prompts[0]


def test_llm_glossary_terms_are_instructions_and_checked() -> None:
    source = "Poetin sprak gisteren in Moskou met de pers."
    engine = ScriptedCausalEngine({source: ["Poetin spoke to the press in Moscow yesterday."]})
    (only,) = translator(engine, glossary=builtin_glossary()).translate_batch([source])
    (prompt,) = engine.prompts
    assert '- Translate "Poetin" as "Putin".\n- Translate "Moskou" as "Moscow".' in prompt
    assert f"Dutch: {source}\n" in prompt, "the model reads the Dutch as written, terms given as instructions"
    assert only.target == "Putin spoke to the press in Moscow yesterday."  # the glossary repair
    assert [(t["nl"], t["status"]) for t in only.terms] == [("Poetin", "repaired"), ("Moskou", "applied")]


def test_llm_segment_key_holds_prompt_context_used_and_glossary() -> None:
    plain = translator(ScriptedCausalEngine(), context_size=1)
    key = plain.segment_key(S1, ("Een.", "Twee."))
    assert key == {"prompt": TEMPLATE.digest, "context": ["Twee."]}
    assert plain.segment_key(S1, ("Anders.", "Twee.")) == key, "only the context actually used counts"
    assert plain.segment_key(S1) == {"prompt": TEMPLATE.digest, "context": []}
    with_glossary = translator(ScriptedCausalEngine(), glossary=builtin_glossary())
    assert "glossary" in with_glossary.segment_key("Poetin sprak.") and "glossary" not in with_glossary.segment_key(S1)


def test_llm_same_sentence_in_two_contexts_gets_two_prompts() -> None:
    engine = ScriptedCausalEngine({S1: [T1]})
    results = translator(engine).translate_batch([S1, S1], contexts=[("Een.",), ("Twee.",)])
    assert len(engine.prompts) == 2 and [r.target for r in results] == [T1, T1]
    assert "Een." in engine.prompts[0] and "Twee." in engine.prompts[1]


def test_llm_a_prompt_too_long_drops_its_context_then_splits_the_sentence() -> None:
    long = "De regering, die al maanden onder druk staat, kondigde gisteren aan dat de belasting omlaag gaat."
    context = ("Een lange zin over iets anders dat eerder in het artikel stond en veel woorden heeft.",)
    engine = ScriptedCausalEngine(default=lambda prompt: "A piece.")
    base = len(TEMPLATE.render(source="", context=[], terms=[], strict=True)[0]["content"].split()) + 2
    fits_alone = translator(engine, context_size=2)
    fits_alone.settings["max_new_tokens"] = 8
    engine.context_tokens = base + len(long.split()) + 8
    (alone,) = fits_alone.translate_batch([long], contexts=[context])
    assert "context" not in engine.prompts[0] and alone.pieces == 1
    engine.calls.clear()
    engine.context_tokens = base + 8 + 8
    (split,) = fits_alone.translate_batch([long], contexts=[context])
    assert split.pieces > 1 and "split" in split.flags
    assert all(len(p.split()) <= engine.context_tokens - 8 for p in engine.prompts)


# --- end to end: the tiny Llama through the session, on both backends --------------------------


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.tiny_llm import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("llm") / "tiny-llama")


@pytest.mark.parametrize("backend", ["transformers", "ctranslate2"])
def test_llm_tiny_llama_through_open_translator(tiny_llama: Path, tmp_path: Path, backend: str) -> None:
    from pipeline.engines.factory import EngineOptions
    from pipeline.runs.sessions import CacheSpec, TranslatorSpec, open_translator

    sources = ["Poetin sprak in Moskou.", "De man kwam thuis.", "Hij was moe."]
    contexts = [(), (sources[0],), (sources[0], sources[1])]
    options = EngineOptions(backend=backend, compute_type="float32")
    spec = TranslatorSpec(str(tiny_llama), {"max_new_tokens": 8}, options, context=1)
    session = open_translator(spec, CacheSpec(tmp_path / "tm.sqlite3"))
    try:
        assert type(session.translator.inner).__name__ == "LLMTranslator"
        assert session.signature.prompt is not None and session.signature.prompt.context == 1
        assert session.run_name.endswith("context1")
        first = session.translator.translate_batch(sources, ["doc"] * 3, contexts)
        again = session.translator.translate_batch(sources, ["doc"] * 3, contexts)
    finally:
        session.close()
    assert len(first) == 3 and not any(t.cached for t in first)
    assert all(t.cached for t in again) and [t.target for t in again] == [t.target for t in first]
    assert all(a["prompt"] == session.signature.prompt.digest for t in first for a in t.attempts)


def test_llm_shared_prefix_is_the_common_opening_up_to_a_line_break() -> None:
    from pipeline.translation.llm import shared_prefix

    prompts = ["<|im_start|>system\nBe exact.\n<|im_start|>user\nVertaal: A", "<|im_start|>system\nBe exact.\nX"]
    assert shared_prefix(prompts) == "<|im_start|>system\nBe exact.\n"
    assert shared_prefix(prompts[:1]) is None and shared_prefix(["ab\ncd", "xy\ncd"]) is None


def test_llm_static_prompt_on_ctranslate2_changes_no_translation(
    tiny_llama: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shared system turn goes to CTranslate2 as its static prompt; the translations are the same without."""
    import pipeline.engines.ct2_generator as generator
    import pipeline.translation.llm as llm
    from pipeline.engines.factory import EngineOptions
    from pipeline.runs.sessions import NO_CACHE, TranslatorSpec, open_translator

    sources = ["Poetin sprak in Moskou.", "De man kwam thuis.", "Hij was moe.", "Het kabinet vergadert morgen."]
    spec = TranslatorSpec(str(tiny_llama), {"max_new_tokens": 8}, EngineOptions(compute_type="float32"), context=0)
    used: list[int] = []
    real_split = generator.CT2GeneratorEngine.static_split

    def counted(self: object, prompts: list[str], ids: list[list[int]], prefix: str | None) -> int:
        tokens = real_split(self, prompts, ids, prefix)  # type: ignore[arg-type]
        used.append(tokens)
        return tokens

    monkeypatch.setattr(generator.CT2GeneratorEngine, "static_split", counted)
    results = {}
    for label in ("static", "plain"):
        if label == "plain":
            monkeypatch.setattr(llm, "shared_prefix", lambda prompts: None)
        session = open_translator(spec, NO_CACHE)
        try:
            results[label] = [t.target for t in session.translator.translate_batch(sources)]
        finally:
            session.close()
        if label == "static":
            assert max(used) > 0, "the prompts' shared opening was used as the static prompt"
            used.clear()
    assert len(set(results["plain"])) > 1, "the tiny model answers differently to different sentences"
    assert results["static"] == results["plain"] and not any(used)
