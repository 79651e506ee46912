"""The output contract: what a run directory holds, what its files are called, how they are written.

Every other module asks this one: the file names, which input owns a document folder
(:class:`DocumentFolders`), the rule that names a run
(``<model>[-<settings that differ from the model's>][-<engine>]``), the summary file's
slug, the manifest's schema version, how ``aligned.jsonl`` is written and read, and how a
run directory is published (atomically, under a lock, replacing what was there, keeping the
run's first ``created``). Everything written here gets the modes ``cp`` would give it:
folders ``0o777``, files ``0o666``, less the umask.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline.errors import OutputError
from pipeline.signature import RunSignature

TRANSLATION_FILE = "translation.en.txt"


def translation_file(suffix: str) -> str:
    """A structured document's translation in its own format: ``translation.en.html``, ``.docx``, ``.md`` …"""
    return f"translation.en{suffix}"


ALIGNED_FILE = "aligned.jsonl"
MANIFEST_FILE = "manifest.json"
SCORES_FILE = "scores.json"
SUMMARY_PREFIX, SUMMARY_SUFFIX = "summary.", ".txt"
EXTRACTIVE_SLUG = "extractive"
MANIFEST_SCHEMA_VERSION = 2  # 2: input.resolved, segments.generated_tokens, summarizer.file, schema itself
LOCK_TIMEOUT_S = 600.0
OWNER_FILE = ".nl2en-input.json"  # in OUT/<doc>/: the input that folder belongs to
MAX_NAME = 120  # characters of a cleaned path component
SOURCE_SIDE_PART = "source-side"  # a summary of Dutch sentences (``run --source-side``), in the run name

VERSIONED_PACKAGES = (
    "nl2en",
    "transformers",
    "torch",
    "tokenizers",
    "sentencepiece",
    "sacremoses",
    "sentencex",
    "huggingface-hub",
    "ctranslate2",
)
# Short names of decoding settings in run names: ``opus-mt-nl-en-beams1``.
SETTING_NAMES = {
    "num_beams": "beams",
    "max_new_tokens": "max-new",
    "max_length": "max-len",
    "min_length": "min-len",
    "length_penalty": "lp",
    "no_repeat_ngram_size": "no-repeat",
    "repetition_penalty": "rep",
}
# Characters that str.splitlines() (and some JSON-lines readers) treat as line ends but JSON
# leaves raw (it escapes only those below U+0020): escaped on write, so that every record is
# exactly one line for any reader.
_LINE_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}
_LINE_BREAK_RE = re.compile("[" + "".join(_LINE_BREAKS) + "]")


# --- names ------------------------------------------------------------------------------------


def safe_name(name: str, fallback: str = "document") -> str:
    """A single, harmless path component derived from a user-supplied name."""
    cleaned = re.sub(r"[^\w.+-]+", "-", name, flags=re.UNICODE).strip("-.")
    cleaned = re.sub(r"\.{2,}", ".", cleaned)
    return cleaned[:MAX_NAME] or fallback


# --- document folders: one input each ---------------------------------------------------------


@dataclass(frozen=True)
class InputIdentity:
    """What makes two inputs the same input, and so gives them the same document folder.

    A file is its resolved absolute path (symbolic links followed): the same file given twice,
    or by another relative path, is one input, and an edited file is still its own input (its
    new translation replaces the old one). A JSONL record is its corpus's resolved path and its
    id (``/data/archive.jsonl#nos-123``): ids are unique within a corpus, and a record edited in
    place keeps its folder. Standard input never gets a folder (its translation goes to
    standard output). Moving or renaming a file makes it another input.
    """

    kind: str  # "file" or "record"
    key: str

    @classmethod
    def of_file(cls, path: Path) -> InputIdentity:
        return cls("file", str(Path(path).resolve()))

    @classmethod
    def of_record(cls, corpus: Path, doc_id: str) -> InputIdentity:
        return cls("record", f"{Path(corpus).resolve()}#{doc_id}")

    @property
    def digest(self) -> str:
        """Hex sha256 of the identity; its first characters tell apart folders whose cleaned names collide."""
        return hashlib.sha256(f"{self.kind}\0{self.key}".encode()).hexdigest()

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "key": self.key}

    def describes(self, recorded: Mapping[str, Any]) -> bool:
        """Whether a manifest's ``input`` section (written before folders had owners) is this input."""
        resolved = str(recorded.get("resolved") or "")
        if self.kind == "file":
            return resolved == self.key
        corpus, _, doc_id = self.key.rpartition("#")
        return recorded.get("name") == doc_id and resolved.startswith(f"{corpus}:")


