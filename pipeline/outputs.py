"""Where outputs go and how they are written: atomically, and never outside ``--out``."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline.errors import OutputError

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


def safe_name(name: str, fallback: str = "document") -> str:
    """A single, harmless path component derived from a user-supplied name."""
    cleaned = re.sub(r"[^\w.-]+", "-", name, flags=re.UNICODE).strip("-.")
    cleaned = re.sub(r"\.{2,}", ".", cleaned)
    return cleaned[:120] or fallback


def run_directory(out: Path, doc_stem: str, run_name: str) -> Path:
    """``out/<doc>/<run>``, refusing anything that would land outside ``out``."""
    root = out.resolve()
    path = (root / safe_name(doc_stem) / safe_name(run_name, "run")).resolve()
    if root not in path.parents:
        raise OutputError(f"output path {path} would leave {root}")
    return path


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
    write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def library_versions() -> dict[str, str]:
    """Installed versions of what shapes the outputs, read without importing anything."""
    versions = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def publish_directory(target: Path, files: Mapping[str, str | bytes]) -> None:
    """Make ``target`` hold ``files`` (and whatever else it held), all at once.

    The files are written to a hidden staging directory beside ``target``, files of an
    earlier run that are not replaced are hard-linked in, and the staging directory is
    swapped in with two renames. A process killed at any point leaves either the old
    complete directory, the new complete one, or (between the renames) none: never a
    directory with some outputs of one run and some of another. Hidden leftovers of a
    killed run are removed by the next one.
    """
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    for stale in parent.glob(f".{target.name}.staging-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in parent.glob(f".{target.name}.old-*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.staging-"))
    try:
        for name, data in files.items():
            payload = data.encode("utf-8") if isinstance(data, str) else data
            with (staging / name).open("wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
        if target.is_dir():
            for old in target.iterdir():
                if old.is_file() and old.name not in files:
                    os.link(old, staging / old.name)
            retired = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.old-"))
            os.rename(target, retired / "run")
            os.rename(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
