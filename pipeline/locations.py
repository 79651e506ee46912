"""Where nl2en keeps its state: the translation memory and the files beside it."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_path() -> Path:
    """``NL2EN_CACHE`` or the per-user cache directory (platformdirs)."""
    env = os.environ.get("NL2EN_CACHE")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("nl2en")) / "memory.sqlite3"
