"""What every command shares: turning errors into one line, the console, common options.

Options come in groups (model, decoding, engine, quality, executor, input/output), each shown
in its own ``--help`` panel and turned by one builder here into the typed value the library
takes (``EngineOptions``, ``ExecutorOptions``, ``CacheSpec``, ``TranslatorSpec``,
``SummarizerSpec``), validated once. Commands that share a group share its builder.
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
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from pipeline.errors import Nl2enError, OptionsError, OutputError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from rich.console import Console

    from pipeline.engines.factory import EngineOptions
    from pipeline.quality.glossary import Glossary
    from pipeline.runs.batch import ReadOptions
    from pipeline.runs.sessions import CacheSpec, ExecutorOptions, SummarizerSpec, TranslatorSpec

T = TypeVar("T")

DEFAULT_TRANSLATOR = "opus-mt-nl-en"
DEFAULT_SUMMARIZER = "distilbart-cnn"


# --- errors and output ------------------------------------------------------------------------


def error_line(error: Nl2enError, name: str | None = None) -> str:
    """``error [E101]: name: message (hint)``: every failure a user sees, on one line."""
    prefix = "" if name is None or str(error).startswith(name) else f"{name}: "
    return f"error [{error.code}]: {prefix}{error}"


def exit_code(error: Nl2enError) -> int:
    """2 for options refused before any work (the usage-error convention), 1 for everything else."""
    return 2 if isinstance(error, OptionsError) else 1


def fail(error: Nl2enError, code: int | None = None) -> NoReturn:
    typer.echo(error_line(error), err=True)
    raise typer.Exit(exit_code(error) if code is None else code)


def report(error: Nl2enError, name: str | None = None) -> None:
    typer.echo(error_line(error, name), err=True)


def interrupted() -> None:
    """Say "interrupted" at the start of a clean line: on a terminal, over the ``^C`` echo or a bar's remains."""
    start = "\r\x1b[K" if sys.stderr.isatty() else ""
    sys.stderr.write(f"{start}interrupted\n")
    sys.stderr.flush()


@contextmanager
def handled() -> Iterator[None]:
    """Turn library errors into one line on stderr and exit code 1 (2: refused options); never a traceback."""
    try:
        yield
    except Nl2enError as exc:
        fail(exc)
    except KeyboardInterrupt:
        interrupted()
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


# --- checks made once, before a model is opened ----------------------------------------------


def given_options(ctx: typer.Context, names: dict[str, str]) -> list[str]:
    """The flags (``names``: parameter → flag) the user typed, as opposed to left at their defaults."""
    given = []
    for name, flag in names.items():
        source = ctx.get_parameter_source(name)
        if source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP"):
            given.append(flag)
    return given


def check_paths(paths: list[str], *, stdin: str | None, file_only: list[str]) -> bool:
    """Whether the input is stdin (``-``); refuse ``-`` among files, where it is not read, or with file-only flags.

    ``stdin`` says where a command sends stdin's result (None: it does not read stdin);
    ``file_only`` are the flags given that only apply to files (``--out``, ``--run-name``).
    """
    if "-" not in paths:
        return False
    if len(paths) > 1:
        raise OptionsError("- (stdin) must be the only input", hint="give files, or pipe one article into -")
    if stdin is None:
        raise OptionsError(
            "this command writes run directories and does not read - (stdin)",
            hint="nl2en translate - | nl2en summarize - reads stdin, or give files",
        )
    if file_only:
        raise OptionsError(
            f"{' and '.join(file_only)} {'does' if len(file_only) == 1 else 'do'} not apply to - (stdin): "
            f"{stdin} goes to stdout",
            hint="drop them, or give a file to get a run directory",
        )
    return True


def check_inputs(paths: list[str], out: Path, run_name: str | None, *, stdin: str | None, file_only: list[str]) -> bool:
    """A command's up-front checks of where it reads and writes: stdin, ``--run-name``, ``--out`` (files only)."""
    reading_stdin = check_paths(paths, stdin=stdin, file_only=file_only)
    check_run_name(run_name)
    if not reading_stdin:
        check_out_dir(out)
    return reading_stdin


def check_run_name(name: str | None) -> None:
    """``--run-name`` is used as given, as one folder name: refuse one that would be changed (``../x`` → ``x``)."""
    if name is None:
        return
    from pipeline.runs.outputs import safe_name

    if safe_name(name, "") != name:
        suggestion = safe_name(name, "run")
        raise OptionsError(
            f"--run-name {name!r} is not a plain folder name",
            hint=f"use letters, digits, '.', '_', '+' and '-', not starting with '.' or '-'; e.g. {suggestion!r}",
        )


def check_out_dir(out: Path) -> None:
    """``--out`` must be a directory or creatable as one: checked once, before the model loads, not per document."""
    probe = out
    while not os.path.lexists(probe) and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        what = "is a file" if probe == out else f"cannot be created: {probe} is a file"
        raise OutputError(f"--out {out} {what}, not a directory", hint="give a directory; it is created if missing")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"--out {out}: {probe} is not writable")


