"""Finding models: aliases, hub ids, pulled or imported copies, local directories.

Resolution never loads weights and never imports torch or transformers, so a fully
cached run can compute its cache keys from the model's fingerprint alone. The
fingerprint is ``hub:<id>@<commit>`` for a hub snapshot and a content hash of the
config, tokenizer and weight files for any other directory.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import re
import shutil
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import ModelError, ModelNotFoundError

SOURCE_FILE = ".nl2en-source.json"
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
_MODEL_FILE_SUFFIXES = (".json", ".safetensors", ".bin", ".spm", ".model", ".txt", ".pt", ".ckpt")
_WEIGHT_SAFE = ("model.safetensors", "model.safetensors.index.json")
_WEIGHT_PICKLE = ("pytorch_model.bin", "pytorch_model.bin.index.json")

DigestMemo = Callable[[str, Callable[[], str]], str]
"""memo(key, compute) returns a stored digest for key or computes and stores it."""


@dataclass(frozen=True)
class Alias:
    name: str
    task: str
    hub_id: str
    revision: str
    description: str


@dataclass(frozen=True)
class ResolvedModel:
    """A model found on this machine, ready to be fingerprinted or loaded."""

    name: str
    path: Path
    source: str  # "local", "pulled", "imported", "hub-cache", "download"
    hub_id: str | None = None
    revision: str | None = None

    @property
    def slug(self) -> str:
        """The hub id's slug, else the model directory's name: never the path as typed."""
        return slugify(self.hub_id) if self.hub_id else slugify(self.path.name)

    def config(self) -> dict[str, Any]:
        """The model's config.json (a fresh copy; the file is read once)."""
        return copy.deepcopy(self._json("config.json"))

    def generation_config(self) -> dict[str, Any]:
        return copy.deepcopy(self._json("generation_config.json"))

    def _json(self, name: str) -> dict[str, Any]:
        cache: dict[str, dict[str, Any]] = self.__dict__.setdefault("_json_cache", {})
        if name not in cache:
            path = self.path / name
            cache[name] = _read_json(path) if path.is_file() or name == "config.json" else {}
        return cache[name]


def slugify(name: str) -> str:
    """A file-system-safe, readable name for a model id or path, from the text alone.

    ``owner/name`` hub ids keep both parts (``owner--name``); any other path keeps its last
    part. Nothing is looked up on disk, so the slug never depends on the current directory.
    """
    tail = name.rstrip("/\\").replace("\\", "/")
    if "/" in tail and not _HUB_ID.match(tail):
        tail = tail.rsplit("/", 1)[1]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", tail.replace("/", "--")).strip("-.")
    return slug or "model"


def models_dir() -> Path:
    """Where pulled, imported, tiny and converted models live (``NL2EN_MODELS`` overrides)."""
    env = os.environ.get("NL2EN_MODELS")
    if env:
        return Path(env)
    project = Path(__file__).resolve().parent.parent / "models"
    return project if project.is_dir() else Path.cwd() / "models"


def load_aliases(directory: Path | None = None) -> dict[str, Alias]:
    path = (directory or models_dir()) / "registry.toml"
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        table = tomllib.load(fh)
    return {
        name: Alias(name, entry["task"], entry["hub_id"], entry.get("revision", "main"), entry.get("description", ""))
        for name, entry in table.items()
    }


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable model file ({exc})") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a JSON object")
    return data


def check_model_dir(path: Path, allow_pickle: bool = False) -> None:
    """Refuse directories that are not a model, or whose weights are pickle-only."""
    if not (path / "config.json").is_file():
        raise ModelError(f"{path}: not a model directory (no config.json)")
    has_safe = any((path / f).is_file() for f in _WEIGHT_SAFE)
    has_pickle = any((path / f).is_file() for f in _WEIGHT_PICKLE)
    if not has_safe and has_pickle and not allow_pickle:
        raise ModelError(
            f"{path}: only pickle weights (pytorch_model.bin), which can run code when loaded",
            hint="convert them to safetensors, or pass --allow-pickle if you trust the source",
        )


