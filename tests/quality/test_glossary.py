"""Glossary: loading, matching (property tests), forcing, checking, cache digests, consistency."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.quality.glossary import (
    Glossary,
    GlossaryEntry,
    GlossaryError,
    builtin_glossary,
    check_terms,
    consistency_table,
    force_terms,
    load_glossary,
    parse_toml,
    parse_tsv,
    resolve_glossary,
)

# --- matching: property tests ---------------------------------------------------------------

WORDS = ["Aa", "Bb", "Cc", "Dë", "aa", "Aas", "Bbs"]
SEPARATORS = [" ", "  ", ", ", ". ", "-", "'", "’s ", "(", ")"]


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char in "_-"


def _occurrences(text: str, glossary: Glossary) -> list[tuple[int, int]]:
    """Every boundary-respecting occurrence of every form, found by brute force."""
    forms = {nl for entry in glossary for nl, _ in entry.all_forms()}
    found = []
    for form in forms:
        for start in range(len(text)):
            end = start + len(form)
            if text.startswith(form, start):
                before = text[start - 1] if start else ""
                after = text[end] if end < len(text) else ""
                if not (before and _is_word_char(before)) and not (after and _is_word_char(after)):
                    found.append((start, end))
    return found


glossaries = st.lists(
    st.lists(st.sampled_from(WORDS[:4]), min_size=1, max_size=3).map(" ".join), min_size=1, max_size=5, unique=True
).map(lambda terms: Glossary(tuple(GlossaryEntry(t, f"EN<{t}>") for t in terms)))
texts = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=12).map(
    lambda parts: "".join(w + s for w, s in parts)
)


@settings(max_examples=300, deadline=None)
@given(glossary=glossaries, text=texts)
def test_glossary_matches_rebuild_the_source(glossary: Glossary, text: str) -> None:
    matches = glossary.find(text)
    position, rebuilt = 0, []
    for match in matches:
        assert match.start >= position, "matches overlap or are out of order"
        assert text[match.start : match.end] == match.nl
        rebuilt += [text[position : match.start], match.nl]
        position = match.end
    rebuilt.append(text[position:])
    assert "".join(rebuilt) == text


@settings(max_examples=300, deadline=None)
@given(glossary=glossaries, text=texts)
def test_glossary_never_matches_inside_a_longer_word(glossary: Glossary, text: str) -> None:
    for match in glossary.find(text):
        assert match.start == 0 or not _is_word_char(text[match.start - 1])
        assert match.end == len(text) or not _is_word_char(text[match.end])


def _text_of_terms(glossary: Glossary) -> st.SearchStrategy[str]:
    """Texts made mostly of the glossary's own terms, so that candidates overlap often."""
    pieces = st.sampled_from([e.nl for e in glossary] + WORDS)
    return st.lists(st.tuples(pieces, st.sampled_from([" ", " ", " ", ", ", "-"])), max_size=8).map(
        lambda parts: "".join(w + s for w, s in parts)
    )


@settings(max_examples=400, deadline=None)
@given(data=st.data(), glossary=glossaries)
def test_glossary_longest_match_wins_every_overlap(data: st.DataObject, glossary: Glossary) -> None:
    text = data.draw(_text_of_terms(glossary))
    chosen = {(m.start, m.end) for m in glossary.find(text)}
    for start, end in _occurrences(text, glossary):
        if (start, end) in chosen:
            continue
        blockers = [(s, e) for s, e in chosen if s < end and start < e]
        assert blockers, f"occurrence {text[start:end]!r} at {start} neither chosen nor overlapped"
        assert any(e - s >= end - start for s, e in blockers), "a shorter match beat a longer one"


@settings(max_examples=200, deadline=None)
@given(glossary=glossaries, text=texts)
def test_glossary_forced_source_maps_back_to_the_original(glossary: Glossary, text: str) -> None:
    forced = force_terms(text, glossary)
    restored, position = [], 0
    for match, (start, end) in zip(forced.matches, forced.spans, strict=True):
        assert forced.text[start:end] == match.en
        restored += [forced.text[position:start], match.nl]
        position = end
    restored.append(forced.text[position:])
    assert "".join(restored) == text
    for match, (start, _) in zip(forced.matches, forced.spans, strict=True):
        assert forced.original_offset(start) == match.start


