"""Markdown: text replaced in the source, every other byte and the token structure kept."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import EncodingError
from pipeline.formats import markdown
from pipeline.formats.base import FormatOptions, Inline, Placed, TranslatedUnit, Unit

NEWSLETTER = """\
---
title: "Nieuwsbrief week 12"
tags: [politiek, economie]
---

# De *grote* verkiezingen van 2024

Het kabinet is **woensdag** gevallen na _lang_ overleg in
[Den Haag](https://nos.nl/artikel/1 "NOS") en de oppositie
reageerde `verbaasd` op het nieuws.\\
Een harde regel.

![Een kaart van Nederland](kaart.png)

> De minister zei dat het *goed* ging.
> Volgens [de krant][ref] was dat niet zo.

- Eerste punt met een [link].
- Tweede punt met <span class="x">opmaak</span> en ~~doorhalen~~.
  1. Genest punt met ***nadruk*** erin

Kop met onderstreping
---------------------

| Partij | Zetels |
|--------|-------:|
| VVD \\| liberaal | 24 |
| `code` in cel | **34** |

```python
print("niet vertalen")  # *geen* nadruk
```

    ingesprongen code

<div class="kader">
  <p>HTML-blok blijft</p>
</div>

Zie <https://example.org/pad> voor meer &amp; beter \\*niet nadruk\\*.

***

[ref]: https://example.org/krant "De Krant"
[link]: https://example.org/link
"""

BULLETIN = """\
Kort nieuws
===========

1. De **trein** naar [Utrecht](https://ns.nl/utrecht) rijdt niet.
2. Morgen is het *droog*, zegt het [KNMI][].

> **Let op:** de `A2` is dicht
> tot en met zondag.

Een gewone alinea met een afbeelding ![logo][logo] en tekst.

[KNMI]: https://knmi.nl
[logo]: logo.png "Logo"
"""

SAMPLES = {"newsletter": NEWSLETTER, "bulletin": BULLETIN, "crlf": BULLETIN.replace("\n", "\r\n")}


def swap(text: str) -> str:
    return "".join(c.swapcase() if len(c.swapcase()) == 1 else c for c in text)


def swapped_outside_code(unit: Unit) -> str:
    """The swapped text as it reads back: code spans and autolinks come back as they were."""
    verbatim = [
        i for i in unit.inlines if i.tag == "code" or (i.tag == "a" and unit.text[i.start : i.end] == i.attrs["href"])
    ]
    return "".join(c if any(v.start <= k < v.end for v in verbatim) else swap(c) for k, c in enumerate(unit.text))


def same_places(unit: Unit, text: str) -> TranslatedUnit:
    return TranslatedUnit(text, tuple(Placed(i.ref, i.start, i.end, "aligned") for i in unit.inlines))


def tokens(source: str) -> list[Any]:
    return list(markdown._parser().parse(source, {}))


def token_types(source: str, *, children: bool = True) -> list[str]:
    out = []
    for token in tokens(source):
        out.append(token.type)
        if children and token.children:
            out.extend(f"  {c.type}" for c in token.children if c.type != "text")
    return out


def render(source: str, translate: Any) -> tuple[markdown.MarkdownDocument, str]:
    doc = markdown.parse(source.encode(), "sample.md", FormatOptions())
    return doc, doc.render([translate(u) for u in doc.units]).decode()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_markdown_untouched_render_reproduces_the_input_exactly(name: str) -> None:
    _, out = render(SAMPLES[name], lambda u: same_places(u, u.text))
    assert out == SAMPLES[name]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_markdown_swapcase_keeps_every_token_type(name: str) -> None:
    source = SAMPLES[name]
    doc, out = render(source, lambda u: same_places(u, swap(u.text)))
    assert token_types(out) == token_types(source)  # blocks, inline markup, soft and hard breaks
    again = markdown.parse(out.encode(), "out.md", FormatOptions())
    assert [u.text for u in again.units] == [swapped_outside_code(u) for u in doc.units]
    assert [[(i.start, i.end, i.tag) for i in u.inlines] for u in again.units] == [
        [(i.start, i.end, i.tag) for i in u.inlines] for u in doc.units
    ]
    assert out.count("\r\n") == source.count("\r\n")


def test_markdown_code_front_matter_html_and_definitions_are_byte_identical() -> None:
    _, out = render(NEWSLETTER, lambda u: same_places(u, swap(u.text)))
    for kept in (
        '---\ntitle: "Nieuwsbrief week 12"\ntags: [politiek, economie]\n---\n',
        '```python\nprint("niet vertalen")  # *geen* nadruk\n```\n',
        "\n    ingesprongen code\n",
        '<div class="kader">\n  <p>HTML-blok blijft</p>\n</div>\n',
        '[ref]: https://example.org/krant "De Krant"\n[link]: https://example.org/link\n',
        "`verbaasd`",
        "<https://example.org/pad>",
        '<span class="x">',
        "|--------|-------:|",
        "\n***\n",
    ):
        assert kept in out
    assert out.startswith('---\ntitle: "Nieuwsbrief week 12"')


def test_markdown_units_kinds_and_inline_elements() -> None:
    doc = markdown.parse(NEWSLETTER.encode(), "n.md", FormatOptions())
    kinds = Counter(u.kind for u in doc.units)
    assert kinds == {"heading": 2, "paragraph": 3, "quote": 1, "list_item": 3, "cell": 6}
    by_text = {u.text: u for u in doc.units}
    body = next(u for u in doc.units if u.text.startswith("Het kabinet"))
    assert body.text.endswith("op het nieuws.\nEen harde regel.")  # soft break a space, hard break a newline
    assert [(i.tag, body.text[i.start : i.end]) for i in body.inlines] == [
        ("strong", "woensdag"),
        ("em", "lang"),
        ("a", "Den Haag"),
        ("code", "verbaasd"),
    ]
    assert dict(body.inlines[2].attrs) == {"href": "https://nos.nl/artikel/1", "title": "NOS"}
    assert by_text["VVD | liberaal"].kind == "cell"
    assert "Zie https://example.org/pad voor meer & beter *niet nadruk*." in by_text
    assert [i.tag for i in by_text["Een kaart van Nederland"].inlines] == ["img"]
    assert doc.metadata == {"title": "Nieuwsbrief week 12"}
    assert not any("niet vertalen" in u.text or "HTML-blok" in u.text for u in doc.units)


def hrefs(source: str) -> list[str]:
    found = []
    for token in tokens(source):
        for child in token.children or []:
            if child.type in ("link_open", "image"):
                found.append(str(child.attrs.get("href", child.attrs.get("src"))))
    return found


def test_markdown_links_keep_their_targets_when_the_text_changes() -> None:
    text = {"Eerste punt met een link.": "First item with a hyperlink.", "Volgens": "According"}

    def translate(unit: Unit) -> TranslatedUnit:
        if unit.text == "Eerste punt met een link.":
            new = text[unit.text]
            start = new.index("hyperlink")
            return TranslatedUnit(new, (Placed(unit.inlines[0].ref, start, start + 9, "aligned"),))
        return same_places(unit, swap(unit.text))

    _, out = render(NEWSLETTER, translate)
    assert hrefs(out) == hrefs(NEWSLETTER)
    assert "[hyperlink][link]." in out  # a shortcut reference keeps its label


def test_markdown_code_span_is_restored_verbatim_whatever_the_translation_says() -> None:
    source = "Typ `pip install nl2en` in de terminal.\n"

    def translate(unit: Unit) -> TranslatedUnit:
        new = "Type PIP INSTALLEREN in the terminal."
        return TranslatedUnit(new, (Placed(unit.inlines[0].ref, 5, 20, "copied"),))

    _, out = render(source, translate)
    assert out == "Type `pip install nl2en` in the terminal.\n"


def test_markdown_translated_text_with_markdown_characters_stays_text() -> None:
    source = "Een *korte* zin.\n"

    def translate(unit: Unit) -> TranslatedUnit:
        new = "# 1. A [short] *sentence* with `ticks` & <b> | pipes_here"
        return TranslatedUnit(new, (Placed(unit.inlines[0].ref, 14, 24, "aligned"),))

    _, out = render(source, translate)
    assert token_types(out) == token_types(source)
    again = markdown.parse(out.encode(), "o.md", FormatOptions())
    assert again.units[0].text == "# 1. A [short] *sentence* with `ticks` & <b> | pipes_here"


def test_markdown_emphasis_inside_a_word_moves_to_the_word() -> None:
    source = "De *grote* man.\n"
    new = "The tall-man."
    _, out = render(source, lambda u: TranslatedUnit(new, (Placed(u.inlines[0].ref, 5, 9, "aligned"),)))
    assert token_types(out) == token_types(source)


def test_markdown_rejects_text_that_is_not_utf8() -> None:
    with pytest.raises(EncodingError, match=r"^bad\.md: not UTF-8"):
        markdown.parse("caf\u00e9".encode("latin-1"), "bad.md", FormatOptions())


# --- random placements -----------------------------------------------------------------------


def nesting(unit: Unit) -> dict[int | None, list[Inline]]:
    """Each inline's parent: the innermost earlier inline whose span holds it."""
    children: dict[int | None, list[Inline]] = {}
    for inline in unit.inlines:
        holders = [o for o in unit.inlines if o.ref < inline.ref and o.start <= inline.start and inline.end <= o.end]
        parent = max(holders, key=lambda o: o.ref).ref if holders else None
        children.setdefault(parent, []).append(inline)
    return children


def random_placements(draw: Any, unit: Unit, size: int) -> tuple[Placed, ...]:
    children = nesting(unit)
    placed: list[Placed] = []

    def place(parent: int | None, lo: int, hi: int) -> None:
        kids = children.get(parent, [])
        cuts = sorted(draw(st.lists(st.integers(lo, hi), min_size=2 * len(kids), max_size=2 * len(kids))))
        order = draw(st.permutations(kids))
        for k, inline in enumerate(order):
            s, e = cuts[2 * k], cuts[2 * k + 1]
            placed.append(Placed(inline.ref, s, e, "proportional"))
            place(inline.ref, s, e)

    place(None, 0, size)
    return tuple(sorted(placed, key=lambda p: p.ref))


ALPHABET = "abcdefghij ABC  xyz.,;:!?'\"()-*_[]`<>#|&~\\0123456789"
MARKUP = {"link_open", "link_close", "image", "code_inline", "html_inline"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(["newsletter", "bulletin"]))
def test_markdown_random_placements_keep_the_token_types(data: Any, name: str) -> None:
    source = SAMPLES[name]
    doc = markdown.parse(source.encode(), "r.md", FormatOptions())
    translated = []
    for unit in doc.units:
        text = data.draw(st.text(alphabet=ALPHABET, min_size=1, max_size=60).filter(lambda t: t.strip()))
        translated.append(TranslatedUnit(text, random_placements(data.draw, unit, len(text))))
    out = doc.render(translated).decode()
    assert token_types(out, children=False) == token_types(source, children=False)
    before = [t for t in tokens(source) if t.type == "inline"]
    after = [t for t in tokens(out) if t.type == "inline"]
    assert len(after) == len(before)
    for old, new in zip(before, after, strict=True):
        kept = Counter(c.type for c in old.children or [] if c.type in MARKUP)
        assert Counter(c.type for c in new.children or [] if c.type in MARKUP) == kept
    # emphasis survives wherever the translation gave it something to cover
    covered = all(
        tu.text[p.start : p.end].strip()
        for unit, tu in zip(doc.units, translated, strict=True)
        for inline, p in zip(unit.inlines, tu.inlines, strict=True)
        if inline.tag in ("em", "strong", "s")
    )
    if covered:
        assert emphasis(out) == emphasis(source)
    else:
        assert emphasis(out) <= emphasis(source)


def emphasis(source: str) -> Counter[str]:
    return Counter(
        c.type for t in tokens(source) for c in t.children or [] if c.type in ("em_open", "strong_open", "s_open")
    )
