"""Markdown documents: the text of headings, paragraphs, list items, quotes and table cells is
replaced in the source itself, so every byte that is not text survives.

markdown-it-py (the CommonMark reference parser's port, with GFM tables and strikethrough)
reads the document. Its block tokens give each inline run's lines (``map``); its inline rules
are wrapped to record where in the run each link, image, code span, break and emphasis
delimiter starts and ends, so the original markup (link destinations and titles, reference
labels, code spans, inline HTML) is copied verbatim around the translated text.

Units: the inline contents of headings (``heading``), paragraphs (``paragraph``, or
``list_item``/``quote`` inside a list item or block quote) and table cells (``cell``). The
text view is the rendered text: escapes resolved, a soft line break as a space, a hard break
as ``\\n``. Inline elements: emphasis (``em``), strong (``strong``), strikethrough (``s``),
links (``a`` with ``href``), images (``img``: the alt text is the span, translated in its
sentence), inline HTML (``html``: a tag pair around its span, or a lone tag as an empty span)
and code spans and autolinks (``code`` and ``a``): these two are placeholders, their span's
text is what the translator sees and the source markup is written back verbatim, whatever
the translation put there.

Untouched: code blocks and fences, HTML blocks, front matter (YAML between ``---`` lines at
the top), link reference definitions, thematic breaks, list markers, quote markers and
indentation, table delimiter rows. A unit whose text and inline spans are unchanged is left
byte for byte. Otherwise its content is written again: text escaped where Markdown would read
it as markup, emphasis delimiters moved off spaces (and to word boundaries when the
translation puts them inside a word), shortcut reference links given their label
(``[new text][label]``), soft line breaks put back near the same relative places so the
paragraph keeps its lines, then checked by parsing it again; emphasis that would still not
parse is dropped, never the text. Line endings (LF or CRLF) are kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pipeline.errors import EncodingError
from pipeline.formats.base import FormatOptions, Inline, TranslatedUnit, Unit, UnitKind

_CALLS = "nl2en.tokenize_calls"
_SPAN = "nl2en.span"
_EMPHASIS = {"em": "em", "strong": "strong", "s": "s"}
_PUNCT = re.compile(r"[\W_]", re.UNICODE)
_ENTITY = re.compile(r"&(#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_LINE_START = re.compile(r"^([#>+=-]|\d{1,9}(?=[.)]))")
_SAFE_AFTER_BREAK = re.compile(r"^(?:[^\s#>+=*_`~<|\\&\-\d]|\d+(?![.)\d])|[*_]\S|\[|!\[|`(?!``))")
_HTML_OPEN = re.compile(r"^<([A-Za-z][A-Za-z0-9-]*)\b[^>]*?(?<!/)>$")
_HTML_CLOSE = re.compile(r"^</([A-Za-z][A-Za-z0-9-]*)\s*>$")


def _annotate(state: Any, name: str, new: list[Any], before: int, calls: list[tuple[int, int]]) -> None:
    after = state.pos
    if name in ("emphasis", "strikethrough"):
        pos = before
        for token in new:
            token.meta[_SPAN] = (pos, pos + len(token.content))
            pos += len(token.content)
        return
    for i, token in enumerate(new):
        if _SPAN in token.meta or token.type == "text" and token.markup != "autolink":
            continue
        if token.type == "link_open" and token.markup == "autolink":
            token.meta[_SPAN] = (before, before + 1)
        elif token.type == "link_close" and token.markup == "autolink":
            token.meta[_SPAN] = (after - 1, after)
        elif token.type == "link_open":
            token.meta[_SPAN] = (before, calls[0][0] if calls else before + 1)
        elif token.type == "link_close":
            token.meta[_SPAN] = (calls[0][1] if calls else after - 1, after)
        elif token.type == "image":
            token.meta[_SPAN] = (before, after)
            token.meta["label_end"] = before + 2 + len(token.content)
        elif token.type in ("hardbreak", "softbreak"):
            start = before
            while start > 0 and state.src[start - 1] == " ":
                start -= 1
            token.meta[_SPAN] = (start, after)
        elif i == len(new) - 1 or token.type in ("code_inline", "html_inline"):
            token.meta[_SPAN] = (before, after)


def _wrap(name: str, fn: Callable[[Any, bool], bool]) -> Callable[[Any, bool], bool]:
    def rule(state: Any, silent: bool) -> bool:
        before, count, pending = state.pos, len(state.tokens), bool(state.pending)
        calls = state.env.setdefault(_CALLS, [])
        known = len(calls)
        ok = fn(state, silent)
        if ok and not silent:
            new = state.tokens[count:]
            if pending and new and new[0].type == "text":
                new = new[1:]  # the text that was pending, flushed by this rule's first token
            _annotate(state, name, new, before, calls[known:])
        return ok

    return rule


@lru_cache(maxsize=1)
def _parser() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    for rule in list(md.inline.ruler.__rules__):
        md.inline.ruler.at(rule.name, _wrap(rule.name, rule.fn))
    tokenize = md.inline.tokenize

    def recording(state: Any) -> None:
        state.env.setdefault(_CALLS, []).append((state.pos, state.posMax))
        tokenize(state)

    setattr(md.inline, "tokenize", recording)  # noqa: B010 - an instance attribute over the method
    return md


@dataclass
class _Element:
    kind: str  # em strong s link image code autolink html
    open: str
    close: str
    parent: int | None
    label: str | None = None  # a shortcut or collapsed reference link's label


@dataclass
class _Info:
    """What render needs of one unit: its slots in the source lines and its elements."""

    slots: list[tuple[int, int, int]]  # (line, start column, end column) of each content line
    elements: list[_Element]
    breaks: list[int]  # text-view offsets of the soft line breaks
    hard: str  # the hard break markup the unit uses
    context: str  # paragraph | atx | cell


def _flanks(prev: str | None, nxt: str | None, marker: str, opening: bool) -> bool:
    """CommonMark's left- or right-flanking rule for a delimiter between ``prev`` and ``nxt``."""

    def space(c: str | None) -> bool:
        return c is None or c.isspace()

    def punct(c: str | None) -> bool:
        return c is not None and bool(_PUNCT.match(c)) and not c.isspace()

    inner, outer = (nxt, prev) if opening else (prev, nxt)
    ok = not space(inner) and (not punct(inner) or space(outer) or punct(outer))
    if ok and marker == "_":
        ok = space(outer) or punct(outer)
    return ok


