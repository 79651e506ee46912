"""``nl2en translate``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import (
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
    ModelOpt,
    NoCacheOpt,
    NoGlossaryOpt,
    OutOpt,
    PickleOpt,
    RayAddressOpt,
    RunNameOpt,
    ThreadsOpt,
    WorkersOpt,
    cache_spec,
    engine_options,
    executor_options,
    handled,
    translator_spec,
)
from pipeline.cli.progress import reporting_progress


def translate(
    paths: Annotated[
        list[str], typer.Argument(help='Dutch text files, JSONL corpora ({"id": …, "text": …} a line), or - for stdin.')
    ],
    model: ModelOpt = DEFAULT_TRANSLATOR,
    out: OutOpt = Path("outputs"),
    run_name: RunNameOpt = None,
    cache: CacheOpt = None,
    no_cache: NoCacheOpt = False,
    beams: BeamsOpt = None,
    max_new_tokens: MaxNewOpt = None,
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
    """Translate Dutch articles; writes translation.en.txt, aligned.jsonl and manifest.json per document.

    Example: nl2en translate seeds/*.txt --model opus-mt-nl-en --out outputs
    """
    from pipeline.runs.batch import BatchPlan, ReadOptions, translate_paths
    from pipeline.runs.document import translate_document
    from pipeline.runs.sessions import open_translator

    reading = ReadOptions(encoding, max_chars)
    with handled():
        spec = translator_spec(
            model,
            engine=engine_options(backend, compute_type, device, threads, batch_size),
            executor=executor_options(executor, workers, ray_address, cpus_per_worker),
            beams=beams, max_new_tokens=max_new_tokens,
            glossary=glossary, no_glossary=no_glossary, guards=guards, allow_pickle=allow_pickle,
        )  # fmt: skip
        session = open_translator(spec, cache_spec(cache, no_cache))
    from pipeline.models.registry import describe_source

    typer.echo(describe_source(session.model), err=True)
    try:
        if paths == ["-"]:
            from pipeline.text.reader import DEFAULT_MAX_CHARS, article_from_bytes

            with handled():
                data = sys.stdin.buffer.read()
                limit = reading.max_chars or DEFAULT_MAX_CHARS
                article = article_from_bytes(data, "<stdin>", "-", reading.encoding, limit)
                sys.stdout.write(translate_document(article, session.translator).text)
            return
        with reporting_progress(len(paths), "translating") as on_document, handled():
            plan = BatchPlan(out, run_name or session.run_name, session.cache_path, session.window, on_document)
            result = translate_paths([Path(p) for p in paths], session.translator, plan, reading)
        typer.echo(
            f"{len(result.written)} translated, {len(result.failed)} failed; "
            f"cache hits {result.hits}, misses {result.misses}",
            err=True,
        )
        if result.failed:
            raise typer.Exit(1)
    finally:
        session.close()
