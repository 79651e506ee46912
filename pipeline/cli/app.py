"""The Typer application: every command module, registered in one place."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from pipeline.cli import cache, compare, models, score, summarize, translate
from pipeline.cli.common import interrupted
from pipeline.cli.eval import eval_app
from pipeline.cli.help import tidy_help

app = typer.Typer(
    name="nl2en",
    help="Translate Dutch articles to English, summarise them, score and compare model outputs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def version_text() -> str:
    """``nl2en 0.1.0``: the installed distribution's version (read from its metadata, no heavy import)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"nl2en {version('nl2en')}"
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "nl2en (not installed: version unknown)"


def show_version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def nl2en(
    version: Annotated[
        bool,
        typer.Option("--version", callback=show_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    """Translate Dutch articles to English, summarise them, score and compare model outputs."""


app.command()(translate.translate)
app.command()(summarize.summarize)
app.command()(summarize.run)
app.command()(score.score)
app.command()(compare.compare)
app.add_typer(models.models_app, name="models")
app.add_typer(cache.cache_app, name="cache")
app.add_typer(eval_app, name="eval")
tidy_help(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # outside a command's own handling (while starting up): still one line
        interrupted()
        sys.exit(130)
    except Exception as exc:  # a bug: still one line, with a hint to report it
        typer.echo(f"error [E999]: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(2)