def _source_info(path: Path) -> dict[str, Any]:
    info = path / SOURCE_FILE
    return _read_json(info) if info.is_file() else {}


def _hub_cache_snapshot(hub_id: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(hub_id, "config.json")
    return Path(found).parent if isinstance(found, str) else None


def _download(hub_id: str, revision: str, local_dir: Path | None = None) -> tuple[Path, str]:
    from huggingface_hub import snapshot_download

    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "5")
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "10")
    path = snapshot_download(
        hub_id,
        revision=revision,
        local_dir=local_dir,
        allow_patterns=["*.json", "*.safetensors", "*.spm", "*.model", "*.txt"],
    )
    commit = revision
    try:
        from huggingface_hub import HfApi

        commit = HfApi().model_info(hub_id, revision=revision).sha or revision
    except Exception:  # the snapshot is there; the commit id is only for the record
        pass
    return Path(path), commit


def _not_found(name: str, looked: list[str]) -> ModelNotFoundError:
    where = "; ".join(looked)
    return ModelNotFoundError(
        f"model {name!r} is not available on this machine (looked in: {where})",
        hint=f"run `nl2en models pull {name}` on a machine with network access and copy models/ here, "
        "or pass --model DIR with a local model directory",
    )


def resolve_model(name: str, *, allow_download: bool = True, allow_pickle: bool = False) -> ResolvedModel:
    """Find ``name`` (alias, hub id or directory) on this machine, downloading if allowed.

    Fails fast with a message naming the model, where it looked and how to get it.
    """
    if not name or not name.strip():
        raise ModelError("empty model name")
    candidate = Path(name).expanduser()
    if candidate.is_dir():
        check_model_dir(candidate, allow_pickle)
        info = _source_info(candidate)
        return ResolvedModel(
            candidate.name, candidate.resolve(), info.get("source", "local"), info.get("hub_id"), info.get("revision")
        )
    if (os.sep in name and not _HUB_ID.match(name)) or name.startswith((".", "~")):
        raise ModelNotFoundError(f"model directory {name!r} does not exist")
    aliases = load_aliases()
    alias = aliases.get(name)
    hub_id = alias.hub_id if alias else name
    revision = alias.revision if alias else "main"
    if not _HUB_ID.match(hub_id) and not (alias is None and _ALIAS.match(name)):
        raise ModelError(f"malformed model name {name!r}: expected an alias, 'org/name' or a directory")
    looked: list[str] = []
    root = models_dir()
    for kind, sub in (("pulled", root / "hub" / slugify(hub_id)), ("imported", root / "local" / slugify(name))):
        looked.append(str(sub))
        if (sub / "config.json").is_file():
            check_model_dir(sub, allow_pickle)
            info = _source_info(sub)
            return ResolvedModel(name, sub.resolve(), kind, info.get("hub_id", hub_id), info.get("revision"))
    if not _HUB_ID.match(hub_id):
        raise _not_found(name, looked)
    looked.append("the Hugging Face cache")
    snapshot = _hub_cache_snapshot(hub_id)
    if snapshot is not None:
        check_model_dir(snapshot, allow_pickle)
        return ResolvedModel(name, snapshot, "hub-cache", hub_id, snapshot.name)
    if hub_offline() or not allow_download:
        looked.append("not the hub: HF_HUB_OFFLINE is set" if hub_offline() else "not the hub")
        raise _not_found(name, looked)
    try:
        path, commit = _download(hub_id, revision)
    except Exception as exc:
        looked.append(f"the hub ({type(exc).__name__})")
        raise _not_found(name, looked) from exc
    check_model_dir(path, allow_pickle)
    return ResolvedModel(name, path, "download", hub_id, commit)


