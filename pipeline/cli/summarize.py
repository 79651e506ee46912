"""``nl2en summarize`` and ``nl2en run``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import (
    DEFAULT_SUMMARIZER,
    DEFAULT_TRANSLATOR,
    BackendOpt,
    BatchOpt,
    BeamsOpt,
    CacheOpt,
    ComputeOpt,
    CpusPerWorkerOpt,
    DeviceOpt,
    EncodingOpt,
    ExecutorOpt,
    GlossaryOpt,
    GuardMode,
    GuardsOpt,
    MaxCharsOpt,
    MaxNewOpt,
    NoCacheOpt,
    NoGlossaryOpt,
    OutOpt,
    PickleOpt,
    RayAddressOpt,
    RunNameOpt,
    ThreadsOpt,
    WorkersOpt,
    engine_options,
    executor_options,
    handled,
    quality_options,
)
from pipeline.cli.progress import reporting_progress

SummarizerOpt = Annotated[
    str | None,
    typer.Option(
        "--summarizer",
        "--model",
        "-s",
        help=f"Alias, hub id, directory, or 'extractive' (default: {DEFAULT_SUMMARIZER}, else extractive).",
    ),
]
MinLenOpt = Annotated[int | None, typer.Option("--min-length", min=0, help="Minimum summary length (tokens).")]
MaxLenOpt = Annotated[int | None, typer.Option("--max-length", min=1, help="Maximum summary length (tokens).")]
SentencesOpt = Annotated[int | None, typer.Option("--sentences", min=1, help="Extractive: sentences to keep.")]
RatioOpt = Annotated[float | None, typer.Option("--ratio", min=0.01, max=1.0, help="Extractive: share to keep.")]


def summarize(
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
) -> None:
    """Summarise English text; writes summary.<summariser>.txt and manifest.json per document.

    Example: nl2en summarize article.en.txt --summarizer extractive --sentences 3
    """
    from pipeline.locations import default_cache_path
    from pipeline.runs.memory import TranslationMemory
    from pipeline.runs.sessions import open_summarizer
    from pipeline.runs.summary_stage import summarize_paths

    options = engine_options(backend, compute_type, device, threads)
    where = executor_options(executor, workers, ray_address, cpus_per_worker)
    with handled():
        memory = None if no_cache else TranslationMemory(cache or default_cache_path())
        session = open_summarizer(
            summarizer or DEFAULT_SUMMARIZER,
            memory=memory,
            explicit=summarizer is not None,
            overrides={"num_beams": beams, "min_length": min_length, "max_length": max_length},
            sentences=sentences,
            ratio=ratio,
            options=options,
            allow_pickle=allow_pickle,
            executor=where,
        )
    if session.fallback:
        typer.echo(f"note: {session.fallback}", err=True)
    try:
        if paths == ["-"]:
            from pipeline.text.reader import article_from_bytes

            with handled():
                article = article_from_bytes(sys.stdin.buffer.read(), "<stdin>", "-", encoding)
                sys.stdout.write(session.summarizer.summarize(article.text).text + "\n")
            return
        with reporting_progress(len(paths), "summarising") as on_document, handled():
            result = summarize_paths(
                [Path(p) for p in paths],
                session,
                out=out,
                run_name=run_name or session.run_name,
                encoding=encoding,
                cache_path=str(memory.path) if memory else None,
                on_document=on_document,
            )
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
    paths: Annotated[
        list[str], typer.Argument(help='Dutch text files, or JSONL corpora ({"id": …, "text": …} a line).')
    ],
    translator: Annotated[str, typer.Option("--translator", "-t", help="Translation model.")] = DEFAULT_TRANSLATOR,
    summarizer: Annotated[str | None, typer.Option("--summarizer", "-s", help="Summariser, or 'extractive'.")] = None,
    out: OutOpt = Path("outputs"),
    run_name: RunNameOpt = None,
    cache: CacheOpt = None,
    no_cache: NoCacheOpt = False,
    beams: BeamsOpt = None,
    max_new_tokens: MaxNewOpt = None,
    summary_beams: Annotated[int | None, typer.Option("--summary-beams", min=1)] = None,
    min_length: MinLenOpt = None,
    max_length: MaxLenOpt = None,
    sentences: SentencesOpt = None,
    ratio: RatioOpt = None,
    source_side: Annotated[
        bool, typer.Option("--source-side", help="Extractive: select Dutch sentences, output their translations.")
    ] = False,
    batch_size: BatchOpt = 16,
    device: DeviceOpt = "cpu",
    threads: ThreadsOpt = None,
    encoding: EncodingOpt = None,
    max_chars: MaxCharsOpt = None,
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
) -> None:
    """Translate Dutch articles and summarise the translations into the same run directories.

    Example: nl2en run seeds/*.txt --translator opus-mt-nl-en --summarizer distilbart-cnn
    """
    from pipeline.runs.batch import REMOTE_WINDOW
    from pipeline.runs.outputs import joint_run_name
    from pipeline.runs.sessions import open_summarizer, open_translator
    from pipeline.runs.summary_stage import check_source_side, run_paths

    options = engine_options(backend, compute_type, device, threads, batch_size)
    where = executor_options(executor, workers, ray_address, cpus_per_worker)
    with handled():
        session = open_translator(
            translator,
            overrides={"num_beams": beams, "max_new_tokens": max_new_tokens},
            cache=cache,
            use_cache=not no_cache,
            options=options,
            allow_pickle=allow_pickle,
            **quality_options(glossary, no_glossary, guards),
            executor=where,
        )
    summary = None
    try:
        with handled():
            summary = open_summarizer(
                summarizer or DEFAULT_SUMMARIZER,
                memory=session.memory,
                explicit=summarizer is not None,
                overrides={"num_beams": summary_beams, "min_length": min_length, "max_length": max_length},
                sentences=sentences,
                ratio=ratio,
                options=options,
                allow_pickle=allow_pickle,
                executor=where,
            )
            if source_side:
                check_source_side(summary)
        from pipeline.models.registry import describe_source

        typer.echo(describe_source(session.model), err=True)
        if summary.model is not None:
            typer.echo(describe_source(summary.model), err=True)
        if summary.fallback:
            typer.echo(f"note: {summary.fallback}", err=True)
        with reporting_progress(len(paths), "translating and summarising") as on_document, handled():
            result = run_paths(
                [Path(p) for p in paths],
                session,
                summary,
                out=out,
                run_name=run_name or joint_run_name(session.run_name, summary.run_name),
                encoding=encoding,
                max_chars=max_chars,
                source_side=source_side,
                on_document=on_document,
                window=REMOTE_WINDOW if where.remote else None,
            )
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
