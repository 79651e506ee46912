"""The retry ladder, driven rung by rung and guard by guard by the scripted engine."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

import pytest

from pipeline.engines.protocol import Candidate, DecodeRequest
from pipeline.errors import GuardModeError, RungError
from pipeline.quality.glossary import builtin_glossary, force_terms
from pipeline.quality.ladder import Attempt, GuardPolicy, choose, document_quality, translate_guarded
from pipeline.quality.rungs import get_rung
from pipeline.text.split import clause_pieces
from tests.support.scripted_engine import ScriptedEngine, rung_of, tokens_of

BASE = {"num_beams": 4, "max_length": 256}
# The rung tests climb the whole ladder for one segment, which the default budget (30 % of one
# segment's first pass) never pays for; the budget has tests of its own below.
UNLIMITED = GuardPolicy(retry_budget=100.0)
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
    (segment,) = translate_guarded(engine, [NL], BASE, policy=UNLIMITED)
    assert segment.target == EN and segment.flags == () and len(segment.attempts) == 1
    assert not segment.flagged and not segment.retried and not segment.fixed
    assert len(engine.calls) == 1 and engine.calls[0][1] == DecodeRequest(BASE)


def test_retry_wider_beam_cures_a_loop() -> None:
    engine = ScriptedEngine({NL: {"normal": [(LOOP, -0.1)], "wider_beam": [(EN, -0.4)]}})
    (segment,) = translate_guarded(engine, [NL], BASE, policy=UNLIMITED)
    assert [a.rung for a in segment.attempts] == ["normal", "wider_beam"]
    assert _flag_names(segment.attempts[0]) == ["repetition"]
    wide = segment.attempts[1].settings
    assert wide["num_beams"] == 8 and wide["no_repeat_ngram_size"] == 3 and wide["repetition_penalty"] == 1.2
    assert wide["max_length"] == 256
    assert segment.target == EN and segment.winner == 1 and segment.fixed
    assert segment.attempts[1].verdict.startswith("replaces attempt 1: clears repetition")
    assert engine.decodes("n_best") == 0


def test_retry_wider_beam_cures_an_empty_output() -> None:
    engine = ScriptedEngine({NL: {"normal": [("", -0.1)], "wider_beam": [(EN, -0.4)]}})
    (segment,) = translate_guarded(engine, [NL], BASE, policy=UNLIMITED)
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
    (segment,) = translate_guarded(engine, [NL_NUM], BASE, policy=UNLIMITED)
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
    (segment,) = translate_guarded(engine, [NL_CLAUSE], BASE, glossary=builtin_glossary(), policy=UNLIMITED)
    assert [a.rung for a in segment.attempts] == ["normal", "wider_beam", "n_best", "clause_split"]
    assert all(_flag_names(a) == ["untranslated"] for a in segment.attempts[:3])
    split = segment.attempts[3]
    assert split.target == "The Russian government knows the situation of its neighbour, and tightens the screws."
    assert split.pieces == 2 and split.to_dict()["pieces"] == 2 and "pieces" not in split.settings
    assert split.flags == ()
    # pooled by tokens (10 and 5): the mean over every token of the joined output
    tokens = [
        tokens_of("The Russian government knows the situation of its neighbour,"),
        tokens_of("and tightens the screws."),
    ]
    assert tokens == [10, 5] and split.tokens == 15
    assert split.score == round((-0.2 * 10 + -0.4 * 5) / 15, 4)  # scores carry four decimals (protocol.SCORE_DIGITS)
    assert segment.winner == 3 and segment.fixed


def test_retry_no_clause_break_means_no_split_attempt() -> None:
    engine = ScriptedEngine({NL: {"normal": [(NL, -0.1)]}})
    (segment,) = translate_guarded(engine, [NL], BASE, policy=UNLIMITED)
    assert [a.rung for a in segment.attempts] == ["normal", "wider_beam", "n_best"]
    assert segment.flagged and segment.retried and not segment.fixed


def test_retry_winner_has_fewest_flags_then_best_score() -> None:
    loop_and_short = "talks talks talks talks"
    engine = ScriptedEngine(
        {
            NL: {
                "normal": [(loop_and_short, -0.1)],
                "wider_beam": [("Russia and Belarus talk about talk talk talk talk integration.", -0.5)],
                "n_best": [("Russia and Belarus talk talk talk talk about economic integration.", -0.4)],
            }
        }
    )
    (segment,) = translate_guarded(engine, [NL], BASE, policy=UNLIMITED)
    assert [len(a.flags) for a in segment.attempts] == [2, 1, 1]
    assert segment.winner == 2 and segment.flagged and not segment.fixed
    assert "attempt 3 ranks higher" in segment.attempts[1].verdict


def test_retry_ties_go_to_the_earliest_attempt() -> None:
    engine = ScriptedEngine({NL: {"normal": [(LOOP, -1.0)], "wider_beam": [(LOOP, -1.0)]}})
    (segment,) = translate_guarded(engine, [NL], BASE, policy=UNLIMITED)
    assert segment.winner == 0


def test_retry_low_confidence_retries_until_confident() -> None:
    engine = ScriptedEngine({NL: {"normal": [(EN, -2.5)], "wider_beam": [(EN, -0.9)]}})
    (segment,) = translate_guarded(engine, [NL], BASE, policy=GuardPolicy(threshold=-1.0, retry_budget=100.0))
    assert _flag_names(segment.attempts[0]) == ["low_confidence"]
    assert segment.winner == 1 and segment.score == -0.9 and segment.fixed


def test_retry_length_ratio_is_retried() -> None:
    engine = ScriptedEngine({NL: {"normal": [("Talks.", -0.1)], "wider_beam": [(EN, -0.3)]}})
    (segment,) = translate_guarded(engine, [NL], BASE, policy=UNLIMITED)
    assert _flag_names(segment.attempts[0]) == ["length_ratio"] and segment.target == EN


# --- glossary -------------------------------------------------------------------------------

NL_NAMES = "Loekasjenko sprak in Sotsji met Poetin over de unie."
FORCED = "Lukashenko sprak in Sochi met Putin over de unie."


def test_retry_forced_terms_reach_the_engine_and_dutch_forms_are_repaired() -> None:
    engine = ScriptedEngine({FORCED: {"normal": [("Lukashenko spoke with Poetin in Sotsji about the union.", -0.3)]}})
    (segment,) = translate_guarded(engine, [NL_NAMES], BASE, glossary=builtin_glossary(), policy=UNLIMITED)
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
    (segment,) = translate_guarded(engine, [NL_NAMES], BASE, glossary=builtin_glossary(), policy=UNLIMITED)
    first = segment.attempts[0]
    assert _flag_names(first) == ["glossary_missing"]
    assert first.flags[0].evidence["terms"] == [{"nl": "Poetin", "en": "Putin", "start": 32}]
    for attempt in segment.attempts[1:]:
        assert {"Poetin", "Poetins", "Poetin's"} <= set(attempt.request.banned_phrases)
        assert "Sotsji" not in attempt.request.banned_phrases
        assert "banned_phrases" not in attempt.request.settings, "engines get decoding settings only"
    assert first.request.banned_phrases == () and "banned_phrases" not in first.settings
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
    retry = translate_guarded(ScriptedEngine(SCRIPT), SOURCES, BASE, glossary=glossary, policy=UNLIMITED)
    off_engine = ScriptedEngine(SCRIPT)
    off = translate_guarded(off_engine, SOURCES, BASE, glossary=glossary, policy=GuardPolicy(mode="off"))
    assert len({s.target for s in off}) == len(SOURCES)  # varied outputs, so equality means something
    assert [s.target for s in off] == [s.attempts[0].target for s in retry]
    assert [s.target for s in off] != [s.target for s in retry]
    assert all(s.flags == () and len(s.attempts) == 1 for s in off)


def test_retry_scores_are_asked_for_only_when_the_guards_read_them() -> None:
    for mode, wanted in (("off", False), ("flag", True), ("retry", True)):
        engine = ScriptedEngine(SCRIPT)
        policy = GuardPolicy(mode=mode)  # type: ignore[arg-type]
        segments = translate_guarded(engine, SOURCES, BASE, glossary=builtin_glossary(), policy=policy)
        assert {request.scores for _, request in engine.calls} == {wanted}, mode
        assert all((s.score is not None) == wanted for s in segments), mode


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
    translate_guarded(engine, [*SOURCES, other], BASE, glossary=builtin_glossary(), policy=UNLIMITED)
    assert [rung_of(request) for _, request in engine.calls] == ["normal", "wider_beam", "n_best"]
    assert [len(sources) for sources, _ in engine.calls] == [5, 3, 1]


def _translations(segments: list[Any]) -> list[SimpleNamespace]:
    """Guarded segments as the manifest's counts read them (``Translation``'s attempts, flags and terms)."""
    return [
        SimpleNamespace(
            attempts=[a.to_dict() for a in s.attempts],
            flags=[f.name for f in s.flags],
            terms=[t.to_dict() for t in s.terms],
        )
        for s in segments
    ]


def test_retry_counts_per_document() -> None:
    segments = translate_guarded(ScriptedEngine(SCRIPT), SOURCES, BASE, glossary=builtin_glossary(), policy=UNLIMITED)
    counts = document_quality(_translations(segments))
    assert counts["flagged"] == 2 and counts["retried"] == 2 and counts["fixed"] == 1
    assert counts["extra_decodes"] == 3 and counts["extra_decodes_per_flagged"] == 1.5
    assert counts["flags"] == {"empty_output": 1}
    assert counts["unretried"] == {"segments": 0, "flags": {}}


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


# --- the ladder may not make things worse ---------------------------------------------------

NO = "Nee, nee, nee."  # the source repeats itself: overshooting that is an ordinary flag, not a loop


def test_retry_margin_keeps_a_flagged_first_attempt_over_a_much_worse_score() -> None:
    engine = ScriptedEngine({NO: {"normal": [("no, no, no, no", -0.1)], "wider_beam": [("no, no, no!", -0.9)]}})
    (segment,) = translate_guarded(engine, [NO], BASE, policy=UNLIMITED)
    first, retry = segment.attempts
    assert _flag_names(first) == ["repetition"] and first.hard == ()  # four times for the source's three
    assert retry.flags == () and retry.score == -0.9
    assert segment.winner == 0 and segment.target == "no, no, no, no"
    assert retry.verdict == "attempt 1 kept: clears repetition, but its score -0.9 is 0.8 below -0.1 (margin 0.5)"
    assert segment.to_dict()["attempts"][1]["verdict"] == retry.verdict
    assert len(engine.calls) == 2, "a clean retry ends the climb, even when the margin refuses it"


def test_retry_margin_lets_a_slightly_worse_score_replace_the_flagged_attempt() -> None:
    engine = ScriptedEngine({NO: {"normal": [("no, no, no, no", -0.1)], "wider_beam": [("no, no, no!", -0.6)]}})
    (segment,) = translate_guarded(engine, [NO], BASE, policy=UNLIMITED)
    assert segment.winner == 1 and segment.target == "no, no, no!" and segment.fixed
    wider = GuardPolicy(replace_margin=1.0, retry_budget=100.0)
    engine = ScriptedEngine({NO: {"normal": [("no, no, no, no", -0.1)], "wider_beam": [("no, no, no!", -0.9)]}})
    (segment,) = translate_guarded(engine, [NO], BASE, policy=wider)
    assert segment.winner == 1, "the margin is the policy's"


@pytest.mark.parametrize("first", [LOOP, ""])
def test_retry_hard_failure_is_replaced_despite_a_worse_score(first: str) -> None:
    engine = ScriptedEngine({NL: {"normal": [(first, -0.1)], "wider_beam": [(EN, -2.0)]}})
    (segment,) = translate_guarded(engine, [NL], BASE, policy=UNLIMITED)
    assert segment.attempts[0].hard == tuple(_flag_names(segment.attempts[0]))  # a loop the source lacks, or empty
    assert segment.winner == 1 and segment.target == EN and segment.score == -2.0
    assert "a hard failure: the score margin does not apply" in segment.attempts[1].verdict


def test_retry_never_trades_a_soft_flag_for_a_hard_failure() -> None:
    engine = ScriptedEngine({NL: {"normal": [("Talks.", -0.3)], "wider_beam": [("", -0.05)], "n_best": [(EN, -0.5)]}})
    (segment,) = translate_guarded(engine, [NL], BASE, policy=UNLIMITED)
    assert [_flag_names(a) for a in segment.attempts] == [["length_ratio"], ["empty_output"], []]
    assert segment.attempts[1].verdict == "attempt 1 kept: adds a hard failure (empty_output)"
    assert segment.winner == 2 and segment.target == EN


def _made(flags: list[str], score: float) -> Attempt:
    from pipeline.quality.guards import Flag
    from pipeline.quality.ladder import hard_failures

    found = tuple(Flag(name) for name in flags)
    return Attempt("normal", DecodeRequest(BASE), "x", score, found, hard=hard_failures(found))


def test_retry_an_unflagged_first_attempt_is_never_replaced() -> None:
    winner, verdicts = choose([_made([], -2.0), _made([], -0.1), _made([], -0.01)], margin=0.5)
    assert winner == 0 and verdicts[1:] == ["attempt 1 kept: clears no flag"] * 2


def test_retry_without_scores_fewest_flags_win() -> None:
    from dataclasses import replace

    first, retry = replace(_made(["length_ratio"], 0), score=None), replace(_made([], 0), score=None)
    assert choose([first, retry], margin=0.5)[0] == 1


# --- the retry budget -----------------------------------------------------------------------

FILLERS = {
    f"Zin nummer {i} gaat over het weer in het land.": f"Sentence number {i} is about the weather." for i in range(12)
}
EMPTY_NL = "Hallo daar, hoe gaat het met u vandaag?"  # 8 source words
UNSURE_NL = "De regering in Minsk voert gesprekken over vergaande integratie."
UNSURE_EN = "The government in Minsk is holding talks on far-reaching integration."  # 10 words: 11 tokens
BUDGET_SCRIPT: dict[str, dict[str, list[tuple[str, float | None]]]] = {
    **{nl: {"normal": [(en, -0.2)]} for nl, en in FILLERS.items()},  # 8 tokens each
    EMPTY_NL: {"normal": [("", -0.1)], "wider_beam": [("Hello there, how are you today?", -0.4)]},
    UNSURE_NL: {"normal": [(UNSURE_EN, -2.5)], "wider_beam": [(UNSURE_EN, -0.5)]},
}


def test_retry_budget_of_one_segment_alone_pays_for_no_retry_and_says_so() -> None:
    engine = ScriptedEngine(BUDGET_SCRIPT)
    (segment,) = translate_guarded(engine, [EMPTY_NL], BASE)
    assert len(engine.calls) == 1 and segment.flags[0].name == "empty_output"
    assert segment.budget_refused == "wider_beam" and segment.to_dict()["attempts"][0]["budget_refused"] == "wider_beam"
    counts = document_quality(_translations([segment]))
    assert counts["unretried"] == {"segments": 1, "flags": {"empty_output": 1}} and counts["retried"] == 0


def test_retry_budget_goes_to_the_worst_flag_first() -> None:
    """Five fillers of 8 tokens, an empty output (1 token; a retry costs its 8 source words × 8/4 beams = 16)
    and a low-confidence one (11 tokens; costs 22): the budget, 0.3 × 52 = 15.6... too little for either."""
    policy = GuardPolicy(threshold=-1.0)
    fillers = list(FILLERS)[:5]
    sources = [UNSURE_NL, *fillers, EMPTY_NL]  # the milder flag comes first in the input
    assert sum(tokens_of(FILLERS[f]) for f in fillers) + 1 + 11 == 52
    engine = ScriptedEngine(BUDGET_SCRIPT)
    segments = translate_guarded(engine, sources, BASE, policy=policy)
    assert [s.budget_refused for s in segments] == ["wider_beam", *[""] * 5, "wider_beam"]
    # with one more filler the budget (0.3 × 60 = 18) pays for the empty output (16), not for both (38)
    sources = [UNSURE_NL, *list(FILLERS)[:6], EMPTY_NL]
    engine = ScriptedEngine(BUDGET_SCRIPT)
    segments = translate_guarded(engine, sources, BASE, policy=policy)
    assert engine.calls[1][0] == (EMPTY_NL,) and rung_of(engine.calls[1][1]) == "wider_beam"
    assert segments[-1].fixed and segments[-1].budget_refused == ""
    assert segments[0].budget_refused == "wider_beam" and _flag_names(segments[0]) == ["low_confidence"]
    counts = document_quality(_translations(segments))
    assert counts["unretried"] == {"segments": 1, "flags": {"low_confidence": 1}} and counts["fixed"] == 1


def test_retry_budget_is_per_group() -> None:
    """A's eleven fillers pay for its retry (0.3 × 99 = 29.7 ≥ 22); B, one segment, cannot (0.3 × 11)."""
    policy = GuardPolicy(threshold=-1.0)
    other = UNSURE_NL.replace("Minsk", "Kiev")
    script = {**BUDGET_SCRIPT, other: BUDGET_SCRIPT[UNSURE_NL]}
    sources = [other, *list(FILLERS)[:11], UNSURE_NL]
    groups = ["B", *["A"] * 11, "A"]
    together = translate_guarded(ScriptedEngine(script), sources, BASE, policy=policy)
    assert [together[0].retried, together[-1].retried] == [True, False], "one group: first come, first served"
    apart = translate_guarded(ScriptedEngine(script), sources, BASE, policy=policy, groups=groups)
    assert [apart[0].retried, apart[-1].retried] == [False, True]
    assert apart[0].budget_refused == "wider_beam" and apart[-1].fixed
    with pytest.raises(ValueError, match="2 groups for 13 sources"):
        translate_guarded(ScriptedEngine(script), sources, BASE, policy=policy, groups=["A", "B"])


