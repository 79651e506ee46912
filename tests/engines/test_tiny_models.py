"""Tests for tests.support.tiny: the random-weight stand-ins must load like the real checkpoints.

Never assert on the wording of generated text -- the weights are random.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import transformers

from tests.support import tiny as tiny_models

DUTCH = [
    "Het kabinet heeft woensdag besloten dat de belasting omhoog gaat.",
    "De minister zegt dat de economie groeit.",
    "„Dat zal nooit gebeuren zolang ik de leiding heb”, bezweert Loekasjenko.",
    "Rusland en Wit-Rusland voeren gesprekken over vergaande integratie.",
    "Sinds 1994 is hij aan de macht; Minsk bezwijkt nog niet onder de druk.",
]
ENGLISH = [
    "The cabinet decided on Wednesday that taxes will go up.",
    "The minister says that the economy is growing.",
    "“That will never happen as long as I am in charge,” Lukashenko insists.",
    "Russia and Belarus are holding talks on far-reaching integration.",
    "He has been in power since 1994; Minsk is not yet giving in to the pressure.",
]
FIXED_LENGTH = 9

Builder = Callable[..., Path]
BUILDERS: dict[str, tuple[Builder, list[str]]] = {
    "marian": (tiny_models.build_tiny_marian, DUTCH),
    "bart": (tiny_models.build_tiny_bart, ENGLISH),
    "pegasus": (tiny_models.build_tiny_pegasus, ENGLISH),
    "nllb": (tiny_models.build_tiny_nllb, DUTCH),
}


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Each family built once (default settings and fixed length) for the whole module."""
    root = tmp_path_factory.mktemp("tiny_models")
    out: dict[str, Path] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        for name, (build, _) in BUILDERS.items():
            out[name] = build(root / name)
            out[f"{name}-fixed"] = build(root / f"{name}-fixed", fixed_length=FIXED_LENGTH)
        yield out


def _load(path: Path) -> tuple[Any, Any]:
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(path).eval()
    return tokenizer, model


def _generate(path: Path, texts: list[str], **kwargs: Any) -> Any:
    tokenizer, model = _load(path)
    batch = tokenizer(texts, return_tensors="pt", padding=True)
    with torch.no_grad():
        return model.generate(**batch, **kwargs)


def _weights_digest(path: Path) -> str:
    from safetensors.torch import load_file

    tensors = load_file(str(path / "model.safetensors"))
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].contiguous().numpy().tobytes())
    return digest.hexdigest()


