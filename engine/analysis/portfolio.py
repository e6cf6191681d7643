"""The portfolio at a date: ratings from the store, asset quality and provisions, signals and re-ratings.

`build_portfolio(store, loans=..., snapshots=...)` drives four built-in rulebooks and returns what
the portfolio report (`pingji.report.portfolio`) shows:

- ratings: each customer's latest evaluation in the store (expert overrides applied), with its
  coarse grade (`coarse`);
- categories and reserves: the classification (`five-category`) and provisioning (`provisions`,
  `provision-adequacy`) rulebooks run on the LOANS file;
- signals: the monitoring rulebook (`early-warning`) on the new snapshots, each against the
  customer's stored facts;
- re-ratings due: the same rulebook's frequency by grade, for every other rated customer.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pingji.analysis.monitoring import compare, snapshot_schemas
from pingji.decisions.classification import Classification, classify_portfolio, coarse_grades, read_loans
from pingji.decisions.currency import read_fx
from pingji.decisions.load import load_decision
from pingji.decisions.monitoring import rating_of, watch, watch_list
from pingji.decisions.provisions import Provisions, provide
from pingji.decisions.snapshots import read_snapshots
from pingji.diagnostics import Location, error
from pingji.errors import FactsError
from pingji.rating import catalog
from pingji.rating.catalog import Folders
from pingji.store.database import Store

__all__ = ["Portfolio", "build_portfolio"]


@dataclass
class Portfolio:
    """What the portfolio report shows; any part may be absent (its section then says so)."""

    as_of: str
    sources: list[str] = field(default_factory=list)
    ratings: Sequence[Mapping[str, Any]] | None = None  # Store.latest_ratings(), with "coarse" added
    classification: Classification | None = None
    provisions: Provisions | None = None
    watch: Sequence[Mapping[str, Any]] | None = None  # customer_id, severity, action, signals [{rule, at, title}]
    rerate: Sequence[Mapping[str, Any]] | None = None  # customer_id, grade, due, why

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of, "sources": self.sources, "ratings": self.ratings,
                "classification": self.classification.to_dict() if self.classification else None,
                "provisions": self.provisions.to_dict() if self.provisions else None, "watch_list": self.watch,
                "rerate_due": self.rerate}


def build_portfolio(store: Store | None, *, loans: str | None = None, snapshots: Sequence[str] = (),
                    as_of: str | None = None, today: _dt.date | None = None, fx: str | None = None,
                    rulebooks: Folders = ()) -> Portfolio:
    """The portfolio from the store (if any), a LOANS file (if any) and new snapshots of customers.

    The date is `as_of`, else the LOANS file's as_of, else `today` (default: today). `fx`: an FX
    table converting loans in more than one currency into its reporting currency (docs/currencies.md).
    Customers of any type, own types included: a snapshot is checked against the facts schema of the
    rulebook that rated the customer, else of the one the catalog (with the user's `rulebooks`
    folders) chooses.
    """
    book = load_decision(catalog.find("early-warning", user=rulebooks), kind="monitoring")
    sources = [f"store {store.path}"] if store else []
    ratings = store.latest_ratings() if store else []
    coarse = coarse_grades(ratings, store.scales() if store else None)
    for r in ratings:
        r["coarse"] = coarse.get(r["customer_id"])
    cl = pv = None
    if loans:
        classify_book = load_decision(catalog.find("five-category", user=rulebooks), kind="classification")
        books = (load_decision(catalog.find("provisions", user=rulebooks), kind="provisioning"),
                 load_decision(catalog.find("provision-adequacy", user=rulebooks), kind="provisioning"))
        lf = read_loans(loans)
        table = read_fx(fx) if fx else None
        cl = classify_portfolio(classify_book, lf, coarse, fx=table)
        pv = provide(cl, *books)
        sources.append(f"loans {lf.file}")
        if table:
            sources.append(f"FX table {table.file}")
    when = as_of or (cl.as_of if cl else None) or (today or _dt.date.today()).isoformat()
    docs = read_snapshots(snapshots, snapshot_schemas(store, rulebooks))
    if snapshots and not docs:  # issue 12.24: asked for snapshots and found none is not a portfolio without them
        raise FactsError([error("E524", f"no snapshots in {', '.join(str(s) for s in snapshots)}: nothing to compare",
                                Location(str(snapshots[0])))])
    results = compare(book, docs, store=store).results if docs else []
    if docs:
        sources.append(f"{len(docs)} snapshot{'s' if len(docs) != 1 else ''}")
    compared = {w.customer_id for w in results}
    for r in ratings:  # re-ratings due by grade frequency for everyone else
        if r["customer_id"] not in compared:
            results.append(watch(book, r["customer_id"], when, {}, {}, rating_of(r, r["coarse"]),
                                 r["customer_type"], r.get("industry")))
    watch_rows = [{"customer_id": w.customer_id, "severity": w.severity, "action": w.decision.value("action"),
                   "signals": w.signals()} for w in watch_list(results)]
    rerate_rows = []
    for w in sorted(results, key=lambda w: w.customer_id):
        due = w.due()
        if due:
            out = w.decision.outputs["rerate"]
            rerate_rows.append({"customer_id": w.customer_id, "grade": (w.rating or {}).get("grade", ""), "due": due,
                                "why": "; ".join(f"{r} ({at})" for r, at in zip(out.rules, out.at))})
    return Portfolio(when, sources, ratings if store else None, cl, pv, watch_rows, rerate_rows)