_FOREIGN = InputIdentity("foreign", "")  # a folder nl2en cannot tell the owner of: never taken over
_UNCLAIMED = InputIdentity("unclaimed", "")  # an existing folder with no owner and no runs: free


class DocumentFolders:
    """Names each input's folder under ``OUT``: one input per folder, stable across commands and argument orders.

    A folder is claimed by writing :data:`OWNER_FILE` (the input's :class:`InputIdentity`) into
    it, under a lock on ``OUT`` itself. An input gets, in this order: a folder it already owns;
    its cleaned name (``d1``) if that is free; else ``d1-<first 8 hex of its identity's sha256>``
    (16, then 64 hex on the unlikely clash). So ``three/d1.txt`` keeps ``d1`` and
    ``other/d1.txt`` gets ``d1-3f2a9c01`` however often and in whichever order they are given,
    and no command replaces another input's runs. Names are compared case-folded, so the folders
    stay distinct on a case-insensitive file system too. A folder written before owners were
    recorded is taken over by the input its manifests name, and by no other; an empty one by
    whoever comes first.

    :meth:`prefer` makes one command independent of argument order: among inputs known up front
    whose cleaned names collide, the bare name goes to the one that owns it already, else to the
    smallest identity. Records of a JSONL corpus are claimed as they stream by.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self._yielding: set[InputIdentity] = set()  # leave the bare name to another input of this command
        self._on_disk: set[str] | None = None  # case-folded names in OUT, read once

    def prefer(self, inputs: Iterable[tuple[str, InputIdentity]]) -> None:
        """Decide, for inputs known before the batch starts, which one of each colliding group gets the bare name."""
        groups: dict[str, dict[InputIdentity, str]] = {}
        for stem, identity in inputs:
            base = safe_name(stem)
            groups.setdefault(base.casefold(), {})[identity] = base
        with self._lock():
            for members in groups.values():
                if len(members) < 2:
                    continue
                owners = [i for i, base in members.items() if self._owner(base, i) == i]
                chosen = owners[0] if owners else min(members, key=lambda i: (i.kind, i.key))
                self._yielding.update(i for i in members if i != chosen)

    def claim(self, stem: str, identity: InputIdentity) -> str:
        """The folder name for ``identity`` (created, with its owner record, if new)."""
        base = safe_name(stem)
        names = [base] + [_suffixed(base, identity.digest[:width]) for width in (8, 16, 64)]
        with self._lock():
            for name in names:
                if self._owner(name, identity) == identity:
                    return name
            for position, name in enumerate(names):
                if position == 0 and identity in self._yielding:
                    continue
                if self._take(name, identity):
                    return name
        raise OutputError(f"{self.out}: no free document folder for {identity.key} (tried {', '.join(names)})")

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """An exclusive lock on ``OUT`` itself (``flock`` on the folder), so ``OUT`` holds only document folders.

        Claims take microseconds, so waiting for one needs no timeout.
        """
        import fcntl

        self.out.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.out, os.O_RDONLY)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            os.close(handle)  # releases the lock

    def _owner(self, name: str, asking: InputIdentity) -> InputIdentity | None:
        """Who owns ``OUT/name``: None if it does not exist, :data:`_UNCLAIMED` if it holds nothing of anyone.

        A folder written before owners were recorded goes to ``asking`` (its record is written
        now) if its runs' manifests all name ``asking``, and is foreign otherwise.
        """
        folder = self.out / name
        if not folder.exists():
            return None
        if not folder.is_dir():
            return _FOREIGN
        try:
            data = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
            return InputIdentity(str(data["kind"]), str(data["key"]))
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError):
            return _FOREIGN  # unreadable: never overwritten
        manifests = list(folder.glob(f"*/{MANIFEST_FILE}"))
        if not manifests:
            return _UNCLAIMED
        for manifest in manifests:
            try:
                recorded = json.loads(manifest.read_text(encoding="utf-8")).get("input") or {}
            except (OSError, ValueError, AttributeError):
                return _FOREIGN
            if not asking.describes(recorded):
                return _FOREIGN
        write_json(folder / OWNER_FILE, asking.to_json())
        return asking

    def _take(self, name: str, identity: InputIdentity) -> bool:
        """Claim ``OUT/name`` for ``identity`` if it is free; False if any folder of that name, in any case, is not."""
        owner = self._owner(name, identity)
        if owner is _UNCLAIMED:
            write_json(self.out / name / OWNER_FILE, identity.to_json())
            return True
        if owner is not None:
            return False
        if self._on_disk is None:
            self._on_disk = {entry.casefold() for entry in os.listdir(self.out)}
        if name.casefold() in self._on_disk:  # ``A-B`` beside ``a-b`` on a case-sensitive disk
            return False
        try:
            (self.out / name).mkdir()
        except FileExistsError:
            return False
        self._on_disk.add(name.casefold())
        write_json(self.out / name / OWNER_FILE, identity.to_json())
        return True


def _suffixed(base: str, suffix: str) -> str:
    return safe_name(f"{base[: MAX_NAME - len(suffix) - 1]}-{suffix}")


def setting_parts(settings: Mapping[str, Any], defaults: Mapping[str, Any]) -> list[str]:
    """``beams1``-style parts for each setting that differs from the model's own."""
    parts = []
    for key in sorted(settings):
        value = settings[key]
        if value is None or defaults.get(key) == value:
            continue
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        parts.append(f"{SETTING_NAMES.get(key, key.replace('_', '-'))}{shown}")
    return parts


