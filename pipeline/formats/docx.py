"""Word documents (DOCX), translated in place: every paragraph's text is replaced, nothing else.

The archive and every XML part are checked by :mod:`pipeline.formats.safety` before
python-docx opens the package; python-docx (the maintained reader of WordprocessingML) gives
the parts, their relationships (hyperlink targets, headers, footers), the styles and the core
properties, and the paragraphs are read and rewritten with lxml on its element trees.

Units, in this order: the body (tables and nested tables cell by cell, text boxes after the
paragraph that anchors them), then the headers and footers of each section (default, first
and even pages; a part shared by several sections once), then footnotes, endnotes and
comments. Every paragraph with text is a unit: ``heading`` for a style named Heading n, Title
or Subtitle (or based on one), ``list_item`` for a numbered or bulleted paragraph (``numPr``
on the paragraph or its style), ``cell`` inside a table, ``other`` for a comment,
``paragraph`` otherwise. Its text view is its runs' text, ``w:tab`` as ``\\t`` and line
breaks (``w:br``, ``w:cr``) as ``\\n``; field instructions and deleted text are not in it.

Inline elements: the paragraph's plain formatting is the run formatting (``w:rPr`` without
``w:lang``/``w:noProof``) that holds most of its text; consecutive runs formatted otherwise
(bold, italic, a character style, a colour) are one ``w:r`` inline; a ``w:hyperlink`` (with
its ``href`` or ``anchor``), a ``w:fldSimple``, a complex field (``w:fldChar``, its result
text), a content control (``w:sdt``), a smart tag and a tracked insertion are inlines around
their runs, which may hold inlines of their own.

Render: each block keeps its own elements. Text outside the inlines goes into the plain runs
that held it (the first plain run's formatting; a new copy of it where the translation has
text the source had not), each inline's span into its own runs or element; when a span has
the source's length it is cut where the source's runs were cut (so a case change keeps every
run), otherwise it goes into the block's first run. Inlines the translation reorders are
moved with their elements; bookmarks, comment ranges and other markers stay with the block
they followed. Paragraph and run properties, tables, numbering, sections, relationship
targets, bookmarks and field instructions are untouched.

Tracked changes: a ``w:ins`` (or ``w:moveTo``) is an inline, so its text is translated and
stays a tracked insertion by the same author at the same date; a ``w:del`` (or
``w:moveFrom``) is kept as it is, its deleted text in the source language, outside the text
view. Accepting or rejecting the changes in Word still works on the translation.

Language: every ``w:lang w:val`` of the source language (``nl``, ``nl-NL``, ``nl-BE``) in
the parts translated and in the styles becomes the target's tag: ``en-US`` for ``en``, or
the region the target names (``en-GB``); other languages are left as they are. The core
properties' language is set to the same tag when the document has core properties. Parts
that change are written again; every other member of the archive is copied byte for byte.
"""

from __future__ import annotations

import copy
import io
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import DocumentFormatError, Nl2enError
from pipeline.formats import safety
from pipeline.formats.base import MAX_NESTING, FormatOptions, Inline, TranslatedUnit, Unit, UnitKind

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


_TEXT_TAGS = {_w("t"), _w("tab"), _w("br"), _w("cr"), _w("noBreakHyphen")}
_IGNORED_FORMAT = {_w("lang"), _w("noProof"), _w("rPrChange")}
# Paragraph-level elements whose runs belong to the paragraph's text; each is an inline element.
_CONTAINERS = {
    _w("hyperlink"): "w:hyperlink",
    _w("ins"): "w:ins",
    _w("moveTo"): "w:moveTo",
    _w("fldSimple"): "w:fldSimple",
    _w("smartTag"): "w:smartTag",
    _w("customXml"): "w:customXml",
    _w("sdt"): "w:sdt",
    _w("dir"): "w:dir",
    _w("bdo"): "w:bdo",
}
_HEADING = re.compile(r"^(heading\s*\d|title|subtitle)$", re.IGNORECASE)


def _is_text_child(child: Any) -> bool:
    return child.tag in _TEXT_TAGS and not (
        child.tag == _w("br") and child.get(_w("type"), "textWrapping") != "textWrapping"
    )


def _run_text(run: Any) -> str:
    out = []
    for child in run:
        if not _is_text_child(child):
            continue
        tag = child.tag
        out.append(
            child.text or ""
            if tag == _w("t")
            else "\t"
            if tag == _w("tab")
            else "\u2011"
            if tag == _w("noBreakHyphen")
            else "\n"
        )
    return "".join(out)


