"""Word documents: structure kept, text replaced, hostile archives refused with one-line errors.

The stand-in translation swaps the case of every letter: it changes every word and keeps the
length, so the inline elements can be placed exactly where they were.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from pipeline.errors import DocumentFormatError, UnsafeDocumentError
from pipeline.formats import docx as docx_format
from pipeline.formats.base import FormatOptions, Placed, TranslatedUnit, Unit
from tests.formats.test_safety import zipped

SHARED = Path(__file__).resolve().parents[3] / "shared" / "documents" / "docx"
DOCS = sorted(SHARED.glob("*.docx"))
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS = {"w": W, "r": R}
TEXT_PARTS = re.compile(r"^word/(document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml$")


def swap(text: str) -> str:
    return "".join(c.swapcase() if len(c.swapcase()) == 1 else c for c in text)


def same_places(unit: Unit, text: str) -> TranslatedUnit:
    return TranslatedUnit(text, tuple(Placed(i.ref, i.start, i.end, "aligned") for i in unit.inlines))


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def rels_of(parts: dict[str, bytes], member: str) -> dict[str, str]:
    folder, _, base = member.rpartition("/")
    blob = parts.get(f"{folder}/_rels/{base}.rels")
    if blob is None:
        return {}
    root = etree.fromstring(blob)
    return {r.get("Id"): r.get("Target") for r in root}


def style_of(p: Any) -> str:
    style = p.find("w:pPr/w:pStyle", NS)
    return "" if style is None else str(style.get(f"{{{W}}}val"))


def structure(data: bytes) -> dict[str, Any]:
    """What must survive a translation: per part, each paragraph's style and run count; tables; links."""
    parts = members(data)
    found: dict[str, Any] = {"paragraphs": {}, "tables": [], "hyperlinks": [], "tabs_breaks": []}
    for name in sorted(parts):
        if not TEXT_PARTS.match(name):
            continue
        root = etree.fromstring(parts[name])
        rels = rels_of(parts, name)
        found["paragraphs"][name] = [
            (style_of(p), p.find("w:pPr/w:numPr", NS) is not None, len(p.findall(".//w:r", NS)))
            for p in root.iter(f"{{{W}}}p")
        ]
        found["tables"] += [
            (len(t.findall("w:tr", NS)), max((len(tr.findall("w:tc", NS)) for tr in t.findall("w:tr", NS)), default=0))
            for t in root.iter(f"{{{W}}}tbl")
        ]
        found["hyperlinks"] += [
            rels.get(h.get(f"{{{R}}}id"), h.get(f"{{{W}}}anchor")) for h in root.iter(f"{{{W}}}hyperlink")
        ]
        found["tabs_breaks"] += [
            (len(p.findall(".//w:tab", NS)), len(p.findall(".//w:br", NS))) for p in root.iter(f"{{{W}}}p")
        ]
    return found


def header_footer_counts(data: bytes) -> list[int]:
    import docx

    document = docx.Document(io.BytesIO(data))
    counts = []
    for section in document.sections:
        for hf in (
            section.header,
            section.footer,
            section.first_page_header,
            section.first_page_footer,
            section.even_page_header,
            section.even_page_footer,
        ):
            counts.append(len(hf.paragraphs))
    return counts


# --- a hand-built document with what the shared ones lack -----------------------------------

