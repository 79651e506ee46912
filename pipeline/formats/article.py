"""``--html article``: a page's main article, as a clean standalone English HTML5 document.

trafilatura finds the article in a page full of menus, adverts and comments, and its metadata
(title, author, site, URL, description; the date through htmldate). It is chosen because it is
maintained, scores best among open extractors on news pages, keeps links and emphasis
(``include_links``, ``include_formatting``) and returns the extracted tree itself
(``bare_extraction``), so nothing is re-parsed from a serialised string. That tree (trafilatura's
XML: ``p``, ``head``, ``list``/``item``, ``quote``, ``table``/``row``/``cell``, ``hi``, ``ref``,
``lb``, ``graphic``; or plain HTML when one of its fallback extractors won) is written as HTML5:

``<html lang>`` (the target language once rendered), ``<title>`` and a description ``<meta>``,
then ``<article>`` with the title as ``<h1>``, a byline (author, ``<time>``, site; marked
``translate="no"``, names are not translated), the blocks with their links and emphasis, and a
footer linking the source. Only known tags are kept, with ``href``/``src``/``alt``/``title``;
links to ``javascript:`` or ``data:`` lose their target. The document is then read by
:mod:`pipeline.formats.html` like any page, so units, inline elements and rendering are the
page format's. Where trafilatura finds no article (or less than :data:`MIN_ARTICLE_CHARS` of text) the page
itself is translated in page mode, and ``metadata["extraction"]`` says ``"page"``, not ``"article"``.
"""

from __future__ import annotations

import logging
import re
from html import escape
from typing import TYPE_CHECKING, Any

from pipeline.formats import html
from pipeline.formats.base import FormatOptions

if TYPE_CHECKING:
    from lxml.etree import _Element

