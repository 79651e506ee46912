"""The ``low_confidence`` threshold: calibrated per model and engine on a news corpus, and stored."""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.errors import CalibrationError
from pipeline.signature import EngineSection

CALIBRATION_METHOD = (
    "threshold = the given percentile (linear interpolation between closest ranks) of the mean token "
    "log-probabilities the model gives the gold sentences of the corpus, each decoded with the pipeline's "
    "normal settings"
)


@dataclass(frozen=True)
class Calibration:
    """A model's ``low_confidence`` threshold and how it was found."""

    fingerprint: str
    threshold: float
    percentile: float
    segments: int
    corpus: str
    corpus_digest: str
    method: str = CALIBRATION_METHOD
    created: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, interpolating linearly between closest ranks."""
    finite = sorted(v for v in values if math.isfinite(v))
    if not finite:
        raise ValueError("no finite scores to calibrate on")
    if not 0 <= q <= 100:
        raise ValueError("percentile must be between 0 and 100")
    position = (len(finite) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(finite) - 1)
    return finite[low] + (finite[high] - finite[low]) * (position - low)


NEWS_CORPUS = "nl-news-ud-dev"


CORPUS_ENV = "NL2EN_NEWS_CORPUS"


def find_news_corpus() -> Path | None:
    """The news corpus to calibrate on: ``$NL2EN_NEWS_CORPUS``, else ``shared/corpora/nl-news-ud-dev``
    beside the repository or any folder above it."""
    if os.environ.get(CORPUS_ENV):
        return Path(os.environ[CORPUS_ENV])
    for folder in Path(__file__).resolve().parents:
        candidate = folder / "shared" / "corpora" / NEWS_CORPUS
        if (candidate / "gold.jsonl").is_file():
            return candidate
    return None


def corpus_sentences(corpus_dir: Path, limit: int | None = None) -> list[str]:
    """The gold sentences of a corpus laid out like ``nl-news-ud-dev`` (``<doc>.txt`` + ``gold.jsonl`` ends)."""
    sentences: list[str] = []
    for line in (corpus_dir / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        text = (corpus_dir / f"{record['doc']}.txt").read_text(encoding="utf-8")
        start = 0
        for end in record["ends"]:
            sentence = " ".join(text[start:end].split())
            if sentence:
                sentences.append(sentence)
            start = end
            if limit is not None and len(sentences) >= limit:
                return sentences
    return sentences


def calibrate(
    score_sentences: Callable[[Sequence[str]], Sequence[float | None]],
    fingerprint: str,
    corpus_dir: Path,
    *,
    q: float = 5.0,
    limit: int | None = None,
) -> Calibration:
    """Decode the corpus with ``score_sentences`` and take the ``q``-th percentile of the scores.

    About ``q`` % of ordinary news sentences then fall below the threshold: the flag marks the
    model's least confident segments, in its own scale.
    """
    sentences = corpus_sentences(corpus_dir, limit)
    scores = [s for s in score_sentences(sentences) if s is not None]
    digest = hashlib.sha256("\n".join(sentences).encode("utf-8")).hexdigest()[:16]
    return Calibration(
        fingerprint=fingerprint,
        threshold=percentile(scores, q),
        percentile=q,
        segments=len(scores),
        corpus=corpus_dir.name,
        corpus_digest=digest,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def default_calibration_path() -> Path:
    """``$NL2EN_CALIBRATION``, else ``calibration.json`` in the state folder (:mod:`pipeline.locations`)."""
    from pipeline.locations import calibration_path

    return calibration_path()


def calibration_key(fingerprint: str, engine: EngineSection) -> str:
    """Scores differ per model and per engine (backend, compute type, device): a threshold is kept per pair."""
    identity = engine.identity()
    return f"{fingerprint}|" + "|".join(f"{k}={identity[k]}" for k in sorted(identity))


_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "fingerprint": str,
    "threshold": (int, float),
    "percentile": (int, float),
    "segments": int,
}


def _calibration(key: str, record: Any) -> Calibration:
    """One stored record as a ``Calibration``; ``ValueError`` names what is wrong with it."""
    if not isinstance(record, dict):
        raise ValueError(f"entry {key!r} is not an object")
    for name, kind in _REQUIRED.items():
        if not isinstance(record.get(name), kind) or isinstance(record.get(name), bool):
            raise ValueError(f"entry {key!r} has no valid {name!r}")
    if not math.isfinite(record["threshold"]):
        raise ValueError(f"entry {key!r} has a threshold that is not a number")
    known = set(Calibration.__dataclass_fields__)
    return Calibration(**{"corpus": "", "corpus_digest": "", **{f: v for f, v in record.items() if f in known}})


@dataclass
class CalibrationStore:
    """Calibrations in one JSON file, keyed by model fingerprint and engine.

    A store that cannot be read is an error, never an empty store: ignoring it would silently turn
    ``low_confidence`` off, and the next calibration would overwrite every other model's entry.
    Writes are atomic (a temporary file renamed over the store) and serialised by a lock file.
    """

    path: Path

    def _corrupt(self, detail: str) -> CalibrationError:
        return CalibrationError(
            f"calibration store {self.path} is corrupt ({detail})",
            hint="repair or remove it and calibrate again; nl2en will not overwrite it",
        )

    def load(self) -> dict[str, Calibration]:
        """Every stored calibration; ``{}`` when there is no store yet. Raises ``CalibrationError`` otherwise."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as error:
            raise CalibrationError(f"cannot read calibration store {self.path}: {error}") from None
        try:
            data = json.loads(text)
        except ValueError as error:
            raise self._corrupt(f"not JSON: {error}") from None
        if not isinstance(data, dict):
            raise self._corrupt("not an object of calibrations")
        try:
            return {key: _calibration(key, record) for key, record in data.items()}
        except ValueError as error:
            raise self._corrupt(str(error)) from None

    def get(self, fingerprint: str) -> Calibration | None:
        return self.load().get(fingerprint)

    def put(self, calibration: Calibration) -> None:
        """Add or replace one calibration, keeping the others; a corrupt store is refused, not overwritten."""
        from filelock import FileLock

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(self.path) + ".lock", timeout=60):
                data = {k: c.to_dict() for k, c in self.load().items()}
                data[calibration.fingerprint] = calibration.to_dict()
                handle, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".calibration-", suffix=".json")
                try:
                    with os.fdopen(handle, "w", encoding="utf-8") as out:
                        json.dump(data, out, indent=2, sort_keys=True)
                        out.flush()
                        os.fsync(out.fileno())
                    os.replace(tmp, self.path)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
        except OSError as error:  # the lock's timeout is an OSError too
            raise CalibrationError(f"cannot write calibration store {self.path}: {error}") from None