def _is_text_run(el: Any) -> bool:
    if el.tag != _w("r"):
        return False
    if any(c.tag in (_w("fldChar"), _w("instrText")) for c in el):
        return False
    return any(_is_text_child(c) for c in el)


def _format_key(run: Any) -> str:
    from lxml import etree

    rpr = run.find(_w("rPr"))
    if rpr is None:
        return ""
    parts = []
    for child in rpr:
        if child.tag in _IGNORED_FORMAT or not isinstance(child.tag, str):
            continue
        attrs = ",".join(f"{etree.QName(k).localname}={v}" for k, v in sorted(child.attrib.items()))
        parts.append(f"{etree.QName(child).localname}({attrs})" if attrs else etree.QName(child).localname)
    return " ".join(parts)


def _set_run_text(run: Any, text: str) -> None:
    from lxml import etree

    children = list(run)
    text_idx = [i for i, c in enumerate(children) if _is_text_child(c)]
    at = text_idx[0] if text_idx else (1 if len(children) and children[0].tag == _w("rPr") else 0)
    for i in reversed(text_idx):
        run.remove(children[i])
    new = []
    for piece in re.split(r"([\t\n])", text):
        if piece == "\t":
            new.append(etree.Element(_w("tab")))
        elif piece == "\n":
            new.append(etree.Element(_w("br")))
        elif piece:
            t = etree.Element(_w("t"))
            t.text = piece
            if piece != piece.strip():
                t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            new.append(t)
    for offset, el in enumerate(new):
        run.insert(at + offset, el)


@dataclass
class _Block:
    """Runs of one formatting, one field or one inline element, with the markers that follow them."""

    kind: str  # gap | fmt | field | child
    start: int
    end: int = 0
    elements: list[Any] = field(default_factory=list)
    runs: list[Any] = field(default_factory=list)
    ref: int | None = None
    child: _Container | None = None


@dataclass
class _Container:
    element: Any
    start: int
    end: int = 0
    head: list[Any] = field(default_factory=list)
    blocks: list[_Block] = field(default_factory=list)