_HI = {"#b": "strong", "#i": "em", "#u": "u", "#t": "code", "#sub": "sub", "#sup": "sup"}
_KEPT_TAGS = frozenset(
    {"p", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "table", "thead"}
    | {"tbody", "tr", "td", "th", "caption", "a", "em", "i", "strong", "b", "u", "sub", "sup", "br", "img"}
    | {"figure", "figcaption", "pre", "code", "del", "s", "div", "q", "cite", "abbr", "mark", "small", "time"}
)
MIN_ARTICLE_CHARS = 200
"""An extraction with less text than this is no article (a menu, a cookie notice): the page is translated instead."""
_VOID = frozenset({"br", "img"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_RENAMED = {"list": "ul", "item": "li", "quote": "blockquote", "row": "tr", "cell": "td", "lb": "br"} | {
    "graphic": "img",
    "ref": "a",
}
_INLINE_PARENTS = frozenset({"p", "head", "item", "cell", "hi", "ref", "li", "td", "th", "a", "em", "strong"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel", "ftp"})  # a link elsewhere (javascript:) loses its target
_HTML_LANG = re.compile(r"""<html\b[^>]*?\blang\s*=\s*["']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)""", re.I)


def parse(data: bytes, name: str, options: FormatOptions) -> html.HtmlDocument:
    """The article of the page ``data`` as a standalone HTML5 document, or the page itself if none is found."""
    text, _, _ = html.decode_page(data, name)
    document = _extract(text)
    body = document.body if document is not None else None
    if body is None or len(_text_of(body).strip()) < MIN_ARTICLE_CHARS:
        page = html.parse(data, name, options)
        page.metadata["extraction"] = "page"
        return page
    meta = {key: getattr(document, key, None) for key in ("title", "author", "date", "sitename", "url", "description")}
    found = _HTML_LANG.search(text, 0, 65536)
    language = getattr(document, "language", None) or (found.group(1) if found else "nl")
    first = body[0] if len(body) and not (body.text or "").strip() else None
    if first is not None and str(first.tag) in _HEADINGS | {"head"} and _same(_text_of(first), meta["title"]):
        body.text = (body.text or "") + (first.tail or "")  # the title opens the body too: it is the <h1> already
        body.remove(first)
    article = html.parse(_document(meta, _body_html(body), language).encode("utf-8"), name, options)
    article.metadata.update(meta, language=language, extraction="article")
    return article


def _text_of(el: _Element) -> str:
    from lxml import etree

    return str(etree.tostring(el, method="text", encoding="unicode", with_tail=False))


def _same(a: str, b: str | None) -> bool:
    return b is not None and a.split() == b.split()


def _extract(text: str) -> Any:
    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.ERROR)  # "discarding data" is an answer, not a warning
    try:
        return trafilatura.bare_extraction(
            text,
            include_links=True,
            include_formatting=True,
            include_images=True,
            include_tables=True,
            include_comments=False,
            with_metadata=True,
        )
    except Exception:  # an extractor that fails on hostile markup means no article: the page mode still works
        return None


def _tag(el: _Element) -> tuple[str | None, dict[str, str]]:
    """The HTML tag an extracted element becomes (None: only its content is kept) and its kept attributes."""
    tag, rend = str(el.tag).lower(), el.get("rend") or ""
    if tag == "head" or tag in _HEADINGS:  # h1 is the article's title: headings inside it start at h2
        digits = (rend if tag == "head" else tag)[1:]
        return f"h{min(max(int(digits) if digits.isdigit() else 3, 2), 6)}", {}
    if tag == "hi":
        return _HI.get(rend, "em"), {}
    if tag == "code":
        parent = el.getparent()
        return ("code" if parent is not None and str(parent.tag) in _INLINE_PARENTS else "pre"), {}
    tag = _RENAMED.get(tag, tag)
    if tag == "ul" and rend == "ol":
        tag = "ol"
    if tag == "td" and el.get("role") == "head":
        tag = "th"
    if tag == "a":
        href = el.get("target") or el.get("href") or ""
        return "a", ({"href": href} if href and _safe(href) else {})
    if tag == "img":
        src = el.get("src") or ""
        attrs = {"src": src} if src and _safe(src) else {}
        return "img", attrs | {k: el.get(k) or "" for k in ("alt", "title") if el.get(k)}
    return (tag if tag in _KEPT_TAGS else None), {}


def _safe(url: str) -> bool:
    scheme = _SCHEME.match(re.sub(r"[\x00-\x20]", "", url))  # browsers ignore spaces and controls in a scheme
    return scheme is None or scheme.group(1).lower() in _SAFE_SCHEMES


def _body_html(body: _Element) -> str:
    """The extracted tree as HTML, walked without recursion; text escaped, unknown tags unwrapped."""
    from lxml import etree

    out: list[str] = []
    closing: dict[int, str] = {}
    for action, el in etree.iterwalk(body, events=("start", "end")):
        markup = isinstance(el.tag, str) and el is not body
        if action == "start":
            if markup:
                tag, attrs = _tag(el)
                if tag is not None:
                    out.append(f"<{tag}" + "".join(f' {k}="{escape(v)}"' for k, v in attrs.items()) + ">")
                    closing[id(el)] = "" if tag in _VOID else f"</{tag}>"
            if isinstance(el.tag, str):
                out.append(escape(el.text or "", quote=False))
        else:
            out.append(closing.pop(id(el), ""))
            if el is not body:
                out.append(escape(el.tail or "", quote=False))
    return "".join(out)


def _document(meta: dict[str, Any], body: str, language: str) -> str:
    def e(value: Any) -> str:
        return escape(str(value or ""))

    title, url = meta.get("title") or "", meta.get("url") or ""
    head = ['<meta charset="utf-8">', f"<title>{e(title)}</title>"]
    if meta.get("description"):
        head.append(f'<meta name="description" content="{e(meta["description"])}">')
    if url:
        head.append(f'<link rel="canonical" href="{e(url)}">')
    byline = [f'<span class="author">{e(meta["author"])}</span>'] if meta.get("author") else []
    if meta.get("date"):
        byline.append(f'<time datetime="{e(meta["date"])}">{e(meta["date"])}</time>')
    if meta.get("sitename"):
        byline.append(f'<span class="site">{e(meta["sitename"])}</span>')
    header = [f"<h1>{e(title)}</h1>"] if title else []
    if byline:
        header.append(f'<p class="byline" translate="no">{" · ".join(byline)}</p>')
    source = (
        f'<footer><p class="source" translate="no"><a href="{e(url)}">{e(meta.get("sitename") or url)}</a></p></footer>'
    )
    lines = [
        "<!DOCTYPE html>",
        f'<html lang="{e(language)}">',
        "<head>",
        *head,
        "</head>",
        "<body>",
        "<article>",
        "<header>",
        *header,
        "</header>",
        body.strip(),
        *([source] if url else []),
        "</article>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(lines)
