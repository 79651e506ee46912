"""Web pages and HTML fragments translated in place: every byte that is not translated text stays as it was.

The standard library's :class:`html.parser.HTMLParser` tokenizes: it tolerates broken markup,
never recurses and resolves nothing (no DTD, no entity beyond HTML's own, no file, no network);
its ``updatepos`` hook gives each token's exact source range, so the page is rebuilt by splicing.
A stack-based tree builder applies the usual implied end tags (``<p>`` closes ``<p>``, ...).

**Units.** A run of text and inline elements between block boundaries (``p``, ``h1``, ``li``,
``td``, a ``div``'s own text, ``title`` ...) with a letter; entities decoded, whitespace collapsed.
Each element in it is an :class:`Inline` (``<br>`` covers a ``"\\n"``; ``img`` nothing; ``code``,
``kbd``, ``samp`` and ``translate="no"`` show their text but are written back as they were); an
inline element holding a block is a container. ``title``, ``alt``, ``aria-label``,
``placeholder`` and the ``<meta>`` description and social titles are ``attribute`` units;
``lang``/``xml:lang`` become the target language. **Kept as they are:** ``script``, ``style``,
``pre``, ``noscript``, ``template``, ``svg``, ``math``, ``textarea``, embedded objects,
``class="notranslate"``, comments, the doctype (an internal DTD subset included: entities are
never expanded, ``&name;`` stays text), other attributes, and elements nested deeper than
``MAX_NESTING`` (``metadata["nesting_limit"]``). Text a translation leaves unchanged keeps its
source bytes; the rest is escaped minimally (``& < >``; ``& "`` in attribute values).

**Encoding.** A byte-order mark, else ``<meta charset>`` or the XML declaration (``iso-8859-1``
and ``ascii`` read as ``windows-1252``, as browsers do), else UTF-8, ``windows-1252``, Latin-1.
The output keeps it (the declaration stays true); what it cannot hold becomes character references.
"""

from __future__ import annotations

import codecs
import contextlib
import gc
import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser, attrfind_tolerant  # type: ignore[attr-defined]
from typing import Any

from pipeline.errors import BinaryInputError, EmptyInputError, EncodingError, InputTooLargeError
from pipeline.formats import base
from pipeline.formats.base import FormatOptions, Inline, TranslatedUnit, Unit, UnitKind

