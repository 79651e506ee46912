"""How far a batch has got, on stderr: a rich progress bar on a terminal, a plain line every few seconds elsewhere.

A batch is counted in segments as well as documents: one long article is one document for
minutes, but thousands of segments. The bar shows segments done of those expected (the
segments read so far, plus, while inputs are still unread, as many per unread document as the
read ones averaged), documents done, the rate and the time left. When stderr is not a terminal
(CI, ``nohup``, a log file) the same counts are printed as one line every
``NL2EN_PROGRESS_SECONDS`` seconds (default 5), so a long run is never silent.

Per-document lines (``path -> run dir``, one-line errors) go through the view, so they never
tear the bar: above it on a terminal, on their own streams otherwise.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import typer

from pipeline.errors import Nl2enError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from rich.console import Console
    from rich.progress import Progress, TaskID

INTERVAL_ENV = "NL2EN_PROGRESS_SECONDS"
DEFAULT_INTERVAL = 5.0


def clock(seconds: float) -> str:
    """``M:SS`` under an hour, else ``H:MM:SS``: short enough for the bar at 80 columns."""
    whole = max(0, int(seconds))
    hours, minutes, secs = whole // 3600, whole // 60 % 60, whole % 60
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass
class BatchCounts:
    """What a batch has done so far; ``documents`` is None for a stream of unknown length (JSONL)."""

    documents: int | None
    segmented: bool = True  # False: a batch of whole documents (summaries), counted in documents only
    read: int = 0
    done: int = 0
    segments: int = 0
    translated: int = 0
    started: float = field(default_factory=time.monotonic)

    def expected(self) -> tuple[int, bool]:
        """(segments expected in all, whether that is an estimate): unread documents count as the read ones' mean."""
        unread = 0 if self.documents is None else max(0, self.documents - self.read)
        if not unread or not self.read:
            return self.segments, bool(unread)
        return self.segments + round(unread * self.segments / self.read), True

    def position(self) -> tuple[int, int | None]:
        """(completed, total) in the batch's unit, for the bar; total None while nothing is known."""
        if self.segmented:
            total, _ = self.expected()
            return self.translated, total if (total or self.read) else None
        return self.done, self.documents

    def rate(self, now: float) -> float:
        """Units per second since the batch started (model loading included: it is part of the wait)."""
        elapsed = now - self.started
        completed, _ = self.position()
        return completed / elapsed if elapsed > 0 else 0.0

    def remaining(self, now: float) -> float | None:
        """Seconds left at the current rate; None while there is no rate or no total to reach."""
        completed, total = self.position()
        rate = self.rate(now)
        if total is None or rate <= 0 or (self.segmented and self.documents is None):
            return None
        return max(0, total - completed) / rate

    def counts_text(self, short: bool) -> str:
        """``2,048/~4,700 segments  0/1 docs``: segments (``~``: estimated) and documents."""
        docs_word = "doc" if short else "document"
        of_docs = "" if self.documents is None else f"/{self.documents:,}"
        plural = "" if (self.documents if self.documents is not None else self.done) == 1 else "s"
        documents = f"{self.done:,}{of_docs} {docs_word}{plural}"
        if not self.segmented:
            return documents
        if not self.read:
            return f"0 segments{', ' if not short else '  '}{documents}"
        total, estimated = self.expected()
        sep = "  " if short else ", "
        return f"{self.translated:,}/{'~' if estimated else ''}{total:,} segments{sep}{documents}"

    def rate_text(self, now: float, short: bool) -> str:
        """``35/s`` beside the counts it follows; the unit spelled out in log lines."""
        rate = self.rate(now)
        shown = f"{rate:.0f}" if rate >= 10 else f"{rate:.1f}"
        if short:
            return f"{shown}/s"
        return f"{shown} {'segments' if self.segmented else 'documents'}/s"

    def line(self, label: str, now: float) -> str:
        """The plain progress line for logs."""
        left = self.remaining(now)
        parts = [self.counts_text(short=False), self.rate_text(now, short=False)]
        parts += [f"{clock(now - self.started)} elapsed"]
        parts += [f"about {clock(left)} left"] if left is not None else []
        return f"{label}: " + ", ".join(parts)


