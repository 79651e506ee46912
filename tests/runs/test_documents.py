"""Structured documents through the batch: each format in, the same format out, nothing lost.

A scripted translator stands in for the model (every letter's case swapped, so a translated
text node is told from an untouched one, and words keep their places, so its ``align`` can
link word i to word i). The real documents of ``../shared/documents`` are mostly not Dutch:
they go through with ``any_language``; without it they are left out with a note.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import pytest

from pipeline.formats.base import FormatOptions
from pipeline.runs.batch import BatchPlan, ReadOptions, translate_paths
from pipeline.runs.cache import CachedTranslator
from pipeline.runs.corpus import Formats
from pipeline.translation.translator import Translation, Translator
from tests.conftest import shared_path
from tests.support.signatures import signature_for

DUTCH = (
    "Het kabinet heeft dinsdag besloten dat de nieuwe wet pas volgend jaar ingaat. "
    "De minister zei dat de gemeenten meer tijd nodig hebben om zich voor te bereiden."
)


class SwapCaseTranslator(Translator):
    """Every source with its letters' case swapped; ``align`` links word i to word i."""

    backend = "scripted"
    aligned = 0

    @property
    def settings(self) -> dict[str, Any]:
        return {}

    def translate_batch(self, sources: Sequence[str], groups: Sequence[Hashable] | None = None) -> list[Translation]:
        return [Translation(s.swapcase(), tokens=len(s.split())) for s in sources]

    def align(self, sources: Sequence[str], targets: Sequence[str]) -> list[tuple[tuple[int, int], ...] | None]:
        self.aligned += len(sources)
        pairs = zip(sources, targets, strict=True)
        return [tuple((i, i) for i in range(min(len(s.split()), len(t.split())))) for s, t in pairs]


def run(paths: list[Path], out: Path, *, any_language: bool = True, html: str = "auto", fmt: str = "auto") -> Any:
    inner = SwapCaseTranslator()
    translator = CachedTranslator(inner, None, signature_for("sha256:scripted"))
    reading = ReadOptions(formats=Formats(fmt, FormatOptions(html=html)), any_language=any_language)  # type: ignore[arg-type]
    report = translate_paths(paths, translator, BatchPlan(out, "r"), reading)
    return report, inner


def records(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "aligned.jsonl").read_text(encoding="utf-8").splitlines()]


def check_offsets(run_dir: Path) -> None:
    """Every record's source is the text view's span; the text view is rebuilt from the records."""
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    rows = records(run_dir)
    assert manifest["input"]["chars"] >= max((r["end"] for r in rows), default=0)
    for row in rows:
        assert row["end"] - row["start"] == len(row["source"])