TEXT, RAW, START, EMPTY, END, OTHER = range(6)  # token kinds; RAW: script/style text; EMPTY: <x/>
TRANSLATABLE_ATTRIBUTES = frozenset({"title", "alt", "aria-label", "placeholder"})
META_NAMES = frozenset({"description", "og:title", "og:description", "twitter:title", "twitter:description"})
VOID = frozenset({
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input", "keygen", "link",
    "meta", "param", "source", "track", "wbr",
})  # fmt: skip
OPAQUE = frozenset({  # content never translated nor shown; the element itself may sit inside a unit
    "script", "style", "noscript", "template", "svg", "math", "textarea", "iframe", "object", "video", "audio",
    "canvas", "noembed", "noframes", "pre", "listing", "xmp", "plaintext",
})  # fmt: skip
ATOMIC = frozenset({"code", "kbd", "samp"})  # text shown to the translator, markup written back as it was
_CLOSES_P = frozenset({
    "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir", "div", "dl", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "main",
    "menu", "nav", "ol", "p", "pre", "section", "summary", "table", "ul", "li", "dd", "dt", "listing", "xmp",
})  # fmt: skip
BLOCK = _CLOSES_P | {
    "html", "head", "body", "title", "frameset", "legend", "optgroup", "option", "caption", "colgroup", "thead",
    "tbody", "tfoot", "tr", "td", "th", "button", "label", "select", "datalist", "search", "plaintext",
}  # fmt: skip
_KIND_BY_TAG: dict[str, UnitKind] = {
    "title": "title", "summary": "heading", "li": "list_item", "dt": "list_item", "dd": "list_item",
    "td": "cell", "th": "cell", "blockquote": "quote", "figcaption": "caption", "caption": "caption",
    "legend": "caption", "button": "other", "label": "other", "option": "other", "optgroup": "other",
    **dict.fromkeys(("h1", "h2", "h3", "h4", "h5", "h6"), "heading"),
}  # fmt: skip
_SCOPE = ("td", "th", "caption", "table", "template", "object", "applet", "marquee", "button")
_IN_TABLE = ("table", "template")
_IMPLIED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # a start tag closes these, unless fenced off
    "li": (("li",), (*_SCOPE, "ul", "ol")), **dict.fromkeys(("dt", "dd"), (("dt", "dd"), (*_SCOPE, "dl"))),
    "td": (("td", "th"), _IN_TABLE), "th": (("td", "th"), _IN_TABLE), "tr": (("tr",), _IN_TABLE),
    **dict.fromkeys(("thead", "tbody", "tfoot"), (("thead", "tbody", "tfoot"), _IN_TABLE)), "a": (("a",), _SCOPE),
    "option": (("option",), ("select", "datalist")), "optgroup": (("option", "optgroup"), ("select",)),
}  # fmt: skip
_TABLE_PARTS = frozenset({"tr", "tbody", "thead", "tfoot", "td", "th", "caption", "table"})
_SHOWN_ATTRS = ("href", "src")
_KEEP_ATTRS = TRANSLATABLE_ATTRIBUTES | {
    "lang", "xml:lang", "translate", "class", "name", "property", "content", "http-equiv", "href", "src", "rel",
}  # fmt: skip
_TAG = re.compile(r"<[^>]*>")
_WS = re.compile(r"[ \t\n\r\f]+")
_EDGE_WS = " \t\n\r\f"
_LETTER = re.compile(r"[^\W\d_]")
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_:.\-]+)""")
_INTERNAL_SUBSET = re.compile(r"<!DOCTYPE[^>\[]*\[", re.I)
_PAGE = re.compile(rb"<(?:html|body)[\s>]", re.I)
_BOILERPLATE = re.compile(rb"<(?:nav|header|footer|aside|script|form)[\s>/]", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_AS_WINDOWS_1252 = frozenset({"latin-1", "iso8859-1", "ascii"})

Token = tuple[int, int, int, str | None, dict[str, str] | None]  # kind, start, end, tag, kept attributes


class _Tokenizer(HTMLParser):
    """HTMLParser reporting every token with its absolute source range (``updatepos`` follows each handler call)."""

    def __init__(self, base: int) -> None:
        super().__init__(convert_charrefs=True)
        self.base, self._fed = base, 0
        self.tokens: list[Token] = []
        self._pending: tuple[int, str | None, dict[str, str] | None] | None = None

    def run(self, text: str) -> list[Token]:
        self._fed = len(text)
        self.feed(text)
        self.close()
        if self.rawdata:  # an unterminated <script> or <style>: its text is left, kept as it is
            self.tokens.append((RAW, self.base + self._fed - len(self.rawdata), self.base + self._fed, None, None))
        return self.tokens

    def updatepos(self, i: int, j: int) -> int:
        if i < j:  # self.rawdata starts where the last feed/close left off
            kind, tag, attrs = self._pending or (OTHER, None, None)
            offset = self.base + self._fed - len(self.rawdata)
            self.tokens.append((kind, offset + i, offset + j, tag, attrs))
        self._pending = None
        return j  # line numbers are not needed: skip the base class's counting

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._pending = (START, tag, _kept(attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._pending = (EMPTY, tag, _kept(attrs))

    def handle_endtag(self, tag: str) -> None:
        self._pending = (END, tag, None)

    def handle_data(self, data: str) -> None:
        self._pending = (RAW if self.cdata_elem else TEXT, None, None)


def _kept(attrs: list[tuple[str, str | None]]) -> dict[str, str] | None:
    kept = {k: v or "" for k, v in reversed(attrs) if k in _KEEP_ATTRS}  # reversed: the first occurrence wins
    return kept or None


def tokenize(text: str) -> list[Token]:
    """Every token of ``text`` with its source range; a doctype with an internal DTD subset is one token."""
    subset = _INTERNAL_SUBSET.search(text, 0, 4096)
    close = text.find("]>", subset.end()) if subset else -1
    if subset is None or close < 0:
        return _Tokenizer(0).run(text)
    head, end = _Tokenizer(0).run(text[: subset.start()]), close + 2
    return [*head, (OTHER, subset.start(), end, None, None), *_Tokenizer(end).run(text[end:])]


class _Element:
    __slots__ = ("attrs", "block", "children", "close", "end", "hidden", "opaque", "parent", "start", "tag")

    def __init__(self, tag: str, start: int, end: int, attrs: dict[str, str] | None, parent: _Element | None) -> None:
        self.tag, self.start, self.end, self.attrs, self.parent = tag, start, end, attrs or {}, parent
        self.close = (end, end)  # the end tag's range; empty where the element is closed implicitly
        self.children: list[_Element | int] = []  # elements and token indices, in source order
        self.hidden: bool = parent is not None and (parent.hidden or parent.opaque > 0)  # inside kept content
        self.opaque: int = 0  # 1: content kept, its text shown to the translator (code, translate=no); 2: not shown
        self.block = tag in BLOCK


def build_tree(tokens: Sequence[Token], length: int) -> tuple[_Element, list[_Element], bool]:
    """The element tree (root, every element in source order, whether the nesting limit was hit); no recursion."""
    root = _Element("#root", 0, 0, None, None)
    stack, elements, deep = [root], [], False
    where: dict[str, list[int]] = {}  # tag -> stack indices of its open elements

    def nearest(tags: Sequence[str], boundary: Sequence[str]) -> int:  # hot: loops, no generators
        k = -1
        for t in tags:
            if where.get(t) and where[t][-1] > k:
                k = where[t][-1]
        for b in boundary if k > 0 else ():
            if where.get(b) and where[b][-1] > k and b not in tags:
                return -1
        return k

    def pop_to(k: int, start: int, end: int) -> None:
        while len(stack) > k:
            el = stack.pop()
            el.close = (start, end) if len(stack) == k else (start, start)
            where[el.tag].pop()

    for index, (kind, start, end, tag, attrs) in enumerate(tokens):
        if kind == END:
            assert tag is not None
            k = (
                len(stack) - 1
                if stack[-1].tag == tag
                else nearest((tag,), ("table", "template") if tag in _TABLE_PARTS else _SCOPE)
            )
            if k > 0 and tag not in VOID:
                pop_to(k, start, end)
            else:  # a stray end tag: kept where it is
                stack[-1].children.append(index)
            continue
        if kind not in (START, EMPTY):
            stack[-1].children.append(index)
            continue
        assert tag is not None
        for tags, boundary in _implied(tag):
            k = nearest(tags, boundary)
            if k > 0:
                pop_to(k, start, start)
        parent = stack[-1]
        el = _Element(tag, start, end, attrs, parent)
        no = el.attrs.get("translate", "").lower() == "no" or "notranslate" in el.attrs.get("class", "").split()
        el.opaque = 2 if tag in OPAQUE else 1 if tag in ATOMIC or no else 0
        if len(stack) > base.MAX_NESTING and not el.hidden:
            el.opaque, deep = 2, True
        parent.children.append(el)
        elements.append(el)
        if tag in VOID or (kind == EMPTY and (el.hidden or tag in ("svg", "math"))):
            continue
        where.setdefault(tag, []).append(len(stack))
        stack.append(el)
    pop_to(1, length, length)
    for el in reversed(elements):  # children before parents: an inline element holding a block is a container
        if el.block and el.parent is not None and not el.hidden:
            el.parent.block = True
    return root, elements, deep


def _implied(tag: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The open elements a start tag closes, each with the elements that fence them off."""
    rules: list[tuple[tuple[str, ...], tuple[str, ...]]] = [(("p",), _SCOPE)] if tag in _CLOSES_P else []
    return [*rules, _IMPLIED[tag]] if tag in _IMPLIED else rules


