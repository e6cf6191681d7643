"""Every built-in rulebook checks clean, and every one of its examples gives the expected result."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine
from engine.examples import run_examples
from engine.model import Example

ROOT = Path(__file__).resolve().parent.parent
BOOKS = sorted((ROOT / "rulebooks").glob("*.yaml"))


def _examples() -> list[object]:
    out = []
    for path in BOOKS:
        rb = engine.load_rulebook(path)
        for ex in rb.examples:
            out.append(pytest.param(path, ex.name, id=f"{path.stem}: {ex.name}"))
    return out


@pytest.fixture(autouse=True)
def _at_the_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("path", BOOKS, ids=lambda p: p.stem)
def test_rulebook_checks_without_errors_or_warnings(path: Path) -> None:
    assert [str(d) for d in engine.check(path, run_examples=False)] == []


@pytest.mark.parametrize(("path", "name"), _examples())
def test_example(path: Path, name: str) -> None:
    rb = engine.load_rulebook(path)
    ex: Example = next(e for e in rb.examples if e.name == name)
    one = rb.__class__(**{**rb.__dict__, "examples": (ex,)})
    assert [str(d) for d in run_examples(one)] == []
    assert ex.expect.get("grade"), "every built-in example states the grade it expects"
