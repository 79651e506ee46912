"""PDF input: the text layer, page by page, rebuilt into paragraphs; the translation is Markdown.

Library: ``pypdf`` (7.1), pure Python and well kept, reads the text layer (no OCR: a scanned
PDF is refused with :class:`NoTextLayerError`). Its plain extraction (``extract_text()``)
follows the content stream, which keeps a column's lines together; ``extraction_mode="layout"``
marks vertical gaps with blank lines but pads justified lines with runs of spaces and sets
columns side by side, line by line. So the plain text is used, and its ``visitor_text``
callback gives each line's position, size and font, from which paragraphs are rebuilt.

Paragraphs. A page's extracted text is cut into lines at ``\\n``. A new paragraph starts at a
blank line, where the next line is further below than 1.3 times the page's usual line spacing
(the median gap between lines at most 1.6 font sizes apart), above the previous one (a new
column), in a font size that differs by more than 15 %, or indented by more than half an em
after a line that ends a sentence. A paragraph in a font 15 % larger than the document's body
text, or wholly bold when the body is not, of at most 200 characters, is a ``heading``.

Whitespace: each line is stripped and its whitespace runs become one space; the lines of a
paragraph are joined by one space, except after a line ending in a letter and ``-``: before a
lowercase letter the hyphen is dropped (``woord-``/``en`` → ``woorden``), otherwise the lines
are joined without a space (``Noord-``/``Holland`` → ``Noord-Holland``); a soft hyphen at a
line's end is dropped. Every other non-whitespace character of the extracted text is in a
unit, except a page's first or last paragraph when it is only a page number (``4``, ``- 4 -``,
``4 / 10``, ``iv``): that goes into the page's marker. Paragraphs do not cross pages.

Output: for each page ``<!-- page N -->`` (``<!-- page N, printed "4" -->`` with its printed
number), then its paragraphs separated by blank lines, headings as ``## `` lines; characters
Markdown would read as markup are escaped. pypdf's log messages are kept out of the terminal
and listed in ``metadata["pdf_warnings"]``.
"""

from __future__ import annotations

import io
import itertools
import logging
import re
import statistics
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import DocumentFormatError, InputTooLargeError, NoTextLayerError
from pipeline.formats.base import MAX_DOCUMENT_BYTES, FormatOptions, TranslatedUnit, Unit, UnitKind

PARAGRAPH_GAP = 1.3  # times the usual line spacing
SIZE_CHANGE = 0.15
HEADING_MAX_CHARS = 200
_PAGE_NUMBER = re.compile(
    r"^(?:[-–]\s*)?(?:\d{1,4}|[ivxlcdm]{1,7})(?:\s*[-–])?$|^\d{1,4}\s*/\s*\d{1,4}$", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"[.!?:;\"”’)]$")
_MARKDOWN_START = re.compile(r"^(\s*)([#>+=|]|[-*_](?=\s|$))")
_MARKDOWN_NUMBERED = re.compile(r"^(\s*\d+)([.)])(?=\s|$)")
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<])")


@dataclass(frozen=True)
class _Line:
    text: str
    x: float | None = None
    y: float | None = None
    size: float | None = None
    bold: bool = False


@dataclass
class _Page:
    paragraphs: list[tuple[UnitKind, str]] = field(default_factory=list)  # (kind, text)
    label: str | None = None


class _PypdfLog(logging.Handler):
    """Collects pypdf's log records for the thread that is reading a PDF; drops all others."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        found: list[str] | None = getattr(self.local, "found", None)
        if found is not None and len(found) < 50:
            found.append(record.getMessage().splitlines()[0][:200] if record.getMessage() else record.levelname)


_LOG = _PypdfLog()


@contextmanager
def _pypdf_messages() -> Iterator[list[str]]:
    """Route pypdf's logger into a list (never to the terminal) while a PDF is read."""
    logger = logging.getLogger("pypdf")
    if _LOG not in logger.handlers:
        logger.addHandler(_LOG)
        logger.propagate = False
    found: list[str] = []
    _LOG.local.found = found
    try:
        yield found
    finally:
        _LOG.local.found = None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:160]}" if text else type(exc).__name__