ELEMENT, BR, EMPTY_NODE, ATOM, FIX = range(5)  # what a node inside a unit is; FIX: a comment or stray end tag
OPEN, CLOSE = 0, 1
Range = tuple[int, int]  # also a mark: (node, OPEN or CLOSE)


@dataclass
class _Plan:
    """A text unit's source range and nodes (elements, comments): parent -1 is the unit; marks: start tag, end tag."""

    start: int
    end: int
    text: str = ""
    nodes: list[tuple[int, int, tuple[Range, Range]]] = field(default_factory=list)  # kind, parent, source marks
    spans: list[Range] = field(default_factory=list)
    original: tuple[list[Range], list[str], list[str | None]] | None = None  # see _original


@dataclass(frozen=True)
class _AttrPlan:
    start: int  # the value's source range, quotes excluded
    end: int
    quote: str  # '"', "'" or "" (an unquoted value is written back in double quotes)
    text: str


class _RunBuilder:
    """One unit's text view and nodes, from a run of a container's children."""

    def __init__(self, source: str, tokens: Sequence[Token], start: int, end: int) -> None:
        self.source, self.tokens = source, tokens
        self.parts: list[str] = []
        self.length, self.space, self.letters = 0, True, False
        self.plan = _Plan(start, end)
        self.inlines: list[tuple[int, str, dict[str, str]]] = []

    def add_text(self, raw: str, counts: bool = True) -> None:
        text = _WS.sub(" ", unescape(raw))
        if self.space and text.startswith(" "):
            text = text[1:]
        if text:
            self.parts.append(text)
            self.length += len(text)
            self.space = text.endswith((" ", "\n"))
            self.letters = self.letters or (counts and _LETTER.search(text) is not None)

    def node(self, kind: int, parent: int, marks: tuple[Range, Range], el: _Element | None = None) -> int:
        self.plan.nodes.append((kind, parent, marks))
        self.plan.spans.append((self.length, self.length))
        if el is not None:
            shown = {k: el.attrs[k] for k in _SHOWN_ATTRS if k in el.attrs}
            self.inlines.append((len(self.plan.nodes) - 1, el.tag, shown))
        return len(self.plan.nodes) - 1

    def build(self, items: Sequence[_Element | int]) -> tuple[_Plan, tuple[Inline, ...]] | None:
        plan = self.plan
        pending: list[tuple[_Element | int, int] | int] = [(item, -1) for item in reversed(items)]
        while pending:
            entry = pending.pop()
            if isinstance(entry, int):  # an element's end: its span is complete
                plan.spans[entry] = (plan.spans[entry][0], self.length)
                continue
            item, parent = entry
            if isinstance(item, int):
                kind, s, e = self.tokens[item][:3]
                if kind == TEXT:
                    self.add_text(self.source[max(s, plan.start) : min(e, plan.end)])
                else:
                    self.node(FIX, parent, ((s, e), (e, e)))
                continue
            kind = BR if item.tag == "br" else ATOM if item.opaque == 1 else ELEMENT
            kind = EMPTY_NODE if kind == ELEMENT and (item.opaque or item.tag in VOID) else kind
            whole = ((item.start, item.close[1]), (item.close[1], item.close[1]))
            node = self.node(kind, parent, ((item.start, item.end), item.close) if kind == ELEMENT else whole, item)
            pending.append(node)  # its end, once what it holds is in the text
            if kind == BR:
                self.parts.append("\n")
                self.length, self.space = self.length + 1, True
            elif kind == ATOM:
                self.add_text(_TAG.sub("", self.source[item.end : item.close[0]]), counts=False)
            elif kind == ELEMENT:
                pending.extend((child, node) for child in reversed(item.children))
        if not self.letters:
            return None
        plan.text = "".join(self.parts).rstrip(" ")
        n = len(plan.text)
        plan.spans = [(min(a, n), min(b, n)) for a, b in plan.spans]
        return plan, tuple(Inline(plan.spans[i][0], plan.spans[i][1], i, tag, attrs) for i, tag, attrs in self.inlines)


