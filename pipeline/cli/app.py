"""The Typer application and the one place errors become messages and exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, TypeVar

import typer

from pipeline.errors import Nl2enError

app = typer.Typer(
    name="nl2en",
    help="Translate Dutch articles to English, summarise them, score and compare model outputs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")


def fail(error: Nl2enError, code: int = 1) -> NoReturn:
    typer.echo(f"error [{error.code}]: {error}", err=True)
    raise typer.Exit(code)


def report(error: Nl2enError, name: str | None = None) -> None:
    prefix = "" if name is None or str(error).startswith(name) else f"{name}: "
    typer.echo(f"error [{error.code}]: {prefix}{error}", err=True)


@contextmanager
def handled() -> Iterator[None]:
    """Turn library errors into one line on stderr and exit code 1; never a traceback."""
    try:
        yield
    except Nl2enError as exc:
        fail(exc)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None


def call(fn: Callable[[], T]) -> T:
    with handled():
        return fn()
    raise AssertionError("unreachable")  # pragma: no cover


def register() -> None:
    from pipeline.cli import cache, compare, models, score, summarize, translate  # noqa: F401  (commands register themselves)


def main() -> None:
    register()
    try:
        app()
    except Exception as exc:  # a bug: still one line, with a hint to report it
        typer.echo(f"error [E999]: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(2)
