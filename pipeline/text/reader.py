"""Reading articles from disk or stdin into decoded text.

The decoded text is the reference for every offset the pipeline records: a BOM is
removed before offsets are counted, line endings are kept exactly as they are.
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import BinaryInputError, EmptyInputError, EncodingError, InputError, InputTooLargeError

DEFAULT_MAX_CHARS = 20_000_000

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class Article:
    """A decoded input document and where it came from.

    ``text`` is what every offset indexes: the decoded file for plain text, the document's
    text view for a structured format (``format`` names it, ``structured`` is the parsed
    document, a ``pipeline.formats.base.ParsedDocument``, which renders the translation).
    """

    name: str
    path: str
    text: str
    encoding: str
    sha256: str
    format: str = "text"
    structured: Any = None


def decode_bytes(data: bytes, name: str, encoding: str | None = None) -> tuple[str, str]:
    """Decode raw bytes; returns (text, encoding used).

    Without an explicit encoding, UTF-8 (with or without BOM) and UTF-16/32 with a BOM
    are accepted; anything else is refused with a hint to pass ``--encoding``.
    """
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except LookupError as exc:
            raise InputError(f"{name}: unknown encoding {encoding!r}") from exc
        except UnicodeDecodeError as exc:
            raise EncodingError(
                f"{name}: not valid {encoding} (invalid byte 0x{data[exc.start]:02x} at offset {exc.start})",
                hint="pass the file's real encoding, e.g. --encoding latin-1 or --encoding cp1252",
            ) from exc
        return text.removeprefix("\ufeff"), encoding
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), codec
            except UnicodeDecodeError as exc:
                raise EncodingError(f"{name}: invalid {codec} at byte {exc.start}") from exc
    if b"\x00" in data:
        raise BinaryInputError(f"{name}: binary data (NUL bytes), not a text article")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"{name}: not UTF-8 (invalid byte 0x{data[exc.start]:02x} at offset {exc.start})",
            hint="pass --encoding, e.g. --encoding latin-1 or --encoding cp1252",
        ) from exc


def article_from_bytes(
    data: bytes, name: str, path: str, encoding: str | None = None, max_chars: int = DEFAULT_MAX_CHARS
) -> Article:
    """Validate and decode one article held in memory."""
    text, used = decode_bytes(data, name, encoding)
    if not text.strip():
        raise EmptyInputError(f"{name}: empty or whitespace-only article")
    if "\x00" in text:
        raise BinaryInputError(f"{name}: binary data (NUL characters), not a text article")
    if len(text) > max_chars:
        raise InputTooLargeError(
            f"{name}: {len(text):,} characters is over the limit of {max_chars:,}",
            hint="raise it with --max-chars",
        )
    return Article(name=name, path=path, text=text, encoding=used, sha256=hashlib.sha256(data).hexdigest())


def read_article(path: Path, encoding: str | None = None, max_chars: int = DEFAULT_MAX_CHARS) -> Article:
    """Read one article from a file, with one-line errors for every kind of bad path."""
    name = str(path)
    if not path.exists():
        raise InputError(f"{name}: no such file")
    if path.is_dir():
        raise InputError(f"{name}: is a directory, not a text file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from exc
    return article_from_bytes(data, name, str(path), encoding, max_chars)
