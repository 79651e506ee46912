"""Word alignments from the model's cross-attention: in range, deterministic, the same on both engines;
on CTranslate2 they also come with each decoded hypothesis, equal to a forced pass over it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.engines.ct2 import CT2Engine
from pipeline.engines.protocol import Candidate, DecodeRequest
from pipeline.engines.seq2seq import Links, TransformersEngine, attention_links, eager_attention, token_words
from pipeline.models.decoding import decoding_settings
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


# --- links that come with the decode (CTranslate2: ``Candidate.links``) -------------------------------------


def generated_tokens(ct: CT2Engine, sources: list[str], request: DecodeRequest) -> list[list[str]]:
    """The best hypothesis of each source as the decoder read it: the forced prefix in, the end token out."""
    options = ct.options(request.settings)
    forced = request.settings.get("forced_bos_token_id")
    prefix = [[ct.tokenizer.id_to_token(forced)]] * len(sources) if isinstance(forced, int) else None
    results = ct.load().translate_batch([ct.tokenizer.encode(s) for s in sources], target_prefix=prefix, **options)
    end = options.get("end_token", "</s>")
    return [[t for t in r.hypotheses[0] if t != end] for r in results]


def assert_decode_links_are_align_links(
    ct: CT2Engine, sources: list[str], request: DecodeRequest, monkeypatch: pytest.MonkeyPatch
) -> list[Links | None]:
    """Each decoded hypothesis's links equal ``align(source, its target)``, the target read as it was generated.

    A random model's tokens rarely re-tokenise to themselves (it starts words with continuation
    pieces), so ``align`` is given the generated tokens as the target's tokenisation.
    """
    decoded = [c[0] for c in ct.decode(sources, request)]
    tokens = generated_tokens(ct, sources, request)
    by_text = {c.target: t for c, t in zip(decoded, tokens, strict=True)}
    assert len(by_text) == len(decoded), "distinct outputs, so each target names its tokens"
    monkeypatch.setattr(ct, "target_tokens", lambda text: by_text[text])
    expected = ct.align(sources, [c.target for c in decoded])
    assert [c.links for c in decoded] == expected
    return expected


def test_decode_ct2_greedy_links_equal_align_of_the_decoded_target(
    marian_engines: tuple[TransformersEngine, CT2Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.tiny import _dutch_corpus

    _, ct = marian_engines
    sources = [*SENTENCES, *_dutch_corpus()[:60:6]]
    request = DecodeRequest(decoding_settings(ct.model, {"num_beams": 1, "max_new_tokens": 20}))
    expected = assert_decode_links_are_align_links(ct, sources, request, monkeypatch)
    # the links must depend on the input, or agreeing would prove nothing
    assert len({tuple(s for s, _ in links or ()) for links in expected}) >= len(sources) - 2
    assert sum(len({s for s, _ in links or ()}) > 1 for links in expected) >= len(sources) // 2


def test_decode_ct2_nllb_links_read_the_forced_language_token_as_align_does(
    tiny_nllb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, ct = engines(tiny_nllb)
    request = DecodeRequest(decoding_settings(ct.model, {"num_beams": 1, "max_new_tokens": 12}))
    assert isinstance(request.settings.get("forced_bos_token_id"), int), "NLLB forces its target language"
    expected = assert_decode_links_are_align_links(ct, SENTENCES, request, monkeypatch)
    assert all(links for links in expected)


def test_decode_ct2_every_hypothesis_has_links_to_words_of_its_pair(
    marian_engines: tuple[TransformersEngine, CT2Engine],
) -> None:
    _, ct = marian_engines
    settings = decoding_settings(ct.model, {"num_beams": 4, "max_new_tokens": 10})
    nbest = ct.decode(SENTENCES, DecodeRequest(settings, num_return_sequences=3, scores=False))
    for source, candidates in zip(SENTENCES, nbest, strict=True):
        assert len({c.target for c in candidates}) > 1
        for candidate in candidates:
            assert_in_range(candidate.links, source, candidate.target)
            assert candidate.links, "a pair of non-empty texts gets links"
    assert ct.decode(["", "Minsk"], DecodeRequest(settings))[0][0].links == ()


def test_decode_transformers_gives_no_links(marian_engines: tuple[TransformersEngine, CT2Engine]) -> None:
    hf, _ = marian_engines
    settings = decoding_settings(hf.model, {"num_beams": 1, "max_new_tokens": 6})
    assert [c[0].links for c in hf.decode(SENTENCES[:2], DecodeRequest(settings))] == [None, None]


def test_translator_ct2_translation_carries_the_links_of_its_decode(
    marian_engines: tuple[TransformersEngine, CT2Engine],
) -> None:
    _, ct = marian_engines
    settings = decoding_settings(ct.model, {"num_beams": 2, "max_new_tokens": 12})
    translations = Seq2SeqTranslator(ct, settings, policy=GuardPolicy(mode="off")).translate_batch(SENTENCES)
    decoded = [c[0] for c in ct.decode(SENTENCES, DecodeRequest(settings, scores=False))]
    assert [t.target for t in translations] == [c.target for c in decoded]
    assert [t.links for t in translations] == [c.links for c in decoded]
    assert all(t.links for t in translations)


def test_candidate_links_read_back_from_json_are_pairs() -> None:
    stored = Candidate("Minsk holds", -0.2, 3, [[0, 0], [2, 1]])  # type: ignore[arg-type]
    assert stored.links == ((0, 0), (2, 1)) and stored == Candidate("Minsk holds", -0.2, 3, ((0, 0), (2, 1)))
    assert Candidate("Minsk holds").links is None
