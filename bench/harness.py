"""Parent side: one benchmark run's settings, models and child processes, and the interleaved runs of variants."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    MIB,
    MODEL_SPEC_VERSION,
    ROOT,
    SCRIPT,
    BenchError,
    Proc,
    Variant,
    check,
    loadavg,
    read_record,
    record_path,
    run_process,
)


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
        cmd = [sys.executable, str(SCRIPT), "--driver", name, "--spec", str(spec_path),
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
            cmd = [sys.executable, str(SCRIPT), "--build", kind, "--dest", str(dest),
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

    def ct2_info(self, ct2: Path) -> dict[str, Any]:
        _, result = self.driver("ct2-info", {"ct2": str(ct2)}, {**self.env, "CT2_VERBOSE": "1"})
        log = sorted((self.tmp / "logs").glob("*-ct2-info"))[-1] / "stderr.txt"
        wanted = ("CPU:", "Selected ISA", "SGEMM backend", "GEMM_S8 backend", "Selected compute type")
        lines = [line.split("[info]", 1)[-1].strip(" -") for line in log.read_text(encoding="utf-8").splitlines()]
        result["log"] = [line for line in lines if line.startswith(wanted)]
        return result