def set_verbose(verbose: bool) -> None:
    """``--verbose``: let Ray's own log lines through to the terminal (the executor reads ``NL2EN_RAY_VERBOSE``)."""
    if verbose:
        os.environ["NL2EN_RAY_VERBOSE"] = "1"


# --- options, by help panel -------------------------------------------------------------------
# A command lists its options flat (Typer needs parameters); the panel groups them in --help and
# the builders below group them into the values passed down.

MODEL, DECODING, ENGINE, QUALITY, EXECUTOR, IO, EXTRACTIVE = (
    "Model", "Decoding", "Engine", "Quality", "Executor", "Input/Output", "Extractive summaries",
)  # fmt: skip

ModelOpt = Annotated[
    str, typer.Option("--model", "-m", help="Alias, hub id or local model directory.", rich_help_panel=MODEL)
]
PickleOpt = Annotated[
    bool,
    typer.Option(
        "--allow-pickle",
        help="Load a pickle checkpoint the restricted loader (weights_only) refuses; it can run code.",
        rich_help_panel=MODEL,
    ),
]

OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Output directory.", rich_help_panel=IO)]
RunNameOpt = Annotated[
    str | None,
    typer.Option(
        "--run-name",
        help="Run directory name (default: model, settings that differ from its own, engine).",
        rich_help_panel=IO,
    ),
]
CacheOpt = Annotated[
    Path | None,
    typer.Option("--cache", help="Cache file (default: NL2EN_CACHE or user cache).", rich_help_panel=IO),
]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.", rich_help_panel=IO)]
EncodingOpt = Annotated[
    str | None, typer.Option("--encoding", help="Input encoding (default: UTF-8/BOM).", rich_help_panel=IO)
]
MaxCharsOpt = Annotated[
    int, typer.Option("--max-chars", min=1, help="Refuse longer documents (characters).", rich_help_panel=IO)
]


class InputFormat(StrEnum):
    """``--format``'s choices (``auto``: by extension, then by content)."""

    auto = "auto"
    text = "text"
    html = "html"
    markdown = "markdown"
    docx = "docx"
    srt = "srt"
    vtt = "vtt"
    pdf = "pdf"
    jsonl = "jsonl"


class HtmlMode(StrEnum):
    """``--html``'s choices."""

    auto = "auto"
    page = "page"
    article = "article"


FormatOpt = Annotated[
    InputFormat,
    typer.Option(
        "--format",
        help="Input format (auto: by extension, then content). Each output keeps it: translation.en.html …",
        rich_help_panel=IO,
    ),
]
HtmlOpt = Annotated[
    HtmlMode,
    typer.Option(
        "--html",
        help="Web pages: page translates every text in place; article extracts the article "
        "(auto: article for a full page, page for a fragment).",
        rich_help_panel=IO,
    ),
]
AnyLanguageOpt = Annotated[
    bool,
    typer.Option(
        "--any-language",
        help="Translate documents identified as not Dutch too (by default they are left out with a note).",
        rich_help_panel=IO,
    ),
]
ContextOpt = Annotated[
    int,
    typer.Option(
        "--context",
        min=0,
        help="Instruct models: previous sentences of the document given in each prompt (0: none).",
        rich_help_panel=DECODING,
    ),
]
VerboseOpt = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Show Ray's own log lines (hidden by default).", rich_help_panel=EXECUTOR),
]

BeamsOpt = Annotated[
    int | None, typer.Option("--beams", min=1, help="Beam size (default: model's).", rich_help_panel=DECODING)
]
MaxNewOpt = Annotated[
    int | None, typer.Option("--max-new-tokens", min=1, help="Cap on generated tokens.", rich_help_panel=DECODING)
]

BatchOpt = Annotated[int, typer.Option("--batch-size", min=1, help="Sentences per batch.", rich_help_panel=ENGINE)]
DeviceOpt = Annotated[str, typer.Option("--device", help="cpu, cuda, cuda:0, mps…", rich_help_panel=ENGINE)]
ThreadsOpt = Annotated[
    int | None, typer.Option("--threads", min=1, help="CPU threads for the engine.", rich_help_panel=ENGINE)
]
BackendOpt = Annotated[
    str,
    typer.Option(
        "--backend", help="auto (CTranslate2 where possible), transformers or ctranslate2.", rich_help_panel=ENGINE
    ),
]
ComputeOpt = Annotated[
    str,
    typer.Option("--compute-type", help="CTranslate2 compute type: int8, float32, …", rich_help_panel=ENGINE),
]

GlossaryOpt = Annotated[
    Path | None,
    typer.Option(
        "--glossary",
        help="Glossary file (TSV nl<TAB>en, or TOML with inflected forms) over the built-in one.",
        rich_help_panel=QUALITY,
    ),
]
NoGlossaryOpt = Annotated[
    bool,
    typer.Option(
        "--no-glossary",
        help="Leave out the built-in glossary (a --glossary FILE still applies).",
        rich_help_panel=QUALITY,
    ),
]