def _text_units(source: str, tokens: Sequence[Token], root: _Element) -> list[tuple[int, Unit, _Plan]]:
    """Every run of inline content with a letter, container by container (no recursion)."""

    def kept(item: _Element | int) -> bool:  # a run's edge that is not part of its unit
        if isinstance(item, int):
            kind, s, e = tokens[item][:3]
            return kind != TEXT or not source[s:e].strip(_EDGE_WS)
        return item.tag in VOID or item.opaque == 2

    found: list[tuple[int, Unit, _Plan]] = []
    work: list[tuple[_Element, UnitKind]] = [(root, "paragraph")]
    while work:
        container, context = work.pop()
        run: list[_Element | int] = []
        for child in [*container.children, None]:
            if child is not None and not (isinstance(child, _Element) and child.block):
                run.append(child)
                continue
            i, j = 0, len(run)
            while i < j and kept(run[i]):
                i += 1
            while j > i and kept(run[j - 1]):
                j -= 1
            if i < j:
                first, last = run[i], run[j - 1]
                s, e = tokens[first][1:3] if isinstance(first, int) else (0, 0)
                start = first.start if isinstance(first, _Element) else e - len(source[s:e].lstrip(_EDGE_WS))
                s, e = tokens[last][1:3] if isinstance(last, int) else (0, 0)
                end = last.close[1] if isinstance(last, _Element) else s + len(source[s:e].rstrip(_EDGE_WS))
                built = _RunBuilder(source, tokens, start, end).build(run[i:j])
                if built is not None:
                    found.append((start, Unit(built[0].text, context, built[1]), built[0]))
            run = []
            if child is not None and not child.opaque:
                quote = context == "quote" or child.tag == "q"
                work.append(
                    (
                        child,
                        _KIND_BY_TAG.get(child.tag)
                        or ("quote" if quote else "paragraph" if child.tag == "p" else context),
                    )
                )
    return found