TRACKED = (
    f'<w:p xmlns:w="{W}"><w:r><w:t xml:space="preserve">De minister </w:t></w:r>'
    '<w:del w:id="91" w:author="Redactie" w:date="2024-01-01T00:00:00Z"><w:r><w:delText>zei</w:delText></w:r></w:del>'
    '<w:ins w:id="92" w:author="Redactie" w:date="2024-01-01T00:00:00Z"><w:r><w:t>verklaarde</w:t></w:r></w:ins>'
    '<w:r><w:t xml:space="preserve"> dat het goed ging.</w:t></w:r></w:p>'
)
FIELD = (
    f'<w:p xmlns:w="{W}"><w:r><w:t xml:space="preserve">Lees </w:t></w:r>'
    '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
    '<w:r><w:instrText xml:space="preserve"> HYPERLINK "https://nos.nl/" </w:instrText></w:r>'
    '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
    '<w:r><w:rPr><w:u w:val="single"/></w:rPr><w:t>het artikel</w:t></w:r>'
    '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    '<w:r><w:rPr><w:lang w:val="nl-NL"/></w:rPr><w:t xml:space="preserve"> op de site.</w:t></w:r>'
    '<w:r><w:rPr><w:rStyle w:val="FootnoteReference"/></w:rPr><w:footnoteReference w:id="1"/></w:r></w:p>'
)
FOOTNOTES = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:footnotes xmlns:w="{W}">'
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
    '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p></w:footnote>'
    '<w:footnote w:id="1"><w:p><w:r><w:footnoteRef/></w:r>'
    '<w:r><w:t xml:space="preserve"> Bron: het ministerie.</w:t></w:r></w:p></w:footnote>'
    "</w:footnotes>"
)


def rich_docx() -> bytes:
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.oxml import parse_xml

    document = docx.Document()
    document.core_properties.language = "nl-NL"
    document.core_properties.title = "Nieuwsbrief"
    document.add_heading("Het kabinet valt", level=1)
    p = document.add_paragraph("Het kabinet is ")
    p.add_run("woensdag").bold = True
    p.add_run(" gevallen na ")
    p.add_run("lang overleg").italic = True
    tail = p.add_run(" in Den Haag.")
    tail.add_tab()
    tail.add_text("Daarna")
    tail.add_break()
    tail.add_text("volgde de pers.")
    rid = document.part.relate_to("https://nos.nl/artikel/1", RT.HYPERLINK, is_external=True)
    link = document.add_paragraph("Lees ook ")
    link._p.append(
        parse_xml(
            f'<w:hyperlink xmlns:w="{W}" xmlns:r="{R}" r:id="{rid}"><w:r><w:rPr><w:rStyle w:val="Hyperlink"/>'
            "</w:rPr><w:t>het verslag</w:t></w:r></w:hyperlink>"
        )
    )
    link.add_run(" van de NOS.")
    document.add_paragraph("Eerste punt van de lijst", style="List Bullet")
    document.add_paragraph("Tweede punt van de lijst", style="List Number")
    table = document.add_table(rows=2, cols=3)
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            cell.text = f"Cel {r} {c}"
    inner = table.cell(1, 2).add_table(rows=2, cols=2)
    inner.cell(0, 0).text = "Binnen links"
    inner.cell(1, 1).text = "Binnen rechts"
    for xml in (TRACKED, FIELD):
        holder = document.add_paragraph()
        holder._p.addnext(parse_xml(xml))
        holder._p.getparent().remove(holder._p)
    commented = document.add_paragraph("Een zin met een opmerking.")
    document.add_comment(commented.runs, text="Dit moet nog worden nagekeken.", author="Redactie", initials="R")
    section = document.sections[0]
    section.header.paragraphs[0].text = "Kop van elke pagina"
    section.footer.paragraphs[0].text = "Voet van elke pagina"
    section.different_first_page_header_footer = True
    section.first_page_header.paragraphs[0].text = "Kop van de eerste pagina"
    document.settings.odd_and_even_pages_header_footer = True
    section.even_page_footer.paragraphs[0].text = "Voet van even pagina's"
    out = io.BytesIO()
    document.save(out)
    return add_footnotes(out.getvalue())


