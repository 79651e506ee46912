"""PDF input: every character of the text layer reaches a unit or a page marker; broken PDFs fail on one line."""

from __future__ import annotations

import io
import re
from collections import Counter

import pypdf
import pytest
from pypdf.generic import DictionaryObject, NameObject, StreamObject

from pipeline.errors import DocumentFormatError, NoTextLayerError
from pipeline.formats.base import FormatOptions, TranslatedUnit
from pipeline.formats.pdf import join_lines, markdown_escape, parse
from tests.conftest import shared_path

PDFS = ["libre-office-writer.pdf", "pdflatex-4-pages.pdf"]
OPTIONS = FormatOptions()
MARKER = re.compile(r"^<!-- page (\d+)(?:, printed \"([^\"]*)\")? -->$", re.MULTILINE)


def text_pdf(pages: list[list[tuple[float, float, str, str]]]) -> bytes:
    """A PDF whose pages show lines of text: (x, y, font size, text), in Helvetica (``B``: bold) via pypdf."""
    writer = pypdf.PdfWriter()
    fonts = {}
    for key, base in (("F1", "/Helvetica"), ("F2", "/Helvetica-Bold")):
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject(base),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
        fonts[NameObject("/" + key)] = writer._add_object(font)
    for lines in pages:
        page = writer.add_blank_page(width=595, height=842)
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject(fonts)})
        ops = []
        for x, y, size, text in lines:
            key = "F2" if size.endswith("B") else "F1"
            ops.append(f"BT /{key} {size.rstrip('B')} Tf {x} {y} Td ({text}) Tj ET")
        stream = StreamObject()
        stream.set_data("\n".join(ops).encode("cp1252"))
        page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


ARTICLE = text_pdf(
    [
        [
            (72, 780, "18", "Kabinet presenteert plan"),
            (72, 740, "11", "De minister van Financien heeft gisteren een afge-"),
            (72, 726, "11", "broken plan gepresenteerd voor Noord-"),
            (72, 712, "11", "Holland en de rest van het land."),
            (72, 684, "11", "Een tweede alinea volgt na een witregel."),
            (72, 670, "11", "Zij loopt over twee regels."),
            (72, 640, "11B", "Reacties"),
            (72, 620, "11", "De oppositie is kritisch."),
            (297, 40, "9", "1"),
        ],
        [(72, 780, "11", "Het debat gaat morgen verder."), (297, 40, "9", "2")],
    ]
)


def nonspace(text: str) -> Counter[str]:
    return Counter(ch for ch in text if not ch.isspace())


@pytest.mark.parametrize("file", PDFS)
def test_pdf_every_character_reaches_a_unit_or_a_page_marker(file: str) -> None:
    path = shared_path("documents", "pdf", file)
    data = path.read_bytes()
    doc = parse(data, path.name, OPTIONS)
    reader = pypdf.PdfReader(io.BytesIO(data))
    raw = "".join(page.extract_text() for page in reader.pages)
    out = doc.render([TranslatedUnit(u.text) for u in doc.units]).decode()
    markers = MARKER.findall(out)
    assert len(markers) == doc.metadata["page_count"] == len(reader.pages)
    labels = "".join(label for _, label in markers)
    kept = nonspace("".join(u.text for u in doc.units)) + nonspace(labels)
    dropped = Counter({"-": doc.metadata["hyphens_dropped"], "\u00ad": doc.metadata["soft_hyphens_dropped"]})
    assert kept + dropped == nonspace(raw)
    assert all(u.text == " ".join(u.text.split()) for u in doc.units)
    assert len(doc.units) == sum(doc.metadata["paragraphs_per_page"])