def test_retry_costs_are_estimated_before_decoding() -> None:
    """A rung's cost is the segment's first-pass tokens × its beams over attempt 1's, whatever it then decodes."""
    policy = GuardPolicy()
    four, one = DecodeRequest({"num_beams": 4}), DecodeRequest({"num_beams": 1})
    assert [get_rung(n).cost(four, policy) for n in policy.rungs] == [2.0, 2.0, 1.0]
    assert [get_rung(n).cost(one, policy) for n in policy.rungs] == [8.0, 8.0, 1.0]
    # a retry that comes out three times longer than estimated does not change who else is paid for
    # (one sentence: three would add content the source does not have, a flag of its own)
    long = "Hello there, how are you today, and how were you yesterday, and how will you be tomorrow?"
    script = {**BUDGET_SCRIPT, EMPTY_NL: {"normal": [("", -0.1)], "wider_beam": [(long, -0.4)]}}
    sources = [UNSURE_NL, *FILLERS, EMPTY_NL]
    short = translate_guarded(ScriptedEngine(BUDGET_SCRIPT), sources, BASE, policy=GuardPolicy(threshold=-1.0))
    longer = translate_guarded(ScriptedEngine(script), sources, BASE, policy=GuardPolicy(threshold=-1.0))
    assert [len(s.attempts) for s in short] == [len(s.attempts) for s in longer]


