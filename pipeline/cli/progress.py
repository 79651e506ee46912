"""A rich progress bar for batches, shown only when stdout is a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import Nl2enError

if TYPE_CHECKING:
    from pipeline.runs.batch import DocumentCallback


@contextmanager
def document_progress(total: int, label: str) -> Iterator[Callable[[], None]]:
    """Yield an ``advance()`` callback; a no-op when output is piped or there is one file."""
    if total < 2 or not sys.stdout.isatty():
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    with Progress(
        f"[bold]{label}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), transient=True
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda: progress.advance(task)


@contextmanager
def reporting_progress(total: int, label: str) -> Iterator[DocumentCallback]:
    """A per-document callback for the batch: advance the bar, print where each result went."""
    import typer

    from pipeline.cli.common import report

    with document_progress(total, label) as advance:

        def on_document(path: str, run_dir: Path | None, error: Nl2enError | None) -> None:
            advance()
            if error is not None:
                report(error, path)
            else:
                typer.echo(f"{path} -> {run_dir}")

        yield on_document