def test_pdf_paragraphs_headings_hyphens_and_page_numbers() -> None:
    doc = parse(ARTICLE, "artikel.pdf", OPTIONS)
    assert [(u.kind, u.text) for u in doc.units] == [
        ("heading", "Kabinet presenteert plan"),
        (
            "paragraph",
            "De minister van Financien heeft gisteren een afgebroken plan gepresenteerd voor "
            "Noord-Holland en de rest van het land.",
        ),
        ("paragraph", "Een tweede alinea volgt na een witregel. Zij loopt over twee regels."),
        ("heading", "Reacties"),
        ("paragraph", "De oppositie is kritisch."),
        ("paragraph", "Het debat gaat morgen verder."),
    ]
    assert doc.metadata["page_labels"] == ["1", "2"] and doc.metadata["hyphens_dropped"] == 1
    out = doc.render([TranslatedUnit(f"Unit {i}.") for i in range(len(doc.units))]).decode()
    assert out == (
        '<!-- page 1, printed "1" -->\n\n## Unit 0.\n\nUnit 1.\n\nUnit 2.\n\n## Unit 3.\n\nUnit 4.\n\n'
        '<!-- page 2, printed "2" -->\n\nUnit 5.\n'
    )
    assert doc.output_suffix == ".md"


def test_pdf_metadata_has_page_count_title_and_author() -> None:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(ARTICLE))
    writer.add_metadata({"/Title": "Het plan", "/Author": "Redactie"})
    out = io.BytesIO()
    writer.write(out)
    meta = parse(out.getvalue(), "artikel.pdf", OPTIONS).metadata
    assert (meta["page_count"], meta["title"], meta["author"]) == (2, "Het plan", "Redactie")


def test_pdf_without_text_layer_is_refused() -> None:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(NoTextLayerError) as info:
        parse(out.getvalue(), "scan.pdf", OPTIONS)
    assert info.value.code == "E107" and "\n" not in str(info.value) and str(info.value).startswith("scan.pdf: ")


def test_pdf_encrypted_with_a_password_is_refused_and_an_empty_password_is_tried() -> None:
    for user, readable in (("geheim", False), ("", True)):
        writer = pypdf.PdfWriter(clone_from=io.BytesIO(ARTICLE))
        writer.encrypt(user, owner_password="eigenaar", algorithm="RC4-128")
        out = io.BytesIO()
        writer.write(out)
        if readable:
            assert parse(out.getvalue(), "open.pdf", OPTIONS).units
            continue
        with pytest.raises(NoTextLayerError) as info:
            parse(out.getvalue(), "slot.pdf", OPTIONS)
        assert "\n" not in str(info.value) and "encrypted" in str(info.value)


@pytest.mark.parametrize("cut", [0.02, 0.5, 0.98])
def test_pdf_truncated_is_a_one_line_error(cut: float) -> None:
    data = shared_path("documents", "pdf", PDFS[0]).read_bytes()
    with pytest.raises((DocumentFormatError, NoTextLayerError)) as info:
        parse(data[: int(len(data) * cut)], "kapot.pdf", OPTIONS)
    assert "\n" not in str(info.value) and str(info.value).startswith("kapot.pdf: ")


def test_pdf_pypdf_messages_stay_off_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    data = shared_path("documents", "pdf", PDFS[0]).read_bytes()
    m = list(re.finditer(rb"startxref\s+(\d+)", data))[-1]
    damaged = data[: m.start(1)] + str(int(m.group(1)) + 7).encode() + data[m.end(1) :]
    doc = parse(damaged, "scheef.pdf", OPTIONS)
    assert doc.units and doc.metadata["pdf_warnings"]
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_pdf_markdown_escape_keeps_translations_as_plain_paragraphs() -> None:
    assert markdown_escape("# 1. *niet* vet_ [link] <b>") == r"\# 1. \*niet\* vet\_ \[link\] \<b>"
    assert markdown_escape("1. eerste") == r"1\. eerste"
    assert markdown_escape("- streep") == r"\- streep"


@pytest.mark.parametrize(
    ("lines", "text", "dropped"),
    [
        (["  een  afge-", "broken woord "], "een afgebroken woord", "-"),
        (["Noord-", "Holland"], "Noord-Holland", ""),
        (["COVID-", "19 en"], "COVID-19 en", ""),
        (["ver\u00ad", "Deling"], "verDeling", "\u00ad"),
        (["Kjift –", "not at all", "", "x"], "Kjift – not at all x", ""),
    ],
)
def test_pdf_join_lines_joins_hyphenated_breaks(lines: list[str], text: str, dropped: str) -> None:
    assert join_lines(lines) == (text, dropped)
