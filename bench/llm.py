"""``--only llm``: an instruct LLM of EuroLLM-1.7B's architecture on CTranslate2 int8 and on transformers float32.

No weights are available offline, so the model is a random one of EuroLLM-1.7B's exact configuration
(``tests.support.tiny_llm.build_eurollm_architecture``: 24 layers, hidden 2048, GQA 16/8 heads, FFN 5632,
a 128,000-row vocabulary; 1.66B parameters, stored in bfloat16), built once into
``bench/.models/eurollm-1.7b-arch-s<scale>/`` and converted to CTranslate2 int8 in a child process
before anything is timed. Its tokenizer is the small sentencepiece model the test scaffolding trains on
the fly (about 600 pieces), so a sentence is cut into more tokens than EuroLLM's own tokenizer would cut
it into; the work per token is the real model's. ``--quick`` builds a scaled-down model (``scale``
0.25: fewer layers, heads and FFN, the full vocabulary) and says so in the results: its figures are not
held to the targets.

Every variant runs in a child process of its own (peak RSS from ``wait4``):

- **engine**: the same prompts (translation prompts of the seed's first sentences, two sentences of
  context each) through each engine's ``generate``, greedy, batched as nl2en does, once with one new
  token (the prompt pass, "prefill") and once with ``--llm-tokens`` new tokens, ``min_new_tokens =
  max_new_tokens`` so both engines generate exactly as many tokens whatever the random model picks.
  Prompt tokens/s = prompt tokens / time of the one-token run; generated tokens/s = the extra tokens
  of the long run / the extra time it took.
- **translator**: the seed through ``LLMTranslator`` (``open_translator`` with ``--context 0`` and
  ``--context 2``, CTranslate2 int8, no cache, default guards, the same fixed number of new tokens),
  as ``translate_document`` does it: sentences/s. The random model has most outputs flagged, so the
  retries of the default guard ladder (capped by the retry budget) are part of the time; their count
  is recorded.
- **static prompt**: prompts that share a long system turn (instructions and the built-in glossary's
  terms) through CTranslate2's ``generate`` with ``static_prefix`` (the shared part forwarded once and
  its state reused) and without, alternately, in one process.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.build import safetensors_parameters
from bench.common import (
    MIB,
    MODEL_SPEC_VERSION,
    SCRIPT,
    BenchError,
    check,
    fmt_num,
    read_record,
    record_path,
    run_process,
)
from bench.harness import Bench
from bench.seed import SEED

QUICK_SCALE = 0.25
ENGINE_PROMPTS = 8  # one batch of the engines' default batch size (16)
STATIC_PROMPTS = 16
STATIC_TERMS = 6  # glossary entries in the shared system turn
SPEEDUP_TARGET = 3.0  # CTranslate2 int8 generated tokens/s ≥ this × transformers float32
RSS_TARGET_GB = 2.5  # peak RSS of a CTranslate2 int8 process, 1.7B architecture
RSS_TARGET_MIB = RSS_TARGET_GB * 1e9 / MIB


def build_llm(dest: Path, scale: float) -> None:
    """A random model of EuroLLM-1.7B's architecture (``scale`` < 1: shrunk) into ``dest``, atomically."""
    from tests.support.tiny_llm import build_eurollm_architecture

    tmp = dest.with_name(f".{dest.name}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    started = time.perf_counter()
    build_eurollm_architecture(tmp, scale=scale)
    info = {
        "version": MODEL_SPEC_VERSION,
        "kind": "eurollm",
        "scale": scale,
        "parameters": safetensors_parameters(tmp),
        "build_s": round(time.perf_counter() - started, 2),
    }
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    record_path(dest).write_text(json.dumps({"model": info}, indent=2), encoding="utf-8")


# --- child side ------------------------------------------------------------------------------------------


def _open_engine(spec: dict[str, Any]) -> tuple[Any, Any]:
    from pipeline.engines.factory import EngineOptions, make_engine
    from pipeline.models.registry import fingerprint, resolve_model
    from pipeline.runs.sessions import digest_memo

    model = resolve_model(spec["model"])
    digest = fingerprint(model, digest_memo(None, Path(spec["digests"])))
    return model, make_engine(model, digest, EngineOptions(backend=spec["backend"], compute_type="int8"))


def _fixed(tokens: int) -> dict[str, Any]:
    return {"num_beams": 1, "max_new_tokens": tokens, "min_new_tokens": tokens}


def drive_llm_convert(spec: dict[str, Any]) -> dict[str, Any]:
    """Convert the model for CTranslate2 int8 (``CT2GeneratorEngine.load`` converts when none is cached)."""
    t0 = time.perf_counter()
    _, engine = _open_engine({**spec, "backend": "ctranslate2"})
    engine.load()
    return {"load_s": time.perf_counter() - t0}


def translation_prompts(engine: Any, model: Any, count: int, context: int) -> list[str]:
    """The translator's prompts for the seed's first ``count`` sentences, each with ``context`` sentences before it."""
    from bench.seed import seed_sources
    from pipeline.models.prompts import model_family, translation_messages

    sources = seed_sources()
    template = model_family(model).translation
    conversations = [
        translation_messages(template, sources[i], tuple(sources[max(0, i - context) : i]), ())
        for i in range(context, context + count)
    ]
    return list(engine.render(conversations))


def drive_llm_engine(spec: dict[str, Any]) -> dict[str, Any]:
    """Prompt pass and generation speed of one engine on the same prompts (see the module docstring).

    One-token and full-length runs alternate ``rounds`` times; the fastest of each kind is used (the
    medians are recorded too). On CTranslate2 the
    prompt pass is also timed on the raw generator with the prompts cut to one length: a batch of prompts
    of different lengths is forwarded at once only up to its shortest prompt, the rest token by token.
    """
    t0 = time.perf_counter()
    model, engine = _open_engine(spec)
    engine.load()
    t1 = time.perf_counter()
    prompts = translation_prompts(engine, model, spec["prompts"], 2)
    prompt_tokens = engine.count_tokens(prompts)
    new = spec["new_tokens"]
    engine.generate(prompts[:2], _fixed(2))  # first call: lazy set-up of the kernels
    one_s, full_s, counted = [], [], []
    for _ in range(spec["rounds"]):
        started = time.perf_counter()
        engine.generate(prompts, _fixed(1))
        one_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        full = engine.generate(prompts, _fixed(new))
        full_s.append(time.perf_counter() - started)
        counted = [n for _, n in full]
    # the fastest run of each kind: on a shared machine other work only ever adds time
    one, whole = min(one_s), min(full_s)
    extra = whole - one
    median_extra = statistics.median(full_s) - statistics.median(one_s)
    result = {
        "load_s": t1 - t0,
        "prompts": len(prompts),
        "prompt_tokens": sum(prompt_tokens),
        "prompt_tokens_each": prompt_tokens,
        "new_tokens": new,
        "rounds": spec["rounds"],
        "one_token_runs_s": one_s,
        "full_runs_s": full_s,
        "one_token_s": one,
        "full_s": whole,
        "counted_tokens": counted,
        "prompt_tokens_per_s": sum(prompt_tokens) / one,
        "generated_tokens_per_s": len(prompts) * (new - 1) / extra if extra > 0 else None,
        "overall_tokens_per_s": len(prompts) * new / whole,
        "generated_tokens_per_s_medians": len(prompts) * (new - 1) / median_extra if median_extra > 0 else None,
    }
    if engine.backend == "ctranslate2":
        generator, chat = engine.load(), engine.chat
        cut = min(prompt_tokens)
        batch = [chat.tokens(ids[:cut]) for ids in engine.memo.take(prompts)]
        times = []
        for _ in range(spec["rounds"]):
            started = time.perf_counter()
            generator.generate_batch(batch, max_length=1, include_prompt_in_result=False)
            times.append(time.perf_counter() - started)
        result["equal_length_tokens"] = cut * len(batch)
        result["equal_length_prompt_tokens_per_s"] = cut * len(batch) / statistics.median(times)
    return result


def drive_llm_translate(spec: dict[str, Any]) -> dict[str, Any]:
    """The seed through the LLM translator (``translate_document``, no cache), after the engine is loaded."""
    t0 = time.perf_counter()
    from pipeline.engines.factory import EngineOptions
    from pipeline.runs.document import translate_document
    from pipeline.runs.sessions import CacheSpec, TranslatorSpec, open_translator
    from pipeline.text.reader import read_article

    translator_spec = TranslatorSpec(
        spec["model"], overrides=_fixed(spec["new_tokens"]), engine=EngineOptions(backend="ctranslate2"),
        context=spec["context"],
    )  # fmt: skip
    # the cache off; model file digests memoised beside the (unused) cache path, across runs
    session = open_translator(translator_spec, CacheSpec(Path(spec["digests"]), enabled=False))
    t1 = time.perf_counter()
    inner: Any = session.translator.inner  # the LLMTranslator: its engine loaded before timing
    inner.engine.load()
    t2 = time.perf_counter()
    result = translate_document(read_article(SEED), session.translator)
    t3 = time.perf_counter()
    translations = list(result.translations.values())
    extra = sum(max(0, len(t.attempts) - 1) for t in translations)
    return {
        "open_s": t1 - t0,
        "load_s": t2 - t1,
        "work_s": t3 - t2,
        "sentences": len(translations),
        "sentences_per_s": len(translations) / (t3 - t2),
        "flagged": sum(1 for t in translations if t.flags),
        "extra_decodes": extra,
        "generated_tokens": sum(t.tokens for t in translations),
        "run_name": session.run_name,
    }


def static_prompts(engine: Any, count: int) -> tuple[list[str], str]:
    """Prompts sharing a long system turn (instructions and the built-in glossary), and that turn as the prefix."""
    from bench.seed import seed_sources
    from pipeline.quality.glossary import builtin_glossary

    entries = builtin_glossary().entries[:STATIC_TERMS]
    terms = "\n".join(f'- Translate "{e.nl}" as "{e.en}".' for e in entries)
    system = ("You are a professional translator of Dutch news into English. You reply with the English "
              "translation only: no introduction, no notes, no explanations, no questions.\n"
              f"Use these translations of names and terms:\n{terms}")  # fmt: skip
    sources = seed_sources()[:count]
    conversations = [
        [{"role": "system", "content": system}, {"role": "user", "content": f"Dutch: {s}\nEnglish:"}] for s in sources
    ]
    prompts = list(engine.render(conversations))
    end = "<|im_end|>"
    prefix = prompts[0][: prompts[0].index(end) + len(end)]
    return prompts, prefix


def drive_llm_static(spec: dict[str, Any]) -> dict[str, Any]:
    """CTranslate2 with and without the static prompt, alternately, on prompts sharing a long system turn."""
    _, engine = _open_engine({**spec, "backend": "ctranslate2"})
    engine.load()
    prompts, prefix = static_prompts(engine, spec["prompts"])
    tokens = engine.count_tokens(prompts)
    prefix_tokens = engine.count_tokens([prefix])[0]
    used = engine.static_split(prompts, engine.memo.take(prompts), prefix)
    if not used:
        raise RuntimeError("the static prefix is not used: its tokens differ from the prompts' first tokens")
    settings = _fixed(spec["new_tokens"])
    engine.generate(prompts[:1], _fixed(2))
    times: dict[str, list[float]] = {"off": [], "on": []}
    first_on = None
    for rep in range(spec["repeats"]):
        for mode in ("off", "on") if rep % 2 == 0 else ("on", "off"):
            started = time.perf_counter()
            engine.generate(prompts, settings, prefix if mode == "on" else None)
            elapsed = time.perf_counter() - started
            if mode == "on" and first_on is None:
                first_on = elapsed
            times[mode].append(elapsed)
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    return {
        "prompts": len(prompts),
        "prompt_tokens": sum(tokens),
        "prefix_tokens": prefix_tokens,
        "shared_share": prefix_tokens * len(prompts) / sum(tokens),
        "new_tokens": spec["new_tokens"],
        "times": times,
        "off_s": off,
        "on_s": on,
        "first_on_s": first_on,
        "speedup": off / on,
    }


# --- parent side -----------------------------------------------------------------------------------------


def llm_model(bench: Bench, scale: float) -> Path:
    """The cached random model of EuroLLM-1.7B's architecture at ``scale``; built in a child process when missing."""
    dest = bench.models_root / f"eurollm-1.7b-arch-s{scale:g}"
    if read_record(dest).get("model", {}).get("version") != MODEL_SPEC_VERSION or not dest.is_dir():
        print(f"  building {dest.name} (once; cached in {bench.models_root}) ...", flush=True)
        bench.models_root.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, str(SCRIPT), "--build", "eurollm", "--dest", str(dest), "--scale", str(scale)]
        proc = check(run_process(cmd, bench.env, bench.log_dir("build-eurollm")), f"building {dest.name}")
        print(f"  built in {proc.wall_s:.1f} s, peak RSS {proc.rss_mib:.0f} MiB", flush=True)
        record = read_record(dest)
        record["model"]["build_rss_mib"] = round(proc.rss_mib)
        record_path(dest).write_text(json.dumps(record, indent=2), encoding="utf-8")
    return dest