def _attribute_ranges(source: str, el: _Element) -> dict[str, tuple[int, int, str]]:
    """Each attribute's value range (quotes excluded) and quote (the first of a name), as the tokenizer reads them."""
    found: dict[str, tuple[int, int, str]] = {}
    for m in attrfind_tolerant.finditer(source, el.start + 1 + len(el.tag), el.end):
        name, value = m.group(1).lower(), m.group(3)
        if m.group(2) and name not in found:
            quote = value[0] if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"" else ""
            found[name] = (m.start(3) + len(quote), m.end(3) - len(quote), quote)
    return found


def _attribute_units(source: str, elements: Sequence[_Element], language: str) -> tuple[list, list]:
    """The translatable attribute values as units, and the ``lang`` values to set, in source order."""
    units: list[tuple[int, Unit, _AttrPlan]] = []
    edits: list[tuple[int, int, str]] = []
    for el in elements:
        attrs = el.attrs
        if el.hidden or not attrs:
            continue
        names = [n for n in TRANSLATABLE_ATTRIBUTES if n in attrs and el.tag not in ("link", "style", "meta")]
        is_meta = el.tag == "meta"
        if is_meta and (attrs.get("name", attrs.get("property", "")).lower() in META_NAMES):
            names.append("content")
        langs: list[str] = [n for n in ("lang", "xml:lang") if n in attrs and not el.opaque]
        if is_meta and attrs.get("http-equiv", "").lower() == "content-language":
            langs.append("content")
        if not names and not langs:
            continue
        ranges = _attribute_ranges(source, el)
        for name in names:
            if name in ranges:
                s, e, quote = ranges[name]
                text = _WS.sub(" ", unescape(source[s:e])).strip()
                if _LETTER.search(text):
                    units.append((s, Unit(text, "attribute"), _AttrPlan(s, e, quote, text)))
        edits.extend((ranges[n][0], ranges[n][1], _quoted(language, ranges[n][2])) for n in langs if n in ranges)
    return units, edits


def _quoted(value: str, quote: str) -> str:
    value = value.replace("&", "&amp;").replace('"', "&quot;")
    return value.replace("'", "&#39;") if quote == "'" else (value if quote else f'"{value}"')


