"""Extractive summariser: same choices as the full-matrix TextRank, whole sentences, linear memory."""

from __future__ import annotations

import math
import random
import re
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from pipeline.summaries.base import split_sentences
from pipeline.summaries.extractive import ExtractiveSummarizer, select_sentences, textrank

ROOT = Path(__file__).resolve().parents[2]
REFS = ROOT / "seeds" / "2019-12-rusland-wit-rusland.refs.toml"
_WORD = re.compile(r"\w+", re.UNICODE)


# --- The full-matrix method, as nl2en had it: O(n²) similarities in Python lists (the reference) -----------------


def full_matrix_tfidf_vectors(sentences: Sequence[str]) -> list[dict[str, float]]:
    docs = [Counter(w.lower() for w in _WORD.findall(s)) for s in sentences]
    df = Counter(word for doc in docs for word in doc)
    n = len(docs)
    vectors = []
    for doc in docs:
        vec = {w: c * (math.log((1 + n) / (1 + df[w])) + 1) for w, c in doc.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vectors.append({w: v / norm for w, v in vec.items()})
    return vectors


def full_matrix_textrank(sentences: Sequence[str], damping: float = 0.85, iterations: int = 50) -> list[float]:
    vectors = full_matrix_tfidf_vectors(sentences)
    n = len(vectors)
    weights = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            small, large = sorted((vectors[i], vectors[j]), key=len)
            sim = sum(v * large.get(w, 0.0) for w, v in small.items())
            weights[i][j] = weights[j][i] = sim
    out_sum = [sum(row) or 1.0 for row in weights]
    scores = [1.0 / n] * n if n else []
    for _ in range(iterations):
        scores = [
            (1 - damping) / n + damping * sum(weights[j][i] / out_sum[j] * scores[j] for j in range(n))
            for i in range(n)
        ]
    return scores


def full_matrix_select(scores: Sequence[float], count: int) -> list[int]:
    if count >= len(scores):
        return list(range(len(scores)))
    best = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:count]
    return sorted(best)


# --- Texts ---------------------------------------------------------------------------------------------------------


def reference_translation() -> str:
    """The seed's reference translation: its `en` snippets joined as one text."""
    return " ".join(e["en"] for e in tomllib.loads(REFS.read_text(encoding="utf-8"))["translation"])


