"""Which format a document is in, and the parser for it.

``--format auto`` (the default) goes by the file's extension, then by its first bytes (a PDF
or DOCX signature, a WebVTT header, an SRT cue, HTML markup), so a downloaded page saved
without an extension is still read as a page. Each format's module is imported only when a
document of that format is read, so plain-text runs never load lxml, python-docx or pypdf.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from pipeline.errors import OptionsError
from pipeline.formats.base import FORMAT_NAMES, FormatOptions, ParsedDocument

SUFFIXES: dict[str, str] = {
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".docx": "docx",
    ".srt": "srt",
    ".vtt": "vtt",
    ".pdf": "pdf",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
STRUCTURED: frozenset[str] = frozenset({"html", "markdown", "docx", "srt", "vtt", "pdf"})

_SRT_CUE = re.compile(rb"\A\s*\d+\s*\r?\n\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->")
_HTML_START = re.compile(
    rb"\A\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)
_HTML_TAGS = re.compile(rb"<(?:p|div|span|a|h[1-6]|ul|ol|li|table|em|strong|br|img)\b[^>]*>", re.I)


def check_format(name: str) -> str:
    """``name`` as a ``--format`` value, or a one-line error listing the choices."""
    if name not in FORMAT_NAMES:
        raise OptionsError(f"--format {name!r} is not one of: {', '.join(FORMAT_NAMES)}")
    return name


def sniff(data: bytes) -> str:
    """The format the first bytes show, ``text`` when nothing else fits."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf")
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04") and b"word/" in data[:65536]:
        return "docx"
    if head.startswith(b"WEBVTT"):
        return "vtt"
    if _SRT_CUE.match(head):
        return "srt"
    if _HTML_START.match(head) or len(_HTML_TAGS.findall(head)) >= 3:
        return "html"
    return "text"


def detect_format(path: Path, data: bytes, requested: str = "auto") -> str:
    """The format to read ``data`` (from ``path``) in: ``requested``, else the extension, else the content."""
    if requested != "auto":
        return check_format(requested)
    by_suffix = SUFFIXES.get(path.suffix.lower())
    if by_suffix is not None and by_suffix != "text":
        return by_suffix
    return sniff(data)


def parse_document(data: bytes, name: str, fmt: str, options: FormatOptions | None = None) -> ParsedDocument:
    """Parse a structured document with its format's module (``fmt`` in :data:`STRUCTURED`)."""
    options = options or FormatOptions()
    if fmt == "html":
        module = "html"
        if options.html == "article" or (
            options.html == "auto" and importlib.import_module("pipeline.formats.html").looks_like_full_page(data)
        ):
            module = "article"
        parsed: ParsedDocument = importlib.import_module(f"pipeline.formats.{module}").parse(data, name, options)
        return parsed
    if fmt in ("srt", "vtt"):
        parsed = importlib.import_module("pipeline.formats.subtitles").parse(data, name, options, fmt)
        return parsed
    if fmt not in STRUCTURED:
        raise OptionsError(f"{name}: {fmt!r} is not a structured document format")
    parsed = importlib.import_module(f"pipeline.formats.{fmt}").parse(data, name, options)
    return parsed
