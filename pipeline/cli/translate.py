"""``nl2en translate``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import (
    DEFAULT_TRANSLATOR,
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
    ModelOpt,
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
    translator_spec,
)
from pipeline.cli.progress import batch_progress
from pipeline.text.reader import DEFAULT_MAX_CHARS

FILE_ONLY = {"out": "--out", "run_name": "--run-name"}


def translate(
    ctx: typer.Context,
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Dutch documents (text, HTML, Markdown, DOCX, SRT/VTT, PDF), JSONL corpora "
            '({"id": …, "text": …} a line), or - for stdin.'
        ),
    ],
    model: ModelOpt = DEFAULT_TRANSLATOR,
    out: OutOpt = Path("outputs"),
    run_name: RunNameOpt = None,
    cache: CacheOpt = None,
    no_cache: NoCacheOpt = False,
    beams: BeamsOpt = None,
    max_new_tokens: MaxNewOpt = None,
    context: ContextOpt = 2,
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
    """Translate Dutch documents; writes translation.en.txt (and the input's format), aligned.jsonl, manifest.json.

    Example: nl2en translate seeds/*.txt --model opus-mt-nl-en --out outputs
    """
    from pipeline.runs.batch import BatchPlan, CountedTranslator, translate_paths
    from pipeline.runs.document import SEGMENT_CHUNK, segment_article, translate_segments

    reading = read_options(encoding, max_chars, input_format, html, any_language)
    set_verbose(verbose)
    with handled():
        stdin = check_inputs(paths, out, run_name, stdin="the translation", file_only=given_options(ctx, FILE_ONLY))
        spec = translator_spec(
            model,
            engine=engine_options(backend, compute_type, device, threads, batch_size),
            executor=executor_options(executor, workers, ray_address, cpus_per_worker),
            beams=beams, max_new_tokens=max_new_tokens,
            glossary=glossary, no_glossary=no_glossary, guards=guards, allow_pickle=allow_pickle,
            context=context,
        )  # fmt: skip
        from pipeline.runs.sessions import open_translator

        session = open_translator(spec, cache_spec(cache, no_cache))
    from pipeline.models.registry import describe_source

    typer.echo(describe_source(session.model), err=True)
    try:
        if stdin:
            from pipeline.text.reader import article_from_bytes

            with handled():
                article = article_from_bytes(sys.stdin.buffer.read(), "<stdin>", "-", reading.encoding, max_chars)
                prepared = segment_article(article)
                sources = [s.source for s in prepared.to_translate]
                with batch_progress("translating", 1) as view:
                    view.read(len(sources))
                    counted = CountedTranslator(session.translator, view)
                    contexts = prepared.contexts(counted.context_size) if counted.context_size else None
                    results = translate_segments(counted, sources, SEGMENT_CHUNK, None, contexts)
                sys.stdout.write(prepared.with_translations(results).text)
            return
        with handled(), batch_progress("translating", None) as view:
            name = run_name or session.run_name
            plan = BatchPlan(out, name, session.cache_path, session.window, view.on_document, view)
            result = translate_paths([Path(p) for p in paths], session.translator, plan, reading)
        for note in result.notes:
            typer.echo(f"note: {note}", err=True)
        typer.echo(
            f"{len(result.written)} translated, {len(result.failed)} failed; "
            f"cache hits {result.hits}, misses {result.misses}",
            err=True,
        )
        if result.failed:
            raise typer.Exit(1)
    finally:
        session.close()