def generated_sentences(count: int, seed: int) -> list[str]:
    """Sentences of Zipf-distributed words: common words link many sentences, rare ones few, some none."""
    rng = random.Random(seed)
    vocabulary = [
        *("the", "of", "and", "to", "in", "a", "is", "that", "for", "on", "with", "as", "was", "by", "he", "it"),
        "Straße", "İstanbul", "café", "Ωmega", "naïve", "2019", "x_y",
        *(f"w{k}" for k in range(3000)),
    ]  # fmt: skip
    weights = [1 / (k + 1) for k in range(len(vocabulary))]
    sentences = []
    for i in range(count):
        if i % 17 == 5:
            sentences.append("— " + "…" * (i // 17 + 1) + " !")  # no words at all
        elif i % 13 == 7:
            sentences.append(f"Unique{seed}x{i} only{seed}y{i}.")  # shares no word with any other sentence
        else:
            chosen = rng.choices(vocabulary, weights, k=rng.randint(3, 25))
            sentences.append(" ".join(chosen).capitalize() + ".")
    assert len(set(sentences)) == len(sentences)
    return sentences


def equivalence_cases(english_sentences: list[str], seed_text: str) -> list[tuple[str, list[str]]]:
    cases = [("reference translation", split_sentences(reference_translation()))]
    cases += [(f"english corpus {a}:{b}", english_sentences[a:b]) for a, b in ((0, 2), (0, 30), (30, 230), (168, 368))]
    cases += [(f"generated {n}", generated_sentences(n, n)) for n in (3, 40, 120, 200)]
    cases.append(("Dutch seed article", split_sentences(seed_text, "nl")))
    return cases


# --- Tests ---------------------------------------------------------------------------------------------------------


def test_extractive_same_selections_as_the_full_matrix(english_sentences: list[str], seed_text: str) -> None:
    for name, sentences in equivalence_cases(english_sentences, seed_text):
        assert 2 <= len(sentences) <= 200, name
        expected = full_matrix_textrank(sentences)
        scores = textrank(sentences)
        assert scores.tolist() == pytest.approx(expected, rel=1e-9, abs=0), name
        varied = len({round(s * len(sentences), 6) for s in expected})
        assert len(sentences) < 3 or varied > len(sentences) // 2, f"{name}: scores barely vary"
        for count in sorted({1, 2, 3, len(sentences) // 5, len(sentences) // 2, len(sentences) - 1} - {0}):
            assert select_sentences(sentences, count) == full_matrix_select(expected, count), (name, count)


def test_extractive_summary_is_the_reference_translations_full_matrix_choice() -> None:
    text = reference_translation()
    sentences = split_sentences(text)
    assert len(sentences) >= 40
    for summarizer in (ExtractiveSummarizer(), ExtractiveSummarizer(sentences=4), ExtractiveSummarizer(ratio=0.5)):
        chosen = full_matrix_select(full_matrix_textrank(sentences), summarizer.target_count(len(sentences)))
        assert summarizer.summarize(text).text == " ".join(sentences[i] for i in chosen)


def test_extractive_ties_go_to_the_earlier_sentence() -> None:
    sentences = ["Rain falls on the city.", "Rain falls on the city.", "The city sleeps.", "Rain falls on the city."]
    scores = textrank(sentences)
    assert scores[0] == pytest.approx(scores[1], rel=1e-12) == pytest.approx(scores[3], rel=1e-12)
    assert select_sentences(sentences, 1) == [0] and select_sentences(sentences, 2) == [0, 1]


def test_extractive_keeps_whole_sentences_in_order(english_sentences: list[str]) -> None:
    text = " ".join(english_sentences[:30])
    source = split_sentences(text)
    summary = ExtractiveSummarizer(sentences=4).summarize(text)
    picked = split_sentences(summary.text)
    assert len(picked) == 4 and summary.method == "extractive"
    positions = [source.index(s) for s in picked]
    assert positions == sorted(positions)
    assert len(split_sentences(ExtractiveSummarizer(ratio=0.5).summarize(text).text)) == 15


def test_extractive_prefers_central_sentences() -> None:
    text = (
        "Putin and Lukashenko discuss the union of Russia and Belarus. "
        "The union of Russia and Belarus worries Lukashenko. "
        "Cats sleep a lot. "
        "Putin wants the union with Belarus."
    )
    assert ExtractiveSummarizer(sentences=1).summarize(text).text != "Cats sleep a lot."


def test_extractive_sentences_without_words_or_links() -> None:
    assert select_sentences(["!!", "?", "…"], 1) == [0]
    scores = textrank(["Alpha beta.", "Gamma delta.", "Epsilon."])
    assert scores.tolist() == pytest.approx(full_matrix_textrank(["Alpha beta.", "Gamma delta.", "Epsilon."]))
    assert ExtractiveSummarizer(sentences=2).summarize("One. Two. Three.").text == "One. Two."


# --- Memory grows linearly with the text ---------------------------------------------------------------------------


def article(chars: int, seed: int = 0) -> str:
    """A deterministic English article of about ``chars`` characters (Zipf words, paragraphs)."""
    from tests.support.texts import synthetic_english_article

    return synthetic_english_article(chars, seed)


# Runs ``python -m pipeline ARGS`` and writes its own VmHWM (peak RSS) to a file on exit. The child measures
# itself because wait4's ru_maxrss would count the forked copy of this (large) test process before exec.
_MEASURED_CLI = """
import atexit, runpy, sys
report = sys.argv[1]
def peak():
    with open("/proc/self/status") as status, open(report, "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
atexit.register(peak)
sys.argv = ["nl2en", *sys.argv[2:]]
runpy.run_module("pipeline", run_name="__main__")
"""


def peak_rss_mib(path: Path, out: Path) -> float:
    """Peak RSS of one ``nl2en summarize --summarizer extractive`` process, as the process saw it (VmHWM)."""
    report = out.with_suffix(".peak")
    cmd = [sys.executable, "-c", _MEASURED_CLI, str(report), "summarize", str(path), "--summarizer", "extractive",
           "--no-cache", "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return int(report.read_text()) / 1024  # kB


@pytest.mark.slow
def test_extractive_memory_grows_linearly(tmp_path: Path) -> None:
    sizes = {"base": 2_000, "small": 2_000_000, "large": 8_000_000}
    peaks = {}
    for name, chars in sizes.items():
        path = tmp_path / f"{name}.txt"
        path.write_text(article(chars), encoding="utf-8")
        peaks[name] = peak_rss_mib(path, tmp_path / "out")
    small, large = peaks["small"] - peaks["base"], peaks["large"] - peaks["base"]
    assert small > 5, f"the 2 MB article should cost measurable memory: {peaks}"
    assert large <= 5 * small, f"4× the text took more than 5× the memory above baseline: {peaks}"
