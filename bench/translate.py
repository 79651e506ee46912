"""``--only translate``: the seed's segments through the tutorial loop, transformers batched, ``nl2en translate``
with either backend and raw CTranslate2."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import CT2_BATCH_SIZE, HF_BATCH_SIZE, HF_MAX_BATCH_TOKENS, Variant
from bench.harness import Bench
from bench.inprocess import driver_result, eos_id, hf_steps, process_threads, record_steps, torch_threads
from bench.report import summarise_variants
from bench.seed import SEED, seed_sources


def drive_translate_tutorial(spec: dict[str, Any]) -> dict[str, Any]:
    """(1) The tutorial loop: MarianMTModel.generate() on one sentence at a time, model defaults."""
    t0 = time.perf_counter()
    from transformers import MarianMTModel, MarianTokenizer

    tokenizer = MarianTokenizer.from_pretrained(spec["model"])
    model = MarianMTModel.from_pretrained(spec["model"])
    t1 = time.perf_counter()
    rows = []
    for sentence in spec["sources"]:
        batch = tokenizer([sentence], return_tensors="pt")
        rows.append(model.generate(**batch)[0].tolist())
    texts = [tokenizer.decode(row, skip_special_tokens=True) for row in rows]
    t2 = time.perf_counter()
    eos = eos_id(model)
    return driver_result(t0, t1, t2, [hf_steps(r, eos) for r in rows], texts, threads=torch_threads())


def drive_translate_batched(spec: dict[str, Any]) -> dict[str, Any]:
    """(2) transformers batched: length-sorted batches (as the pipeline batches), inference_mode."""
    t0 = time.perf_counter()
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from pipeline.engines.seq2seq import length_sorted_batches

    tokenizer = AutoTokenizer.from_pretrained(spec["model"])
    model = AutoModelForSeq2SeqLM.from_pretrained(spec["model"]).eval()
    t1 = time.perf_counter()
    sources: list[str] = spec["sources"]
    rows: list[list[int]] = [[] for _ in sources]
    lengths = [len(ids) for ids in tokenizer(sources)["input_ids"]]
    with torch.inference_mode():
        for batch in length_sorted_batches(lengths, HF_BATCH_SIZE, HF_MAX_BATCH_TOKENS):
            encoded = tokenizer([sources[i] for i in batch], return_tensors="pt", padding=True)
            for i, row in zip(batch, model.generate(**encoded).tolist(), strict=True):
                rows[i] = row
    texts = tokenizer.batch_decode(rows, skip_special_tokens=True)
    t2 = time.perf_counter()
    eos = eos_id(model)
    return driver_result(t0, t1, t2, [hf_steps(r, eos) for r in rows], texts, threads=torch_threads())


def drive_translate_pipeline(spec: dict[str, Any]) -> dict[str, Any]:
    """(3)/(4) in-process: the nl2en pipeline API (segment, translate, no cache) with the model loaded first."""
    t0 = time.perf_counter()
    from pipeline.engines.factory import EngineOptions
    from pipeline.runs.document import translate_document
    from pipeline.runs.sessions import NO_CACHE, TranslatorSpec, open_translator
    from pipeline.text.reader import read_article

    session = open_translator(TranslatorSpec(spec["model"], engine=EngineOptions(backend=spec["backend"])), NO_CACHE)
    opened = time.perf_counter()
    steps = record_steps(session.translator.inner.engine)  # type: ignore[attr-defined]  # MarianTranslator
    t1 = time.perf_counter()
    result = translate_document(read_article(Path(spec["seed"])), session.translator)
    t2 = time.perf_counter()
    translations = [result.translations[i] for i in sorted(result.translations)]
    threads = torch_threads() if spec["backend"] == "transformers" else {"process_threads": process_threads()}
    return driver_result(
        t0, t1, t2, steps, [t.target for t in translations],
        open_s=opened - t0, content_tokens=sum(t.tokens for t in translations),
        pieces=sum(t.pieces for t in translations), threads=threads,
    )  # fmt: skip


def drive_translate_ct2_raw(spec: dict[str, Any]) -> dict[str, Any]:
    """(5) raw CTranslate2: sentencepiece + translate_batch on the converted int8 model, same segments."""
    t0 = time.perf_counter()
    import ctranslate2
    import sentencepiece

    model = Path(spec["model"])
    source = sentencepiece.SentencePieceProcessor(model_file=str(model / "source.spm"))
    target = sentencepiece.SentencePieceProcessor(model_file=str(model / "target.spm"))
    translator = ctranslate2.Translator(spec["ct2"], device="cpu", compute_type="int8")
    t1 = time.perf_counter()
    batch = [[*source.encode(s, out_type=str), "</s>"] for s in spec["sources"]]
    results = translator.translate_batch(
        batch,
        beam_size=spec["beams"],
        min_decoding_length=spec["fixed"],
        max_decoding_length=spec["fixed"],
        max_batch_size=CT2_BATCH_SIZE,
        batch_type="examples",
    )
    hypotheses = [r.hypotheses[0] for r in results]
    texts = [target.decode_pieces(h) for h in hypotheses]
    t2 = time.perf_counter()
    return driver_result(
        t0, t1, t2, [len(h) for h in hypotheses], texts,
        content_tokens=sum(len(h) for h in hypotheses), threads={"process_threads": process_threads()},
    )  # fmt: skip


def translate_variants(bench: Bench, model: Path, ct2: Path, sources: list[str]) -> list[Variant]:
    spec = {"model": str(model), "ct2": str(ct2), "sources": sources, "seed": str(SEED),
            "fixed": bench.args.translate_tokens, "beams": bench.args.beams}  # fmt: skip

    def driver_only(name: str) -> Callable[[Path, bool], dict[str, Any]]:
        return bench.driver_variant(name, spec)

    def cli(backend: str) -> Callable[[Path, bool], dict[str, Any]]:
        def run(out: Path, first: bool) -> dict[str, Any]:
            args = ["translate", str(SEED), "--model", str(model), "--backend", backend, "--no-cache"]
            proc = bench.cli([*args, "--out", str(out)], f"nl2en-translate-{backend}")
            manifest_path = next(out.glob("*/*/manifest.json"))
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            records = [json.loads(line) for line in manifest_path.with_name("aligned.jsonl").open(encoding="utf-8")]
            translated = [r for r in records if r.get("translated")]
            # The in-process view comes from a companion process, run with the first repetition only.
            inner = bench.driver("translate-pipeline", {**spec, "backend": backend})[1] if first else {}
            return {
                "wall_s": proc.wall_s,
                "rss_mib": proc.rss_mib,
                "cli_outputs": len(translated),
                "cli_content_tokens": sum(r.get("tokens", 0) for r in translated),
                "cli_translate_s": manifest.get("timings", {}).get("translate_s"),
                **inner,
            }

        return run

    task = "translate"
    return [
        Variant("tutorial", task, "(1) tutorial loop: `generate()` per sentence", driver_only("translate-tutorial")),
        Variant("batched", task, "(2) transformers, length-sorted batches", driver_only("translate-batched")),
        Variant("nl2en-transformers", task, "(3) `nl2en translate --backend transformers`", cli("transformers")),
        Variant("nl2en-ctranslate2", task, "(4) `nl2en translate --backend ctranslate2` (int8)", cli("ctranslate2")),
        Variant("ct2-raw", task, "(5) raw CTranslate2 `translate_batch` (int8)", driver_only("translate-ct2-raw")),
    ]


def bench_translate(bench: Bench, machine: dict[str, Any]) -> dict[str, Any]:
    """The translation table; what CTranslate2 picks on this CPU and torch's threads go into ``machine``."""
    args = bench.args
    sources = seed_sources()
    model = bench.model("marian", args.translate_tokens)
    ct2 = bench.converted(model)
    ct2_info = bench.ct2_info(ct2)
    machine["ct2"] = ct2_info
    isa = [line for line in ct2_info.get("log", []) if "ISA" in line or "compute type" in line]
    machine["ct2_isa"] = ", ".join(isa) or "?"
    variants = translate_variants(bench, model, ct2, sources)
    bench.run_variants("translate", variants)
    table = summarise_variants(variants, args.translate_tokens)
    result = {"segments": len(sources), "model": bench.model_info(model, ct2), "table": table}
    tutorial = table.get("tutorial", {}).get("runs") or [{}]
    machine["torch_threads"] = tutorial[0].get("threads", {}).get("torch_threads", "?")
    return result
