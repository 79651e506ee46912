"""Model resolution, fingerprints and safety checks; no weights are loaded here."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from pipeline.errors import ModelError, ModelNotFoundError
from pipeline.models.registry import fingerprint, import_model, list_models, load_aliases, resolve_model, slugify
from tests.conftest import ROOT


def fake_model(path: Path, weights: bytes = b"weights", pickle_only: bool = False) -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"model_type": "marian"}))
    (path / "generation_config.json").write_text(json.dumps({"num_beams": 4}))
    (path / ("pytorch_model.bin" if pickle_only else "model.safetensors")).write_bytes(weights)
    return path


def test_registry_aliases_name_the_real_models() -> None:
    aliases = load_aliases()
    assert aliases["opus-mt-nl-en"].hub_id == "Helsinki-NLP/opus-mt-nl-en"
    assert aliases["distilbart-cnn"].hub_id == "sshleifer/distilbart-cnn-12-6"


def test_registry_aliases_ship_with_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    monkeypatch.setenv("NL2EN_MODELS", str(empty))  # only where models are stored
    assert load_aliases()["opus-mt-nl-en"].hub_id == "Helsinki-NLP/opus-mt-nl-en"
    with pytest.raises(ModelNotFoundError) as info:  # offline here: looked for under the hub id, not the alias
        resolve_model("opus-mt-nl-en")
    assert str(empty / "hub" / "Helsinki-NLP--opus-mt-nl-en") in str(info.value)
    assert not (ROOT / "models" / "registry.toml").exists()  # one table, in pipeline/data
    rows = {row.name: row.hub_id for row in list_models()}
    assert rows["opus-mt-nl-en"] == "Helsinki-NLP/opus-mt-nl-en" and rows["distilbart-cnn"].startswith("sshleifer/")


def test_registry_resolves_local_directory(tmp_path: Path) -> None:
    model = resolve_model(str(fake_model(tmp_path / "m")))
    assert model.kind == "local" and model.path == (tmp_path / "m").resolve()


def test_registry_missing_alias_fails_fast_with_instructions() -> None:
    started = time.monotonic()
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("opus-mt-nl-en")
    assert time.monotonic() - started < 5
    message = str(info.value)
    assert "opus-mt-nl-en" in message and "nl2en models pull" in message and "--model DIR" in message
    assert "HF_HUB_OFFLINE" in message


def test_registry_download_failure_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.raises(ModelNotFoundError, match="opus-mt-nl-en"):
        resolve_model("opus-mt-nl-en")  # the socket guard makes the hub unreachable


@pytest.mark.parametrize("name", ["", "a/b/c", "../etc", "bad id!", "org/na me"])
def test_registry_rejects_malformed_names(name: str) -> None:
    with pytest.raises(ModelError):
        resolve_model(name)


def test_registry_rejects_directory_without_config(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"no config\.json"):
        resolve_model(str(tmp_path))


class Payload:
    """Not a tensor: the restricted loader must refuse to rebuild it."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("code ran while loading",))


def pickle_model(path: Path, extra: object | None = None) -> Path:
    """A model directory with only ``pytorch_model.bin`` (torch.save of tensors, plus ``extra``)."""
    import torch

    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"model_type": "marian"}))
    weight = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    state: dict[str, object] = {"model.shared.weight": weight, "lm_head.weight": weight}
    if extra is not None:
        state["extra"] = extra
    torch.save(state, path / "pytorch_model.bin")
    return path


def test_registry_pickle_only_directory_needs_no_flag(tmp_path: Path) -> None:
    path = pickle_model(tmp_path / "p")
    model = resolve_model(str(path))
    assert model.path == path.resolve() and not (path / "model.safetensors").exists()


def test_registry_refuses_pickle_the_restricted_loader_rejects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = pickle_model(tmp_path / "evil", extra=Payload())
    with pytest.raises(ModelError, match="--allow-pickle") as info:
        resolve_model(str(path))
    assert "restricted loader" in str(info.value)
    assert "code ran" not in capsys.readouterr().out
    trusted = resolve_model(str(path), allow_pickle=True)  # the user vouches for it: converted once
    assert "code ran" in capsys.readouterr().out
    assert trusted.path != path.resolve() and (trusted.path / "model.safetensors").is_file()
    assert not (trusted.path / "pytorch_model.bin").exists()
    from safetensors.torch import load_file

    assert set(load_file(trusted.path / "model.safetensors")) == {"model.shared.weight"}  # lm_head is re-tied


def test_registry_shared_tensors_keep_one_name_per_tied_group() -> None:
    import torch

    from pipeline.models.weights import deduplicate_shared

    shared = torch.ones(4, 2)
    state = {"model.shared.weight": shared, "lm_head.weight": shared, "bias": torch.zeros(2)}
    out = deduplicate_shared(state, {"lm_head.weight"})
    assert set(out) == {"model.shared.weight", "bias"}
    kept = deduplicate_shared(state, set())  # nothing re-tied: both names kept, in separate memory
    assert set(kept) == set(state)
    assert kept["lm_head.weight"].data_ptr() != kept["model.shared.weight"].data_ptr()