def _conversion(bench: Bench, model: Path) -> Path | None:
    for marker in (bench.nl2en_home / "ct2").glob("*/nl2en-source.json"):
        data = json.loads(marker.read_text(encoding="utf-8"))
        if data.get("quantization") == "int8" and Path(data.get("source_path", "")).resolve() == model.resolve():
            return marker
    return None


def _converted(bench: Bench, model: Path, digests: Path) -> dict[str, Any]:
    """The int8 conversion, made before anything is timed; its time recorded beside the model when it happened."""
    before = _conversion(bench, model)
    stamp = before.stat().st_mtime_ns if before else None
    proc, _ = bench.driver("llm-convert", {"model": str(model), "digests": str(digests)})
    after = _conversion(bench, model)
    if after is None:
        raise BenchError(f"no CTranslate2 conversion of {model} under {bench.nl2en_home}")
    record = read_record(model)
    if stamp is None or after.stat().st_mtime_ns != stamp:
        record["ct2"] = {"convert_s": round(proc.wall_s, 2), "convert_rss_mib": round(proc.rss_mib)}
        record_path(model).write_text(json.dumps(record, indent=2), encoding="utf-8")
        print(f"  converted {model.name} for CTranslate2 (int8) in {proc.wall_s:.1f} s", flush=True)
    bin_file = after.parent / "model.bin"
    size = round(bin_file.stat().st_size / MIB) if bin_file.is_file() else None
    return {**record.get("ct2", {}), "ct2_path": str(after.parent), "ct2_model_mib": size}