class _Builder:
    """Reads one paragraph into containers and blocks, collecting its text and inline elements."""

    def __init__(self, part: Any) -> None:
        self.part = part
        self.text: list[str] = []
        self.inlines: list[Inline | None] = []
        self.offset = 0

    def _emit(self, text: str) -> None:
        self.text.append(text)
        self.offset += len(text)

    def _attrs(self, el: Any, tag: str) -> dict[str, str]:
        if tag == "w:hyperlink":
            rid, anchor = el.get(R_ID), el.get(_w("anchor"))
            if rid and rid in self.part.rels:
                rel = self.part.rels[rid]
                return {"href": rel.target_ref if rel.is_external else str(rel.target_part.partname)}
            return {"anchor": anchor} if anchor else {}
        if tag == "w:fldSimple":
            return {"instr": (el.get(_w("instr")) or "").strip()}
        if tag in ("w:ins", "w:moveTo"):
            return {k: v for k, v in (("author", el.get(_w("author"))), ("date", el.get(_w("date")))) if v}
        return {}

    def _field_end(self, items: list[Any], i: int) -> int | None:
        depth = 0
        for j in range(i, len(items)):
            for fc in items[j].iter(_w("fldChar")):
                kind = fc.get(_w("fldCharType"))
                depth += 1 if kind == "begin" else -1 if kind == "end" else 0
                if depth == 0:
                    return j
        return None

    def container(self, element: Any, depth: int = 0) -> _Container:
        items = list(element)
        runs = [el for el in items if _is_text_run(el)]
        weight: dict[str, int] = {}
        for run in runs:
            weight[_format_key(run)] = weight.get(_format_key(run), 0) + len(_run_text(run))
        plain = max(weight, key=lambda k: weight[k]) if weight else ""  # ties: the first seen
        box = _Container(element, self.offset)
        current: _Block | None = None
        i = 0
        while i < len(items):
            el = items[i]
            end_i = i
            block: _Block | None = None
            if el.tag == _w("r") and any(fc.get(_w("fldCharType")) == "begin" for fc in el.iter(_w("fldChar"))):
                found = self._field_end(items, i)
                if found is not None:
                    end_i = found
                    block = self._field(items[i : found + 1])
            elif _is_text_run(el):
                key = _format_key(el)
                kind = "gap" if key == plain else "fmt"
                same = (
                    current is not None
                    and current.kind == kind
                    and current.runs
                    and (kind == "gap" or _format_key(current.runs[0]) == key)
                )
                if same and current is not None:
                    current.runs.append(el)
                    current.elements.append(el)
                    self._emit(_run_text(el))
                    current.end = self.offset
                    if current.ref is not None:
                        self._close(current)
                    i += 1
                    continue
                block = _Block(kind, self.offset, runs=[el])
                if kind == "fmt":
                    block.ref = self._open("w:r", {"format": key})
                self._emit(_run_text(el))
            elif el.tag in _CONTAINERS and depth < MAX_NESTING:
                inner = el.find(_w("sdtContent")) if el.tag == _w("sdt") else el
                if inner is not None and any(_is_text_run(r) for r in inner.iter(_w("r"))):
                    tag = _CONTAINERS[el.tag]
                    block = _Block("child", self.offset, ref=self._open(tag, self._attrs(el, tag)))
                    block.child = self.container(inner, depth + 1)
            if block is None:  # a marker: it stays with the block before it
                (current.elements if current is not None else box.head).append(el)
                i += 1
                continue
            block.elements.extend(items[i : end_i + 1])
            block.end = self.offset
            if block.ref is not None:
                self._close(block)
            box.blocks.append(block)
            current = block
            i = end_i + 1
        box.end = self.offset
        return box

    def _field(self, items: list[Any]) -> _Block | None:
        depth, result, instr = 0, list[Any](), list[str]()
        for el in items:
            for fc in el.iter(_w("fldChar")):
                kind = fc.get(_w("fldCharType"))
                depth += 1 if kind == "begin" else -1 if kind == "end" else 0
                if kind == "separate" and depth == 1:
                    depth = -100  # from here on, the result (nested fields stay instructions)
            instr.extend(t.text or "" for t in el.iter(_w("instrText")))
            if depth < 0 and _is_text_run(el):
                result.append(el)
        text = "".join(_run_text(r) for r in result)
        if not text:
            return None
        block = _Block(
            "field", self.offset, runs=result, ref=self._open("w:fldChar", {"instr": "".join(instr).strip()})
        )
        self._emit(text)
        return block

    def _open(self, tag: str, attrs: Mapping[str, str]) -> int:
        self.inlines.append(Inline(self.offset, self.offset, len(self.inlines), tag, dict(attrs)))
        return len(self.inlines) - 1

    def _close(self, block: _Block) -> None:
        assert block.ref is not None
        old = self.inlines[block.ref]
        assert old is not None
        self.inlines[block.ref] = Inline(block.start, block.end, old.ref, old.tag, old.attrs)


@dataclass
class _Paragraph:
    unit: Unit
    root: _Container
    member: str


def _distribute(runs: Sequence[Any], text: str) -> None:
    """Put ``text`` into ``runs``: cut where the source was cut when the length is the same."""
    lengths = [len(_run_text(r)) for r in runs]
    if len(text) == sum(lengths):
        pos = 0
        for run, n in zip(runs, lengths, strict=True):
            _set_run_text(run, text[pos : pos + n])
            pos += n
        return
    for i, run in enumerate(runs):
        _set_run_text(run, text if i == 0 else "")


def _template(box: _Container) -> Any:
    from lxml import etree

    for block in box.blocks:
        if block.kind == "gap":
            return block.runs[0]
    return etree.Element(_w("r"))


def _apply(box: _Container, text: str, lo: int, hi: int, spans: Mapping[int, tuple[int, int]]) -> None:
    """Rewrite ``box`` so that it holds ``text[lo:hi]``, its inline elements at ``spans``."""
    size = max(box.end - box.start, 1)
    placed = []
    for block in box.blocks:
        if block.ref is None:
            continue
        default = (
            lo + (block.start - box.start) * (hi - lo) // size,
            lo + (block.end - box.start) * (hi - lo) // size,
        )
        s, e = spans.get(block.ref, default)
        s, e = min(max(s, lo), hi), min(max(e, lo), hi)
        placed.append((s, max(e, s), block))
    placed.sort(key=lambda x: (x[0], x[1]))
    fixed: list[tuple[int, int, _Block]] = []
    prev = lo
    for s, e, block in placed:
        s = max(s, prev)
        e = max(e, s)
        fixed.append((s, e, block))
        prev = e
    slots: dict[int, _Block] = {}
    seen = 0
    for block in box.blocks:
        if block.ref is None:
            slots[seen] = block
        else:
            seen += 1
    order: list[Any] = list(box.head)
    cuts = [lo] + [x for s, e, _ in fixed for x in (s, e)] + [hi]
    for j in range(len(fixed) + 1):
        gap_text = text[cuts[2 * j] : cuts[2 * j + 1]]
        gap = slots.get(j)
        if gap is not None:
            _distribute(gap.runs, gap_text)
            order.extend(gap.elements)
        elif gap_text:
            run = copy.deepcopy(_template(box))
            _set_run_text(run, gap_text)
            order.append(run)
        if j < len(fixed):
            s, e, block = fixed[j]
            if block.child is not None:
                _apply(block.child, text, s, e, spans)
            else:
                _distribute(block.runs, text[s:e])
            order.extend(block.elements)
    element = box.element
    for child in list(element):
        element.remove(child)
    element.extend(order)


