"""Early warnings between two snapshots of a customer, and the re-ratings due.

`snapshot(facts)` takes the figures a monitoring rulebook compares from a customer facts document
of any type (corporate, small business, individual); a figure the document does not have stays
absent (missing), never 0. `subject(...)` puts two snapshots and the stored rating together as
facts/monitoring.schema.json describes; `decide` runs the monitoring rulebook on it. The changes
(revenue, leverage, collateral) are the rulebook's metrics, the signals its rules.

Mapping (documented here because it is a choice): revenue is `financials.current.revenue`
(corporate), `business.annual_revenue` (small business) or 12 × `income.monthly_income`
(individual); operating cash flow and its prior period, total assets and liabilities and the
statement date are corporate figures; days past due, lawsuits and the external downgrade come
from `credit`; collateral value is the exact sum of `collateral[].value` (absent without any).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .decision import Decision, DecisionBook, decide
from .diagnostics import Location, error
from .errors import FactsError
from .facts import dig

SEVERITY = "severity"


def snapshot(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The figures a monitoring rulebook compares, from one facts document (absent stays absent)."""
    snap: dict[str, Any] = {}

    def put(key: str, value: Any) -> None:
        if value is not None:
            snap[key] = value

    put("as_of", facts.get("as_of"))
    revenue = dig(facts, "financials.current.revenue")
    if revenue is None:
        revenue = dig(facts, "business.annual_revenue")
    if revenue is None and dig(facts, "income.monthly_income") is not None:
        revenue = float(Decimal(repr(dig(facts, "income.monthly_income"))) * 12)
    put("revenue", revenue)
    put("operating_cash_flow", dig(facts, "financials.current.operating_cash_flow"))
    put("operating_cash_flow_prior", dig(facts, "financials.previous.operating_cash_flow"))
    put("total_assets", dig(facts, "financials.current.total_assets"))
    put("total_liabilities", dig(facts, "financials.current.total_liabilities"))
    put("statement_date", dig(facts, "financials.current.statement_date"))
    put("days_past_due", dig(facts, "credit.days_past_due"))
    put("lawsuits", dig(facts, "credit.lawsuits"))
    put("external_downgrade", dig(facts, "credit.external_rating_downgrade"))
    values = [c.get("value") for c in facts.get("collateral") or [] if isinstance(c, Mapping)]
    if values and all(isinstance(v, (int, float)) for v in values):
        put("collateral_value", float(sum((Decimal(repr(v)) for v in values), Decimal(0))))
    return snap


def subject(customer_id: str, as_of: str, previous: Mapping[str, Any], current: Mapping[str, Any],
            rating: Mapping[str, Any] | None, customer_type: str | None = None) -> dict[str, Any]:
    facts: dict[str, Any] = {"id": customer_id, "as_of": as_of, "previous": snapshot(previous),
                             "current": snapshot(current)}
    if customer_type:
        facts["customer_type"] = customer_type
    if rating:
        facts["rating"] = {k: v for k, v in rating.items() if v is not None}
    return facts


def rating_of(row: Mapping[str, Any], coarse: str | None) -> dict[str, Any]:
    """The `rating` part of a subject from a `Store.latest_ratings()` row."""
    return {"grade": row["effective_grade"], "coarse_grade": coarse, "evaluation_id": row["evaluation_id"],
            "evaluated_at": str(row["evaluated_at"])[:10]}


@dataclass
class Watch:
    customer_id: str
    decision: Decision
    rating: Mapping[str, Any] | None

    @property
    def severity(self) -> str:
        return str(self.decision.value(SEVERITY))

    @property
    def rank(self) -> int:
        return self.decision.rulebook.output(SEVERITY).rank(self.severity)

    def signals(self) -> list[dict[str, Any]]:
        """Each signal rule that fired: rule, at, title, reason."""
        return [{"rule": f["rule"], "at": f["at"], "title": f["title"]["en"], "title_zh": f["title"]["zh"],
                 "reason": f["reason"]} for f in self.decision.fired if "signals" in f["concluded"]]

    def next_rating(self) -> str | None:
        """The date the next re-rating is due: the last rating + the rulebook's frequency for the grade."""
        every = self.decision.value("rerate_every")
        if every is None or not self.rating or not self.rating.get("evaluated_at"):
            return None
        last = _dt.date.fromisoformat(str(self.rating["evaluated_at"])[:10])
        return add_months(last, int(every)).isoformat()

    def due(self) -> str | None:
        """'now' on an immediate re-rating, the due date when one is due, else None."""
        value = self.decision.value("rerate")
        if value == "immediate":
            return "now"
        return self.next_rating() if value == "due" else None


def add_months(d: _dt.date, months: int) -> _dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return _dt.date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def check_order(previous: Mapping[str, Any], current: Mapping[str, Any], locate: Any, label: str) -> None:
    """Refuse a current snapshot dated before the previous one (E521, at the current file's as_of)."""
    a, b = previous.get("as_of"), current.get("as_of")
    if isinstance(b, str) and b > _dt.date.today().isoformat():
        raise FactsError([error("E521", f"as_of {b} is in the future", locate(("as_of",)) if locate else Location(label))])
    if isinstance(a, str) and isinstance(b, str) and b < a:
        raise FactsError([error("E521", f"as_of {b} is before the previous snapshot's as_of {a}",
                                locate(("as_of",)) if locate else Location(label))])


def watch(book: DecisionBook, customer_id: str, as_of: str, previous: Mapping[str, Any], current: Mapping[str, Any],
          rating: Mapping[str, Any] | None, customer_type: str | None = None) -> Watch:
    facts = subject(customer_id, as_of, previous, current, rating, customer_type)
    return Watch(customer_id, decide(book, facts, label=customer_id), rating)


def watch_list(results: Sequence[Watch]) -> list[Watch]:
    """Customers with at least one signal, most severe first, then by customer id."""
    return sorted((w for w in results if w.signals()), key=lambda w: (-w.rank, w.customer_id))