@settings(max_examples=100, deadline=None)
@given(
    name=st.from_regex(r"[A-Z][a-zë]{2,8}", fullmatch=True),
    mark=st.sampled_from(["s", "'s", "’s"]),
    tail=st.sampled_from(["", " zei", ", toen", "."]),
)
def test_glossary_genitives_map_to_english_possessive(name: str, mark: str, tail: str) -> None:
    glossary = Glossary((GlossaryEntry(name, "Zed"),))
    (match,) = glossary.find(f"Dat is {name}{mark}{tail}")
    assert (match.nl, match.en) == (name + mark, "Zed's")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Poetins toekomst", [("Poetins", "Putin's")]),
        ("Loekasjenko's land", [("Loekasjenko's", "Lukashenko's")]),
        ("Loekasjenko’s land", [("Loekasjenko’s", "Lukashenko's")]),
        ("Wit-Rusland en Rusland", [("Wit-Rusland", "Belarus"), ("Rusland", "Russia")]),
        ("de Zuid-Russische stad Sotsji", [("Sotsji", "Sochi")]),
        ("Aleksandr Loekasjenko", [("Aleksandr Loekasjenko", "Alexander Lukashenko")]),
        ("De Wit-Russische president", [("Wit-Russische", "Belarusian")]),
        ("poetin in kleine letters", []),
        ("Poetinisme en Moskouse", []),
        ("in Den Haag en Sint-Petersburg", [("Den Haag", "The Hague"), ("Sint-Petersburg", "Saint Petersburg")]),
    ],
)
def test_glossary_builtin_matches(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(m.nl, m.en) for m in builtin_glossary().find(text)] == expected


def test_glossary_overlapping_terms_prefer_the_longest() -> None:
    glossary = Glossary(
        (GlossaryEntry("Den Haag", "The Hague"), GlossaryEntry("Haag", "Hague"), GlossaryEntry("Den", "Den"))
    )
    assert [m.nl for m in glossary.find("Den Haag, Haag en Den")] == ["Den Haag", "Haag", "Den"]
    # A longer candidate further right beats a shorter one it overlaps on the left.
    shifted = Glossary((GlossaryEntry("A B", "x"), GlossaryEntry("B C D", "y")))
    assert [m.nl for m in shifted.find("A B C D")] == ["B C D"]


# --- the built-in glossary and loading ------------------------------------------------------


def test_glossary_builtin_entries_are_sourced_and_unique() -> None:
    raw = tomllib.loads(Path("pipeline/data/glossary.toml").read_text(encoding="utf-8"))["term"]
    glossary = builtin_glossary()
    assert len(glossary) == len(raw) >= 50
    assert len({e.nl for e in glossary}) == len(glossary)
    for entry in glossary:
        assert entry.source.startswith("Wikipedia: "), entry
        assert entry.kind in {"person", "place", "organisation"}, entry
        assert entry.nl != entry.en, entry
    expected = {
        "Loekasjenko": "Lukashenko",
        "Poetin": "Putin",
        "Jeltsin": "Yeltsin",
        "Sotsji": "Sochi",
        "Sint-Petersburg": "Saint Petersburg",
        "Wit-Rusland": "Belarus",
        "Moskou": "Moscow",
        "Verenigde Naties": "United Nations",
        "Europese Unie": "European Union",
        "Den Haag": "The Hague",
    }
    assert {e.nl: e.en for e in glossary if e.nl in expected} == expected


def test_glossary_load_tsv_and_toml(tmp_path: Path) -> None:
    tsv = tmp_path / "g.tsv"
    tsv.write_text("# names\nFoo\tBar\tWikipedia: Bar\n\nBaz qux\tQuux\n", encoding="utf-8")
    assert [(e.nl, e.en, e.source) for e in load_glossary(tsv)] == [
        ("Foo", "Bar", "Wikipedia: Bar"),
        ("Baz qux", "Quux", ""),
    ]
    toml = tmp_path / "g.toml"
    toml.write_text(
        '[[term]]\nnl = "Foo"\nen = "Bar"\nforms = { "Fooër" = "Barian" }\ngenitive = false\n', encoding="utf-8"
    )
    (entry,) = load_glossary(toml)
    assert entry.all_forms() == (("Foo", "Bar"), ("Fooër", "Barian"))


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (parse_tsv, "only-one-column\n"),
        (parse_tsv, "\tEmpty Dutch\n"),
        (parse_toml, "[[term]]\nnl = 'x'\n"),
        (parse_toml, "[[term]]\nnl = 'x'\nen = 'y'\nforms = ['z']\n"),
        (parse_toml, "not = [valid"),
        (parse_toml, "term = 3"),
    ],
)
def test_glossary_bad_files_raise_one_clear_error(parse: object, text: str) -> None:
    with pytest.raises(GlossaryError):
        parse(text, "bad")  # type: ignore[operator]


