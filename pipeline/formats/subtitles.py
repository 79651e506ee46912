"""Subtitles (SRT, WebVTT): cue text is translated, every other byte of the file is kept.

Libraries. ``srt`` (3.5) reads SRT: its block regex finds each cue, its timings and the exact
span of its text, so the translation is spliced into the original (``srt.compose`` would
rewrite every index and timing line). ``webvtt-py`` (0.6) validates WebVTT (the header, each
cue's timings and settings), but its writer rebuilds the file (NOTE blocks move, whitespace
and the header change), so the file is cut into blocks here by webvtt-py's own rules, each
cue block is read with its ``parse_item`` and only cue text is replaced.

Units. Consecutive cues form one unit until a cue ends a sentence (``. ! ? …``, then maybe
closing quotes or brackets). A unit holds at most :data:`MAX_CUES_PER_UNIT` cues; a gap of
more than :data:`MAX_GAP_MS`, a cue opening with a dialogue dash, another speaker
(``<v Name>``) or a cue without text starts a new one. A unit's text view is its cues' texts
joined by one space. A cue's own line breaks become single spaces too (the translation is
re-wrapped, so the source's breaks would only disturb the translator), tags are removed
(each is an :class:`Inline`: ``<i> <b> <u> <c.x> <v Name> <lang>``, SRT ``<font>``), WebVTT
character references are decoded and whitespace runs become one space. Tags with no text
before them at a cue's start (``{\\an8}``, a WebVTT timestamp) stay at that cue's start.

Rendering. A unit whose translation is its own text, with its inline spans where they were,
is written back byte for byte. Otherwise the translation's words are shared out over the
unit's cues in proportion to the length of each source cue's text, at word boundaries, each
cue getting at least one word while there are words enough (with fewer words than cues, one
word a cue from the first). A cue whose source had two or
more lines is re-wrapped: a dialogue cue breaks before each dash, other text stays on one
line up to :data:`LINE_WIDTH` characters, else on two balanced lines. Inline elements are
written around their placed spans, closed at a cue's end and reopened at the next cue's
start when a span crosses cues; an element that covered a whole cue (``<v Anna>``, a cue in
italics) covers that cue's whole new text. Identifiers, timings as written, cue settings, the header,
NOTE, STYLE and REGION blocks and line endings are untouched. How each unit was split (the
translation's character range per cue) is ``metadata["redistribution"]`` after rendering.
"""

from __future__ import annotations

import codecs
import html
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import DocumentFormatError, EncodingError, InputTooLargeError
from pipeline.formats.base import MAX_DOCUMENT_BYTES, FormatOptions, Inline, TranslatedUnit, Unit

MAX_CUES_PER_UNIT = 6
MAX_GAP_MS = 2000
LINE_WIDTH = 42

_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*$")
_DIALOGUE = re.compile(r"^[-–—]\s")
_EOL = re.compile(r"\r\n|\r|\n")
_WORD = re.compile(r"\S+")
_VTT_TAG = re.compile(r"<[^>]*>")
_SRT_TAG = re.compile(r"</?(?:i|b|u|s|font)\b[^>]*>|\{\\[^}]*\}", re.IGNORECASE)


@dataclass
class _Tag:
    """One inline element as written: ``close`` is ``""`` when the cue's end closes it, ``None`` for a void tag."""

    name: str
    open: str
    close: str | None = ""


@dataclass(frozen=True)
class _Cue:
    start: int  # the cue text's span in the decoded file
    end: int
    lines: int
    view: str
    inlines: tuple[Inline, ...]
    prefix: str
    start_ms: int
    end_ms: int
    voice: str | None


