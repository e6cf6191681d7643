"""Every built-in rulebook checks clean, and every one of its examples gives the expected result.

Rating rulebooks and decision rulebooks (classification, provisioning, policy, monitoring) alike.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import pingji
from pingji.checking import rulebook_kind
from pingji.decisions.examples import run_decision_examples
from pingji.decisions.model import DECISION_KINDS
from pingji.rating.examples import run_examples
from pingji.rating.model import Example

ROOT = Path(__file__).resolve().parent.parent
BOOKS = sorted((ROOT / "rulebooks").glob("*.yaml"))
RATING = [p for p in BOOKS if rulebook_kind(p) == "rating"]
DECISION = [p for p in BOOKS if rulebook_kind(p) in DECISION_KINDS]


def test_every_builtin_rulebook_has_a_known_kind() -> None:
    assert sorted(RATING + DECISION) == BOOKS
    assert {rulebook_kind(p) for p in DECISION} >= {"classification", "provisioning"}


def _examples() -> list[object]:
    out = []
    for path in RATING:
        rb = pingji.load_rulebook(path)
        for ex in rb.examples:
            out.append(pytest.param(path, ex.name, id=f"{path.stem}: {ex.name}"))
    return out


@pytest.fixture(autouse=True)
def _at_the_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("path", BOOKS, ids=lambda p: p.stem)
def test_rulebook_checks_without_errors_or_warnings(path: Path) -> None:
    assert [str(d) for d in pingji.check(path, run_examples=False)] == []


@pytest.mark.parametrize(("path", "name"), _examples())
def test_example(path: Path, name: str) -> None:
    rb = pingji.load_rulebook(path)
    ex: Example = next(e for e in rb.examples if e.name == name)
    one = rb.__class__(**{**rb.__dict__, "examples": (ex,)})
    assert [str(d) for d in run_examples(one)] == []
    assert ex.expect.get("grade"), "every built-in example states the grade it expects"


def _decision_examples() -> list[object]:
    out = []
    for path in DECISION:
        book = pingji.load_decision(path)
        assert book.examples, f"{path.name}: a built-in decision rulebook carries examples"
        for ex in book.examples:
            out.append(pytest.param(path, ex.name, id=f"{path.stem}: {ex.name}"))
    return out


@pytest.mark.parametrize(("path", "name"), _decision_examples())
def test_decision_example(path: Path, name: str) -> None:
    book = pingji.load_decision(path)
    ex = next(e for e in book.examples if e.name == name)
    one = book.__class__(**{**book.__dict__, "examples": (ex,)})
    assert [str(d) for d in run_decision_examples(one)] == []
