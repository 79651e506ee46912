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
from tests.conftest import allow_loopback_port
from tests.support.fakehub import Drop, FakeHub, Fault
from tests.support.replicas import DECOYS, DISTILBART, GATED, OPUS, SAFE_MARIAN, replica_hub_root

pytestmark = pytest.mark.slow


def online_replica_hub(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeHub]:
    """A replica hub (and its CDN) on loopback ports this test may reach; empty models dir and HF cache; online.

    The models folder is empty on purpose: aliases ship with the package, not with ``NL2EN_MODELS``.
    """
    fake = FakeHub(replica_hub_root(tmp_path_factory.getbasetemp()))
    fake.serve(0)
    allow_loopback_port(monkeypatch, fake.port, fake.cdn_port)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{fake.port}")
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setenv("NL2EN_MODELS", str(models))
    yield fake
    fake.close()


@pytest.fixture
def hub(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    yield from online_replica_hub(tmp_path_factory, tmp_path, monkeypatch)


def requested_files(fake: FakeHub, repo: str) -> set[str]:
    """Names of the files whose contents were asked for (GET on resolve, or on the CDN for large files)."""
    return fake.fetched(repo)


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


@pytest.mark.parametrize(("token", "status"), [(None, "401"), ("hf_replica_token", "404")])
def test_hub_missing_repo_is_one_line_naming_the_model(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch, token: str | None, status: str
) -> None:
    if token:
        monkeypatch.setenv("HF_TOKEN", token)
    with pytest.raises(HubError) as info:
        resolve_model("nobody/nothing-here")
    message = str(info.value)
    assert "nobody/nothing-here" in message and "no such model" in message and status in message, message
    assert "gated" not in message and "\n" not in message  # the hub's anonymous 401 is no gate
    assert ("set HF_TOKEN" in message) == (token is None)


def test_hub_gated_repo_names_hf_token(hub: FakeHub) -> None:
    with pytest.raises(HubError) as info:
        resolve_model(GATED)
    message = str(info.value)
    assert GATED in message and "gated" in message and "401" in message and "HF_TOKEN" in message
    assert "\n" not in message
    assert any(r.startswith(f"GET /api/models/{GATED}/tree/") or r.startswith(f"GET /api/models/{GATED}/revision/")
               for r in hub.requests)  # fmt: skip
    assert requested_files(hub, GATED) == set()  # refused before any transfer began


def test_hub_gated_repo_with_a_token_lacking_access_is_403(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_someone_elses_token")
    with pytest.raises(HubError) as info:
        resolve_model(GATED)
    message = str(info.value)
    assert GATED in message and "403" in message and "no access" in message and "401" not in message


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


# --- aliases ship with the package ------------------------------------------------------


def test_hub_alias_resolves_and_downloads_with_an_empty_models_folder(hub: FakeHub, tmp_path: Path) -> None:
    models = tmp_path / "models"
    assert not any(models.iterdir())  # no registry.toml where models are stored
    model = resolve_model("opus-mt-nl-en")
    assert model.hub_id == OPUS and model.kind == "download"
    assert model.path == (models / "hub" / "Helsinki-NLP--opus-mt-nl-en").resolve()
    assert "pytorch_model.bin" in requested_files(hub, OPUS)


# --- the conversion PR is only the better route ------------------------------------------


@pytest.mark.parametrize("failure", ["disabled", "rate-limited", "unavailable"])
def test_hub_failed_pr_lookup_falls_back_to_the_pickle_with_a_note(hub: FakeHub, tmp_path: Path, failure: str) -> None:
    from pipeline.models.registry import describe_source

    if failure == "disabled":  # a repo with discussions switched off answers 403
        root = tmp_path / "other-hub"
        shutil.copytree(hub.root / DISTILBART, root / DISTILBART)
        (root / DISTILBART / ".discussions-disabled").write_text("")
        hub.root = root
    elif failure == "rate-limited":
        hub.faults.append(Fault(r"/discussions", 429, message="You have been rate-limited"))
    else:
        hub.faults.append(Fault(r"/discussions", 503, message="Service Unavailable"))
    model = resolve_model("distilbart-cnn")
    weights = model.weights
    status = {"disabled": "403", "rate-limited": "429", "unavailable": "503"}[failure]
    assert weights["route"] == "converted-pickle" and status in weights["note"], weights
    assert "pytorch_model.bin" in requested_files(hub, DISTILBART)
    line = describe_source(model)
    assert "converted here" in line and "conversion PR not looked up" in line and status in line


# --- requests that take no timeout of their own ------------------------------------------


def test_hub_tree_listing_is_bounded_by_the_timeout(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import HfApi

    from pipeline.models.hub import endpoint, hub_module

    monkeypatch.setenv("HF_HUB_ETAG_TIMEOUT", "1")
    hub_module()
    hub.faults.append(Fault(r"GET /api/models/[^ ]*/tree/", delay=30))  # one stalled page
    started = time.monotonic()
    names = [entry.path for entry in HfApi(endpoint=endpoint()).list_repo_tree(DISTILBART)]
    assert time.monotonic() - started < 10  # the stalled request timed out after 1 s and was tried again
    assert "pytorch_model.bin" in names and len(names) > hub.tree_page  # every page was read


# --- access: what the hub's refusals mean --------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "named"),
    [({"TRANSFORMERS_OFFLINE": "1"}, "TRANSFORMERS_OFFLINE"), ({"HF_HUB_OFFLINE": "1"}, "HF_HUB_OFFLINE")],
)
def test_hub_either_offline_variable_downloads_nothing(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str
) -> None:
    for key, value in variables.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ModelNotFoundError, match=named):
        resolve_model("opus-mt-nl-en")
    with pytest.raises(ModelNotFoundError, match=named):
        pull_model("opus-mt-nl-en")
    assert hub.requests == []


def test_hub_offline_reads_the_variables_as_huggingface_hub_does(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.models.hub import hub_offline

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "yes")
    assert hub_offline()
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # set at all, it decides
    assert not hub_offline()


# --- the weight file's metadata and its signed CDN link -----------------------------------


def heads(fake: FakeHub, repo: str, filename: str) -> list[str]:
    return [r for r in fake.requests if r.startswith("HEAD ") and f"/{repo}/resolve/" in r and filename in r]


def test_hub_weight_metadata_is_retried_on_transient_failures(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.models.hub as hubmod

    monkeypatch.setattr(hubmod, "RETRY_WAIT", 0.05)
    hub.faults.append(Fault(r"HEAD /[^ ]*/resolve/[^ ]*/pytorch_model\.bin", 503, times=1))
    hub.faults.append(Fault(r"HEAD /[^ ]*/resolve/[^ ]*/pytorch_model\.bin", 429, times=1))
    model = resolve_model("opus-mt-nl-en")
    assert model.weights["route"] == "converted-pickle"
    assert len(heads(hub, OPUS, "pytorch_model.bin")) == 3


def test_hub_weight_metadata_retries_are_bounded(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.models.hub as hubmod

    monkeypatch.setattr(hubmod, "RETRY_WAIT", 0.05)
    hub.faults.append(Fault(r"HEAD /[^ ]*/resolve/[^ ]*/pytorch_model\.bin", 502, times=100))
    with pytest.raises(HubError, match="again to resume"):
        resolve_model("opus-mt-nl-en")
    assert len(heads(hub, OPUS, "pytorch_model.bin")) == hubmod.METADATA_ATTEMPTS


def test_hub_expired_cdn_link_is_renewed_and_the_download_resumes(hub: FakeHub) -> None:
    data = (hub.root / OPUS / "main" / "pytorch_model.bin").read_bytes()
    hub.drops.append(Drop("pytorch_model.bin", at=len(data) // 2, times=1, expire_link=True))
    model = resolve_model("opus-mt-nl-en")
    assert model.weights["sha256"] == __import__("hashlib").sha256(data).hexdigest()
    assert len(heads(hub, OPUS, "pytorch_model.bin")) == 2  # a fresh link was asked for once
    cdn = [r for r in hub.requests if r.startswith(f"GET /cdn/{OPUS}/") and "pytorch_model.bin" in r]
    expired = next(iter(hub.expired))
    assert [expired in r for r in cdn] == [True, True, False]  # the cut, the refused retry, the fresh link
    assert "Range=bytes=" in cdn[-1] and not cdn[-1].endswith("Range=bytes=0-")
    assert hub.sent[f"{OPUS}/pytorch_model.bin"] < 2 * len(data)  # resumed, not started over


# --- the replica is as strict as the hub ----------------------------------------------------


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request, no redirect followed."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    conn.request(method, f"{parts.path}?{parts.query}" if parts.query else parts.path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), body


def test_fakehub_answers_as_the_hub_does(hub: FakeHub) -> None:
    base = f"http://127.0.0.1:{hub.port}"
    token = {"Authorization": "Bearer hf_replica_token"}
    status, headers, _ = fetch(f"{base}/api/models/nobody/nothing")
    assert (status, headers["X-Error-Code"]) == (401, "RepoNotFound")
    assert fetch(f"{base}/api/models/nobody/nothing", headers=token)[0] == 404
    assert fetch(f"{base}/api/models/{GATED}")[0] == 200 and fetch(f"{base}/api/models/{GATED}/tree/main")[0] == 200
    status, headers, _ = fetch(f"{base}/{GATED}/resolve/main/config.json")
    assert (status, headers["X-Error-Code"]) == (401, "GatedRepo")
    other = {"Authorization": "Bearer hf_other"}
    assert fetch(f"{base}/{GATED}/resolve/main/config.json", headers=other)[0] == 403
    assert fetch(f"{base}/{GATED}/resolve/main/config.json", headers=token)[0] == 200
    # the tree comes in pages, each naming the next
    status, headers, body = fetch(f"{base}/api/models/{OPUS}/tree/main")
    assert len(json.loads(body)) == hub.tree_page and 'rel="next"' in headers["Link"]
    # a large file is a redirect to another origin, whose signed link admits no token
    status, headers, _ = fetch(f"{base}/{OPUS}/resolve/main/pytorch_model.bin", "HEAD")
    link = headers["Location"]
    assert status == 302 and f":{hub.cdn_port}/" in link and headers["X-Linked-Size"].isdigit()
    assert fetch(link, headers={"Range": "bytes=0-"})[0] == 200
    assert fetch(link, headers=token)[0] == 400
    hub.link_ttl = -1  # links issued from now on are already expired
    expired = fetch(f"{base}/{OPUS}/resolve/main/pytorch_model.bin", "HEAD")[1]["Location"]
    status, _, body = fetch(expired)
    assert status == 403 and b"Request has expired" in body