class _Writer:
    """Writes one unit's translation with its inline elements, as Markdown source."""

    def __init__(self, info: _Info, tu: TranslatedUnit, unit: Unit, strategy: int) -> None:
        self.info, self.text, self.strategy = info, tu.text, strategy
        self.pieces: list[tuple[str, bool]] = []  # (source, is text)
        self.offsets: list[tuple[int, int]] = []  # (piece index, text offset) for break candidates
        self.types: list[str] = []
        placed = {p.ref: (p.start, p.end) for p in tu.inlines}
        n = len(self.text)
        self.spans: dict[int, tuple[int, int]] = {}
        total = max(len(unit.text), 1)
        for inline in unit.inlines:
            s, e = placed.get(inline.ref, (inline.start * n // total, inline.end * n // total))
            self.spans[inline.ref] = (min(max(s, 0), n), min(max(e, s, 0), n))

    def write(self) -> str:
        self._range(0, len(self.text), None, None)
        return "".join(p for p, _ in self.pieces)

    def _children(self, parent: int | None, lo: int, hi: int) -> list[tuple[int, int, int]]:
        kids = []
        for ref, element in enumerate(self.info.elements):
            if element.parent == parent:
                s, e = self.spans[ref]
                s, e = min(max(s, lo), hi), min(max(e, lo), hi)
                kids.append((s, max(e, s), ref))
        kids.sort()
        out, prev = [], lo
        for s, e, ref in kids:
            s = max(s, prev)
            e = max(e, s)
            out.append((s, e, ref))
            prev = e
        return out

    def _gap(self, lo: int, hi: int) -> None:
        piece = self.text[lo:hi]
        if lo == 0:
            piece = piece.lstrip()
            lo = hi - len(piece)
        if hi == len(self.text):
            piece = piece.rstrip()
        if self.info.context != "paragraph":
            piece = piece.replace("\n", " ")
        out = []
        for i, c in enumerate(piece):
            if c == "\n":
                out.append(self.info.hard + "\n")
                self.types.append("hardbreak")
                continue
            before = piece[i - 1] if i else (self.pieces[-1][0][-1:] if self.pieces else "")
            if c == " " and before.strip():
                self.offsets.append((len(self.pieces), sum(len(x) for x in out), lo + i))
            if c in "\\*_`[]<>~|" or (c == "#" and self.info.context == "atx"):
                out.append("\\" + c)
            elif c == "&" and _ENTITY.match(piece, i):
                out.append("\\&")
            else:
                out.append(c)
        if out:
            self.pieces.append(("".join(out), True))

    def _markup(self, source: str) -> None:
        if source:
            self.pieces.append((source, False))

    def _range(self, lo: int, hi: int, parent: int | None, marker: str | None) -> None:
        cur = lo
        kids = self._children(parent, lo, hi)
        for k, (s, e, ref) in enumerate(kids):
            bound = kids[k + 1][0] if k + 1 < len(kids) else hi
            s, e = self._element(cur, s, e, bound, ref, marker, lo, hi)
            cur = e
        self._gap(cur, hi)

    def _element(
        self, cur: int, s: int, e: int, bound: int, ref: int, marker: str | None, lo: int, hi: int
    ) -> tuple[int, int]:
        element, text = self.info.elements[ref], self.text
        kind = element.kind
        if kind in _EMPHASIS:
            inner = text[s:e]
            s2, e2 = s + len(inner) - len(inner.lstrip()), e - len(inner) + len(inner.rstrip())
            if s2 >= e2 or self.strategy >= 2:
                self._gap(cur, s)
                self._range(s, e, ref, marker)
                return s, e
            mark = element.open
            if self.strategy >= 1 and marker is not None and mark[0] == marker[0] and mark[0] in "*_":
                mark = ("_" if mark[0] == "*" else "*") * len(mark)
            prev = text[s2 - 1] if s2 > lo else None
            if not _flanks(prev, text[s2], mark[0], True):
                while s2 > cur and not text[s2 - 1].isspace():
                    s2 -= 1
                if mark[0] == "_" and not _flanks(text[s2 - 1] if s2 > lo else None, text[s2], "_", True):
                    mark = "*" * len(mark)
            nxt = text[e2] if e2 < hi else None
            if not _flanks(text[e2 - 1], nxt, mark[0], False):
                while e2 < bound and not text[e2].isspace():
                    e2 += 1
                if mark[0] == "_" and not _flanks(text[e2 - 1], text[e2] if e2 < hi else None, "_", False):
                    mark = "*" * len(mark)
            self._gap(cur, s2)
            self._markup(mark)
            self.types.append(f"{kind}_open")
            self._range(s2, e2, ref, mark)
            self._markup(mark)
            self.types.append(f"{kind}_close")
            return s2, e2
        self._gap(cur, s)
        if kind in ("code", "autolink"):
            self._markup(element.open)
            self.types.extend(["code_inline"] if kind == "code" else ["link_open", "link_close"])
            return s, e
        if kind == "image":
            alt = text[s:e].replace("\n", " ").strip()
            self._markup("![")
            self.pieces.append(("".join("\\" + c if c in "\\[]`*_<" else c for c in alt), True))
            self._markup(self._close(element, alt))
            self.types.append("image")
            return s, e
        self._markup(element.open)
        self.types.append("link_open" if kind == "link" else "html_inline")
        self._range(s, e, ref, marker)
        if kind == "link":
            self._markup(self._close(element, text[s:e]))
            self.types.append("link_close")
        elif element.close:
            self._markup(element.close)
            self.types.append("html_inline")
        return s, e

    @staticmethod
    def _close(element: _Element, new_text: str) -> str:
        if element.label is not None and new_text != element.label:
            return f"][{element.label}]"
        return element.close


_DANGER = re.compile(
    r"^(?:(#{1,6})(?=\s|$)|(>)|([-+*])(?=\s|$)|\d{1,9}([.)])(?=\s|$)|([=-])[=-]*\s*$|(`)``|(~)~~|(<)[A-Za-z/!?])"
)


def _assemble(pieces: list[tuple[str, bool]], chosen: set[tuple[int, int]]) -> str:
    """Join the pieces with soft breaks at ``chosen``; escape text that would start a block at a line start."""
    chars: list[str] = []
    mask: list[bool] = []
    for index, (piece, is_text) in enumerate(pieces):
        for at, c in enumerate(piece):
            chars.append("\n" if (index, at) in chosen else c)
            mask.append(is_text)
    out: list[str] = []
    start = 0
    for i in range(len(chars) + 1):
        if i < len(chars) and chars[i] != "\n":
            continue
        line = "".join(chars[start:i])
        found = _DANGER.match(line)
        if found:
            group = next(g for g in range(1, 9) if found.group(g) is not None)
            at = found.start(group)
            if mask[start + at]:
                line = line[:at] + "\\" + line[at:]
        out.append(line)
        start = i + 1
    return "\n".join(out)


def _rewrap(writer: _Writer, size: int) -> str:
    """The unit's new content, with soft breaks near the source's so it keeps its line count."""
    pieces, info, n = writer.pieces, writer.info, len(writer.text)
    need = len(info.slots) - 1 - sum(p.count("\n") for p, _ in pieces)
    usable = []
    for index, at, offset in writer.offsets:
        rest = pieces[index][0][at + 1 :] or (pieces[index + 1][0] if index + 1 < len(pieces) else "")
        if _SAFE_AFTER_BREAK.match(rest):
            usable.append((index, at, offset))
    chosen: set[tuple[int, int]] = set()
    if need > 0 and usable:
        targets = [b * n // max(size, 1) for b in info.breaks][:need]
        targets += [(i + 1) * n // (need + 1) for i in range(need - len(targets))]
        start = 0
        for t in sorted(targets):
            options = usable[start:]
            if not options:
                break
            best = min(range(len(options)), key=lambda i: abs(options[i][2] - t))
            chosen.add(options[best][:2])
            start += best + 1
    return _assemble(pieces, chosen)


def _slot_columns(line: str, content_line: str, context: str) -> tuple[int, int] | None:
    """Where ``content_line`` (a line of an inline run, its prefix removed) sits in the source ``line``."""
    n = len(content_line)
    if context == "atx":
        k = line.find(content_line, len(line) - len(line.lstrip(" #")))
        return None if k < 0 else (k, k + n)
    k = line.rfind(content_line)
    while k >= 0:
        if not line[k + n :].strip():
            return k, k + n
        k = line.rfind(content_line, 0, k + n - 1) if k > 0 else -1
    return None


def _cell_columns(line: str) -> list[tuple[int, int]]:
    """The trimmed column ranges of a table row's cells (unescaped pipes separate them)."""
    cuts, escaped = [-1], False
    for i, c in enumerate(line):
        if c == "|" and not escaped:
            cuts.append(i)
        escaped = c == "\\" and not escaped
    cuts.append(len(line))
    cells = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        piece = line[a + 1 : b]
        lead = len(piece) - len(piece.lstrip())
        cells.append((a + 1 + lead, a + 1 + len(piece.rstrip())))
    if line.strip().startswith("|"):
        cells.pop(0)
    if line.strip().endswith("|") and len(cells) > 1:
        cells.pop()
    return cells


class _Reader:
    """Builds one inline run's text view, inline elements and what render needs."""

    def __init__(self, content: str) -> None:
        self.content = content
        self.text: list[str] = []
        self.size = 0
        self.inlines: list[Inline] = []
        self.elements: list[_Element] = []
        self.breaks: list[int] = []
        self.hard = "\\"
        self.verbatim: list[tuple[int, int]] = []
        self.label_starts: dict[int, int] = {}

    def _emit(self, text: str) -> None:
        self.text.append(text)
        self.size += len(text)

    def _span(self, token: Any) -> tuple[int, int]:
        return tuple(token.meta.get(_SPAN, (0, 0)))  # type: ignore[return-value]

    def _open(self, kind: str, tag: str, attrs: dict[str, str], open_: str, close: str, parent: int | None) -> int:
        self.elements.append(_Element(kind, open_, close, parent))
        self.inlines.append(Inline(self.size, self.size, len(self.inlines), tag, attrs))
        return len(self.inlines) - 1

    def _end(self, ref: int) -> None:
        old = self.inlines[ref]
        self.inlines[ref] = Inline(old.start, self.size, ref, old.tag, old.attrs)

    def read(self, children: Sequence[Any]) -> None:
        stack: list[tuple[str, int]] = []  # (closing token type or html tag name, ref)
        content = self.content
        parent: Callable[[], int | None] = lambda: stack[-1][1] if stack else None  # noqa: E731
        autolink = False
        for token in children:
            kind = token.type
            if kind == "text":
                self._emit(token.content)
            elif kind == "softbreak":
                self.breaks.append(self.size)
                self._emit(" ")
            elif kind == "hardbreak":
                a, b = self._span(token)
                self.hard = content[a:b].split("\n")[0] or "\\"
                self._emit("\n")
            elif kind in ("em_open", "strong_open", "s_open"):
                name = kind[: -len("_open")]
                ref = self._open(name, name, {}, token.markup, token.markup, parent())
                stack.append((f"{name}_close", ref))
            elif kind == "link_open" and token.markup == "autolink":
                a = self._span(token)[0]
                ref = self._open("autolink", "a", {"href": str(token.attrs.get("href", ""))}, "", "", parent())
                stack.append(("link_close", ref))
                autolink = True
                self.verbatim.append((ref, a))
            elif kind == "link_open":
                a, b = self._span(token)
                attrs = {k: str(v) for k, v in token.attrs.items() if k in ("href", "title")}
                ref = self._open("link", "a", attrs, content[a:b], "", parent())
                self.label_starts[ref] = b
                stack.append(("link_close", ref))
            elif kind in ("em_close", "strong_close", "s_close", "link_close"):
                while stack and stack[-1][0] != kind:
                    self._end(stack.pop()[1])  # an unclosed HTML tag: its span ends here
                if not stack:
                    continue
                ref = stack.pop()[1]
                a, b = self._span(token)
                element = self.elements[ref]
                if autolink and element.kind == "autolink":
                    start = next(x for r, x in self.verbatim if r == ref)
                    element.open = content[start:b]
                    autolink = False
                elif element.kind == "link":
                    element.close = content[a:b]
                    if element.close in ("]", "][]"):
                        element.label = content[self.label_starts[ref] : a]
                self._end(ref)
            elif kind == "image":
                a, b = self._span(token)
                label_end = token.meta.get("label_end", a)
                attrs = {k: str(v) for k, v in token.attrs.items() if k in ("src", "title")}
                ref = self._open("image", "img", attrs, "![", content[label_end:b], parent())
                close = self.elements[ref].close
                if close in ("]", "][]"):
                    self.elements[ref].label = content[a + 2 : label_end]
                self._emit("".join(c.content for c in token.children or [] if c.type in ("text", "code_inline")))
                self._end(ref)
            elif kind == "code_inline":
                a, b = self._span(token)
                ref = self._open("code", "code", {}, content[a:b], "", parent())
                self._emit(token.content)
                self._end(ref)
            elif kind == "html_inline":
                self._html(token, stack, parent())
        while stack:
            self._end(stack.pop()[1])

    def _html(self, token: Any, stack: list[tuple[str, int]], parent: int | None) -> None:
        html = token.content
        closing = _HTML_CLOSE.match(html)
        if closing and stack and stack[-1][0] == f"html:{closing.group(1).lower()}":
            ref = stack.pop()[1]
            self.elements[ref].close = html
            self._end(ref)
            return
        opening = _HTML_OPEN.match(html)
        ref = self._open("html", "html", {"html": html}, html, "", parent)
        if opening and not closing:
            stack.append((f"html:{opening.group(1).lower()}", ref))
        else:
            self._end(ref)


def _split_lines(text: str) -> tuple[list[str], list[str]]:
    """The source's lines and each line's own ending (``\\n``, ``\\r\\n``, ``\\r`` or none)."""
    parts = re.split(r"(\r\n|\r|\n)", text)
    return parts[0::2], [*parts[1::2], ""]


def _front_matter(lines: list[str]) -> int:
    """How many lines at the top are YAML front matter (``---`` ... ``---`` or ``...``)."""
    if lines and lines[0].lstrip("\ufeff").rstrip() == "---":
        for i in range(1, len(lines)):
            if lines[i].rstrip() in ("---", "..."):
                return i + 1
    return 0


@dataclass
class _Parsed:
    units: list[Unit]
    infos: list[_Info]
    env: dict[str, Any]
    front: int


def _read(lines: list[str]) -> _Parsed:
    front = _front_matter(lines)
    body = "\n".join([""] * front + lines[front:]).replace("\0", "\ufffd")
    env: dict[str, Any] = {}
    tokens = _parser().parse(body, env)
    plain = [line.replace("\0", "\ufffd") for line in lines]
    units, infos = [], []
    blocks: list[str] = []
    row_cells: dict[int, list[tuple[int, int]]] = {}
    row_seen: dict[int, int] = {}
    for token in tokens:
        if token.nesting == 1:
            blocks.append(token.type)
        elif token.nesting == -1 and blocks:
            blocks.pop()
        if token.type != "inline" or not token.map or not token.children:
            continue
        container = blocks[-1] if blocks else "paragraph_open"
        context = "cell" if container in ("th_open", "td_open") else "paragraph"
        kind: UnitKind = "cell" if context == "cell" else "paragraph"
        if container == "heading_open":
            kind = "heading"
            context = "atx" if token.map[1] - token.map[0] == 1 and plain[token.map[0]].lstrip().startswith("#") else context
        elif context == "paragraph":
            for outer in reversed(blocks):
                if outer in ("list_item_open", "blockquote_open"):
                    kind = "list_item" if outer == "list_item_open" else "quote"
                    break
        slots: list[tuple[int, int, int]] = []
        if context == "cell":
            row = token.map[0]
            cells = row_cells.setdefault(row, _cell_columns(plain[row]))
            index = row_seen.get(row, 0)
            row_seen[row] = index + 1
            if index < len(cells):
                slots.append((row, *cells[index]))
        else:
            for i, content_line in enumerate(token.content.split("\n")):
                found = _slot_columns(plain[token.map[0] + i], content_line, context)
                if found is None:
                    slots = []
                    break
                slots.append((token.map[0] + i, *found))
        reader = _Reader(token.content)
        reader.read(token.children)
        text = "".join(reader.text)
        verbatim = [i for i, e in zip(reader.inlines, reader.elements, strict=True) if e.kind in ("code", "autolink")]
        words = [c for i, c in enumerate(text) if not c.isspace() and not any(v.start <= i < v.end for v in verbatim)]
        if not slots or not words:
            continue
        units.append(Unit(text, kind, tuple(reader.inlines)))
        infos.append(_Info(slots, reader.elements, reader.breaks, reader.hard, context))
    return _Parsed(units, infos, env, front)


class MarkdownDocument:
    """A parsed Markdown document; :meth:`render` splices translations into its source."""

    format = "markdown"
    output_suffix = ".md"

    def __init__(self, text: str, name: str) -> None:
        self._name = name
        self._lines, self._endings = _split_lines(text)
        self._parsed = _read(self._lines)
        self._metadata = self._find_metadata()

    @property
    def units(self) -> Sequence[Unit]:
        return self._parsed.units

    @property
    def metadata(self) -> Mapping[str, Any]:
        return self._metadata

    def _find_metadata(self) -> dict[str, Any]:
        for line in self._lines[1 : max(self._parsed.front - 1, 0)]:
            found = re.match(r"^title:\s*(.+?)\s*$", line)
            if found:
                return {"title": found.group(1).strip("'\"")}
        heading = next((u for u in self._parsed.units if u.kind == "heading"), None)
        return {"title": heading.text} if heading else {}

    def render(self, translated: Sequence[TranslatedUnit]) -> bytes:
        if len(translated) != len(self.units):
            raise ValueError(f"{self._name}: {len(translated)} translations for {len(self.units)} units")
        edits: dict[int, list[tuple[int, int, str]]] = {}
        dropped: set[int] = set()
        for unit, info, tu in zip(self.units, self._parsed.infos, translated, strict=True):
            same = tu.text == unit.text and {p.ref: (p.start, p.end) for p in tu.inlines} == {
                i.ref: (i.start, i.end) for i in unit.inlines
            }
            if same:
                continue
            content = _content(unit, info, tu, self._parsed.env)
            lines = content.split("\n")
            if len(lines) > len(info.slots):
                first_line, first_col = info.slots[0][0], info.slots[0][1]
                prefix = self._lines[info.slots[-1][0]][: info.slots[-1][1]]
                if len(info.slots) == 1:
                    prefix = re.sub(r"[-+*]|\d{1,9}[.)]", lambda m: " " * len(m.group()), self._lines[first_line][:first_col])
                ending = self._endings[info.slots[-1][0]] or "\n"
                lines[len(info.slots) - 1 :] = [(ending + prefix).join(lines[len(info.slots) - 1 :])]
            for i, (line, start, end) in enumerate(info.slots):
                if i < len(lines):
                    edits.setdefault(line, []).append((start, end, lines[i]))
                else:
                    dropped.add(line)
        out = []
        for index, (line, ending) in enumerate(zip(self._lines, self._endings, strict=True)):
            if index in dropped:
                continue
            for start, end, new in sorted(edits.get(index, []), reverse=True):
                line = line[:start] + new + line[end:]
            out.append(line + ending)
        return "".join(out).encode("utf-8")


def _content(unit: Unit, info: _Info, tu: TranslatedUnit, env: Mapping[str, Any]) -> str:
    """The unit's new inline content, checked by parsing it again (see the module docstring)."""
    content = ""
    for strategy in range(3):
        writer = _Writer(info, tu, unit, strategy)
        writer.write()
        content = _rewrap(writer, len(unit.text))
        if info.context == "cell":
            content = re.sub(r"(?<!\\)((?:\\\\)*)\|", r"\1\\|", content)
        check: MutableMapping[str, Any] = {k: v for k, v in env.items() if k != _CALLS}
        parsed = _parser().parseInline(content, check)
        found = [t.type for t in parsed[0].children or [] if t.type not in ("text", "softbreak")]
        if found == [t for t in writer.types if t != "softbreak"]:
            break
    return content


def parse(data: bytes, name: str, options: FormatOptions) -> MarkdownDocument:
    """Read a Markdown document (UTF-8); ``options`` are not used by this format."""
    del options
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EncodingError(f"{name}: not UTF-8 Markdown (byte {exc.start})") from None
    return MarkdownDocument(text, name)
