"""``nl2en cache stats|clear``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import handled

cache_app = typer.Typer(help="Inspect or clear the translation memory.", no_args_is_help=True)

PathOpt = Annotated[Path | None, typer.Option("--cache", help="Cache file (default: NL2EN_CACHE or user cache).")]


@cache_app.command("stats")
def stats(cache: PathOpt = None) -> None:
    """Show where the cache is, how big, and how many entries per stage and model."""
    from pipeline.locations import default_cache_path
    from pipeline.runs.memory import TranslationMemory

    with handled(), TranslationMemory(cache or default_cache_path()) as memory:
        info = memory.stats()
    typer.echo(f"path:    {info.path}")
    typer.echo(f"entries: {info.entries}")
    typer.echo(f"size:    {info.size_bytes / 1024:.1f} KiB")
    for stage, count in sorted(info.by_stage.items()):
        typer.echo(f"stage {stage}: {count}")
    for model, count in sorted(info.by_model.items()):
        typer.echo(f"model {model}: {count}")


@cache_app.command("clear")
def clear(
    cache: PathOpt = None,
    stage: Annotated[str | None, typer.Option("--stage", help="Only this stage (translate, summarize).")] = None,
) -> None:
    """Delete cached entries (all, or one stage's)."""
    from pipeline.locations import default_cache_path
    from pipeline.runs.memory import TranslationMemory

    with handled(), TranslationMemory(cache or default_cache_path()) as memory:
        removed = memory.clear(stage)
    typer.echo(f"removed {removed} entries")