def run_name(signature: RunSignature) -> str:
    """The default run name, from the run signature alone.

    The model's slug, then the decoding settings that differ from the model's own, then the
    engine options the command set away from their defaults, then (translations) a guard mode
    other than ``retry`` and a glossary other than the built-in one, then an instruct model's
    prompt settings other than the defaults (:func:`prompt_parts`): ``opus-mt-nl-en``,
    ``opus-mt-nl-en-beams1``, ``opus-mt-nl-en-beams1-ctranslate2-float32``,
    ``opus-mt-nl-en-guards-flag-no-glossary``, ``eurollm-1-7b-instruct-context0``.
    """
    decoding = setting_parts(signature.decoding.settings, signature.decoding.defaults)
    parts = [signature.model.slug, *decoding, *signature.engine.choices, *quality_parts(signature)]
    return safe_name("-".join([*parts, *prompt_parts(signature)]), "run")


def prompt_parts(signature: RunSignature) -> list[str]:
    """What an instruct model's prompt was filled with differently from the defaults, for the run name:
    ``context0``, ``context4``; a summary's ``sentences5`` or ``words80``."""
    from pipeline.summaries.llm import DEFAULT_SENTENCES
    from pipeline.translation.llm import DEFAULT_CONTEXT

    prompt = signature.prompt
    if prompt is None:
        return []
    parts = [f"context{prompt.context}"] if signature.stage == "translate" and prompt.context != DEFAULT_CONTEXT else []
    options = prompt.options
    if options.get("sentences") not in (None, DEFAULT_SENTENCES) or options.get("words") is not None:
        parts.append(f"sentences{options['sentences']}" if options.get("sentences") else f"words{options.get('words')}")
    return parts


def quality_parts(signature: RunSignature) -> list[str]:
    """What differs from the default quality settings (``retry``, the built-in glossary), for the run name."""
    if signature.quality is None and signature.glossary is None:
        return []
    mode = signature.quality.mode if signature.quality else "off"
    parts = [] if mode == "retry" else [f"guards-{mode}"]
    glossary = signature.glossary
    if glossary is None or not glossary.entries:
        return [*parts, "no-glossary"]
    if glossary.name != "builtin":
        parts.append(f"glossary-{(glossary.digest or '')[:8]}")
    return parts


def joint_run_name(translator: str, summarizer: str, *, source_side: bool = False) -> str:
    """A translate-and-summarise run: both halves, so changing either gives a new run.

    A summary of the Dutch side (``--source-side``: Dutch sentences chosen, their English
    shown) is another summary of the same translation, so it is another run:
    ``opus-mt-nl-en+extractive-source-side``. It is never cached, so nothing else keys it.
    """
    return f"{translator}+{summarizer}" + (f"-{SOURCE_SIDE_PART}" if source_side else "")


def summary_slug(model_slug: str | None) -> str:
    """The slug in ``summary.<slug>.txt``: the summariser model's, or ``extractive``."""
    return model_slug or EXTRACTIVE_SLUG


def summary_file(slug: str) -> str:
    return f"{SUMMARY_PREFIX}{slug}{SUMMARY_SUFFIX}"


def summary_files(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob(f"{SUMMARY_PREFIX}*{SUMMARY_SUFFIX}"))


def run_directory(out: Path, doc_stem: str, run_name: str) -> Path:
    """``out/<doc>/<run>``, refusing anything that would land outside ``out``."""
    root = out.resolve()
    path = (root / safe_name(doc_stem) / safe_name(run_name, "run")).resolve()
    if root not in path.parents:
        raise OutputError(f"output path {path} would leave {root}")
    return path


def is_run_dir(path: Path) -> bool:
    """A published run: a manifest beside the translation records or a summary."""
    return (path / MANIFEST_FILE).is_file() and ((path / ALIGNED_FILE).is_file() or bool(summary_files(path)))


# --- aligned.jsonl ----------------------------------------------------------------------------