def _page_lines(page: Any) -> list[_Line]:
    """The page's extracted lines, each with the position, size and weight of its first text where known."""
    chunks: list[tuple[str, float, float, float, bool]] = []

    def visit(text: str, cm: Sequence[float], tm: Sequence[float], font: Any, size: float) -> None:
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        scale = (tm[2] ** 2 + tm[3] ** 2) ** 0.5 * (cm[2] ** 2 + cm[3] ** 2) ** 0.5
        base = str(font.get("/BaseFont", "")) if hasattr(font, "get") else ""
        chunks.append((text, x, y, size * scale, bool(re.search(r"bold|black|heavy", base, re.IGNORECASE))))

    text = page.extract_text(visitor_text=visit)
    raw = text.split("\n")
    if "".join(c[0] for c in chunks) != text:  # no geometry to trust: lines only
        return [_Line(line) for line in raw]
    geometry: dict[int, tuple[float, float, float, bool]] = {}
    line = 0
    for chunk, x, y, size, bold in chunks:
        for part_index, part in enumerate(chunk.split("\n")):
            if part_index:
                line += 1
            if part_index == 0 and part.strip() and line not in geometry:  # a chunk's position is its start's
                geometry[line] = (x, y, size, bold)
    return [_Line(t, *geometry[i]) if i in geometry else _Line(t) for i, t in enumerate(raw)]


def _line_spacing(lines: Sequence[_Line]) -> float | None:
    gaps = [
        a.y - b.y
        for a, b in itertools.pairwise(lines)
        if a.y is not None and b.y is not None and a.size and 0 < a.y - b.y <= 1.6 * a.size
    ]
    return statistics.median(gaps) if gaps else None


def _breaks(prev: _Line, line: _Line, spacing: float | None) -> bool:
    """Whether ``line`` starts a new paragraph after ``prev``."""
    if None in (prev.y, line.y, prev.size, line.size):
        return False
    assert prev.y is not None and line.y is not None and prev.size and line.size and prev.x is not None
    gap = prev.y - line.y
    if gap < -1 or gap > PARAGRAPH_GAP * (spacing or 1.25 * prev.size):
        return True
    if abs(line.size - prev.size) > SIZE_CHANGE * prev.size:
        return True
    indent = (line.x or 0) - prev.x
    return 0.5 * prev.size < indent < 6 * prev.size and bool(_SENTENCE_END.search(prev.text.strip()))


def join_lines(lines: Sequence[str]) -> tuple[str, str]:
    """A paragraph's text from its lines (see the module's docstring) and the hyphens dropped at line ends."""
    out = ""
    dropped = ""
    for raw in lines:
        line = " ".join(raw.split())
        if not line:
            continue
        if not out:
            out = line
        elif out.endswith("\u00ad"):
            out, dropped = out[:-1] + line, dropped + out[-1]
        elif out.endswith("-") and len(out) > 1 and out[-2].isalpha():
            if line[0].islower():
                out, dropped = out[:-1] + line, dropped + out[-1]
            else:
                out += line
        else:
            out += " " + line
    return out, dropped


def _paragraphs(lines: Sequence[_Line]) -> list[list[_Line]]:
    spacing = _line_spacing(lines)
    groups: list[list[_Line]] = []
    current: list[_Line] = []
    for line in lines:
        if not line.text.strip():
            if current:
                groups.append(current)
            current = []
            continue
        if current and _breaks(current[-1], line, spacing):
            groups.append(current)
            current = []
        current.append(line)
    if current:
        groups.append(current)
    return groups


@dataclass
class PdfDocument:
    """A PDF's text layer as paragraph units; :meth:`render` writes the translation as Markdown."""

    pages: list[_Page]
    info: dict[str, Any]
    format: str = "pdf"
    units: list[Unit] = field(init=False)

    def __post_init__(self) -> None:
        self.units = [Unit(text, kind) for page in self.pages for kind, text in page.paragraphs]

    @property
    def output_suffix(self) -> str:
        return ".md"

    @property
    def metadata(self) -> Mapping[str, Any]:
        return dict(self.info)

    def render(self, translated: Sequence[TranslatedUnit]) -> bytes:
        """Markdown: a marker per page, then the page's translated paragraphs separated by blank lines."""
        if len(translated) != len(self.units):
            raise ValueError(f"{len(translated)} translations for {len(self.units)} units")
        blocks: list[str] = []
        done = iter(translated)
        for number, page in enumerate(self.pages, start=1):
            label = f', printed "{page.label}"' if page.label is not None else ""
            blocks.append(f"<!-- page {number}{label} -->")
            for kind, _ in page.paragraphs:
                text = markdown_escape(" ".join(next(done).text.split()))
                blocks.append(f"## {text}" if kind == "heading" else text)
        return ("\n\n".join(blocks) + "\n").encode("utf-8")


