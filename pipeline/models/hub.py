"""Fetching a checkpoint from the Hugging Face hub: only what inference needs, weights you can trust.

A download takes the config, generation config and tokenizer files (an instruct LLM's
``tokenizer.model``, ``chat_template.jinja`` and ``additional_chat_templates/`` included), and one
set of weights, never the other frameworks' copies (``tf_model.h5``, ``flax_model.msgpack``,
``rust_model.ot``, ONNX, GGUF, ``consolidated*``/``original/`` checkpoints) nor a repo's
README, licence or images. The weights come by the first route that works:

1. ``safetensors``: ``model.safetensors`` on the requested revision, or the shards that its
   ``model.safetensors.index.json`` names (each fetched and checked like a single file, their
   sha256 recorded under ``shards``);
2. ``conversion-pr``: ``model.safetensors`` from the hub's conversion pull request (an open
   PR by ``SFconvertbot`` titled "Adding `safetensors` variant of this model", found as
   transformers' ``safetensors_conversion`` module finds it), pinned to that PR's commit;
3. ``converted-pickle``: ``pytorch_model.bin``, read with ``torch.load(weights_only=True)``
   (which cannot run code) and written as ``model.safetensors``; the pickle is then removed.

Everything lands in a staging folder beside the target and is moved into place whole,
with the route (revision, commit, file, sha256) in ``.nl2en-source.json``. Weight files
are fetched with HTTP range requests into a ``.part`` file that survives an interrupted
run, so the next run continues where the last one stopped; a signed CDN link that expires
during a long transfer is asked for again and the transfer continues. ``HF_ENDPOINT``,
``HF_TOKEN``, ``HF_HUB_OFFLINE`` and ``TRANSFORMERS_OFFLINE`` are honoured; timeouts come from
``HF_HUB_ETAG_TIMEOUT`` (metadata) and ``HF_HUB_DOWNLOAD_TIMEOUT`` (data), which
huggingface_hub reads when it is imported, so they are set before that import, passed
explicitly where the API allows and put on every other request of the shared client (the
file tree and PR listings take no timeout of their own).

This module uses huggingface_hub internals (``file_download.http_get``, ``utils._http``);
``pyproject.toml`` pins the minor release it was tested with.
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
    "tokenizer.model",
    "chat_template.jinja",
    "additional_chat_templates/*.jinja",
)
NEVER_FETCHED: tuple[str, ...] = (
    "tf_model.h5",
    "flax_model.msgpack",
    "rust_model.ot",
    "*.onnx",
    "*.msgpack",
    "*.gguf",
    "*.pth",
    "consolidated*",
    "original/*",
)
SHARD_INDEX = "model.safetensors.index.json"
_SHARD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.safetensors$")
DEFAULT_ETAG_TIMEOUT = "10"
DEFAULT_DOWNLOAD_TIMEOUT = "30"
DOWNLOAD_CHUNK = 256 * 1024
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
# The weight file's metadata request (HEAD) is retried on transient failures: this many tries in all,
# waiting RETRY_WAIT seconds after the first failure, doubling up to MAX_RETRY_WAIT (or the server's
# Retry-After, within the same cap).
METADATA_ATTEMPTS = 4
RETRY_WAIT = 1.0
MAX_RETRY_WAIT = 30.0
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# A signed CDN link refused mid-download (it lives about an hour) is asked for again this many times
# in a row without progress before the download gives up; any progress resets the count.
LINK_REFRESHES = 5
EXPIRED_LINK_STATUSES = frozenset({400, 401, 403, 410})
_TRUE = {"1", "ON", "YES", "TRUE"}


def _offline_variable() -> str | None:
    """The variable that puts the hub offline, read as huggingface_hub reads it.

    ``HF_HUB_OFFLINE`` decides when it is set to anything, else ``TRANSFORMERS_OFFLINE``
    (transformers users set that one, and the library honours it too).
    """
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        value = os.environ.get(name)
        if value:
            return name if value.strip().upper() in _TRUE else None
    return None


def hub_offline() -> bool:
    """Whether the hub must not be contacted (``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE``)."""
    return _offline_variable() is not None


def offline_reason() -> str:
    """Which variable made the hub offline, for messages (``HF_HUB_OFFLINE is set``)."""
    return f"{_offline_variable() or 'HF_HUB_OFFLINE'} is set"


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
    constants.HF_HUB_OFFLINE = hub_offline()  # as the environment says now (either variable), not at import
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
    """A timeout for every hub request that has none (the file tree, the PR listing).

    huggingface_hub's shared client waits forever by default, and ``list_repo_tree`` (its
    pagination helper) even passes ``timeout=None`` explicitly, which overrides a client
    default. So a request hook fills in ``seconds`` wherever a request's timeout is unset;
    calls given their own timeout (metadata, downloads) keep it.
    """
    if _bounded == [seconds]:
        return
    from huggingface_hub import set_client_factory
    from huggingface_hub.utils import _http

    def bound(request: Any) -> None:
        given = dict(request.extensions.get("timeout") or {})
        phases = {"connect": None, "read": None, "write": None, "pool": None} | given
        request.extensions["timeout"] = {k: seconds if v is None else v for k, v in phases.items()}

    def factory() -> Any:
        client = _http.default_client_factory()
        client.timeout = seconds
        client.event_hooks["request"].append(bound)
        return client

    set_client_factory(factory)
    _bounded[:] = [seconds]


def endpoint() -> str | None:
    value = os.environ.get("HF_ENDPOINT", "").strip().rstrip("/")
    return value or None


def token() -> str | None:
    """``HF_TOKEN`` if set; otherwise huggingface_hub's own login, if any."""
    return os.environ.get("HF_TOKEN") or None


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _sent_token(exc: BaseException) -> bool:
    """Whether the refused request carried a token (``HF_TOKEN`` or a saved login)."""
    try:
        return bool(exc.response.request.headers.get("authorization"))  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):  # no response, or one without its request (httpx raises)
        return token() is not None


