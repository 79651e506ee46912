"""Guard precision on correct pairs and catch rates on damaged copies (``nl2en eval guards``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.evaluation.guard_eval import (
    MEASURED_GUARDS,
    OUTCOMES,
    damage_copy,
    damage_exonym,
    damage_loop,
    damage_number,
    damage_truncate,
    damages,
    evaluate_damage,
    evaluate_pairs,
    false_positive_rates,
    read_pairs,
    reference_false_positives,
    row_records,
    totals_json,
)
from pipeline.evaluation.llm_damage import LLM_KINDS, LLM_TEMPLATES, damage_llm
from pipeline.quality.glossary import builtin_glossary
from tests.conftest import ROOT

NTREX = ROOT.parent / "shared" / "corpora" / "ntrex-nl-en-dev" / "pairs.tsv"

SOURCE = "Rusland en Wit-Rusland voeren gesprekken over vergaande bestuurlijke en economische integratie."
GOOD = "Russia and Belarus are holding talks on far-reaching administrative and economic integration."
LONG_NL = (
    "De minister zei op dinsdag dat de regering in Berlijn 250 miljoen euro uittrekt voor nieuwe scholen in het land."
)
LONG_EN = (
    "The minister said on Tuesday that the government in Berlin is setting aside 250 million euros for new schools."
)


# --- reading --------------------------------------------------------------------------------


def test_guard_eval_reads_pairs_by_header_name(tmp_path: Path) -> None:
    path = tmp_path / "pairs.tsv"
    path.write_text(
        '\ufeffen\tdoc\tnl\n"Hi," she said.\td1\t‘Hoi,’ zei ze.\n\n\t \t\nBye.\td1\tDag.\n', encoding="utf-8"
    )
    assert read_pairs(path) == [("‘Hoi,’ zei ze.", '"Hi," she said.'), ("Dag.", "Bye.")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("doc\tnl\nd\tHallo\n", "no `en` column"),
        ("doc\ttext\nd\tHallo\n", "no `nl` and `en` columns"),
        ("nl\ten\nHallo\n", "line 2: 1 field(s), the header has 2"),
    ],
)
def test_guard_eval_bad_pairs_files_are_one_input_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "pairs.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(message)) as raised:
        read_pairs(path)
    assert raised.value.code == "E100"


def test_guard_eval_unreadable_pairs_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_pairs(tmp_path / "absent.tsv")
    latin = tmp_path / "latin.tsv"
    latin.write_bytes("nl\ten\nCaf\xe9\tCafe\n".encode("latin-1"))
    with pytest.raises(InputError, match="cannot read"):
        read_pairs(latin)


# --- false positives ------------------------------------------------------------------------


def test_guard_eval_counts_each_guard_and_each_repair() -> None:
    pairs = [
        (SOURCE, GOOD),
        (SOURCE, SOURCE),  # Dutch given as English: its names are repaired, the rest is flagged
        ("Op 1 juli.", "On 2 July."),
        ("Poetin sprak in Moskou.", "Putin spoke in Moskou."),  # the glossary repairs it: one repair, no flag
    ]
    report = evaluate_pairs(pairs, builtin_glossary())
    totals = report["totals"]
    assert set(totals["flagged"]) == set(MEASURED_GUARDS)
    assert totals["flagged"]["untranslated"] == 1 and totals["flagged"]["number_mismatch"] == 1
    assert totals["any"] == 2 and totals["repaired"] == 2 and totals["pairs"] == 4
    assert row_records(report) == [
        {"index": 0, "flags": [], "repairs": []},
        {
            "index": 1,
            "flags": ["untranslated"],
            "repairs": [{"nl": "Rusland", "en": "Russia"}, {"nl": "Wit-Rusland", "en": "Belarus"}],
        },
        {"index": 2, "flags": ["number_mismatch"], "repairs": []},
        {"index": 3, "flags": [], "repairs": [{"nl": "Moskou", "en": "Moscow"}]},
    ]
    assert totals_json(report) == {"pairs": 4, "flagged": totals["flagged"], "any": 2}
    assert evaluate_pairs(pairs)["totals"]["repaired"] == 0  # no glossary: nothing repaired


def test_guard_eval_false_positive_rates_count_each_firing() -> None:
    pairs = [(SOURCE, GOOD), (SOURCE, SOURCE), ("Op 1 juli.", "On 2 July.")]
    report = false_positive_rates(pairs)
    assert report["counts"]["untranslated"] == 1 and report["counts"]["number_mismatch"] == 1
    assert report["rates"]["untranslated"] == pytest.approx(1 / 3)
    assert report["examples"]["number_mismatch"][0]["en"] == "On 2 July."


def test_guard_eval_reference_translations_raise_no_flag() -> None:
    paths = sorted(Path("seeds").glob("*.refs.toml"))
    report = reference_false_positives(paths, builtin_glossary())
    assert report["segments"] >= 40
    assert set(report["rates"]) == set(MEASURED_GUARDS)
    for name, rate in report["rates"].items():
        assert rate <= 0.05, (name, report["examples"].get(name))


# --- damage ---------------------------------------------------------------------------------


def test_guard_eval_damage_is_deterministic_and_what_it_says() -> None:
    truncated = damage_truncate(0, LONG_NL, LONG_EN)
    assert truncated is not None and truncated.damaged == "The minister said on Tuesday that the government"  # 8 of 19
    assert damage_truncate(0, "Kort.", "Short and sweet.") is None  # under 12 words: left alone
    copy = damage_copy(3, LONG_NL, LONG_EN)
    assert copy is not None and copy.damaged == LONG_NL and copy.expected == "untranslated"
    loop = damage_loop(5, LONG_NL, LONG_EN)
    assert loop is not None and loop == damage_loop(5, LONG_NL, LONG_EN)
    phrase = loop.detail["phrase"]
    assert loop.damaged.replace(" ".join([phrase] * 4) + " ", "", 1) == LONG_EN, "the phrase, four more times"
    number = damage_number(2, LONG_NL, LONG_EN)
    assert number is not None and number == damage_number(2, LONG_NL, LONG_EN) and "250" not in number.damaged
    exonym = damage_exonym(1, LONG_NL, LONG_EN, {"Berlin": "Berlijn", "Tuesday": "dinsdag"})
    assert exonym is not None and exonym.detail["source_has_dutch_form"]
    assert exonym.damaged in (LONG_EN.replace("Berlin", "Berlijn"), LONG_EN.replace("Tuesday", "dinsdag"))
    assert damage_exonym(1, LONG_NL, LONG_EN, {"Paris": "Parijs"}) is None


def test_guard_eval_catches_each_damage_on_a_clean_pair() -> None:
    pairs = [(LONG_NL, LONG_EN)]
    report = evaluate_damage(pairs, builtin_glossary(), exonyms={"Berlin": "Berlijn"})
    summary = report["summary"]
    assert {kind: (s["rows"], s["caught"]) for kind, s in summary.items() if kind not in LLM_KINDS} == {
        "number": (1, 1),
        "copy": (1, 1),
        "truncate": (1, 1),
        "loop": (1, 1),
        "exonym": (1, 1),
    }
    assert [kind for kind in damages(pairs, {"Berlin": "Berlijn"})] == [
        *("number", "copy", "truncate", "loop", "exonym"),
        *LLM_KINDS,
    ]
    payload = totals_json(evaluate_pairs(pairs, builtin_glossary()), report)
    assert payload["damage"]["exonym"]["rate"] == 1.0 and payload["damage"]["truncate"]["expected"] == "length_ratio"


@pytest.mark.parametrize("kind", list(LLM_TEMPLATES))
def test_guard_eval_instruct_damage_is_seeded_varied_and_changes_the_pair(kind: str) -> None:
    """Each instruct-model kind: the same row gives the same output, rows draw different templates (not one
    fixed string), every output differs from the translation and is a filled template."""
    following = [GOOD, "The talks will resume in May."]
    made = [damage_llm(kind, i, LONG_NL, LONG_EN, following, split) for i in range(40) for split in ("dev", "held")]
    assert all(d is not None for d in made)
    damaged = [d for d in made if d is not None]
    assert damaged == [
        damage_llm(kind, i, LONG_NL, LONG_EN, following, split) for i in range(40) for split in ("dev", "held")
    ]
    assert (
        len({(d.detail["split"], d.detail["template"]) for d in damaged}) >= 3
        and len({d.damaged for d in damaged}) >= 3
    )
    for damage in damaged:
        assert damage.damaged != LONG_EN and damage.kind == f"{kind}/{damage.detail['split']}"
        assert not re.search(r"[{}¶]", damage.damaged), damage.damaged
        assert damage.expected == ("added_content" if kind in ("invented", "continuation") else "chatter")
        if damage.expected == "added_content":  # the translation kept, something appended
            assert damage.damaged.startswith(LONG_EN) and len(damage.damaged) > len(LONG_EN) + 10


def test_guard_eval_continuation_appends_the_rows_that_follow() -> None:
    assert damage_llm("continuation", 0, LONG_NL, LONG_EN) is None  # the last row: nothing follows
    pairs = [(LONG_NL, LONG_EN), (SOURCE, GOOD), ("Dag.", "Bye.")]
    made = damages(pairs, {})["continuation/dev"]
    assert [d.index for d in made] == [0, 1]
    assert made[0].damaged.startswith(LONG_EN) and GOOD in made[0].damaged
    assert made[1].damaged.startswith(GOOD) and made[1].damaged.endswith("Bye.")


def test_guard_eval_reports_each_instruct_kind_with_its_guard() -> None:
    pairs = [(LONG_NL, LONG_EN), (SOURCE, GOOD)]
    glossary = builtin_glossary()
    report = evaluate_damage(pairs, glossary, exonyms={})
    payload = totals_json(evaluate_pairs(pairs, glossary), report)["damage"]
    for kind in LLM_KINDS:
        expected = LLM_TEMPLATES[kind.split("/")[0]][0]
        figures = payload[kind]
        rows = 1 if kind.startswith("continuation") else 2  # the last row has nothing to continue with
        assert figures["expected"] == expected and figures["rows"] == rows, (kind, figures)
        assert figures["rate"] == figures["caught"] / rows and figures["any_rate"] >= figures["rate"]
        kind_records = [r for r in report["records"] if r["damage"] == kind]
        assert [r["caught"] for r in kind_records].count(True) == figures["caught"]
        assert all(r["caught"] == (expected in {f["name"] for f in r["flags"]}) for r in kind_records)
        # cleaned first: every row has one outcome; removed means cleaning gave back the translation exactly
        assert sum(figures["cleaned"].values()) == rows and set(figures["cleaned"]) == set(OUTCOMES)
        for record in kind_records:
            outcome = record["cleaned"]
            assert (outcome["outcome"] == "removed") == (outcome["text"] == record["en"].strip())
            assert outcome["outcome"] != "caught" or expected in outcome["flags"]
    assert payload_all(pairs)["cleaning_changes"] == 0


def payload_all(pairs: list[tuple[str, str]]) -> dict[str, object]:
    report = evaluate_damage(pairs, exonyms={})
    return totals_json(evaluate_pairs(pairs), report)


# --- the targets on NTREX-128 ---------------------------------------------------------------


@pytest.mark.skipif(not NTREX.is_file(), reason=f"NTREX pairs not found at {NTREX}")
def test_guard_eval_ntrex_meets_the_targets() -> None:
    """Correct pairs: any flag ≤ 1.5 %, each guard ≤ 1 % (numbers are their own); damage caught as promised."""
    pairs = read_pairs(NTREX)
    assert len(pairs) == 1007
    glossary = builtin_glossary()
    report = evaluate_pairs(pairs, glossary)
    totals = report["totals"]
    assert totals["any"] <= 0.015 * len(pairs), totals
    for name, count in totals["flagged"].items():
        if name != "number_mismatch":
            assert count <= 0.01 * len(pairs), (name, count)
    assert totals["repaired"] <= 0.005 * len(pairs), "a glossary repair of correct English is a wrong edit"
    full = evaluate_damage(pairs, glossary, baseline=report)
    damage = full["summary"]
    targets = {"copy": 0.98, "truncate": 0.90, "loop": 0.95, "exonym": 0.80}
    for kind, target in targets.items():
        assert damage[kind]["rate"] >= target, (kind, damage[kind]["rate"], damage[kind]["miss_examples"][:3])
    assert totals["flagged"]["chatter"] == 0 and totals["flagged"]["added_content"] == 0
    assert full["cleaning_changes"]["count"] == 0, full["cleaning_changes"]["examples"]
    # Instruct-model kinds, a little under what was measured (guards alone, then cleaned first: stopped). The
    # damage is seeded, so a drop means cleaning or a guard got weaker. dev: improved on; held: only measured.
    floors = {  # kind: (guards alone, stopped after cleaning)
        "preamble/dev": (0.93, 0.98), "preamble/held": (0.57, 0.87),
        "refusal/dev": (0.95, 0.95), "refusal/held": (0.84, 0.84),
        "answer/dev": (0.77, 0.77), "answer/held": (0.43, 0.43),
        "question/dev": (0.97, 0.97), "question/held": (0.96, 0.96),
        "explanation/dev": (0.40, 0.98), "explanation/held": (0.55, 0.83),
        "note/dev": (0.94, 0.98), "note/held": (0.88, 0.97),
        "invented/dev": (0.79, 0.79), "invented/held": (0.75, 0.75),
        "continuation/dev": (0.88, 0.92), "continuation/held": (0.90, 0.97),
    }  # fmt: skip
    for kind, (alone, stopped) in floors.items():
        figures = damage[kind]
        assert figures["rate"] >= alone and figures["stopped_rate"] >= stopped, (kind, figures["cleaned"])
