"""Monitoring against the store: each new snapshot compared with the facts of the customer's latest
stored evaluation, judged with its stored rating, and the problem customers' rating histories.

The comparison itself (`pingji.decisions.monitoring.compare_snapshots`) runs the monitoring
rulebook; this module only reads what it needs from the store.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any

from pingji.decisions.classification import coarse_grades
from pingji.decisions.model import DecisionBook
from pingji.decisions.monitoring import Monitoring, compare_snapshots
from pingji.decisions.snapshots import CustomerSchemas
from pingji.lang.facts import FactsFile
from pingji.rating.catalog import Folders
from pingji.store.database import Store

__all__ = ["compare", "snapshot_schemas"]


def snapshot_schemas(store: Store | None, rulebooks: Folders = ()) -> CustomerSchemas:
    """Where new snapshots find their facts schema: the rulebook that rated each customer in `store`
    (read once, when a snapshot first asks), else the catalog with the user's `rulebooks` folders."""
    if store is None:
        return CustomerSchemas(rulebooks)
    rated: dict[tuple[str, str], str] | None = None

    def stored(customer_id: str, customer_type: str) -> str | None:
        nonlocal rated
        if rated is None:
            rated = store.rated_by()
        return rated.get((customer_id, customer_type))

    return CustomerSchemas(rulebooks, stored)


def compare(book: DecisionBook, snapshots: Sequence[FactsFile], *, previous: FactsFile | None = None,
            as_of: str | None = None, store: Store | None = None, today: _dt.date | None = None) -> Monitoring:
    """Each new snapshot against the customer's previous one: `previous` when given (one customer),
    else the facts of its latest evaluation in `store`. A customer with neither is listed in
    `unrated`. Ratings and the problem customers' histories come from the store."""
    latest = {r["customer_id"]: r for r in store.latest_ratings()} if store else {}
    coarse = coarse_grades(list(latest.values()), store.scales() if store else None) if latest else {}

    def stored_facts(row: Mapping[str, Any]) -> Mapping[str, Any]:
        assert store is not None
        return store.record(row["evaluation_id"])["facts"]

    run = compare_snapshots(book, snapshots, previous=previous, as_of=as_of, ratings=latest, coarse=coarse,
                            stored_facts=stored_facts, today=today)
    if store is not None:
        for w in run.problems():
            if w.customer_id in latest:
                run.histories[w.customer_id] = store.history(w.customer_id)
    return run
