#!/usr/bin/env python
"""Speed benchmark for nl2en: the tutorial loop against transformers batched, the nl2en pipeline and raw CTranslate2.

Run it as ``.venv/bin/python bench/bench.py [--quick] [--out bench]`` (``make bench``); see ``bench/README.md``.

Random-weight models of the real architectures (opus-mt-nl-en, distilbart-cnn-12-6) are built once into
``bench/.models/``, with a generation config that forces a fixed number of new tokens, so every engine does
the same work. Each variant runs in its own process: wall time from start to exit and peak RSS (``wait4``)
are the whole-process figures; each process also times its own work after loading (the in-process figures).
For the two ``nl2en`` CLI variants the in-process figures come from a companion process that drives the same
pipeline API with the model loaded beforehand. Results go to ``<out>/results.json`` and ``<out>/results.md``.

The parent process imports neither torch nor transformers; all heavy work happens in child processes, which
re-run this file with ``--driver NAME`` (in-process work) or ``--build KIND`` (model building).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "2019-12-rusland-wit-rusland.txt"
REFS = ROOT / "seeds" / "2019-12-rusland-wit-rusland.refs.toml"
MODEL_SPEC_VERSION = 1  # bump to rebuild cached models when the way they are built changes
MIB = 1024 * 1024
BUDGET_S = 15 * 60  # `make bench` must finish within this on the 2-core machine
# What the pipeline uses by default (TransformersEngine, CT2Engine); the baselines batch the same way.
HF_BATCH_SIZE = 16
HF_MAX_BATCH_TOKENS = 6000
CT2_BATCH_SIZE = 16  # sentences per batch, as nl2en's CTranslate2 engine uses
VERSIONED = ("nl2en", "torch", "transformers", "ctranslate2", "tokenizers", "sentencepiece", "sacremoses", "numpy")


# ---------------------------------------------------------------------------------------------------------------
# Child side: model building and the in-process drivers
# ---------------------------------------------------------------------------------------------------------------


def build_model(kind: str, dest: Path, fixed: int, beams: int, tiny: bool) -> None:
    """Build a random model of the real architecture (or a tiny one) into ``dest``, atomically."""
    from tests.models import tiny as tm

    tmp = dest.with_name(f".{dest.name}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    started = time.perf_counter()
    if kind == "marian":
        if tiny:
            tm.build_tiny_marian(tmp, fixed_length=fixed, num_beams=beams)
        else:
            tm.build_marian_like(tmp, tm.MARIAN_OPUS_NL_EN, fixed, num_beams=beams)
    else:
        if tiny:
            tm.build_tiny_bart(tmp, fixed_length=fixed, num_beams=beams)
        else:
            tm.build_bart_like(tmp, tm.DISTILBART_CNN_12_6, fixed, num_beams=beams)
    info = {
        "version": MODEL_SPEC_VERSION,
        "kind": kind,
        "tiny": tiny,
        "fixed_new_tokens": fixed,
        "beams": beams,
        "parameters": safetensors_parameters(tmp),
        "build_s": round(time.perf_counter() - started, 2),
    }
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    # Beside the model, never inside: any file in the model directory is part of its fingerprint.
    record_path(dest).write_text(json.dumps({"model": info}, indent=2), encoding="utf-8")


def record_path(model_dir: Path) -> Path:
    """What the benchmark knows about a built model (build and conversion times), kept next to it."""
    return model_dir.with_name(f"{model_dir.name}.bench.json")


def read_record(model_dir: Path) -> dict[str, Any]:
    path = record_path(model_dir)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def safetensors_parameters(model_dir: Path) -> int:
    """Number of stored parameters, read from the safetensors headers (tied weights are stored once)."""
    total = 0
    for file in model_dir.glob("*.safetensors"):
        with file.open("rb") as fh:
            header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
        for name, entry in header.items():
            if name != "__metadata__":
                count = 1
                for dim in entry["shape"]:
                    count *= dim
                total += count
    return total


def _torch_threads() -> dict[str, Any]:
    import torch

    return {"torch_threads": torch.get_num_threads(), "torch_interop_threads": torch.get_num_interop_threads()}


def _process_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _hf_steps(row: Sequence[int], eos: int) -> int:
    """Decoder steps of one generate() output row: tokens after the decoder start, up to and including EOS."""
    for i, token in enumerate(row[1:], 1):
        if token == eos:
            return i
    return len(row) - 1


def _eos(net: Any) -> int:
    eos = net.generation_config.eos_token_id
    return int(eos[0] if isinstance(eos, list) else eos)


def _result(t0: float, t1: float, t2: float, steps: list[int], texts: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "load_s": t1 - t0,
        "work_s": t2 - t1,
        "outputs": len(texts),
        "steps": steps,
        "sample": texts[0][:120] if texts else "",
        **extra,
    }


class CountingTranslator:
    """Wraps a ``ctranslate2.Translator`` to record the decoder steps of each hypothesis (prefix included)."""

    def __init__(self, inner: Any, steps: list[int]) -> None:
        self._inner = inner
        self._steps = steps

    def translate_batch(self, *args: Any, **kwargs: Any) -> Any:
        results = self._inner.translate_batch(*args, **kwargs)
        self._steps.extend(len(r.hypotheses[0]) for r in results)
        return results

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def record_steps(engine: Any) -> list[int]:
    """Load ``engine`` (a pipeline Seq2SeqEngine) and count the decoder steps it runs from now on."""
    steps: list[int] = []
    if engine.backend == "ctranslate2":
        engine._translator = CountingTranslator(engine.load(), steps)
    else:
        _, net = engine.load()
        original = net.generate
        eos = _eos(net)

        def generate(*args: Any, **kwargs: Any) -> Any:
            out = original(*args, **kwargs)
            steps.extend(_hf_steps(row, eos) for row in out.tolist())
            return out

        net.generate = generate
    engine.count_tokens(["warm up the tokenizer"])
    return steps


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
    eos = _eos(model)
    return _result(t0, t1, t2, [_hf_steps(r, eos) for r in rows], texts, threads=_torch_threads())


def drive_translate_batched(spec: dict[str, Any]) -> dict[str, Any]:
    """(2) transformers batched: length-sorted batches (as the pipeline batches), inference_mode."""
    t0 = time.perf_counter()
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from pipeline.seq2seq import length_sorted_batches

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
    eos = _eos(model)
    return _result(t0, t1, t2, [_hf_steps(r, eos) for r in rows], texts, threads=_torch_threads())


def drive_translate_pipeline(spec: dict[str, Any]) -> dict[str, Any]:
    """(3)/(4) in-process: the nl2en pipeline API (segment, translate, no cache) with the model loaded first."""
    t0 = time.perf_counter()
    from pipeline.document import translate_document
    from pipeline.engines import EngineOptions, open_translator
    from pipeline.reader import read_article

    session = open_translator(spec["model"], use_cache=False, options=EngineOptions(backend=spec["backend"]))
    opened = time.perf_counter()
    steps = record_steps(session.translator.inner.engine)  # type: ignore[attr-defined]  # MarianTranslator
    t1 = time.perf_counter()
    result = translate_document(read_article(Path(spec["seed"])), session.translator)
    t2 = time.perf_counter()
    translations = [result.translations[i] for i in sorted(result.translations)]
    threads = _torch_threads() if spec["backend"] == "transformers" else {"process_threads": _process_threads()}
    return _result(
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
    return _result(
        t0, t1, t2, [len(h) for h in hypotheses], texts,
        content_tokens=sum(len(h) for h in hypotheses), threads={"process_threads": _process_threads()},
    )  # fmt: skip


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
    return _result(
        t0, t1, t2, [_hf_steps(row, _eos(model))], [str(text)],
        input_tokens=int(inputs["input_ids"].shape[1]), threads=_torch_threads(),
    )  # fmt: skip


def drive_summarize_pipeline(spec: dict[str, Any]) -> dict[str, Any]:
    """(3)/(4) in-process: the nl2en summariser (no cache) with the model loaded first."""
    t0 = time.perf_counter()
    from pipeline.engines import EngineOptions, open_summarizer

    session = open_summarizer(spec["model"], memory=None, options=EngineOptions(backend=spec["backend"]))
    opened = time.perf_counter()
    steps = record_steps(session.summarizer.inner.engine)
    t1 = time.perf_counter()
    summary = session.summarizer.summarize(spec["text"])
    t2 = time.perf_counter()
    threads = _torch_threads() if spec["backend"] == "transformers" else {"process_threads": _process_threads()}
    return _result(t0, t1, t2, steps, [summary.text], open_s=opened - t0, chunk_levels=len(summary.chunks),
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
    return _result(
        t0, t1, t2, [len(hypothesis)], [text],
        input_tokens=len(tokens), threads={"process_threads": _process_threads()},
    )  # fmt: skip


def drive_ct2_info(spec: dict[str, Any]) -> dict[str, Any]:
    """What CTranslate2 picks on this CPU (ISA, GEMM backends): run with CT2_VERBOSE=1, parsed by the parent."""
    import ctranslate2

    ctranslate2.Translator(spec["ct2"], device="cpu", compute_type="int8")
    return {
        "ctranslate2": ctranslate2.__version__,
        "compute_types": sorted(ctranslate2.get_supported_compute_types("cpu")),
    }


def drive_corpus_pipeline(spec: dict[str, Any]) -> dict[str, Any]:
    """nl2en's library over the corpus files (windows, no cache), with engine options the CLI does not offer."""
    t0 = time.perf_counter()
    from pipeline.batch import translate_paths
    from pipeline.engines import EngineOptions, open_translator

    options = EngineOptions(backend="ctranslate2", batch_tokens=spec["batch_tokens"])
    session = open_translator(spec["model"], use_cache=False, options=options)
    t1 = time.perf_counter()
    report = translate_paths([Path(p) for p in spec["files"]], session.translator, session.model,
                             out=Path(spec["out"]), run_name=session.run_name)  # fmt: skip
    t2 = time.perf_counter()
    if report.failed:
        raise RuntimeError(f"{len(report.failed)} documents failed: {report.failed[0][1]}")
    return {"work_s": t2 - t1, "open_s": t1 - t0, "outputs": report.hits + report.misses, "misses": report.misses}


DRIVERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "corpus-pipeline": drive_corpus_pipeline,
    "translate-tutorial": drive_translate_tutorial,
    "translate-batched": drive_translate_batched,
    "translate-pipeline": drive_translate_pipeline,
    "translate-ct2-raw": drive_translate_ct2_raw,
    "summarize-tutorial": drive_summarize_tutorial,
    "summarize-pipeline": drive_summarize_pipeline,
    "summarize-ct2-raw": drive_summarize_ct2_raw,
    "ct2-info": drive_ct2_info,
}


# ---------------------------------------------------------------------------------------------------------------
# Parent side: processes, variants, statistics
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Proc:
    """One finished child process: wall time from spawn to exit, peak RSS, exit code and output."""

    wall_s: float
    rss_mib: float
    returncode: int
    stdout: str
    stderr: str


def run_process(cmd: Sequence[str], env: dict[str, str], log_dir: Path) -> Proc:
    """Run ``cmd`` to completion; ``wait4`` gives this child's own peak RSS (not the max over all children)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / "stdout.txt", log_dir / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=env, cwd=ROOT)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # interrupted: never leave a child running
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Proc(
        wall,
        usage.ru_maxrss / 1024,  # KiB on Linux
        proc.returncode,
        out_path.read_text(encoding="utf-8", errors="replace"),
        err_path.read_text(encoding="utf-8", errors="replace"),
    )


class BenchError(RuntimeError):
    pass


def check(proc: Proc, what: str) -> Proc:
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise BenchError(f"{what} failed with exit code {proc.returncode}:\n{tail}")
    return proc


@dataclass
class Variant:
    """One line of a results table: a whole-process run, and where its in-process numbers come from."""

    key: str
    task: str
    label: str
    run: Callable[[Path, bool], dict[str, Any]]  # (run dir, first repetition?) -> sample: wall_s, rss_mib, work_s…
    samples: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def median(samples: Sequence[dict[str, Any]], key: str) -> float | None:
    values = [s[key] for s in samples if isinstance(s.get(key), int | float)]
    return statistics.median(values) if values else None


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in VERSIONED:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def thread_env() -> dict[str, str]:
    names = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TOKENIZERS_PARALLELISM")
    found = {name: os.environ.get(name, "(unset)") for name in names}
    found.update({k: v for k, v in os.environ.items() if k.startswith("CT2_")})
    return found


def english_text(limit_tokens: int, count: Callable[[str], int]) -> tuple[str, int, int, int]:
    """The `en` fields of the seed's refs, joined and trimmed to fit one chunk: (text, used, total, tokens)."""
    entries = [e["en"] for e in tomllib.loads(REFS.read_text(encoding="utf-8"))["translation"]]
    used = len(entries)
    text = " ".join(entries)
    while used > 1 and count(text) > limit_tokens:
        used -= 1
        text = " ".join(entries[:used])
    return text, used, len(entries), count(text)


# -- extractive summariser on a long article ---------------------------------------------------------------------

EXTRACTIVE_TARGET_S = 60
EXTRACTIVE_TARGET_MIB = 1536


def extractive_article(chars: int, seed: int = 0) -> str:
    """The long article the benchmark summarises (``tests.models.texts``, shared with the memory test)."""
    from tests.models.texts import synthetic_english_article

    return synthetic_english_article(chars, seed)


def bench_extractive(bench: Bench, megabytes: float) -> dict[str, Any]:
    """``nl2en summarize --summarizer extractive`` on a generated article: whole-process time and peak RSS.

    Each run gets a fresh cache, so it is a first run, cache writes included."""
    text = extractive_article(int(megabytes * 1_000_000))
    path = bench.tmp / "long-article.en.txt"
    path.write_text(text, encoding="utf-8")
    runs = []
    for i in range(bench.repeats):
        out = bench.tmp / f"extractive-{i}"
        env = {**bench.env, "NL2EN_CACHE": str(bench.tmp / f"extractive-{i}.sqlite3")}
        proc = bench.cli(["summarize", str(path), "--summarizer", "extractive", "--out", str(out)], "extractive", env)
        summary = next(out.rglob("summary.extractive.txt")).read_text(encoding="utf-8")
        runs.append({"wall_s": round(proc.wall_s, 3), "rss_mib": round(proc.rss_mib, 1), "summary_chars": len(summary)})
        print(f"  extractive, {megabytes:g} MB: {proc.wall_s:.1f} s, {proc.rss_mib:.0f} MiB", flush=True)
    return {"chars": len(text), "bytes": len(text.encode("utf-8")), "runs": runs,
            "wall_s": median(runs, "wall_s"), "rss_mib": median(runs, "rss_mib")}  # fmt: skip


