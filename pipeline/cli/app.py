"""The Typer application: every command module, registered in one place."""

from __future__ import annotations

import sys

import typer

from pipeline.cli import cache, compare, models, score, summarize, translate
from pipeline.cli.eval import eval_app

app = typer.Typer(
    name="nl2en",
    help="Translate Dutch articles to English, summarise them, score and compare model outputs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(translate.translate)
app.command()(summarize.summarize)
app.command()(summarize.run)
app.command()(score.score)
app.command()(compare.compare)
app.add_typer(models.models_app, name="models")
app.add_typer(cache.cache_app, name="cache")
app.add_typer(eval_app, name="eval")


def main() -> None:
    try:
        app()
    except Exception as exc:  # a bug: still one line, with a hint to report it
        typer.echo(f"error [E999]: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(2)
