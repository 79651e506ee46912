"""Fetching a checkpoint from the Hugging Face hub: only what inference needs, weights you can trust.

A download takes the config, generation config and tokenizer files, and one set of
weights, never the other frameworks' copies (``tf_model.h5``, ``flax_model.msgpack``,
``rust_model.ot``, ONNX). The weights come by the first route that works:

1. ``safetensors``: ``model.safetensors`` on the requested revision;
2. ``conversion-pr``: ``model.safetensors`` from the hub's conversion pull request (an open
   PR by ``SFconvertbot`` titled "Adding `safetensors` variant of this model", found as
   transformers' ``safetensors_conversion`` module finds it), pinned to that PR's commit;
3. ``converted-pickle``: ``pytorch_model.bin``, read with ``torch.load(weights_only=True)``
   (which cannot run code) and written as ``model.safetensors``; the pickle is then removed.

Everything lands in a staging folder beside the target and is moved into place whole,
with the route (revision, commit, file, sha256) in ``.nl2en-source.json``. Weight files
are fetched with HTTP range requests into a ``.part`` file that survives an interrupted
run, so the next run continues where the last one stopped. ``HF_ENDPOINT``, ``HF_TOKEN``
and ``HF_HUB_OFFLINE`` are honoured; timeouts come from ``HF_HUB_ETAG_TIMEOUT`` (metadata)
and ``HF_HUB_DOWNLOAD_TIMEOUT`` (data), which huggingface_hub reads when it is imported,
so they are set before that import and passed explicitly where the API allows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.errors import HubError, ModelError
from pipeline.models.weights import PICKLE_WEIGHTS, SAFE_WEIGHTS, file_sha256, pickle_to_safetensors

SOURCE_FILE = ".nl2en-source.json"
CONVERSION_BOT = "SFconvertbot"
CONVERSION_PR_TITLE = "Adding `safetensors` variant of this model"
# Config, generation config and every tokenizer format the supported families use.
LEAN_PATTERNS: tuple[str, ...] = (
    "config.json",
    "generation_config.json",
    "*.spm",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
    "tokenizer*.json",
    "special_tokens_map.json",
    "added_tokens.json",
)
NEVER_FETCHED: tuple[str, ...] = ("tf_model.h5", "flax_model.msgpack", "rust_model.ot", "*.onnx", "*.msgpack")
DEFAULT_ETAG_TIMEOUT = "10"
DEFAULT_DOWNLOAD_TIMEOUT = "30"
DOWNLOAD_CHUNK = 256 * 1024
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def timeouts() -> tuple[float, float]:
    """(metadata, data) timeouts in seconds, from the environment or nl2en's defaults."""

    def read(name: str, default: str) -> float:
        try:
            return float(os.environ.get(name) or default)
        except ValueError:
            return float(default)

    return read("HF_HUB_ETAG_TIMEOUT", DEFAULT_ETAG_TIMEOUT), read("HF_HUB_DOWNLOAD_TIMEOUT", DEFAULT_DOWNLOAD_TIMEOUT)


def hub_module() -> Any:
    """huggingface_hub, imported with nl2en's timeouts in place.

    The library copies ``HF_HUB_ETAG_TIMEOUT``/``HF_HUB_DOWNLOAD_TIMEOUT`` into its constants
    when first imported; if something imported it earlier, the constants are set directly.
    """
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", DEFAULT_ETAG_TIMEOUT)
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", DEFAULT_DOWNLOAD_TIMEOUT)
    import huggingface_hub
    from huggingface_hub import constants
    from huggingface_hub.utils import logging as hub_logging

    etag, download = timeouts()
    constants.HF_HUB_ETAG_TIMEOUT = int(etag) or 1
    constants.HF_HUB_DOWNLOAD_TIMEOUT = int(download) or 1
    constants.HF_HUB_OFFLINE = hub_offline()  # as the environment says now, not at import
    # Bytes reach the file a chunk at a time; smaller chunks lose less to an interrupted transfer.
    constants.DOWNLOAD_CHUNK_SIZE = DOWNLOAD_CHUNK
    # Retries are reported once, as the error that ends them, not as a warning per attempt.
    hub_logging.set_verbosity_error()
    _bound_every_request(etag)
    # Loading a model turns huggingface_hub's bars off (transformers does so for its own
    # loading bars); a download still shows its bar unless the user switched them off.
    disabled = os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS", "").strip().lower() in {"1", "true", "yes", "on"}
    if not disabled:
        import importlib

        bars = importlib.import_module("huggingface_hub.utils.tqdm")  # the module; the package exports a class
        if not bars.HF_HUB_DISABLE_PROGRESS_BARS:
            bars.enable_progress_bars()
    return huggingface_hub


_bounded: list[float] = []