def test_tiny_models_import_is_cheap() -> None:
    code = (
        "import sys; import tests.support.tiny; "
        "heavy = {'torch', 'transformers', 'sentencepiece', 'tokenizers'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_tiny_models_training_corpus_is_deterministic_and_bilingual() -> None:
    corpus = tiny_models.training_corpus()
    assert corpus == tiny_models.training_corpus()
    assert 300 <= len(corpus) <= 2000
    text = " ".join(corpus)
    assert " het " in text and " the " in text
    assert len(set(corpus)) > 0.9 * len(corpus)


def test_tiny_models_architecture_constants_match_hub_configs() -> None:
    marian = tiny_models.MARIAN_OPUS_NL_EN
    assert marian["vocab_size"] == 67028 and marian["d_model"] == 512
    assert (marian["encoder_layers"], marian["decoder_layers"]) == (6, 6)
    assert marian["encoder_attention_heads"] == 8 and marian["encoder_ffn_dim"] == 2048
    assert marian["max_position_embeddings"] == 512
    bart = tiny_models.DISTILBART_CNN_12_6
    assert bart["vocab_size"] == 50264 and bart["d_model"] == 1024
    assert (bart["encoder_layers"], bart["decoder_layers"]) == (12, 6)
    assert bart["encoder_attention_heads"] == 16 and bart["encoder_ffn_dim"] == 4096
    assert bart["max_position_embeddings"] == 1024


def test_tiny_models_marian_vocab_has_pad_last(built: dict[str, Path]) -> None:
    path = built["marian"]
    vocab = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
    assert vocab["</s>"] == 0 and vocab["<unk>"] == 1
    assert vocab["<pad>"] == len(vocab) - 1 == max(vocab.values())
    assert sorted(vocab.values()) == list(range(len(vocab)))
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    assert config["vocab_size"] == len(vocab) == 800
    assert config["pad_token_id"] == config["decoder_start_token_id"] == len(vocab) - 1
    assert config["eos_token_id"] == 0
    assert config["activation_function"] == "swish" and config["scale_embedding"] is True
    generation = json.loads((path / "generation_config.json").read_text(encoding="utf-8"))
    assert generation["bad_words_ids"] == [[len(vocab) - 1]]
    assert generation["forced_eos_token_id"] == 0
    for name in ("source.spm", "target.spm", "tokenizer_config.json", "model.safetensors"):
        assert (path / name).is_file()


def test_tiny_models_marian_loads_with_marian_classes(built: dict[str, Path]) -> None:
    tokenizer = transformers.MarianTokenizer.from_pretrained(built["marian"])
    model = transformers.MarianMTModel.from_pretrained(built["marian"])
    assert tokenizer.pad_token_id == model.config.pad_token_id == len(tokenizer) - 1
    assert tokenizer.eos_token_id == 0


@pytest.mark.parametrize("name", list(BUILDERS))
def test_tiny_models_tokenizer_round_trips(built: dict[str, Path], name: str) -> None:
    tokenizer = transformers.AutoTokenizer.from_pretrained(built[name])
    for text in BUILDERS[name][1] + DUTCH:
        ids = tokenizer(text)["input_ids"]
        assert tokenizer.unk_token_id not in ids, text
        assert ids[-1] == tokenizer.eos_token_id
        assert tokenizer.decode(ids, skip_special_tokens=True) == text


def test_tiny_models_bart_special_tokens(built: dict[str, Path]) -> None:
    path = built["bart"]
    for name in ("vocab.json", "merges.txt", "tokenizer.json"):
        assert (path / name).is_file()
    vocab = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
    assert [vocab[t] for t in ("<s>", "<pad>", "</s>", "<unk>")] == [0, 1, 2, 3]
    assert vocab["<mask>"] == len(vocab) - 1
    tokenizer, model = _load(path)
    assert len(tokenizer) == model.config.vocab_size == 800
    ids = tokenizer(ENGLISH[0])["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2
    generation = model.generation_config
    assert generation.forced_bos_token_id == 0 and generation.forced_eos_token_id == 2
    assert generation.no_repeat_ngram_size == 3 and generation.length_penalty == 2.0


def test_tiny_models_pegasus_special_tokens(built: dict[str, Path]) -> None:
    path = built["pegasus"]
    assert (path / "spiece.model").is_file()
    tokenizer, model = _load(path)
    assert isinstance(tokenizer, transformers.PegasusTokenizer)
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id) == (0, 1)
    assert len(tokenizer) == model.config.vocab_size
    assert model.generation_config.length_penalty == 0.8


def test_tiny_models_bart_max_positions_is_configurable(tmp_path: Path) -> None:
    path = tiny_models.build_tiny_bart(tmp_path / "bart128", max_positions=128, layers=1)
    config = transformers.AutoConfig.from_pretrained(path)
    assert config.max_position_embeddings == 128
    assert transformers.AutoTokenizer.from_pretrained(path).model_max_length == 128


@pytest.mark.parametrize("name", list(BUILDERS))
def test_tiny_models_distinct_inputs_give_distinct_outputs(built: dict[str, Path], name: str) -> None:
    # The saved generation settings (beam search), but capped: only distinctness matters here.
    output = _generate(built[name], BUILDERS[name][1], max_new_tokens=16)
    sequences = {tuple(row.tolist()) for row in output}
    assert len(sequences) >= 4
    greedy = _generate(built[name], BUILDERS[name][1], num_beams=1, max_new_tokens=16)
    assert len({tuple(row.tolist()) for row in greedy}) >= 4


@pytest.mark.parametrize("name", list(BUILDERS))
def test_tiny_models_logits_are_finite(built: dict[str, Path], name: str) -> None:
    tokenizer, model = _load(built[name])
    batch = tokenizer(BUILDERS[name][1], return_tensors="pt", padding=True)
    start = model.generation_config.decoder_start_token_id
    decoder_input_ids = torch.full((len(BUILDERS[name][1]), 3), start)
    with torch.no_grad():
        logits = model(**batch, decoder_input_ids=decoder_input_ids).logits
    assert torch.isfinite(logits).all()
    for param in model.parameters():
        assert torch.isfinite(param).all()


@pytest.mark.parametrize("name", list(BUILDERS))
def test_tiny_models_fixed_length_forces_exact_new_tokens(built: dict[str, Path], name: str) -> None:
    path = built[f"{name}-fixed"]
    generation = json.loads((path / "generation_config.json").read_text(encoding="utf-8"))
    assert generation["min_new_tokens"] == generation["max_new_tokens"] == FIXED_LENGTH
    assert "max_length" not in generation and "min_length" not in generation
    for num_beams in (None, 1):
        kwargs = {} if num_beams is None else {"num_beams": num_beams}
        output = _generate(path, BUILDERS[name][1], **kwargs)
        # One decoder start token plus exactly FIXED_LENGTH generated tokens, for every row.
        assert output.shape == (len(BUILDERS[name][1]), 1 + FIXED_LENGTH)
        tokenizer = transformers.AutoTokenizer.from_pretrained(path)
        assert (output != tokenizer.pad_token_id)[:, 1:].all()


@pytest.mark.parametrize("name", list(BUILDERS))
def test_tiny_models_build_is_deterministic(built: dict[str, Path], tmp_path: Path, name: str) -> None:
    build = BUILDERS[name][0]
    again = build(tmp_path / "again")
    other_seed = build(tmp_path / "other", seed=1)
    assert _weights_digest(again) == _weights_digest(built[name])
    assert _weights_digest(other_seed) != _weights_digest(built[name])
    for file in sorted(p.name for p in built[name].iterdir()):
        if file.endswith((".json", ".spm", ".model", ".txt")):
            assert (again / file).read_bytes() == (built[name] / file).read_bytes(), file


def test_tiny_models_arch_override_sets_sizes(tmp_path: Path) -> None:
    arch = {
        **tiny_models.MARIAN_OPUS_NL_EN,
        "vocab_size": 1000,
        "d_model": 32,
        "encoder_ffn_dim": 64,
        "decoder_ffn_dim": 64,
        "encoder_layers": 1,
        "decoder_layers": 1,
        "encoder_attention_heads": 2,
        "decoder_attention_heads": 2,
    }
    path = tiny_models.build_tiny_marian(tmp_path / "arch", arch=arch, fixed_length=3)
    config = transformers.AutoConfig.from_pretrained(path)
    assert (config.vocab_size, config.d_model, config.encoder_layers) == (1000, 32, 1)
    assert config.max_position_embeddings == 512
    vocab = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
    assert len(vocab) == 1000 and vocab["<pad>"] == 999
    with pytest.raises(ValueError):
        tiny_models.build_tiny_marian(tmp_path / "bad", arch={"n_layers": 3})


def test_tiny_models_rebuild_in_place_replaces_tokenizer(tmp_path: Path) -> None:
    path = tmp_path / "bart"
    tiny_models.build_tiny_bart(path, layers=1)
    tiny_models.build_tiny_bart(path, layers=1, vocab_size=900)
    tokenizer, model = _load(path)
    assert len(tokenizer) == model.config.vocab_size == 900


def test_tiny_models_nllb_has_the_hub_token_layout(built: dict[str, Path]) -> None:
    path = built["nllb"]
    for name in ("sentencepiece.bpe.model", "tokenizer.json", "tokenizer_config.json", "model.safetensors"):
        assert (path / name).is_file(), name
    tokenizer = transformers.AutoTokenizer.from_pretrained(path, src_lang="nld_Latn", tgt_lang="eng_Latn")
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(path)
    assert isinstance(tokenizer, transformers.NllbTokenizer)
    assert isinstance(model, transformers.M2M100ForConditionalGeneration)
    assert [tokenizer.convert_ids_to_tokens(i) for i in range(4)] == ["<s>", "<pad>", "</s>", "<unk>"]
    codes = tokenizer.convert_tokens_to_ids(["nld_Latn", "eng_Latn"])
    assert all(4 < i < len(tokenizer) - 1 for i in codes)
    assert tokenizer.convert_tokens_to_ids("<mask>") == len(tokenizer) - 1
    assert model.config.vocab_size == len(tokenizer) + 2  # two made-up rows, as on the hub
    assert json.loads((path / "config.json").read_text())["tokenizer_class"] == "NllbTokenizer"
    ids = tokenizer(DUTCH[0])["input_ids"]
    assert ids[0] == codes[0] and ids[-1] == tokenizer.eos_token_id
