"""Downloads from a replica hub (``tests/support/fakehub.py``): lean file sets, the three weight routes, failures."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.errors import HubError, ModelNotFoundError
from pipeline.models.hub import SOURCE_FILE
from pipeline.models.registry import fingerprint, pull_model, resolve_model
from tests.conftest import ROOT, allow_loopback_port
from tests.support.fakehub import Drop, FakeHub
from tests.support.replicas import DECOYS, DISTILBART, GATED, OPUS, SAFE_MARIAN, replica_hub_root

pytestmark = pytest.mark.slow


@pytest.fixture
def hub(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A replica hub on a loopback port this test may reach; empty models dir and HF cache; online."""
    fake = FakeHub(replica_hub_root(tmp_path_factory.getbasetemp()))
    server = fake.serve(0)
    port = server.server_address[1]
    allow_loopback_port(monkeypatch, port)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(ROOT / "models" / "registry.toml", models / "registry.toml")
    monkeypatch.setenv("NL2EN_MODELS", str(models))
    yield fake
    server.shutdown()
    server.server_close()


def requested_files(fake: FakeHub, repo: str) -> set[str]:
    """Names of the files whose contents were asked for (GET on resolve)."""
    marker = f"/{repo}/resolve/"
    return {
        r.split(marker, 1)[1].split("/", 1)[1].split(" ")[0]
        for r in fake.requests
        if r.startswith("GET ") and marker in r
    }


def record(path: Path) -> dict:
    return json.loads((path / SOURCE_FILE).read_text())


def test_hub_route_safetensors_on_the_revision(hub: FakeHub) -> None:
    path = pull_model(SAFE_MARIAN)
    weights = record(path)["weights"]
    main = hub.root / SAFE_MARIAN / "main"
    assert weights["route"] == "safetensors" and weights["revision"] == "main"
    assert weights["commit"] == hub.commit(main) == record(path)["revision"]
    assert (path / "model.safetensors").read_bytes() == (main / "model.safetensors").read_bytes()
    fetched = requested_files(hub, SAFE_MARIAN)
    assert fetched == {
        "config.json", "generation_config.json", "source.spm", "target.spm", "vocab.json",
        "tokenizer_config.json", "model.safetensors",
    }  # fmt: skip
    assert {p.name for p in path.iterdir()} == fetched | {SOURCE_FILE}
    model = resolve_model(SAFE_MARIAN)
    assert model.kind == "pulled" and fingerprint(model) == f"hub:{SAFE_MARIAN}@{weights['commit']}"


def test_hub_route_conversion_pr_pins_the_pr_commit(hub: FakeHub) -> None:
    path = pull_model("distilbart-cnn")
    weights = record(path)["weights"]
    pr = hub.root / DISTILBART / "refs" / "pr" / "18"
    assert weights["route"] == "conversion-pr" and weights["revision"] == "refs/pr/18"
    assert weights["commit"] == hub.commit(pr) != record(path)["revision"]
    assert (path / "model.safetensors").read_bytes() == (pr / "model.safetensors").read_bytes()
    fetched = requested_files(hub, DISTILBART)
    assert fetched == {"config.json", "merges.txt", "vocab.json", "tokenizer_config.json", "model.safetensors"}
    assert any("/discussions" in r for r in hub.requests)
    assert f"GET /api/models/{DISTILBART}/revision/refs%2Fpr%2F18" in hub.requests
    assert not any("pytorch_model.bin" in r for r in hub.requests)