def test_retry_hard_failures_are_no_translation_at_all() -> None:
    from pipeline.quality.guards import Flag
    from pipeline.quality.ladder import hard_failures

    flags = [
        Flag("empty_output"),
        Flag("untranslated", {"reason": "copy"}),
        Flag("repetition", {"times": 19, "source_times": 1}),  # the model's own loop
        Flag("repetition", {"times": 4, "source_times": 3}),  # overshoots the source's repetition
        Flag("length_ratio"),
        Flag("low_confidence"),
    ]
    assert hard_failures(flags) == ("empty_output", "untranslated", "repetition")


def test_retry_policy_names_its_rungs() -> None:
    assert GuardPolicy().rungs == ("wider_beam", "n_best", "clause_split")
    with pytest.raises(RungError, match="unknown rung 'widest'; known rungs: normal, wider_beam, n_best, clause_split"):
        GuardPolicy(rungs=("wider_beam", "widest"))
    with pytest.raises(RungError, match="'normal' is attempt 1, not a retry; retry rungs: wider_beam, n_best"):
        GuardPolicy(rungs=("normal",))
    engine = ScriptedEngine(
        {NL_CLAUSE: {"normal": [(NL_CLAUSE, -0.1)]}}, default=lambda s: ("Some English words here.", -0.3)
    )
    policy = GuardPolicy(rungs=("clause_split",), retry_budget=100.0)
    (segment,) = translate_guarded(engine, [NL_CLAUSE], BASE, policy=policy)
    assert [a.rung for a in segment.attempts] == ["normal", "clause_split"]
    assert GuardPolicy(rungs=("clause_split",)).signature() != GuardPolicy().signature()