def read_options(
    encoding: str | None,
    max_chars: int | None,
    fmt: InputFormat = InputFormat.auto,
    html: HtmlMode = HtmlMode.auto,
    any_language: bool = False,
) -> ReadOptions:
    """How the batch commands read their inputs, from their options."""
    from pipeline.formats.base import FormatOptions
    from pipeline.runs.batch import ReadOptions
    from pipeline.runs.corpus import Formats

    formats = Formats(fmt.value, FormatOptions(html=html.value))
    return ReadOptions(encoding, max_chars, formats, any_language)


class GuardMode(StrEnum):
    """The choices ``--help`` lists; the library checks the mode itself (``parse_guard_mode``)."""

    retry = "retry"
    flag = "flag"
    off = "off"


GuardsOpt = Annotated[
    GuardMode,
    typer.Option(
        "--guards",
        help="retry: retry flagged sentences (default); flag: only flag them; off: no checks.",
        rich_help_panel=QUALITY,
    ),
]

ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor", help="local (this process) or ray (model replicas on a Ray cluster).", rich_help_panel=EXECUTOR
    ),
]
WorkersOpt = Annotated[
    int, typer.Option("--workers", min=1, help="Ray: model replicas (actors).", rich_help_panel=EXECUTOR)
]
RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="Ray: cluster address host:port (default: RAY_ADDRESS, else a Ray started here for the run).",
        rich_help_panel=EXECUTOR,
    ),
]
CpusPerWorkerOpt = Annotated[
    int,
    typer.Option("--cpus-per-worker", min=1, help="Ray: CPUs (engine threads) per replica.", rich_help_panel=EXECUTOR),
]


# --- builders: one per group; call them inside ``handled()`` (a bad choice is a library error) ---------


def engine_options(
    backend: str = "auto", compute_type: str = "int8", device: str = "cpu", threads: int | None = None,
    batch_size: int = 16,
) -> EngineOptions:  # fmt: skip
    """The one ``EngineOptions`` value a command passes to every opener."""
    from pipeline.engines.factory import EngineOptions

    return EngineOptions(
        backend=backend, compute_type=compute_type, device=device, threads=threads, batch_size=batch_size
    )


def executor_options(
    executor: str = "local", workers: int = 1, ray_address: str | None = None, cpus_per_worker: int = 1
) -> ExecutorOptions:
    """The one ``ExecutorOptions`` value a command passes to every opener; an unknown executor is an ExecutorError."""
    from pipeline.runs.sessions import ExecutorOptions

    return ExecutorOptions(kind=executor, workers=workers, address=ray_address, cpus_per_worker=cpus_per_worker)


def cache_spec(cache: Path | None, no_cache: bool) -> CacheSpec:
    """``--cache FILE`` / ``--no-cache`` as the value the openers take."""
    from pipeline.runs.sessions import CacheSpec

    return CacheSpec(path=cache, enabled=not no_cache)


def glossary_choice(glossary: Path | None, no_glossary: bool) -> Glossary:
    """``--glossary FILE`` / ``--no-glossary``: the built-in glossary, a file's entries over it, or the file alone."""
    from pipeline.quality.glossary import Glossary, load_glossary, resolve_glossary

    if no_glossary:
        return load_glossary(glossary) if glossary is not None else Glossary()
    return resolve_glossary(glossary)


def translator_spec(
    model: str,
    *,
    engine: EngineOptions | None = None,
    executor: ExecutorOptions | None = None,
    beams: int | None = None,
    max_new_tokens: int | None = None,
    glossary: Path | None = None,
    no_glossary: bool = False,
    guards: str = "retry",
    allow_pickle: bool = False,
    context: int | None = None,
) -> TranslatorSpec:
    """The translator a command asked for (``translate``, ``run``, ``models calibrate``), checked once, here."""
    from pipeline.runs.sessions import ExecutorOptions, TranslatorSpec

    return TranslatorSpec(
        model=model,
        overrides={"num_beams": beams, "max_new_tokens": max_new_tokens},
        engine=engine or engine_options(),
        executor=executor or ExecutorOptions(),
        glossary=glossary_choice(glossary, no_glossary),
        guards=str(guards),  # a GuardMode from --guards, or a plain mode; TranslatorSpec checks it
        allow_pickle=allow_pickle,
        **({} if context is None else {"context": context}),
    )


def summarizer_spec(
    name: str | None,
    *,
    engine: EngineOptions | None = None,
    executor: ExecutorOptions | None = None,
    beams: int | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    sentences: int | None = None,
    ratio: float | None = None,
    words: int | None = None,
    source_side: bool = False,
    allow_pickle: bool = False,
) -> SummarizerSpec:
    """The summariser a command asked for (``summarize``, ``run``); no name: the default, else the extractive one."""
    from pipeline.runs.sessions import ExecutorOptions, SummarizerSpec

    if sentences is not None and ratio is not None:
        raise OptionsError("--sentences and --ratio both set how much to keep", hint="give one of them")
    return SummarizerSpec(
        name=name or DEFAULT_SUMMARIZER,
        explicit=name is not None,
        overrides={"num_beams": beams, "min_length": min_length, "max_length": max_length},
        sentences=sentences,
        ratio=ratio,
        words=words,
        source_side=source_side,
        engine=engine or engine_options(),
        executor=executor or ExecutorOptions(),
        allow_pickle=allow_pickle,
    )