CORPUS_RATIO_LIMIT = 1.05  # nl2en over the corpus files / raw CTranslate2 over the same sentences, whole process
CORPUS_RSS_MIB = 400


def corpus_sources(files: Sequence[Path]) -> list[str]:
    """Every translatable segment of the corpus files, in order, duplicates kept: what the raw call translates."""
    from pipeline.reader import read_article
    from pipeline.segment import segment_document

    return [s.source for f in files for s in segment_document(read_article(f).text).translatable]


def corpus_variants(bench: Bench, model: Path, ct2: Path, files: list[Path], sources: list[str]) -> list[Variant]:
    """The corpus rows: nl2en's executors, then the raw call they are measured against (key ``ct2-raw``).

    Another executor (e.g. a Ray cluster) adds its row here: a ``Variant`` whose run returns at least
    ``wall_s`` and ``rss_mib`` of its whole process.
    """
    task = "corpus"

    def cli(out: Path, first: bool) -> dict[str, Any]:
        args = ["translate", *map(str, files), "--model", str(model), "--backend", "ctranslate2", "--no-cache"]
        proc = bench.cli([*args, "--out", str(out)], "nl2en-corpus")
        written = list(out.glob("*/*/manifest.json"))
        if len(written) != len(files):
            raise BenchError(f"nl2en wrote {len(written)} of {len(files)} documents")
        return {"wall_s": proc.wall_s, "rss_mib": proc.rss_mib, "outputs": len(sources)}

    def library(batch_tokens: int) -> Callable[[Path, bool], dict[str, Any]]:
        def run(out: Path, first: bool) -> dict[str, Any]:
            spec = {"model": str(model), "files": [str(f) for f in files], "out": str(out),
                    "batch_tokens": batch_tokens}  # fmt: skip
            proc, result = bench.driver("corpus-pipeline", spec)
            return {"wall_s": proc.wall_s, "rss_mib": proc.rss_mib, **result}

        return run

    raw_spec = {"model": str(model), "ct2": str(ct2), "sources": sources, "seed": str(SEED),
                "fixed": bench.args.corpus_tokens, "beams": bench.args.beams}  # fmt: skip
    variants = [Variant("nl2en-local", task, "`nl2en translate` over the files (local executor)", cli)]
    if bench.args.corpus_batch_tokens:
        label = f"nl2en library, CTranslate2 batches of {bench.args.corpus_batch_tokens} source tokens"
        variants.append(Variant("nl2en-local-tokens", task, label, library(bench.args.corpus_batch_tokens)))
    variants += ray_variants(bench, model, files, sources)
    variants.append(Variant("ct2-raw", task, "raw CTranslate2: one `translate_batch` call", bench.driver_variant(
        "translate-ct2-raw", raw_spec)))  # fmt: skip
    return variants


RAY_WORKERS = (1, 2)
RAY_TARGET = 0.8  # Ray with 2 workers, excluding Ray's start-up, against the local executor's throughput


