"""The CTranslate2 backend: same tokens as transformers (float32, greedy), int8, conversion reuse."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from pipeline.engines.ct2 import CT2Engine, MarianSentencePiece, conversion_dir, convert_model, ct2_options
from pipeline.engines.factory import EngineOptions, make_engine
from pipeline.engines.seq2seq import TransformersEngine
from pipeline.models.decoding import decoding_settings, summarizer_settings
from pipeline.models.registry import fingerprint, resolve_model
from tests.conftest import SEED
from tests.translation.test_translator import SENTENCES


def engines(path: Path, compute_type: str = "float32") -> tuple[TransformersEngine, CT2Engine]:
    model = resolve_model(str(path))
    return TransformersEngine(model), CT2Engine(model, fingerprint(model), compute_type=compute_type)


def hf_tokens(engine: TransformersEngine, text: str, settings: dict[str, Any]) -> list[str]:
    """Content tokens of a direct generate() call (specials and forced tokens removed)."""
    import torch

    tokenizer, net = engine.load()
    with torch.inference_mode():
        out = net.generate(**tokenizer([engine.prepare(text)], return_tensors="pt"), **settings, do_sample=False)
    special = set(tokenizer.all_special_tokens) - {tokenizer.unk_token}
    return [t for t in tokenizer.convert_ids_to_tokens(out[0].tolist()) if t not in special]


def ct2_tokens(
    engine: CT2Engine, text: str, settings: dict[str, Any], drop: Collection[str] = ("<s>", "</s>")
) -> list[str]:
    translator = engine.load()
    options = engine.options(settings)
    forced = settings.get("forced_bos_token_id")
    prefix = [[engine.tokenizer.id_to_token(forced)]] if isinstance(forced, int) else None
    result = translator.translate_batch([engine.tokenizer.encode(text)], target_prefix=prefix, **options)
    return [t for t in result[0].hypotheses[0] if t not in drop]


@pytest.mark.parametrize("max_new", [6, 20])
def test_ct2_marian_greedy_float32_gives_the_same_tokens(tiny_marian: Path, max_new: int) -> None:
    hf, ct = engines(tiny_marian)
    settings = decoding_settings(hf.model, {"num_beams": 1, "max_new_tokens": max_new})
    assert settings.get("forced_eos_token_id") is not None, "the tiny model must mirror opus-mt's forced EOS"
    pairs = [(hf_tokens(hf, s, settings), ct2_tokens(ct, s, settings)) for s in SENTENCES]
    assert len({tuple(a) for a, _ in pairs}) >= 4, "tiny model gives the same output for every input"
    for a, b in pairs:
        assert a == b


def test_ct2_marian_engine_text_matches_transformers(tiny_marian: Path) -> None:
    hf, ct = engines(tiny_marian)
    settings = decoding_settings(hf.model, {"num_beams": 1, "max_new_tokens": 12})
    assert ct.generate(SENTENCES, settings) == hf.generate(SENTENCES, settings)


def test_ct2_marian_tokenisation_matches_marian_tokenizer(tiny_marian: Path) -> None:
    hf = TransformersEngine(resolve_model(str(tiny_marian)))
    tokenizer, _ = hf.load()
    ours = MarianSentencePiece(tiny_marian)
    for text in [*SENTENCES, "„Zeg ’t maar” – zei hij…  € 1.200,50 — 10%", "ﬁjn café naïef"]:
        expected = tokenizer.convert_ids_to_tokens(tokenizer(hf.prepare(text))["input_ids"])
        assert ours.encode(text) == expected


def test_ct2_bart_greedy_float32_gives_the_same_tokens(tiny_bart: Path, english_sentences: list[str]) -> None:
    hf, ct = engines(tiny_bart)
    settings = summarizer_settings(hf.model, {"num_beams": 1, "max_length": 16, "min_length": 4})
    texts = [" ".join(english_sentences[i : i + 2]) for i in (0, 10, 20, 30)]
    pairs = [(hf_tokens(hf, t, settings), ct2_tokens(ct, t, settings)) for t in texts]
    assert len({tuple(a) for a, _ in pairs}) >= 2
    for a, b in pairs:
        assert a == b


def test_ct2_int8_runs_end_to_end_and_conversion_is_reused(tiny_marian: Path) -> None:
    model = resolve_model(str(tiny_marian))
    digest = fingerprint(model)
    path = convert_model(model, digest, "int8")
    assert path == conversion_dir(model, "int8") and (path / "model.bin").is_file()
    stamp = (path / "model.bin").stat().st_mtime_ns
    assert convert_model(model, digest, "int8") == path
    assert (path / "model.bin").stat().st_mtime_ns == stamp, "an up-to-date conversion must be reused"
    assert json.loads((path / "nl2en-source.json").read_text())["fingerprint"] == digest
    engine = CT2Engine(model, digest, compute_type="int8")
    out = engine.generate(SENTENCES, decoding_settings(model, {"max_new_tokens": 8}))
    assert len(out) == len(SENTENCES) and all(isinstance(text, str) and n <= 8 for text, n in out)


def test_ct2_auto_backend_picks_ctranslate2_for_supported_models(
    tiny_marian: Path, tiny_bart: Path, tiny_pegasus: Path, tiny_nllb: Path
) -> None:
    for path in (tiny_marian, tiny_bart, tiny_pegasus, tiny_nllb):
        assert make_engine(resolve_model(str(path)), "x").backend == "ctranslate2", path.name
    model = resolve_model(str(tiny_marian))
    assert make_engine(model, "x").backend == "ctranslate2"
    assert make_engine(model, "x", EngineOptions(backend="transformers")).backend == "transformers"


def test_ct2_options_map_generation_settings_explicitly() -> None:
    settings = {
        "num_beams": 4, "max_length": 512, "min_length": 3, "length_penalty": 2.0, "no_repeat_ngram_size": 3,
        "repetition_penalty": 1.2, "forced_eos_token_id": 0, "eos_token_id": 0, "bad_words_ids": [[5]],
    }  # fmt: skip
    vocab = {"</s>", "<pad>", "x"}
    options = ct2_options(settings, lambda i: {0: "</s>", 5: "<pad>"}.get(i, "x"), vocab)
    assert options["beam_size"] == 4 and options["max_decoding_length"] == 510  # start token and forced EOS
    assert options["min_decoding_length"] == 2 and options["length_penalty"] == 2.0
    assert options["no_repeat_ngram_size"] == 3 and options["repetition_penalty"] == 1.2
    assert options["end_token"] == "</s>" and options["suppress_sequences"] == [["<pad>"]]
    assert options["max_input_length"] == 0
    fixed = ct2_options({"max_new_tokens": 64, "min_new_tokens": 64}, str, set())
    assert fixed["max_decoding_length"] == fixed["min_decoding_length"] == 64


def test_ct2_converted_run_imports_neither_torch_nor_transformers(cli: Any, tiny_marian: Path, tmp_path: Path) -> None:
    model = resolve_model(str(tiny_marian))
    convert_model(model, fingerprint(model), "int8")
    result = cli(
        "translate", str(SEED), "--model", str(tiny_marian), "--backend", "ctranslate2", "--no-cache",
        "--out", str(tmp_path), "--max-new-tokens", "4", env={"PYTHONPROFILEIMPORTTIME": "1"},
    )  # fmt: skip
    err = result.stderr.decode()
    assert result.returncode == 0, err[-2000:]
    imported = {line.rsplit("|", 1)[1].strip() for line in err.splitlines() if line.startswith("import time:")}
    assert "ctranslate2" in imported and "sentencepiece" in imported
    assert not {"torch", "transformers", "sacremoses.tokenize"} & imported


TRICKY = [
    "  Leading spaces, trailing spaces  ",
    "“Curly quotes” and ‘single’ ones — dashes – and… ellipses",
    "Numbers: 1,234.56 €3bn 12.5% 08:30 #12 @The_Hague",
    "naïve café Zürich Kraków São Paulo ß ﬁ ligature",
    "Tabs\tand\nnewlines\n\nand   runs   of spaces",
    "don't won't it's I'm they're y'all",
    "Emoji 🙂 and CJK 東京 and Arabic مرحبا",
    "<s> </s> <mask> <pad> look like special tokens",
    "",
]


@pytest.fixture(scope="module")
def distilbart_layout(tiny_bart: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny BART as distilbart-cnn is on the hub: vocab.json + merges.txt, no tokenizer.json."""
    from tests.models.test_decoding import old_layout

    path = old_layout(tiny_bart, tmp_path_factory.mktemp("ct2-old") / "distilbart")
    assert not (path / "tokenizer.json").exists() and (path / "merges.txt").is_file()
    return path