def brief(exc: BaseException) -> str:
    """``403 Discussions are disabled`` or ``ReadTimeout: …``: one short clause for notes."""
    status = _status(exc)
    if status is not None:
        headers = getattr(getattr(exc, "response", None), "headers", None) or {}
        message = headers.get("X-Error-Message") or headers.get("X-Error-Code") or type(exc).__name__
        return f"{status} {message}"
    text = " ".join(str(exc).split())[:120]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def describe_failure(hub_id: str, exc: BaseException) -> HubError:
    """One line naming the model and what to do, for any failure of the hub or the transfer.

    The hub answers an anonymous request for a missing (or private) repository with 401
    ``RepoNotFound`` and an authenticated one with 404; a gated repository with 401 without a
    token and 403 when the token's account has no access; a token it does not accept with 401.
    Each gets its own message, with the status the hub gave.
    """
    from huggingface_hub import errors

    status = _status(exc)
    with_token = _sent_token(exc)
    if isinstance(exc, errors.GatedRepoError):
        if status == 403 or with_token:
            return HubError(
                f"{hub_id}: gated model, and HF_TOKEN has no access to it ({status or 403})",
                hint="accept its terms on the hub with the account HF_TOKEN belongs to (access may await "
                "approval), or set HF_TOKEN to a token of an account that has access",
            )
        return HubError(
            f"{hub_id}: gated model; the hub wants a token ({status or 401})",
            hint="accept its terms on the hub and set HF_TOKEN to a token of that account",
        )
    if isinstance(exc, errors.RepositoryNotFoundError):
        if with_token:
            return HubError(
                f"{hub_id}: no such model on the hub, or private and HF_TOKEN cannot read it ({status or 404})",
                hint="check the name, or use a token with read access",
            )
        return HubError(
            f"{hub_id}: no such model on the hub, or a private one ({status or 404}, no token sent)",
            hint="check the name; if it is private, set HF_TOKEN",
        )
    if isinstance(exc, errors.RevisionNotFoundError):
        return HubError(f"{hub_id}: no such revision on the hub ({status or 404})", hint="check --revision")
    if isinstance(exc, errors.OfflineModeIsEnabled):
        return HubError(f"{hub_id}: not downloaded ({offline_reason()})")
    if status == 401:
        return HubError(f"{hub_id}: the hub refused the token (401)", hint="check HF_TOKEN; it may be revoked")
    if status == 403:
        return HubError(
            f"{hub_id}: the hub refused access (403: {brief(exc)})",
            hint="HF_TOKEN lacks the permission to read this model; use a token that has it",
        )
    text = " ".join(str(exc).split())[:200]
    return HubError(
        f"{hub_id}: download failed ({type(exc).__name__}: {text})",
        hint="run the same command again to resume; check HF_ENDPOINT and the network",
    )


def _write_json(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)


