"""``nl2en eval``: the pipeline's checks measured on gold data (guards on correct pairs, sentence boundaries)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import typer

from pipeline.cli.common import handled

eval_app = typer.Typer(
    help="Measure the pipeline's checks on gold data: the guards on correct pairs, the sentence boundaries.",
    no_args_is_help=True,
)


@eval_app.command("guards")
def guards(
    pairs: Annotated[Path, typer.Argument(help="Tab-separated pairs with a header row naming `nl` and `en`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write one JSON line per input row: index, flags, repairs.")
    ] = None,
    damage: Annotated[
        bool, typer.Option("--damage", help="Also measure catch rates on deterministic damaged copies.")
    ] = False,
    no_glossary: Annotated[bool, typer.Option("--no-glossary", help="Run without the built-in glossary.")] = False,
) -> None:
    """Run every guard and the glossary check over correct pairs, each English side taken as output.

    Every flag and every glossary repair is then a false positive. With --damage, each pair is also
    broken in known ways (a number changed, the Dutch copied, cut short, looped, an exonym put back
    into Dutch) and the share each guard catches is reported.

    Example: nl2en eval guards ../shared/corpora/ntrex-nl-en-dev/pairs.tsv --damage
    """
    from pipeline.errors import OutputError
    from pipeline.evaluation.guard_eval import (
        damage_lines,
        evaluate_damage,
        evaluate_pairs,
        read_pairs,
        row_records,
        table_lines,
        totals_json,
    )
    from pipeline.quality.glossary import builtin_glossary

    with handled():
        rows = read_pairs(pairs)
        glossary = None if no_glossary else builtin_glossary()
        report = evaluate_pairs(rows, glossary)
        damaged = evaluate_damage(rows, glossary, baseline=report) if damage else None
        if out is not None:
            lines = [json.dumps(record, ensure_ascii=False) for record in row_records(report)]
            try:
                out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            except OSError as error:
                raise OutputError(f"cannot write {out}: {error.strerror or error}") from None
    if as_json:
        typer.echo(json.dumps(totals_json(report, damaged), ensure_ascii=False, indent=2))
        return
    typer.echo("\n".join(table_lines(report) + (damage_lines(damaged) if damaged else [])))


class Half(StrEnum):
    odd = "odd"
    even = "even"


@eval_app.command("segmentation")
def segmentation(
    corpus: Annotated[Path, typer.Argument(help="A folder of <doc>.txt articles and gold.jsonl (sentence ends).")],
    half: Annotated[Half | None, typer.Option("--half", help="Only every other article in name order.")] = None,
    no_errors: Annotated[bool, typer.Option("--no-errors", help="Print the figures only.")] = False,
) -> None:
    """Sentence-boundary precision, recall and F1 against a gold corpus, each error in context.

    Example: nl2en eval segmentation ../shared/corpora/nl-news-ud-dev --half odd
    """
    from pipeline.evaluation.segmentation import load_corpus, report, select_half, signature

    chosen: Literal["odd", "even"] | None = "odd" if half == Half.odd else "even" if half == Half.even else None
    with handled():
        docs = select_half(load_corpus(corpus), chosen)
    typer.echo(report(docs, show_errors=not no_errors) + "\n" + signature(corpus, chosen))
