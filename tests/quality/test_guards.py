"""Guards: each flag and its evidence, number normalisation tables, calibration, reference false positives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.evaluation.guard_eval import false_positive_rates, reference_false_positives
from pipeline.quality.calibration import (
    Calibration,
    CalibrationStore,
    calibrate,
    corpus_sentences,
    find_news_corpus,
    percentile,
)
from pipeline.quality.glossary import TermRecord, builtin_glossary, check_terms
from pipeline.quality.guards import (
    FLAG_NAMES,
    GuardSettings,
    check_numbers,
    check_segment,
    check_untranslated,
    identify_language,
    quality_flags,
)
from pipeline.quality.numbers import dutch_numbers, english_numbers

SOURCE = "Rusland en Wit-Rusland voeren gesprekken over vergaande bestuurlijke en economische integratie."
GOOD = "Russia and Belarus are holding talks on far-reaching administrative and economic integration."


def _names(flags: list) -> list[str]:
    return [f.name for f in flags]


# --- the flags of today's translator --------------------------------------------------------


def test_guards_quality_flags_names_empty_loop_and_length() -> None:
    assert quality_flags(SOURCE, "the the the the the") == ["repetition", "length_ratio"]
    assert quality_flags(SOURCE, " ") == ["empty_output"] and quality_flags(SOURCE, GOOD) == []


def test_guards_empty_output_is_the_only_flag() -> None:
    flags = check_segment(SOURCE, " ", score=-9.0, threshold=-1.0)
    assert _names(flags) == ["empty_output"] and flags[0].evidence == {"target_chars": 1}


def test_guards_repetition_and_length_ratio_evidence() -> None:
    flags = check_segment(SOURCE, "talks talks talks talks")
    assert _names(flags) == ["repetition", "length_ratio"]
    assert flags[0].evidence["repeated"] == "talks"
    assert flags[1].evidence == {"ratio": round(23 / len(SOURCE), 3), "band": [0.4, 2.5]}


def test_guards_a_good_translation_passes_every_guard() -> None:
    _, terms = check_terms(GOOD, builtin_glossary().find(SOURCE))
    assert check_segment(SOURCE, GOOD, score=-0.3, terms=terms, threshold=-1.0) == []


# --- untranslated ---------------------------------------------------------------------------


def test_guards_untranslated_dutch_output() -> None:
    (flag,) = check_segment(SOURCE, SOURCE)
    assert flag.name == "untranslated"
    assert flag.evidence["reason"] == "dutch" and flag.evidence["language"] == "nl"
    assert flag.evidence["confidence"] >= 0.9 and flag.evidence["chrf"] == 100.0


def test_guards_untranslated_half_translated_output() -> None:
    half = "Russia en Wit-Rusland voeren gesprekken over vergaande integration."
    flag = check_untranslated(SOURCE, half)
    assert flag is not None and flag.evidence["language"] == "nl"


def test_guards_untranslated_near_copy_by_chrf() -> None:
    no_langid = GuardSettings(langid_min_confidence=1.01)  # only the copy test can fire
    flag = check_untranslated(SOURCE, SOURCE.replace("Rusland", "Russia"), no_langid)
    assert flag is not None and flag.evidence["reason"] == "copy" and flag.evidence["chrf"] >= 70
    assert check_untranslated(SOURCE, GOOD, no_langid) is None


def test_guards_untranslated_ignores_short_outputs() -> None:
    assert check_untranslated("Ultimatum", "Ultimatum") is None
    assert check_untranslated("Achtertuin", "Achtertuin") is None


def test_guards_language_id_works_offline() -> None:
    # The socket guard of conftest blocks the network: the model ships with the package.
    assert identify_language(GOOD)[0] == "en"
    assert identify_language(SOURCE)[0] == "nl"


# --- numbers --------------------------------------------------------------------------------

MATCHING = [
    ("€ 1.200,50", "€1,200.50"),
    ("€ 1.200,50", "1,200.50 euros"),
    ("15 procent", "15 percent"),
    ("15 procent", "15%"),
    ("15 procent", "15 per cent"),
    ("15%", "15 percent"),
    ("2,5 procent", "2.5%"),
    ("1 juli", "1 July"),
    ("1 juli", "July 1"),
    ("1 juli", "July 1st"),
    ("op 3 mei 2019", "on May 3, 2019"),
    ("op 3 mei 2019", "on 3 May 2019"),
    ("1.200 mensen", "1,200 people"),
    ("1.200 mensen", "1200 people"),
    ("12.000.000", "12,000,000"),
    ("1,5 miljoen", "1.5 million"),
    ("1,5 miljoen", "1,500,000"),
    ("2 miljard euro", "two billion euros"),
    ("om 14.30 uur", "at 2.30 pm"),
    ("om 14.30 uur", "at 14:30"),
    ("de 3e keer", "the third time"),
    ("de 3e keer", "the 3rd time"),
    ("de 21ste eeuw", "the 21st century"),
    ("sinds 1994", "since 1994"),
    ("3 kinderen", "three children"),
    ("de 15-jarige", "the 15-year-old"),
    ("tussen 1999 en 2024", "between 1999 and 2024"),
    ("geen getallen", "no numbers"),
]
MISSING = [
    ("1.200 mensen", "1.2 people", "1200"),
    ("1.200 mensen", "200 people", "1200"),
    ("€ 1.200,50", "€1,200", "1200.5"),
    ("15 procent", "15 people", "15%"),
    ("1 juli", "1 June", "1 July"),
    ("1 juli", "July", "1 July"),
    ("1,5 miljoen", "1.5 billion", "1,500,000"),
    ("sinds 1994", "since 1995", "1994"),
    ("in 2024", "in the year", "2024"),
]


@pytest.mark.parametrize(("source", "target"), MATCHING)
def test_guards_numbers_map_dutch_formats_to_english(source: str, target: str) -> None:
    assert check_numbers(source, target) is None, (dutch_numbers(source), english_numbers(target))


@pytest.mark.parametrize(("source", "target", "expected"), MISSING)
def test_guards_number_mismatch_names_what_is_missing(source: str, target: str, expected: str) -> None:
    flag = check_numbers(source, target)
    assert flag is not None and flag.name == "number_mismatch"
    assert [m["expected"] for m in flag.evidence["missing"]] == [expected]


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("€ 1.200,50", [("num", "1200.5")]),
        ("1.200", [("num", "1200")]),
        ("1,200", [("num", "1.2")]),
        ("1.5", [("num", "1.5")]),
        ("3.14159", [("num", "3.14159")]),
        ("15 procent", [("percent", "15")]),
        ("1 juli 2020", [("date", "7-1"), ("num", "2020")]),
        ("12 december", [("date", "12-12")]),
        ("in 1994.", [("num", "1994")]),
        ("G20 en COVID-19", [("num", "19")]),
        ("2,5 miljoen", [("num", "2500000")]),
        ("21ste", [("num", "21")]),
    ],
)
def test_guards_dutch_number_table(text: str, keys: list[tuple[str, str]]) -> None:
    assert [n.key for n in dutch_numbers(text)] == keys


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("€1,200.50", [("num", "1200.5")]),
        ("1,200", [("num", "1200")]),
        ("1.200", [("num", "1.2")]),
        ("15%", [("percent", "15"), ("num", "15")]),
        ("July 1, 2020", [("date", "7-1"), ("num", "2020")]),
        ("the 1st of July", [("date", "7-1")]),
        ("2.5 million", [("num", "2500000")]),
        ("seventeen", [("num", "17")]),
        ("the second", [("num", "2")]),
    ],
)
def test_guards_english_number_table(text: str, keys: list[tuple[str, str]]) -> None:
    assert sorted(n.key for n in english_numbers(text)) == sorted(keys)


def test_guards_number_flag_reports_the_target_numbers() -> None:
    flag = check_numbers("Op 1 juli kostte het € 1.200,50, 15 procent meer.", "On 1 July it cost €1,200.50, 15 more.")
    assert flag is not None
    assert flag.evidence["missing"] == [{"source": "15 procent", "expected": "15%", "kind": "percent"}]
    assert "€1,200.50".strip("€") in flag.evidence["target_numbers"]


# --- glossary and confidence ----------------------------------------------------------------


def test_guards_glossary_missing_evidence() -> None:
    terms = [
        TermRecord("Poetin", "Putin", 10, 16, "missing", "Poetin"),
        TermRecord("Sotsji", "Sochi", 20, 26, "repaired", "Sotsji", "Sochi"),
    ]
    flags = check_segment(SOURCE, GOOD, terms=terms)
    assert _names(flags) == ["glossary_missing"]
    assert flags[0].evidence == {"terms": [{"nl": "Poetin", "en": "Putin", "start": 10}]}


def test_guards_low_confidence_needs_a_threshold() -> None:
    assert check_segment(SOURCE, GOOD, score=-5.0) == []
    assert check_segment(SOURCE, GOOD, score=-0.5, threshold=-1.0) == []
    (flag,) = check_segment(SOURCE, GOOD, score=-1.5, threshold=-1.0)
    assert flag.name == "low_confidence" and flag.evidence == {"score": -1.5, "threshold": -1.0}


def test_guards_flag_names_are_in_order() -> None:
    flags = check_segment(
        "Op 1 juli zei Poetin dat Rusland vergaande integratie wil met Wit-Rusland.",
        "Op 1 juli zei Poetin dat Rusland integratie integratie integratie integratie wil.",
        score=-3.0,
        terms=[TermRecord("Poetin", "Putin", 14, 20, "missing", "Poetin")],
        threshold=-1.0,
    )
    assert _names(flags) == ["repetition", "untranslated", "number_mismatch", "glossary_missing", "low_confidence"]
    assert _names(flags) == [n for n in FLAG_NAMES if n in _names(flags)]


# --- calibration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [([1.0], 5, 1.0), ([0.0, 10.0], 50, 5.0), ([3.0, 1.0, 2.0], 0, 1.0), ([3.0, 1.0, 2.0], 100, 3.0)],
)
def test_guards_percentile(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_guards_percentile_refuses_nothing() -> None:
    with pytest.raises(ValueError):
        percentile([float("nan")], 5)


def _tiny_corpus(folder: Path) -> Path:
    folder.mkdir()
    (folder / "a.txt").write_text("Een zin. Nog een zin.\n\nDerde zin hier.", encoding="utf-8")
    (folder / "gold.jsonl").write_text(json.dumps({"doc": "a", "ends": [8, 21, 38]}) + "\n", encoding="utf-8")
    return folder


def test_guards_calibrate_and_store(tmp_path: Path) -> None:
    corpus = _tiny_corpus(tmp_path / "corpus")
    assert corpus_sentences(corpus) == ["Een zin.", "Nog een zin.", "Derde zin hier."]
    seen: list[str] = []

    def score(sentences: list[str]) -> list[float]:
        seen.extend(sentences)
        return [-len(s) / 10 for s in sentences]

    calibration = calibrate(score, "model-a", corpus, q=50)
    assert seen == corpus_sentences(corpus)
    assert calibration.threshold == pytest.approx(-1.2) and calibration.segments == 3
    assert calibration.percentile == 50 and calibration.corpus == "corpus" and "percentile" in calibration.method
    store = CalibrationStore(tmp_path / "state" / "calibration.json")
    assert store.threshold("model-a") is None
    store.put(calibration)
    store.put(Calibration("model-b", -2.0, 5, 10, "x", "d"))
    assert store.get("model-a") == calibration and store.threshold("model-b") == -2.0
    (tmp_path / "state" / "calibration.json").write_text("{broken", encoding="utf-8")
    assert store.load() == {}


def test_guards_calibrate_on_the_news_corpus() -> None:
    corpus = find_news_corpus()
    if corpus is None:
        pytest.skip("the shared news corpus (shared/corpora/nl-news-ud-dev) is not beside this checkout")
    sentences = corpus_sentences(corpus)
    assert len(sentences) == 718

    def score(batch: list[str]) -> list[float]:  # stands in for a model: longer sentences, lower scores
        return [-len(s) / 100 for s in batch]

    calibration = calibrate(score, "scripted", corpus, q=5)
    below = sum(-len(s) / 100 < calibration.threshold for s in sentences)
    assert calibration.segments == 718 and 0.03 <= below / 718 <= 0.06
    assert calibration.corpus == "nl-news-ud-dev" and len(calibration.corpus_digest) == 16


# --- false positives on the reference translations ------------------------------------------


def test_guards_reference_false_positives_are_measured() -> None:
    paths = sorted(Path("seeds").glob("*.refs.toml"))
    report = reference_false_positives(paths, builtin_glossary())
    assert report["segments"] >= 40
    assert set(report["rates"]) == set(FLAG_NAMES) - {"low_confidence"}
    for name, rate in report["rates"].items():
        assert rate <= 0.05, (name, report["examples"].get(name))


def test_guards_false_positive_rates_count_each_firing() -> None:
    pairs = [(SOURCE, GOOD), (SOURCE, SOURCE), ("Op 1 juli.", "On 2 July.")]
    report = false_positive_rates(pairs)
    assert report["counts"]["untranslated"] == 1 and report["counts"]["number_mismatch"] == 1
    assert report["rates"]["untranslated"] == pytest.approx(1 / 3)
    assert report["examples"]["number_mismatch"][0]["en"] == "On 2 July."