def ray_variants(bench: Bench, model: Path, files: list[Path], sources: list[str]) -> list[Variant]:
    """`nl2en translate --executor ray --workers N` over the files: a local Ray that nl2en starts and stops.

    Whole process (the driver's wall time and peak RSS; the actors are Ray's processes, not the driver's),
    with Ray's start-up as the run's manifests record it, so throughput can be given without it.
    """
    try:
        metadata.version("ray")
    except metadata.PackageNotFoundError:
        return []

    def run_with(workers: int) -> Callable[[Path, bool], dict[str, Any]]:
        cpus = max(1, (os.cpu_count() or 1) // workers)  # the machine's cores shared out, as the local engine uses them

        def run(out: Path, first: bool) -> dict[str, Any]:
            args = ["translate", *map(str, files), "--model", str(model), "--backend", "ctranslate2", "--no-cache",
                    "--executor", "ray", "--workers", str(workers), "--cpus-per-worker", str(cpus),
                    "--out", str(out)]  # fmt: skip
            env = {**bench.env, "RAY_USAGE_STATS_ENABLED": "0"}
            env.pop("RAY_ADDRESS", None)
            proc = bench.cli(args, f"nl2en-ray-{workers}", env)
            manifests = list(out.glob("*/*/manifest.json"))
            if len(manifests) != len(files):
                raise BenchError(f"nl2en on Ray wrote {len(manifests)} of {len(files)} documents")
            translator = json.loads(manifests[0].read_text(encoding="utf-8"))["translator"]
            startup = float(translator["startup_s"])
            return {"wall_s": proc.wall_s, "rss_mib": proc.rss_mib, "ray_startup_s": startup,
                    "after_startup_s": proc.wall_s - startup, "outputs": len(sources)}  # fmt: skip

        return run

    return [
        Variant(f"nl2en-ray-{n}", "corpus", f"`nl2en translate --executor ray --workers {n}` (local Ray)", run_with(n))
        for n in RAY_WORKERS
    ]


def render_executors(corpus: dict[str, Any]) -> list[str]:
    """The executor rows: throughput without Ray's start-up (reported apart), driver peak RSS, against local."""
    table = corpus["table"]
    local = table.get("nl2en-local", {})
    if not any(k.startswith("nl2en-ray-") for k in table) or not local.get("whole_s"):
        return []
    local_rate = corpus["sentences"] / local["whole_s"]
    lines = [
        f"**Executors** (same corpus, whole `nl2en translate` process; Ray rows exclude Ray's start-up, shown apart; "
        f"peak RSS is the driver's). Target: Ray with 2 workers ≥ {RAY_TARGET} × local.",
        "",
        "| executor | sentences/s | Ray start-up s | driver peak RSS MiB | × local | target |",
        "|---|---:|---:|---:|---:|---|",
        f"| local | {fmt_num(local_rate)} | — | {fmt_num(local['rss_mib'])} | 1.00× | — |",
    ]
    for key, row in table.items():
        if not key.startswith("nl2en-ray-"):
            continue
        if not row["whole_s"]:
            lines.append(f"| {key} | failed: {row['error']} |||||")
            continue
        after = median(row["runs"], "after_startup_s")
        rate = corpus["sentences"] / after if after else None
        ratio = rate / local_rate if rate else None
        target = "—" if key != "nl2en-ray-2" or ratio is None else "PASS" if ratio >= RAY_TARGET else "FAIL"
        lines.append(
            f"| Ray, {key.rsplit('-', 1)[1]} worker(s) | {fmt_num(rate)} | "
            f"{fmt_num(median(row['runs'], 'ray_startup_s'))} | {fmt_num(row['rss_mib'])} | "
            f"{fmt_num(ratio, '×')} | {target} |"
        )
    return [*lines, ""]


def bench_corpus(bench: Bench, corpus: Path) -> dict[str, Any]:
    """nl2en over a corpus of articles against one raw CTranslate2 call over the same sentences."""
    files = sorted(corpus.glob("*.txt"))
    if not files:
        raise BenchError(f"no *.txt articles in {corpus}")
    sources = corpus_sources(files)
    model = bench.model("marian", bench.args.corpus_tokens)
    ct2 = bench.converted(model)
    variants = corpus_variants(bench, model, ct2, files, sources)
    bench.run_variants("corpus", variants)
    raw = next((v for v in variants if v.key == "ct2-raw" and v.samples), None)
    raw_s = median(raw.samples, "wall_s") if raw else None
    table: dict[str, Any] = {}
    for v in variants:
        whole = median(v.samples, "wall_s") if v.samples else None
        table[v.key] = {
            "label": v.label, "error": v.error, "runs": v.samples, "whole_s": whole,
            "rss_mib": median(v.samples, "rss_mib") if v.samples else None,
            "sentences_per_s": len(sources) / whole if whole else None,
            "ratio": whole / raw_s if whole and raw_s else None,
        }  # fmt: skip
    return {"corpus": str(corpus), "documents": len(files), "sentences": len(sources),
            "distinct": len(set(sources)), "table": table, "model": bench.model_info(model, ct2)}  # fmt: skip


def render_corpus(corpus: dict[str, Any], settings: dict[str, Any]) -> list[str]:
    lines = [
        f"**Corpus**: {corpus['documents']} articles of `{Path(corpus['corpus']).name}`, {corpus['sentences']} "
        f"segments ({corpus['distinct']} distinct) × {settings['corpus_tokens']} new tokens, beam {settings['beams']}, "
        f"CTranslate2 int8; whole process, no cache. Targets: ≤ {CORPUS_RATIO_LIMIT} × raw, "
        f"peak RSS ≤ {CORPUS_RSS_MIB} MiB.",
        "",
        "| variant | seconds | sentences/s | peak RSS MiB | × raw | time target | memory target |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for key, row in corpus["table"].items():
        if key.startswith("nl2en-ray-"):
            continue  # in the executors table: without Ray's start-up, against the local executor
        if not row["whole_s"]:
            lines.append(f"| {row['label']} | failed: {row['error']} ||||||")
            continue
        is_raw = key == "ct2-raw"
        time_ok = "—" if is_raw or row["ratio"] is None else "PASS" if row["ratio"] <= CORPUS_RATIO_LIMIT else "FAIL"
        rss_ok = "—" if is_raw else "PASS" if row["rss_mib"] <= CORPUS_RSS_MIB else "FAIL"
        lines.append(
            f"| {row['label']} | {fmt_num(row['whole_s'])} | {fmt_num(row['sentences_per_s'])} "
            f"| {fmt_num(row['rss_mib'])} | {fmt_num(row['ratio'], '×')} | {time_ok} | {rss_ok} |"
        )
    return [*lines, ""]


def bench_guards(bench: Bench) -> dict[str, Any]:
    """What the guards cost next to translating, and how many extra decodes a flagged segment takes.

    Cost: the whole guarded path (forced terms, term checks, every guard, the ladder's bookkeeping)
    over the seeds' reference pairs, with an engine that answers instantly with the reference
    (kept only where it passes every guard, so nothing is retried), against the time the
    benchmark's translation model (CTranslate2 int8, guards off) takes to decode the same sources.
    Extra decodes: the same model with ``--guards retry`` on the seed's segments.
    """
    from pipeline.ct2 import CT2Engine
    from pipeline.decoding import translation_decoding
    from pipeline.glossary import builtin_glossary, force_terms
    from pipeline.reader import read_article
    from pipeline.references import load_references
    from pipeline.registry import fingerprint, resolve_model
    from pipeline.retry import Candidate, GuardPolicy, document_quality, translate_guarded
    from pipeline.segment import segment_document
    from pipeline.translate import Seq2SeqTranslator

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
        segments = [s.source for s in segment_document(read_article(SEED).text).translatable]
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


class Bench:
    """Everything one benchmark run needs: settings, paths, models, environment for the children."""

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.repeats: int = args.repeats if args.repeats else (1 if args.quick else 3)
        self.models_root: Path = args.models.resolve()
        self.nl2en_home = self.models_root / "nl2en-home"  # NL2EN_MODELS: where the CT2 conversions live
        self.env = dict(os.environ)
        self.env.update(
            {
                "HF_HUB_OFFLINE": "1",
                "NL2EN_MODELS": str(self.nl2en_home),
                "NL2EN_CACHE": str(tmp / "cache.sqlite3"),
                "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
            }
        )
        cli = Path(sys.executable).with_name("nl2en")
        self.nl2en: list[str] = [str(cli)] if cli.exists() else [sys.executable, "-m", "pipeline"]
        self.counter = 0
        self.info: dict[str, Any] = {}

    # -- plumbing --------------------------------------------------------------------------------------------

    def log_dir(self, tag: str) -> Path:
        self.counter += 1
        return self.tmp / "logs" / f"{self.counter:03d}-{tag}"

    def driver(self, name: str, spec: dict[str, Any], env: dict[str, str] | None = None) -> tuple[Proc, dict[str, Any]]:
        log = self.log_dir(name)
        spec_path, result_path = log / "spec.json", log / "result.json"
        log.mkdir(parents=True, exist_ok=True)
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--driver", name, "--spec", str(spec_path),
               "--result", str(result_path)]  # fmt: skip
        proc = check(run_process(cmd, env or self.env, log), f"driver {name}")
        return proc, json.loads(result_path.read_text(encoding="utf-8"))

    def cli(self, args: Sequence[str], tag: str, env: dict[str, str] | None = None) -> Proc:
        return check(run_process([*self.nl2en, *args], env or self.env, self.log_dir(tag)), f"nl2en {' '.join(args)}")

    # -- models ----------------------------------------------------------------------------------------------

    def model(self, kind: str, fixed: int) -> Path:
        """The cached model for ``kind`` with ``fixed`` new tokens; built (in a child process) when missing."""
        beams = self.args.beams
        base = "tiny-marian" if kind == "marian" else "tiny-bart"
        if not self.args.tiny:
            base = "opus-mt-nl-en-arch" if kind == "marian" else "distilbart-cnn-12-6-arch"
        dest = self.models_root / f"{base}-new{fixed}-beam{beams}"
        if read_record(dest).get("model", {}).get("version") != MODEL_SPEC_VERSION or not dest.is_dir():
            print(f"  building {dest.name} (once; cached in {self.models_root}) ...", flush=True)
            self.models_root.mkdir(parents=True, exist_ok=True)
            cmd = [sys.executable, str(Path(__file__).resolve()), "--build", kind, "--dest", str(dest),
                   "--fixed", str(fixed), "--beams", str(beams)] + (["--tiny"] if self.args.tiny else [])  # fmt: skip
            proc = check(run_process(cmd, self.env, self.log_dir(f"build-{kind}")), f"building {dest.name}")
            print(f"  built in {proc.wall_s:.1f} s", flush=True)
        return dest

    def converted(self, model: Path) -> Path:
        """The int8 CTranslate2 conversion of ``model``, made up to date before anything is timed.

        ``nl2en models convert`` returns at once when the conversion matches the model's fingerprint; when it
        really converts, its time is recorded beside the model and reported.
        """
        before = self._find_conversion(model)
        stamp = (before / "nl2en-source.json").stat().st_mtime_ns if before else None
        proc = self.cli(["models", "convert", str(model), "--quantization", "int8"], f"convert-{model.name}")
        found = self._find_conversion(model)
        if found is None:
            raise BenchError(f"no CTranslate2 conversion of {model} under {self.nl2en_home}")
        if stamp is None or (found / "nl2en-source.json").stat().st_mtime_ns != stamp:
            record = read_record(model)
            record["ct2"] = {"convert_s": round(proc.wall_s, 2), "convert_rss_mib": round(proc.rss_mib)}
            record_path(model).write_text(json.dumps(record, indent=2), encoding="utf-8")
            print(f"  converted {model.name} for CTranslate2 (int8) in {proc.wall_s:.1f} s", flush=True)
        return found

    def _find_conversion(self, model: Path) -> Path | None:
        for marker in (self.nl2en_home / "ct2").glob("*/nl2en-source.json"):
            data = json.loads(marker.read_text(encoding="utf-8"))
            if data.get("quantization") == "int8" and Path(data.get("source_path", "")).resolve() == model.resolve():
                return marker.parent
        return None

    def model_info(self, model: Path, ct2: Path) -> dict[str, Any]:
        record = read_record(model)
        info: dict[str, Any] = {**record.get("model", {}), **record.get("ct2", {})}
        weights = sum(f.stat().st_size for f in model.glob("*.safetensors"))
        info.update({"path": str(model), "weights_mib": round(weights / MIB), "ct2_path": str(ct2)})
        if (ct2 / "model.bin").is_file():
            info["ct2_model_mib"] = round((ct2 / "model.bin").stat().st_size / MIB)
        return info

    # -- variants --------------------------------------------------------------------------------------------

    def driver_variant(self, name: str, spec: dict[str, Any]) -> Callable[[Path, bool], dict[str, Any]]:
        """A variant measured by one driver process: whole-process and in-process figures from the same run."""

        def run(_: Path, first: bool) -> dict[str, Any]:
            proc, result = self.driver(name, spec)
            return {"wall_s": proc.wall_s, "rss_mib": proc.rss_mib, **result}

        return run

    def translate_variants(self, model: Path, ct2: Path, sources: list[str]) -> list[Variant]:
        spec = {"model": str(model), "ct2": str(ct2), "sources": sources, "seed": str(SEED),
                "fixed": self.args.translate_tokens, "beams": self.args.beams}  # fmt: skip

        def driver_only(name: str) -> Callable[[Path, bool], dict[str, Any]]:
            return self.driver_variant(name, spec)

        def cli(backend: str) -> Callable[[Path, bool], dict[str, Any]]:
            def run(out: Path, first: bool) -> dict[str, Any]:
                args = ["translate", str(SEED), "--model", str(model), "--backend", backend, "--no-cache"]
                proc = self.cli([*args, "--out", str(out)], f"nl2en-translate-{backend}")
                manifest_path = next(out.glob("*/*/manifest.json"))
                manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
                records = [json.loads(line) for line in manifest_path.with_name("aligned.jsonl").open(encoding="utf-8")]
                translated = [r for r in records if r.get("translated")]
                # The in-process view comes from a companion process, run with the first repetition only.
                inner = self.driver("translate-pipeline", {**spec, "backend": backend})[1] if first else {}
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
            Variant(
                "tutorial", task, "(1) tutorial loop: `generate()` per sentence", driver_only("translate-tutorial")
            ),
            Variant("batched", task, "(2) transformers, length-sorted batches", driver_only("translate-batched")),
            Variant("nl2en-transformers", task, "(3) `nl2en translate --backend transformers`", cli("transformers")),
            Variant(
                "nl2en-ctranslate2", task, "(4) `nl2en translate --backend ctranslate2` (int8)", cli("ctranslate2")
            ),
            Variant("ct2-raw", task, "(5) raw CTranslate2 `translate_batch` (int8)", driver_only("translate-ct2-raw")),
        ]

    def summarize_variants(self, model: Path, ct2: Path, text_file: Path, text: str) -> list[Variant]:
        spec = {"model": str(model), "ct2": str(ct2), "text": text, "fixed": self.args.summary_tokens,
                "beams": self.args.beams}  # fmt: skip

        def driver_only(name: str) -> Callable[[Path, bool], dict[str, Any]]:
            return self.driver_variant(name, spec)

        def cli(backend: str) -> Callable[[Path, bool], dict[str, Any]]:
            def run(out: Path, first: bool) -> dict[str, Any]:
                args = ["summarize", str(text_file), "--summarizer", str(model), "--backend", backend, "--no-cache",
                        "--out", str(out)]  # fmt: skip
                proc = self.cli(args, f"nl2en-summarize-{backend}")
                manifest = json.loads(next(out.glob("*/*/manifest.json")).read_text(encoding="utf-8"))
                inner = self.driver("summarize-pipeline", {**spec, "backend": backend})[1] if first else {}
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
            Variant(
                "tutorial", task, "(1) tutorial: `generate()` on the whole text", driver_only("summarize-tutorial")
            ),
            Variant("nl2en-transformers", task, "(3) `nl2en summarize --backend transformers`", cli("transformers")),
            Variant(
                "nl2en-ctranslate2", task, "(4) `nl2en summarize --backend ctranslate2` (int8)", cli("ctranslate2")
            ),
            Variant("ct2-raw", task, "(5) raw CTranslate2 `translate_batch` (int8)", driver_only("summarize-ct2-raw")),
        ]

    def run_variants(self, title: str, variants: list[Variant]) -> None:
        """Every variant once per repetition, interleaved, so load changes on the machine hit all of them alike.

        A variant whose first run took longer than ``--slow-s`` runs once: a long run averages the noise out
        itself, and repeating the tutorial loop would take most of the time budget.
        """
        for rep in range(self.repeats):
            for variant in variants:
                if variant.error or (rep and variant.samples and variant.samples[0]["wall_s"] > self.args.slow_s):
                    continue
                out = self.tmp / "runs" / f"{variant.task}-{variant.key}-{rep}"
                started = time.perf_counter()
                try:
                    sample = variant.run(out, rep == 0)
                except (BenchError, StopIteration, OSError, ValueError, KeyError) as exc:
                    variant.error = f"{type(exc).__name__}: {exc}"
                    print(f"  [{title} {rep + 1}/{self.repeats}] {variant.key}: FAILED {variant.error}", flush=True)
                    continue
                sample["load_avg_1m"] = loadavg()[0]
                variant.samples.append(sample)
                work = f"{sample['work_s']:6.2f} s" if "work_s" in sample else "     — "
                print(
                    f"  [{title} {rep + 1}/{self.repeats}] {variant.key:<19} whole {sample['wall_s']:6.2f} s  "
                    f"work {work}  RSS {sample['rss_mib']:5.0f} MiB  "
                    f"({time.perf_counter() - started:.0f} s, load {sample['load_avg_1m']})",
                    flush=True,
                )
                shutil.rmtree(out, ignore_errors=True)

    def cached_rerun(self, model: Path, segments: int) -> dict[str, Any]:
        """`make translate` twice: the second run of the seed is served entirely from the cache (whole process)."""
        env = {**self.env, "NL2EN_CACHE": str(self.tmp / "cached-run.sqlite3")}
        out = self.tmp / "runs" / "cached"
        args = ["translate", str(SEED), "--model", str(model), "--out", str(out)]
        first = self.cli(args, "cached-fill", env)
        runs = []
        for _ in range(max(3, self.repeats)):
            proc = self.cli(args, "cached-rerun", env)
            manifest = json.loads(next(out.glob("*/*/manifest.json")).read_text(encoding="utf-8"))
            runs.append({"wall_s": proc.wall_s, "rss_mib": proc.rss_mib, **manifest.get("cache", {})})
        result = {
            "fill_wall_s": first.wall_s,
            "runs": runs,
            "wall_s": median(runs, "wall_s"),
            "rss_mib": median(runs, "rss_mib"),
            "all_hits": all(r.get("hits") == segments and r.get("misses") == 0 for r in runs),
        }
        print(f"  cached rerun: {result['wall_s']:.2f} s (first run, filling the cache: {first.wall_s:.1f} s)")
        return result

    def help_startup(self) -> dict[str, Any]:
        self.cli(["--help"], "help-warmup")  # compiles byte code, warms the page cache
        runs = [{"wall_s": p.wall_s, "rss_mib": p.rss_mib} for p in (self.cli(["--help"], "help") for _ in range(5))]
        result = {"runs": runs, "wall_s": median(runs, "wall_s"), "rss_mib": median(runs, "rss_mib")}
        print(f"  nl2en --help: {result['wall_s']:.2f} s")
        return result

    def ct2_info(self, ct2: Path) -> dict[str, Any]:
        _, result = self.driver("ct2-info", {"ct2": str(ct2)}, {**self.env, "CT2_VERBOSE": "1"})
        log = sorted((self.tmp / "logs").glob("*-ct2-info"))[-1] / "stderr.txt"
        wanted = ("CPU:", "Selected ISA", "SGEMM backend", "GEMM_S8 backend", "Selected compute type")
        lines = [line.split("[info]", 1)[-1].strip(" -") for line in log.read_text(encoding="utf-8").splitlines()]
        result["log"] = [line for line in lines if line.startswith(wanted)]
        return result


