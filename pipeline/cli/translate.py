"""``nl2en translate``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.app import app, handled
from pipeline.cli.progress import reporting_progress

DEFAULT_TRANSLATOR = "opus-mt-nl-en"

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Alias, hub id or local model directory.")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Output directory.")]
RunNameOpt = Annotated[str | None, typer.Option("--run-name", help="Run directory name (default: model slug).")]
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


@app.command()
def translate(
    paths: Annotated[list[str], typer.Argument(help="Dutch text files, or - for stdin.")],
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
) -> None:
    """Translate Dutch articles; writes translation.en.txt, aligned.jsonl and manifest.json per document.

    Example: nl2en translate seeds/*.txt --model opus-mt-nl-en --out outputs
    """
    from pipeline.runner import default_run_name, open_translator, translate_document, translate_paths

    with handled():
        session = open_translator(
            model,
            overrides={"num_beams": beams, "max_new_tokens": max_new_tokens},
            cache=cache,
            use_cache=not no_cache,
            backend=backend,
            compute_type=compute_type,
            device=device,
            threads=threads,
            batch_size=batch_size,
            allow_pickle=allow_pickle,
        )
    from pipeline.registry import describe_source

    typer.echo(describe_source(session.model), err=True)
    try:
        if paths == ["-"]:
            from pipeline.reader import DEFAULT_MAX_CHARS, article_from_bytes

            with handled():
                article = article_from_bytes(
                    sys.stdin.buffer.read(), "<stdin>", "-", encoding, max_chars or DEFAULT_MAX_CHARS
                )
                sys.stdout.write(translate_document(article, session.translator).text)
            return
        name = run_name or default_run_name(session.model, backend)
        with reporting_progress(len(paths), "translating") as on_document, handled():
            result = translate_paths(
                [Path(p) for p in paths],
                session.translator,
                session.model,
                out=out,
                run_name=name,
                encoding=encoding,
                max_chars=max_chars,
                cache_path=session.cache_path,
                on_document=on_document,
            )
        typer.echo(
            f"{len(result.written)} translated, {len(result.failed)} failed; "
            f"cache hits {result.hits}, misses {result.misses}",
            err=True,
        )
        if result.failed:
            raise typer.Exit(1)
    finally:
        session.close()
