"""Glossary: loading, matching (explicit cases and property tests), forcing, checking, repairs and bans,
cache digests, consistency, and the built-in data."""

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
    TermRecord,
    banned_forms,
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


SMALL = Glossary(
    (GlossaryEntry("Aa", "A1"), GlossaryEntry("Aa Bb", "A2"), GlossaryEntry("Bb Cc", "B2"), GlossaryEntry("Dë", "D1"))
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Aa", [(0, 2, "Aa")]),
        ("(Aa), Aa. Aa!", [(1, 3, "Aa"), (6, 8, "Aa"), (10, 12, "Aa")]),
        ("xAa Aax Aa1 Aa_ _Aa", []),  # a letter, digit or underscore on either side
        ("x-Aa Aa-x", []),  # a hyphen joins words: Rusland is not in Wit-Rusland
        ("aa AA", []),  # case-sensitive
        ("Aa’s en Aa's en Aas", [(0, 4, "Aa’s"), (8, 12, "Aa's"), (16, 19, "Aas")]),  # derived genitives
        ("Aa Bb", [(0, 5, "Aa Bb")]),  # the longest candidate wins over the shorter one inside it
        ("Aa Bb Cc", [(0, 5, "Aa Bb")]),  # equal lengths overlapping: the leftmost wins
        ("Bb Cc Aa Bb", [(0, 5, "Bb Cc"), (6, 11, "Aa Bb")]),
        ("Dë, xDë, Dëx", [(0, 2, "Dë")]),  # Unicode letters are word characters
        ("Aa\u00a0Bb", [(0, 5, "Aa\u00a0Bb")]),  # a no-break space is a space
        ("zie Aa  \n Bb", [(4, 12, "Aa  \n Bb")]),  # so is a run of whitespace; offsets stay the text's
        ("De\u0308 en Aa", [(0, 3, "De\u0308"), (7, 9, "Aa")]),  # a decomposed ë is the composed one
    ],
)
def test_glossary_find_explicit_cases(text: str, expected: list[tuple[int, int, str]]) -> None:
    assert [(m.start, m.end, m.nl) for m in SMALL.find(text)] == expected


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
    hand = tomllib.loads(Path("pipeline/data/glossary.toml").read_text(encoding="utf-8"))["term"]
    cldr = tomllib.loads(Path("pipeline/data/glossary-cldr.toml").read_text(encoding="utf-8"))["term"]
    glossary = builtin_glossary()
    assert len(hand) >= 50 and len(cldr) >= 150
    assert len(glossary) == len({t["nl"] for t in hand} | {t["nl"] for t in cldr}), "one entry per Dutch name"
    for entry in glossary:
        assert re.match(r"(Wikipedia: |CLDR \d+: )\S", entry.source), entry
        assert entry.kind in {"person", "place", "organisation"}, entry
        assert entry.nl != entry.en, entry
    expected = {
        "Loekasjenko": "Lukashenko",
        "Poetin": "Putin",
        "Sotsji": "Sochi",
        "Sint-Petersburg": "Saint Petersburg",
        "Wit-Rusland": "Belarus",
        "Moskou": "Moscow",
        "Verenigde Naties": "United Nations",
        "Den Haag": "The Hague",
        "Duitsland": "Germany",  # from CLDR
        "Turkije": "Turkey",  # CLDR says Türkiye: English news says Turkey
        "Tsjechië": "Czech Republic",
        "Ivoorkust": "Ivory Coast",
        "Boekarest": "Bucharest",  # a time zone's exemplar city
        "Schotland": "Scotland",
    }
    assert {e.nl: e.en for e in glossary if e.nl in expected} == expected
    hand_wins = {t["nl"]: t["en"] for t in hand}
    assert all(e.en == hand_wins[e.nl] for e in glossary if e.nl in hand_wins)


def test_glossary_builtin_dutch_forms_are_no_other_entrys_english() -> None:
    """A Dutch form that another entry writes in English would be repaired out of correct English."""
    glossary = builtin_glossary()
    english = {form: entry.nl for entry in glossary for form in entry.english_forms()}
    for entry in glossary:
        for nl, _ in entry.repairable_forms():
            assert english.get(nl, entry.nl) == entry.nl, (nl, english.get(nl))


def test_glossary_cldr_file_is_what_the_generator_writes() -> None:
    babel = pytest.importorskip("babel.core")
    from pipeline.quality.exonyms import DATA_FILE, OVERRIDES, entries, render

    shipped = DATA_FILE.read_text(encoding="utf-8")
    if f"from CLDR {babel.get_cldr_version()} " not in shipped.splitlines()[0]:
        pytest.skip("the installed babel has another CLDR version than the file was generated from")
    assert shipped == render(), "run `python -m pipeline.quality.exonyms` and review the diff"
    sources = [entry["source"] for entry in entries()]
    for code in OVERRIDES:  # every override still applies to a CLDR record
        assert any(f" {code};" in source for source in sources), code