def _bound_every_request(seconds: float) -> None:
    """A default timeout for the hub calls that take none (the PR listing, the file tree).

    huggingface_hub's shared client waits forever by default; calls given their own timeout
    (metadata, downloads) keep it.
    """
    if _bounded == [seconds]:
        return
    from huggingface_hub.utils import _http

    def factory() -> Any:
        client = _http.default_client_factory()
        client.timeout = seconds
        return client

    _http.set_client_factory(factory)
    _bounded[:] = [seconds]


def endpoint() -> str | None:
    value = os.environ.get("HF_ENDPOINT", "").strip().rstrip("/")
    return value or None


def token() -> str | None:
    """``HF_TOKEN`` if set; otherwise huggingface_hub's own login, if any."""
    return os.environ.get("HF_TOKEN") or None


def describe_failure(hub_id: str, exc: BaseException) -> HubError:
    """One line naming the model and what to do, for any failure of the hub or the transfer."""
    from huggingface_hub import errors

    name = type(exc).__name__
    if isinstance(exc, errors.GatedRepoError) or getattr(getattr(exc, "response", None), "status_code", 0) == 401:
        return HubError(
            f"{hub_id}: the hub refused access (401, gated or private model)",
            hint="accept its terms on the hub and set HF_TOKEN to a token that may read it",
        )
    if isinstance(exc, errors.RepositoryNotFoundError):
        return HubError(f"{hub_id}: no such model on the hub (404)", hint="check the name, or set HF_TOKEN if private")
    if isinstance(exc, errors.RevisionNotFoundError):
        return HubError(f"{hub_id}: no such revision on the hub (404)", hint="check --revision")
    if isinstance(exc, errors.OfflineModeIsEnabled):
        return HubError(f"{hub_id}: not downloaded (HF_HUB_OFFLINE is set)")
    text = " ".join(str(exc).split())[:200]
    return HubError(
        f"{hub_id}: download failed ({name}: {text})",
        hint="run the same command again to resume; check HF_ENDPOINT and the network",
    )


def _write_json(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)


def _resumable_fetch(hub_id: str, filename: str, commit: str, folder: Path) -> Path:
    """Fetch one (large) file at ``commit`` into ``folder``, continuing a ``.part`` left by an earlier run.

    The hub's ETag of a large file is its sha256; the finished file is checked against it.
    """
    hub = hub_module()
    from huggingface_hub.file_download import get_hf_file_metadata, http_get
    from huggingface_hub.utils import build_hf_headers

    target = folder / filename
    url = hub.hf_hub_url(hub_id, filename, revision=commit, endpoint=endpoint())
    etag_timeout, _ = timeouts()
    meta = get_hf_file_metadata(url, token=token(), timeout=etag_timeout, endpoint=endpoint())
    part = folder / (filename + ".part")
    size = part.stat().st_size if part.is_file() else 0
    if meta.size is not None and size > meta.size:
        part.unlink()
        size = 0
    headers = build_hf_headers(token=token())
    if urlsplit(meta.location).netloc != urlsplit(url).netloc:
        headers.pop("authorization", None)  # a signed CDN address: the token stays with the hub
    with part.open("ab") as fh:
        http_get(
            meta.location, fh, resume_size=size, headers=headers, expected_size=meta.size, displayed_filename=filename
        )
    etag = (meta.etag or "").strip('"')
    if re.fullmatch(r"[0-9a-f]{64}", etag):
        actual = file_sha256(part)
        if actual != etag:
            part.unlink()
            raise OSError(f"{filename}: sha256 {actual[:12]}… does not match the hub's {etag[:12]}…")
    part.replace(target)
    return target


def _pickle_sha256(api: Any, hub_id: str, commit: str) -> str | None:
    """The sha256 the hub lists for ``pytorch_model.bin`` at ``commit`` (a large file's LFS id)."""
    for entry in api.list_repo_tree(hub_id, revision=commit):
        if getattr(entry, "path", None) == PICKLE_WEIGHTS and getattr(entry, "lfs", None) is not None:
            return str(entry.lfs.sha256)
    return None


def _conversion_pr(api: Any, hub_id: str, commit: str) -> tuple[str, str] | None:
    """(git reference, commit) of the newest open conversion PR that adds ``model.safetensors``.

    Like transformers, only the conversion bot's PRs count. transformers also wants the PR to
    sit on the current ``main``; here it is enough that the PR still carries the very
    ``pytorch_model.bin`` of the requested revision (same sha256), so its safetensors were
    converted from the weights this revision has.
    """
    found = [
        d
        for d in api.get_repo_discussions(hub_id, discussion_type="pull_request", discussion_status="open")
        if d.is_pull_request and d.status == "open" and d.author == CONVERSION_BOT and d.title == CONVERSION_PR_TITLE
    ]
    if not found:
        return None
    etag_timeout, _ = timeouts()
    pickle = _pickle_sha256(api, hub_id, commit)
    for pr in sorted(found, key=lambda d: d.num, reverse=True):
        ref = pr.git_reference or f"refs/pr/{pr.num}"
        info = api.model_info(hub_id, revision=ref, timeout=etag_timeout)
        if SAFE_WEIGHTS not in _sibling_names(info) or not info.sha:
            continue
        if pickle is not None and _pickle_sha256(api, hub_id, info.sha) != pickle:
            continue  # converted from other weights than this revision's
        return ref, info.sha
    return None


