"""The retry ladder, driven rung by rung and guard by guard by the scripted engine."""

from __future__ import annotations

import json

import pytest

from pipeline.engines.protocol import BANNED_PHRASES
from pipeline.errors import GuardModeError
from pipeline.quality.glossary import builtin_glossary, force_terms
from pipeline.quality.ladder import GuardPolicy, clause_pieces, guard_counts, translate_guarded
from tests.support.scripted_engine import ScriptedEngine, rung_of

BASE = {"num_beams": 4, "max_length": 256}
NL = "Rusland en Wit-Rusland voeren gesprekken over vergaande bestuurlijke en economische integratie."
EN = "Russia and Belarus are holding talks on far-reaching administrative and economic integration."
NL_NUM = "Op 1 juli kostte de lening 15 procent meer dan een jaar eerder."
EN_NUM = "On 1 July the loan cost 15 percent more than a year earlier."
NL_CLAUSE = "De Russische regering kent de situatie van het buurland, en draait de duimschroeven aan."
LOOP = "The the the the the the the the the the the the the the the the the the the."


def _flag_names(attempt: object) -> list[str]:
    return [f.name for f in attempt.flags]  # type: ignore[attr-defined]


def test_retry_clean_segment_takes_one_decode() -> None:
    engine = ScriptedEngine({NL: {"normal": [(EN, -0.2)]}})
    (segment,) = translate_guarded(engine, [NL], BASE)
    assert segment.target == EN and segment.flags == () and len(segment.attempts) == 1
    assert not segment.flagged and not segment.retried and not segment.fixed
    assert len(engine.calls) == 1 and engine.calls[0][1] == BASE


def test_retry_wider_beam_cures_a_loop() -> None:
    engine = ScriptedEngine({NL: {"normal": [(LOOP, -0.1)], "wider_beam": [(EN, -0.4)]}})
    (segment,) = translate_guarded(engine, [NL], BASE)
    assert [a.rung for a in segment.attempts] == ["normal", "wider_beam"]
    assert _flag_names(segment.attempts[0]) == ["repetition"]
    wide = segment.attempts[1].settings
    assert wide["num_beams"] == 8 and wide["no_repeat_ngram_size"] == 3 and wide["repetition_penalty"] == 1.2
    assert wide["max_length"] == 256
    assert segment.target == EN and segment.winner == 1 and segment.fixed
    assert engine.decodes("n_best") == 0


def test_retry_wider_beam_cures_an_empty_output() -> None:
    engine = ScriptedEngine({NL: {"normal": [("", -0.1)], "wider_beam": [(EN, -0.4)]}})
    (segment,) = translate_guarded(engine, [NL], BASE)
    assert _flag_names(segment.attempts[0]) == ["empty_output"] and segment.target == EN


def test_retry_n_best_reranks_by_flags_then_score() -> None:
    wrong_number = "On 1 July the loan cost 16 percent more than a year earlier."
    no_date = "In July the loan cost 15 percent more than a year earlier."
    engine = ScriptedEngine(
        {
            NL_NUM: {
                "normal": [(wrong_number, -0.1)],
                "wider_beam": [(wrong_number, -0.2)],
                "n_best": [(wrong_number, -0.15), (no_date, -0.3), (EN_NUM, -0.5), (EN_NUM + " ", -0.6)],
            }
        }
    )
    (segment,) = translate_guarded(engine, [NL_NUM], BASE)
    assert [a.rung for a in segment.attempts] == ["normal", "wider_beam", "n_best"]
    assert segment.attempts[0].flags[0].evidence["missing"][0]["expected"] == "15%"
    n_best = segment.attempts[2]
    assert n_best.target == EN_NUM and n_best.flags == () and n_best.hypotheses == 4
    assert n_best.settings["num_return_sequences"] == 8 and n_best.settings["num_beams"] == 8
    assert segment.target == EN_NUM and segment.fixed


def test_retry_clause_split_translates_pieces_and_joins_them() -> None:
    first, second = clause_pieces(NL_CLAUSE)
    assert (first, second) == (
        "De Russische regering kent de situatie van het buurland,",
        "en draait de duimschroeven aan.",
    )
    copy = NL_CLAUSE  # the model leaves the sentence in Dutch whatever the beam
    engine = ScriptedEngine(
        {
            force_terms(NL_CLAUSE, builtin_glossary()).text: {"normal": [(copy, -0.1)]},
            "De Russian regering kent de situatie van het buurland,": {
                "normal": [("The Russian government knows the situation of its neighbour,", -0.2)]
            },
            "en draait de duimschroeven aan.": {"normal": [("and tightens the screws.", -0.4)]},
        }
    )
    (segment,) = translate_guarded(engine, [NL_CLAUSE], BASE, glossary=builtin_glossary())
    assert [a.rung for a in segment.attempts] == ["normal", "wider_beam", "n_best", "clause_split"]
    assert all(_flag_names(a) == ["untranslated"] for a in segment.attempts[:3])
    split = segment.attempts[3]
    assert split.target == "The Russian government knows the situation of its neighbour, and tightens the screws."
    assert split.settings["pieces"] == 2 and split.flags == ()
    lengths = [len("The Russian government knows the situation of its neighbour,"), len("and tightens the screws.")]
    expected_score = (-0.2 * lengths[0] + -0.4 * lengths[1]) / sum(lengths)
    assert split.score == round(expected_score, 4)  # scores carry four decimals (retry.SCORE_DIGITS)
    assert segment.winner == 3 and segment.fixed


