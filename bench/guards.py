"""``--only guards``: what the guards cost next to translating, the ladder's extra decodes, and their memory."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

from bench.common import CT2_BATCH_SIZE, ROOT
from bench.harness import Bench
from bench.seed import seed_sources

# The share of correct NTREX-128 pairs that some guard flags (README, ``nl2en eval guards``): the flag
# rate of a real model's good output, for the estimate of the default's cost. ``--flag-rate`` overrides it.
NTREX_FALSE_POSITIVE_RATE = 0.035
UNLIMITED_BUDGET = 1e9  # retry_budget that pays for every retry: the ladder's own depth


def _rss_mib(field: str = "VmRSS") -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def drive_guards_memory(spec: dict[str, Any]) -> dict[str, Any]:
    """The seed through the local translator in one guard mode; resident memory after each stage.

    With ``probe`` the guards' models are loaded at the end of a ``--guards off`` run: what
    py3langid and sacrebleu alone hold.
    """
    from pipeline.engines.ct2 import CT2Engine
    from pipeline.engines.protocol import DecodeRequest
    from pipeline.models.decoding import translation_decoding
    from pipeline.models.registry import fingerprint, resolve_model
    from pipeline.quality.glossary import builtin_glossary
    from pipeline.quality.ladder import GuardPolicy
    from pipeline.translation.translator import Seq2SeqTranslator

    stages = {"imported": _rss_mib()}
    model = resolve_model(spec["model"])
    engine = CT2Engine(model, fingerprint(model), compute_type="int8", batch_size=CT2_BATCH_SIZE)
    settings = translation_decoding(model).settings
    segments = seed_sources()
    engine.decode(segments[:2], DecodeRequest(settings, scores=False))
    stages["loaded"] = _rss_mib()
    policy = GuardPolicy(mode=spec["mode"], retry_budget=spec.get("budget", GuardPolicy().retry_budget))
    translations = Seq2SeqTranslator(engine, settings, glossary=builtin_glossary(), policy=policy).translate_batch(
        segments
    )
    stages["translated"] = _rss_mib()
    if spec.get("probe"):
        from pipeline.quality.guards import copy_chrf, identify_language

        before = _rss_mib()
        identify_language("This is an English sentence about the weather.")
        stages["langid_mib"] = _rss_mib() - before
        before = _rss_mib()
        copy_chrf("Dit is een zin.", "This is a sentence.")
        stages["sacrebleu_mib"] = _rss_mib() - before
    records = sum(len(str(t.attempts)) for t in translations)
    # VmHWM, not wait4's ru_maxrss: a child forked from this fat benchmark process keeps its parent's peak
    return {"stages": stages, "peak_rss_mib": _rss_mib("VmHWM"), "attempt_record_chars": records}


def _ladder(engine: Any, segments: Sequence[str], settings: dict[str, Any], budget: float) -> dict[str, Any]:
    """The seed (one document) up the ladder: how many retries, and the extra tokens against the first pass."""
    from pipeline.engines.protocol import DecodeRequest
    from pipeline.quality.glossary import builtin_glossary
    from pipeline.quality.ladder import GuardPolicy, translate_guarded

    guarded = translate_guarded(
        engine, segments, settings, glossary=builtin_glossary(), policy=GuardPolicy(retry_budget=budget)
    )
    base_beams = DecodeRequest(settings).beams
    first = sum(g.attempts[0].tokens for g in guarded)
    extra = sum(a.tokens for g in guarded for a in g.attempts[1:])
    weighted = sum(a.tokens * a.request.beams / base_beams for g in guarded for a in g.attempts[1:])
    flagged = sum(g.flagged for g in guarded)
    decodes = sum(len(g.attempts) - 1 for g in guarded)
    return {
        "budget": budget,
        "flagged": flagged,
        "retried": sum(g.retried for g in guarded),
        "fixed": sum(g.fixed for g in guarded),
        "unretried": sum(bool(g.budget_refused) for g in guarded),
        "extra_decodes": decodes,
        "extra_decodes_per_flagged": round(decodes / flagged, 3) if flagged else 0.0,
        "first_pass_tokens": first,
        "extra_tokens_share": round(extra / first, 4) if first else 0.0,
        "extra_beam_tokens_share": round(weighted / first, 4) if first else 0.0,
    }


def bench_guards(bench: Bench) -> dict[str, Any]:
    """What the guards cost next to translating, how many extra decodes a flagged segment takes, their memory.

    Cost: the whole guarded path (forced terms, term checks, every guard, the ladder's bookkeeping)
    over the seeds' reference pairs, with an engine that answers instantly with the reference
    (kept only where it passes every guard, so nothing is retried), against the time the
    benchmark's translation model (CTranslate2 int8, guards off) takes to decode the same sources.
    Ladder: the same model with ``--guards retry`` on the seed's segments (one document), with the
    default retry budget and with none. Memory: peak RSS of a child translating the seed per mode.
    """
    from pipeline.engines.ct2 import CT2Engine
    from pipeline.engines.protocol import Candidate, DecodeRequest
    from pipeline.evaluation.references import load_references
    from pipeline.models.decoding import translation_decoding
    from pipeline.models.registry import fingerprint, resolve_model
    from pipeline.quality.glossary import builtin_glossary, force_terms
    from pipeline.quality.ladder import GuardPolicy, translate_guarded
    from pipeline.translation.translator import Seq2SeqTranslator

    glossary = builtin_glossary()
    refs = [load_references(f) for f in sorted((ROOT / "seeds").glob("*.refs.toml"))]
    pairs = [(s.nl, s.en) for r in refs for s in r.translations]
    answers = {force_terms(nl, glossary).text: en for nl, en in pairs}

    class Instant:
        def decode(self, sources: Sequence[str], request: DecodeRequest) -> list[list[Candidate]]:
            return [[Candidate(answers.get(s, s), -0.5, len(s.split()))] for s in sources]

    retry = GuardPolicy(mode="retry")
    checked = translate_guarded(Instant(), [nl for nl, _ in pairs], {}, glossary=glossary, policy=retry)
    sources = [g.source for g in checked if not g.flagged]
    guarded_s = []
    for _ in range(bench.repeats):
        t0 = time.perf_counter()
        translate_guarded(Instant(), sources, {}, glossary=glossary, policy=retry)
        guarded_s.append(time.perf_counter() - t0)

    model_dir = bench.model("marian", bench.args.translate_tokens)
    bench.converted(model_dir)
    saved = {k: os.environ.get(k) for k in ("NL2EN_MODELS", "HF_HUB_OFFLINE")}
    os.environ.update({k: bench.env[k] for k in saved})
    try:
        model = resolve_model(str(model_dir))
        engine = CT2Engine(model, fingerprint(model), compute_type="int8", batch_size=CT2_BATCH_SIZE)
        settings = translation_decoding(model).settings
        engine.decode(sources[:2], DecodeRequest(settings))  # load before timing
        plain = Seq2SeqTranslator(engine, settings, policy=GuardPolicy(mode="off"))
        translate_s = []
        for _ in range(bench.repeats):
            t0 = time.perf_counter()
            plain.translate_batch(sources)
            translate_s.append(time.perf_counter() - t0)
        segments = seed_sources()
        budgeted = _ladder(engine, segments, settings, GuardPolicy().retry_budget)
        unlimited = _ladder(engine, segments, settings, UNLIMITED_BUDGET)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    memory = {}
    for key, spec in (
        ("off", {"mode": "off"}),
        ("off_then_guard_models", {"mode": "off", "probe": True}),
        ("flag", {"mode": "flag"}),
        ("retry", {"mode": "retry"}),
        ("retry_unlimited", {"mode": "retry", "budget": UNLIMITED_BUDGET}),
    ):
        memory[key] = bench.driver("guards-memory", {"model": str(model_dir), **spec})[1]
    guard = statistics.median(guarded_s)
    translate = statistics.median(translate_s)
    off_peak = memory["off"]["peak_rss_mib"]
    print(f"  guards: {guard:.3f} s vs translating {translate:.2f} s ({guard / translate:.1%}) over {len(sources)} "
          f"segments; ladder: {budgeted['extra_decodes_per_flagged']} extra decodes per flagged segment with the "
          f"budget ({budgeted['extra_beam_tokens_share']:.0%} extra beam-tokens), "
          f"{unlimited['extra_decodes_per_flagged']} without ({unlimited['extra_beam_tokens_share']:.0%}); "
          f"peak RSS off {off_peak:.0f} MiB, flag {memory['flag']['peak_rss_mib'] - off_peak:+.0f}, "
          f"retry {memory['retry']['peak_rss_mib'] - off_peak:+.0f}, "
          f"unlimited {memory['retry_unlimited']['peak_rss_mib'] - off_peak:+.0f}", flush=True)  # fmt: skip
    return {
        "segments": len(sources),
        "reference_pairs": len(pairs),
        "guards_s": round(guard, 4),
        "translate_s": round(translate, 4),
        "cost": guard / translate,
        "seed_segments": len(segments),
        "flagged": budgeted["flagged"],
        "extra_decodes": budgeted["extra_decodes"],
        "extra_decodes_per_flagged": budgeted["extra_decodes_per_flagged"],
        "ladder": budgeted,
        "ladder_unlimited": unlimited,
        "memory": memory,
    }


def guard_targets(guards: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The guards' rows of the targets table: cost ≤ 5 % of translate time; the ladder's extra work."""
    if not guards:
        return []
    cost = guards["cost"] * 100
    extra = guards["extra_decodes_per_flagged"]
    rows = [
        {"key": "guards_cost", "target": f"guards (scripted engine, {guards['segments']} segments) / translate time",
         "limit": "≤ 5 %", "measured": round(cost, 2), "unit": "%", "result": "PASS" if cost <= 5 else "MISS",
         "note": "" if cost <= 5 else f"{cost / 5 - 1:.0%} over", "primary": True},
        {"key": "guards_extra_decodes", "target": f"extra decodes per flagged segment ({guards['flagged']} of "
         f"{guards['seed_segments']} seed segments flagged)", "limit": "≤ 3", "measured": extra, "unit": "",
         "result": "PASS" if extra <= 3 else "MISS", "note": "", "primary": False},
    ]  # fmt: skip
    ladder = guards.get("ladder")
    if ladder:
        share = ladder["extra_beam_tokens_share"] * 100
        rows.append(
            {"key": "guards_retry_budget", "target": "retries' beam-weighted tokens / first pass (seed, one document)",
             "limit": "≤ 30 %", "measured": round(share, 1), "unit": "%", "result": "PASS" if share <= 30 else "MISS",
             "note": "", "primary": False}
        )  # fmt: skip
    return rows