def test_documents_an_html_fragment_is_translated_in_place_with_its_link(tmp_path: Path) -> None:
    page = tmp_path / "stuk.html"
    page.write_text(
        '<p>Het kabinet heeft <a href="https://example.nl/wet">de nieuwe wet</a> uitgesteld.</p>\n'
        '<p lang="nl">De minister zei <em>niets</em> over de gemeenten.</p>\n',
        encoding="utf-8",
    )
    report, inner = run([page], tmp_path / "out")
    assert not report.failed, report.failed
    [run_dir] = report.written
    html = (run_dir / "translation.en.html").read_text(encoding="utf-8")
    assert '<a href="https://example.nl/wet">' in html and "</a>" in html
    assert "<em>" in html and 'lang="en"' in html
    assert "hET KABINET" in html  # the scripted translation reached the page
    assert inner.aligned >= 2  # inline elements asked for alignments
    placed = [entry for row in records(run_dir) for entry in row.get("inlines", ())]
    assert {entry["tag"] for entry in placed} == {"a", "em"}
    assert all(entry["method"] in {"aligned", "copied", "proportional", "whole"} for entry in placed)
    check_offsets(run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["input"]["format"] == "html"


def test_documents_a_document_not_in_dutch_is_left_out_with_a_note(tmp_path: Path) -> None:
    english = tmp_path / "english.txt"
    english.write_text(
        "The cabinet decided on Tuesday that the new law will only take effect next year. "
        "The minister said that the municipalities need more time to prepare themselves.\n",
        encoding="utf-8",
    )
    dutch = tmp_path / "dutch.txt"
    dutch.write_text(DUTCH + "\n", encoding="utf-8")
    report, _ = run([english, dutch], tmp_path / "out", any_language=False)
    assert [p.parent.name for p in report.written] == ["dutch"]
    assert not report.failed
    [note] = [n for n in report.notes if "english.txt" in n]
    assert "not Dutch" in note and "--any-language" in note and "\n" not in note
    report, _ = run([english], tmp_path / "out2", any_language=True)
    assert [p.parent.name for p in report.written] == ["english"]
    # translated because asked to: its English sentences are not "English inside Dutch", kept as they are
    rows = records(report.written[0])
    assert len(rows) == 2 and all(r["target"] == r["source"].swapcase() and "source_english" not in r for r in rows)
    manifest = json.loads((report.written[0] / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["input"]["document"]["language_found"]["language"] == "en"


def test_documents_english_passages_inside_dutch_are_kept_and_marked(tmp_path: Path) -> None:
    text = tmp_path / "citaat.txt"
    quote = "We will not give up on this deal before the deadline has passed."
    text.write_text(f"{DUTCH} {quote}\n", encoding="utf-8")
    report, _ = run([text], tmp_path / "out", any_language=False)
    [run_dir] = report.written
    rows = {r["source"]: r for r in records(run_dir)}
    assert rows[quote].get("source_english") is True and rows[quote]["target"] == quote
    assert all(not r.get("source_english") for s, r in rows.items() if s != quote)
    assert quote in (run_dir / "translation.en.txt").read_text(encoding="utf-8")


def test_documents_jsonl_records_may_carry_html(tmp_path: Path) -> None:
    corpus = tmp_path / "pagina.jsonl"
    lines = [
        {"id": "a", "html": f"<p>{DUTCH}</p>"},
        {"id": "b", "text": DUTCH},
        {"id": "c", "html": 5},
    ]
    corpus.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    report, _ = run([corpus], tmp_path / "out")
    assert sorted(p.parent.name for p in report.written) == ["a", "b"]
    assert (tmp_path / "out" / "a" / "r" / "translation.en.html").is_file()
    assert not (tmp_path / "out" / "b" / "r" / "translation.en.html").exists()
    [(where, error)] = report.failed
    assert where.endswith(":3") and '"html"' in str(error)


def _broken_docx(path: Path) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document>" + "x" * 5000)
    path.write_bytes(buffer.getvalue()[:-200])  # truncated: the central directory is gone
    return path


def test_documents_every_real_document_keeps_its_format_and_a_bad_one_fails_alone(tmp_path: Path) -> None:
    documents = shared_path("documents")
    inputs = sorted(p for folder in ("html", "docx", "subtitles", "pdf") for p in (documents / folder).iterdir())
    bad = _broken_docx(tmp_path / "kapot.docx")
    report, _ = run([*inputs[:3], bad, *inputs[3:]], tmp_path / "out", html="page")
    [(where, error)] = report.failed
    assert where == str(bad) and "\n" not in str(error) and re.match(r"kapot|.*kapot\.docx", str(error))
    assert len(report.written) == len(inputs)
    suffixes = {".html": ".html", ".docx": ".docx", ".srt": ".srt", ".vtt": ".vtt", ".pdf": ".md"}
    for source, run_dir in zip(inputs, report.written, strict=True):
        output = run_dir / f"translation.en{suffixes[source.suffix]}"
        assert output.is_file() and output.stat().st_size > 0, source
        check_offsets(run_dir)
        if source.name == "tbl-2x2-table.docx":  # an empty 2×2 table: nothing to translate, written as it is
            assert not records(run_dir)
        else:
            assert any(r["translated"] for r in records(run_dir)), source


def test_documents_a_real_page_without_any_language_is_a_note_not_a_failure(tmp_path: Path) -> None:
    page = shared_path("documents", "html", "spiegel.de.albtraum.html")
    report, _ = run([page], tmp_path / "out", any_language=False)
    assert not report.written and not report.failed
    assert any("not Dutch" in note for note in report.notes)


@pytest.mark.parametrize("mode", ["page", "article"])
def test_documents_html_modes_write_a_page_or_an_article(tmp_path: Path, mode: str) -> None:
    page = shared_path("documents", "html", "dw.com.colonial.html")
    report, _ = run([page], tmp_path / "out", html=mode)
    [run_dir] = report.written
    html = (run_dir / "translation.en.html").read_text(encoding="utf-8")
    if mode == "article":
        assert "<script" not in html and "<article" in html
    else:
        assert "<script" in html  # the whole page, scripts kept
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["input"]["format"] == "html"