@pytest.mark.parametrize(
    "text",
    [
        "Chili con carne is een stoofpot.",  # the pepper, capitalised only because it opens the sentence
        "Wenen helpt niet, zei ze.",  # wenen: to weep
        "‘Luik dicht!’ riep de kapitein.",  # luik: a hatch
        "Hij scoorde in de Europa League en de Europa Cup.",  # Europa before a capitalised word: a name
        "De Red Hot Chili Peppers speelden.",
        "De Polen en de Zweden stemden tegen.",  # also the Poles and the Swedes: left out
        "Hij gaf Nederland de schuld.",  # needs 'the Netherlands': left out
    ],
)
def test_glossary_builtin_leaves_ordinary_words_alone(text: str) -> None:
    assert builtin_glossary().find(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("De regering van Chili zweeg.", [("Chili", "Chile")]),  # inside a sentence: the country
        ("Hij woont in Wenen. Luik ligt in België.", [("Wenen", "Vienna"), ("België", "Belgium")]),
        ("Europa en Turkije", [("Europa", "Europe"), ("Turkije", "Turkey")]),
        ("Verenigde\u00a0Staten", [("Verenigde\u00a0Staten", "United States")]),
    ],
)
def test_glossary_builtin_finds_names_in_sentences(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(m.nl, m.en) for m in builtin_glossary().find(text)] == expected


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


# --- English variants, capitals, hyphens; repairs and bans --------------------------------------


def _check(source: str, target: str) -> tuple[str, list[tuple[str, str, str]]]:
    repaired, records = check_terms(target, builtin_glossary().find(source))
    return repaired, [(r.nl, r.status, r.rendered) for r in records]


@pytest.mark.parametrize(
    ("source", "target", "rendered"),
    [
        ("De Verenigde Staten zwijgen.", "The U.S. is silent.", "U.S."),
        ("De Verenigde Staten zwijgen.", "US stays silent.", "US"),
        ("De Verenigde Staten zwijgen.", "American officials are silent.", "America"),  # a demonym of a place
        ("Het Verenigd Koninkrijk twijfelt.", "Britain hesitates.", "Britain"),
        ("Het Verenigd Koninkrijk twijfelt.", "The UK hesitates.", "UK"),
        ("De Verenigde Naties vergaderen.", "The U.N. meets.", "U.N."),
        ("De Verenigde Naties vergaderen.", "UN meets.", "UN"),
        ("Poetin won.", "PUTIN WINS.", "Putin"),
        ("Een door Poetin geleide regering.", "A Putin-led government.", "Putin"),
        ("Tegen Poetin.", "Anti-Putin protests.", "Putin"),
        (
            "Het Internationaal Gerechtshof besliste.",
            "The international court of justice ruled.",
            "International Court of Justice",
        ),
        ("De oorlog in Syrië.", "The Syrian war.", "Syria"),
        ("Net als in Oost-Europa.", "Just as in eastern Europe.", "Eastern Europe"),
    ],
)
def test_glossary_accepts_variants_capitals_hyphens_and_demonyms(source: str, target: str, rendered: str) -> None:
    repaired, records = _check(source, target)
    assert repaired == target and [(status, r) for _, status, r in records] == [("applied", rendered)]


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("Poetin won.", "Putinism won."),  # a longer word is not the name
        ("Poetin won.", "putin won."),  # a one-word name in lower case is not the name
        ("Rusland won.", "Russiaville won."),  # not a demonym ending
        ("De Verenigde Staten zwijgen.", "The States are silent."),
    ],
)
def test_glossary_near_misses_stay_missing(source: str, target: str) -> None:
    assert [status for _, status, _ in _check(source, target)[1]] == ["missing"]


def test_glossary_repairs_a_dutch_form_even_beside_the_english_one() -> None:
    repaired, records = _check("Poetin sprak in Moskou.", "Putin spoke in Moskou, and Moskou listened.")
    assert repaired == "Putin spoke in Moscow, and Moscow listened."
    assert records == [("Poetin", "applied", "Putin"), ("Moskou", "repaired", "Moscow")]
    repaired, records = _check("Poetin kwam.", "Poetin came; Putin's men followed.")
    assert repaired == "Putin came; Putin's men followed." and records == [("Poetin", "repaired", "Putin")]