def add_footnotes(data: bytes) -> bytes:
    parts = members(data)
    parts["word/footnotes.xml"] = FOOTNOTES.encode()
    rels = parts["word/_rels/document.xml.rels"].decode()
    rels = rels.replace(
        "</Relationships>",
        '<Relationship Id="rIdFn" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'footnotes" Target="footnotes.xml"/></Relationships>',
    )
    parts["word/_rels/document.xml.rels"] = rels.encode()
    types = (
        parts["[Content_Types].xml"]
        .decode()
        .replace(
            "</Types>",
            '<Override PartName="/word/footnotes.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'wordprocessingml.footnotes+xml"/></Types>',
        )
    )
    parts["[Content_Types].xml"] = types.encode()
    return zipped(parts)


@pytest.fixture(scope="module")
def rich() -> bytes:
    return rich_docx()


def all_documents(rich: bytes) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in DOCS] + [("rich.docx", rich)]


# --- structure on the shared documents and the hand-built one -------------------------------


def test_docx_shared_documents_are_all_there() -> None:
    assert len(DOCS) == 6


@pytest.mark.parametrize("index", range(7))
def test_docx_swapcase_keeps_structure_and_changes_every_paragraph(rich: bytes, index: int) -> None:
    name, data = all_documents(rich)[index]
    doc = docx_format.parse(data, name, FormatOptions())
    out = doc.render([same_places(u, swap(u.text)) for u in doc.units])
    before, after = structure(data), structure(out)
    assert after == before  # paragraphs, styles, run counts, tables, hyperlink targets, tabs and breaks
    assert header_footer_counts(out) == header_footer_counts(data)
    again = docx_format.parse(out, "out.docx", FormatOptions())
    assert [u.text for u in again.units] == [swap(u.text) for u in doc.units]
    assert [u.kind for u in again.units] == [u.kind for u in doc.units]
    assert [u.inlines for u in again.units] == [u.inlines for u in doc.units]
    for unit, new in zip(doc.units, again.units, strict=True):
        if any(c.isalpha() for c in unit.text):
            assert new.text != unit.text
    # parts without text are copied byte for byte
    old, new_parts = members(data), members(out)
    assert list(new_parts) == list(old)
    for member, blob in old.items():
        if not TEXT_PARTS.match(member) and member not in ("docProps/core.xml", "word/styles.xml"):
            assert new_parts[member] == blob, member


@pytest.mark.parametrize("index", range(7))
def test_docx_untouched_render_gives_the_same_text_and_structure(rich: bytes, index: int) -> None:
    name, data = all_documents(rich)[index]
    doc = docx_format.parse(data, name, FormatOptions())
    out = doc.render([same_places(u, u.text) for u in doc.units])
    again = docx_format.parse(out, "out.docx", FormatOptions())
    assert list(again.units) == list(doc.units)
    assert structure(out) == structure(data)


def test_docx_units_cover_every_kind_of_place(rich: bytes) -> None:
    doc = docx_format.parse(rich, "rich.docx", FormatOptions())
    by_text = {u.text: u for u in doc.units}
    assert by_text["Het kabinet valt"].kind == "heading"
    assert by_text["Eerste punt van de lijst"].kind == "list_item"
    assert by_text["Tweede punt van de lijst"].kind == "list_item"
    assert by_text["Cel 0 1"].kind == "cell" and by_text["Binnen rechts"].kind == "cell"
    assert by_text[" Bron: het ministerie."].kind == "paragraph"  # the footnote
    assert by_text["Dit moet nog worden nagekeken."].kind == "other"  # the comment
    for text in ("Kop van elke pagina", "Voet van elke pagina", "Kop van de eerste pagina", "Voet van even pagina's"):
        assert text in by_text
    body = by_text["Het kabinet is woensdag gevallen na lang overleg in Den Haag.\tDaarna\nvolgde de pers."]
    assert [(i.tag, body.text[i.start : i.end]) for i in body.inlines] == [("w:r", "woensdag"), ("w:r", "lang overleg")]
    link = by_text["Lees ook het verslag van de NOS."]
    assert [(i.tag, dict(i.attrs)) for i in link.inlines] == [("w:hyperlink", {"href": "https://nos.nl/artikel/1"})]
    field = by_text["Lees het artikel op de site."]
    assert [(i.tag, field.text[i.start : i.end]) for i in field.inlines] == [("w:fldChar", "het artikel")]
    assert field.inlines[0].attrs["instr"] == 'HYPERLINK "https://nos.nl/"'
    # body first, in order, then headers and footers, then footnotes, then comments
    order = [u.text for u in doc.units]
    assert order.index("Het kabinet valt") < order.index("Binnen rechts") < order.index("Kop van elke pagina")
    assert (
        order.index("Kop van elke pagina")
        < order.index(" Bron: het ministerie.")
        < order.index("Dit moet nog worden nagekeken.")
    )
    assert doc.metadata["title"] == "Nieuwsbrief" and doc.metadata["language"] == "nl-NL"