def test_retry_no_clause_break_means_no_split_attempt() -> None:
    engine = ScriptedEngine({NL: {"normal": [(NL, -0.1)]}})
    (segment,) = translate_guarded(engine, [NL], BASE)
    assert [a.rung for a in segment.attempts] == ["normal", "wider_beam", "n_best"]
    assert segment.flagged and segment.retried and not segment.fixed


def test_retry_winner_has_fewest_flags_then_best_score() -> None:
    loop_and_short = "talks talks talks talks"
    engine = ScriptedEngine(
        {
            NL: {
                "normal": [(loop_and_short, -0.1)],
                "wider_beam": [("Russia and Belarus talk about talk talk talk talk integration.", -2.0)],
                "n_best": [("Russia and Belarus talk talk talk talk about economic integration.", -1.0)],
            }
        }
    )
    (segment,) = translate_guarded(engine, [NL], BASE)
    assert [len(a.flags) for a in segment.attempts] == [2, 1, 1]
    assert segment.winner == 2 and segment.flagged and not segment.fixed


def test_retry_ties_go_to_the_earliest_attempt() -> None:
    engine = ScriptedEngine({NL: {"normal": [(LOOP, -1.0)], "wider_beam": [(LOOP, -1.0)]}})
    (segment,) = translate_guarded(engine, [NL], BASE)
    assert segment.winner == 0


def test_retry_low_confidence_retries_until_confident() -> None:
    engine = ScriptedEngine({NL: {"normal": [(EN, -2.5)], "wider_beam": [(EN, -0.9)]}})
    (segment,) = translate_guarded(engine, [NL], BASE, policy=GuardPolicy(threshold=-1.0))
    assert _flag_names(segment.attempts[0]) == ["low_confidence"]
    assert segment.winner == 1 and segment.score == -0.9 and segment.fixed


def test_retry_length_ratio_is_retried() -> None:
    engine = ScriptedEngine({NL: {"normal": [("Talks.", -0.1)], "wider_beam": [(EN, -0.3)]}})
    (segment,) = translate_guarded(engine, [NL], BASE)
    assert _flag_names(segment.attempts[0]) == ["length_ratio"] and segment.target == EN


# --- glossary -------------------------------------------------------------------------------

NL_NAMES = "Loekasjenko sprak in Sotsji met Poetin over de unie."
FORCED = "Lukashenko sprak in Sochi met Putin over de unie."


def test_retry_forced_terms_reach_the_engine_and_dutch_forms_are_repaired() -> None:
    engine = ScriptedEngine({FORCED: {"normal": [("Lukashenko spoke with Poetin in Sotsji about the union.", -0.3)]}})
    (segment,) = translate_guarded(engine, [NL_NAMES], BASE, glossary=builtin_glossary())
    assert engine.calls[0][0] == (FORCED,) and segment.forced_source == FORCED
    assert segment.target == "Lukashenko spoke with Putin in Sochi about the union."
    assert [(t.nl, t.status) for t in segment.terms] == [
        ("Loekasjenko", "applied"),
        ("Sotsji", "repaired"),
        ("Poetin", "repaired"),
    ]
    assert [(t.start, t.end) for t in segment.terms] == [(0, 11), (21, 27), (32, 38)]
    assert [NL_NAMES[t.start : t.end] for t in segment.terms] == ["Loekasjenko", "Sotsji", "Poetin"]
    assert segment.flags == () and len(segment.attempts) == 1


def test_retry_missing_term_bans_the_dutch_form_and_keeps_a_hypothesis_with_the_term() -> None:
    variant = "Lukashenko spoke with Poutine in Sochi about the union."
    good = "Lukashenko spoke with Putin in Sochi about the union."
    engine = ScriptedEngine(
        {
            FORCED: {
                "normal": [(variant, -0.2)],
                "wider_beam": [(variant, -0.25)],
                "n_best": [(variant, -0.2), ("Lukashenko spoke with Poetins about the union.", -0.3), (good, -0.4)],
            }
        }
    )
    (segment,) = translate_guarded(engine, [NL_NAMES], BASE, glossary=builtin_glossary())
    first = segment.attempts[0]
    assert _flag_names(first) == ["glossary_missing"]
    assert first.flags[0].evidence["terms"] == [{"nl": "Poetin", "en": "Putin", "start": 32}]
    for attempt in segment.attempts[1:]:
        assert {"Poetin", "Poetins", "Poetin's"} <= set(attempt.settings[BANNED_PHRASES])
        assert "Sotsji" not in attempt.settings[BANNED_PHRASES]
    assert BANNED_PHRASES not in first.settings
    assert segment.target == good and segment.winner == 2 and segment.fixed
    assert [t.status for t in segment.terms] == ["applied", "applied", "applied"]