def test_glossary_never_repairs_an_accepted_english_form() -> None:
    kiev = Glossary((GlossaryEntry("Kiev", "Kyiv", variants=("Kiev",)),))
    target, records = check_terms("Kiev was calm.", kiev.find("Kiev bleef rustig."))
    assert target == "Kiev was calm." and records[0].status == "applied"
    # a Dutch form inside an accepted English form is left too
    europa = Glossary((GlossaryEntry("Europa", "Europe", forms=(("Europa", "Europe"),), variants=("Europa League",)),))
    target, records = check_terms("Europe and the Europa League.", europa.find("Europa"))
    assert target == "Europe and the Europa League." and records[0].status == "applied"


def test_glossary_also_english_forms_are_repaired_only_when_the_english_is_missing() -> None:
    repaired, records = _check("De economie van Europa groeit.", "Europe's economy grows, says the Europa chief.")
    assert repaired == "Europe's economy grows, says the Europa chief." and records[0][1] == "applied"
    repaired, records = _check("De economie van Europa groeit.", "The economy of Europa grows.")
    assert repaired == "The economy of Europe grows." and records[0][1] == "repaired"


def test_glossary_bans_never_forbid_an_accepted_english_form() -> None:
    brussels = GlossaryEntry("Brussel", "Brussels")
    assert "Brussel" not in brussels.bannable_forms(), "its tokens open Brussels"
    assert set(brussels.bannable_forms()) == {"Brussel’s", "Brussel's"}  # Brussels is itself the English form
    kiev = GlossaryEntry("Kiev", "Kyiv", variants=("Kiev",))
    assert kiev.bannable_forms() == ("Kievs", "Kiev's", "Kiev’s")
    glossary = Glossary((brussels, GlossaryEntry("Poetin", "Putin")))
    missing = [
        TermRecord("Brussel", "Brussels", 0, 7, "missing", "Brussel"),
        TermRecord("Poetin", "Putin", 8, 14, "missing", "Poetin"),
        TermRecord("Sotsji", "Sochi", 15, 21, "applied", "Sotsji", "Sochi"),
    ]
    assert banned_forms(missing, glossary) == ["Brussel's", "Brussel’s", "Poetin", "Poetin's", "Poetins", "Poetin’s"]
    assert banned_forms(missing[:1]) == []  # no glossary at hand: still not Brussel


def test_glossary_variants_load_from_tsv_and_toml(tmp_path: Path) -> None:
    tsv = parse_tsv("Verenigde Staten\tUnited States|U.S.|US\tWikipedia: United States\n")
    (entry,) = tsv
    assert (entry.en, entry.variants, entry.source) == ("United States", ("U.S.", "US"), "Wikipedia: United States")
    toml = parse_toml(
        '[[term]]\nnl = "Chili"\nen = "Chile"\nvariants = ["Chilli"]\ncommon_word = true\nalso_english = true\n'
    )
    (entry,) = toml
    assert entry.variants == ("Chilli",) and entry.common_word and entry.also_english
    assert GlossaryEntry(**{**entry.__dict__}).to_dict() == {
        "nl": "Chili",
        "en": "Chile",
        "variants": ["Chilli"],
        "common_word": True,
        "also_english": True,
    }


@pytest.mark.parametrize(
    "text",
    [
        "[[term]]\nnl = 'x'\nen = 'y'\nvariants = 'z'\n",
        "[[term]]\nnl = 'x'\nen = 'y'\nvariants = [1]\n",
        "[[term]]\nnl = 'x'\nen = 'y'\ncommon_word = 'yes'\n",
        "term = [1, 2]",
    ],
)
def test_glossary_bad_new_fields_raise_one_clear_error(text: str) -> None:
    with pytest.raises(GlossaryError):
        parse_toml(text, "bad")


def test_glossary_digests_of_entries_without_new_fields_are_unchanged() -> None:
    """The cache keys of user glossaries written before variants existed stay valid."""
    assert GlossaryEntry("Poetin", "Putin").canonical() == ["Poetin", "Putin", [], True]
    with_variant = GlossaryEntry("Poetin", "Putin", variants=("PUTIN",))
    assert with_variant.canonical() == ["Poetin", "Putin", [], True, {"variants": ["PUTIN"]}]
    assert Glossary((with_variant,)).digest() != Glossary((GlossaryEntry("Poetin", "Putin"),)).digest()


def test_glossary_dutch_names_are_the_forms_no_english_text_has() -> None:
    glossary = builtin_glossary()
    found = [m.nl for m in glossary.dutch_names("Duitsland and Schotland met in the Europa League; Kiev and Chile.")]
    assert found == ["Duitsland", "Schotland"]
    assert glossary.dutch_names("Chili peppers from Luxemburg, as Rosa Luxemburg said.") == []
