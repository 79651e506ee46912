"""Finding models: aliases, hub ids, pulled or imported copies, local directories.

Resolution never loads weights and never imports torch or transformers, so a fully
cached run can compute its cache keys from the model's fingerprint alone. The
fingerprint is ``hub:<id>@<commit>`` for a hub snapshot (plus the weights' sha256 when
they came from a conversion PR or were converted here) and a content hash of the config,
tokenizer and weight files for any other directory. Downloads (``pipeline.models.hub``) land in
``models/hub/<org>--<name>/`` with a source record saying how the weights were obtained.
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

from pipeline.errors import HubError, ModelError, ModelNotFoundError, PickleRejected
from pipeline.models.hub import SOURCE_FILE, fetch_model, hub_offline, offline_reason
from pipeline.models.weights import PICKLE_WEIGHTS, SAFE_WEIGHTS, file_sha256
from pipeline.signature import ModelSection

__all__ = [
    "CAUSAL_LM",
    "DEFAULT_LLM",
    "SEQ2SEQ",
    "SOURCE_FILE",
    "HubError",
    "ResolvedModel",
    "fingerprint",
    "hub_offline",
    "resolve_model",
]
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
# A chat template (.jinja) shapes an instruct model's every prompt, so it is part of the model too.
_MODEL_FILE_SUFFIXES = (".json", ".safetensors", ".bin", ".spm", ".model", ".txt", ".pt", ".ckpt", ".jinja")
SEQ2SEQ = "seq2seq"
CAUSAL_LM = "causal-lm"
FAMILIES = (SEQ2SEQ, CAUSAL_LM)
DEFAULT_LLM = "eurollm-1.7b-instruct"
"""The instruct LLM used when a command asks for an LLM without naming one."""
# Decoder-only model types, for a config.json that names no ``architectures`` (rare; transformers writes them).
CAUSAL_LM_MODEL_TYPES = frozenset({"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "phi3"})
CHAT_TEMPLATE_FILE = "chat_template.jinja"
CHAT_TEMPLATE_DIR = "additional_chat_templates"

DigestMemo = Callable[[str, Callable[[], str]], str]
"""memo(key, compute) returns a stored digest for key or computes and stores it."""


@dataclass(frozen=True)
class Alias:
    name: str
    task: str
    hub_id: str
    revision: str
    description: str
    licence: str = ""
    family: str = SEQ2SEQ

    @property
    def tasks(self) -> tuple[str, ...]:
        """``("translation", "summarization")`` for an instruct LLM's ``translation+summarization``."""
        return tuple(self.task.split("+"))


@dataclass(frozen=True)
class ResolvedModel:
    """A model found on this machine, ready to be fingerprinted or loaded."""

    name: str
    path: Path
    # The source record (.nl2en-source.json): "source" is local, pulled, download, imported or
    # hub-cache; downloads add "weights" (route, revision, commit, file, sha256). A bare kind is accepted.
    source: dict[str, Any] | str
    hub_id: str | None = None
    revision: str | None = None

    @property
    def kind(self) -> str:
        return self.source if isinstance(self.source, str) else str(self.source.get("source", "local"))

    @property
    def weights(self) -> dict[str, Any]:
        """How the weights were obtained (route, revision, commit, file, sha256), if recorded."""
        weights = self.source.get("weights") if isinstance(self.source, dict) else None
        return weights if isinstance(weights, dict) else {}

    @property
    def slug(self) -> str:
        """The hub id's slug, else the model directory's name: never the path as typed."""
        return slugify(self.hub_id) if self.hub_id else slugify(self.path.name)

    def signature(self, fingerprint: str) -> ModelSection:
        """The run signature's model section: the files' fingerprint, and where they came from."""
        return ModelSection(self.name, fingerprint, self.hub_id, self.revision, str(self.path), self.source, self.slug)

    def config(self) -> dict[str, Any]:
        """The model's config.json (a fresh copy; the file is read once)."""
        return copy.deepcopy(self._json("config.json"))

    def generation_config(self) -> dict[str, Any]:
        return copy.deepcopy(self._json("generation_config.json"))

    @property
    def architecture(self) -> str | None:
        """The transformers class config.json names (``LlamaForCausalLM``, ``MarianMTModel``…), if any."""
        names = self._json("config.json").get("architectures")
        return str(names[0]) if isinstance(names, list) and names else None

    @property
    def is_causal_lm(self) -> bool:
        """Whether this is a decoder-only LM (an instruct LLM), read from config.json, never from the name.

        ``architectures`` decides (``*ForCausalLM``: LlamaForCausalLM, Qwen2ForCausalLM,
        MistralForCausalLM…); without it, an encoder-decoder flag says no and a known decoder-only
        ``model_type`` says yes. Works alike for aliases, hub ids and local directories.
        """
        config = self._json("config.json")
        if config.get("is_encoder_decoder"):
            return False
        names = config.get("architectures")
        if isinstance(names, list) and names:
            return any(str(name).endswith("ForCausalLM") for name in names)
        return config.get("model_type") in CAUSAL_LM_MODEL_TYPES

    @property
    def family(self) -> str:
        """``causal-lm`` or ``seq2seq``: how the model generates, as the alias table names it."""
        return CAUSAL_LM if self.is_causal_lm else SEQ2SEQ

    def chat_template(self, name: str = "default") -> str | None:
        """The model's chat template ``name``, read where transformers reads it; None when there is none.

        ``default``: ``chat_template.jinja`` if present, else ``tokenizer_config.json``'s
        ``chat_template`` (a string, or the entry named ``default`` of a list); any other name:
        ``additional_chat_templates/<name>.jinja``, else the list entry of that name.
        """
        jinja = self.path / CHAT_TEMPLATE_FILE if name == "default" else self.path / CHAT_TEMPLATE_DIR / f"{name}.jinja"
        if re.fullmatch(r"[A-Za-z0-9_.-]+", name) and jinja.is_file():
            return jinja.read_text(encoding="utf-8")
        template = self._json("tokenizer_config.json").get("chat_template")
        if isinstance(template, list):
            named = {str(t.get("name")): t.get("template") for t in template if isinstance(t, dict)}
            template = named.get(name)
        elif name != "default":
            template = None
        return template if isinstance(template, str) and template.strip() else None

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
    project = Path(__file__).resolve().parents[2] / "models"
    return project if project.is_dir() else Path.cwd() / "models"