def markdown_escape(text: str) -> str:
    """``text`` as one Markdown paragraph that reads as itself: markup characters and block starts escaped."""
    text = _MARKDOWN_INLINE.sub(r"\\\1", text)
    text = _MARKDOWN_NUMBERED.sub(lambda m: m.group(1) + "\\" + m.group(2), text, count=1)
    return _MARKDOWN_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text, count=1)


def _open(data: bytes, name: str, found: list[str]) -> Any:
    from pypdf import PasswordType, PdfReader

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except Exception as exc:  # pypdf raises many kinds on a damaged file
        if "crypt" in str(exc).lower():
            raise NoTextLayerError(f"{name}: encrypted PDF that cannot be opened ({_one_line(exc)})") from exc
        raise DocumentFormatError(f"{name}: not a readable PDF ({_one_line(exc)})") from exc
    if encrypted:
        try:
            opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
        except Exception as exc:
            found.append(_one_line(exc))
            opened = False
        if not opened:
            raise NoTextLayerError(
                f"{name}: encrypted PDF: its text cannot be read without the password",
                hint="decrypt it first, e.g. qpdf --decrypt --password=... in.pdf out.pdf",
            )
    return reader


def parse(data: bytes, name: str, options: FormatOptions) -> PdfDocument:
    """Read a PDF's text layer into paragraph and heading units (see the module's docstring)."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InputTooLargeError(f"{name}: {len(data)} bytes, more than {MAX_DOCUMENT_BYTES} for a document")
    if not data.strip():
        raise DocumentFormatError(f"{name}: empty file, not a PDF")
    with _pypdf_messages() as found:
        reader = _open(data, name, found)
        try:
            pages = list(reader.pages)
        except Exception as exc:
            raise DocumentFormatError(f"{name}: the PDF's pages cannot be read ({_one_line(exc)})") from exc
        lines: list[list[_Line]] = []
        for number, page in enumerate(pages, start=1):
            try:
                lines.append(_page_lines(page))
            except Exception as exc:
                raise NoTextLayerError(f"{name}: page {number}: text extraction failed ({_one_line(exc)})") from exc
        try:
            meta = reader.metadata
            title, author = (meta.title, meta.author) if meta is not None else (None, None)
        except Exception as exc:
            found.append(_one_line(exc))
            title = author = None
    if not any(line.text.strip() for page_lines in lines for line in page_lines):
        raise NoTextLayerError(
            f"{name}: no text layer on any of its {len(pages)} pages (a scanned PDF?)",
            hint="run OCR on it first, e.g. ocrmypdf",
        )
    all_lines = [line for page_lines in lines for line in page_lines]
    body_bold = sum(len(line.text) for line in all_lines if line.bold) > sum(len(line.text) for line in all_lines) / 2
    sized = [line.size for line in all_lines if line.size for _ in range(1 + len(line.text) // 20)]
    body = statistics.median_high(sized) if sized else None
    result: list[_Page] = []
    hyphens = ""
    for page_lines in lines:
        page = _Page()
        groups = _paragraphs(page_lines)
        for index, group in enumerate(groups):
            text, dropped = join_lines([line.text for line in group])
            hyphens += dropped
            if index in (0, len(groups) - 1) and len(groups) > 1 and page.label is None and _PAGE_NUMBER.match(text):
                page.label = text
                continue
            sizes = [line.size for line in group if line.size]
            larger = body is not None and bool(sizes) and min(sizes) >= (1 + SIZE_CHANGE) * body
            bold = not body_bold and all(line.bold for line in group) and not text.endswith(".")
            heading = (larger or bold) and len(text) <= HEADING_MAX_CHARS
            page.paragraphs.append(("heading" if heading else "paragraph", text))
        result.append(page)
    info: dict[str, Any] = {
        "format": "pdf",
        "page_count": len(pages),
        "paragraphs_per_page": [len(p.paragraphs) for p in result],
        "page_labels": [p.label for p in result],
        "hyphens_dropped": hyphens.count("-"),
        "soft_hyphens_dropped": hyphens.count("\u00ad"),
        "pdf_warnings": found,
    }
    if title:
        info["title"] = str(title)
    if author:
        info["author"] = str(author)
    return PdfDocument(result, info)