def _transient(exc: BaseException) -> bool:
    """A failure worth another try: 408, 429, 5xx, a timeout or a connection that broke."""
    import httpx2  # huggingface_hub's HTTP client (a dependency of the pinned release)

    status = _status(exc)
    return status in TRANSIENT_STATUSES if status is not None else isinstance(exc, httpx2.TransportError)


def _retry_after(exc: BaseException) -> float:
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    value = str(headers.get("Retry-After", "")).strip()
    return float(value) if value.isdigit() else 0.0


def _file_metadata(url: str) -> Any:
    """The HEAD of one file on the hub (location, size, ETag), retried on transient failures.

    huggingface_hub makes one attempt by default (``retry_on_errors=False``: callers with a
    cache fall back to it quickly); a download has nothing to fall back to, so a 429, a 5xx or a
    dropped connection is tried again after a growing wait, ``METADATA_ATTEMPTS`` times in all.
    """
    from huggingface_hub import get_hf_file_metadata

    etag_timeout, _ = timeouts()
    wait = RETRY_WAIT
    for attempt in range(1, METADATA_ATTEMPTS + 1):
        try:
            return get_hf_file_metadata(url, token=token(), timeout=etag_timeout, endpoint=endpoint())
        except Exception as exc:
            if attempt == METADATA_ATTEMPTS or not _transient(exc):
                raise
            time.sleep(min(max(wait, _retry_after(exc)), MAX_RETRY_WAIT))
            wait = min(wait * 2, MAX_RETRY_WAIT)
    raise AssertionError("unreachable")  # the loop returns or raises


