"""Where nl2en keeps its state: one folder for everything it writes between runs, except models and outputs.

nl2en writes in three places, and nowhere else:

- **outputs**: ``--out DIR`` (default ``outputs/``), ``DIR/<doc>/<run>/``, and ``scores.json`` and
  ``compare.html`` beside the runs (``pipeline.runs.outputs``);
- **models**: ``NL2EN_MODELS`` (default ``models/`` of the project): ``hub/`` (downloads),
  ``ct2/`` (CTranslate2 conversions), ``tiny/``, imported models (``pipeline.models.registry``);
- **the state folder** (:func:`state_dir`): ``NL2EN_CACHE``'s folder when that variable names the
  memory, else the per-user cache folder (``~/.cache/nl2en`` on Linux, by platformdirs):

  ============================  ============================================================
  ``memory.sqlite3``            the translation memory (``NL2EN_CACHE`` names another file;
  (+ ``-wal``, ``-shm``)        ``--cache FILE`` another for one command)
  ``file-digests.json``         model file digests, kept only when the memory is off
                                (``--no-cache``); beside ``--cache FILE`` when one is named
  ``calibration.json`` (+lock)  ``low_confidence`` thresholds of ``nl2en models calibrate``
                                (``NL2EN_CALIBRATION`` names another file)
  ============================  ============================================================

With the memory on, model file digests live in the memory itself. ``--cache FILE`` moves
everything a translate, summarise or run command writes there; the calibrations stay in the
state folder, so the guard threshold does not change with where the cache is.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "NL2EN_CACHE"  # the translation memory file
CALIBRATION_ENV = "NL2EN_CALIBRATION"  # the calibrations file
MEMORY_FILE = "memory.sqlite3"
DIGESTS_FILE = "file-digests.json"
CALIBRATION_FILE = "calibration.json"


def state_dir() -> Path:
    """The folder of nl2en's own state: ``NL2EN_CACHE``'s folder, else the per-user cache folder."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).parent
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("nl2en"))


def default_cache_path() -> Path:
    """The translation memory: ``NL2EN_CACHE``, else ``memory.sqlite3`` in the state folder."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else state_dir() / MEMORY_FILE


def digests_path(cache: Path | None = None) -> Path:
    """The memo of model file digests when the memory is off: beside ``--cache FILE``, else in the state folder."""
    return (cache.parent if cache is not None else state_dir()) / DIGESTS_FILE


def calibration_path() -> Path:
    """``NL2EN_CALIBRATION``, else ``calibration.json`` in the state folder."""
    env = os.environ.get(CALIBRATION_ENV)
    return Path(env) if env else state_dir() / CALIBRATION_FILE
