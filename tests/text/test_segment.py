"""Segmentation: lossless offsets, Dutch-aware sentence boundaries, line structure."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.text.segment import Document, segment_document


def assert_lossless(doc: Document) -> None:
    text = doc.text
    covered = [0] * len(text)
    for seg in doc.segments:
        assert text[seg.start : seg.end] == seg.source
        assert seg.source and seg.source == seg.source.strip()
        for i in range(seg.start, seg.end):
            covered[i] += 1
    for i, ch in enumerate(text):
        if not ch.isspace():
            assert covered[i] == 1, f"character {ch!r} at {i} covered {covered[i]} times"
    starts = [s.start for s in doc.segments]
    assert starts == sorted(starts)
    # rendering with no targets gives the input back, byte for byte
    assert doc.render({}) == text


def sources(text: str, kind: str | None = None) -> list[str]:
    return [s.source for s in segment_document(text).segments if kind is None or s.kind == kind]


def test_segment_seed_is_lossless_with_metadata_and_headings(seed_text: str) -> None:
    doc = segment_document(seed_text)
    assert_lossless(doc)
    assert doc.segments[0].kind == "metadata" and doc.segments[0].source == "date 2019-12"
    assert doc.segments[1].source.startswith("Rusland en Wit-Rusland voeren")
    assert [s.source for s in doc.segments if s.kind == "heading"] == ["Ultimatum", "Achtertuin"]
    assert len(doc.blocks) == len(seed_text.splitlines())


def test_segment_seed_keeps_quotes_whole(seed_text: str) -> None:
    got = sources(seed_text, "sentence")
    assert "„Dat zal nooit gebeuren zolang ik de leiding heb”, bezweert Loekasjenko." in got
    assert "„Zonder gelijke voorwaarden, geen unie”, zei Loekasjenko in Sotsji tegenover Poetin." in got


def test_segment_abbreviations_do_not_split() -> None:
    text = (
        "Hij zei o.a. dat het kon. Mr. Jansen en dr. De Vries, d.w.z. de heren, kwamen. "
        "Het kost € 1.200,50 of ca. 10% meer. Vanaf 1 jan. 2020 geldt het, bijv. voor de klant. Prof. Smit sprak."
    )
    assert sources(text) == [
        "Hij zei o.a. dat het kon.",
        "Mr. Jansen en dr. De Vries, d.w.z. de heren, kwamen.",
        "Het kost € 1.200,50 of ca. 10% meer.",
        "Vanaf 1 jan. 2020 geldt het, bijv. voor de klant.",
        "Prof. Smit sprak.",
    ]


def test_segment_urls_and_emails_do_not_split() -> None:
    text = "Lees https://www.nrc.nl/nieuws/2019/12/07/a-b.html?x=1.2 eerst. Mail naar jan.de.vries@example.nl vandaag."
    got = sources(text)
    assert got == [
        "Lees https://www.nrc.nl/nieuws/2019/12/07/a-b.html?x=1.2 eerst.",
        "Mail naar jan.de.vries@example.nl vandaag.",
    ]


def test_segment_line_structure_crlf_tabs_bullets() -> None:
    text = (
        "Kop\r\n\r\n- Eerste punt. Tweede zin.\r\n* Ander punt\r\n\tIngesprongen regel. En nog een.\rOude Mac-regel.\n"
    )
    doc = segment_document(text)
    assert_lossless(doc)
    kinds = [(s.kind, s.source) for s in doc.segments]
    assert ("heading", "Kop") in kinds
    assert ("marker", "-") in kinds and ("marker", "*") in kinds
    assert ("sentence", "Ingesprongen regel.") in kinds
    assert [b.kind for b in doc.blocks][:4] == ["heading", "blank", "list_item", "list_item"]
    assert doc.render({s.index: s.source.upper() for s in doc.translatable}).count("\r\n") == text.count("\r\n")


def test_segment_long_sentence_without_full_stop_is_one_segment() -> None:
    text = " ".join(f"woord{i}" for i in range(2000))
    doc = segment_document(text)
    assert_lossless(doc)
    assert len(doc.segments) == 1 and doc.segments[0].end == len(text)


def test_segment_blank_and_metadata_only() -> None:
    doc = segment_document("\n\n  \n")
    assert doc.segments == [] and {b.kind for b in doc.blocks} == {"blank"}
    doc = segment_document("date 2020-01-02\n\nTekst hier.")
    assert [s.kind for s in doc.segments] == ["metadata", "sentence"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400))
def test_segment_property_lossless_on_arbitrary_text(text: str) -> None:
    assert_lossless(segment_document(text))


_DUTCHISH = st.lists(
    st.sampled_from(
        ["Het", "is", "o.a.", "d.w.z.", "„Ja”,", "zei", "hij.", "Mr.", "€", "1.200,50", "10%", "\n", "\r\n", "\t",
         "- ", "?", "!", "...", "https://x.nl/a.b", "e@x.nl.", "Ultimatum", "  ", "date 2019-12", ":", ";",
         ",,", "''", ",,Ja'',", ",,,", "'''", "'t", "'s", "3e.", "top.", "Ze", "mw.", " ,, ", " '' ", "(", ")"]
    ),
    max_size=80,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(_DUTCHISH.map("".join))
def test_segment_property_lossless_on_dutchish_text(text: str) -> None:
    assert_lossless(segment_document(text))


# Newspaper quoting as printed: ,, opens and '' closes, with or without a space.
_QUOTES = [
    (
        "Hij wist het. ,, Het paard gaf alles. Dan krijgt hij een fout. '' Daarna ging hij.",
        ["Hij wist het.", ",, Het paard gaf alles.", "Dan krijgt hij een fout. ''", "Daarna ging hij."],
    ),
    (
        "Ze is begonnen. ,,Ik ben blij.'' Zaterdag speelt ze.",
        ["Ze is begonnen.", ",,Ik ben blij.''", "Zaterdag speelt ze."],
    ),
    (
        "Hij was tevreden:,, Voor mij is het goed. Het was mooi. '' Toen ging hij.",
        ["Hij was tevreden:,, Voor mij is het goed.", "Het was mooi. ''", "Toen ging hij."],
    ),
    (
        ",,We gaan winnen'', zei hij. Het werd gelijk.",
        [",,We gaan winnen'', zei hij.", "Het werd gelijk."],
    ),
    (
        ",,Wanneer gaat u?'' riep een priester. Niemand antwoordde.",
        [",,Wanneer gaat u?'' riep een priester.", "Niemand antwoordde."],
    ),
    (
        ",,Omdat'', zei Jansen. ,, wij altijd scherp waren.'' Daarna won Ajax.",
        [",,Omdat'', zei Jansen. ,, wij altijd scherp waren.''", "Daarna won Ajax."],
    ),
    ("Hij riep: ,,Kom hier!'', en ze kwam.", ["Hij riep: ,,Kom hier!'', en ze kwam."]),
    (
        "Het was goed'', hield hij vol. ,,Misschien zijn zij sterker.''",
        ["Het was goed'', hield hij vol.", ",,Misschien zijn zij sterker.''"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), _QUOTES)
def test_segment_ascii_newspaper_quotes(text: str, expected: list[str]) -> None:
    doc = segment_document(text)
    assert_lossless(doc)
    assert [s.source for s in doc.segments] == expected


@pytest.mark.parametrize(("text", "expected"), _QUOTES)
def test_segment_ascii_quotes_split_like_typographic_quotes(text: str, expected: list[str]) -> None:
    typographic = text.replace(",,", "„").replace("''", "”")
    assert sources(typographic) == [s.replace(",,", "„").replace("''", "”") for s in expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # titles, forms of address and ranks are followed by a name
        ("Volgens mw. Jansen is het klaar. Dat is zo.", ["Volgens mw. Jansen is het klaar.", "Dat is zo."]),
        ("Hij zag gen. Van Uhm in Den Haag. Die was blij.", ["Hij zag gen. Van Uhm in Den Haag.", "Die was blij."]),
        ("Ajax vs. PSV eindigde gelijk. Dat was jammer.", ["Ajax vs. PSV eindigde gelijk.", "Dat was jammer."]),
        # initials
        (
            "Hij sprak met J.P. Balkenende en W. Kok. Daarna ging hij.",
            ["Hij sprak met J.P. Balkenende en W. Kok.", "Daarna ging hij."],
        ),
        # ordinary words that sentencex's list takes for abbreviations end sentences
        (
            "Het was de top. Ze wezen op de aanpak. Het zat vol. Dat wist hij al. Hij deed zijn best. Klaar.",
            [
                "Het was de top.",
                "Ze wezen op de aanpak.",
                "Het zat vol.",
                "Dat wist hij al.",
                "Hij deed zijn best.",
                "Klaar.",
            ],
        ),
        # ordinals end sentences
        (
            "Hij kwam als 3e. Zijn broer werd 21ste. Dat was mooi.",
            ["Hij kwam als 3e.", "Zijn broer werd 21ste.", "Dat was mooi."],
        ),
        # a sentence may open with an elided article
        ("Het was zo. 't Is niet anders.", ["Het was zo.", "'t Is niet anders."]),
        # abbreviations before a lowercase word or a number do not end the sentence
        ("Hij noemde o.a. de prijs. Het kost ca. 10 euro.", ["Hij noemde o.a. de prijs.", "Het kost ca. 10 euro."]),
    ],
)
def test_segment_abbreviation_classes(text: str, expected: list[str]) -> None:
    doc = segment_document(text)
    assert_lossless(doc)
    assert [s.source for s in doc.segments] == expected
