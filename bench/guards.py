"""``--only guards``: what the guards cost next to translating, and the extra decodes of a flagged segment."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

from bench.common import CT2_BATCH_SIZE, ROOT
from bench.harness import Bench
from bench.seed import seed_sources


def bench_guards(bench: Bench) -> dict[str, Any]:
    """What the guards cost next to translating, and how many extra decodes a flagged segment takes.

    Cost: the whole guarded path (forced terms, term checks, every guard, the ladder's bookkeeping)
    over the seeds' reference pairs, with an engine that answers instantly with the reference
    (kept only where it passes every guard, so nothing is retried), against the time the
    benchmark's translation model (CTranslate2 int8, guards off) takes to decode the same sources.
    Extra decodes: the same model with ``--guards retry`` on the seed's segments.
    """
    from pipeline.engines.ct2 import CT2Engine
    from pipeline.engines.protocol import Candidate
    from pipeline.evaluation.references import load_references
    from pipeline.models.decoding import translation_decoding
    from pipeline.models.registry import fingerprint, resolve_model
    from pipeline.quality.glossary import builtin_glossary, force_terms
    from pipeline.quality.ladder import GuardPolicy, document_quality, translate_guarded
    from pipeline.translation.translator import Seq2SeqTranslator

    glossary = builtin_glossary()
    refs = [load_references(f) for f in sorted((ROOT / "seeds").glob("*.refs.toml"))]
    pairs = [(s.nl, s.en) for r in refs for s in r.translations]
    answers = {force_terms(nl, glossary).text: en for nl, en in pairs}

    class Instant:
        def decode(self, sources: Sequence[str], settings: Any) -> list[list[Candidate]]:
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
        engine.decode(sources[:2], settings)  # load before timing
        plain = Seq2SeqTranslator(engine, settings, policy=GuardPolicy(mode="off"))
        translate_s = []
        for _ in range(bench.repeats):
            t0 = time.perf_counter()
            plain.translate_batch(sources)
            translate_s.append(time.perf_counter() - t0)
        segments = seed_sources()
        laddered = Seq2SeqTranslator(engine, settings, glossary=glossary, policy=retry).translate_batch(segments)
        quality = document_quality(laddered)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    guard = statistics.median(guarded_s)
    translate = statistics.median(translate_s)
    extra = quality["extra_decodes_per_flagged"]
    print(f"  guards: {guard:.3f} s vs translating {translate:.2f} s ({guard / translate:.1%}) over {len(sources)} "
          f"segments; {extra} extra decodes per flagged segment", flush=True)  # fmt: skip
    return {
        "segments": len(sources),
        "reference_pairs": len(pairs),
        "guards_s": round(guard, 4),
        "translate_s": round(translate, 4),
        "cost": guard / translate,
        "seed_segments": len(segments),
        "flagged": quality["flagged"],
        "extra_decodes": quality["extra_decodes"],
        "extra_decodes_per_flagged": quality["extra_decodes_per_flagged"],
    }


def guard_targets(guards: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The guards' rows of the targets table: cost ≤ 5 % of translate time; extra decodes per flagged segment."""
    if not guards:
        return []
    cost = guards["cost"] * 100
    extra = guards["extra_decodes_per_flagged"]
    return [
        {"key": "guards_cost", "target": f"guards (scripted engine, {guards['segments']} segments) / translate time",
         "limit": "≤ 5 %", "measured": round(cost, 2), "unit": "%", "result": "PASS" if cost <= 5 else "MISS",
         "note": "" if cost <= 5 else f"{cost / 5 - 1:.0%} over", "primary": True},
        {"key": "guards_extra_decodes", "target": f"extra decodes per flagged segment ({guards['flagged']} of "
         f"{guards['seed_segments']} seed segments flagged)", "limit": "≤ 3", "measured": extra, "unit": "",
         "result": "PASS" if extra <= 3 else "MISS", "note": "", "primary": False},
    ]  # fmt: skip