# ---------------------------------------------------------------------------------------------------------------
# Summaries: per-variant medians, ratios, targets, Markdown
# ---------------------------------------------------------------------------------------------------------------


def summarise_variants(variants: list[Variant], fixed: int) -> dict[str, Any]:
    base = next((v for v in variants if v.key == "tutorial" and v.samples), None)
    base_whole = median(base.samples, "wall_s") if base else None
    base_work = median(base.samples, "work_s") if base else None
    table: dict[str, Any] = {}
    for v in variants:
        row: dict[str, Any] = {"label": v.label, "error": v.error, "runs": v.samples}
        if v.samples:
            whole, work = median(v.samples, "wall_s"), median(v.samples, "work_s")
            outputs = v.samples[0]["outputs"]
            steps = [s for sample in v.samples for s in sample.get("steps", [])]
            gen_tokens = v.samples[0]["outputs"] * fixed
            row.update(
                {
                    "whole_s": whole,
                    "work_s": work,
                    "load_s": median(v.samples, "load_s"),
                    "open_s": median(v.samples, "open_s"),
                    "rss_mib": median(v.samples, "rss_mib"),
                    "rss_mib_max": max(s["rss_mib"] for s in v.samples),
                    "outputs": outputs,
                    "whole_runs": len(v.samples),
                    "work_runs": sum(1 for sample in v.samples if "work_s" in sample),
                    "generated_tokens": gen_tokens,
                    "steps_per_output": sorted(set(steps)),
                    "steps_ok": bool(steps) and all(s == fixed for s in steps),
                    "outputs_per_s_whole": outputs / whole if whole else None,
                    "outputs_per_s_work": outputs / work if work else None,
                    "tokens_per_s_whole": gen_tokens / whole if whole else None,
                    "tokens_per_s_work": gen_tokens / work if work else None,
                    "speedup_whole": base_whole / whole if base_whole and whole else None,
                    "speedup_work": base_work / work if base_work and work else None,
                }
            )
        table[v.key] = row
    return table


