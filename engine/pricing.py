"""What a grade means downstream: the offer (rate, limit, approval, re-rating) for a rated customer.

`offer_facts(record)` builds the subject of a policy rulebook (facts/offer.schema.json) from a
stored evaluation: the EFFECTIVE grade (the last expert override's, else the rulebook's), its
coarse grade through the rating rulebook's scale, and the figures a limit needs from the facts
(corporate `financials.current`, small-business `business`, individual `income`/`debts`). The
spread, limit, approval and re-rating frequency are decided by the policy rulebook's rules.

Coarse grade: the evaluation's own when the grade is not overridden; an overridden grade through
the scale of the rating rulebook named in the record. Only when that rulebook is no longer
installed (no scale to map with) does a fixed table stand in, the built-in master scale's
(rulebooks/manufacturing.yaml): A/B/C as themselves, M1–M4 → A, M5–M7 → B, M8–M10 and D → C.

Arithmetic: annual rate = reference rate + spread / 10,000, exact, rounded half-up to 4 decimal
places of a fraction (0.0340 = 3.40%); the limit is rounded half-up to the unit by the rulebook
(`precision: 0`). Eligible collateral = Σ value × (1 − haircut), exact decimals. `secured_by` is the
collateral type with the largest eligible value; without collateral, `guarantee` when the facts
list a guarantee, else `none`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .assets import coarse_grades, money
from .decision import Decision, DecisionBook, decide
from .facts import dig
from .monitoring import due_date

REFERENCE = "reference_rate"
# Stand-in when the rating rulebook of a record is not installed: the built-in master scale.
MASTER_COARSE = {**{f"M{i}": "A" for i in range(1, 5)}, **{f"M{i}": "B" for i in range(5, 8)},
                 **{f"M{i}": "C" for i in range(8, 11)}, "D": "C", "A": "A", "B": "B", "C": "C"}


def fallback_coarse(grade: str) -> str | None:
    """The coarse grade of a grade on the built-in master scale (M1–M4 A, M5–M7 B, M8–M10/D C)."""
    return MASTER_COARSE.get(grade)


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
    coarse = coarse_grades([row]).get(row["customer_id"]) or fallback_coarse(str(record["effective_grade"]))
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
    guaranteed = any(isinstance(g, Mapping) for g in facts.get("guarantees") or [])
    out["secured_by"] = best[1] if best else ("guarantee" if guaranteed else "none")
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
        return (self.reference_rate() + money(spread) / 10000).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)

    def next_rating(self) -> str | None:
        months = self.decision.value("review_months")
        when = self.facts.get("evaluated_at")
        if months is None or not when:
            return None
        # the day the monitoring rulebook's re-rating rule starts to fire (Aug 31 + 6 months: Mar 1)
        return due_date(_dt.date.fromisoformat(when), int(months)).isoformat()

    def to_dict(self) -> dict[str, Any]:
        rate = self.rate()
        return {"customer": self.facts["id"], "grade": self.facts["grade"],
                "coarse_grade": self.facts.get("coarse_grade"), "overridden": self.facts.get("overridden", False),
                "reference_rate": str(self.reference_rate()), "rate": None if rate is None else str(rate),
                "next_rating": self.next_rating(), "facts": self.facts, "decision": self.decision.to_dict()}


def price(book: DecisionBook, facts: Mapping[str, Any]) -> Offer:
    return Offer(dict(facts), decide(book, facts, label=str(facts.get("id", "offer"))))