ALIASES_RESOURCE = "data/registry.toml"
"""The alias table, package data of ``pipeline`` (not a file under ``NL2EN_MODELS``, which only says
where models are stored: pointing it at an empty folder must not make ``opus-mt-nl-en`` unknown)."""


def alias_table() -> dict[str, Any]:
    """The shipped alias table as TOML data (``pipeline/data/registry.toml``)."""
    from importlib import resources

    return tomllib.loads(resources.files("pipeline").joinpath(ALIASES_RESOURCE).read_text(encoding="utf-8"))


def load_aliases() -> dict[str, Alias]:
    """Every alias nl2en ships, by name."""
    return {
        name: Alias(
            name,
            entry["task"],
            entry["hub_id"],
            entry.get("revision", "main"),
            entry.get("description", ""),
            entry.get("licence", ""),
            _family(name, entry.get("family", SEQ2SEQ)),
        )
        for name, entry in alias_table().items()
    }


def _family(alias: str, family: str) -> str:
    if family not in FAMILIES:
        raise ModelError(f"alias {alias!r}: unknown family {family!r} (expected one of {', '.join(FAMILIES)})")
    return family


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable model file ({exc})") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a JSON object")
    return data


def check_model_dir(path: Path) -> None:
    """Refuse directories that are not a model."""
    if not (path / "config.json").is_file():
        raise ModelError(f"{path}: not a model directory (no config.json)")


def _pickle_only(path: Path) -> bool:
    return not any(path.glob("*.safetensors")) and (path / PICKLE_WEIGHTS).is_file()


def _pickle_verdicts() -> Path:
    return models_dir() / ".pickle-checks.json"


def safe_weights_dir(path: Path, allow_pickle: bool = False) -> Path:
    """``path`` if its weights can be loaded without running code; else a converted copy or an error.

    Pickle-only weights are read with the restricted loader (``torch.load(weights_only=True)``,
    which transformers uses too); the verdict is remembered per file, so this costs one load.
    A checkpoint it refuses needs ``--allow-pickle``, and is then converted once into
    ``models/converted/`` so nothing loads the pickle in full again.
    """
    if not _pickle_only(path):
        return path
    weights = path / PICKLE_WEIGHTS
    stat = weights.stat()
    key = f"{weights.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    store = _pickle_verdicts()
    verdicts: dict[str, Any] = {}
    if store.is_file():
        try:
            verdicts = json.loads(store.read_text(encoding="utf-8"))
        except ValueError:
            verdicts = {}
    verdict = verdicts.get(key)
    if verdict is None:
        from pipeline.models.weights import load_pickle_weights

        try:
            load_pickle_weights(weights)
            verdict = "ok"
        except PickleRejected:
            verdict = "rejected"
        verdicts[key] = verdict
        try:
            store.parent.mkdir(parents=True, exist_ok=True)
            store.write_text(json.dumps(verdicts, indent=1), encoding="utf-8")
        except OSError:  # a read-only models folder: check again next time
            pass
    if verdict == "ok":
        return path
    if not allow_pickle:
        raise PickleRejected(
            f"{weights}: the restricted loader (torch.load weights_only=True) refuses this checkpoint; "
            "it holds more than tensors, and loading it in full could run code",
            hint="pass --allow-pickle only if you trust its source",
        )
    return _trusted_conversion(path, key)


