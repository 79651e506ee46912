"""Instruct LLMs from a replica hub: their real repo layouts, first runs, and how a caller tells a causal LM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.errors import HubError
from pipeline.models.hub import SOURCE_FILE, index_shards
from pipeline.models.registry import DEFAULT_LLM, fingerprint, load_aliases, resolve_model
from tests.models.test_hub import online_replica_hub
from tests.support.fakehub import FakeHub
from tests.support.replicas import (
    EUROLLM,
    JINJA_LLM,
    LLM_EXTRAS,
    LLM_NEEDED,
    LLM_REPLICAS,
    QWEN,
    SAFE_MARIAN,
    TOWER,
)

pytestmark = pytest.mark.slow

ALIASES = {"eurollm-1.7b-instruct": EUROLLM, "qwen2.5-1.5b-instruct": QWEN, "towerinstruct-7b": TOWER}
ARCHITECTURES = {EUROLLM: "LlamaForCausalLM", QWEN: "Qwen2ForCausalLM", TOWER: "LlamaForCausalLM"}
DUTCH = "De minister zegt dat de economie groeit."


@pytest.fixture
def hub(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    yield from online_replica_hub(tmp_path_factory, tmp_path, monkeypatch)


def downloaded_files(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*") if p.is_file() and p.name != SOURCE_FILE}


@pytest.mark.parametrize("name", [*ALIASES, JINJA_LLM])
def test_llm_first_run_fetches_what_an_llm_needs_and_nothing_more(
    hub: FakeHub, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = ALIASES.get(name, name)
    model = resolve_model(name)  # an alias, or a plain hub id
    main = hub.root / repo / "main"
    assert model.kind == "download" and model.hub_id == repo and model.revision == hub.commit(main)
    assert downloaded_files(model.path) == set(LLM_NEEDED[repo])
    assert hub.fetched(repo) == set(LLM_NEEDED[repo])  # no README, LICENSE, images, GGUF or consolidated copy
    assert not hub.fetched(repo) & set(LLM_EXTRAS)
    for file in LLM_NEEDED[repo]:
        assert (model.path / file).read_bytes() == (main / file).read_bytes()

    weights = model.weights
    assert weights["route"] == "safetensors" and weights["commit"] == model.revision
    if (main / "model.safetensors.index.json").is_file():
        index = json.loads((main / "model.safetensors.index.json").read_text())
        assert weights["file"] == "model.safetensors.index.json"
        assert set(weights["shards"]) == set(index["weight_map"].values())
    else:
        assert weights["file"] == "model.safetensors" and len(weights["sha256"]) == 64
    assert fingerprint(model) == f"hub:{repo}@{model.revision}"

    assert model.is_causal_lm and model.family == "causal-lm"
    assert model.architecture == ARCHITECTURES.get(repo, "LlamaForCausalLM")
    assert isinstance(model.generation_config()["eos_token_id"], list)  # instruct models stop on several tokens

    from transformers import AutoModelForCausalLM, AutoTokenizer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tokenizer = AutoTokenizer.from_pretrained(str(model.path))
    template = model.chat_template()
    assert template is not None
    if isinstance(tokenizer.chat_template, dict):  # named templates besides the default one
        assert tokenizer.chat_template == {"default": template, "summarize": model.chat_template("summarize")}
    else:
        assert tokenizer.chat_template == template
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": DUTCH}], add_generation_prompt=True, tokenize=False
    )
    assert isinstance(rendered, str) and rendered.endswith("<|im_start|>assistant\n")
    assert f"<|im_start|>user\n{DUTCH}<|im_end|>\n" in rendered
    loaded = AutoModelForCausalLM.from_pretrained(str(model.path))
    assert type(loaded).__name__ == model.architecture  # every shard found, nothing missing


def test_llm_chat_template_is_read_where_the_repo_keeps_it(hub: FakeHub) -> None:
    in_config = resolve_model(EUROLLM)
    assert not (in_config.path / "chat_template.jinja").exists()
    assert (
        in_config.chat_template() == json.loads((in_config.path / "tokenizer_config.json").read_text())["chat_template"]
    )
    in_jinja = resolve_model(JINJA_LLM)
    assert "chat_template" not in json.loads((in_jinja.path / "tokenizer_config.json").read_text())
    assert in_jinja.chat_template() == (in_jinja.path / "chat_template.jinja").read_text(encoding="utf-8")


def test_llm_seq2seq_models_are_not_causal_lms(hub: FakeHub, tmp_path: Path) -> None:
    marian = resolve_model(SAFE_MARIAN)
    assert not marian.is_causal_lm and marian.family == "seq2seq" and marian.chat_template() is None
    bare = tmp_path / "bare-llama"  # no architectures: the model type decides
    bare.mkdir()
    (bare / "config.json").write_text(json.dumps({"model_type": "llama"}))
    assert resolve_model(str(bare)).is_causal_lm
    (bare / "config.json").write_text(json.dumps({"model_type": "t5", "is_encoder_decoder": True}))
    assert not resolve_model(str(bare)).is_causal_lm


def test_llm_local_directory_is_a_causal_lm_and_its_template_is_fingerprinted(tmp_path: Path) -> None:
    from tests.support.tiny_llm import build_tiny_qwen2

    path = build_tiny_qwen2(tmp_path / "qwen", template_in="jinja")
    model = resolve_model(str(path))
    assert model.kind == "local" and model.is_causal_lm and model.architecture == "Qwen2ForCausalLM"
    before = fingerprint(model)
    (path / "chat_template.jinja").write_text(f"{model.chat_template()}{{# changed #}}", encoding="utf-8")
    assert fingerprint(resolve_model(str(path))) != before  # the template shapes every prompt


def test_llm_aliases_are_listed_with_their_licences() -> None:
    from pipeline.cli.app import app

    aliases = load_aliases()
    assert DEFAULT_LLM in aliases and aliases[DEFAULT_LLM].family == "causal-lm"
    for name, repo in ALIASES.items():
        assert aliases[name].hub_id == repo and aliases[name].tasks == ("translation", "summarization")
    assert aliases["opus-mt-nl-en"].family == "seq2seq" and aliases["opus-mt-nl-en"].tasks == ("translation",)
    result = CliRunner().invoke(app, ["models", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert "[licence: Apache-2.0]" in lines["eurollm-1.7b-instruct"] and EUROLLM in lines["eurollm-1.7b-instruct"]
    assert "[licence: Apache-2.0]" in lines["qwen2.5-1.5b-instruct"]
    assert "[licence: CC-BY-NC-4.0 (non-commercial use only" in lines["towerinstruct-7b"]
    assert "translation+summarization" in lines["towerinstruct-7b"]


def test_llm_shard_index_names_only_plain_listed_files(tmp_path: Path) -> None:
    index = tmp_path / "model.safetensors.index.json"
    listed = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "consolidated.safetensors"}

    def shards(weight_map: dict[str, str]) -> list[str]:
        index.write_text(json.dumps({"weight_map": weight_map}))
        return index_shards("org/llm", index, listed)

    assert shards({"a": "model-00002-of-00002.safetensors", "b": "model-00001-of-00002.safetensors"}) == [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ]
    for bad in ("../model.safetensors", "sub/model.safetensors", "model-00003-of-00003.safetensors", "x.bin"):
        with pytest.raises(HubError):
            shards({"a": bad})
    index.write_text("{not json")
    with pytest.raises(HubError, match="unreadable"):
        index_shards("org/llm", index, listed)


def test_llm_replicas_keep_the_real_layouts(hub: FakeHub) -> None:
    """The replicas hold all the real repos list (README, extras…), so a client fetching too much shows."""
    for repo in LLM_REPLICAS:
        files = downloaded_files(hub.root / repo / "main")
        assert set(LLM_NEEDED[repo]) < files and {"README.md", ".gitattributes"} <= files
    assert "LICENSE" in downloaded_files(hub.root / QWEN / "main")
    assert "tokenizer.model" not in downloaded_files(hub.root / QWEN / "main")
    assert "chat_template.jinja" not in downloaded_files(hub.root / TOWER / "main")