# --- word links of the winning hypothesis ---------------------------------------------------


@dataclass
class LinkingEngine:
    """The scripted engine, each hypothesis with the word links ``links[target]`` (``None`` for others)."""

    inner: ScriptedEngine
    links: dict[str, tuple[tuple[int, int], ...]]

    def decode(self, sources: Sequence[str], request: DecodeRequest) -> list[list[Candidate]]:
        decoded = self.inner.decode(sources, request)
        return [[replace(c, links=self.links.get(c.target)) for c in candidates] for candidates in decoded]


def test_links_of_the_winning_hypothesis_are_the_segment_s() -> None:
    wrong_number = "On 1 July the loan cost 16 percent more than a year earlier."
    script = {
        NL_NUM: {
            "normal": [(wrong_number, -0.1)],
            "wider_beam": [(wrong_number, -0.2)],
            "n_best": [(wrong_number, -0.15), (EN_NUM, -0.5)],
        },
        NL: {"normal": [(EN, -0.2)]},
    }
    links = {wrong_number: ((0, 0), (5, 6)), EN_NUM: ((0, 0), (1, 1), (5, 6)), EN: ((0, 0), (2, 2))}
    clean, fixed = translate_guarded(LinkingEngine(ScriptedEngine(script), links), [NL, NL_NUM], BASE, policy=UNLIMITED)
    assert clean.links == links[EN]
    assert fixed.winner == 2 and fixed.target == EN_NUM and fixed.links == links[EN_NUM]
    assert [a.links for a in fixed.attempts] == [links[wrong_number], links[wrong_number], links[EN_NUM]]
    assert all("links" not in a.to_dict() for a in fixed.attempts), "links are never in the record"
    assert "links" not in json.dumps(fixed.to_dict())