def test_hub_route_pickle_is_read_restricted_and_converted(hub: FakeHub) -> None:
    import torch
    from transformers import MarianMTModel

    path = pull_model("opus-mt-nl-en")
    weights = record(path)["weights"]
    assert weights["route"] == "converted-pickle" and weights["file"] == "pytorch_model.bin"
    main = hub.root / OPUS / "main"
    assert weights["sha256"] == __import__("hashlib").sha256((main / "pytorch_model.bin").read_bytes()).hexdigest()
    assert not (path / "pytorch_model.bin").exists() and (path / "model.safetensors").is_file()
    assert requested_files(hub, OPUS) == {
        "config.json", "generation_config.json", "source.spm", "target.spm", "vocab.json",
        "tokenizer_config.json", "pytorch_model.bin",
    }  # fmt: skip
    converted, info = MarianMTModel.from_pretrained(path, output_loading_info=True, use_safetensors=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    original = MarianMTModel.from_pretrained(main, use_safetensors=False)
    ids = torch.tensor([[5, 17, 42, 99, 0]])
    with torch.inference_mode():
        a = original(input_ids=ids, decoder_input_ids=ids).logits
        b = converted.eval()(input_ids=ids, decoder_input_ids=ids).logits
    assert torch.equal(a, b)
    model = resolve_model("opus-mt-nl-en")
    assert fingerprint(model).startswith(f"hub:{OPUS}@{model.revision}+converted-pickle:")


def test_hub_never_requests_decoys(hub: FakeHub) -> None:
    for name in ("opus-mt-nl-en", "distilbart-cnn", SAFE_MARIAN):
        pull_model(name)
    asked = " ".join(r for r in hub.requests if "/resolve/" in r)
    for decoy in (*DECOYS, "model.onnx"):
        assert decoy not in asked


def test_hub_missing_repo_is_one_line_naming_the_model(hub: FakeHub) -> None:
    with pytest.raises(HubError) as info:
        resolve_model("nobody/nothing-here")
    message = str(info.value)
    assert "nobody/nothing-here" in message and "404" in message and "\n" not in message


def test_hub_gated_repo_names_hf_token(hub: FakeHub) -> None:
    with pytest.raises(HubError) as info:
        resolve_model(GATED)
    message = str(info.value)
    assert GATED in message and "401" in message and "HF_TOKEN" in message and "\n" not in message


def test_hub_interrupted_download_fails_cleanly_then_resumes(hub: FakeHub, tmp_path: Path) -> None:
    size = (hub.root / OPUS / "main" / "pytorch_model.bin").stat().st_size
    half = size // 2
    hub.drops.append(Drop("pytorch_model.bin", at=half, times=20))  # more than the client's retries
    with pytest.raises(HubError) as info:
        resolve_model("opus-mt-nl-en")
    assert "opus-mt-nl-en" in str(info.value) and "again to resume" in str(info.value)
    staging = tmp_path / "models" / "hub" / ".Helsinki-NLP--opus-mt-nl-en.download"
    kept = (staging / "pytorch_model.bin.part").stat().st_size
    assert 0 < kept <= half  # whole chunks received before the cut
    assert not (tmp_path / "models" / "hub" / "Helsinki-NLP--opus-mt-nl-en").exists()
    hub.drops.clear()
    before = len(hub.requests)
    model = resolve_model("opus-mt-nl-en")
    assert model.weights["route"] == "converted-pickle"
    later = hub.requests[before:]
    assert any("pytorch_model.bin" in r and f"Range=bytes={kept}-" in r for r in later)
    assert not staging.exists()


def test_hub_connection_dropped_once_is_resumed_in_the_same_run(hub: FakeHub) -> None:
    size = (hub.root / DISTILBART / "refs" / "pr" / "18" / "model.safetensors").stat().st_size
    hub.drops.append(Drop("model.safetensors", at=size // 2, times=1))
    path = pull_model("distilbart-cnn")
    assert record(path)["weights"]["route"] == "conversion-pr"
    assert any("model.safetensors" in r and "Range=bytes=" in r for r in hub.requests)


def test_hub_offline_downloads_nothing(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match="HF_HUB_OFFLINE"):
        resolve_model("opus-mt-nl-en")
    assert hub.requests == []


def test_hub_metadata_timeout_takes_effect(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_ETAG_TIMEOUT", "1")
    hub.delay = 4.0
    started = time.monotonic()
    with pytest.raises(HubError, match="opus-mt-nl-en"):
        resolve_model("opus-mt-nl-en")
    assert time.monotonic() - started < 3.5


def test_hub_conversion_pr_must_carry_the_revisions_own_pickle(hub: FakeHub, tmp_path: Path) -> None:
    root = tmp_path / "other-hub"
    shutil.copytree(hub.root / DISTILBART, root / DISTILBART)
    prs = root / DISTILBART / "refs" / "pr"
    with (prs / "18" / "pytorch_model.bin").open("ab") as fh:
        fh.write(b"\0")  # PR 18 was converted from other weights than main's
    hub.root = root
    weights = record(pull_model("distilbart-cnn"))["weights"]
    assert weights["route"] == "conversion-pr" and weights["revision"] == "refs/pr/13"
    with (prs / "13" / "pytorch_model.bin").open("ab") as fh:
        fh.write(b"\0")
    shutil.rmtree(tmp_path / "models" / "hub")
    path = pull_model("distilbart-cnn")
    weights = record(path)["weights"]
    assert weights["route"] == "converted-pickle" and weights["revision"] == "main"
    from transformers import BartForConditionalGeneration

    _, info = BartForConditionalGeneration.from_pretrained(path, output_loading_info=True, use_safetensors=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]


def test_hub_token_opens_a_gated_repo(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_replica_token")
    model = resolve_model(GATED)
    assert model.weights["route"] == "safetensors" and (model.path / "model.safetensors").is_file()


def test_hub_pr_listing_is_bounded_by_the_timeout_too(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import HfApi

    from pipeline.models.hub import endpoint, hub_module

    monkeypatch.setenv("HF_HUB_ETAG_TIMEOUT", "1")
    hub_module()
    hub.delay = 4.0
    started = time.monotonic()
    with pytest.raises(Exception, match=r"(?i)timed out|timeout"):
        list(HfApi(endpoint=endpoint()).get_repo_discussions(DISTILBART))
    assert time.monotonic() - started < 3.5


def test_hub_download_shows_progress(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from huggingface_hub.utils import enable_progress_bars

    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS")
    monkeypatch.setenv("TQDM_POSITION", "-1")  # bars on although the test's stderr is no terminal
    enable_progress_bars()  # an engine loaded earlier in this process turned them off (transformers' logging)
    pull_model("opus-mt-nl-en")
    err = capsys.readouterr().err
    assert "pytorch_model.bin: 100%" in err and "Fetching 6 files" in err