def test_docx_tracked_changes_insertion_translated_deletion_kept(rich: bytes) -> None:
    doc = docx_format.parse(rich, "rich.docx", FormatOptions())
    unit = next(u for u in doc.units if u.text.startswith("De minister"))
    assert unit.text == "De minister verklaarde dat het goed ging."  # deleted text is not in the view
    assert [(i.tag, dict(i.attrs)) for i in unit.inlines] == [
        ("w:ins", {"author": "Redactie", "date": "2024-01-01T00:00:00Z"})
    ]
    out = doc.render([same_places(u, swap(u.text)) for u in doc.units])
    root = etree.fromstring(members(out)["word/document.xml"])
    ins = root.find(".//w:ins", NS)
    assert ins is not None and ins.get(f"{{{W}}}author") == "Redactie"
    assert "".join(ins.itertext()) == "VERKLAARDE"
    assert [t.text for t in root.iter(f"{{{W}}}delText")] == ["zei"]


def test_docx_fields_keep_instructions_and_translate_results(rich: bytes) -> None:
    doc = docx_format.parse(rich, "rich.docx", FormatOptions())
    out = doc.render([same_places(u, swap(u.text)) for u in doc.units])
    root = etree.fromstring(members(out)["word/document.xml"])
    assert [t.text for t in root.iter(f"{{{W}}}instrText")] == [' HYPERLINK "https://nos.nl/" ']
    assert len(root.findall(".//w:fldChar", NS)) == 3
    assert len(root.findall(".//w:footnoteReference", NS)) == 1
    assert "HET ARTIKEL" in "".join(root.itertext())


@pytest.mark.parametrize(("target", "tag"), [("en", "en-US"), ("en-GB", "en-GB")])
def test_docx_language_tags_become_english(rich: bytes, target: str, tag: str) -> None:
    doc = docx_format.parse(rich, "rich.docx", FormatOptions(target_language=target))
    out = doc.render([same_places(u, swap(u.text)) for u in doc.units])
    root = etree.fromstring(members(out)["word/document.xml"])
    assert [lang.get(f"{{{W}}}val") for lang in root.iter(f"{{{W}}}lang")] == [tag]
    core = etree.fromstring(members(out)["docProps/core.xml"])
    assert [e.text for e in core.iter("{http://purl.org/dc/elements/1.1/}language")] == [tag]


def test_docx_reordered_and_resized_translation_moves_elements(rich: bytes) -> None:
    doc = docx_format.parse(rich, "rich.docx", FormatOptions())
    index, unit = next((i, u) for i, u in enumerate(doc.units) if u.text.startswith("Het kabinet is"))
    text = "After long talks in The Hague, the cabinet fell on Wednesday.\tThen\nthe press followed."
    long_talks, wednesday = text.index("long talks"), text.index("Wednesday")
    translated = TranslatedUnit(
        text,
        (
            Placed(unit.inlines[0].ref, wednesday, wednesday + 9, "aligned"),
            Placed(unit.inlines[1].ref, long_talks, long_talks + 10, "aligned"),
        ),
    )
    units = [same_places(u, u.text) for u in doc.units]
    units[index] = translated
    out = doc.render(units)
    again = docx_format.parse(out, "out.docx", FormatOptions())
    new = again.units[index]
    assert new.text == text
    assert [(i.tag, new.text[i.start : i.end]) for i in new.inlines] == [("w:r", "long talks"), ("w:r", "Wednesday")]
    import docx

    paragraph = next(p for p in docx.Document(io.BytesIO(out)).paragraphs if p.text.startswith("After long"))
    assert [(r.text, r.bold, r.italic) for r in paragraph.runs if r.bold or r.italic] == [
        ("long talks", None, True),
        ("Wednesday", True, None),
    ]
    assert "".join(r.text for r in paragraph.runs) == text
    # the tab and the break are still a w:tab and a w:br
    assert structure(out)["tabs_breaks"] == structure(rich)["tabs_breaks"]