def test_links_are_dropped_when_the_glossary_changed_the_target_and_mapped_back_when_it_changed_the_source() -> None:
    repaired = "Lukashenko spoke with Poetin in Sotsji about the union."
    kept = "Lukashenko spoke with Putin in Sochi about the union."
    links = {repaired: ((0, 0), (4, 3)), kept: ((0, 0), (4, 3)), EN_NUM: ((0, 0),)}
    engine = LinkingEngine(
        ScriptedEngine({FORCED: {"normal": [(repaired, -0.3)]}, NL_NUM: {"normal": [(EN_NUM, -0.2)]}}), links
    )
    (fixed,) = translate_guarded(engine, [NL_NAMES], BASE, glossary=builtin_glossary(), policy=UNLIMITED)
    assert fixed.target == kept and fixed.attempts[0].links is None, "the repair changed the decoded target"
    # the target as decoded, but from the source with its terms forced: links over the forced words
    # ("Lukashenko" 0, "Putin" 5) are mapped back to the segment's ("Loekasjenko" 0, "Poetin" 5)
    engine = LinkingEngine(
        ScriptedEngine({FORCED: {"normal": [(kept, -0.3)]}, NL_NUM: {"normal": [(EN_NUM, -0.2)]}}),
        {**links, kept: ((0, 0), (5, 3), (1, 1), (7, 7))},
    )
    forced, plain = translate_guarded(engine, [NL_NAMES, NL_NUM], BASE, glossary=builtin_glossary(), policy=UNLIMITED)
    assert forced.attempts[0].links == ((0, 0), (5, 3), (1, 1), (7, 7)) and forced.forced_source != forced.source
    assert forced.links == ((0, 0), (1, 1), (5, 3), (7, 7))
    assert plain.links == links[EN_NUM], "a segment without terms keeps its links under a glossary"


