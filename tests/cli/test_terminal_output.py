"""What a user sees on the terminal: the progress bar and lines, ``--help``, and tables at 80 and 120 columns."""

from __future__ import annotations

import io
import os
import re
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from tests.conftest import ROOT, SEED

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def terminal(width: int) -> Any:
    from rich.console import Console

    return Console(file=io.StringIO(), force_terminal=True, width=width, color_system=None, record=True)


# --- progress (item 6) ------------------------------------------------------------------------


class Recorder:
    """A ``BatchProgress`` that keeps every event."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int | None]] = []

    def planned(self, documents: int | None) -> None:
        self.events.append(("planned", documents))

    def read(self, segments: int) -> None:
        self.events.append(("read", segments))

    def translated(self, segments: int) -> None:
        self.events.append(("translated", segments))


def test_progress_batch_reports_segments_read_and_translated(tiny_marian: Path, tmp_path: Path) -> None:
    """The batch tells the display how many segments each document has and how many came back, not only documents."""
    from pipeline.runs.batch import BatchPlan, translate_paths
    from pipeline.runs.sessions import NO_CACHE, TranslatorSpec, open_translator

    short = tmp_path / "kort.txt"
    short.write_text("Een zin. Nog een zin.\n", encoding="utf-8")
    recorder = Recorder()
    session = open_translator(TranslatorSpec(str(tiny_marian), {"max_new_tokens": 4}), NO_CACHE)
    try:
        plan = BatchPlan(tmp_path / "out", "run", progress=recorder)
        report = translate_paths([SEED, short, tmp_path / "missing.txt"], session.translator, plan)
    finally:
        session.close()
    assert len(report.written) == 2 and len(report.failed) == 1
    assert recorder.events[0] == ("planned", 3)
    read = [n for kind, n in recorder.events if kind == "read"]
    translated = sum(n or 0 for kind, n in recorder.events if kind == "translated")
    assert len(read) == 3 and read[1] == 2 and read[2] == 0, "one read per input; an unreadable one has 0 segments"
    assert translated == sum(read) == 47 + 2


def test_progress_bar_counts_segments_and_documents_with_rate_and_eta_at_80_columns() -> None:
    from pipeline.cli.progress import BatchCounts, BatchView

    for label in ("translating", "translate+summarise"):
        counts = BatchCounts(None)
        view = BatchView(label, counts, terminal(80))
        view.start()
        try:
            view.planned(3)
            view.read(4000)  # one long article read, two documents still unread
            counts.started -= 60  # a minute in
            view.translated(2048)
            console = terminal(80)
            console.print(view.progress.get_renderable() if view.progress else "")
            text = console.export_text()
        finally:
            view.stop()
        line = text.strip()
        assert "2,048/~12,000 segments" in line, "unread documents are estimated from the read ones"
        assert "0/3 docs" in line and "34/s" in line and "1:00" in line, line
        assert re.search(r"ETA 4:[45]\d$", line), "9,952 segments left at 34/s"
        assert "…" not in line and len(line) <= 80 and line.startswith(label)


def test_progress_without_a_terminal_prints_a_line_every_few_seconds(tiny_marian: Path, tmp_path: Path) -> None:
    """CI and nohup get plain progress lines on stderr instead of nothing."""
    from tests.conftest import run_cli

    result = run_cli(
        "translate", str(SEED), "--model", str(tiny_marian), "--out", str(tmp_path), "--max-new-tokens", "4",
        env={"NL2EN_PROGRESS_SECONDS": "0.05"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    lines = [line for line in result.stderr.decode().splitlines() if line.startswith("translating: ")]
    assert lines, result.stderr.decode()
    # lines before the document is read know no total yet ("0 segments"); once read, its 47 segments
    pattern = r"translating: \d+/47 segments, 0/1 document, [\d.]+ segments/s, \d+:\d\d elapsed"
    assert any(re.match(pattern, line) for line in lines), lines
    assert "\x1b[" not in result.stderr.decode(), "no terminal codes in a log"


def run_in_terminal(args: list[str], env: dict[str, str], interrupt_after: bytes) -> tuple[int, bytes]:
    """Run the CLI on a pseudo-terminal of 80 columns; type Ctrl-C once ``interrupt_after`` has been shown."""
    import fcntl
    import pty
    import struct
    import termios

    pid, master = pty.fork()
    if pid == 0:  # the child: the CLI, with the pty as its controlling terminal
        # as in a user's shell: Ctrl-C interrupts (a background job, e.g. under `make … &`, inherits it ignored)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "-m", "pipeline", *args], env)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    output, typed, deadline = b"", 0, time.monotonic() + 120
    last = 0.0
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        # Ctrl-C, as typed: the terminal echoes ^C and interrupts the process group. A key pressed while
        # a native library holds the process (loading a model) can be lost, so a user presses it again:
        # so does the test, every 2 s until the CLI answers, at most 5 times
        shown = interrupt_after in ANSI.sub(b"", output)
        if shown and b"interrupted" not in output and typed < 5 and time.monotonic() - last > 2:
            os.write(master, b"\x03")
            typed, last = typed + 1, time.monotonic()
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(master)
    return os.waitstatus_to_exitcode(status), output


def test_progress_bar_on_a_terminal_and_interrupted_on_its_own_line(tiny_marian: Path, tmp_path: Path) -> None:
    long_article = tmp_path / "lang.txt"
    seed = SEED.read_text(encoding="utf-8")
    long_article.write_text("\n\n".join(seed.replace(".", f" {i}.") for i in range(12)), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests" / "netguard"), "COLUMNS": "80", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    args = ["translate", str(long_article), str(SEED), "--model", str(tiny_marian), "--out", str(tmp_path / "o")]
    code, output = run_in_terminal(args, env, interrupt_after=b"0/2")  # the bar is drawn, documents known
    plain = ANSI.sub(b"", output)
    assert code == 130 and b"interrupted" in output, plain.decode(errors="replace")[-2000:]
    before = output[: output.rindex(b"interrupted")]
    assert before.endswith((b"\n", b"\r\x1b[K")), f"interrupted must start a clean line: {before[-80:]!r}"
    bar = rb"translating \S+ 0(/\d[\d,]*)? segments  0/2 docs  [\d.]+/s  \d+:\d\d  ETA"
    assert re.search(bar, plain), plain[-2000:]
    assert b"Traceback" not in output


# --- --help (item 13) -------------------------------------------------------------------------


def test_help_shows_no_python_types_for_flags_and_a_plain_usage_line() -> None:
    runner = CliRunner()
    for command in ("translate", "summarize", "run", "score", "compare", "cache clear"):
        result = runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.output
        assert "<bool>" not in result.output and "<list[str]>" not in result.output, command
        assert "{" not in result.output.splitlines()[1], result.output.splitlines()[1]
        assert not re.search(r"--[\w,-]+…", result.output), f"{command}: an option name cut at 80 columns"
    usage = runner.invoke(app, ["translate", "--help"], env={"COLUMNS": "80"}).output
    assert "Usage: nl2en translate [OPTIONS] PATHS..." in usage
    assert re.search(r"--max-chars .*\n(.*\n)*.*\[default: 20000000\]", usage)
    run_help = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "120"}).output
    assert re.search(r"--summary-beams +<int range> \[x>=1\] +Summariser beam size", run_help), run_help
    assert "--verbose" in run_help


def test_help_version_and_the_models_group_says_all_it_does() -> None:
    runner = CliRunner()
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and re.fullmatch(r"nl2en \d+\.\d+\.\d+\S*\n", version.output)
    top = runner.invoke(app, ["--help"], env={"COLUMNS": "120"}).output
    assert "--version" in top and "List, download, import, convert and calibrate models." in top


# --- score tables at 80 and 120 columns (item 11) ---------------------------------------------

LONG_NAMES = ("opus-mt-nl-en-max-new64-ctranslate2-float32+distilbart-cnn-12-6", "marian-greedy", "marian-beams8")


def score_result(name: str, doc: str = "2019-12-rusland-wit-rusland", summary: bool = True) -> dict[str, Any]:
    return {
        "run": {"doc": doc, "name": name},
        "translation": {"snippet_count": 45, "bleu": 23.41, "chrf": 51.2, "ter": 150.9, "key_fact_recall": 0.8},
        "summary": {"rouge1": 0.401, "rouge2": 0.12, "rougeL": 0.302, "key_fact_recall": 0.5} if summary else None,
        "untranslated": {"count": 3},
        "signature": {"bleu": "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"},
    }


def assert_readable(text: str, names: tuple[str, ...], headers: tuple[str, ...]) -> None:
    """Nothing cut, every run name whole, no header broken one character per line."""
    assert "…" not in text, text
    for name in names:
        assert name in text, f"run name {name!r} cut:\n{text}"
    for header in headers:
        assert header in text, f"header {header!r} broken:\n{text}"
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[┃│]", line)[1:-1]]
        assert not any(len(c) == 1 and c.isalpha() for c in cells), f"a header folded one letter a line:\n{text}"


@pytest.mark.parametrize("width", [80, 120])
def test_score_tables_stay_readable_at_80_and_120_columns(width: int) -> None:
    from pipeline.cli.score import print_scores

    results = [score_result(name, summary=i != 1) for i, name in enumerate(LONG_NAMES)]
    for wide in (False, True):
        console = terminal(width)
        print_scores(results, console, wide=wide)
        text = console.export_text()
        assert_readable(text, LONG_NAMES, ("BLEU", "chrF", "TER"))
        assert "2019-12-rusland-wit-rusland: scores" in text and "150.9" in text and "23.4" in text
        if wide:
            assert "facts sum %" in text and "untransl." in text and "not shown" not in text


def test_score_table_is_a_table_when_it_fits_and_names_what_it_leaves_out() -> None:
    from pipeline.cli.score import print_scores

    results = [score_result("greedy"), score_result("beams4")]
    wide = terminal(200)
    print_scores(results, wide)
    assert "┃ run " in wide.export_text() and "not shown" not in wide.export_text()
    narrow = terminal(70)
    print_scores(results, narrow)
    text = " ".join(narrow.export_text().split())
    assert "┃ run " in text and "not shown: snippets, R-1, R-2, facts sum %, untransl. (--wide shows them)" in text


def test_score_cli_at_80_and_120_columns(tiny_marian: Path, tmp_path: Path) -> None:
    """``COLUMNS`` sets the width when stdout is not a terminal; long run names are never cut."""
    import shutil

    from tests.evaluation.test_score import build_seed_runs

    runs = build_seed_runs(tiny_marian, tmp_path)
    shutil.copytree(runs["greedy"], runs["greedy"].parent / LONG_NAMES[0])
    names = ("default", "greedy", LONG_NAMES[0])
    for width in ("80", "120"):
        result = CliRunner().invoke(app, ["score", str(tmp_path)], env={"COLUMNS": width})
        assert result.exit_code == 0, result.output
        assert_readable(result.stdout, names, ("BLEU", "chrF", "TER"))
        assert all(len(line) <= int(width) for line in result.stdout.splitlines())
