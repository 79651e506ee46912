"""``nl2en cache stats|clear``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import handled

cache_app = typer.Typer(help="Inspect or clear the translation memory.", no_args_is_help=True)

PathOpt = Annotated[Path | None, typer.Option("--cache", help="Cache file (default: NL2EN_CACHE or user cache).")]


class Stage(StrEnum):
    """The stages that write to the cache: ``--stage`` offers these, so a typo is refused, not 0 entries removed."""

    TRANSLATE = "translate"
    SUMMARIZE = "summarize"


def cache_file(cache: Path | None) -> Path | None:
    """The cache file asked for, or None when there is none yet: looking must not create it."""
    from pipeline.locations import default_cache_path

    path = cache or default_cache_path()
    return path if path.exists() else None


@cache_app.command("stats")
def stats(cache: PathOpt = None) -> None:
    """Show where the cache is, how big, and how many entries per stage and model."""
    from pipeline.locations import default_cache_path
    from pipeline.runs.memory import TranslationMemory

    path = cache_file(cache)
    if path is None:
        typer.echo(f"path:    {cache or default_cache_path()} (no cache file yet: nothing cached)")
        typer.echo("entries: 0")
        return
    with handled(), TranslationMemory(path) as memory:
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
    stage: Annotated[Stage | None, typer.Option("--stage", help="Only this stage's entries.")] = None,
) -> None:
    """Delete cached entries (all, or one stage's)."""
    from pipeline.locations import default_cache_path
    from pipeline.runs.memory import TranslationMemory

    path = cache_file(cache)
    if path is None:
        typer.echo(f"removed 0 entries (no cache file at {cache or default_cache_path()})")
        return
    with handled(), TranslationMemory(path) as memory:
        removed = memory.clear(None if stage is None else stage.value)
    typer.echo(f"removed {removed} entries" + (f" of stage {stage.value}" if stage else ""))
