"""Guards measured on reference translations: each firing on a correct pair is a false positive."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.quality.guards import DEFAULT_SETTINGS, FLAG_NAMES, GuardSettings, check_segment


def false_positive_rates(
    pairs: Sequence[tuple[str, str]], glossary: Any = None, settings: GuardSettings = DEFAULT_SETTINGS
) -> dict[str, Any]:
    """Run every guard over reference translations fed as if they were output: each firing is wrong.

    ``pairs`` are (Dutch source, English reference). With a glossary, terms are checked on
    the reference as the pipeline checks them on output. ``low_confidence`` needs model
    scores and is not measured here.
    """
    from pipeline.quality.glossary import check_terms

    counts = dict.fromkeys(FLAG_NAMES, 0)
    examples: dict[str, list[dict[str, Any]]] = {name: [] for name in FLAG_NAMES}
    for source, reference in pairs:
        terms = check_terms(reference, glossary.find(source))[1] if glossary is not None else []
        for flag in check_segment(source, reference, terms=terms, settings=settings):
            counts[flag.name] += 1
            examples[flag.name].append({"nl": source, "en": reference, "evidence": flag.evidence})
    total = len(pairs)
    return {
        "segments": total,
        "rates": {name: (counts[name] / total if total else 0.0) for name in FLAG_NAMES if name != "low_confidence"},
        "counts": {name: counts[name] for name in FLAG_NAMES if name != "low_confidence"},
        "examples": {name: ex for name, ex in examples.items() if ex},
    }


def reference_false_positives(paths: Sequence[Path], glossary: Any = None) -> dict[str, Any]:
    """``false_positive_rates`` over the ``[[translation]]`` pairs of reference files (``*.refs.toml``)."""
    from pipeline.evaluation.references import load_references

    pairs = [(s.nl, s.en) for path in paths for s in load_references(path).translations]
    return false_positive_rates(pairs, glossary)


if __name__ == "__main__":  # python -m pipeline.evaluation.guard_eval seeds/*.refs.toml
    import sys

    from pipeline.quality.glossary import builtin_glossary

    report = reference_false_positives([Path(p) for p in sys.argv[1:]], builtin_glossary())
    print(f"{report['segments']} reference segments fed as output")
    for name, rate in report["rates"].items():
        print(f"{name:18} {report['counts'][name]:3d}  {rate:6.1%}")
    for name, examples in report["examples"].items():
        for example in examples:
            print(f"  {name}: {example['en']!r} {example['evidence']}")