def _fit(plan: _Plan, text: str, placed: Mapping[int, Range]) -> tuple[list[list[int]], dict[int, Range]]:
    """Each node's children (``-1``: the unit's) in writing order, and spans inside the parent, never crossing."""
    n, spans = len(plan.nodes), dict(placed)
    kids: list[list[int]] = [[] for _ in range(n + 1)]
    for node, (_, parent, _) in enumerate(plan.nodes):
        kids[parent].append(node)
    spans[-1], source = (0, len(text)), [*plan.spans, (0, len(plan.text))]
    for parent in range(-1, n):
        if not kids[parent]:
            continue
        (ps, pe), (os_, oe) = spans[parent], source[parent]
        proposed = []
        for c in kids[parent]:
            if plan.nodes[c][0] == FIX or c not in placed:  # where it was, scaled into the parent's new span
                s, e = (ps + (x - os_) * (pe - ps) // (oe - os_) if oe > os_ else ps for x in plan.spans[c])
            else:
                s, e = placed[c]
            s = min(max(s, ps), pe)
            proposed.append((s, c, min(max(e, s), pe)))
        proposed.sort()
        previous = ps
        for s, c, e in proposed:
            s = max(s, previous)
            spans[c] = (s, max(e, s))
            previous = spans[c][1]
        kids[parent] = [c for _, c, _ in proposed]
    return kids, spans


def _emit(plan: _Plan, text: str, placed: Mapping[int, Range]) -> tuple[list[Range], list[str]]:
    """The unit as marks (element tags, comments) and the texts between them (one more text than marks)."""
    kids, spans = _fit(plan, text, placed)
    marks: list[Range] = []
    texts: list[str] = []
    current: list[str] = []

    def mark(node: int, which: int) -> None:
        texts.append("".join(current))
        current[:] = ()
        marks.append((node, which))

    stack = [[-1, 0, 0]]  # node, next child, position
    while stack:
        frame = stack[-1]
        node, index, position = frame
        children = kids[node]
        if index == len(children):
            current.append(text[position : spans[node][1] if node >= 0 else len(text)])
            if node >= 0:
                mark(node, CLOSE)
            stack.pop()
            continue
        child = children[index]
        s, e = spans[child]
        kind = plan.nodes[child][0]
        current.append(text[position:s])
        frame[1], frame[2] = index + 1, e
        mark(child, OPEN)
        if kind == ELEMENT:
            stack.append([child, 0, s])
        elif kind in (EMPTY_NODE, BR):
            current.append(text[s:e].replace("\n", "") if kind == BR else text[s:e])
    texts.append("".join(current))
    return marks, texts


@dataclass
class HtmlDocument:
    """A parsed page: its units, and the source they are spliced back into."""

    units: list[Unit]
    metadata: dict[str, Any]
    source: str
    encoding: tuple[str, bytes]  # the codec, the byte-order mark
    plans: list[_Plan | _AttrPlan]
    lang_edits: list[tuple[int, int, str]]
    format: str = "html"
    output_suffix: str = ".html"

    def render(self, translated: Sequence[TranslatedUnit]) -> bytes:
        edits = list(self.lang_edits)
        for plan, unit in zip(self.plans, translated, strict=True):
            if isinstance(plan, _AttrPlan) and unit.text != plan.text:
                edits.append((plan.start, plan.end, _quoted(unit.text, plan.quote)))
        edits.sort()
        starts = [s for s, _, _ in edits]

        def sliced(a: int, b: int) -> str:  # the source from a to b with the attribute edits in it
            out, i = [], bisect_right(starts, a - 1)
            while i < len(edits) and edits[i][0] < b:
                out += [self.source[a : edits[i][0]], edits[i][2]]
                a, i = edits[i][1], i + 1
            return "".join([*out, self.source[a:b]])

        pieces, position = [], 0
        for plan, unit in zip(self.plans, translated, strict=True):
            if isinstance(plan, _Plan):
                pieces += [sliced(position, plan.start), self._unit(plan, unit, sliced)]
                position = plan.end
        pieces.append(sliced(position, len(self.source)))
        return self.encoding[1] + "".join(pieces).encode(self.encoding[0], "xmlcharrefreplace")

    def _unit(self, plan: _Plan, unit: TranslatedUnit, sliced: Any) -> str:
        if plan.original is None:
            plan.original = _original(plan, self.source)
        old_marks, old_texts, raws = plan.original
        marks, texts = _emit(plan, unit.text, {p.ref: (p.start, p.end) for p in unit.inlines})
        out, same = [], marks == old_marks
        for k, text in enumerate(texts):
            raw = raws[k] if same and text == old_texts[k] else None
            out.append(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") if raw is None else raw)
            if k < len(marks):
                out.append(sliced(*plan.nodes[marks[k][0]][2][marks[k][1]]))
        return "".join(out)


def _original(plan: _Plan, source: str) -> tuple[list[Range], list[str], list[str | None]]:
    """The unit as written in the source: its marks, its texts and their source bytes (None: none to keep)."""
    marks, texts = _emit(plan, plan.text, dict(enumerate(plan.spans)))
    raws: list[str | None] = []
    position = plan.start
    for node, which in marks:
        s, e = plan.nodes[node][2][which]
        raws.append(source[position:s] if s >= position else None)
        position = max(position, e)
    return marks, texts, [*raws, source[position : plan.end]]


def decode_page(data: bytes, name: str) -> tuple[str, str, bytes]:
    """The page's text, the codec it is written back in, and its byte-order mark (see the module docstring)."""
    if len(data) > base.MAX_DOCUMENT_BYTES:
        limit = f"the {base.MAX_DOCUMENT_BYTES // 2**20} MiB limit for a web page"
        raise InputTooLargeError(f"{name}: {len(data) / 2**20:.0f} MiB, over {limit}", hint="save only the article")
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec), codec, bom
            except UnicodeDecodeError:
                raise EncodingError(f"{name}: not valid {codec} after its byte-order mark") from None
    if not data.strip():
        raise EmptyInputError(f"{name}: the page is empty")
    if b"\x00" in data[:8192]:
        raise BinaryInputError(f"{name}: NUL bytes, not a web page")
    candidates = ["utf-8", "cp1252", "latin-1"]
    if declared := _META_CHARSET.search(data, 0, 8192) or _XML_ENCODING.match(data):
        try:
            codec = codecs.lookup(declared.group(1).decode("ascii")).name
        except LookupError:
            codec = "utf-8"
        candidates.insert(
            0, "cp1252" if codec in _AS_WINDOWS_1252 else "utf-8" if codec.startswith(("utf-16", "utf-32")) else codec
        )
    for codec in candidates:
        with contextlib.suppress(UnicodeDecodeError):
            return data.decode(codec), codec, b""
    raise EncodingError(f"{name}: undecodable")  # unreachable: Latin-1 decodes any bytes


def parse(data: bytes, name: str, options: FormatOptions) -> HtmlDocument:
    """Read a page or fragment (see the module docstring); refuses one over ``MAX_DOCUMENT_BYTES``."""
    text, codec, bom = decode_page(data, name)
    collecting = gc.isenabled()
    gc.disable()  # millions of small objects and no garbage: collecting would only cost time
    try:
        tokens = tokenize(text)
        root, elements, deep = build_tree(tokens, len(text))
        attribute_units, lang_edits = _attribute_units(text, elements, options.target_language)
        found: list[tuple[int, Unit, _Plan | _AttrPlan]] = [*_text_units(text, tokens, root), *attribute_units]
    finally:
        if collecting:
            gc.enable()
    found.sort(key=lambda item: item[0])
    units = [unit for _, unit, _ in found]
    meta = {el.attrs.get("name", el.attrs.get("property", "")).lower(): el.attrs.get("content") for el in elements
            if el.tag == "meta"}  # fmt: skip
    links = {el.attrs.get("rel"): el.attrs.get("href") for el in elements if el.tag == "link"}
    metadata: dict[str, Any] = {
        "title": next((u.text for u in units if u.kind == "title"), None) or meta.get("og:title"),
        "description": meta.get("description") or meta.get("og:description"),
        "language": next((el.attrs.get("lang") for el in elements if el.tag == "html"), None),
        "url": links.get("canonical") or meta.get("og:url"),
        "encoding": codec,
        "extraction": "page",
        "nesting_limit": deep,
    }
    return HtmlDocument(units, metadata, text, (codec, bom), [plan for _, _, plan in found], lang_edits)


def looks_like_full_page(data: bytes) -> bool:
    """A whole page (``<html>``/``<body>``) with boilerplate around the text (nav, header, footer, script)."""
    return _PAGE.search(data) is not None and _BOILERPLATE.search(data) is not None