def test_links_over_forced_words_map_to_every_word_of_the_term_they_replaced() -> None:
    from pipeline.quality.ladder import source_links

    read = "De Verenigde Staten en Belarus tekenen."
    source = "De VS en Wit-Rusland tekenen."  # one word read as two, one as one
    assert source_links(((1, 1), (2, 2), (4, 3), (5, 4)), read, source) == ((1, 1), (1, 2), (3, 3), (4, 4))


def test_links_of_a_clause_split_are_none() -> None:
    first, second = clause_pieces(NL_CLAUSE)
    script = {
        NL_CLAUSE: {"normal": [(NL_CLAUSE, -0.1)]},
        first: {"normal": [("The Russian government knows the situation of its neighbour,", -0.2)]},
        second: {"normal": [("and tightens the screws.", -0.4)]},
    }
    links: dict[str, tuple[tuple[int, int], ...]] = {
        t: ((0, 0),) for by_rung in script.values() for t, _ in by_rung["normal"]
    }
    (segment,) = translate_guarded(LinkingEngine(ScriptedEngine(script), links), [NL_CLAUSE], BASE, policy=UNLIMITED)
    assert segment.best.rung == "clause_split" and segment.fixed
    assert segment.attempts[0].links == ((0, 0),) and segment.links is None
