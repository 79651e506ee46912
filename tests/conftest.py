"""Shared fixtures: no network, isolated state, tiny random models of the real classes."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Real documents and corpora, none made by this project, beside the repository (../shared).
SHARED = Path(os.environ.get("NL2EN_SHARED") or ROOT.parent / "shared")


def shared_path(*parts: str) -> Path:
    """A path under the shared material; skips the test where it is absent, fails instead under CI.

    ``.ci/run`` sets ``NL2EN_REQUIRE_SHARED=1``, so a test that measures real documents never
    passes by being skipped there.
    """
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"{path} not found (set NL2EN_SHARED to the folder holding documents/ and corpora/)"
        if os.environ.get("NL2EN_REQUIRE_SHARED"):
            pytest.fail(message)
        pytest.skip(message)
    return path


SEED = ROOT / "seeds" / "2019-12-rusland-wit-rusland.txt"


class NetworkBlocked(RuntimeError):
    """Raised by the socket guard: tests must never reach the network."""


def _blocked(self: socket.socket, address: Any, *args: Any) -> Any:
    if self.family == getattr(socket, "AF_UNIX", None):
        return _real_connect(self, address, *args)
    raise NetworkBlocked(f"test tried to open a network connection to {address!r}")


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


@pytest.fixture(autouse=True)
def socket_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that opens a network socket."""
    monkeypatch.setattr(socket.socket, "connect", _blocked)
    monkeypatch.setattr(socket.socket, "connect_ex", _blocked)


NETGUARD_ALLOW = "NL2EN_NETGUARD_ALLOW"
"""Environment variable naming the one ``127.0.0.1:PORT`` a CLI subprocess may connect to."""


def allow_loopback_port(monkeypatch: pytest.MonkeyPatch, port: int, *more: int) -> dict[str, str]:
    """Opt in: let this test (and its CLI subprocesses) reach ``127.0.0.1:port`` (and ``more`` ports), nothing else.

    Returns the environment entries that carry the same allowance into ``run_cli``.
    """
    allowed = {("127.0.0.1", p) for p in (port, *more)}

    def guarded(self: socket.socket, address: Any, *args: Any) -> Any:
        if self.family == socket.AF_INET and tuple(address)[:2] in allowed:
            return _real_connect(self, address, *args)
        return _blocked(self, address, *args)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded)
    return {NETGUARD_ALLOW: ",".join(f"127.0.0.1:{p}" for p in (port, *more))}


@pytest.fixture(scope="session", autouse=True)
def session_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Session-wide defaults, so even module fixtures never touch the user's cache or the hub."""
    state = tmp_path_factory.mktemp("session-state")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NL2EN_CACHE", str(state / "memory.sqlite3"))
        patch.setenv("HF_HOME", str(state / "hf"))
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("NL2EN_MODELS", str(state / "models"))
        (state / "models").mkdir()
        yield state


@pytest.fixture(autouse=True)
def isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own cache and hub cache, and the hub is offline.

    The models folder (``NL2EN_MODELS``) is shared by the session, so CTranslate2
    conversions of the session's tiny models are made once.
    """
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("NL2EN_CACHE", str(state / "memory.sqlite3"))
    monkeypatch.setenv("HF_HOME", str(state / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return state


@pytest.fixture(scope="session")
def tiny_marian(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight MarianMTModel with real sentencepiece files and opus-mt's vocab layout."""
    from tests.support.tiny import build_tiny_marian

    return build_tiny_marian(tmp_path_factory.mktemp("models") / "tiny-marian")


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight LlamaForCausalLM laid out like EuroLLM-1.7B-Instruct: an instruct model, ChatML template."""
    from tests.support.tiny_llm import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("models") / "tiny-llama", tokenizer="byte-bpe")


@pytest.fixture(scope="session")
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def run_cli(
    *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m pipeline`` in a fresh process: the test's environment, sockets blocked."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT / "tests" / "netguard"), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args], input=stdin, capture_output=True, env=full_env, timeout=300, cwd=ROOT
    )


@pytest.fixture
def cli() -> Iterator[Any]:
    yield run_cli


@pytest.fixture(scope="session")
def tiny_bart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random BART with a 128-position context, so long inputs need several chunks."""
    from tests.support.tiny import build_tiny_bart

    return build_tiny_bart(tmp_path_factory.mktemp("models") / "tiny-bart", max_positions=128, max_length=24)


@pytest.fixture(scope="session")
def tiny_pegasus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.tiny import build_tiny_pegasus

    # a large init keeps the random PEGASUS from giving one output for every input
    return build_tiny_pegasus(tmp_path_factory.mktemp("models") / "tiny-pegasus", max_length=24, init_std=1.0)


@pytest.fixture(scope="session")
def english_sentences() -> list[str]:
    """Plain English sentences (from the tiny models' training corpus)."""
    from tests.support.tiny import training_corpus

    return [s for s in training_corpus() if " the " in s and s.endswith(".")]


@pytest.fixture(scope="session")
def tiny_nllb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random M2M100 with a real NllbTokenizer and the hub's NLLB token layout."""
    from tests.support.tiny import build_tiny_nllb

    return build_tiny_nllb(tmp_path_factory.mktemp("models") / "tiny-nllb")


# --- loopback-only network, for tests of components that talk to themselves over sockets ---
# (Ray: the driver, its GCS and raylet talk over 127.0.0.1). Only this process is guarded:
# processes it starts (Ray's GCS, raylet and workers) are not, as with any subprocess.

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _loopback_only(real: Any) -> Any:
    def connect(self: socket.socket, address: Any, *args: Any) -> Any:
        host = address[0] if isinstance(address, tuple) and address else None
        if self.family == getattr(socket, "AF_UNIX", None) or host in LOOPBACK_HOSTS:
            return real(self, address, *args)
        raise NetworkBlocked(f"test tried to open a non-loopback connection to {address!r}")

    return connect


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """Allow connections to 127.0.0.1, localhost and ::1 only, for as long as the block runs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _loopback_only(_real_connect))
        patch.setattr(socket.socket, "connect_ex", _loopback_only(_real_connect_ex))
        yield


@pytest.fixture
def allow_loopback(socket_guard: None) -> Iterator[None]:
    """Opt in: this test may reach loopback addresses; every other address stays blocked."""
    with loopback_only():
        yield


RAY_CLI_ENV = {NETGUARD_ALLOW: "loopback", "RAY_USAGE_STATS_ENABLED": "0"}
"""For a CLI subprocess that starts a local Ray: loopback only (its own processes), no usage reports."""
