"""``nl2en models list|pull|import|convert|calibrate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import BackendOpt, ComputeOpt, DeviceOpt, ThreadsOpt, engine_options, handled, translator_spec

PICKLE_HELP = "Load a pickle checkpoint the restricted loader refuses (it can run code: trusted sources only)."
models_app = typer.Typer(help="List, download, import, convert and calibrate models.", no_args_is_help=True)


@models_app.command("list")
def list_command() -> None:
    """List aliases and local models, each by a name --model accepts, and where each is found on this machine."""
    from pipeline.models.registry import list_models

    with handled():
        rows = list_models()
    widths = [max((len(getattr(row, key)) for row in rows), default=0) for key in ("name", "task", "hub_id")]
    for row in rows:
        where = row.location or "not on this machine (nl2en models pull " + row.name + ")"
        if row.location and row.hub_id == "-":
            where = row.description if row.name == row.location else f"{row.description}: {row.location}"
        licence = f"  [licence: {row.licence}]" if row.licence else ""
        cells = (f"{value:<{width}}" for value, width in zip((row.name, row.task, row.hub_id), widths, strict=True))
        typer.echo(f"{' '.join(cells)} {where}{licence}")


@models_app.command("pull")
def pull(
    name: Annotated[str, typer.Argument(help="Alias or hub id.")],
    revision: Annotated[str | None, typer.Option("--revision", help="Branch, tag or commit.")] = None,
) -> None:
    """Download a pinned snapshot into models/hub/ for offline use later.

    Fetches the config, generation config, tokenizer files and one set of weights: safetensors
    from the revision, else from the hub's conversion PR, else pytorch_model.bin read with the
    restricted loader and converted to safetensors. Never tf_model.h5, flax or rust weights.
    """
    from pipeline.models.registry import describe_source, pull_model, resolve_model

    with handled():
        path = pull_model(name, revision)
        typer.echo(describe_source(resolve_model(str(path))), err=True)
    typer.echo(f"pulled {name} into {path}")


@models_app.command("import")
def import_command(
    directory: Annotated[Path, typer.Argument(help="A model directory copied from elsewhere.")],
    name: Annotated[str | None, typer.Option("--name", help="Name to register it under.")] = None,
    allow_pickle: Annotated[bool, typer.Option("--allow-pickle", help=PICKLE_HELP)] = False,
) -> None:
    """Register a model directory (copied into models/local/<name>)."""
    from pipeline.models.registry import import_model

    with handled():
        path = import_model(directory, name, allow_pickle)
    typer.echo(f"imported {directory} as {path.name} ({path})")


@models_app.command("convert")
def convert(
    name: Annotated[str, typer.Argument(help="Alias, hub id or model directory.")],
    quantization: Annotated[str, typer.Option("--quantization", help="int8, int8_float32, float16, float32…")] = "int8",
    force: Annotated[bool, typer.Option("--force", help="Convert again even if up to date.")] = False,
    allow_pickle: Annotated[bool, typer.Option("--allow-pickle", help=PICKLE_HELP)] = False,
) -> None:
    """Convert a model for CTranslate2 into models/ct2/<slug>-<quantization>/ (also done on first use)."""
    from pipeline.engines.ct2 import convert_model
    from pipeline.locations import default_cache_path
    from pipeline.models.registry import fingerprint, resolve_model
    from pipeline.runs.memory import TranslationMemory

    with handled():
        model = resolve_model(name, allow_pickle=allow_pickle)
        with TranslationMemory(default_cache_path()) as memory:
            digest = fingerprint(model, memory.digest)
        path = convert_model(model, digest, quantization, force=force)
    typer.echo(f"converted {model.name} ({digest}) into {path}")


@models_app.command("calibrate")
def calibrate_command(
    name: Annotated[str, typer.Argument(help="Alias, hub id or model directory of a translator.")],
    corpus: Annotated[
        Path | None, typer.Option("--corpus", help="News corpus (default: shared/corpora/nl-news-ud-dev).")
    ] = None,
    percentile: Annotated[float, typer.Option("--percentile", min=0, max=100, help="Threshold percentile.")] = 5.0,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Calibrate on the first N sentences.")] = None,
    backend: BackendOpt = "auto",
    compute_type: ComputeOpt = "int8",
    device: DeviceOpt = "cpu",
    threads: ThreadsOpt = None,
    allow_pickle: Annotated[bool, typer.Option("--allow-pickle", help=PICKLE_HELP)] = False,
) -> None:
    """Calibrate a translator's low_confidence threshold on a news corpus and store it.

    The threshold is the given percentile of the mean token log-probabilities the model gives
    the corpus sentences; translations with this model and engine use it from then on.
    """
    from pipeline.errors import Nl2enError
    from pipeline.quality.calibration import default_calibration_path, find_news_corpus
    from pipeline.runs.sessions import NO_CACHE, open_translator
    from pipeline.translation.translator import calibrate_translator

    with handled():
        found = corpus or find_news_corpus()
        if found is None or not (found / "gold.jsonl").is_file():
            raise Nl2enError("no news corpus found", hint="pass --corpus DIR (a folder with gold.jsonl)")
        engine = engine_options(backend, compute_type, device, threads)
        spec = translator_spec(name, engine=engine, guards="off", allow_pickle=allow_pickle)
        session = open_translator(spec, NO_CACHE)
        try:
            inner = session.translator.inner
            calibration = calibrate_translator(inner, session.translator.fingerprint, found, q=percentile, limit=limit)  # type: ignore[arg-type]
        finally:
            session.close()
    typer.echo(
        f"{name}: low_confidence threshold {calibration.threshold:.4f} "
        f"(p{calibration.percentile:g} of {calibration.segments} sentences of {calibration.corpus}) "
        f"stored in {default_calibration_path()}"
    )