def _english_tag(target: str) -> str:
    parts = re.split(r"[-_]", target)
    return f"en-{parts[1].upper()}" if len(parts) > 1 and parts[1] else "en-US"


def _relabel_language(root: Any, tag: str) -> bool:
    changed = False
    for lang in root.iter(_w("lang")):
        val = lang.get(_w("val"))
        if val and re.match(r"^nl(?:[-_]|$)", val, re.IGNORECASE):
            lang.set(_w("val"), tag)
            changed = True
    return changed


def _style_table(document: Any) -> dict[str, tuple[str, str | None, bool]]:
    """Style id -> (name, based-on id, has numbering)."""
    table: dict[str, tuple[str, str | None, bool]] = {}
    for style in document.styles.element.iter(_w("style")):
        sid = style.get(_w("styleId"))
        name = style.find(_w("name"))
        based = style.find(_w("basedOn"))
        numbered = style.find(f"{_w('pPr')}/{_w('numPr')}") is not None
        if sid:
            table[sid] = (
                name.get(_w("val"), "") if name is not None else "",
                based.get(_w("val")) if based is not None else None,
                numbered,
            )
    return table


def _kind(p: Any, styles: Mapping[str, tuple[str, str | None, bool]], default: UnitKind) -> UnitKind:
    ppr = p.find(_w("pPr"))
    style = None
    if ppr is not None and ppr.find(_w("pStyle")) is not None:
        style = ppr.find(_w("pStyle")).get(_w("val"))
    numbered = False
    if ppr is not None and (num := ppr.find(f"{_w('numPr')}/{_w('numId')}")) is not None:
        numbered = num.get(_w("val")) != "0"
    for _ in range(10):  # follow basedOn a few steps
        if style is None or style not in styles:
            break
        name, based, has_num = styles[style]
        if _HEADING.match(name) or _HEADING.match(style):
            return "heading"
        numbered = numbered or has_num
        style = based
    if numbered:
        return "list_item"
    if default == "paragraph" and any(a.tag == _w("tc") for a in p.iterancestors()):
        return "cell"
    return default


def _paragraphs(root: Any) -> Iterator[Any]:
    for p in root.iter(_w("p")):
        ancestors = list(p.iterancestors())
        if len(ancestors) <= MAX_NESTING and not any(a.tag == MC_FALLBACK for a in ancestors):
            yield p


