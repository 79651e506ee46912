"""What every command shares: turning errors into one line, the console, common options.

Command modules depend on this one, never on one another; :mod:`pipeline.cli.app` puts
them together.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from pipeline.errors import Nl2enError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from rich.console import Console

    from pipeline.engines.factory import EngineOptions
    from pipeline.runs.sessions import ExecutorOptions

T = TypeVar("T")

DEFAULT_TRANSLATOR = "opus-mt-nl-en"
DEFAULT_SUMMARIZER = "distilbart-cnn"


# --- errors and output ------------------------------------------------------------------------


def fail(error: Nl2enError, code: int = 1) -> NoReturn:
    typer.echo(f"error [{error.code}]: {error}", err=True)
    raise typer.Exit(code)


def report(error: Nl2enError, name: str | None = None) -> None:
    prefix = "" if name is None or str(error).startswith(name) else f"{name}: "
    typer.echo(f"error [{error.code}]: {prefix}{error}", err=True)


@contextmanager
def handled() -> Iterator[None]:
    """Turn library errors into one line on stderr and exit code 1; never a traceback."""
    try:
        yield
    except Nl2enError as exc:
        fail(exc)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None


def call(fn: Callable[[], T]) -> T:
    with handled():
        return fn()
    raise AssertionError("unreachable")  # pragma: no cover


def console() -> Console:
    """A rich console that keeps wide tables readable when piped (no terminal width to ask)."""
    from rich.console import Console

    width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "160"))
    return Console(width=width, highlight=False)


# --- options ----------------------------------------------------------------------------------

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Alias, hub id or local model directory.")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Output directory.")]
RunNameOpt = Annotated[
    str | None,
    typer.Option("--run-name", help="Run directory name (default: model, settings that differ from its own, engine)."),
]
CacheOpt = Annotated[Path | None, typer.Option("--cache", help="Cache file (default: NL2EN_CACHE or user cache).")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")]
BeamsOpt = Annotated[int | None, typer.Option("--beams", min=1, help="Beam size (default: model's).")]
MaxNewOpt = Annotated[int | None, typer.Option("--max-new-tokens", min=1, help="Cap on generated tokens.")]
BatchOpt = Annotated[int, typer.Option("--batch-size", min=1, help="Sentences per batch.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="cpu, cuda, cuda:0, mps…")]
ThreadsOpt = Annotated[int | None, typer.Option("--threads", min=1, help="CPU threads for the engine.")]
EncodingOpt = Annotated[str | None, typer.Option("--encoding", help="Input encoding (default: UTF-8/BOM).")]
MaxCharsOpt = Annotated[int | None, typer.Option("--max-chars", min=1, help="Refuse longer documents.")]
PickleOpt = Annotated[
    bool,
    typer.Option(
        "--allow-pickle",
        help="Load a pickle checkpoint the restricted loader (weights_only) refuses; it can run code.",
    ),
]
BackendOpt = Annotated[
    str, typer.Option("--backend", help="auto (CTranslate2 where possible), transformers or ctranslate2.")
]
ComputeOpt = Annotated[
    str, typer.Option("--compute-type", "--quantization", help="CTranslate2 compute type: int8, float32, …")
]


def engine_options(
    backend: str = "auto", compute_type: str = "int8", device: str = "cpu", threads: int | None = None,
    batch_size: int = 16,
) -> EngineOptions:  # fmt: skip
    """The one ``EngineOptions`` value a command passes to every opener."""
    from pipeline.engines.factory import EngineOptions

    return EngineOptions(
        backend=backend, compute_type=compute_type, device=device, threads=threads, batch_size=batch_size
    )


GlossaryOpt = Annotated[
    Path | None,
    typer.Option(
        "--glossary", help="Glossary file (TSV nl<TAB>en, or TOML with inflected forms) over the built-in one."
    ),
]
NoGlossaryOpt = Annotated[
    bool, typer.Option("--no-glossary", help="Leave out the built-in glossary (a --glossary FILE still applies).")
]


class GuardMode(StrEnum):
    retry = "retry"
    flag = "flag"
    off = "off"


GuardsOpt = Annotated[
    GuardMode,
    typer.Option("--guards", help="retry: retry flagged sentences (default); flag: only flag them; off: no checks."),
]


def quality_options(glossary: Path | None, no_glossary: bool, guards: str | GuardMode) -> dict[str, Any]:
    """``open_translator`` arguments for the glossary and guard options."""
    from pipeline.quality.glossary import Glossary, load_glossary, resolve_glossary

    if no_glossary:
        chosen = load_glossary(glossary) if glossary is not None else Glossary()
    else:
        chosen = resolve_glossary(glossary)
    return {"glossary": chosen, "guards": str(guards)}


ExecutorOpt = Annotated[
    str, typer.Option("--executor", help="local (this process) or ray (model replicas on a Ray cluster).")
]
WorkersOpt = Annotated[int, typer.Option("--workers", min=1, help="Ray: model replicas (actors).")]
RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="Ray: cluster address host:port (default: RAY_ADDRESS, else a Ray started here for the run).",
    ),
]
CpusPerWorkerOpt = Annotated[
    int, typer.Option("--cpus-per-worker", min=1, help="Ray: CPUs (engine threads) per replica.")
]


def executor_options(
    executor: str = "local", workers: int = 1, ray_address: str | None = None, cpus_per_worker: int = 1
) -> ExecutorOptions:
    """The one ``ExecutorOptions`` value a command passes to every opener; an unknown executor is one line."""
    from pipeline.errors import ExecutorError
    from pipeline.runs.sessions import EXECUTORS, ExecutorOptions

    if executor not in EXECUTORS:
        fail(ExecutorError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}"))
    return ExecutorOptions(kind=executor, workers=workers, address=ray_address, cpus_per_worker=cpus_per_worker)
