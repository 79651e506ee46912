"""The translation memory: keys, persistence, stats and clearing."""

from __future__ import annotations

from pathlib import Path

from pipeline.locations import default_cache_path
from pipeline.runs.memory import TranslationMemory, cache_key, normalise_source

IDENTITY = {"model": "sha256:abc", "backend": "transformers", "settings": {"num_beams": 4}}


def test_memory_key_depends_on_everything_that_shapes_output() -> None:
    base = cache_key("translate", IDENTITY, "Hallo wereld.")
    assert cache_key("translate", IDENTITY, "Hallo  wereld.\n") == base  # normalised source
    assert cache_key("translate", {**IDENTITY, "model": "sha256:other"}, "Hallo wereld.") != base
    assert cache_key("translate", {**IDENTITY, "backend": "ctranslate2"}, "Hallo wereld.") != base
    assert cache_key("translate", {**IDENTITY, "settings": {"num_beams": 1}}, "Hallo wereld.") != base
    assert cache_key("summarize", IDENTITY, "Hallo wereld.") != base
    assert cache_key("translate", IDENTITY, "Hallo wereld!") != base


def test_memory_normalise_source_nfc_and_whitespace() -> None:
    assert normalise_source("e\u0301en \t twee\r\n") == "\u00e9en twee"


def test_memory_roundtrip_persists_and_keeps_first_entry(tmp_path: Path) -> None:
    path = tmp_path / "tm.sqlite3"
    with TranslationMemory(path) as tm:
        tm.put_many([("k1", "translate", "m", "bron", "target", {"flags": ["x"]})])
        tm.put_many([("k1", "translate", "m", "bron", "other", {})])
    with TranslationMemory(path) as tm:
        found = tm.get_many(["k1", "k2"])
        assert list(found) == ["k1"]
        assert found["k1"].target == "target" and found["k1"].meta == {"flags": ["x"]}
        stats = tm.stats()
        assert stats.entries == 1 and stats.by_stage == {"translate": 1} and stats.by_model == {"m": 1}


def test_memory_clear_by_stage(tmp_path: Path) -> None:
    with TranslationMemory(tmp_path / "tm.sqlite3") as tm:
        tm.put_many(
            [
                ("a", "translate", "m", "s", "t", {}),
                ("b", "summarize", "m", "s", "t", {}),
                ("c", "translate", "m", "s", "t", {}),
                ("d", "translate:decodes", "m", "s", "t", {}),
                ("e", "translated", "m", "s", "t", {}),
            ]
        )
        assert tm.clear("summarize") == 1
        assert tm.stats().entries == 4
        assert tm.clear("translate") == 3, "a stage's journal of decodes goes with it; another stage stays"
        assert tm.clear() == 1
        assert tm.stats().entries == 0


def test_memory_digest_is_memoised(tmp_path: Path) -> None:
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        return "d1"

    with TranslationMemory(tmp_path / "tm.sqlite3") as tm:
        assert tm.digest("file|1|2", compute) == "d1"
        assert tm.digest("file|1|2", compute) == "d1"
    assert len(calls) == 1


def test_memory_default_path_honours_env(isolated_state: Path) -> None:
    assert default_cache_path() == isolated_state / "memory.sqlite3"


def test_memory_sqlite_errors_become_cache_errors(tmp_path: Path) -> None:
    import pytest

    from pipeline.errors import CacheError

    memory = TranslationMemory(tmp_path / "tm.sqlite3")
    memory.close()  # any SQLite failure: here, a connection that is gone
    for action in (
        lambda: memory.get_many(["k"]),
        lambda: memory.clear(),
        lambda: memory.clear("translate"),
        lambda: memory.stats(),
        lambda: memory.digest("k", lambda: "d"),
        lambda: memory.put_many([("k", "translate", "m", "s", "t", {})]),
    ):
        with pytest.raises(CacheError, match="cache"):
            action()
