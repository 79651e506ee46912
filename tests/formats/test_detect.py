"""Choosing a document's format: the requested one, else the extension, else the first bytes."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from pipeline.errors import OptionsError
from pipeline.formats.detect import detect_format, sniff
from tests.conftest import shared_path


def _docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n...", "pdf"),
        (b"WEBVTT\n\n00:00.000 --> 00:01.000\nHallo\n", "vtt"),
        (b"1\n00:00:01,000 --> 00:00:02,500\nHallo\n", "srt"),
        (b"\xef\xbb\xbf1\r\n00:00:01,000 --> 00:00:02,500\r\nHallo\r\n", "srt"),
        (b"<!DOCTYPE html><html><body><p>Hallo</p></body></html>", "html"),
        (b"<?xml version='1.0'?>\n<html xmlns='http://www.w3.org/1999/xhtml'><body/></html>", "html"),
        (b"<p>Een <a href='x'>link</a> en <em>nadruk</em>.</p>", "html"),
        (b"Het kabinet vergadert vandaag.\n\nDe minister is er niet.", "text"),
        (b"De waarde <3 is klein, en 5 > 4.", "text"),
        (b"# Kop\n\nEen *alinea* met [een link](https://example.nl).", "text"),
    ],
)
def test_detect_sniffs_the_first_bytes(data: bytes, expected: str) -> None:
    assert sniff(data) == expected


def test_detect_sniffs_a_docx_zip_but_not_any_zip() -> None:
    assert sniff(_docx_bytes()) == "docx"
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("data.csv", "a,b\n")
    assert sniff(other.getvalue()) == "text"


def test_detect_goes_by_the_extension_before_the_content() -> None:
    assert detect_format(Path("nieuws.md"), b"# Kop\n") == "markdown"
    assert detect_format(Path("pagina.HTM"), b"gewoon tekst") == "html"
    assert detect_format(Path("corpus.jsonl"), b'{"id": 1}') == "jsonl"
    # a page saved without an extension, or as .txt, is still a page
    assert detect_format(Path("download"), b"<!doctype html><html></html>") == "html"
    assert detect_format(Path("pagina.txt"), b"<html><body><p>x</p></body></html>") == "html"


def test_detect_honours_the_requested_format_and_refuses_an_unknown_one() -> None:
    assert detect_format(Path("a.html"), b"<p>x</p>", "text") == "text"
    with pytest.raises(OptionsError, match="--format 'rtf'"):
        detect_format(Path("a.rtf"), b"{\\rtf1}", "rtf")


def test_detect_finds_the_format_of_every_real_document() -> None:
    documents = shared_path("documents")
    expected = {"html": "html", "docx": "docx", "pdf": "pdf"}
    found = {}
    for folder, fmt in expected.items():
        for path in sorted((documents / folder).iterdir()):
            found[path.name] = (sniff(path.read_bytes()), fmt)
    for path in sorted((documents / "subtitles").iterdir()):
        found[path.name] = (sniff(path.read_bytes()), path.suffix[1:])
    assert {name: got for name, (got, _) in found.items()} == {name: want for name, (_, want) in found.items()}
