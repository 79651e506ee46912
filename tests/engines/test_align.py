"""Word alignments from the model's cross-attention: in range, deterministic, the same on both engines."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.engines.ct2 import CT2Engine
from pipeline.engines.seq2seq import Links, TransformersEngine, attention_links, eager_attention, token_words
from pipeline.models.registry import fingerprint, resolve_model
from pipeline.quality.ladder import GuardPolicy
from pipeline.translation.translator import Seq2SeqTranslator
from tests.support.scripted_engine import ScriptedEngine
from tests.translation.test_translator import SENTENCES

# Hand-made English renderings of SENTENCES (the alignments of a pair, not the tiny model's output).
TARGETS = [
    "Russia and Belarus are holding talks on far-reaching integration.",
    "Minsk is not yet succumbing to the pressure.",
    "Ultimatum",
    "“It is our country.”",
    "Lukashenko, in power since 1994, must feel like an insect in a spider's web.",
    "His term as president ends in 2024.",
    "Moscow sees Belarus as a buffer against NATO.",
]


def engines(path: Path) -> tuple[TransformersEngine, CT2Engine]:
    model = resolve_model(str(path))
    return TransformersEngine(model), CT2Engine(model, fingerprint(model), compute_type="float32")


@pytest.fixture(scope="module")
def marian_engines(tiny_marian: Path) -> tuple[TransformersEngine, CT2Engine]:
    return engines(tiny_marian)


@pytest.fixture(params=["transformers", "ctranslate2"])
def engine(
    request: pytest.FixtureRequest, marian_engines: tuple[TransformersEngine, CT2Engine]
) -> TransformersEngine | CT2Engine:
    """Each engine of the tiny Marian in turn."""
    return marian_engines[0] if request.param == "transformers" else marian_engines[1]


def assert_in_range(links: Links | None, source: str, target: str) -> None:
    assert links is not None
    targets = [t for _, t in links]
    assert len(targets) == len(set(targets)), "each target word links to one source word"
    assert all(0 <= s < len(source.split()) and 0 <= t < len(target.split()) for s, t in links)


def test_align_links_point_at_words_of_the_pair(engine: TransformersEngine | CT2Engine) -> None:
    found = engine.align(SENTENCES, TARGETS)
    for links, source, target in zip(found, SENTENCES, TARGETS, strict=True):
        assert_in_range(links, source, target)
        assert links, "a pair of non-empty texts gets links"


def test_align_is_deterministic_whatever_the_batch(engine: TransformersEngine | CT2Engine) -> None:
    together = engine.align(SENTENCES, TARGETS)
    assert engine.align(SENTENCES, TARGETS) == together
    alone = [engine.align([s], [t])[0] for s, t in zip(SENTENCES, TARGETS, strict=True)]
    assert alone == together


def test_align_ct2_float32_gives_the_transformers_links(marian_engines: tuple[TransformersEngine, CT2Engine]) -> None:
    from tests.support.tiny import _dutch_corpus, _english_corpus

    hf, ct = marian_engines
    sources = [*SENTENCES, *_dutch_corpus()[:60:6]]
    targets = [*TARGETS, *_english_corpus()[:60:6]]  # the tiny corpora are parallel, line by line
    expected = hf.align(sources, targets)
    # the links must depend on the input, or agreeing would prove nothing
    sources_linked = [tuple(s for s, _ in links or ()) for links in expected]
    assert len(set(sources_linked)) >= len(sources) - 1
    assert sum(len({s for s, _ in links or ()}) > 1 for links in expected) >= len(sources) // 2
    assert ct.align(sources, targets) == expected


def test_align_ct2_returns_the_prefix_attention_of_head_zero_of_the_last_layer(
    marian_engines: tuple[TransformersEngine, CT2Engine],
) -> None:
    """What ``CT2Engine.align`` relies on: the forced target's rows, from the head Marian's guided alignment trains."""
    import torch

    hf, ct = marian_engines
    source, target = SENTENCES[1], TARGETS[1]
    tokenizer, net = hf.load()
    labels = tokenizer(text_target=target)["input_ids"]
    with torch.inference_mode(), eager_attention(net):
        out = net(
            **tokenizer([hf.prepare(source)], return_tensors="pt"),
            decoder_input_ids=torch.tensor([[net.config.decoder_start_token_id, *labels[:-1]]]),
            output_attentions=True,
        )
    heads = out.cross_attentions[-1][0]  # heads, target, source
    prefix = ct.target_tokens(target)
    assert len(prefix) == len(labels) - 1  # the same target tokens, less the end token
    result = ct.load().translate_batch(
        [ct.tokenizer.encode(source)],
        target_prefix=[prefix],
        beam_size=1,
        max_decoding_length=len(prefix) + 1,
        return_attention=True,
    )[0]
    rows = torch.tensor(result.attention[0][: len(prefix)])
    assert rows.shape == heads[0, : len(prefix)].shape
    assert torch.allclose(rows, heads[0, : len(prefix)], atol=1e-4)
    assert not torch.allclose(rows, heads.mean(dim=0)[: len(prefix)], atol=1e-2)


@pytest.mark.parametrize("backend", ["transformers", "ctranslate2"])
def test_align_empty_target_or_source_has_no_links(
    marian_engines: tuple[TransformersEngine, CT2Engine], backend: str
) -> None:
    engine = marian_engines[0] if backend == "transformers" else marian_engines[1]
    assert engine.align(["Minsk bezwijkt niet.", "", "Minsk"], ["", "Minsk", "  "]) == [(), (), ()]
    assert engine.align([], []) == []


@pytest.mark.parametrize("backend", ["transformers", "ctranslate2"])
def test_align_pair_beyond_the_context_is_none(
    marian_engines: tuple[TransformersEngine, CT2Engine], backend: str
) -> None:
    engine = marian_engines[0] if backend == "transformers" else marian_engines[1]
    long = " ".join(["onderhandelingen"] * engine.max_input_tokens)
    found = engine.align([long, SENTENCES[1]], ["negotiations", TARGETS[1]])
    assert found[0] is None
    assert found[1] == engine.align([SENTENCES[1]], [TARGETS[1]])[0]


@pytest.mark.parametrize("backend", ["transformers", "ctranslate2"])
def test_align_nllb_links_point_at_words_of_the_pair(tiny_nllb: Path, backend: str) -> None:
    hf, ct = engines(tiny_nllb)
    engine = hf if backend == "transformers" else ct
    for links, source, target in zip(engine.align(SENTENCES, TARGETS), SENTENCES, TARGETS, strict=True):
        assert_in_range(links, source, target)


def test_token_words_groups_pieces_by_word_start_marks() -> None:
    tokens = ["▁", "Minsk", "▁bez", "wij", "kt", "▁no", "g", "<unk>", ".", "</s>"]
    assert token_words("Minsk bezwijkt nog€.", tokens, {"</s>"}) == [0, 0, 1, 1, 1, 2, 2, 2, 2, None]
    assert token_words("Minsk says", ["M", "insk", "Ġsays", "</s>"], {"</s>"}) == [0, 0, 1, None]


def test_token_words_follows_a_normalisation_that_changed_the_spacing() -> None:
    # Moses normalisation writes "zegt(hij)" as "zegt (hij)": two token words for one text word
    tokens = ["▁zegt", "▁(", "hij", ")", "▁niets", "</s>"]
    assert token_words("zegt(hij) niets", tokens, {"</s>"}) == [0, 0, 0, 0, 1, None]
    # and the other way round: typographic quotes split off by the text, joined by the tokens
    assert token_words("„ Ja ” zei hij", ["▁„Ja”", "▁zei", "▁hij"], set()) == [0, 3, 4]


def test_attention_links_sum_subwords_and_take_the_strongest_source_word() -> None:
    source_words = [0, 0, 1, None]  # two tokens of word 0, one of word 1, the end token
    target_words = [0, 1, 1, None]
    attention = [
        [0.3, 0.3, 0.4, 0.0],  # word 0 gets 0.6 over its two tokens, more than word 1's 0.4
        [0.1, 0.0, 0.2, 0.7],  # the end token's weight counts for no word
        [0.0, 0.1, 0.3, 0.6],
        [0.0, 0.0, 0.0, 1.0],
    ]
    assert attention_links(attention, source_words, target_words) == ((0, 0), (1, 1))
    assert attention_links([[0.5, 0.5]], [0, 1], [0]) == ((0, 0),)  # a tie goes to the earlier word
    assert attention_links([[1.0]], [None], [0]) == ()


def test_translator_align_delegates_to_an_engine_that_aligns(tiny_marian: Path) -> None:
    hf, _ = engines(tiny_marian)
    translator = Seq2SeqTranslator(hf, {}, policy=GuardPolicy(mode="off"))
    assert translator.align(SENTENCES[:2], TARGETS[:2]) == hf.align(SENTENCES[:2], TARGETS[:2])


def test_translator_align_without_an_aligning_engine_is_none_for_each_pair() -> None:
    translator = Seq2SeqTranslator(ScriptedEngine({}), {}, policy=GuardPolicy(mode="off"))  # type: ignore[arg-type]
    assert translator.align(["een", "twee"], ["one", "two"]) == [None, None]