def test_docx_output_opens_in_python_docx(rich: bytes) -> None:
    import docx

    doc = docx_format.parse(rich, "rich.docx", FormatOptions())
    out = doc.render([same_places(u, swap(u.text)) for u in doc.units])
    opened = docx.Document(io.BytesIO(out))
    assert opened.paragraphs[0].text == "hET KABINET VALT"
    assert opened.tables[0].cell(1, 2).tables[0].cell(1, 1).text == "bINNEN RECHTS"
    assert [c.text for c in opened.comments] == ["dIT MOET NOG WORDEN NAGEKEKEN."]


# --- hostile documents ----------------------------------------------------------------------


def good() -> bytes:
    return DOCS[0].read_bytes()


def with_document_xml(xml: bytes) -> bytes:
    parts = members(good())
    parts["word/document.xml"] = xml
    return zipped(parts)


def bomb(size: int) -> bytes:
    parts = members(good())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, blob in parts.items():
            if name != "word/document.xml":
                z.writestr(name, blob)
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                f.write(chunk)
    return out.getvalue()


XXE = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><w:document xmlns:w="'
    + W.encode()
    + b'">&e;</w:document>'
)
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
    + b"]><lolz>&lol9;</lolz>"
)


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: good()[: len(good()) // 2], DocumentFormatError),
        (lambda: good()[:-30], DocumentFormatError),
        (lambda: b"PK\x03\x04" + b"\x00" * 200, DocumentFormatError),
        (lambda: b"not a zip at all", DocumentFormatError),
        (lambda: corrupt(good()), DocumentFormatError),
        (lambda: zipped({"hello.txt": b"hello"}), DocumentFormatError),
        (lambda: with_document_xml(XXE), UnsafeDocumentError),
        (lambda: with_document_xml(LAUGHS), UnsafeDocumentError),
        (lambda: bomb(4 << 20), UnsafeDocumentError),  # 4 MB of zeros: a ratio of about 1000:1
    ],
    ids=["truncated-half", "truncated-end", "zip-header-only", "not-zip", "crc", "not-docx", "xxe", "laughs", "ratio"],
)
def test_docx_hostile_documents_are_refused_on_one_line(make: Any, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        docx_format.parse(make(), "hostile.docx", FormatOptions())
    assert type(caught.value) is error
    message = str(caught.value)
    assert "\n" not in message and message.startswith("hostile.docx")
    assert docx_format.parse(good(), "good.docx", FormatOptions()).units  # the good file beside it still parses


def corrupt(data: bytes) -> bytes:
    """Flip bytes inside the compressed document.xml: the CRC (or inflation) fails."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo("word/document.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    middle = start + info.compress_size // 2
    return data[:middle] + bytes(b ^ 0x55 for b in data[middle : middle + 16]) + data[middle + 16 :]


def test_docx_300_megabyte_zip_bomb_is_refused_before_inflating() -> None:
    data = bomb(300 << 20)  # 300 MB of zeros, about 300 KB compressed
    assert len(data) < 1 << 20
    with pytest.raises(UnsafeDocumentError, match=r"^bomb\.docx: .*unzip to"):
        docx_format.parse(data, "bomb.docx", FormatOptions())
