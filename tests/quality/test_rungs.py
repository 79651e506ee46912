"""The rungs: registered by name, each with its request, its cost and its way of decoding."""

from __future__ import annotations

import pytest

from pipeline.engines.protocol import DecodeRequest
from pipeline.errors import RungError
from pipeline.quality.ladder import GuardPolicy
from pipeline.quality.rungs import RUNGS, Rung, get_rung, is_first_attempt, pooled_score, register_rung, retry_rungs
from tests.support.scripted_engine import ScriptedEngine

BASE = DecodeRequest({"num_beams": 4, "max_length": 256}, scores=False)


def test_rungs_are_registered_by_name() -> None:
    assert list(RUNGS) == ["normal", "wider_beam", "n_best", "clause_split"]
    assert retry_rungs() == ["wider_beam", "n_best", "clause_split"]
    assert get_rung("n_best") is RUNGS["n_best"]
    with pytest.raises(RungError, match="unknown rung 'widest'; known rungs: normal, wider_beam, n_best, clause_split"):
        get_rung("widest")
    with pytest.raises(ValueError, match="taken"):

        @register_rung
        class Again(Rung):
            name = "n_best"

    assert list(RUNGS) == ["normal", "wider_beam", "n_best", "clause_split"], "a refused rung is not registered"


def test_rungs_requests_build_on_attempt_one() -> None:
    policy = GuardPolicy()
    assert get_rung("normal").request(BASE, policy, ["Poetin"]) == BASE, "attempt 1 bans nothing"
    wider = get_rung("wider_beam").request(BASE, policy, ["Poetin"])
    assert wider.settings == {"num_beams": 8, "max_length": 256, "no_repeat_ngram_size": 3, "repetition_penalty": 1.2}
    assert wider.banned_phrases == ("Poetin",) and wider.num_return_sequences == 1 and wider.scores is False
    n_best = get_rung("n_best").request(BASE, policy, ())
    assert n_best.settings == {"num_beams": 8, "max_length": 256} and n_best.num_return_sequences == 8
    assert get_rung("clause_split").request(BASE, policy, ()) == BASE
    greedy = DecodeRequest({"num_beams": 1})
    assert get_rung("wider_beam").request(greedy, policy, ()).beams == 8
    assert get_rung("n_best").request(DecodeRequest({"num_beams": 6}), policy, ()).beams == 12


def test_rungs_apply_where_they_can_help() -> None:
    split = get_rung("clause_split")
    assert split.applies("Hij kwam, zag en overwon.") and not split.applies("Hij kwam en zag.")
    assert get_rung("wider_beam").applies("Hij kwam en zag.")


def test_rungs_clause_split_decodes_pieces_and_pools_their_scores() -> None:
    engine = ScriptedEngine({"Hij kwam,": {"normal": [("He came,", -1.0)]}, "zag en overwon.": {
        "normal": [("saw and conquered the whole wide world.", -0.1)]}})  # fmt: skip
    request = DecodeRequest({"num_beams": 4})
    ((candidates, pieces),) = get_rung("clause_split").decode(engine, ["Hij kwam, zag en overwon."], request)
    assert pieces == 2 and engine.calls[0][0] == ("Hij kwam,", "zag en overwon.")
    (joined,) = candidates
    assert joined.target == "He came, saw and conquered the whole wide world."
    assert joined.tokens == 3 + 8 and joined.score == round((-1.0 * 3 + -0.1 * 8) / 11, 4)


def test_rungs_pooled_score_weights_by_tokens() -> None:
    assert pooled_score([-1.0, -0.1], [9, 1]) == pytest.approx(-0.91)
    assert pooled_score([-1.0, -0.1], [0, 0]) == pytest.approx(-0.55)  # engines that count nothing: plain mean
    assert pooled_score([-1.0, None], [3, 3]) is None and pooled_score([], []) is None


def test_rungs_first_attempt_records() -> None:
    assert is_first_attempt({"rung": "normal"}) and not is_first_attempt({"rung": "wider_beam"})