# --- modes, batching, counts ----------------------------------------------------------------

NL_FORCED = "Russia en Belarus voeren gesprekken over vergaande bestuurlijke en economische integratie."
NAMED_LOOP = "Russia and Belarus hold talks talks talks talks on economic integration."
SCRIPT = {
    NL_FORCED: {"normal": [(NAMED_LOOP, -0.1)], "wider_beam": [(EN, -0.4)]},
    NL_NUM: {"normal": [(EN_NUM, -0.3)]},
    FORCED: {"normal": [("Lukashenko spoke with Poetin in Sotsji about the union.", -0.3)]},
    "Hallo.": {"normal": [("", -0.5)], "wider_beam": [("", -0.5)], "n_best": [("", -0.5)]},
}
SOURCES = [NL, NL_NUM, NL_NAMES, "Hallo."]


def test_retry_flag_mode_checks_but_never_retries() -> None:
    engine = ScriptedEngine(SCRIPT)
    segments = translate_guarded(engine, SOURCES, BASE, glossary=builtin_glossary(), policy=GuardPolicy(mode="flag"))
    assert [len(s.attempts) for s in segments] == [1, 1, 1, 1]
    assert [[f.name for f in s.flags] for s in segments] == [["repetition"], [], [], ["empty_output"]]
    assert len(engine.calls) == 1


def test_retry_off_mode_targets_equal_attempt_one_of_a_retry_run() -> None:
    glossary = builtin_glossary()
    retry = translate_guarded(ScriptedEngine(SCRIPT), SOURCES, BASE, glossary=glossary)
    off = translate_guarded(ScriptedEngine(SCRIPT), SOURCES, BASE, glossary=glossary, policy=GuardPolicy(mode="off"))
    assert len({s.target for s in off}) == len(SOURCES)  # varied outputs, so equality means something
    assert [s.target for s in off] == [s.attempts[0].target for s in retry]
    assert [s.target for s in off] != [s.target for s in retry]
    assert all(s.flags == () and len(s.attempts) == 1 for s in off)


def test_retry_rungs_are_batched_across_segments() -> None:
    other = "Moskou ziet Wit-Rusland als buffer tegen de NAVO, zegt men."
    script = {
        **SCRIPT,
        "Moscow ziet Belarus als buffer tegen de NATO, zegt men.": {
            "normal": [("Moscow sees Belarus as a buffer buffer buffer buffer against NATO, people say.", -0.2)],
            "wider_beam": [("Moscow sees Belarus as a buffer against NATO, people say.", -0.3)],
        },
    }
    engine = ScriptedEngine(script)
    translate_guarded(engine, [*SOURCES, other], BASE, glossary=builtin_glossary())
    assert [rung_of(settings) for _, settings in engine.calls] == ["normal", "wider_beam", "n_best"]
    assert [len(sources) for sources, _ in engine.calls] == [5, 3, 1]


def test_retry_counts_per_document() -> None:
    segments = translate_guarded(ScriptedEngine(SCRIPT), SOURCES, BASE, glossary=builtin_glossary())
    counts = guard_counts(segments)
    assert counts["segments"] == 4 and counts["flagged"] == 2 and counts["retried"] == 2 and counts["fixed"] == 1
    assert counts["extra_decodes"] == 3 and counts["extra_decodes_per_flagged"] == 1.5
    assert counts["flags_first_attempt"] == {"repetition": 1, "empty_output": 1}
    assert counts["flags_final"] == {"empty_output": 1}


def test_retry_records_are_json() -> None:
    (segment,) = translate_guarded(ScriptedEngine(SCRIPT), [NL_NUM], BASE, glossary=builtin_glossary())
    record = json.loads(json.dumps(segment.to_dict()))
    assert record["target"] == EN_NUM and record["winner"] == 0 and len(record["attempts"]) == 1
    assert record["attempts"][0] == {
        "rung": "normal",
        "settings": BASE,
        "target": EN_NUM,
        "score": -0.3,
        "flags": [],
        "hypotheses": 1,
    }


def test_retry_unknown_mode_is_refused() -> None:
    with pytest.raises(GuardModeError, match="unknown guard mode"):
        translate_guarded(ScriptedEngine(SCRIPT), SOURCES, BASE, policy=GuardPolicy(mode="loud"))  # type: ignore[arg-type]


def test_retry_nothing_to_translate() -> None:
    engine = ScriptedEngine({})
    assert translate_guarded(engine, [], BASE) == [] and engine.calls == []