def _trusted_conversion(path: Path, key: str) -> Path:
    from pipeline.models.weights import pickle_to_safetensors

    target = models_dir() / "converted" / f"{slugify(str(path))}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    if not (target / SAFE_WEIGHTS).is_file():
        staging = target.with_name(f".{target.name}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(path, staging, ignore=shutil.ignore_patterns(PICKLE_WEIGHTS, ".git", "*.lock"))
        pickle_to_safetensors(path / PICKLE_WEIGHTS, staging / SAFE_WEIGHTS, trusted=True)
        info = _source_info(path)
        info.update({"source": "local", "converted_from": str(path.resolve()), "trusted_pickle": True})
        (staging / SOURCE_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        staging.replace(target)
    return target


def _source_info(path: Path) -> dict[str, Any]:
    info = path / SOURCE_FILE
    return _read_json(info) if info.is_file() else {}


def _hub_cache_snapshot(hub_id: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(hub_id, "config.json")
    return Path(found).parent if isinstance(found, str) else None


def _not_found(name: str, looked: list[str]) -> ModelNotFoundError:
    where = "; ".join(looked)
    return ModelNotFoundError(
        f"model {name!r} is not available on this machine (looked in: {where})",
        hint=f"run `nl2en models pull {name}` on a machine with network access and copy models/ here, "
        "or pass --model DIR with a local model directory",
    )


def _resolved(name: str, path: Path, allow_pickle: bool, default: dict[str, Any]) -> ResolvedModel:
    check_model_dir(path)
    info = {**default, **_source_info(path)}
    loadable = safe_weights_dir(path, allow_pickle)
    if loadable != path:
        info = {**info, **_source_info(loadable)}
    return ResolvedModel(name, loadable.resolve(), info, info.get("hub_id"), info.get("revision"))


def hub_target(hub_id: str) -> Path:
    """Where a downloaded or pulled model lives: ``models/hub/<org>--<name>``."""
    return models_dir() / "hub" / slugify(hub_id)


def resolve_model(name: str, *, allow_download: bool = True, allow_pickle: bool = False) -> ResolvedModel:
    """Find ``name`` (alias, hub id or directory) on this machine, downloading if allowed.

    Fails fast with a message naming the model, where it looked and how to get it.
    """
    if not name or not name.strip():
        raise ModelError("empty model name")
    candidate = Path(name).expanduser()
    if candidate.is_dir():
        return _resolved(candidate.name, candidate, allow_pickle, {"source": "local"})
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
    for kind, sub in (("pulled", hub_target(hub_id)), ("imported", root / "local" / slugify(name))):
        looked.append(str(sub))
        if (sub / "config.json").is_file():
            return _resolved(name, sub, allow_pickle, {"source": kind, "hub_id": hub_id})
    if not _HUB_ID.match(hub_id):
        raise _not_found(name, looked)
    looked.append("the Hugging Face cache")
    snapshot = _hub_cache_snapshot(hub_id)
    if snapshot is not None:
        return _resolved(
            name, snapshot, allow_pickle, {"source": "hub-cache", "hub_id": hub_id, "revision": snapshot.name}
        )
    if hub_offline() or not allow_download:
        looked.append(f"not the hub: {offline_reason()}" if hub_offline() else "not the hub")
        raise _not_found(name, looked)
    target = hub_target(hub_id)
    try:
        fetch_model(hub_id, revision, target, kind="download")
    except HubError as exc:
        raise HubError(f"model {name!r}: {exc.message}", hint=exc.hint) from exc
    return _resolved(name, target, allow_pickle, {"source": "download", "hub_id": hub_id})


def describe_source(model: ResolvedModel) -> str:
    """One line: which model, which commit, and how its weights were obtained."""
    where = f"{model.hub_id}@{model.revision[:12]}" if model.hub_id and model.revision else str(model.path)
    weights = model.weights
    route = {
        "safetensors": "safetensors from the revision",
        "conversion-pr": f"safetensors from conversion PR {weights.get('revision')} @{str(weights.get('commit'))[:12]}",
        "converted-pickle": "pytorch_model.bin converted here to safetensors (restricted loader)",
    }.get(str(weights.get("route")), "weights as found")
    note = f" ({weights['note']})" if weights.get("note") else ""  # e.g. why the conversion PR was not used
    return f"model {model.name}: {where} ({model.kind}); weights: {route}{note}"


def model_files(path: Path) -> list[Path]:
    """The files that define a model's behaviour: config, tokenizer and weights."""
    templates = path / CHAT_TEMPLATE_DIR  # named chat templates beside the default one
    found = [*path.iterdir(), *(templates.glob("*.jinja") if templates.is_dir() else [])]
    return sorted(p for p in found if p.is_file() and p.name != SOURCE_FILE and p.name.endswith(_MODEL_FILE_SUFFIXES))


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
        weights = model.weights
        if weights.get("route") in {"conversion-pr", "converted-pickle"} and weights.get("sha256"):
            # the weights are not the revision's own files: name them too
            return f"hub:{model.hub_id}@{model.revision}+{weights['route']}:{str(weights['sha256'])[:16]}"
        return f"hub:{model.hub_id}@{model.revision}"
    total = hashlib.sha256()
    for file in model_files(model.path):
        stat = file.stat()
        key = f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        digest = memo(key, lambda f=file: file_sha256(f)) if memo else file_sha256(file)  # type: ignore[misc]
        total.update(f"{file.relative_to(model.path).as_posix()}\0{digest}\n".encode())
    return f"sha256:{total.hexdigest()[:32]}"


def pull_model(name: str, revision: str | None = None) -> Path:
    """Download a pinned snapshot into ``models/hub/<slug>`` for offline use later."""
    alias = load_aliases().get(name)
    hub_id = alias.hub_id if alias else name
    if not _HUB_ID.match(hub_id):
        raise ModelError(f"malformed model id {name!r}: expected an alias or 'org/name'")
    if hub_offline():
        raise ModelNotFoundError(f"cannot pull {hub_id}: {offline_reason()}")
    target = hub_target(hub_id)
    if revision is not None and (target / "config.json").is_file():
        shutil.rmtree(target)  # an explicit revision replaces what is there
    fetch_model(hub_id, revision or (alias.revision if alias else "main"), target, kind="pulled")
    return target


def import_model(directory: Path, name: str | None = None, allow_pickle: bool = False) -> Path:
    """Copy a model directory from elsewhere into ``models/local/<name>``."""
    if not directory.is_dir():
        raise ModelError(f"{directory}: not a directory")
    check_model_dir(directory)
    safe_weights_dir(directory, allow_pickle)
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
    licence: str = ""
    family: str = SEQ2SEQ


def list_models() -> list[ModelListing]:
    """Every alias, plus imported and tiny models, each under a name ``--model NAME`` resolves to it.

    An imported model (``models/local/<name>``) is found by its name; a tiny one (``models/tiny/``)
    is not (nothing looks there by name), so it is listed by its path, as typed from here.
    """
    rows: list[ModelListing] = []
    for alias in load_aliases().values():
        try:
            found: str | None = str(resolve_model(alias.name, allow_download=False).path)
        except ModelError:
            found = None
        rows.append(
            ModelListing(alias.name, alias.task, alias.hub_id, alias.description, found, alias.licence, alias.family)
        )
    root = models_dir()
    for sub in ("local", "tiny"):
        for path in sorted((root / sub).glob("*/config.json")) if (root / sub).is_dir() else []:
            model_dir = path.parent
            rows.append(ModelListing(usable_name(model_dir), "-", "-", f"{sub} model directory", str(model_dir)))
    return rows


def usable_name(model_dir: Path) -> str:
    """What ``--model`` takes for ``model_dir``: its folder name where that resolves to it, else its path.

    The path is relative to the current directory when inside it (``models/tiny/marian``), else absolute.
    """
    name = model_dir.name
    with contextlib.suppress(ModelError):
        if resolve_model(name, allow_download=False).path == model_dir.resolve():
            return name
    with contextlib.suppress(ValueError):
        relative = model_dir.resolve().relative_to(Path.cwd().resolve())
        if relative.parts and relative.parts[0] not in (".", ".."):
            return str(relative) if os.sep in str(relative) else f".{os.sep}{relative}"
    return str(model_dir.resolve())
