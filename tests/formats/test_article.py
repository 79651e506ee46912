"""``--html article``: the main article of eight real pages as a standalone English HTML5 document."""

from __future__ import annotations

import re

import lxml.html
import pytest

from pipeline.formats import article
from pipeline.formats.base import FormatOptions, Placed, TranslatedUnit
from tests.conftest import shared_path
from tests.formats.test_html import PAGES, rotate, translate

ARTICLE = FormatOptions(html="article")
# scmp's saved copy holds no article text (its body is rendered by a script): only a caption is found.
NO_ARTICLE = {"scmp.com.playbook.html"}
# The pages whose article text links elsewhere (as their source shows).
WITH_LINKS = {
    "dw.com.colonial.html",
    "en.wikipedia.org.tsne.html",
    "heise.de.lithium.html",
    "nature.com.telescope.html",
    "reuters.com.parasite.html",
    "theverge.com.ios13.html",
}

PAGE = """<!DOCTYPE html><html lang="nl"><head><title>Kabinet valt | Het Nieuws</title>
<script>var tracker = 1;</script></head><body>
<nav><a href="/">Home</a> <a href="/binnenland">Binnenland</a></nav>
<header><div class="logo">Het Nieuws</div></header>
<main><article><h1>Kabinet valt</h1>
<p class="auteur">Door Jan Jansen</p>
<p>Het kabinet is vandaag gevallen na een urenlang debat in de Tweede Kamer over de begroting voor volgend jaar.
De premier bood <a href="https://www.example.nl/ontslag">zijn ontslag</a> aan bij de koning.</p>
<p>Volgens ingewijden was het overleg <em>zeer moeizaam</em> verlopen. Meerdere partijen wilden niet langer
verder met de huidige coalitie, zo meldden bronnen rond het <a href="javascript:alert(1)">Binnenhof</a>.</p>
<h2>Verkiezingen</h2>
<p>Nieuwe verkiezingen worden waarschijnlijk in het voorjaar gehouden. De kiesraad moet nog een datum bepalen,
maar partijen bereiden zich nu al voor op een korte en felle campagne.</p>
<blockquote><p>Dit is een zwarte dag voor het land, zei een Kamerlid na afloop.</p></blockquote>
</article></main>
<footer><p>Copyright Het Nieuws</p><a href="/privacy">Privacy</a></footer></body></html>"""


def parse_article(data: bytes) -> article.html.HtmlDocument:
    return article.parse(data, "page.html", ARTICLE)


@pytest.mark.parametrize("name", PAGES)
def test_real_pages_give_a_titled_article_or_fall_back_to_the_page(name: str) -> None:
    data = shared_path("documents", "html", name).read_bytes()
    doc = parse_article(data)
    if name in NO_ARTICLE:
        assert doc.metadata["extraction"] == "page"
        return
    assert doc.metadata["extraction"] == "article"
    titles = [u.text for u in doc.units if u.kind == "title"]
    assert titles == [doc.metadata["title"]] and titles[0]
    assert sum(u.kind == "paragraph" for u in doc.units) >= 5
    assert doc.metadata["date"] and doc.metadata["url"].startswith("https://")
    out = lxml.html.document_fromstring(translate(doc))
    assert out.get("lang") == "en"
    assert out.find("head/title").text == rotate(titles[0]) == out.find("body/article/header/h1").text
    assert len(out.findall("body/article//p")) >= 5


@pytest.mark.parametrize("name", sorted(WITH_LINKS))
def test_real_articles_keep_their_links_with_their_targets(name: str) -> None:
    doc = parse_article(shared_path("documents", "html", name).read_bytes())
    links = [i for u in doc.units for i in u.inlines if i.tag == "a"]
    assert links and all(link.attrs.get("href") for link in links)
    body = lxml.html.document_fromstring(translate(doc)).find("body/article")
    written = iter(a.get("href") for a in body.iter("a") if a.getparent().get("class") != "source")
    assert all(link.attrs["href"] in written for link in links)  # in the same order (a link without letters is no unit)


def test_a_news_page_becomes_a_clean_english_article() -> None:
    doc = parse_article(PAGE.encode())
    assert doc.metadata["extraction"] == "article"
    assert doc.metadata["title"] == "Kabinet valt"
    texts = [u.text for u in doc.units]
    assert "Home" not in texts and not any("Copyright" in t for t in texts)
    assert texts.count("Kabinet valt") == 2  # <title> and <h1>, not a third time from the body
    out = translate(doc).decode()
    assert out.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert '<a href="https://www.example.nl/ontslag">mvwa bagfynt</a>' in out
    assert "<em>mrre zbrvmnnz</em>" in out and "javascript" not in out and "<a>Ovaaraubs</a>" in out
    assert "<blockquote><p>Qvg vf" in out and "<h2>Irexvrmvatra</h2>" in out
    assert "tracker" not in out and "Binnenland" not in out


def test_the_byline_is_not_translated() -> None:
    source = PAGE.replace("<head>", '<head><meta name="author" content="Jan Jansen">')
    doc = parse_article(source.encode())
    assert doc.metadata["author"] == "Jan Jansen"
    out = translate(doc).decode()
    assert re.search(r'<p class="byline" translate="no"><span class="author">Jan Jansen</span>', out)
    assert "Jan Jansen" not in [u.text for u in doc.units]


def test_a_page_without_an_article_falls_back_to_page_mode() -> None:
    source = (
        b"<html><body><nav><a href='/'>Home</a> <a href='/over'>Over ons</a></nav><script>x()</script></body></html>"
    )
    doc = parse_article(source)
    assert doc.metadata["extraction"] == "page"
    assert [u.text for u in doc.units] == ["Home Over ons"]
    assert translate(doc) == source.replace(b"Home", b"Ubzr").replace(b"Over ons", b"Bire baf")


def test_article_mode_never_expands_dtd_entities() -> None:
    doctype = '<!DOCTYPE html [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;"><!ENTITY x SYSTEM "file:///etc/passwd">]>'
    source = PAGE.replace("<!DOCTYPE html>", doctype).replace("urenlang debat", "urenlang &lol2; debat &x;")
    doc = parse_article(source.encode())
    out = doc.render(
        [TranslatedUnit(u.text, tuple(Placed(i.ref, i.start, i.end, "x") for i in u.inlines)) for u in doc.units]
    )
    assert b"lollol" not in out and b"root:" not in out
    assert b"urenlang &amp;lol2; debat &amp;x;" in out
