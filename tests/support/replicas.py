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
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

OPUS = "Helsinki-NLP/opus-mt-nl-en"
DISTILBART = "sshleifer/distilbart-cnn-12-6"
SAFE_MARIAN = "nl2en-test/marian-safetensors"
DECOYS = ("tf_model.h5", "rust_model.ot", "flax_model.msgpack", "README.md", ".gitattributes")
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


def build_replica_hub(root: Path, build: Path) -> Path:
    """Build the three replicas under ``root`` (tiny models are made under ``build``)."""
    _build_opus(build, root / OPUS)
    _build_distilbart(build, root / DISTILBART)
    _build_safe_marian(build, root / SAFE_MARIAN)
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
