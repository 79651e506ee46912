"""The output contract: what a run directory holds, what its files are called, how they are written.

Every other module asks this one: the file names, the rule that names a run
(``<model>[-<settings that differ from the model's>][-<engine>]``), the summary file's
slug, the manifest's schema version, how ``aligned.jsonl`` is written and read, and how a
run directory is published (atomically, under a lock, replacing what was there).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline.errors import OutputError
from pipeline.signature import RunSignature

TRANSLATION_FILE = "translation.en.txt"
ALIGNED_FILE = "aligned.jsonl"
MANIFEST_FILE = "manifest.json"
SCORES_FILE = "scores.json"
SUMMARY_PREFIX, SUMMARY_SUFFIX = "summary.", ".txt"
EXTRACTIVE_SLUG = "extractive"
MANIFEST_SCHEMA_VERSION = 2  # 2: input.resolved, segments.generated_tokens, summarizer.file, schema itself
LOCK_TIMEOUT_S = 600.0

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
    return cleaned[:120] or fallback


def document_names(stems: Sequence[str], taken: set[str] | None = None) -> list[str]:
    """One output folder name per input, distinct even on a case-insensitive file system.

    Names are cleaned first and compared case-folded, so ``a b``, ``a-b`` and ``A-B`` get
    ``a-b``, ``a-b-2`` and ``A-B-3``. ``taken`` (case-folded names already given out) is
    updated, so a stream of inputs can be named a few at a time.
    """
    taken = set() if taken is None else taken
    names = []
    for stem in stems:
        base = safe_name(stem)
        name, number = base, 1
        while name.casefold() in taken:
            number += 1
            name = f"{base}-{number}"
        taken.add(name.casefold())
        names.append(name)
    return names


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
    other than ``retry`` and a glossary other than the built-in one: ``opus-mt-nl-en``,
    ``opus-mt-nl-en-beams1``, ``opus-mt-nl-en-beams1-ctranslate2-float32``,
    ``opus-mt-nl-en-guards-flag-no-glossary``.
    """
    decoding = setting_parts(signature.decoding.settings, signature.decoding.defaults)
    parts = [signature.model.slug, *decoding, *signature.engine.choices, *quality_parts(signature)]
    return safe_name("-".join(parts), "run")


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


def joint_run_name(translator: str, summarizer: str) -> str:
    """A translate-and-summarise run: both halves, so changing either gives a new run."""
    return f"{translator}+{summarizer}"


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
        line = json.dumps(record, ensure_ascii=False)
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
    is killed mid-write.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    survives. A process killed at any point leaves the old complete directory, the new
    complete one, or (between the renames) none: never a mix. The last publisher wins.
    """
    from filelock import FileLock

    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.staging-{os.getpid()}-"))
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
                retired = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.old-"))
                os.rename(target, retired / "run")
                os.rename(staging, target)
                shutil.rmtree(retired, ignore_errors=True)
            else:
                os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
