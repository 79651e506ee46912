"""Replicas of the default hub repositories, with tiny random weights and the real file sets.

Laid out for :mod:`tests.support.fakehub` as ``ROOT/<org>/<name>/<revision>/``. The file names,
which files exist and the config keys follow the public listings
(``shared/reference/hub-layouts.md``); only the weights are tiny and the framework
copies nobody should download (``tf_model.h5``, ``rust_model.ot``, ``flax_model.msgpack``)
are junk bytes.

- ``Helsinki-NLP/opus-mt-nl-en``: main only, pickle weights (``torch.save`` of the state
  dict, tied tensors sharing storage as in the real file), no tokenizer.json;
- ``sshleifer/distilbart-cnn-12-6``: main with pickle weights, no tokenizer.json,
  generation_config.json or special_tokens_map.json (decoding settings only in
  ``config.json``'s ``task_specific_params``); ``refs/pr/13`` and ``refs/pr/18`` add
  ``model.safetensors`` as the conversion bot's PRs do. Its community tab holds more, as real
  ones do (``discussions.json``): plain discussions, a closed bot PR (``refs/pr/20``) and a newer
  open PR with the bot's title by someone else (``refs/pr/21``), both with other weights, which a
  client must not take;
- ``nl2en-test/marian-safetensors``: safetensors on main (the first route).

The instruct LLMs (:mod:`tests.support.tiny_llm` models, ChatML, chat template where the real
repo keeps it; every file name and which files exist follow the listings below, sizes do not):

- ``utter-project/EuroLLM-1.7B-Instruct``, main: ``.gitattributes``, ``README.md``,
  ``config.json``, ``generation_config.json``, ``model.safetensors`` (one file, about 3.3 GB:
  1.657B bfloat16 parameters), ``special_tokens_map.json``, ``tokenizer.json``,
  ``tokenizer.model`` (sentencepiece; tokenizer.json is its conversion), ``tokenizer_config.json``
  (holding ``chat_template``; there is no chat_template.jinja). The file list is that of a public
  mirror of the repo (code.bitahub.com/gi111f11cb7f354a74a8c123f5b155498e/
  EuroLLM-1.7B-Instruct_a14190642519076864182713, January 2025); the architecture is the model
  card's (huggingface.co/utter-project/EuroLLM-1.7B-Instruct): Llama, 24 layers, GQA with 8 KV
  heads, untied embeddings, ChatML prompts opening with an empty system turn.
- ``Qwen/Qwen2.5-1.5B-Instruct``, main: ``.gitattributes``, ``LICENSE``, ``README.md``,
  ``config.json``, ``generation_config.json``, ``merges.txt``, ``model.safetensors`` (one file,
  about 3.1 GB), ``tokenizer.json``, ``tokenizer_config.json`` (holding ``chat_template``, with
  Qwen's default system prompt), ``vocab.json``; no tokenizer.model, no special_tokens_map.json.
  Special ids 151643 ``<|endoftext|>``, 151644 ``<|im_start|>``, 151645 ``<|im_end|>`` after
  the byte-level BPE's pieces, and the template inside tokenizer_config.json, as public copies of
  Qwen2.5 tokenizer configs show (hf-mirror.492719920.workers.dev/tugstugi/Qwen2.5-7B-Instruct-QwQ-v0.1,
  ai-nexus-293.pages.dev/model/qwen/qwen2.5-3b-instruct); the generation config stops on the
  list ``[151645, 151643]`` and samples (temperature 0.7, top_p 0.8, top_k 20, repetition
  penalty). The rest of this listing is as the hub showed it in 2024-25, not confirmed by a
  stored copy.
- ``Unbabel/TowerInstruct-7B-v0.2`` (Llama 2 7B; CC-BY-NC-4.0 and the Llama 2 licence, model
  card at huggingface.co/Unbabel/TowerInstruct-7B-v0.2), main: ``.gitattributes``,
  ``README.md``, ``added_tokens.json`` (the ChatML tokens), ``config.json``,
  ``generation_config.json``, ``model-0000{1,2,3}-of-00003.safetensors`` (about 4.9, 5.0 and
  3.5 GB) with ``model.safetensors.index.json``, ``special_tokens_map.json``, ``tokenizer.json``,
  ``tokenizer.model``, ``tokenizer_config.json`` (holding ``chat_template``). This listing is as
  the hub showed it in 2024, not confirmed by a stored copy; it is the sharded layout nl2en must
  handle either way.
- ``nl2en-test/llm-jinja-template``: a repo laid out as transformers v5 saves one: the template
  in ``chat_template.jinja`` (plus ``additional_chat_templates/``), two shards and an index, and
  the extras newer repos carry that a download must skip (``consolidated.safetensors``, a GGUF,
  ``original/``, images, ``LICENSE``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

OPUS = "Helsinki-NLP/opus-mt-nl-en"
DISTILBART = "sshleifer/distilbart-cnn-12-6"
SAFE_MARIAN = "nl2en-test/marian-safetensors"
EUROLLM = "utter-project/EuroLLM-1.7B-Instruct"
QWEN = "Qwen/Qwen2.5-1.5B-Instruct"
TOWER = "Unbabel/TowerInstruct-7B-v0.2"
JINJA_LLM = "nl2en-test/llm-jinja-template"
LLM_REPLICAS = (EUROLLM, QWEN, TOWER, JINJA_LLM)
DECOYS = ("tf_model.h5", "rust_model.ot", "flax_model.msgpack", "README.md", ".gitattributes")
# Files of the LLM replicas no download may fetch.
LLM_EXTRAS = (
    "README.md",
    ".gitattributes",
    "LICENSE",
    "consolidated.safetensors",
    "model-q4_k_m.gguf",
    "original/consolidated.00.pth",
    "images/banner.png",
)
# What each LLM replica's download must hold: config, generation config, tokenizer files, weights.
LLM_NEEDED: dict[str, tuple[str, ...]] = {
    EUROLLM: ("config.json", "generation_config.json", "model.safetensors", "special_tokens_map.json",
              "tokenizer.json", "tokenizer.model", "tokenizer_config.json"),
    QWEN: ("config.json", "generation_config.json", "merges.txt", "model.safetensors", "tokenizer.json",
           "tokenizer_config.json", "vocab.json"),
    TOWER: ("added_tokens.json", "config.json", "generation_config.json", "model-00001-of-00003.safetensors",
            "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors", "model.safetensors.index.json",
            "special_tokens_map.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json"),
    JINJA_LLM: ("additional_chat_templates/summarize.jinja", "chat_template.jinja", "config.json",
                "generation_config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json"),
}  # fmt: skip
# distilbart-cnn-12-6's task settings, lengths scaled down for a tiny model (142 -> 32, 56 -> 12).
SUMMARIZATION = {
    "early_stopping": True,
    "length_penalty": 2.0,
    "max_length": 32,
    "min_length": 12,
    "no_repeat_ngram_size": 3,
    "num_beams": 4,
}


# distilbart's community tab besides PRs 13 and 18 (which the fake hub lists as the bot's open PRs).
COMMUNITY: list[dict[str, Any]] = [
    *(
        {"num": n, "title": f"Question {n} about the summaries", "author": f"reader-{n}", "isPullRequest": False,
         "status": "closed" if n % 3 == 0 else "open"}
        for n in range(1, 10)
    ),
    {"num": 20, "title": "Adding `safetensors` variant of this model", "author": "SFconvertbot", "status": "closed"},
    {"num": 21, "title": "Adding `safetensors` variant of this model", "author": "helpful-stranger", "status": "open"},
]  # fmt: skip


def _junk(path: Path, size: int = 4096) -> None:
    path.write_bytes(bytes(range(256)) * (size // 256))


def _decoys(folder: Path, names: tuple[str, ...]) -> None:
    for name in names:
        _junk(folder / name)
    (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n# replica\n", encoding="utf-8")
    (folder / ".gitattributes").write_text("*.bin filter=lfs diff=lfs merge=lfs -text\n", encoding="utf-8")


def _pickle_state_dict(model_dir: Path, target: Path) -> None:
    """``pytorch_model.bin`` as transformers wrote it in 2020: ``torch.save`` of the full state dict."""
    import torch
    from transformers import AutoModelForSeq2SeqLM

    model = AutoModelForSeq2SeqLM.from_pretrained(str(model_dir))
    torch.save(model.state_dict(), target)


def _build_opus(build: Path, repo: Path) -> None:
    from tests.support.tiny import build_tiny_marian

    tiny = build_tiny_marian(build / "marian", num_beams=4)
    main = repo / "main"
    main.mkdir(parents=True)
    config = json.loads((tiny / "config.json").read_text(encoding="utf-8"))
    config.update({"num_beams": 6, "max_length": 512, "bad_words_ids": [[config["pad_token_id"]]]})  # legacy keys
    (main / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    for name in ("generation_config.json", "source.spm", "target.spm", "vocab.json"):
        shutil.copy(tiny / name, main / name)
    (main / "tokenizer_config.json").write_text(json.dumps({"target_lang": "en", "source_lang": "nl"}))
    _pickle_state_dict(tiny, main / "pytorch_model.bin")
    _decoys(main, ("tf_model.h5", "rust_model.ot"))


def _build_distilbart(build: Path, repo: Path) -> None:
    from tests.support.tiny import build_tiny_bart

    tiny = build_tiny_bart(build / "bart", num_beams=4, min_length=12, max_length=32)
    main = repo / "main"
    main.mkdir(parents=True)
    config: dict[str, Any] = json.loads((tiny / "config.json").read_text(encoding="utf-8"))
    # the hub config carries the token ids a generation config would, and the task's settings
    config.update(
        {
            "forced_bos_token_id": 0,
            "decoder_start_token_id": 2,
            "task_specific_params": {"summarization": dict(SUMMARIZATION)},
        }
    )
    (main / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(tiny / name, main / name)
    (main / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 1024}))
    _pickle_state_dict(tiny, main / "pytorch_model.bin")
    _decoys(main, ("flax_model.msgpack", "rust_model.ot"))
    for pr in ("13", "18"):
        folder = repo / "refs" / "pr" / pr
        shutil.copytree(main, folder)
        shutil.copy(tiny / "model.safetensors", folder / "model.safetensors")
    for pr in ("20", "21"):  # not the bot's open PR: their weights are junk nobody may load
        folder = repo / "refs" / "pr" / pr
        shutil.copytree(main, folder)
        _junk(folder / "model.safetensors", 20_480)
    (repo / "discussions.json").write_text(json.dumps(COMMUNITY, indent=1), encoding="utf-8")


def _build_safe_marian(build: Path, repo: Path) -> None:
    from tests.support.tiny import build_tiny_marian

    tiny = build_tiny_marian(build / "marian-safe", num_beams=2, seed=1)
    main = repo / "main"
    shutil.copytree(tiny, main)
    _decoys(main, ("tf_model.h5", "rust_model.ot", "model.onnx"))


def _shard(model_dir: Path, folder: Path, count: int) -> None:
    """Split ``model.safetensors`` into ``model-0000i-of-0000n.safetensors`` and an index, as big checkpoints are."""
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(model_dir / "model.safetensors"))
    names = sorted(tensors)
    weight_map: dict[str, str] = {}
    for i in range(count):
        shard = f"model-{i + 1:05d}-of-{count:05d}.safetensors"
        part = names[i * len(names) // count : (i + 1) * len(names) // count]
        save_file({name: tensors[name].contiguous() for name in part}, str(folder / shard), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(part, shard))
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2), encoding="utf-8")


def _llm_repo(tiny: Path, main: Path, *, licence: str, extras: tuple[str, ...] = ()) -> None:
    """``main`` with the tiny model's files (weights excluded), a model card and ``.gitattributes``."""
    main.mkdir(parents=True)
    for path in tiny.iterdir():
        if path.is_file() and path.name != "model.safetensors":
            shutil.copy(path, main / path.name)
    (main / "README.md").write_text(f"---\nlicense: {licence}\n---\n# replica\n", encoding="utf-8")
    (main / ".gitattributes").write_text("*.safetensors filter=lfs diff=lfs merge=lfs -text\n", encoding="utf-8")
    for name in extras:
        (main / name).parent.mkdir(parents=True, exist_ok=True)
        _junk(main / name, 20_480)