def bench_llm(bench: Bench) -> dict[str, Any]:
    """The engines' prompt and generation speed, the translator's sentences/s, the static prompt's effect."""
    scale = QUICK_SCALE if bench.args.quick else 1.0
    tokens = bench.args.llm_tokens
    model = llm_model(bench, scale)
    digests = bench.models_root / "digests" / "unused-cache.sqlite3"
    digests.parent.mkdir(parents=True, exist_ok=True)
    conversion = _converted(bench, model, digests)
    base = {"model": str(model), "digests": str(digests)}
    rows: dict[str, Any] = {}

    def run(key: str, driver: str, spec: dict[str, Any]) -> None:
        started = time.perf_counter()
        try:
            proc, result = bench.driver(driver, {**base, **spec})
        except BenchError as exc:
            rows[key] = {"error": str(exc).splitlines()[0]}
            print(f"  {key}: FAILED {exc}", flush=True)
            return
        rows[key] = {"wall_s": proc.wall_s, "rss_mib": proc.rss_mib, **result}
        print(f"  {key}: {_progress(rows[key])}; whole {proc.wall_s:.1f} s, peak RSS {proc.rss_mib:.0f} MiB "
              f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip

    engine = {"prompts": ENGINE_PROMPTS, "new_tokens": tokens}
    # one round of transformers float32 at full size takes minutes; CTranslate2's are cheap
    rounds = max(bench.repeats, 2)
    run("ct2-int8", "llm-engine", {**engine, "backend": "ctranslate2", "rounds": rounds})
    tf_rounds = 1 if scale == 1.0 else rounds
    run("transformers-fp32", "llm-engine", {**engine, "backend": "transformers", "rounds": tf_rounds})
    for context in (0, 2):
        run(f"translate-context{context}", "llm-translate", {"context": context, "new_tokens": tokens})
    run("static-prompt", "llm-static", {"prompts": STATIC_PROMPTS, "new_tokens": tokens, "repeats": rounds})
    record = read_record(model).get("model", {})
    return {"scale": scale, "new_tokens": tokens, "parameters": record.get("parameters"),
            "model": {**record, **conversion, "path": str(model)}, "rows": rows}  # fmt: skip


def _progress(row: dict[str, Any]) -> str:
    if "generated_tokens_per_s" in row:
        return (f"prompt {fmt_num(row['prompt_tokens_per_s'])} tokens/s ({row['prompt_tokens']} tokens), "
                f"generated {fmt_num(row['generated_tokens_per_s'])} tokens/s")  # fmt: skip
    if "sentences_per_s" in row:
        return (f"{row['sentences']} sentences in {row['work_s']:.1f} s: {row['sentences_per_s']:.2f}/s, "
                f"{row['flagged']} flagged, {row['extra_decodes']} extra decodes")  # fmt: skip
    return (
        f"static prompt off {row['off_s']:.2f} s, on {row['on_s']:.2f} s ({row['speedup']:.2f}×; "
        f"{row['prefix_tokens']}-token prefix, {row['shared_share']:.0%} of prompt tokens)"
    )


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def llm_targets(llm: dict[str, Any] | None) -> list[dict[str, Any]]:
    """CTranslate2 int8 ≥ 3× transformers float32 in generated tokens/s; ≤ 2.5 GB peak RSS (CT2 int8 processes)."""
    if not llm:
        return []
    rows = llm["rows"]
    full = llm["scale"] == 1.0
    speedup = _ratio(rows.get("ct2-int8", {}).get("generated_tokens_per_s"),
                     rows.get("transformers-fp32", {}).get("generated_tokens_per_s"))  # fmt: skip
    ct2_rss = [r["rss_mib"] for k, r in rows.items() if k != "transformers-fp32" and "rss_mib" in r]
    peak = max(ct2_rss) if ct2_rss else None
    what = "EuroLLM-1.7B architecture" if full else f"scaled-down EuroLLM architecture (scale {llm['scale']:g})"
    out = []
    for key, text, limit, value, higher, unit in (
        ("llm_ct2_vs_tf", f"LLM ({what}): CTranslate2 int8 / transformers float32, generated tokens/s",
         f"≥ {SPEEDUP_TARGET:g} ×", speedup, True, "×"),
        ("llm_ct2_rss", f"LLM ({what}): peak RSS of the CTranslate2 int8 processes (max)",
         f"≤ {RSS_TARGET_GB:g} GB ({RSS_TARGET_MIB:.0f} MiB)", peak, False, "MiB"),
    ):  # fmt: skip
        bound = SPEEDUP_TARGET if higher else RSS_TARGET_MIB
        if value is None:
            result, note = "n/a", "not measured"
        else:
            ok = value >= bound if higher else value <= bound
            result = "PASS" if ok else "MISS"
            note = "" if ok else f"{1 - value / bound:.0%} short" if higher else f"{value / bound - 1:.0%} over"
            if not full:
                result, note = "n/a", f"scaled-down model, not held to the target ({'met' if ok else 'missed'} here)"
        out.append({"key": key, "target": text, "limit": limit, "measured": None if value is None else round(value, 3),
                    "unit": unit, "result": result, "note": note, "primary": True})  # fmt: skip
    return out


def render_llm(llm: dict[str, Any]) -> list[str]:
    rows = llm["rows"]
    params = (llm.get("parameters") or 0) / 1e9
    scale = "" if llm["scale"] == 1.0 else f" **scaled down (scale {llm['scale']:g}): not the 1.7B model**"
    lines = [
        f"**Instruct LLM**: random model of EuroLLM-1.7B's architecture ({params:.2f}B parameters){scale}; "
        f"{llm['new_tokens']} new tokens per prompt, forced (`min_new_tokens = max_new_tokens`), greedy; one run "
        "per variant, each in its own process (engine rows: the fastest of the rounds in it). Prompt tokens/s: the "
        "one-new-token run; generated tokens/s: the extra tokens of the full run over its extra time. nl2en's "
        "CTranslate2 engine forwards a batch's prompts at once only up to the shortest one, the rest token by token; "
        "the raw generator on the prompts cut to one length shows the prompt pass without that.",
        "",
        "| engine | prompts | prompt tokens | prompt tokens/s | same, prompts cut to one length | generated tokens/s "
        "| load s | whole process s | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label in (("ct2-int8", "CTranslate2 int8"), ("transformers-fp32", "transformers float32")):
        row = rows.get(key, {})
        if "error" in row or not row:
            lines.append(f"| {label} | failed: {row.get('error', 'not run')} ||||||||")
            continue
        lines.append(
            f"| {label} | {row['prompts']} | {row['prompt_tokens']} | {fmt_num(row['prompt_tokens_per_s'])} "
            f"| {fmt_num(row.get('equal_length_prompt_tokens_per_s'))} | {fmt_num(row['generated_tokens_per_s'])} "
            f"| {fmt_num(row['load_s'])} | {fmt_num(row['wall_s'])} | {fmt_num(row['rss_mib'])} |"
        )
    lines += ["", "| translator (CTranslate2 int8, seed) | sentences | seconds | sentences/s | flagged | extra decodes "
              "| peak RSS MiB |", "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for context in (0, 2):
        row = rows.get(f"translate-context{context}", {})
        if "error" in row or not row:
            lines.append(f"| `--context {context}` | failed: {row.get('error', 'not run')} ||||||")
            continue
        lines.append(
            f"| `--context {context}` | {row['sentences']} | {fmt_num(row['work_s'])} "
            f"| {fmt_num(row['sentences_per_s'])} | {row['flagged']} | {row['extra_decodes']} "
            f"| {fmt_num(row['rss_mib'])} |"
        )
    static = rows.get("static-prompt", {})
    if static and "error" not in static:
        lines += ["", f"Static prompt (CTranslate2 `static_prompt`): {static['prompts']} prompts of "
                  f"{static['prompt_tokens']} tokens in all, sharing a {static['prefix_tokens']}-token system turn "
                  f"({static['shared_share']:.0%} of their tokens): {fmt_num(static['off_s'])} s without, "
                  f"{fmt_num(static['on_s'])} s with ({static['speedup']:.2f}×; first call with it, which "
                  f"computes the shared state: {fmt_num(static['first_on_s'])} s)."]  # fmt: skip
    return [*lines, ""]
