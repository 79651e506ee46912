"""Reading articles: accepted encodings and one-line errors for everything else."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from pipeline.errors import BinaryInputError, EmptyInputError, EncodingError, InputError, InputTooLargeError
from pipeline.text.reader import read_article

TEXT = "Loekasjenko zei: „Het is ons land.” Één café, ruïne.\r\nTweede regel."


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
    ],
)
def test_reader_accepts_utf8_and_bom_encodings(tmp_path: Path, data: bytes, encoding: str) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(data)
    article = read_article(path)
    assert article.text == TEXT and article.encoding == encoding


def test_reader_latin1_needs_encoding_flag(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("Één café".encode("latin-1"))
    with pytest.raises(EncodingError, match="--encoding"):
        read_article(path)
    assert read_article(path, encoding="latin-1").text == "Één café"


@pytest.mark.parametrize(
    ("data", "error"),
    [(b"", EmptyInputError), (b" \n\t\r\n", EmptyInputError), (b"abc\x00\x01\x02", BinaryInputError)],
)
def test_reader_rejects_empty_and_binary(tmp_path: Path, data: bytes, error: type[Exception]) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(error, match=r"bad\.txt"):
        read_article(path)


def test_reader_rejects_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_article(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="directory"):
        read_article(tmp_path)


def test_reader_max_chars_guard(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("a" * 101)
    with pytest.raises(InputTooLargeError, match="--max-chars"):
        read_article(path, max_chars=100)