def test_glossary_unreadable_file_raises(tmp_path: Path) -> None:
    with pytest.raises(GlossaryError, match="cannot read"):
        load_glossary(tmp_path / "absent.tsv")


def test_glossary_user_file_overrides_builtin(tmp_path: Path) -> None:
    path = tmp_path / "mine.tsv"
    path.write_text("Kiev\tKiev\nGroningen\tGroningen City\n", encoding="utf-8")
    merged = resolve_glossary(path)
    by_nl = {e.nl: e.en for e in merged}
    assert by_nl["Kiev"] == "Kiev" and by_nl["Groningen"] == "Groningen City" and by_nl["Poetin"] == "Putin"
    assert [e.nl for e in resolve_glossary(path, builtin=False)] == ["Kiev", "Groningen"]
    assert len(resolve_glossary(None, builtin=False)) == 0


# --- checking the output --------------------------------------------------------------------


def test_glossary_check_terms_statuses_and_repair() -> None:
    glossary = builtin_glossary()
    source = "Poetin sprak in Sotsji met Loekasjenko over Moskou."
    matches = force_terms(source, glossary).matches
    target, records = check_terms("Putin spoke in Sotsji with Loekashenko about Moscow.", matches)
    assert target == "Putin spoke in Sochi with Loekashenko about Moscow."
    assert [(r.nl, r.status, r.rendered) for r in records] == [
        ("Poetin", "applied", "Putin"),
        ("Sotsji", "repaired", "Sochi"),
        ("Loekasjenko", "missing", ""),
        ("Moskou", "applied", "Moscow"),
    ]
    assert [(r.start, r.end) for r in records] == [(m.start, m.end) for m in matches]
    assert all(source[r.start : r.end] == r.nl for r in records)


def test_glossary_check_terms_accepts_other_english_forms_of_the_entry() -> None:
    matches = builtin_glossary().find("Poetins plan en de Russische draden")
    _, records = check_terms("Putin plan and Russia's threads", matches)
    assert [(r.status, r.rendered) for r in records] == [("applied", "Putin"), ("applied", "Russia's")]


def test_glossary_repair_prefers_the_longest_dutch_form() -> None:
    matches = builtin_glossary().find("Poetins plan")
    target, records = check_terms("Poetins plan", matches)
    assert target == "Putin's plan" and records[0].status == "repaired"


# --- cache keys and consistency -------------------------------------------------------------


def test_glossary_segment_key_covers_only_used_entries() -> None:
    base = Glossary((GlossaryEntry("Poetin", "Putin"), GlossaryEntry("Sotsji", "Sochi")))
    changed = Glossary((GlossaryEntry("Poetin", "Putin"), GlossaryEntry("Sotsji", "Sotchi")))
    reordered = Glossary(tuple(reversed(base.entries)))
    about_putin, about_sochi, about_nothing = "Poetin sprak.", "In Sotsji.", "Niets."
    assert base.segment_key(about_putin) == changed.segment_key(about_putin) != ""
    assert base.segment_key(about_sochi) != changed.segment_key(about_sochi)
    assert base.segment_key(about_nothing) == changed.segment_key(about_nothing) == ""
    assert base.digest() == reordered.digest() != changed.digest()
    assert [e.nl for e in base.used_by("Poetin in Sotsji")] == ["Poetin", "Sotsji"]
    noted = Glossary((GlossaryEntry("Poetin", "Putin", source="another note"),))
    assert noted.segment_key(about_putin) == base.segment_key(about_putin)


def test_glossary_consistency_table_counts_renderings() -> None:
    glossary = builtin_glossary()
    records = []
    for source, target in [
        ("Poetin kwam.", "Putin came."),
        ("Poetins plan.", "Putin's plan."),
        ("Poetin ging.", "Poetin went."),
        ("Poetin zweeg.", "He was silent."),
    ]:
        records += check_terms(target, glossary.find(source))[1]
    assert consistency_table(records) == {"Poetin": {"Putin": 2, "Putin's": 1, "(missing)": 1}}


def test_glossary_word_boundaries_use_unicode_letters() -> None:
    glossary = Glossary((GlossaryEntry("Oekraïne", "Ukraine"),))
    assert [m.nl for m in glossary.find("Oekraïne, Oekraïneër, éOekraïne")] == ["Oekraïne"]
    assert re.fullmatch(r"\w", "ï")
