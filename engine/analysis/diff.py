"""What a rulebook change does, in one call: the structural diff and, on a portfolio, the impact.

    result = diff_rulebooks("manufacturing", "rulebooks/manufacturing-2027.yaml", input_path="portfolio.jsonl")
    result.changes, result.impact          # pingji.analysis.changes.Change, pingji.analysis.impact.Impact
    result.to_dict()                       # what `pingji diff --json` prints

The customers come from a batch input (`input_path`: CSV, JSONL or a folder of fact files, read as
`pingji batch` reads them) or from a store (`db`: the facts of each customer's latest evaluation by
a rulebook with OLD's id); they are re-rated only when OLD and NEW differ. Nothing is stored.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pingji.analysis.changes import Change, compare, grade_mapping, notes
from pingji.analysis.impact import Customer, Impact, customers_from_source, customers_from_store, simulate
from pingji.batch.sources import open_source
from pingji.diagnostics import Location
from pingji.errors import PingjiError
from pingji.lang.schemacheck import rulebook_kind
from pingji.rating import catalog
from pingji.rating.load import load_rulebook
from pingji.rating.model import Rulebook
from pingji.store.database import Store

__all__ = [
    "NotARatingRulebook",
    "NothingToRerate",
    "Portfolio",
    "RulebookDiff",
    "diff_rulebooks",
    "load_rating_rulebook",
    "portfolio_from_input",
    "portfolio_from_store",
]


class NotARatingRulebook(PingjiError):
    """OLD or NEW is a decision rulebook: only rating rulebooks (scorecards) are compared."""

    code = "E722"


class NothingToRerate(PingjiError):
    """The input has no customers, or no customer in the store was rated by a rulebook with OLD's id."""

    code = "E721"


def load_rating_rulebook(name: str) -> Rulebook:
    """The rating rulebook `name` (an id or a file), resolved; NotARatingRulebook for a decision rulebook."""
    path = catalog.find(name)
    kind = rulebook_kind(path)
    if kind not in (None, "rating"):
        raise NotARatingRulebook(
            f"'{name}' is a {kind} rulebook; pingji diff compares rating rulebooks (scorecards)", Location(str(path))
        )
    return load_rulebook(path)


@dataclass(frozen=True)
class Portfolio:
    """The customers to re-rate, how many, and how the impact names where they came from."""

    customers: Iterable[Customer]
    count: int
    source: str


def portfolio_from_input(path: str | os.PathLike[str]) -> Portfolio:
    """The customers of a CSV file, a JSONL file or a folder of fact files; NothingToRerate when empty."""
    source = open_source(path)
    n = source.count()
    if n == 0:
        raise NothingToRerate("no customers in the input: nothing to re-rate", Location(source.display))
    return Portfolio(customers_from_source(source), n, f"{source.display} ({source.kind})")


def portfolio_from_store(store: Store, old: Rulebook) -> Portfolio:
    """The facts of each customer's latest evaluation in `store` by a rulebook with OLD's id."""
    rows = store.latest_facts(old.id)
    if not rows:
        raise NothingToRerate(
            f"no customer in the store was rated by a rulebook '{old.id}': nothing to re-rate "
            f"(rate them first, or give --input FILE)",
            Location(store.path),
        )
    return Portfolio(list(customers_from_store(rows, store.path)), len(rows),
                     f"{store.path} (latest evaluation by '{old.id}' of each customer)")


@dataclass(frozen=True)
class RulebookDiff:
    """The changes between OLD and NEW, remarks on comparing them, and the impact on a portfolio
    (None when no portfolio was given or nothing changed); `to_dict()` is the JSON form."""

    old: Rulebook
    new: Rulebook
    changes: list[Change]
    notes: list[str]
    impact: Impact | None
    portfolio_given: bool = False  # customers were asked for (re-rated only when something changed)

    def to_dict(self) -> dict[str, Any]:
        def side(rb: Rulebook) -> dict[str, Any]:
            return {"id": rb.id, "version": rb.version, "file": rb.file, "hash": rb.content_hash,
                    "grades": rb.scale.names() if rb.scale else []}

        return {"old": side(self.old), "new": side(self.new), "changes": [c.to_dict() for c in self.changes],
                "notes": self.notes, "impact": self.impact.to_dict() if self.impact is not None else None}


def diff_rulebooks(
    old: str | Rulebook,
    new: str | Rulebook,
    *,
    input_path: str | os.PathLike[str] | None = None,
    db: str | os.PathLike[str] | Store | None = None,
    top: int = 10,
    on_start: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> RulebookDiff:
    """Compare OLD and NEW (rating rulebooks, by id, file or loaded) and, given `input_path` or `db` (a
    store's path, opened read-only, or an open Store), re-rate its customers with both; nothing is
    stored. `top` customers are listed by score change; `on_start(n)` is called before the n
    customers are re-rated and `progress(1)` after each."""
    if input_path is not None and db is not None:
        raise ValueError("diff_rulebooks: give input_path or db, not both: the customers come from one of them")
    old_rb = old if isinstance(old, Rulebook) else load_rating_rulebook(old)
    new_rb = new if isinstance(new, Rulebook) else load_rating_rulebook(new)
    changes = compare(old_rb, new_rb)
    mapping = grade_mapping(old_rb, new_rb)
    remarks = notes(old_rb, new_rb, mapping) if changes else []
    given = input_path is not None or db is not None
    impact = None
    if changes and given:
        with contextlib.ExitStack() as stack:
            if input_path is not None:
                portfolio = portfolio_from_input(input_path)
            else:
                assert db is not None
                store = db if isinstance(db, Store) else stack.enter_context(Store.open(db, create=False))
                portfolio = portfolio_from_store(store, old_rb)
            if on_start is not None:
                on_start(portfolio.count)
            impact = simulate(old_rb, new_rb, portfolio.customers, mapping, source=portfolio.source, top=top,
                              progress=progress)
    return RulebookDiff(old_rb, new_rb, changes, remarks, impact, given)
