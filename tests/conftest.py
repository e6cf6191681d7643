"""Shared pytest set-up: the `slow` marker, and a fixture isolating the engine's compile caches.

`pytest -m "not slow"` skips the slow tests (subprocesses, worker pools, a wheel build).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import pingji.decisions.compile
import pingji.rating.run
import pingji.runtime.ruleset


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: starts processes or builds a wheel (seconds to a minute each)")


@pytest.fixture
def fresh_engine_caches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Give a test its own compiled-rulebook caches, and leave the process's caches as they were.

    The engine caches compiled rulebooks by content hash, and a compiled rulebook keeps the file
    names (relative to the working directory) of the load that compiled it. Tests that load a
    rulebook from another working directory would otherwise change the `at` of later tests' traces.
    """
    monkeypatch.setattr(pingji.rating.run, "_compiled", {})
    monkeypatch.setattr(pingji.decisions.compile, "_compiled", {})
    monkeypatch.setattr(pingji.runtime.ruleset, "_cache", {})
    yield


@pytest.fixture(scope="session", autouse=True)
def no_store_in_the_working_directory() -> Iterator[None]:
    """Issue 12.14: tests use temporary stores; none may leave a pingji.db in the repository."""
    here = [Path.cwd() / "pingji.db", Path(__file__).resolve().parent.parent / "pingji.db"]
    before = {p for p in here if p.exists()}
    yield
    made = [str(p) for p in here if p.exists() and p not in before]
    assert not made, f"a test wrote {made}: use a temporary store (--db in tmp_path)"