def _decode(data: bytes, name: str) -> tuple[str, str, bytes]:
    """The file's text, its codec and its byte order mark (kept for the output)."""
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec), codec, bom
            except UnicodeDecodeError as exc:
                raise EncodingError(f"{name}: invalid {codec} at byte {exc.start + len(bom)}") from exc
    try:
        return data.decode("utf-8"), "utf-8", b""
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"{name}: not UTF-8 (invalid byte 0x{data[exc.start]:02x} at offset {exc.start})",
            hint="convert the subtitles to UTF-8 first, e.g. iconv -f cp1252 -t utf-8",
        ) from exc


def _tokens(line: str, vtt: bool) -> list[tuple[str, str, str]]:
    """(kind, raw, name) for each piece of a cue line: ``text``, ``open``, ``close`` or ``void``."""
    out: list[tuple[str, str, str]] = []
    pos = 0
    for m in (_VTT_TAG if vtt else _SRT_TAG).finditer(line):
        if m.start() > pos:
            out.append(("text", line[pos : m.start()], ""))
        raw = m.group(0)
        inner = raw[1:-1].strip()
        if raw.startswith("{"):
            out.append(("void", raw, "ass"))
        elif inner.startswith("/"):
            out.append(("close", raw, inner[1:].strip().split(".")[0].lower()))
        elif not inner or inner[0].isdigit():
            out.append(("void", raw, "timestamp" if inner else "tag"))
        else:
            out.append(("open", raw, re.split(r"[\s.]", inner, maxsplit=1)[0].lower()))
        pos = m.end()
    if pos < len(line):
        out.append(("text", line[pos:], ""))
    return out


def _read_cue_text(payload: str, vtt: bool, tags: list[_Tag]) -> tuple[str, tuple[Inline, ...], str, str | None]:
    """A cue's text view, its inline elements (refs into ``tags``), its leading void tags and its speaker."""
    view: list[str] = []
    pending = False  # whitespace seen since the last character
    stack: list[tuple[str, int, int]] = []  # (name, tag index, start)
    spans: list[tuple[int, int, int]] = []
    prefix: list[str] = []
    voice: str | None = None
    for number, line in enumerate(_EOL.split(payload)):
        pending = pending or (number > 0 and bool(view))
        for kind, raw, name in _tokens(line, vtt):
            here = len(view) + (1 if pending else 0)
            if kind == "text":
                for ch in html.unescape(raw) if vtt else raw:
                    if ch.isspace():
                        pending = bool(view)
                    else:
                        if pending:
                            view.append(" ")
                            pending = False
                        view.append(ch)
            elif kind == "void" and not view and not stack and not spans:
                prefix.append(raw)
            elif kind == "open":
                tags.append(_Tag(name, raw))
                stack.append((name, len(tags) - 1, here))
                if name == "v" and voice is None:
                    voice = raw[2:-1].strip()
            elif kind == "close" and any(s[0] == name for s in stack):
                while stack:
                    open_name, ref, start = stack.pop()
                    spans.append((start, len(view), ref))
                    if open_name == name:
                        tags[ref].close = raw
                        break
            else:  # a void tag, or a closing tag without its opening one
                tags.append(_Tag(name, raw, None))
                spans.append((here, here, len(tags) - 1))
    text = "".join(view)
    spans.extend((start, len(text), ref) for _, ref, start in stack)
    inlines = tuple(
        Inline(min(s, len(text)), min(e, len(text)), ref, tags[ref].name, {"markup": tags[ref].open})
        for s, e, ref in sorted(spans, key=lambda s: (s[0], -s[1], s[2]))
    )
    return text, inlines, "".join(prefix), voice