@dataclass(frozen=True)
class Target:
    key: str
    text: str
    limit: float
    higher_is_better: bool
    unit: str
    primary: bool = True  # a project target; secondary rows are the in-process view of the same ratio


def ratio(table: dict[str, Any], a: str, b: str, key: str) -> float | None:
    """table[a][key] / table[b][key] (e.g. a slower variant's time over a faster one's: a speed-up of b)."""
    x, y = table.get(a, {}).get(key), table.get(b, {}).get(key)
    return x / y if x and y else None


def evaluate_targets(tr: dict[str, Any], su: dict[str, Any], cached: dict[str, Any], help_: dict[str, Any],
                     bench_s: float, ex: dict[str, Any] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    ex = ex or {}
    ex_text = f"extractive summary of a {ex.get('bytes', 0) / 1e6:.1f} MB article"
    measured: list[tuple[Target, float | None]] = [
        (Target("ct2_vs_tutorial", "translate: nl2en CTranslate2 int8 vs tutorial loop, whole process", 12, True, "×"),
         ratio(tr, "tutorial", "nl2en-ctranslate2", "whole_s")),
        (Target("ct2_vs_tutorial_inproc", "translate: same, in-process", 12, True, "×", False),
         ratio(tr, "tutorial", "nl2en-ctranslate2", "work_s")),
        (Target("ct2_vs_raw", "translate: nl2en CTranslate2 time / raw CTranslate2, whole process", 1.5, False, "×"),
         ratio(tr, "nl2en-ctranslate2", "ct2-raw", "whole_s")),
        (Target("ct2_vs_raw_inproc", "translate: same, in-process", 1.5, False, "×", False),
         ratio(tr, "nl2en-ctranslate2", "ct2-raw", "work_s")),
        (Target("tf_vs_tutorial", "translate: nl2en transformers vs tutorial loop, whole process", 3, True, "×"),
         ratio(tr, "tutorial", "nl2en-transformers", "whole_s")),
        (Target("tf_vs_tutorial_inproc", "translate: same, in-process", 3, True, "×", False),
         ratio(tr, "tutorial", "nl2en-transformers", "work_s")),
        (Target("ct2_rss", "translate: peak RSS of the nl2en CTranslate2 run", 400, False, "MiB"),
         tr.get("nl2en-ctranslate2", {}).get("rss_mib")),
        (Target("sum_ct2_vs_tf", "summarise: nl2en CTranslate2 vs nl2en transformers, whole process", 2, True, "×"),
         ratio(su, "nl2en-transformers", "nl2en-ctranslate2", "whole_s")),
        (Target("sum_ct2_vs_tf_inproc", "summarise: same, in-process", 2, True, "×", False),
         ratio(su, "nl2en-transformers", "nl2en-ctranslate2", "work_s")),
        (Target("cached", "fully cached rerun of the seed (`make translate` again), whole process", 1, False, "s"),
         cached.get("wall_s")),
        (Target("help", "`nl2en --help` start-up", 0.5, False, "s"), help_.get("wall_s")),
        (Target("bench_time", "this benchmark's own run time", BUDGET_S / 60, False, "min"), bench_s / 60),
        (Target("extractive_time", f"{ex_text}, whole process", EXTRACTIVE_TARGET_S, False, "s"), ex.get("wall_s")),
        (Target("extractive_rss", f"{ex_text}, peak RSS", EXTRACTIVE_TARGET_MIB, False, "MiB"), ex.get("rss_mib")),
    ]  # fmt: skip
    out = []
    for target, value in measured:
        if value is None:
            verdict, note = "n/a", "not measured"
        else:
            ok = value >= target.limit if target.higher_is_better else value < target.limit
            verdict = "PASS" if ok else "MISS"
            if ok:
                note = ""
            elif target.higher_is_better:
                note = f"{1 - value / target.limit:.0%} short"
            else:
                note = f"{value / target.limit - 1:.0%} over"
        sign = "≥" if target.higher_is_better else "<"
        out.append({"key": target.key, "target": target.text, "limit": f"{sign} {fmt_num(target.limit)} {target.unit}",
                    "measured": None if value is None else round(value, 3), "unit": target.unit, "result": verdict,
                    "note": note, "primary": target.primary})  # fmt: skip
    return out


def fmt_num(x: float | None, unit: str = "") -> str:
    if x is None:
        return "—"
    text = f"{x:.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"
    return f"{text}{unit}"


def markdown_table(table: dict[str, Any], unit: str, repeats: int) -> list[str]:
    lines = [
        f"| variant | whole process s | in-process s | {unit}/s (whole · in-proc) | tokens/s (whole · in-proc) "
        "| peak RSS MiB | × tutorial (whole · in-proc) | steps/output |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in table.values():
        if not row.get("whole_s"):
            lines.append(f"| {row['label']} | failed: {row.get('error')} |||||||")
            continue
        steps = ", ".join(str(s) for s in row["steps_per_output"]) + ("" if row["steps_ok"] else " ⚠")
        label = row["label"] + (" — ran once" if row["whole_runs"] == 1 and repeats > 1 else "")
        lines.append(
            f"| {label} | {fmt_num(row['whole_s'])} | {fmt_num(row['work_s'])} "
            f"| {fmt_num(row['outputs_per_s_whole'])} · {fmt_num(row['outputs_per_s_work'])} "
            f"| {fmt_num(row['tokens_per_s_whole'])} · {fmt_num(row['tokens_per_s_work'])} "
            f"| {fmt_num(row['rss_mib'])} | {fmt_num(row['speedup_whole'], '×')} · {fmt_num(row['speedup_work'], '×')} "
            f"| {steps} |"
        )
    return lines


def render_markdown(results: dict[str, Any]) -> str:
    s, m = results["settings"], results["machine"]
    lines = [
        f"Benchmark of {results['date']}: {m['cpu']}, {m['cpus']} CPUs, {m['mem_gib']} GiB; load average "
        f"{m['load_before'][0]} before, {m['load_after'][0]} after; torch {m['torch_threads']} threads, CTranslate2 "
        f"intra_threads=0 (default; {m['ct2_isa']}); median of {s['repeats']} run(s); beam {s['beams']}."
        + (" **Tiny models: a smoke test, not a benchmark.**" if s["tiny"] else ""),
        "",
    ]
    tr = results.get("translate")
    if tr:
        lines += [
            f"**Translation** of the seed: {tr['segments']} segments × {s['translate_tokens']} new tokens "
            f"({'tiny random Marian' if s['tiny'] else 'random opus-mt-nl-en architecture'}, "
            f"{tr['model']['parameters'] / 1e6:.1f}M parameters).",
            "",
            *markdown_table(tr["table"], "sentences", s["repeats"]),
            "",
        ]
    su = results.get("summarize")
    if su:
        bart = "tiny random BART" if s["tiny"] else "random distilbart-cnn-12-6 architecture"
        lines += [
            f"**Summarisation** of the seed's reference translation (the first {su['snippets_used']} of "
            f"{su['snippets_total']} `en` snippets: {su['input_tokens']} input tokens, one chunk) "
            f"× {s['summary_tokens']} new tokens ({bart}, {su['model']['parameters'] / 1e6:.1f}M parameters).",
            "",
            *markdown_table(su["table"], "summaries", s["repeats"]),
            "",
        ]
    if results.get("corpus"):
        lines += render_corpus(results["corpus"], s)
        lines += render_executors(results["corpus"])
    ex = results.get("extractive")
    if ex:
        lines += [
            f"**Extractive summary** (`nl2en summarize --summarizer extractive`, fresh cache) of a generated "
            f"{ex['bytes'] / 1e6:.1f} MB English article: {fmt_num(ex['wall_s'])} s whole process, "
            f"{fmt_num(ex['rss_mib'])} MiB peak RSS.",
            "",
        ]
    other = []
    if tr and tr["model"].get("convert_s"):
        other.append(f"Marian int8 conversion (once): {tr['model']['convert_s']:.1f} s")
    if su and su["model"].get("convert_s"):
        other.append(f"BART int8 conversion (once): {su['model']['convert_s']:.1f} s")
    for name, part in (("translate", tr), ("summarise", su)):
        row = (part or {}).get("table", {}).get("nl2en-ctranslate2", {})
        if row.get("open_s") is not None:
            other.append(f"nl2en {name}, model lookup + fingerprint before loading: {row['open_s']:.2f} s")
    if results.get("cached"):
        other.append(f"cached rerun of the seed: {fmt_num(results['cached']['wall_s'])} s")
    if results.get("help"):
        other.append(f"`nl2en --help`: {fmt_num(results['help']['wall_s'])} s")
    other.append(f"benchmark run time: {results['bench_s'] / 60:.1f} min")
    lines += ["; ".join(other) + ".", "", "| target | limit | measured | result |", "|---|---:|---:|---|"]
    for t in results["targets"]:
        measured = "—" if t["measured"] is None else f"{fmt_num(t['measured'])} {t['unit']}"
        result = f"**{t['result']}**" if t["primary"] else t["result"]
        lines.append(f"| {t['target']} | {t['limit']} | {measured} | {result} {t['note']} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/bench.py",
        description="nl2en speed benchmark: tutorial loop vs transformers batched vs nl2en vs raw CTranslate2.",
    )
    parser.add_argument("--quick", action="store_true", help="one run per variant instead of three")
    parser.add_argument("--repeats", type=int, default=None, help="runs per variant (median reported; default 3)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench", help="where results.json and results.md go")
    parser.add_argument("--models", type=Path, default=ROOT / "bench" / ".models", help="cache of built models")
    parser.add_argument("--translate-tokens", type=int, default=32, help="fixed new tokens per translated segment")
    parser.add_argument("--summary-tokens", type=int, default=64, help="fixed new tokens of the summary")
    parser.add_argument("--beams", type=int, default=4, help="beam size of both models")
    parser.add_argument(
        "--only",
        default="translate,summarize,startup,extractive,corpus,guards",
        help="comma list of: translate, summarize, startup, extractive, corpus, guards",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=ROOT.parent / "shared" / "corpora" / "nl-news-ud-dev",
        help="folder of Dutch articles (*.txt) for the corpus section",
    )
    parser.add_argument("--corpus-tokens", type=int, default=24, help="fixed new tokens per segment, corpus section")
    parser.add_argument(
        "--corpus-batch-tokens", type=int, default=512,
        help="also run nl2en with CTranslate2 batches of this many source tokens (0: leave the row out)",
    )  # fmt: skip
    parser.add_argument("--extractive-mb", type=float, default=5.0, help="size of the extractive summariser's article")
    parser.add_argument(
        "--slow-s", type=float, default=30, help="a variant whose first run takes longer than this runs only once"
    )
    parser.add_argument("--tiny", action="store_true", help="tiny models: a quick smoke test, timings meaningless")
    # Internal: child processes.
    parser.add_argument("--driver", choices=sorted(DRIVERS), help=argparse.SUPPRESS)
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--build", choices=("marian", "bart"), help=argparse.SUPPRESS)
    parser.add_argument("--dest", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fixed", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def benchmark(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    args.out.mkdir(parents=True, exist_ok=True)
    machine: dict[str, Any] = {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "mem_gib": mem_total_gib(),
        "platform": platform.platform(),
        "load_before": loadavg(),
        "thread_env": thread_env(),
        "versions": versions(),
        "torch_threads": "?",
        "ct2_isa": "?",
    }
    if machine["load_before"][0] > 0.75 * (machine["cpus_usable"] or 1):
        print(f"note: load average {machine['load_before']} on {machine['cpus_usable']} CPUs: timings will be noisy")
    with tempfile.TemporaryDirectory(prefix="nl2en-bench-") as tmp_name:
        bench = Bench(args, Path(tmp_name))
        print(f"nl2en benchmark: {bench.repeats} run(s) per variant, beam {args.beams}; {machine['cpu']}, "
              f"{machine['cpus_usable']} CPUs, load {machine['load_before']}", flush=True)  # fmt: skip
        results: dict[str, Any] = {
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "settings": {
                "repeats": bench.repeats,
                "beams": args.beams,
                "translate_tokens": args.translate_tokens,
                "summary_tokens": args.summary_tokens,
                "tiny": args.tiny,
                "seed": str(SEED.relative_to(ROOT)),
                "hf_batch_size": HF_BATCH_SIZE,
                "hf_max_batch_tokens": HF_MAX_BATCH_TOKENS,
                "ct2_batch_size": CT2_BATCH_SIZE,
                "ct2_compute_type": "int8",
                "ct2_intra_threads": 0,
                "corpus_tokens": args.corpus_tokens,
                "corpus_batch_tokens": args.corpus_batch_tokens,
            },
            "machine": machine,
        }
        tr_table: dict[str, Any] = {}
        su_table: dict[str, Any] = {}
        if "translate" in only:
            print("translation:", flush=True)
            from pipeline.reader import read_article
            from pipeline.segment import segment_document

            sources = [s.source for s in segment_document(read_article(SEED).text).translatable]
            model = bench.model("marian", args.translate_tokens)
            ct2 = bench.converted(model)
            ct2_info = bench.ct2_info(ct2)
            machine["ct2"] = ct2_info
            isa = [line for line in ct2_info.get("log", []) if "ISA" in line or "compute type" in line]
            machine["ct2_isa"] = ", ".join(isa) or "?"
            variants = bench.translate_variants(model, ct2, sources)
            bench.run_variants("translate", variants)
            tr_table = summarise_variants(variants, args.translate_tokens)
            results["translate"] = {"segments": len(sources), "model": bench.model_info(model, ct2), "table": tr_table}
            tutorial = tr_table.get("tutorial", {}).get("runs") or [{}]
            machine["torch_threads"] = tutorial[0].get("threads", {}).get("torch_threads", "?")
        if "summarize" in only:
            print("summarisation:", flush=True)
            from tokenizers import Tokenizer

            model = bench.model("bart", args.summary_tokens)
            ct2 = bench.converted(model)
            tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
            limit = json.loads((model / "config.json").read_text(encoding="utf-8"))["max_position_embeddings"]
            text, used, total, tokens = english_text(limit, lambda t: len(tokenizer.encode(t).ids))
            text_file = bench.tmp / "seed-reference.en.txt"
            text_file.write_text(text + "\n", encoding="utf-8")
            variants = bench.summarize_variants(model, ct2, text_file, text)
            bench.run_variants("summarize", variants)
            su_table = summarise_variants(variants, args.summary_tokens)
            results["summarize"] = {
                "input_tokens": tokens,
                "input_chars": len(text),
                "snippets_used": used,
                "snippets_total": total,
                "model": bench.model_info(model, ct2),
                "table": su_table,
            }
        cached: dict[str, Any] = {}
        help_: dict[str, Any] = {}
        if "startup" in only:
            print("start-up and cache:", flush=True)
            help_ = bench.help_startup()
            model = bench.model("marian", args.translate_tokens)
            bench.converted(model)
            from pipeline.reader import read_article
            from pipeline.segment import segment_document

            segments = len(segment_document(read_article(SEED).text).translatable)
            cached = bench.cached_rerun(model, segments)
            results["cached"], results["help"] = cached, help_
        if "corpus" in only:
            print("corpus:", flush=True)
            results["corpus"] = bench_corpus(bench, args.corpus)
        if "extractive" in only:
            print("extractive summariser, long article:", flush=True)
            results["extractive"] = bench_extractive(bench, args.extractive_mb)
        if "guards" in only:
            print("guards (scripted engine passing every guard) vs translating:", flush=True)
            results["guards"] = bench_guards(bench)
    machine["load_after"] = loadavg()
    results["bench_s"] = time.perf_counter() - started
    results["targets"] = evaluate_targets(tr_table, su_table, cached, help_, results["bench_s"],
                                          results.get("extractive"))  # fmt: skip
    results["targets"] += guard_targets(results.get("guards"))
    markdown = render_markdown(results)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    (args.out / "results.md").write_text(markdown, encoding="utf-8")
    print()
    print(markdown)
    print(f"wrote {args.out / 'results.json'} and {args.out / 'results.md'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))  # the test scaffolding (tests.models) builds the models and the long article
    if args.driver:
        spec = json.loads(args.spec.read_text(encoding="utf-8"))
        args.result.write_text(json.dumps(DRIVERS[args.driver](spec)), encoding="utf-8")
        return 0
    if args.build:
        build_model(args.build, args.dest, args.fixed, args.beams, args.tiny)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up children and the temporary directory
    try:
        return benchmark(args)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