def status_column(counts: BatchCounts) -> Any:
    """The bar's text: counts, rate, elapsed and remaining time, from :class:`BatchCounts`, not rich's own speed.

    Rich estimates speed from the last 30 s of updates; a translator reports a whole chunk at a time,
    often less than once in 30 s, so that estimate would come and go.
    """
    from rich.progress import ProgressColumn
    from rich.table import Column
    from rich.text import Text

    class Status(ProgressColumn):
        def render(self, task: Any) -> Text:
            now = time.monotonic()
            left = counts.remaining(now)
            eta = f"ETA {clock(left)}" if left is not None else "ETA -:--"
            text = f"{counts.counts_text(short=True)}  {counts.rate_text(now, short=True)}"
            return Text(f"{text}  {clock(now - counts.started)}  {eta}", no_wrap=True, overflow="ignore")

    return Status(table_column=Column(no_wrap=True))  # never cut: the bar gives way instead


class BatchView:
    """A batch's progress and its per-document lines; implements the batch's ``BatchProgress``."""

    def __init__(self, label: str, counts: BatchCounts, console: Console | None = None, interval: float = 0) -> None:
        self.label = label
        self.counts = counts
        self.console = console  # a terminal console: the rich bar; None: plain lines every ``interval`` s
        self.interval = interval
        self.progress: Progress | None = None
        self._task: TaskID | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the batch's callbacks ---

    def planned(self, documents: int | None) -> None:
        self.counts.documents = documents
        self._update()

    def read(self, segments: int) -> None:
        self.counts.read += 1
        self.counts.segments += segments
        self._update()

    def translated(self, segments: int) -> None:
        self.counts.translated += segments
        self._update()

    def on_document(self, path: str, run_dir: Path | None, error: Nl2enError | None) -> None:
        """The batch's ``on_document``: count it, and say where it went or why it failed."""
        from pipeline.cli.common import error_line

        self.counts.done += 1
        self._update()
        if error is not None:
            self.say(error_line(error, path), err=True)
        else:
            self.say(f"{path} -> {run_dir}")

    def say(self, text: str, err: bool = False) -> None:
        """One line, above the bar while it shows (a line written past it would tear it)."""
        if self.progress is not None and (err or sys.stdout.isatty()):
            self.progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            typer.echo(text, err=err)

    # --- showing it ---

    def _update(self) -> None:
        if self.progress is not None and self._task is not None:
            completed, total = self.counts.position()
            self.progress.update(self._task, completed=completed, total=total, refresh=True)

    def start(self) -> None:
        if self.console is not None:
            from rich.progress import BarColumn, Progress, TextColumn
            from rich.table import Column

            self.progress = Progress(
                TextColumn(self.label, table_column=Column(no_wrap=True)),
                BarColumn(bar_width=None, table_column=Column(ratio=1, min_width=4)),
                status_column(self.counts),
                console=self.console,
                transient=True,
                expand=True,
                redirect_stdout=False,
            )
            self.progress.start()
            completed, total = self.counts.position()
            self._task = self.progress.add_task(self.label, completed=completed, total=total)
        elif self.interval > 0:
            self._thread = threading.Thread(target=self._tick, name="nl2en-progress", daemon=True)
            self._thread.start()

    def _tick(self) -> None:
        stream: TextIO = sys.stderr
        while not self._stop.wait(self.interval):
            try:
                stream.write(self.counts.line(self.label, time.monotonic()) + "\n")
                stream.flush()
            except (OSError, ValueError):  # stderr closed under us: nothing left to tell
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
        if self.progress is not None:
            self.progress.stop()  # transient: the bar is cleared, the cursor left at the start of its line
            self.progress = None


def progress_interval() -> float:
    """Seconds between plain progress lines (``NL2EN_PROGRESS_SECONDS``; 0 turns them off)."""
    try:
        return max(0.0, float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL)))
    except ValueError:
        return DEFAULT_INTERVAL


def stderr_console() -> Console | None:
    """A rich console on stderr when it is a terminal that can redraw a bar; else None."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    return console if console.is_terminal and not console.is_dumb_terminal else None


@contextmanager
def batch_progress(label: str, documents: int | None, segmented: bool = True) -> Iterator[BatchView]:
    """The view for one batch: pass ``view.on_document`` and ``view`` (its ``progress``) into the ``BatchPlan``."""
    view = BatchView(label, BatchCounts(documents, segmented), stderr_console(), progress_interval())
    try:  # started inside: an interrupt while the bar starts still stops it (and gives stderr back)
        view.start()
        yield view
    finally:
        view.stop()