def test_ct2_bart_without_tokenizer_json_tokenises_like_transformers(distilbart_layout: Path) -> None:
    hf, ct = engines(distilbart_layout)
    tokenizer, _ = hf.load()
    for text in [*TRICKY, *SENTENCES]:
        expected = tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"])
        assert ct.tokenizer.encode(text) == expected, text
    saved = ct.load() and ct._path
    assert saved is not None and (saved / "tokenizer.json").is_file()
    assert not (distilbart_layout / "tokenizer.json").exists(), "the checkpoint directory is left as it was"


def test_ct2_bart_without_tokenizer_json_gives_the_same_tokens(
    distilbart_layout: Path, english_sentences: list[str]
) -> None:
    hf, ct = engines(distilbart_layout)
    assert make_engine(hf.model, "x").backend == "ctranslate2", "auto must pick CTranslate2 for this layout"
    settings = summarizer_settings(hf.model, {"num_beams": 1, "max_length": 16, "min_length": 4})
    texts = [" ".join(english_sentences[i : i + 2]) for i in (0, 10, 20, 30)]
    pairs = [(hf_tokens(hf, t, settings), ct2_tokens(ct, t, settings)) for t in texts]
    assert len({tuple(a) for a, _ in pairs}) >= 2, "tiny model gives the same output for every input"
    for a, b in pairs:
        assert a == b
    assert ct.generate(texts, settings) == hf.generate(texts, settings)


