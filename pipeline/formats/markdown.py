"""Markdown: the text of headings, paragraphs, list items, quotes and table cells is replaced
in the source itself, so every byte that is not text survives.

markdown-it-py (the CommonMark parser, with GFM tables and strikethrough) reads the document:
block tokens give each inline run's lines (``map``); its inline rules are wrapped to record
where each link, image, code span, break and delimiter sits, so link destinations, reference
labels, code spans and inline HTML are copied verbatim around the translated text.

Units: headings (``heading``), paragraphs (``paragraph``, ``list_item``, ``quote``) and table
cells (``cell``); the text view is the rendered text (escapes resolved, a soft break a space,
a hard break ``\\n``). Inline elements: ``em``, ``strong``, ``s``, links (``a`` with ``href``),
images (``img``: the alt text is the span, translated in its sentence), inline HTML (``html``:
a tag pair around its span, a lone tag an empty span), and code spans and autolinks (``code``,
``a``): placeholders whose source is written back verbatim, whatever the translation put there.

Untouched: code blocks and fences, HTML blocks, front matter (YAML between ``---`` lines at the
top), link reference definitions, thematic breaks, list and quote markers, indentation, table
delimiter rows; a unit whose text and spans are unchanged is left byte for byte. Otherwise its
content is written again: text escaped where Markdown would read markup, emphasis delimiters
moved off spaces (to word boundaries inside words), shortcut references given their label
(``[new text][label]``), soft breaks put back near the same places so the lines stay, then
parsed again to check; emphasis that still would not parse is dropped, never the text. Line
endings (LF or CRLF) are kept.
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
_PUNCT = re.compile(r"[\W_]", re.UNICODE)
_ENTITY = re.compile(r"&(#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_SAFE_AFTER_BREAK = re.compile(r"^(?:[^\s#>+=*_`~<|\\&\-\d]|\d+(?![.)\d])|[*_]\S|\[|!\[|`(?!``))")
_HTML_OPEN = re.compile(r"^<([A-Za-z][A-Za-z0-9-]*)\b[^>]*?(?<!/)>$")
_HTML_CLOSE = re.compile(r"^</([A-Za-z][A-Za-z0-9-]*)\s*>$")
_VOID = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"]
)


def _annotate(state: Any, name: str, new: list[Any], before: int, calls: list[tuple[int, int]]) -> None:
    after = state.pos
    if name in ("emphasis", "strikethrough"):
        pos = before
        for token in new:
            token.meta[_SPAN] = (pos, pos + len(token.content))
            pos += len(token.content)
        return
    for i, token in enumerate(new):
        if _SPAN in token.meta or token.type == "text":
            continue
        if token.type == "link_open":  # its label starts where the nested tokenize began (none: an autolink)
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
        self.offsets: list[tuple[int, int, int]] = []  # break candidates: (piece, offset in it, in text)
        self.types: list[str] = []
        placed = {p.ref: (p.start, p.end) for p in tu.inlines}
        n, total = len(self.text), max(len(unit.text), 1)
        self.spans = {i.ref: placed.get(i.ref, (i.start * n // total, i.end * n // total)) for i in unit.inlines}

    def write(self) -> str:
        self._range(0, len(self.text), None, None)
        return "".join(p for p, _ in self.pieces)

    def _children(self, parent: int | None, lo: int, hi: int) -> list[tuple[int, int, int]]:
        """The elements directly in ``parent``, clamped into ``[lo, hi)``, in order and disjoint."""
        clamp = [(min(max(self.spans[r][0], lo), hi), min(max(self.spans[r][1], lo), hi), r) for r in self.spans]
        out, prev = [], lo
        for s, e, ref in sorted(c for c in clamp if self.info.elements[c[2]].parent == parent):
            out.append((max(s, prev), max(e, s, prev), ref))
            prev = out[-1][1]
        return out

    def _gap(self, lo: int, hi: int) -> None:
        piece = self.text[lo:hi]
        if lo == 0:
            piece = piece.lstrip()
            lo = hi - len(piece)
        if hi == len(self.text):
            piece = piece.rstrip()
        if self.info.context in ("atx", "cell"):
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
            if c == "|" and self.info.context == "setext":
                out.append("&#124;")  # even an escaped pipe over an underline would start a table
            elif c in "\\*_`[]<>~|" or (c == "#" and self.info.context == "atx"):
                out.append("\\" + c)
            elif c == "&" and _ENTITY.match(piece, i):
                out.append("\\&")
            else:
                out.append(c)
        if out:
            self.pieces.append(("".join(out), True))

    def _markup(self, source: str, kind: str = "") -> None:
        if source and kind:
            self.types.append(kind)
        last = self.pieces[-1] if self.pieces else ("", False)
        if source.startswith("[") and last[1] and last[0].endswith("!"):
            self.pieces[-1] = (last[0][:-1] + "\\!", True)  # not an image
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
        if kind in ("em", "strong", "s"):
            inner = text[s:e]
            mark, s2, e2 = None, s + len(inner) - len(inner.lstrip()), e - len(inner) + len(inner.rstrip())
            if s2 < e2 and self.strategy < 2:
                mark, s2, e2 = self._delimit(element.open, marker, cur, s2, e2, bound, hi)
            s, e = (s2, e2) if mark else (s, e)
            self._gap(cur, s)
            self._markup(mark or "", f"{kind}_open")
            self._range(s, e, ref, mark or marker)
            self._markup(mark or "", f"{kind}_close")
            return s, e
        self._gap(cur, s)
        if kind in ("code", "autolink"):
            self._markup(element.open, "code_inline" if kind == "code" else "link_open")
            self.types.extend([] if kind == "code" else ["link_close"])
        elif kind == "image":
            alt = text[s:e].replace("\n", " ").strip()
            self._markup("![", "image")
            self.pieces.append(("".join("\\" + c if c in "\\[]`*_<" else c for c in alt), True))
            self._markup(self._close(element, alt))
        else:
            self._markup(element.open, "link_open" if kind == "link" else "html_inline")
            self._range(s, e, ref, marker)
            close = self._close(element, text[s:e]) if kind == "link" else element.close
            self._markup(close, "link_close" if kind == "link" else "html_inline")
        return s, e

    def _delimit(
        self, mark: str, marker: str | None, cur: int, s: int, e: int, bound: int, hi: int
    ) -> tuple[str | None, int, int]:
        """The delimiter and span for an emphasis over ``text[s:e]`` that Markdown will read as one."""
        text = self.text

        def before(at: int) -> str | None:
            if at > cur:
                return text[at - 1]
            return self.pieces[-1][0][-1] if self.pieces else None

        def after(at: int) -> str | None:
            return text[at] if at < bound else None if at >= len(text) else "!"  # next: markup

        if self.strategy >= 1 and mark[0] in "*_":
            touching = s == cur and self.pieces and not self.pieces[-1][1] and self.pieces[-1][0][-1] == mark[0]
            if touching or (marker is not None and marker[0] == mark[0]):
                mark = ("_" if mark[0] == "*" else "*") * len(mark)
        if not _flanks(before(s), text[s], mark[0], True):
            while s > cur and not text[s - 1].isspace():
                s -= 1
        if not _flanks(text[e - 1], after(e), mark[0], False):
            while e < bound and not text[e].isspace():
                e += 1
        for char in dict.fromkeys((mark[0], "*" if mark[0] == "_" else mark[0])):
            if _flanks(before(s), text[s], char, True) and _flanks(text[e - 1], after(e), char, False):
                return char * len(mark), s, e
        return (None if self.strategy >= 1 else mark), s, e

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
    chars = [("\n" if (i, at) in chosen else c, text) for i, (p, text) in enumerate(pieces) for at, c in enumerate(p)]
    out, start = [], 0
    for end in [k for k, (c, _) in enumerate(chars) if c == "\n"] + [len(chars)]:
        line = "".join(c for c, _ in chars[start:end])
        found = _DANGER.match(line)
        at = found.start(found.lastindex) if found and found.lastindex else -1
        out.append(line[:at] + "\\" + line[at:] if at >= 0 and chars[start + at][1] else line)
        start = end + 1
    return "\n".join(out)


def _rewrap(writer: _Writer, size: int) -> str:
    """The unit's new content, with soft breaks near the source's so it keeps its line count."""
    pieces, info, n = writer.pieces, writer.info, len(writer.text)
    need = len(info.slots) - 1 - sum(p.count("\n") for p, _ in pieces)
    rest = [pieces[i][0][at + 1 :] or (pieces[i + 1][0] if i + 1 < len(pieces) else "") for i, at, _ in writer.offsets]
    usable = [c for c, r in zip(writer.offsets, rest, strict=True) if _SAFE_AFTER_BREAK.match(r)]
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
        self.label_starts: dict[int, int] = {}  # where a link's label (or an autolink) starts

    def _emit(self, text: str) -> None:
        self.text.append(text)
        self.size += len(text)

    def _span(self, token: Any) -> tuple[int, int]:
        a, b = token.meta.get(_SPAN, (0, 0))
        return int(a), int(b)

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
            elif kind == "link_open":
                a, b = self._span(token)
                auto = token.markup == "autolink"
                attrs = {k: str(v) for k, v in token.attrs.items() if k in ("href", "title")}
                ref = self._open("autolink" if auto else "link", "a", attrs, "" if auto else content[a:b], "", parent())
                self.label_starts[ref] = a if auto else b
                stack.append(("link_close", ref))
            elif kind in ("em_close", "strong_close", "s_close", "link_close"):
                while stack and stack[-1][0] != kind:
                    self._end(stack.pop()[1])  # an unclosed HTML tag: its span ends here
                if not stack:
                    continue
                ref = stack.pop()[1]
                a, b = self._span(token)
                element = self.elements[ref]
                if element.kind == "autolink":
                    element.open = content[self.label_starts[ref] : b]
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
                if content[label_end:b] in ("]", "][]"):
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
        if opening and not closing and opening.group(1).lower() not in _VOID:
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
    row_cursor: dict[int, int] = {}  # where the next cell of a table row is looked for
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
            atx = token.map[1] - token.map[0] == 1 and plain[token.map[0]].lstrip().startswith("#")
            context = "atx" if atx else "setext"
        elif context == "paragraph":
            for outer in reversed(blocks):
                if outer in ("list_item_open", "blockquote_open"):
                    kind = "list_item" if outer == "list_item_open" else "quote"
                    break
        slots: list[tuple[int, int, int]] = []
        if context == "cell":  # the splitter unescaped the cell's pipes: every one was escaped in the source
            row, source = token.map[0], token.content.replace("|", "\\|")
            col = plain[row].find(source, row_cursor.get(row, 0))
            if col >= 0:
                slots.append((row, col, col + len(source)))
                row_cursor[row] = col + len(source)
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
        self.units: Sequence[Unit] = self._parsed.units
        self.metadata: Mapping[str, Any] = self._find_metadata()

    def _find_metadata(self) -> dict[str, Any]:
        titles = [re.match(r"^title:\s*(.+?)\s*$", line) for line in self._lines[1 : max(self._parsed.front - 1, 0)]]
        titles += [re.match(r"(.+)", u.text) for u in self._parsed.units if u.kind == "heading"]
        found = next((t for t in titles if t), None)
        return {"title": found.group(1).strip("'\"")} if found else {}

    def render(self, translated: Sequence[TranslatedUnit]) -> bytes:
        if len(translated) != len(self.units):
            raise ValueError(f"{self._name}: {len(translated)} translations for {len(self.units)} units")
        edits: dict[int, list[tuple[int, int, str]]] = {}
        dropped: set[int] = set()
        for unit, info, tu in zip(self.units, self._parsed.infos, translated, strict=True):
            if tu.text == unit.text and {(p.ref, p.start, p.end) for p in tu.inlines} == {
                (i.ref, i.start, i.end) for i in unit.inlines
            }:
                continue
            content = _content(unit, info, tu, self._parsed.env)
            lines = content.split("\n")
            last, col = info.slots[-1][:2]
            if len(lines) > len(info.slots):  # more lines than the source had: a continuation prefix
                prefix = re.sub(r"[-+*]|\d{1,9}[.)]", lambda m: " " * len(m.group()), self._lines[last][:col])
                tail = lines[len(info.slots) - 1 :]
                lines[len(info.slots) - 1 :] = [((self._endings[last] or "\n") + prefix).join(tail)]
            for i, (row, start, end) in enumerate(info.slots):
                if i < len(lines):
                    edits.setdefault(row, []).append((start, end, lines[i]))
                else:
                    dropped.add(row)
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
