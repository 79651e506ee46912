"""Sentence-boundary accuracy of ``segment_document`` against a gold corpus.

A corpus is a folder of ``<doc>.txt`` articles and a ``gold.jsonl`` with one line per
article, ``{"doc": "<doc>", "ends": [offsets]}``: the character offset just after each
gold sentence. Each article is segmented exactly as ``nl2en translate`` segments it,
and the end offsets of its sentences and headings are compared with the gold ones:
precision, recall and F1 over boundaries, and every missed or false boundary with its
context so the errors can be read.

``nl2en eval segmentation CORPUS [--half odd|even]`` (or ``make eval-segmentation``) prints the
figures; ``python -m pipeline.evaluation.segmentation`` is the same without the rest of nl2en. A
half is every other article in name order (``odd``: the 1st, 3rd, …), so rules can be developed
on one half and checked on the other.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Literal

from pipeline.errors import InputError
from pipeline.text.segment import segment_document

Half = Literal["odd", "even"]
ErrorKind = Literal["missed", "false"]

_CONTEXT = 60


@dataclass(frozen=True)
class GoldDocument:
    """An article and the offsets just after each of its gold sentences."""

    name: str
    text: str
    ends: tuple[int, ...]


@dataclass(frozen=True)
class BoundaryError:
    """A gold boundary the segmenter missed, or a boundary it made that gold lacks."""

    doc: str
    offset: int
    kind: ErrorKind
    before: str
    after: str

    def describe(self) -> str:
        label = "missed" if self.kind == "missed" else "false "
        return f"{label} {self.doc}@{self.offset}: …{self.before} ‖ {self.after}…"


@dataclass
class BoundaryScore:
    """Counts of true, false and missed boundaries, and the errors themselves."""

    documents: int = 0
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    errors: list[BoundaryError] = field(default_factory=list)

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        gold = self.true_positives + self.false_negatives
        return self.true_positives / gold if gold else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def summary(self) -> str:
        return (
            f"documents {self.documents}  gold {self.true_positives + self.false_negatives}  "
            f"found {self.true_positives + self.false_positives}  "
            f"P {self.precision:.3f}  R {self.recall:.3f}  F1 {self.f1:.3f}  "
            f"(missed {self.false_negatives}, false {self.false_positives})"
        )


def load_corpus(path: Path | str) -> list[GoldDocument]:
    """Read a corpus folder; articles in name order. Raises ``InputError`` when it is unusable."""
    folder = Path(path)
    gold_path = folder / "gold.jsonl"
    if not folder.is_dir():
        raise InputError(f"corpus folder not found: {folder}")
    if not gold_path.is_file():
        raise InputError(f"no gold.jsonl in {folder}", hint="one line per article: {doc, ends}")
    docs: list[GoldDocument] = []
    for number, line in enumerate(gold_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            name, ends = str(record["doc"]), tuple(int(e) for e in record["ends"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{gold_path}:{number}: not a gold record ({exc})") from exc
        text_path = folder / f"{name}.txt"
        if not text_path.is_file():
            raise InputError(f"{gold_path}:{number}: article {text_path.name} not found")
        text = text_path.read_text(encoding="utf-8")
        if any(not 0 < e <= len(text) for e in ends):
            raise InputError(f"{gold_path}:{number}: an end offset lies outside {text_path.name}")
        docs.append(GoldDocument(name, text, ends))
    return sorted(docs, key=lambda d: d.name)


def select_half(docs: Sequence[GoldDocument], half: Half | None) -> list[GoldDocument]:
    """Every other article in name order: ``odd`` the 1st, 3rd, …; ``even`` the 2nd, 4th, …"""
    ordered = sorted(docs, key=lambda d: d.name)
    if half is None:
        return ordered
    return ordered[0::2] if half == "odd" else ordered[1::2]


def predicted_ends(text: str) -> list[int]:
    """End offsets of the sentences and headings ``segment_document`` finds in ``text``."""
    return [s.end for s in segment_document(text).segments if s.translatable]


def _context(text: str, offset: int) -> tuple[str, str]:
    before = text[max(0, offset - _CONTEXT) : offset].replace("\n", "⏎")
    after = text[offset : offset + _CONTEXT].replace("\n", "⏎")
    return before, after


def evaluate(docs: Iterable[GoldDocument]) -> BoundaryScore:
    """Boundary precision, recall and F1 over ``docs``, with every error in context."""
    score = BoundaryScore()
    for doc in docs:
        score.documents += 1
        gold, found = set(doc.ends), set(predicted_ends(doc.text))
        score.true_positives += len(gold & found)
        kinds: tuple[tuple[ErrorKind, set[int]], ...] = (("missed", gold - found), ("false", found - gold))
        for kind, offsets in kinds:
            for offset in sorted(offsets):
                score.errors.append(BoundaryError(doc.name, offset, kind, *_context(doc.text, offset)))
        score.false_negatives += len(gold - found)
        score.false_positives += len(found - gold)
    score.errors.sort(key=lambda e: (e.doc, e.offset))
    return score


def report(docs: Sequence[GoldDocument], *, show_errors: bool = True) -> str:
    """The text ``make eval-segmentation`` prints: errors in context, then the figures."""
    score = evaluate(docs)
    lines = [e.describe() for e in score.errors] if show_errors else []
    lines.append(score.summary())
    return "\n".join(lines)


def signature(corpus: Path | str, half: Half | None) -> str:
    """What the figures were measured on: the corpus, the half and the segmenter's version."""
    return f"corpus {corpus}  half {half or 'all'}  sentencex {version('sentencex')}"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print each boundary error in context, then P/R/F1."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.evaluation.segmentation", description="Sentence-boundary P/R/F1 against a gold corpus."
    )
    parser.add_argument("corpus", help="folder with <doc>.txt articles and gold.jsonl")
    parser.add_argument("--half", choices=["odd", "even"], help="only every other article in name order")
    parser.add_argument("--no-errors", action="store_true", help="print the figures only")
    args = parser.parse_args(argv)
    try:
        docs = select_half(load_corpus(args.corpus), args.half)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        print(report(docs, show_errors=not args.no_errors) + "\n" + signature(args.corpus, args.half), flush=True)
    except BrokenPipeError:  # output piped into head and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
