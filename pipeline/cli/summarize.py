"""``nl2en summarize`` and ``nl2en run``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.cli.common import (
    DECODING,
    DEFAULT_SUMMARIZER,
    DEFAULT_TRANSLATOR,
    EXTRACTIVE,
    MODEL,
    AnyLanguageOpt,
    BackendOpt,
    BatchOpt,
    BeamsOpt,
    CacheOpt,
    ComputeOpt,
    ContextOpt,
    CpusPerWorkerOpt,
    DeviceOpt,
    EncodingOpt,
    ExecutorOpt,
    FormatOpt,
    GlossaryOpt,
    GuardMode,
    GuardsOpt,
    HtmlMode,
    HtmlOpt,
    InputFormat,
    MaxCharsOpt,
    MaxNewOpt,
    NoCacheOpt,
    NoGlossaryOpt,
    OutOpt,
    PickleOpt,
    RayAddressOpt,
    RunNameOpt,
    ThreadsOpt,
    VerboseOpt,
    WorkersOpt,
    cache_spec,
    check_inputs,
    engine_options,
    executor_options,
    given_options,
    handled,
    read_options,
    set_verbose,
    summarizer_spec,
    translator_spec,
)
from pipeline.cli.progress import batch_progress
from pipeline.errors import OptionsError
from pipeline.text.reader import DEFAULT_MAX_CHARS

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pipeline.runs.sessions import SummarizerSession

FILE_ONLY = {"out": "--out", "run_name": "--run-name"}
SUMMARY_DECODING = {"beams": "--beams", "summary_beams": "--summary-beams", "min_length": "--min-length"}
SUMMARY_DECODING |= {"max_length": "--max-length"}

SummarizerOpt = Annotated[
    str | None,
    typer.Option(
        "--summarizer",
        "--model",
        "-s",
        help=f"Alias, hub id, directory, or 'extractive' (default: {DEFAULT_SUMMARIZER}, else extractive).",
        rich_help_panel=MODEL,
    ),
]
MinLenOpt = Annotated[
    int | None, typer.Option("--min-length", min=0, help="Minimum summary length (tokens).", rich_help_panel=DECODING)
]
MaxLenOpt = Annotated[
    int | None, typer.Option("--max-length", min=1, help="Maximum summary length (tokens).", rich_help_panel=DECODING)
]
SentencesOpt = Annotated[
    int | None,
    typer.Option(
        "--sentences",
        min=1,
        help="Extractive: sentences to keep; instruct models: sentences to write.",
        rich_help_panel=EXTRACTIVE,
    ),
]
WordsOpt = Annotated[
    int | None,
    typer.Option("--words", min=1, help="Instruct models: about how many words to write.", rich_help_panel=EXTRACTIVE),
]
RatioOpt = Annotated[
    float | None,
    typer.Option("--ratio", min=0.01, max=1.0, help="Extractive: share to keep.", rich_help_panel=EXTRACTIVE),
]


def check_summary_options(session: SummarizerSession, sentences: int | None, ratio: float | None,
                          decoding: list[str], words: int | None = None) -> str | None:  # fmt: skip
    """Refuse summary options the chosen summariser would ignore; a note when the default fell back to extractive.

    ``--sentences`` steers the extractive summariser and instruct models, ``--ratio`` only the
    extractive one, ``--words`` only instruct models, ``decoding`` (the decoding flags given) only
    a model. Returns the note to print, if any.
    """
    if words is not None and not session.instruct:
        raise OptionsError(f"--words applies to instruct models; {session.slug} is not one", hint="use --sentences")
    if session.instruct and ratio is not None:
        raise OptionsError(f"--ratio applies to the extractive summariser; {session.slug} is an instruct model",
                           hint="use --sentences or --words")  # fmt: skip
    if session.abstractive and not session.instruct and (sentences is not None or ratio is not None):
        flag = "--sentences" if sentences is not None else "--ratio"
        raise OptionsError(
            f"{flag} applies to the extractive summariser; {session.slug} is abstractive",
            hint="use --max-length for its length, or --summarizer extractive",
        )
    if session.abstractive or not decoding:
        return None
    flags = ", ".join(decoding)
    if session.fallback is None:
        raise OptionsError(f"{flags}: no decoding in the extractive summariser", hint="use --sentences or --ratio")
    return f"{flags} ignored: the extractive summariser does not decode"


def summarize(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(help="English text files, or - for stdin.")],
    summarizer: SummarizerOpt = None,
    out: OutOpt = Path("outputs"),
    run_name: RunNameOpt = None,
    cache: CacheOpt = None,
    no_cache: NoCacheOpt = False,
    beams: BeamsOpt = None,
    min_length: MinLenOpt = None,
    max_length: MaxLenOpt = None,
    sentences: SentencesOpt = None,
    ratio: RatioOpt = None,
    words: WordsOpt = None,
    device: DeviceOpt = "cpu",
    threads: ThreadsOpt = None,
    encoding: EncodingOpt = None,
    allow_pickle: PickleOpt = False,
    backend: BackendOpt = "auto",
    compute_type: ComputeOpt = "int8",
    executor: ExecutorOpt = "local",
    workers: WorkersOpt = 1,
    ray_address: RayAddressOpt = None,
    cpus_per_worker: CpusPerWorkerOpt = 1,
    verbose: VerboseOpt = False,
) -> None:
    """Summarise English text; writes summary.<summariser>.txt and manifest.json per document.

    Example: nl2en summarize article.en.txt --summarizer extractive --sentences 3
    """
    from pipeline.runs.batch import BatchPlan, ReadOptions
    from pipeline.runs.sessions import open_summarizer
    from pipeline.runs.summary_stage import summarize_paths

    set_verbose(verbose)
    with handled():
        stdin = check_inputs(paths, out, run_name, stdin="the summary", file_only=given_options(ctx, FILE_ONLY))
        spec = summarizer_spec(
            summarizer,
            engine=engine_options(backend, compute_type, device, threads),
            executor=executor_options(executor, workers, ray_address, cpus_per_worker),
            beams=beams, min_length=min_length, max_length=max_length, sentences=sentences, ratio=ratio,
            words=words, allow_pickle=allow_pickle,
        )  # fmt: skip
        memory = cache_spec(cache, no_cache).open()
        session = None
        try:
            session = open_summarizer(spec, memory, cache_path=cache)
            note = check_summary_options(session, sentences, ratio, given_options(ctx, SUMMARY_DECODING), words)
        except BaseException:
            if session is not None:
                session.close()
            if memory:
                memory.close()
            raise
    for line in (session.fallback, note):
        if line:
            typer.echo(f"note: {line}", err=True)
    try:
        if stdin:
            from pipeline.text.reader import article_from_bytes

            with handled():
                article = article_from_bytes(sys.stdin.buffer.read(), "<stdin>", "-", encoding)
                sys.stdout.write(session.summarizer.summarize(article.text).text + "\n")
            return
        with handled(), batch_progress("summarising", len(paths), segmented=False) as view:
            cache_path = str(memory.path) if memory else None
            plan = BatchPlan(out, run_name or session.run_name, cache_path, on_document=view.on_document)
            result = summarize_paths([Path(p) for p in paths], session, plan, ReadOptions(encoding))
        for note in result.notes:
            typer.echo(f"note: {note}", err=True)
        typer.echo(
            f"{len(result.written)} summarised with {session.slug}, {len(result.failed)} failed; "
            f"cache hits {session.summarizer.hits}, misses {session.summarizer.misses}",
            err=True,
        )
        if result.failed:
            raise typer.Exit(1)
    finally:
        session.close()
        if memory:
            memory.close()


def run(
    ctx: typer.Context,
    paths: Annotated[
        list[str], typer.Argument(help='Dutch text files, or JSONL corpora ({"id": …, "text": …} a line).')
    ],
    translator: Annotated[
        str, typer.Option("--translator", "-t", help="Translation model.", rich_help_panel=MODEL)
    ] = DEFAULT_TRANSLATOR,
    summarizer: Annotated[
        str | None, typer.Option("--summarizer", "-s", help="Summariser, or 'extractive'.", rich_help_panel=MODEL)
    ] = None,
    out: OutOpt = Path("outputs"),
    run_name: RunNameOpt = None,
    cache: CacheOpt = None,
    no_cache: NoCacheOpt = False,
    beams: BeamsOpt = None,
    max_new_tokens: MaxNewOpt = None,
    context: ContextOpt = 2,
    summary_beams: Annotated[
        int | None,
        typer.Option(
            "--summary-beams", min=1, help="Summariser beam size (default: model's).", rich_help_panel=DECODING
        ),
    ] = None,
    min_length: MinLenOpt = None,
    max_length: MaxLenOpt = None,
    sentences: SentencesOpt = None,
    ratio: RatioOpt = None,
    words: WordsOpt = None,
    source_side: Annotated[
        bool,
        typer.Option(
            "--source-side",
            help="Summarise the Dutch: the extractive summariser selects Dutch sentences and outputs their "
            "translations; an instruct model writes its English summary from the Dutch.",
            rich_help_panel=EXTRACTIVE,
        ),
    ] = False,
    batch_size: BatchOpt = 16,
    device: DeviceOpt = "cpu",
    threads: ThreadsOpt = None,
    encoding: EncodingOpt = None,
    max_chars: MaxCharsOpt = DEFAULT_MAX_CHARS,
    input_format: FormatOpt = InputFormat.auto,
    html: HtmlOpt = HtmlMode.auto,
    any_language: AnyLanguageOpt = False,
    allow_pickle: PickleOpt = False,
    backend: BackendOpt = "auto",
    compute_type: ComputeOpt = "int8",
    glossary: GlossaryOpt = None,
    no_glossary: NoGlossaryOpt = False,
    guards: GuardsOpt = GuardMode.retry,
    executor: ExecutorOpt = "local",
    workers: WorkersOpt = 1,
    ray_address: RayAddressOpt = None,
    cpus_per_worker: CpusPerWorkerOpt = 1,
    verbose: VerboseOpt = False,
) -> None:
    """Translate Dutch articles and summarise the translations into the same run directories.

    Example: nl2en run seeds/*.txt --translator opus-mt-nl-en --summarizer distilbart-cnn
    """
    from pipeline.runs.batch import BatchPlan
    from pipeline.runs.outputs import joint_run_name
    from pipeline.runs.sessions import open_summarizer, open_translator
    from pipeline.runs.summary_stage import check_source_side, run_paths

    set_verbose(verbose)
    with handled():
        check_inputs(paths, out, run_name, stdin=None, file_only=[])
        engine = engine_options(backend, compute_type, device, threads, batch_size)
        where = executor_options(executor, workers, ray_address, cpus_per_worker)
        spec = translator_spec(
            translator, engine=engine, executor=where, beams=beams, max_new_tokens=max_new_tokens,
            glossary=glossary, no_glossary=no_glossary, guards=guards, allow_pickle=allow_pickle,
            context=context,
        )  # fmt: skip
        summary_spec = summarizer_spec(
            summarizer, engine=engine, executor=where, beams=summary_beams, min_length=min_length,
            max_length=max_length, sentences=sentences, ratio=ratio, words=words, source_side=source_side,
            allow_pickle=allow_pickle,
        )  # fmt: skip
        session = open_translator(spec, cache_spec(cache, no_cache))
    summary = None
    try:
        with handled():
            summary = open_summarizer(summary_spec, session.memory, cache_path=cache)
            if source_side:
                check_source_side(summary)
            decoding = [f for f in given_options(ctx, SUMMARY_DECODING) if f != "--beams"]  # --beams: the translator's
            note = check_summary_options(summary, sentences, ratio, decoding, words)
        from pipeline.models.registry import describe_source

        typer.echo(describe_source(session.model), err=True)
        if summary.model is not None:
            typer.echo(describe_source(summary.model), err=True)
        for line in (summary.fallback, note):
            if line:
                typer.echo(f"note: {line}", err=True)
        with handled(), batch_progress("translate+summarise", None) as view:
            name = run_name or joint_run_name(session.run_name, summary.run_name, source_side=source_side)
            plan = BatchPlan(out, name, window=session.window, on_document=view.on_document, progress=view)
            reading = read_options(encoding, max_chars, input_format, html, any_language)
            result = run_paths([Path(p) for p in paths], session, summary, plan, reading, source_side=source_side)
        for note in result.notes:
            typer.echo(f"note: {note}", err=True)
        typer.echo(
            f"{len(result.written)} translated and summarised ({summary.slug}), {len(result.failed)} failed; "
            f"cache hits {result.hits + summary.summarizer.hits}, misses {result.misses + summary.summarizer.misses}",
            err=True,
        )
        if result.failed:
            raise typer.Exit(1)
    finally:
        if summary is not None:
            summary.close()
        session.close()