def _sibling_names(info: Any) -> set[str]:
    return {s.rfilename for s in info.siblings or []}


def fetch_model(hub_id: str, revision: str, target: Path, *, kind: str) -> dict[str, Any]:
    """Download ``hub_id`` at ``revision`` into ``target`` (moved into place whole); returns the source record.

    Raises :class:`HubError` with one line naming the model on any failure; a rerun resumes.
    """
    if hub_offline():
        raise HubError(f"{hub_id}: not downloaded (HF_HUB_OFFLINE is set)")
    hub = hub_module()
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.download")
    with FileLock(str(target.with_name(f".{target.name}.lock"))):
        if (target / "config.json").is_file() and (target / SOURCE_FILE).is_file():
            return json.loads((target / SOURCE_FILE).read_text(encoding="utf-8"))  # another process finished it
        try:
            record = _fetch_into(hub, hub_id, revision, staging, kind)
        except ModelError:
            raise
        except Exception as exc:
            raise describe_failure(hub_id, exc) from exc
        if target.exists():
            shutil.rmtree(target)
        staging.replace(target)
    return record


def _fetch_into(hub: Any, hub_id: str, revision: str, staging: Path, kind: str) -> dict[str, Any]:
    api = hub.HfApi(endpoint=endpoint(), token=token())
    etag_timeout, _ = timeouts()
    info = api.model_info(hub_id, revision=revision, timeout=etag_timeout)
    commit = info.sha
    if not commit or not _COMMIT.match(commit):
        raise HubError(f"{hub_id}: the hub gave no commit for revision {revision!r}")
    files = _sibling_names(info)
    if "config.json" not in files:
        raise HubError(f"{hub_id}@{revision}: no config.json on the hub; not a transformers model")
    staging.mkdir(parents=True, exist_ok=True)
    weights: dict[str, Any]
    lean = list(LEAN_PATTERNS)
    if SAFE_WEIGHTS in files:
        weights = {"route": "safetensors", "revision": revision, "commit": commit, "file": SAFE_WEIGHTS}
    elif "model.safetensors.index.json" in files:
        lean += ["model.safetensors.index.json", "model-*.safetensors"]
        weights = {"route": "safetensors", "revision": revision, "commit": commit, "file": "model-*.safetensors"}
    else:
        weights = {}
    hub.snapshot_download(
        hub_id,
        revision=commit,
        local_dir=staging,
        allow_patterns=lean,
        ignore_patterns=list(NEVER_FETCHED),
        endpoint=endpoint(),
        token=token(),
        etag_timeout=etag_timeout,
    )
    if weights.get("file") == SAFE_WEIGHTS:
        _resumable_fetch(hub_id, SAFE_WEIGHTS, commit, staging)
        weights["sha256"] = file_sha256(staging / SAFE_WEIGHTS)
    elif not weights:
        pr = _conversion_pr(api, hub_id, commit)
        if pr is not None:
            ref, pr_commit = pr
            _resumable_fetch(hub_id, SAFE_WEIGHTS, pr_commit, staging)
            weights = {"route": "conversion-pr", "revision": ref, "commit": pr_commit, "file": SAFE_WEIGHTS}
            weights["sha256"] = file_sha256(staging / SAFE_WEIGHTS)
        elif PICKLE_WEIGHTS in files:
            _resumable_fetch(hub_id, PICKLE_WEIGHTS, commit, staging)
            print(f"converting {hub_id} {PICKLE_WEIGHTS} to {SAFE_WEIGHTS} (restricted loader)", file=sys.stderr)
            digests = pickle_to_safetensors(staging / PICKLE_WEIGHTS, staging / SAFE_WEIGHTS)
            (staging / PICKLE_WEIGHTS).unlink()
            weights = {"route": "converted-pickle", "revision": revision, "commit": commit, "file": PICKLE_WEIGHTS}
            weights.update(digests)
        else:
            raise HubError(f"{hub_id}@{revision}: no model.safetensors or pytorch_model.bin on the hub")
    shutil.rmtree(staging / ".cache", ignore_errors=True)  # huggingface_hub's local-dir bookkeeping
    record = {
        "source": kind,
        "hub_id": hub_id,
        "requested_revision": revision,
        "revision": commit,
        "endpoint": endpoint() or "https://huggingface.co",
        "weights": weights,
        "files": sorted(p.name for p in staging.iterdir() if p.is_file() and p.name != SOURCE_FILE),
        "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _write_json(staging / SOURCE_FILE, record)
    return record
