"""What a grade means downstream: the offer (rate, limit, approval, re-rating) for a rated customer.

`offer_facts(record)` builds the subject of a policy rulebook (facts/offer.schema.json) from a
stored evaluation: the EFFECTIVE grade (the last expert override's, else the rulebook's), its
coarse grade through the rating rulebook's scale, and the figures a limit needs from the facts
(corporate `financials.current`, small-business `business`, individual `income`/`debts`). The
spread, limit, approval and re-rating frequency are decided by the policy rulebook's rules.

Arithmetic: annual rate = reference rate + spread / 10,000, exact, shown to 4 decimal places of a
fraction (0.0340 = 3.40%); the limit is rounded half-up to the unit by the rulebook (`precision: 0`).
Eligible collateral = Σ value × (1 − haircut), exact decimals.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .assets import coarse_grades, money
from .decision import Decision, DecisionBook, decide
from .facts import dig
from .monitoring import add_months

REFERENCE = "reference_rate"


def _first(facts: Mapping[str, Any], *paths: str) -> Any:
    for p in paths:
        v = dig(facts, p)
        if v is not None:
            return v
    return None


def offer_facts(record: Mapping[str, Any]) -> dict[str, Any]:
    """The policy subject of a stored evaluation (`Store.record`)."""
    facts: Mapping[str, Any] = record.get("facts") or {}
    overrides = record.get("expert_overrides") or []
    rb = record.get("rulebook") or {}
    row = {"customer_id": str(facts.get("id", "")), "rulebook_id": rb.get("id"),
           "effective_grade": record["effective_grade"], "overridden": bool(overrides),
           "coarse_grade": record.get("coarse_grade") or record["final_grade"]}
    coarse = coarse_grades([row]).get(row["customer_id"])
    out: dict[str, Any] = {"id": row["customer_id"], "grade": record["effective_grade"], "overridden": bool(overrides)}
    if coarse:
        out["coarse_grade"] = coarse

    def put(key: str, value: Any) -> None:
        if value is not None:
            out[key] = value

    put("customer_type", facts.get("customer_type"))
    industry = dig(facts, "identity.industry") or {}
    if isinstance(industry, Mapping) and industry.get("section"):
        put("industry", f"{industry.get('section')}{industry.get('division') or ''}")
    if not overrides:
        put("pd", record.get("pd"))
    put("evaluated_at", str(record.get("evaluated_at") or "")[:10] or None)
    revenue = _first(facts, "financials.current.revenue", "business.annual_revenue")
    if revenue is None and dig(facts, "income.monthly_income") is not None:
        revenue = float(money(dig(facts, "income.monthly_income")) * 12)
    put("revenue", revenue)
    put("ebitda", _first(facts, "financials.current.ebitda", "business.annual_net_profit"))
    put("total_debt", _first(facts, "financials.current.total_debt", "business.debt", "debts.total_debt"))
    best: tuple[Decimal, str] | None = None
    total = Decimal(0)
    items = [c for c in facts.get("collateral") or [] if isinstance(c, Mapping) and c.get("value") is not None]
    for c in items:
        eligible = money(c["value"]) * (1 - money(c.get("haircut") or 0))
        total += eligible
        if best is None or eligible > best[0]:
            best = (eligible, str(c.get("type") or "other"))
    out["collateral_value"] = float(total)
    out["secured_by"] = best[1] if best else "none"
    put("request_amount", facts.get("exposure"))
    return out


@dataclass
class Offer:
    facts: dict[str, Any]
    decision: Decision

    @property
    def book(self) -> DecisionBook:
        return self.decision.rulebook

    def reference_rate(self) -> Decimal:
        return next(money(p.value) for p in self.book.parameters if p.id == REFERENCE)

    def rate(self) -> Decimal | None:
        spread = self.decision.value("spread_bp")
        if spread is None:
            return None
        return (self.reference_rate() + money(spread) / 10000).quantize(Decimal("0.0001"))

    def next_rating(self) -> str | None:
        months = self.decision.value("review_months")
        when = self.facts.get("evaluated_at")
        if months is None or not when:
            return None
        return add_months(_dt.date.fromisoformat(when), int(months)).isoformat()

    def to_dict(self) -> dict[str, Any]:
        rate = self.rate()
        return {"customer": self.facts["id"], "grade": self.facts["grade"],
                "coarse_grade": self.facts.get("coarse_grade"), "overridden": self.facts.get("overridden", False),
                "reference_rate": str(self.reference_rate()), "rate": None if rate is None else str(rate),
                "next_rating": self.next_rating(), "facts": self.facts, "decision": self.decision.to_dict()}


def price(book: DecisionBook, facts: Mapping[str, Any]) -> Offer:
    return Offer(dict(facts), decide(book, facts, label=str(facts.get("id", "offer"))))
