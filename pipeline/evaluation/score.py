"""Scoring a run against its references: sacrebleu for the translation, rouge-score for the summary.

Each reference snippet is aligned to the run through its Dutch side: the snippet is found
in the decoded input, and its hypothesis is the English of every translated segment whose
source span overlaps it, joined with a space. A snippet that spans two sentences, or one
that nl2en split differently, still gets exactly the English that covers it.

Nothing here imports torch or transformers: scoring a hundred runs takes seconds.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline.errors import InputError, MixedInputsError, NoRunsError, ReferencesMismatchError, ScoreError
from pipeline.evaluation.faithfulness import key_fact_recall
from pipeline.evaluation.references import (
    References,
    SummaryReference,
    find_references,
    load_references,
    locate,
)
from pipeline.runs.manifest import RunManifest, read_manifest
from pipeline.runs.outputs import (
    ALIGNED_FILE,
    EXTRACTIVE_SLUG,
    MANIFEST_FILE,
    SCORES_FILE,
    TRANSLATION_FILE,
    is_run_dir,
    loads_jsonl,
    summary_file,
    summary_files,
    write_json,
)

SCHEMA_VERSION = 2  # of scores.json; 2: runs with a summary and no translation
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")

UNTRANSLATED_METHOD = (
    "a word of the hypothesis (letters only, case-folded) counts as untranslated Dutch when the English "
    "reference does not contain it and it is either in the snippet's Dutch source or one of about 80 "
    "frequent Dutch function words that are not also English words"
)
# Frequent Dutch words that never appear in English text; words spelt the same in both languages
# (in, is, over, door, want, die, was, had, we, er, op, tot, dan, hem, hoe, heel) are deliberately left out.
_DUTCH_FUNCTION_WORDS_TEXT = """
    de het een en van niet zijn dat voor met ook maar nog wel bij naar uit om aan als wordt werd
    worden heeft hebben zal zullen kan kunnen moet moeten te ze zich hij zij wij jij je ik mijn deze dit
    wat wie waar geen meer nu nooit altijd omdat tussen tegen onder zo hun haar ons onze jaar daar
    hier toen zonder volgens sinds tijdens tijd echter welke waarin hebt wilde wil zei zegt veel