def model_files(path: Path) -> list[Path]:
    """The files that define a model's behaviour: config, tokenizer and weights."""
    return sorted(
        p for p in path.iterdir() if p.is_file() and p.name != SOURCE_FILE and p.name.endswith(_MODEL_FILE_SUFFIXES)
    )


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class DigestFile:
    """A :data:`DigestMemo` kept in a small JSON file, for runs without the translation memory.

    Keys name the file by resolved path, size and mtime, so a changed file is hashed again;
    the newest ``limit`` entries are kept. The memo is a shortcut only: when the file cannot
    be read or written, digests are simply computed.
    """

    def __init__(self, path: Path, limit: int = 256) -> None:
        self.path = path
        self.limit = limit

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def __call__(self, key: str, compute: Callable[[], str]) -> str:
        entries = self._load()
        if key in entries:
            return entries[key]
        value = compute()
        entries[key] = value
        kept = dict(list(entries.items())[-self.limit :])
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(kept, indent=0), encoding="utf-8")
            os.replace(tmp, self.path)  # concurrent writers: the last one wins, nothing is half-written
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        return value


def fingerprint(model: ResolvedModel, memo: DigestMemo | None = None) -> str:
    """A stable identity of the model's behaviour, used in cache keys and manifests.

    Hub snapshots are identified by id and commit; other directories by a hash of
    their files (memoised by path, size and mtime, so big weights are hashed once).
    """
    if model.hub_id and model.revision and re.fullmatch(r"[0-9a-f]{40}", model.revision):
        return f"hub:{model.hub_id}@{model.revision}"
    total = hashlib.sha256()
    for file in model_files(model.path):
        stat = file.stat()
        key = f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        digest = memo(key, lambda f=file: _file_digest(f)) if memo else _file_digest(file)  # type: ignore[misc]
        total.update(f"{file.name}\0{digest}\n".encode())
    return f"sha256:{total.hexdigest()[:32]}"


def pull_model(name: str, revision: str | None = None) -> Path:
    """Download a pinned snapshot into ``models/hub/<slug>`` for offline use later."""
    alias = load_aliases().get(name)
    hub_id = alias.hub_id if alias else name
    if not _HUB_ID.match(hub_id):
        raise ModelError(f"malformed model id {name!r}: expected an alias or 'org/name'")
    if hub_offline():
        raise ModelNotFoundError(f"cannot pull {hub_id}: HF_HUB_OFFLINE is set")
    target = models_dir() / "hub" / slugify(hub_id)
    try:
        path, commit = _download(hub_id, revision or (alias.revision if alias else "main"), local_dir=target)
    except Exception as exc:
        raise ModelNotFoundError(f"cannot download {hub_id} ({type(exc).__name__}: {exc})") from exc
    (path / SOURCE_FILE).write_text(
        json.dumps({"source": "pulled", "hub_id": hub_id, "revision": commit}, indent=2), encoding="utf-8"
    )
    return path


def import_model(directory: Path, name: str | None = None, allow_pickle: bool = False) -> Path:
    """Copy a model directory from elsewhere into ``models/local/<name>``."""
    if not directory.is_dir():
        raise ModelError(f"{directory}: not a directory")
    check_model_dir(directory, allow_pickle)
    target = models_dir() / "local" / slugify(name or directory.name)
    if target.exists():
        raise ModelError(f"{target} already exists", hint="choose another --name or remove it first")
    shutil.copytree(directory, target, ignore=shutil.ignore_patterns(".git", "*.lock"))
    info = _source_info(directory)
    info.update({"source": "imported", "imported_from": str(directory.resolve())})
    (target / SOURCE_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")
    return target


@dataclass(frozen=True)
class ModelListing:
    name: str
    task: str
    hub_id: str
    description: str
    location: str | None


def list_models() -> list[ModelListing]:
    """Every alias, plus pulled/imported/tiny models, with where each is found locally."""
    rows: list[ModelListing] = []
    for alias in load_aliases().values():
        try:
            found: str | None = str(resolve_model(alias.name, allow_download=False).path)
        except ModelError:
            found = None
        rows.append(ModelListing(alias.name, alias.task, alias.hub_id, alias.description, found))
    root = models_dir()
    for sub in ("local", "tiny"):
        for path in sorted((root / sub).glob("*/config.json")) if (root / sub).is_dir() else []:
            rows.append(ModelListing(path.parent.name, "-", "-", f"{sub} model directory", str(path.parent)))
    return rows