def dumps_jsonl(records: Iterable[Mapping[str, Any]]) -> str:
    """One JSON object per ``\\n``-terminated line; Unicode kept readable, line separators escaped."""
    lines = []
    for record in records:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))  # compact: long articles
        lines.append(_LINE_BREAK_RE.sub(lambda m: _LINE_BREAKS[m.group()], line) + "\n")
    return "".join(lines)


def loads_jsonl(text: str) -> list[dict[str, Any]]:
    """Records of a JSON-lines text; lines end at ``\\n`` only (JSON strings may hold other breaks)."""
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def read_aligned(run_dir: Path) -> list[dict[str, Any]]:
    return loads_jsonl((run_dir / ALIGNED_FILE).read_text(encoding="utf-8"))


def dumps_manifest(manifest: Mapping[str, Any]) -> str:
    return json.dumps({"schema": MANIFEST_SCHEMA_VERSION, **manifest}, indent=2, ensure_ascii=False) + "\n"


# --- writing ----------------------------------------------------------------------------------


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write via a temporary file in the same directory, fsync and rename.

    Readers see the old file or the new one, never a partial one, even if the process
    is killed mid-write. The file gets ``0o666`` less the umask, as ``cp`` gives
    (``tempfile.mkstemp`` would leave it private, ``0o600``, through the rename).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp, fd = _new_file(path.parent, f".{path.name}.", ".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _new_file(parent: Path, prefix: str, suffix: str) -> tuple[Path, int]:
    """A new file of a unique name in ``parent``, created ``0o666`` (the umask applies), and its descriptor."""
    while True:
        path = parent / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue


def _new_directory(parent: Path, prefix: str) -> Path:
    """A new directory of a unique name in ``parent``, created ``0o777`` (the umask applies, as for ``mkdir``)."""
    while True:
        path = parent / f"{prefix}{secrets.token_hex(6)}"
        try:
            path.mkdir(0o777)
            return path
        except FileExistsError:
            continue


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    write_atomic(path, dumps_jsonl(records))


def library_versions() -> dict[str, str]:
    """Installed versions of what shapes the outputs, read without importing anything."""
    versions = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_dead_leftovers(parent: Path, name: str) -> None:
    """Staging folders of processes that no longer exist (killed mid-publish); never a live one's."""
    for stale in parent.glob(f".{name}.staging-*"):
        pid = stale.name.removeprefix(f".{name}.staging-").split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)


def publish_directory(target: Path, files: Mapping[str, str | bytes]) -> None:
    """Make ``target`` hold exactly ``files``, all at once.

    The files are written to this process's own staging folder beside ``target``; then,
    under a lock on ``target`` (so concurrent publishers of one run take turns), the old
    directory is renamed away and the staging folder renamed in. Nothing of an earlier run
    survives but its ``created`` stamp: a manifest published over an earlier one keeps the
    earlier ``created`` (:func:`_keep_created`), so a run's age, which ``compare`` picks its
    baseline by, does not change when it is run again. A process killed at any point leaves
    the old complete directory, the new complete one, or (between the renames) none: never a
    mix. The last publisher wins. The directory and files get the modes ``mkdir`` and ``cp``
    give (``0o777``/``0o666`` less the umask), not the staging folder's private ones.
    """
    from filelock import FileLock

    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = _new_directory(parent, f".{target.name}.staging-{os.getpid()}-")
    try:
        for name, data in files.items():
            payload = data.encode("utf-8") if isinstance(data, str) else data
            with (staging / name).open("wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
        with FileLock(str(parent / f".{target.name}.lock"), timeout=LOCK_TIMEOUT_S):
            _remove_dead_leftovers(parent, target.name)
            for retired in parent.glob(f".{target.name}.old-*"):  # only ever made under this lock
                shutil.rmtree(retired, ignore_errors=True)
            if target.is_dir():
                if MANIFEST_FILE in files:
                    _keep_created(target / MANIFEST_FILE, staging / MANIFEST_FILE)
                retired = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.old-"))
                os.rename(target, retired / "run")
                os.rename(staging, target)
                shutil.rmtree(retired, ignore_errors=True)
            else:
                os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _keep_created(old: Path, new: Path) -> None:
    """Give the staged manifest ``new`` the ``created`` of the published one ``old`` (when both have one)."""
    try:
        created = json.loads(old.read_text(encoding="utf-8")).get("created")
        manifest = json.loads(new.read_text(encoding="utf-8"))
    except (OSError, ValueError, AttributeError):
        return  # an unreadable old manifest: the run starts again
    if not isinstance(created, str) or not created or not isinstance(manifest, dict) or "created" not in manifest:
        return
    if manifest["created"] != created:
        manifest["created"] = created
        with new.open("w", encoding="utf-8") as fh:
            fh.write(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