def test_ct2_pegasus_without_tokenizer_json_tokenises_like_transformers(tiny_pegasus: Path, tmp_path: Path) -> None:
    from tests.models.test_decoding import old_layout

    path = old_layout(tiny_pegasus, tmp_path / "pegasus")
    hf, ct = engines(path)
    tokenizer, _ = hf.load()
    for text in [*TRICKY, *SENTENCES]:
        expected = tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"])
        assert ct.tokenizer.encode(text) == expected, text


def test_ct2_pegasus_greedy_float32_gives_the_same_tokens(tiny_pegasus: Path, english_sentences: list[str]) -> None:
    hf, ct = engines(tiny_pegasus)
    tokenizer, _ = hf.load()
    special = set(tokenizer.all_special_tokens) - {tokenizer.unk_token}  # <unk_2>… are special in PEGASUS
    settings = summarizer_settings(hf.model, {"num_beams": 1, "max_length": 16, "min_length": 4})
    texts = [" ".join(english_sentences[i : i + 2]) for i in (0, 10, 20, 30)]
    pairs = [(hf_tokens(hf, t, settings), ct2_tokens(ct, t, settings, special)) for t in texts]
    assert len({tuple(a) for a, _ in pairs}) >= 2, "tiny model gives the same output for every input"
    for a, b in pairs:
        assert a == b


def test_ct2_nllb_vocabulary_holds_language_codes_at_the_tokenizer_ids(tiny_nllb: Path) -> None:
    hf, ct = engines(tiny_nllb)
    tokenizer, net = hf.load()
    path = convert_model(ct.model, ct.fingerprint, "float32")
    vocabulary = json.loads((path / "shared_vocabulary.json").read_text(encoding="utf-8"))
    assert len(vocabulary) == net.config.vocab_size
    for code in ("eng_Latn", "nld_Latn", "<mask>", "</s>", "<unk>"):
        assert vocabulary[tokenizer.convert_tokens_to_ids(code)] == code, code
    assert vocabulary.index("eng_Latn") == decoding_settings(ct.model)["forced_bos_token_id"]


def test_ct2_nllb_tokenisation_matches_nllb_tokenizer(tiny_nllb: Path) -> None:
    hf, ct = engines(tiny_nllb)
    tokenizer, _ = hf.load()
    assert type(tokenizer).__name__ == "NllbTokenizer" and tokenizer.src_lang == "nld_Latn"
    for text in [*SENTENCES, *TRICKY]:
        expected = tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"])
        assert expected[0] == "nld_Latn" and expected[-1] == "</s>"
        assert ct.tokenizer.encode(text) == expected, text


def test_ct2_nllb_greedy_float32_gives_the_same_tokens(tiny_nllb: Path) -> None:
    hf, ct = engines(tiny_nllb)
    settings = decoding_settings(hf.model, {"num_beams": 1, "max_new_tokens": 10})
    tokenizer, _ = hf.load()
    assert settings["forced_bos_token_id"] == tokenizer.convert_tokens_to_ids("eng_Latn")
    special = set(tokenizer.all_special_tokens) - {tokenizer.unk_token}  # the language codes among them
    pairs = [(hf_tokens(hf, s, settings), ct2_tokens(ct, s, settings, special)) for s in SENTENCES]
    assert len({tuple(a) for a, _ in pairs}) >= 4, "tiny model gives the same output for every input"
    for a, b in pairs:
        assert a == b
    assert ct.generate(SENTENCES, settings) == hf.generate(SENTENCES, settings)
    beams = decoding_settings(hf.model, {"num_beams": 2, "max_new_tokens": 10})
    assert ct.generate(SENTENCES, beams) == hf.generate(SENTENCES, beams)


def test_ct2_nllb_translate_command_records_the_forced_language(cli: Any, tiny_nllb: Path, tmp_path: Path) -> None:
    result = cli(
        "translate", str(SEED), "--model", str(tiny_nllb), "--no-cache", "--out", str(tmp_path),
        "--max-new-tokens", "4", "--run-name", "nllb",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    manifest = json.loads(next(tmp_path.glob("*/nllb/manifest.json")).read_text(encoding="utf-8"))
    translator = manifest["translator"]
    assert translator["engine"]["backend"] == "ctranslate2"
    assert translator["decoding_sources"]["forced_bos_token_id"] == "target_language"
    assert translator["decoding_sources"]["max_new_tokens"] == "cli"
    english = json.loads((tiny_nllb / "tokenizer.json").read_text(encoding="utf-8"))
    ids = {t["content"]: t["id"] for t in english["added_tokens"]}
    assert translator["decoding"]["forced_bos_token_id"] == ids["eng_Latn"]