def _line_spans(text: str) -> list[tuple[int, int]]:
    """Each line's (start, end) without its terminator, as webvtt-py splits lines."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _EOL.finditer(text):
        spans.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    return spans


def _srt_cues(text: str, name: str) -> list[tuple[int, int, int, int]]:
    """(text start, text end, start ms, end ms) of each SRT cue, or a one-line error naming the line."""
    import srt

    try:
        subtitles = list(srt.parse(text))
    except srt.SRTParseError as exc:
        skipped = exc.unmatched_content
        at = exc.expected_start + len(skipped) - len(skipped.lstrip())
        first = skipped.strip().splitlines()[0][:60] if skipped.strip() else ""
        raise DocumentFormatError(
            f"{name}: line {text.count(chr(10), 0, at) + 1}: not an SRT cue (a number, a 'start --> end' "
            f"timing line, its text): {first!r}"
        ) from exc
    except ValueError as exc:
        raise DocumentFormatError(f"{name}: a timestamp that cannot be read ({exc})") from exc
    cues: list[tuple[int, int, int, int]] = []
    for sub, m in zip(subtitles, srt.SRT_REGEX.finditer(text), strict=True):
        if sub.end < sub.start:
            raise DocumentFormatError(
                f"{name}: cue {m.group(1) or len(cues) + 1} (line {text.count(chr(10), 0, m.start(2)) + 1}) "
                f"ends before it starts: {m.group(2)} --> {m.group(3)}"
            )
        arrow = next((line for line in sub.content.split("\n") if "-->" in line), None)
        if arrow is not None:  # srt reads a timing line it cannot parse as the previous cue's text
            at = text.index(arrow, m.start(5))
            raise DocumentFormatError(
                f"{name}: line {text.count(chr(10), 0, at) + 1}: a timing line that cannot be read: {arrow[:60]!r}"
            )
        start_ms, end_ms = (int(t.total_seconds() * 1000) for t in (sub.start, sub.end))
        cues.append((*m.span(5), start_ms, end_ms))
    return cues


def _vtt_blocks(text: str, spans: list[tuple[int, int]]) -> list[list[int]]:
    """Line indices of each block, by webvtt-py's rule: a "-->" line that cannot be this block's timings starts one."""
    blocks: list[list[int]] = []
    block: list[int] = []
    in_header = True
    for i, (s, e) in enumerate(spans):
        line = text[s:e]
        first = text[slice(*spans[block[0]])] if block else ""
        ends = not line or ("-->" in line and (in_header or len(block) > 1 or "-->" in first))
        if block and ends:
            blocks.append(block)
            block = []
            in_header = False
        if line:
            block.append(i)
    if block:
        blocks.append(block)
    return blocks


def _vtt_cues(text: str, name: str) -> list[tuple[int, int, int, int]]:
    """(text start, text end, start ms, end ms) of each WebVTT cue, or a one-line error naming the line."""
    from webvtt import Caption, vtt
    from webvtt.errors import MalformedFileError

    spans = _line_spans(text)
    lines = [text[s:e] for s, e in spans]
    if not vtt.is_valid_content(lines):
        raise DocumentFormatError(f"{name}: line 1: no WEBVTT header, so not a WebVTT file")
    cues = []
    for block in _vtt_blocks(text, spans)[1:]:
        content = [lines[i] for i in block]
        if vtt.WebVTTCueBlock.is_valid(content):
            timing = 0 if "-->" in content[0] else 1
            caption = vtt.parse_item(content)
            where = f"{name}: line {block[timing] + 1}"
            if not isinstance(caption, Caption):
                raise DocumentFormatError(f"{where}: cue timings that cannot be read: {content[timing]!r}")
            if caption.end_time < caption.start_time:
                raise DocumentFormatError(f"{where}: the cue ends before it starts: {content[timing]!r}")
            payload = block[timing + 1 :]
            start, end = (spans[payload[0]][0], spans[payload[-1]][1]) if payload else (0, 0)
            cues.append((start, end, caption.start_time.in_milliseconds(), caption.end_time.in_milliseconds()))
        elif any("-->" in line for line in content):
            raise DocumentFormatError(f"{name}: line {block[0] + 1}: a cue block that cannot be read: {content[0]!r}")
    try:
        found = len(vtt.parse(lines).captions)
    except MalformedFileError as exc:
        raise DocumentFormatError(f"{name}: not a WebVTT file ({exc})") from exc
    if found != len(cues):
        raise DocumentFormatError(f"{name}: {found} cues by webvtt-py's reading, {len(cues)} by ours")
    return cues


def _group(cues: Sequence[_Cue]) -> list[list[int]]:
    """Consecutive cues grouped into sentences (see the module's docstring)."""
    groups: list[list[int]] = []
    current: list[int] = []
    for i, cue in enumerate(cues):
        if current:
            last = cues[current[-1]]
            if (
                not cue.view
                or len(current) >= MAX_CUES_PER_UNIT
                or cue.start_ms - last.end_ms > MAX_GAP_MS
                or _DIALOGUE.match(cue.view)
                or (cue.voice is not None and last.voice is not None and cue.voice != last.voice)
            ):
                groups.append(current)
                current = []
        if not cue.view:
            continue
        current.append(i)
        if _SENTENCE_END.search(cue.view):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def parse(data: bytes, name: str, options: FormatOptions, fmt: str = "srt") -> SubtitleDocument:
    """Read an SRT (``fmt="srt"``) or WebVTT (``fmt="vtt"``) file into cue units."""
    if fmt not in ("srt", "vtt"):
        raise ValueError(f"not a subtitle format: {fmt!r}")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InputTooLargeError(f"{name}: {len(data)} bytes, more than {MAX_DOCUMENT_BYTES} for a document")
    text, codec, bom = _decode(data, name)
    if not text.strip():
        raise DocumentFormatError(f"{name}: empty subtitle file")
    spans = _srt_cues(text, name) if fmt == "srt" else _vtt_cues(text, name)
    if not spans:
        raise DocumentFormatError(f"{name}: no cues (a cue is a 'start --> end' timing line and its text)")
    vtt = fmt == "vtt"
    tags: list[_Tag] = []
    cues = []
    for start, end, start_ms, end_ms in spans:
        payload = text[start:end]
        view, inlines, prefix, voice = _read_cue_text(payload, vtt, tags)
        lines = len([line for line in _EOL.split(payload) if line.strip()])
        cues.append(_Cue(start, end, lines, view, inlines, prefix, start_ms, end_ms, voice))
    eol = "\r\n" if "\r\n" in text else "\r" if "\r" in text else "\n"
    return SubtitleDocument(fmt, text, cues, _group(cues), tags, eol, codec, bom)


def parse_srt(data: bytes, name: str, options: FormatOptions) -> SubtitleDocument:
    """:func:`parse` for SRT."""
    return parse(data, name, options, "srt")


def parse_vtt(data: bytes, name: str, options: FormatOptions) -> SubtitleDocument:
    """:func:`parse` for WebVTT."""
    return parse(data, name, options, "vtt")


def split_words(text: str, weights: Sequence[int]) -> list[tuple[int, int]]:
    """``text``'s character range for each of ``len(weights)`` cues, cut between words in proportion to ``weights``.

    Every range holds at least one word when there are as many words as cues; ranges are in
    order and together hold every word.
    """
    words = [m.span() for m in _WORD.finditer(text)]
    k, n = len(weights), len(words)
    if n < k:  # a word per cue, from the first: the last cues stay empty
        return [words[j] if j < n else (len(text), len(text)) for j in range(k)]
    first, last = words[0][0], words[-1][1]
    total = sum(max(1, w) for w in weights)

    def boundary(c: int) -> float:
        return first if c == 0 else last if c == n else (words[c - 1][1] + words[c][0]) / 2

    cuts = [0]
    acc = 0
    for j in range(1, k):
        acc += max(1, weights[j - 1])
        target = first + (last - first) * acc / total
        lo = cuts[-1] + 1 if n >= k else cuts[-1]
        hi = max(lo, n - (k - j) if n >= k else n)
        cuts.append(min(range(lo, hi + 1), key=lambda c: abs(boundary(c) - target)))
    cuts.append(n)
    return [
        (words[a][0], words[b - 1][1]) if a < b else ((words[a][0],) * 2 if a < n else (last, last))
        for a, b in itertools.pairwise(cuts)
    ]


def _line_breaks(text: str, source_lines: int, dialogue: bool) -> set[int]:
    """Positions of the spaces in a cue's text that become line breaks."""
    if source_lines < 2:
        return set()
    if dialogue:
        dashes = {p for p in range(1, len(text) - 1) if text[p] == " " and _DIALOGUE.match(text[p + 1 :])}
        if dashes:
            return dashes
    if len(text) <= LINE_WIDTH:
        return set()
    spaces = [p for p, ch in enumerate(text) if ch == " "]
    if not spaces:
        return set()
    return {min(spaces, key=lambda p: (max(p, len(text) - p - 1), p > len(text) - p - 1))}


@dataclass
class SubtitleDocument:
    """A parsed SRT or WebVTT file (see the module's docstring)."""

    format: str
    text: str
    cues: list[_Cue]
    groups: list[list[int]]
    tags: list[_Tag]
    eol: str
    codec: str
    bom: bytes
    units: list[Unit] = field(init=False)
    offsets: list[list[int]] = field(init=False)
    redistribution: list[list[tuple[int, int]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.units, self.offsets = [], []
        for group in self.groups:
            parts: list[str] = []
            inlines: list[Inline] = []
            offsets: list[int] = []
            pos = 0
            for i in group:
                cue = self.cues[i]
                offsets.append(pos)
                parts.append(cue.view)
                inlines.extend(Inline(x.start + pos, x.end + pos, x.ref, x.tag, x.attrs) for x in cue.inlines)
                pos += len(cue.view) + 1
            self.units.append(Unit(" ".join(parts), "cue", tuple(inlines)))
            self.offsets.append(offsets)

    @property
    def output_suffix(self) -> str:
        return "." + self.format

    @property
    def metadata(self) -> Mapping[str, Any]:
        meta: dict[str, Any] = {
            "format": self.format,
            "cues": len(self.cues),
            "units": len(self.units),
            "cues_per_unit": [len(g) for g in self.groups],
        }
        if self.format == "vtt":
            meta["header"] = _EOL.split(self.text, maxsplit=1)[0]
        if self.redistribution:
            meta["redistribution"] = [[list(r) for r in unit] for unit in self.redistribution]
        return meta

    def render(self, translated: Sequence[TranslatedUnit]) -> bytes:
        """The file with each unit's cues carrying ``translated[i]``, shared out as the module says."""
        if len(translated) != len(self.units):
            raise ValueError(f"{len(translated)} translations for {len(self.units)} units")
        payloads: dict[int, str] = {}
        self.redistribution = []
        for unit, group, offsets, tu in zip(self.units, self.groups, self.offsets, translated, strict=True):
            same = {(x.ref, x.start, x.end) for x in unit.inlines} == {(p.ref, p.start, p.end) for p in tu.inlines}
            if tu.text == unit.text and same:
                self.redistribution.append(
                    [(o, o + len(self.cues[i].view)) for i, o in zip(group, offsets, strict=True)]
                )
                continue
            ranges = split_words(tu.text, [len(self.cues[i].view) for i in group])
            self.redistribution.append(ranges)
            pieces: list[list[tuple[int, int, int]]] = [[] for _ in ranges]
            whole = {  # an element around a whole cue (a speaker, a cue in italics) stays around the whole cue
                x.ref: j
                for j, (i, o) in enumerate(zip(group, offsets, strict=True))
                for x in unit.inlines
                if self.cues[i].view and (x.start, x.end) == (o, o + len(self.cues[i].view))
            }
            for ref, j in whole.items():
                pieces[j].append((*ranges[j], ref))
            for s, e, ref in self._placed(unit, tu):
                if ref in whole:
                    continue
                void = self.tags[ref].close is None
                hits = [] if void or s == e else [j for j, (a, b) in enumerate(ranges) if max(s, a) < min(e, b)]
                for j in hits:
                    pieces[j].append((max(s, ranges[j][0]), min(e, ranges[j][1]), ref))
                if not hits:  # a void tag, an empty element, or one placed between cues: where its start falls
                    j = next((j for j, (_, b) in enumerate(ranges) if s <= b), len(ranges) - 1)
                    at = min(max(s, ranges[j][0]), ranges[j][1])
                    pieces[j].append((at, at, ref))
            for cue_index, (a, b), items in zip(group, ranges, pieces, strict=True):
                payloads[cue_index] = self._write_cue(self.cues[cue_index], tu.text[a:b], a, items)
        out, pos = [], 0
        for i, cue in enumerate(self.cues):
            if i in payloads:
                out.append(self.text[pos : cue.start])
                out.append(payloads[i])
                pos = cue.end
        out.append(self.text[pos:])
        return self.bom + "".join(out).encode(self.codec)

    def _placed(self, unit: Unit, tu: TranslatedUnit) -> list[tuple[int, int, int]]:
        """(start, end, ref) of each inline element in the translation; one left unplaced goes proportionally."""
        placed = {p.ref: (p.start, p.end) for p in tu.inlines}
        scale = len(tu.text) / max(1, len(unit.text))
        out = []
        for x in unit.inlines:
            s, e = placed.get(x.ref, (round(x.start * scale), round(x.end * scale)))
            out.append((max(0, min(s, len(tu.text))), max(0, min(e, len(tu.text))), x.ref))
        return out

    def _write_cue(self, cue: _Cue, raw: str, a: int, items: list[tuple[int, int, int]]) -> str:
        """One cue's new text: ``raw`` (from offset ``a`` of the translation) re-spaced, re-wrapped, tags placed."""
        where = [0] * (len(raw) + 1)  # offset in raw -> offset in the cue's text
        chars: list[str] = []
        for i, ch in enumerate(raw):
            where[i] = len(chars)
            if not ch.isspace():
                chars.append(ch)
            elif chars and not raw[i - 1].isspace():
                chars.append(" ")
        where[len(raw)] = len(chars)
        piece = "".join(chars)
        spans = []
        for s, e, ref in items:
            ps, pe = where[s - a], where[e - a]
            while ps < pe and piece[ps] == " ":
                ps += 1
            while pe > ps and piece[pe - 1] == " ":
                pe -= 1
            spans.append((ps, pe, ref))
        breaks = _line_breaks(piece, cue.lines, bool(_DIALOGUE.match(cue.view)))
        return cue.prefix + self._markup(piece, spans, breaks)

    def _markup(self, piece: str, spans: list[tuple[int, int, int]], breaks: set[int]) -> str:
        """``piece`` with its tags written at their positions, escaped for WebVTT, with line breaks."""
        vtt = self.format == "vtt"
        out: list[str] = []
        for p in range(len(piece) + 1):
            closing = sorted((s for s in spans if s[1] == p and s[0] < p), key=lambda s: (-s[0], -s[2]))
            for _, _, ref in closing:
                tag = self.tags[ref]
                if not (tag.close == "" and p == len(piece)):
                    out.append(tag.close or f"</{tag.name}>")
            opening = sorted((s for s in spans if s[0] == p), key=lambda s: (s[1] > p, -s[1], s[2]))
            for s, e, ref in opening:
                tag = self.tags[ref]
                out.append(tag.open)
                if e == s and tag.close is not None:
                    out.append(tag.close or f"</{tag.name}>")
            if p < len(piece):
                ch = piece[p]
                if p in breaks:
                    out.append(self.eol)
                elif vtt and ch in "&<>":
                    out.append({"&": "&amp;", "<": "&lt;", ">": "&gt;"}[ch])
                else:
                    out.append(ch)
        return "".join(out)
