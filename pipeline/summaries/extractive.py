"""The built-in extractive summariser: TextRank over TF-IDF sentence similarity, in linear memory.

TextRank is PageRank over the graph whose edge weights are the cosine similarities of the
sentences' TF-IDF vectors. With ``X`` the L2-normalised TF-IDF matrix (one sparse row per
sentence), that graph is ``W = X Xᵀ − diag(X Xᵀ)``: dense, n² entries, gigabytes for a long
article. It is never built. Every power-iteration step needs only ``W v``, and
``W v = X (Xᵀ v) − diag(X Xᵀ) ∘ v`` costs two sparse products over the non-zeros of ``X``.
Memory and time per step are therefore linear in the length of the text, and the scores are
those of the full graph at every size (up to float rounding): no neighbour is dropped.

The TF-IDF weights are scikit-learn's (``TfidfVectorizer``: raw counts, smoothed IDF
``ln((1+n)/(1+df)) + 1``, L2 rows), with words taken as ``\\w+`` runs, lower-cased.
scikit-learn and scipy are imported only when a summary is made. (sumy and the NLTK-based
packages were considered; they need tokenizer data fetched at run time, which an offline
machine cannot do.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.signature import DecodingSection, EngineSection, ModelSection, RunSignature
from pipeline.summaries.base import Summarizer, Summary, split_sentences

if TYPE_CHECKING:
    import numpy as np

EXTRACTIVE = "extractive"
FINGERPRINT = "builtin:textrank-tfidf-v1"  # bump the version when the algorithm's choices change
DAMPING = 0.85
ITERATIONS = 50
SCORE_DIGITS = 9  # scores equal to 9 significant digits (× n) are ties: the earlier sentence wins
_WORD = re.compile(r"\w+", re.UNICODE)


def words(sentence: str) -> list[str]:
    """The terms of a sentence: ``\\w+`` runs, lower-cased after they are found."""
    return [w.lower() for w in _WORD.findall(sentence)]


def tfidf_matrix(sentences: Sequence[str]) -> Any:
    """Sparse CSR TF-IDF rows (L2-normalised; a sentence without words is a zero row)."""
    import numpy as np
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not any(_WORD.search(s) for s in sentences):
        return sp.csr_matrix((len(sentences), 0), dtype=np.float64)
    vectorizer = TfidfVectorizer(analyzer=words, dtype=np.float64)  # smooth_idf, l2, raw counts: the defaults
    return vectorizer.fit_transform(sentences).tocsr()


def textrank(sentences: Sequence[str], damping: float = DAMPING, iterations: int = ITERATIONS) -> np.ndarray:
    """TextRank scores: PageRank over the cosine-similarity graph of the sentences, never materialised."""
    import numpy as np

    n = len(sentences)
    if n == 0:
        return np.zeros(0)
    x = tfidf_matrix(sentences)
    xt = x.T.tocsr()
    self_similarity = np.asarray(x.multiply(x).sum(axis=1)).ravel()  # diag(X Xᵀ): 1, or 0 for an empty row

    def graph_times(v: np.ndarray) -> np.ndarray:
        return x @ (xt @ v) - self_similarity * v

    # A sentence shares no word with any other exactly when all its words occur once in the
    # text; its edge sum is then zero, and, as in the full-matrix method, it divides by 1.
    document_frequency = np.diff(xt.indptr)
    shared = x.copy()
    shared.data = (document_frequency[shared.indices] > 1).astype(np.float64)
    connected = np.asarray(shared.sum(axis=1)).ravel() > 0
    out_sum = np.where(connected, graph_times(np.ones(n)), 1.0)
    out_sum[out_sum <= 0] = 1.0
    scores = np.full(n, 1.0 / n)
    for _ in range(iterations):
        scores = (1 - damping) / n + damping * graph_times(scores / out_sum)
    return scores


def select_sentences(sentences: Sequence[str], count: int) -> list[int]:
    """Indices of the ``count`` best sentences, in their original order (ties: earlier first)."""
    if count >= len(sentences):
        return list(range(len(sentences)))
    import numpy as np

    n = len(sentences)
    rounded = np.round(textrank(sentences) * n, SCORE_DIGITS)
    order = np.lexsort((np.arange(n), -rounded))  # by score, then by position
    return sorted(int(i) for i in order[:count])


@dataclass
class ExtractiveSummarizer(Summarizer):
    """Whole sentences of the input, chosen by TextRank, kept in their order; no weights needed."""

    sentences: int | None = None
    ratio: float | None = None
    language: str = "en"

    @property
    def settings(self) -> dict[str, Any]:
        return {"algorithm": "textrank-tfidf", "sentences": self.sentences, "ratio": self.ratio}

    def signature(self) -> RunSignature:
        """What determines an extractive summary: the algorithm's version and its settings."""
        return RunSignature(
            stage="summarize",
            model=ModelSection(EXTRACTIVE, FINGERPRINT, slug=EXTRACTIVE),
            engine=EngineSection("builtin"),
            decoding=DecodingSection(self.settings, {}, ExtractiveSummarizer().settings),
        )

    def target_count(self, available: int) -> int:
        if self.sentences:
            return self.sentences
        ratio = self.ratio if self.ratio else 0.2
        return max(1, min(available, round(available * ratio)))

    def summarize(self, text: str) -> Summary:
        sentences = split_sentences(text, self.language)
        if not sentences:
            return Summary("", "extractive", [], ("empty_output",), "the input has no sentences")
        chosen = select_sentences(sentences, self.target_count(len(sentences)))
        return Summary(" ".join(sentences[i] for i in chosen), "extractive", [], (), None)