def _resumable_fetch(hub_id: str, filename: str, commit: str, folder: Path) -> Path:
    """Fetch one (large) file at ``commit`` into ``folder``, continuing a ``.part`` left by an earlier run.

    A large file's HEAD answers with a redirect to a signed CDN link on another origin: the token
    stays with the hub. The link expires (about an hour); when the CDN refuses it mid-download,
    the hub is asked for a fresh one and the transfer continues from the ``.part`` file. The
    hub's ETag of a large file is its sha256; the finished file is checked against it.
    """
    hub = hub_module()
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import HfHubHTTPError, build_hf_headers

    target = folder / filename
    part = folder / (filename + ".part")
    url = hub.hf_hub_url(hub_id, filename, revision=commit, endpoint=endpoint())
    refused = 0
    while True:
        meta = _file_metadata(url)
        size = part.stat().st_size if part.is_file() else 0
        if meta.size is not None and size > meta.size:
            part.unlink()
            size = 0
        headers = build_hf_headers(token=token())
        on_cdn = _origin(meta.location) != _origin(url)
        if on_cdn:
            headers.pop("authorization", None)  # a signed CDN address: the token stays with the hub
        try:
            with part.open("ab") as fh:
                http_get(
                    meta.location,
                    fh,
                    resume_size=size,
                    headers=headers,
                    expected_size=meta.size,
                    displayed_filename=filename,
                )
            break
        except HfHubHTTPError as exc:
            grew = part.is_file() and part.stat().st_size > size
            refused = 1 if grew else refused + 1
            if not on_cdn or _status(exc) not in EXPIRED_LINK_STATUSES or refused > LINK_REFRESHES:
                raise
            # the signed link expired (or was refused) during the transfer: ask the hub for a new one
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
    listing = api.get_repo_discussions(
        hub_id, author=CONVERSION_BOT, discussion_type="pull_request", discussion_status="open"
    )
    found = [
        d
        for d in listing  # the hub filters; the same conditions are checked here again
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
        raise HubError(f"{hub_id}: not downloaded ({offline_reason()})")
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


def _check_complete(hub_id: str, staging: Path, files: set[str], lean: list[str]) -> None:
    """Every file of the lean set the hub lists is in ``staging``.

    ``snapshot_download`` into a folder that already holds files (an interrupted run's) returns
    that folder as it is when the file listing fails (a 5xx, a timeout), with only a warning.
    """
    from huggingface_hub.utils import filter_repo_objects

    wanted = filter_repo_objects(sorted(files), allow_patterns=lean, ignore_patterns=list(NEVER_FETCHED))
    missing = [name for name in wanted if not (staging / name).is_file()]
    if missing:
        raise HubError(
            f"{hub_id}: download incomplete ({', '.join(missing[:3])} not received)",
            hint="run the same command again to resume; check HF_ENDPOINT and the network",
        )


def _fetch_pickle_route(
    api: Any, hub_id: str, revision: str, commit: str, staging: Path, files: set[str]
) -> dict[str, Any]:
    """Weights for a revision without safetensors: the conversion PR's, else its pickle converted here.

    Looking up the PR is only the better route: when it fails (discussions disabled: 403; a rate
    limit: 429; a 5xx; a timeout), the pickle is used and the record's ``note`` says why.
    """
    import httpx2  # huggingface_hub's HTTP client: its errors, and the hub's (HfHubHTTPError), derive from HTTPError

    note = ""
    try:
        pr = _conversion_pr(api, hub_id, commit)
    except (httpx2.HTTPError, OSError, ValueError, KeyError) as exc:  # refused, unreachable or unreadable
        if PICKLE_WEIGHTS not in files:
            raise
        pr, note = None, f"conversion PR not looked up ({brief(exc)}), so {PICKLE_WEIGHTS} was used"
    if pr is not None:
        ref, pr_commit = pr
        _resumable_fetch(hub_id, SAFE_WEIGHTS, pr_commit, staging)
        return {
            "route": "conversion-pr",
            "revision": ref,
            "commit": pr_commit,
            "file": SAFE_WEIGHTS,
            "sha256": file_sha256(staging / SAFE_WEIGHTS),
        }
    if PICKLE_WEIGHTS not in files:
        raise HubError(f"{hub_id}@{revision}: no model.safetensors or pytorch_model.bin on the hub")
    _resumable_fetch(hub_id, PICKLE_WEIGHTS, commit, staging)
    print(f"converting {hub_id} {PICKLE_WEIGHTS} to {SAFE_WEIGHTS} (restricted loader)", file=sys.stderr)
    digests = pickle_to_safetensors(staging / PICKLE_WEIGHTS, staging / SAFE_WEIGHTS)
    (staging / PICKLE_WEIGHTS).unlink()
    weights = {"route": "converted-pickle", "revision": revision, "commit": commit, "file": PICKLE_WEIGHTS}
    weights.update(digests)
    if note:
        weights["note"] = note
    return weights


def index_shards(hub_id: str, index: Path, files: set[str]) -> list[str]:
    """The weight files ``model.safetensors.index.json`` names, each a plain ``*.safetensors`` the hub lists.

    Only the index's ``weight_map`` decides, so a repo's other safetensors (a ``consolidated``
    copy, another precision) are never fetched; a name with a folder in it, or one the revision
    does not have, is refused.
    """
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
        names = sorted(set(data["weight_map"].values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise HubError(f"{hub_id}: unreadable {SHARD_INDEX} ({type(exc).__name__})") from exc
    if not names:
        raise HubError(f"{hub_id}: {SHARD_INDEX} names no weight files")
    for name in names:
        if not isinstance(name, str) or not _SHARD_NAME.match(name):
            raise HubError(f"{hub_id}: {SHARD_INDEX} names an unexpected weight file {name!r}")
        if name not in files:
            raise HubError(f"{hub_id}: {SHARD_INDEX} names {name}, which the revision does not have")
    return names


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
    if getattr(info, "gated", False):
        # A gated repo lists its files to anyone but refuses the files themselves (401 without a token,
        # 403 for an account without access): ask for one file first, so a refusal is one clear error
        # before any transfer starts.
        _file_metadata(hub.hf_hub_url(hub_id, "config.json", revision=commit, endpoint=endpoint()))
    staging.mkdir(parents=True, exist_ok=True)
    weights: dict[str, Any]
    lean = list(LEAN_PATTERNS)
    if SAFE_WEIGHTS in files:
        weights = {"route": "safetensors", "revision": revision, "commit": commit, "file": SAFE_WEIGHTS}
    elif SHARD_INDEX in files:
        lean.append(SHARD_INDEX)
        weights = {"route": "safetensors", "revision": revision, "commit": commit, "file": SHARD_INDEX}
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
    _check_complete(hub_id, staging, files, lean)
    if weights.get("file") == SAFE_WEIGHTS:
        _resumable_fetch(hub_id, SAFE_WEIGHTS, commit, staging)
        weights["sha256"] = file_sha256(staging / SAFE_WEIGHTS)
    elif weights.get("file") == SHARD_INDEX:
        shards = {}
        for shard in index_shards(hub_id, staging / SHARD_INDEX, files):
            _resumable_fetch(hub_id, shard, commit, staging)
            shards[shard] = file_sha256(staging / shard)
        weights["shards"] = shards
    elif not weights:
        weights = _fetch_pickle_route(api, hub_id, revision, commit, staging, files)
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