def test_registry_fingerprint_tracks_content(tmp_path: Path) -> None:
    a = resolve_model(str(fake_model(tmp_path / "a")))
    b = resolve_model(str(fake_model(tmp_path / "b")))
    c = resolve_model(str(fake_model(tmp_path / "c", weights=b"other")))
    assert fingerprint(a) == fingerprint(b) != fingerprint(c)
    assert fingerprint(a).startswith("sha256:")


def test_registry_fingerprint_of_hub_snapshot_uses_commit(tmp_path: Path) -> None:
    path = fake_model(tmp_path / "snap")
    commit = "0" * 40
    (path / ".nl2en-source.json").write_text(
        json.dumps({"source": "pulled", "hub_id": "Helsinki-NLP/opus-mt-nl-en", "revision": commit})
    )
    assert fingerprint(resolve_model(str(path))) == f"hub:Helsinki-NLP/opus-mt-nl-en@{commit}"


def test_registry_import_then_resolve_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NL2EN_MODELS", str(tmp_path / "models"))
    (tmp_path / "models").mkdir()
    imported = import_model(fake_model(tmp_path / "mine"), name="my-marian")
    model = resolve_model("my-marian")
    assert model.path == imported.resolve() and model.kind == "imported"
    with pytest.raises(ModelError, match="already exists"):
        import_model(tmp_path / "mine", name="my-marian")
    names = {row.name: row.location for row in list_models()}
    assert names["my-marian"] == str(imported) and names["opus-mt-nl-en"] is None


def test_registry_slugify_is_safe() -> None:
    assert slugify("Helsinki-NLP/opus-mt-nl-en") == "Helsinki-NLP--opus-mt-nl-en"
    assert "/" not in slugify("../../etc/passwd") and not slugify("../..").startswith(".")


def test_registry_slugify_does_not_depend_on_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ("Helsinki-NLP/opus-mt-nl-en", "models/tiny", "./models/tiny", "/abs/models/tiny/", "tiny")
    monkeypatch.chdir(tmp_path)
    before = [slugify(n) for n in names]
    for directory in ("Helsinki-NLP/opus-mt-nl-en", "models/tiny"):
        (tmp_path / directory).mkdir(parents=True)  # now these names are also paths from here
    assert [slugify(n) for n in names] == before
    assert before == ["Helsinki-NLP--opus-mt-nl-en", "models--tiny", "tiny", "tiny", "tiny"]


def test_registry_local_model_slug_is_its_directory_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model_dir = tmp_path / "models" / "my-model"
    model_dir.mkdir(parents=True)
    (model_dir / "config.json").write_text(json.dumps({"model_type": "marian"}))
    (model_dir / "model.safetensors").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    assert resolve_model("models/my-model").slug == resolve_model(str(model_dir)).slug == "my-model"


def test_registry_digest_file_hashes_once_and_again_when_a_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import pipeline.models.registry as registry

    model = resolve_model(str(fake_model(tmp_path / "m")))
    hashed: list[str] = []
    real = registry.file_sha256
    monkeypatch.setattr(registry, "file_sha256", lambda path: hashed.append(path.name) or real(path))
    memo = registry.DigestFile(tmp_path / "state" / "file-digests.json")
    first = fingerprint(model, memo)
    files = len(hashed)
    assert files >= 2
    assert fingerprint(model, registry.DigestFile(memo.path)) == first and len(hashed) == files, "hashed once"
    weights = next(p for p in model.path.iterdir() if p.suffix == ".safetensors")
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # same content, new mtime
    assert fingerprint(model, memo) == first
    assert hashed[files:] == [weights.name], "only the touched file is hashed again"
    weights.write_bytes(b"changed weights")  # new size
    assert fingerprint(model, memo) != first
    assert hashed[files + 1 :] == [weights.name]


def test_registry_digest_file_is_used_without_the_cache(tiny_marian: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.models.registry as registry
    from pipeline.runs.sessions import NO_CACHE, TranslatorSpec, open_translator

    open_translator(TranslatorSpec(str(tiny_marian)), NO_CACHE)  # fills the memo
    monkeypatch.setattr(registry, "file_sha256", lambda path: pytest.fail(f"{path.name} hashed again"))
    session = open_translator(TranslatorSpec(str(tiny_marian)), NO_CACHE)
    assert session.memory is None and session.translator.fingerprint.startswith("sha256:")


def test_registry_digest_file_unwritable_still_gives_the_digest(tmp_path: Path) -> None:
    from pipeline.models.registry import DigestFile

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    memo = DigestFile(blocker / "file-digests.json")
    assert memo("k", lambda: "d1") == "d1"
    assert memo("k", lambda: "d2") == "d2", "nothing could be stored, so it is computed again"
