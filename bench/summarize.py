"""``--only summarize``: the seed's reference English through the tutorial ``generate()``, ``nl2en summarize``
with either backend and raw CTranslate2."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import Variant
from bench.harness import Bench
from bench.inprocess import driver_result, eos_id, hf_steps, process_threads, record_steps, torch_threads
from bench.report import summarise_variants
from bench.seed import english_text


def drive_summarize_tutorial(spec: dict[str, Any]) -> dict[str, Any]:
    """(1) The tutorial: tokenizer + generate() on the whole text with the model's generation config."""
    t0 = time.perf_counter()
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(spec["model"])
    model = AutoModelForSeq2SeqLM.from_pretrained(spec["model"])
    t1 = time.perf_counter()
    inputs = tokenizer([spec["text"]], return_tensors="pt")
    row = model.generate(**inputs)[0].tolist()
    text = tokenizer.decode(row, skip_special_tokens=True)
    t2 = time.perf_counter()
    return driver_result(
        t0, t1, t2, [hf_steps(row, eos_id(model))], [str(text)],
        input_tokens=int(inputs["input_ids"].shape[1]), threads=torch_threads(),
    )  # fmt: skip


def drive_summarize_pipeline(spec: dict[str, Any]) -> dict[str, Any]:
    """(3)/(4) in-process: the nl2en summariser (no cache) with the model loaded first."""
    t0 = time.perf_counter()
    from pipeline.engines.factory import EngineOptions
    from pipeline.runs.sessions import SummarizerSpec, open_summarizer

    session = open_summarizer(SummarizerSpec(spec["model"], engine=EngineOptions(backend=spec["backend"])))
    opened = time.perf_counter()
    steps = record_steps(session.summarizer.inner.engine)
    t1 = time.perf_counter()
    summary = session.summarizer.summarize(spec["text"])
    t2 = time.perf_counter()
    threads = torch_threads() if spec["backend"] == "transformers" else {"process_threads": process_threads()}
    return driver_result(t0, t1, t2, steps, [summary.text], open_s=opened - t0, chunk_levels=len(summary.chunks),
                   threads=threads)  # fmt: skip


def drive_summarize_ct2_raw(spec: dict[str, Any]) -> dict[str, Any]:
    """(5) raw CTranslate2: tokenizers + translate_batch, decoding settings copied from generation_config.json."""
    t0 = time.perf_counter()
    import ctranslate2
    from tokenizers import Tokenizer

    model = Path(spec["model"])
    tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
    generation = json.loads((model / "generation_config.json").read_text(encoding="utf-8"))
    translator = ctranslate2.Translator(spec["ct2"], device="cpu", compute_type="int8")
    t1 = time.perf_counter()
    tokens = tokenizer.encode(spec["text"]).tokens
    prefix = [tokenizer.id_to_token(generation["forced_bos_token_id"])]
    result = translator.translate_batch(
        [tokens],
        target_prefix=[prefix],
        beam_size=generation.get("num_beams", 1),
        min_decoding_length=spec["fixed"],
        max_decoding_length=spec["fixed"],
        length_penalty=generation.get("length_penalty", 1.0),
        no_repeat_ngram_size=generation.get("no_repeat_ngram_size", 0),
        max_input_length=0,
    )[0]
    hypothesis = result.hypotheses[0]
    ids = [i for i in (tokenizer.token_to_id(t) for t in hypothesis) if i is not None]
    text = tokenizer.decode(ids, skip_special_tokens=True)
    t2 = time.perf_counter()
    return driver_result(
        t0, t1, t2, [len(hypothesis)], [text],
        input_tokens=len(tokens), threads={"process_threads": process_threads()},
    )  # fmt: skip


def summarize_variants(bench: Bench, model: Path, ct2: Path, text_file: Path, text: str) -> list[Variant]:
    spec = {"model": str(model), "ct2": str(ct2), "text": text, "fixed": bench.args.summary_tokens,
            "beams": bench.args.beams}  # fmt: skip

    def driver_only(name: str) -> Callable[[Path, bool], dict[str, Any]]:
        return bench.driver_variant(name, spec)

    def cli(backend: str) -> Callable[[Path, bool], dict[str, Any]]:
        def run(out: Path, first: bool) -> dict[str, Any]:
            args = ["summarize", str(text_file), "--summarizer", str(model), "--backend", backend, "--no-cache",
                    "--out", str(out)]  # fmt: skip
            proc = bench.cli(args, f"nl2en-summarize-{backend}")
            manifest = json.loads(next(out.glob("*/*/manifest.json")).read_text(encoding="utf-8"))
            inner = bench.driver("summarize-pipeline", {**spec, "backend": backend})[1] if first else {}
            return {
                "wall_s": proc.wall_s,
                "rss_mib": proc.rss_mib,
                "cli_chunk_levels": len(manifest.get("summarizer", {}).get("chunks") or []),
                "cli_summarize_s": manifest.get("timings", {}).get("summarize_s"),
                **inner,
            }

        return run

    task = "summarize"
    return [
        Variant("tutorial", task, "(1) tutorial: `generate()` on the whole text", driver_only("summarize-tutorial")),
        Variant("nl2en-transformers", task, "(3) `nl2en summarize --backend transformers`", cli("transformers")),
        Variant("nl2en-ctranslate2", task, "(4) `nl2en summarize --backend ctranslate2` (int8)", cli("ctranslate2")),
        Variant("ct2-raw", task, "(5) raw CTranslate2 `translate_batch` (int8)", driver_only("summarize-ct2-raw")),
    ]


def bench_summarize(bench: Bench) -> dict[str, Any]:
    """The summarisation table, on as much of the seed's reference English as fits one chunk."""
    from tokenizers import Tokenizer

    args = bench.args
    model = bench.model("bart", args.summary_tokens)
    ct2 = bench.converted(model)
    tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
    limit = json.loads((model / "config.json").read_text(encoding="utf-8"))["max_position_embeddings"]
    text, used, total, tokens = english_text(limit, lambda t: len(tokenizer.encode(t).ids))
    text_file = bench.tmp / "seed-reference.en.txt"
    text_file.write_text(text + "\n", encoding="utf-8")
    variants = summarize_variants(bench, model, ct2, text_file, text)
    bench.run_variants("summarize", variants)
    su_table = summarise_variants(variants, args.summary_tokens)
    return {
        "input_tokens": tokens,
        "input_chars": len(text),
        "snippets_used": used,
        "snippets_total": total,
        "model": bench.model_info(model, ct2),
        "table": su_table,
    }