"""
DUTCH_FUNCTION_WORDS = frozenset(_DUTCH_FUNCTION_WORDS_TEXT.split())
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


@dataclass(frozen=True)
class AlignedSnippet:
    """A reference snippet with its span in the input and the segments that cover it."""

    nl: str
    reference: str
    hypothesis: str
    start: int
    end: int
    segments: tuple[int, ...]
    partial: bool  # a covering segment reaches beyond the snippet, so the hypothesis may say more


# --- finding and reading runs ---------------------------------------------------------------


def find_run_dirs(path: Path) -> list[Path]:
    """``path`` itself if it is a run directory, else every run directory below it, sorted."""
    if not path.is_dir():
        raise NoRunsError(f"{path}: no such directory")
    if is_run_dir(path):
        return [path]
    runs = sorted(
        p.parent
        for p in path.rglob(MANIFEST_FILE)
        if is_run_dir(p.parent) and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )
    if not runs:
        raise NoRunsError(
            f"{path}: no run directories (folders with {MANIFEST_FILE} and {ALIGNED_FILE} or a summary)",
            hint="translate something first, e.g. nl2en translate seeds/*.txt --out outputs",
        )
    return runs


def input_key(manifest: RunManifest) -> str | None:
    """What a run was made from, to tell runs of different inputs apart: the input's sha256, else its path.

    The text decides: two runs of byte-identical inputs translate the same article wherever it
    lay, and a file edited between two runs is another input. None when the manifest records none.
    """
    info = manifest.input
    return info.sha256 or info.resolved or info.path


def check_same_input(runs: Sequence[tuple[Path, RunManifest]], purpose: str) -> None:
    """Refuse, in one line, to put side by side runs whose inputs differ (:func:`input_key`).

    Folders are claimed per input (``pipeline.runs.outputs.DocumentFolders``), so only outputs
    from before that, or an input edited between two runs, can mix; either way the numbers
    would compare different articles.
    """
    known = [(run_dir, manifest, input_key(manifest)) for run_dir, manifest in runs]
    known = [entry for entry in known if entry[2] is not None]
    for run_dir, manifest, key in known[1:]:
        first_dir, first, first_key = known[0]
        if key != first_key:
            raise MixedInputsError(
                f"{purpose}: {first_dir} and {run_dir} are runs of different inputs "
                f"({_describe_input(first)} vs {_describe_input(manifest)})",
                hint="run both on the same input again, or remove the stale run",
            )


def check_refs_fit(run_dirs: Sequence[Path]) -> None:
    """One refs file (``score --refs``) belongs to one article: refuse runs of different inputs."""
    check_same_input([(r, read_manifest(r)) for r in run_dirs], "one --refs file scores one article")


def _describe_input(manifest: RunManifest) -> str:
    info = manifest.input
    digest = f" sha256 {info.sha256[:12]}" if info.sha256 else ""
    return f"{info.resolved or info.path or 'unknown input'}{digest}"


def read_records(run_dir: Path) -> list[dict[str, Any]]:
    """The run's aligned records; none for a summary-only run (``nl2en summarize``)."""
    path = run_dir / ALIGNED_FILE
    if not path.exists():
        return []
    try:
        return loads_jsonl(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScoreError(f"{path}: unreadable ({exc})") from exc


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScoreError(f"{path}: unreadable ({exc})") from exc


def file_sha256(path: Path) -> str | None:
    """The file's sha256 (read in blocks: an aligned.jsonl can be large), or ``None`` when there is no file."""
    from pipeline.models.weights import file_sha256 as sha256_of

    return sha256_of(path) if path.is_file() else None


def summary_path(run_dir: Path, manifest: RunManifest) -> Path | None:
    """The run's summary: the file its manifest names (older manifests: by the slug rule), else the only one."""
    info = manifest.summarizer
    if info is not None:
        name = info.file
        if not name:
            from pipeline.models.registry import slugify  # cheap: registry imports no model code

            model = info.signature.model
            name = summary_file(slugify(model.hub_id or Path(model.path).name) if model.path else EXTRACTIVE_SLUG)
        path = run_dir / name
        if path.is_file():
            return path
    found = summary_files(run_dir)
    return found[-1] if found else None


def decoded_input(manifest: RunManifest, records: Sequence[dict[str, Any]], run_dir: Path) -> tuple[str, str]:
    """The text the run's offsets point into, and where it came from.

    The input file itself when it is still there unchanged (same sha256) and plain text;
    otherwise (and always for a structured document, whose offsets index its text view) the
    text is rebuilt from the records, with a space for every character between segments
    (those are whitespace in any lossless segmentation), which keeps every offset valid.
    """
    info = manifest.input
    name = info.path
    structured = info.format not in (None, "text")  # offsets index its text view, rebuilt from the records
    if name and name != "-" and not structured:
        from pipeline.text.reader import read_article

        candidates = [Path(info.resolved)] if info.resolved else []
        candidates += [Path(name)]
        if not Path(name).is_absolute():
            candidates += [parent / name for parent in run_dir.resolve().parents]
        for path in candidates:
            if not path.is_file():
                continue
            try:
                article = read_article(path, info.encoding)
            except InputError:
                continue
            if article.sha256 == info.sha256:
                return article.text, str(path.resolve())
    length = max([int(info.chars or 0)] + [int(r["end"]) for r in records])
    buffer = [" "] * length
    for record in records:
        buffer[record["start"] : record["end"]] = record["source"]
    return "".join(buffer), ALIGNED_FILE


# --- alignment ------------------------------------------------------------------------------


def align_snippets(refs: References, text: str, records: Sequence[dict[str, Any]]) -> list[AlignedSnippet]:
    """Pair each reference snippet with the run's English for the same stretch of Dutch.

    Snippets are searched in order, each from where the previous one ended, so a passage
    that occurs twice is matched to its occurrence in the snippet order (then anywhere).
    """
    translated = sorted((r for r in records if r.get("translated")), key=lambda r: r["start"])
    aligned = []
    cursor = 0
    for snippet in refs.translations:
        span = locate(text, snippet.nl, cursor)
        if span is None:
            raise ReferencesMismatchError(
                f"{refs.path}: snippet not found in the run's input: {snippet.nl[:60]!r}",
                hint="the refs file belongs to another version of the article, or pass --refs FILE",
            )
        start, end = span
        cursor = end
        covering = [r for r in translated if r["start"] < end and r["end"] > start]
        aligned.append(
            AlignedSnippet(
                nl=snippet.nl,
                reference=snippet.en,
                hypothesis=" ".join(r["target"] for r in covering if r["target"]),
                start=start,
                end=end,
                segments=tuple(int(r["index"]) for r in covering),
                partial=any(r["start"] < start or r["end"] > end for r in covering),
            )
        )
    return aligned


# --- metrics --------------------------------------------------------------------------------


def words(text: str) -> list[str]:
    """Case-folded words of letters (hyphenated and apostrophe words kept whole)."""
    return [w.casefold() for w in _WORD.findall(text)]


def untranslated_words(hypothesis: str, source: str, reference: str) -> list[str]:
    """The hypothesis words that look like Dutch left as is (see ``UNTRANSLATED_METHOD``)."""
    in_reference = set(words(reference))
    in_source = set(words(source))
    return [w for w in words(hypothesis) if w not in in_reference and (w in in_source or w in DUTCH_FUNCTION_WORDS)]


def translation_scores(snippets: Sequence[AlignedSnippet]) -> tuple[dict[str, Any], dict[str, str]]:
    """Corpus and per-snippet BLEU, chrF and TER, exactly as sacrebleu computes them."""
    from sacrebleu.metrics import BLEU, CHRF, TER

    hyps = [s.hypothesis for s in snippets]
    refs = [[s.reference for s in snippets]]
    bleu, chrf, ter, sentence_bleu = BLEU(), CHRF(), TER(), BLEU(effective_order=True)
    corpus_bleu = bleu.corpus_score(hyps, refs)
    result: dict[str, Any] = {
        "bleu": corpus_bleu.score,
        "chrf": chrf.corpus_score(hyps, refs).score,
        "ter": ter.corpus_score(hyps, refs).score,
        "bleu_detail": {
            "precisions": corpus_bleu.precisions,
            "bp": corpus_bleu.bp,
            "sys_len": corpus_bleu.sys_len,
            "ref_len": corpus_bleu.ref_len,
        },
        "snippets": [
            {
                "nl": s.nl,
                "reference": s.reference,
                "hypothesis": s.hypothesis,
                "start": s.start,
                "end": s.end,
                "segments": list(s.segments),
                "partial": s.partial,
                "bleu": sentence_bleu.sentence_score(s.hypothesis, [s.reference]).score,
                "chrf": chrf.sentence_score(s.hypothesis, [s.reference]).score,
                "ter": ter.sentence_score(s.hypothesis, [s.reference]).score,
                "untranslated": untranslated_words(s.hypothesis, s.nl, s.reference),
            }
            for s in snippets
        ],
    }
    signatures = {
        "bleu": str(bleu.get_signature()),
        "chrf": str(chrf.get_signature()),
        "ter": str(ter.get_signature()),
        "snippet_bleu": str(sentence_bleu.get_signature()),
    }
    return result, signatures


def summary_scores(summary: str, reference: SummaryReference) -> dict[str, Any]:
    """ROUGE-1/2/L F-measures (Porter stemming, as the CNN/DailyMail literature reports them)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    rouge = scorer.score(reference.reference, summary)
    facts = key_fact_recall(reference.key_facts, summary)
    return {
        **{name: rouge[name].fmeasure for name in ROUGE_TYPES},
        "detail": {
            name: {"precision": rouge[name].precision, "recall": rouge[name].recall, "fmeasure": rouge[name].fmeasure}
            for name in ROUGE_TYPES
        },
        "key_fact_recall": facts["recall"],
        "key_facts_found": facts["found"],
        "key_facts_missing": facts["missing"],
        "words": len(summary.split()),
    }


def input_text(manifest: RunManifest) -> str:
    """The run's input as written (an English document summarised directly); ``""`` when unreadable."""
    path = manifest.input.resolved
    try:
        return read_text(Path(path)) if path else ""
    except ScoreError:
        return ""


def summary_faithfulness(summary: str, source: str) -> dict[str, Any]:
    """Entity and number precision of a summary against its English source (``pipeline.evaluation.faithfulness``)."""
    from pipeline.evaluation.faithfulness import ENTITY_METHOD, entity_precision, number_precision
    from pipeline.quality.glossary import builtin_glossary

    entities = entity_precision(summary, source, builtin_glossary())
    numbers = number_precision(summary, source)
    return {
        "entity_precision": entities["precision"],
        "number_precision": numbers["precision"],
        "faithfulness": {"entities": entities, "numbers": numbers, "method": ENTITY_METHOD},
    }


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:  # pragma: no cover - both are dependencies
        return "unknown"


# --- one run --------------------------------------------------------------------------------


def resolve_references(run_dir: Path, refs: References | Path | None = None) -> References:
    """``refs`` as given, loaded from a path, or found from the run's manifest."""
    if isinstance(refs, References):
        return refs
    if refs is not None:
        return load_references(refs)
    return load_references(find_references(read_manifest(run_dir).to_json(), run_dir))  # it reads the input section


def score_run(run_dir: Path, refs: References | Path | None = None, *, write: bool = True) -> dict[str, Any]:
    """Score one run directory against its references and (by default) write ``scores.json``."""
    run_dir = Path(run_dir)
    if not is_run_dir(run_dir):
        raise NoRunsError(f"{run_dir}: not a run directory (no {MANIFEST_FILE} beside {ALIGNED_FILE} or a summary)")
    references = resolve_references(run_dir, refs)
    manifest = read_manifest(run_dir)
    records = read_records(run_dir)
    translated = (run_dir / ALIGNED_FILE).is_file()
    if translated:
        text, text_from = decoded_input(manifest, records, run_dir)
        snippets = align_snippets(references, text, records)
    else:  # a summary of English text: nothing to align, only the summary to score
        text_from, snippets = "", []
    translation_file = run_dir / TRANSLATION_FILE
    translation_text = read_text(translation_file) if translation_file.is_file() else ""

    signature: dict[str, str] = {}
    translation: dict[str, Any] = {"snippet_count": len(snippets)}
    if snippets:
        scores, signature = translation_scores(snippets)
        translation.update(scores)
    else:
        translation.update(bleu=None, chrf=None, ter=None, snippets=[])
    facts = references.summary.key_facts if references.summary else ()
    in_translation = key_fact_recall(facts, translation_text)
    translation.update(
        key_fact_recall=in_translation["recall"],
        key_facts_found=in_translation["found"],
        key_facts_missing=in_translation["missing"],
    )

    summary_file = summary_path(run_dir, manifest)
    summary: dict[str, Any] | None = None
    if summary_file is not None and references.summary is not None:
        summary_text = read_text(summary_file).strip()
        summary = {"file": summary_file.name, **summary_scores(summary_text, references.summary)}
        summary.update(summary_faithfulness(summary_text, translation_text or input_text(manifest)))
        signature["rouge"] = f"rouge-score {_version('rouge-score')}|{'+'.join(ROUGE_TYPES)}|stemmer:porter|F-measure"

    counted = [w for s in translation["snippets"] for w in s["untranslated"]]
    hypothesis_words = sum(len(words(s["hypothesis"])) for s in translation["snippets"])
    result: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "run": {"dir": str(run_dir), "doc": run_dir.parent.name, "name": run_dir.name},
        "inputs": {
            "refs": str(references.path.resolve()),
            "refs_sha256": references.sha256,
            "aligned_sha256": file_sha256(run_dir / ALIGNED_FILE),
            "summary_sha256": file_sha256(summary_file) if summary_file else None,
            "text_from": text_from,
        },
        "translation": translation,
        "summary": summary,
        "untranslated": {
            "count": len(counted),
            "hypothesis_words": hypothesis_words,
            "rate": len(counted) / hypothesis_words if hypothesis_words else 0.0,
            "words": dict(Counter(counted).most_common()),
            "method": UNTRANSLATED_METHOD,
        },
        "signature": signature,
    }
    if write:
        write_json(run_dir / SCORES_FILE, result)
    return result


def load_scores(run_dir: Path) -> dict[str, Any] | None:
    """A stored ``scores.json`` if it still describes the run's files, else None."""
    path = run_dir / SCORES_FILE
    try:
        scores = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(scores, dict) or scores.get("schema") != SCHEMA_VERSION:
        return None
    inputs = scores.get("inputs") or {}
    manifest = read_manifest(run_dir)
    summary = summary_path(run_dir, manifest)
    refs = Path(inputs.get("refs", ""))
    current = (
        inputs.get("aligned_sha256") == file_sha256(run_dir / ALIGNED_FILE)
        and inputs.get("summary_sha256") == (file_sha256(summary) if summary else None)
        and inputs.get("refs_sha256") == file_sha256(refs)
    )
    return scores if current else None