def _special_tokens_map(tiny: Path, main: Path, *, added: bool = False) -> None:
    """``special_tokens_map.json`` (and ``added_tokens.json``) as older tokenizer saves wrote them."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny))
    specials: dict[str, Any] = {
        k: str(getattr(tok, k)) for k in ("bos_token", "eos_token", "unk_token", "pad_token") if getattr(tok, k)
    }
    specials["additional_special_tokens"] = ["<|im_start|>", "<|im_end|>"]
    (main / "special_tokens_map.json").write_text(json.dumps(specials, indent=2), encoding="utf-8")
    if added:
        ids = {t: tok.convert_tokens_to_ids(t) for t in specials["additional_special_tokens"]}
        (main / "added_tokens.json").write_text(json.dumps(ids, indent=2), encoding="utf-8")


def _build_llms(build: Path, root: Path) -> None:
    from tests.support.tiny_llm import EUROLLM_SYSTEM, build_tiny_llama, build_tiny_qwen2

    tiny = build_tiny_llama(build / "eurollm", default_system=EUROLLM_SYSTEM)
    main = root / EUROLLM / "main"
    _llm_repo(tiny, main, licence="apache-2.0")
    _special_tokens_map(tiny, main)
    shutil.copy(tiny / "model.safetensors", main / "model.safetensors")

    tiny = build_tiny_qwen2(build / "qwen")
    main = root / QWEN / "main"
    _llm_repo(tiny, main, licence="apache-2.0", extras=("LICENSE",))
    shutil.copy(tiny / "model.safetensors", main / "model.safetensors")

    tiny = build_tiny_llama(build / "tower", default_system=None, seed=2)
    main = root / TOWER / "main"
    _llm_repo(tiny, main, licence="cc-by-nc-4.0")
    _special_tokens_map(tiny, main, added=True)
    _shard(tiny, main, 3)

    tiny = build_tiny_llama(build / "jinja", template_in="jinja", tokenizer="byte-bpe", seed=3)
    main = root / JINJA_LLM / "main"
    extras = tuple(name for name in LLM_EXTRAS if name not in ("README.md", ".gitattributes"))
    _llm_repo(tiny, main, licence="apache-2.0", extras=extras)
    (main / "additional_chat_templates").mkdir()
    (main / "additional_chat_templates" / "summarize.jinja").write_text(
        (tiny / "chat_template.jinja").read_text(encoding="utf-8"), encoding="utf-8"
    )
    _shard(tiny, main, 2)


def build_replica_hub(root: Path, build: Path) -> Path:
    """Build the replicas under ``root`` (tiny models are made under ``build``)."""
    _build_opus(build, root / OPUS)
    _build_distilbart(build, root / DISTILBART)
    _build_safe_marian(build, root / SAFE_MARIAN)
    _build_llms(build, root)
    return root


GATED = "nl2en-test/gated-marian"


def replica_hub_root(base: Path) -> Path:
    """The replica hub under ``base`` (built once per test session; a gated copy included)."""
    from filelock import FileLock

    root = base / "replica-hub"
    with FileLock(str(base / "replica-hub.lock")):
        if not (root / ".complete").is_file():
            shutil.rmtree(root, ignore_errors=True)
            build_replica_hub(root, base / "replica-build")
            shutil.copytree(root / SAFE_MARIAN, root / GATED)
            (root / GATED / ".gated").write_text("")
            (root / ".complete").write_text("")
    return root