class DocxDocument:
    """A parsed Word document; :meth:`render` writes the translation (see the module docstring)."""

    format = "docx"
    output_suffix = ".docx"

    def __init__(self, data: bytes, name: str, options: FormatOptions, members: dict[str, bytes]) -> None:
        self._data = data
        self._name = name
        self._options = options
        self._members = members
        opened = self._open()
        self._units = [p.unit for p in opened[1]]
        self._metadata = _metadata(opened[0])

    @property
    def units(self) -> Sequence[Unit]:
        return self._units

    @property
    def metadata(self) -> Mapping[str, Any]:
        return self._metadata

    def _open(self) -> tuple[Any, list[_Paragraph], list[tuple[str, Any, Any]]]:
        """Open a fresh copy: (document, paragraphs with text, [(member, part, root)] walked)."""
        import docx
        from docx.opc.constants import RELATIONSHIP_TYPE as RT
        from docx.opc.part import XmlPart

        try:
            document = docx.Document(io.BytesIO(self._data))
            styles = _style_table(document)
        except Nl2enError:
            raise
        except Exception as exc:  # python-docx raises many kinds for a package it cannot read
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise DocumentFormatError(f"{self._name}: not a Word document ({first})") from None
        main = document.part
        roots: list[tuple[str, Any, Any, UnitKind]] = [(main.partname.membername, main, main.element, "paragraph")]
        seen = {main.partname}
        for sect in main.element.body.iter(_w("sectPr")):
            for ref in sect:
                if ref.tag in (_w("headerReference"), _w("footerReference")) and ref.get(R_ID) in main.rels:
                    part = main.rels[ref.get(R_ID)].target_part
                    if part.partname not in seen:
                        seen.add(part.partname)
                        roots.append((part.partname.membername, part, part.element, "paragraph"))
        notes: tuple[tuple[str, UnitKind], ...] = (
            (RT.FOOTNOTES, "paragraph"),
            (RT.ENDNOTES, "paragraph"),
            (RT.COMMENTS, "other"),
        )
        for reltype, kind in notes:
            for rel in main.rels.values():
                if rel.reltype == reltype and not rel.is_external and rel.target_part.partname not in seen:
                    part = rel.target_part
                    seen.add(part.partname)
                    if isinstance(part, XmlPart):
                        root = part.element
                    else:
                        from lxml import etree

                        root = etree.fromstring(part.blob, safety.safe_xml_parser())
                    roots.append((part.partname.membername, part, root, kind))
        paragraphs = []
        for member, part, root, default in roots:
            for p in _paragraphs(root):
                builder = _Builder(part)
                box = builder.container(p)
                text = "".join(builder.text)
                if text.strip():
                    inlines = tuple(i for i in builder.inlines if i is not None)
                    paragraphs.append(_Paragraph(Unit(text, _kind(p, styles, default), inlines), box, member))
        return document, paragraphs, [(m, part, root) for m, part, root, _ in roots]

    def render(self, translated: Sequence[TranslatedUnit]) -> bytes:
        from docx.opc.constants import RELATIONSHIP_TYPE as RT
        from docx.opc.oxml import serialize_part_xml

        if len(translated) != len(self._units):
            raise ValueError(f"{self._name}: {len(translated)} translations for {len(self._units)} units")
        document, paragraphs, roots = self._open()
        for paragraph, unit in zip(paragraphs, translated, strict=True):
            spans = {p.ref: (p.start, p.end) for p in unit.inlines}
            _apply(paragraph.root, unit.text, 0, len(unit.text), spans)
        tag = _english_tag(self._options.target_language)
        touched = {p.member for p in paragraphs}
        changed: dict[str, bytes] = {}
        for member, _, root in roots:
            if _relabel_language(root, tag) or member in touched:
                changed[member] = serialize_part_xml(root)
        styles_part = document.part.part_related_by(RT.STYLES) if _has_rel(document.part, RT.STYLES) else None
        if styles_part is not None and _relabel_language(styles_part.element, tag):
            changed[styles_part.partname.membername] = serialize_part_xml(styles_part.element)
        package = document.part.package
        for rel in package.rels.values():
            if rel.reltype == RT.CORE_PROPERTIES and not rel.is_external:
                core = rel.target_part
                core.core_properties.language = tag
                changed[core.partname.membername] = serialize_part_xml(core.element)
        return _rezip(self._data, self._members, changed)


def _has_rel(part: Any, reltype: str) -> bool:
    return any(rel.reltype == reltype for rel in part.rels.values())


def _metadata(document: Any) -> dict[str, Any]:
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    if not _has_rel(document.part.package, RT.CORE_PROPERTIES):
        return {}
    props = document.core_properties
    found = {"title": props.title, "byline": props.author, "language": props.language}
    if props.created is not None:
        found["date"] = props.created.isoformat()
    return {k: v for k, v in found.items() if v}


def _rezip(data: bytes, members: Mapping[str, bytes], changed: Mapping[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.is_dir():
                continue
            copy_info = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            copy_info.compress_type = info.compress_type
            copy_info.external_attr = info.external_attr
            target.writestr(copy_info, changed.get(info.filename, members[info.filename]))
    return out.getvalue()


def _looks_like_xml(blob: bytes) -> bool:
    head = blob[:64].lstrip(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"<") or blob[:2] in (b"\xff\xfe", b"\xfe\xff")


def parse(data: bytes, name: str, options: FormatOptions) -> DocxDocument:
    """Read a Word document after the archive and XML checks (E105 broken, E106 unsafe)."""
    members = safety.read_zip(data, name)
    for member, blob in members.items():
        if _looks_like_xml(blob):
            safety.check_xml(blob, f"{name} ({member})")
    return DocxDocument(data, name, options, members)
