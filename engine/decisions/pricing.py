"""What a grade means downstream: the offer (rate, limit, approval, re-rating) for a rated customer.

`offer_facts(record)` builds the subject of a policy rulebook (facts/offer.schema.json) from a
stored evaluation (`Store.record`): the EFFECTIVE grade (the last expert override's, else the
rulebook's), its coarse grade through the rating rulebook's scale, and the figures a limit needs
from the facts (corporate `financials.current`, small-business `business`, individual
`income`/`debts`). `offer_facts_from_evaluation(evaluation, facts)` does the same for an
evaluation that is not stored. The spread, limit, decision, approval and re-rating frequency are
decided by the policy rulebook's rules (rulebooks/pricing.yaml); nothing here is policy.

Units: every amount of the subject is in CNY thousands (千元). Corporate facts are; individual and
small-business facts (CNY 元) are divided by 1,000, exactly (Decimal), so one approval ladder
fits every customer type. Facts of another customer type are taken in their own units.

Coarse grade: the evaluation's own when the grade is not overridden; an overridden grade through
the scale of the rating rulebook named in the record. Only when that rulebook is no longer
installed (no scale to map with) does a fixed table stand in, the built-in master scale's
(rulebooks/manufacturing.yaml): A/B/C as themselves, M1–M4 → A, M5–M7 → B, M8–M10 and D → C.

Arithmetic: annual rate = reference rate + spread / 10,000, exact, rounded half-up to 4 decimal
places of a fraction (0.0340 = 3.40%); the limit is rounded half-up to the whole thousand by the
rulebook (`precision: 0`). Eligible collateral = Σ value × (1 − haircut), exact decimals.
`secured_by` is the collateral type with the largest eligible value (the first listed on a tie);
without collateral, `guarantee` when the facts list a guarantee, else `none`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pingji.decisions.classification import coarse_grades
from pingji.decisions.model import DecisionBook
from pingji.decisions.monitoring import due_date
from pingji.decisions.run import Decision, decide
from pingji.lang.facts import dig
from pingji.numbers import money, round_half_up

__all__ = ["Offer", "fallback_coarse", "offer_facts", "offer_facts_from_evaluation", "price"]

REFERENCE = "reference_rate"
SPREAD, LIMIT, REVIEW = "spread_bp", "limit", "review_months"
UNIT = "CNY thousands"
# CNY per unit of the customer type's facts, over CNY thousands: how the subject's amounts are made.
PER_THOUSAND = {"corporate": Decimal(1), "individual": Decimal(1000), "small_business": Decimal(1000)}
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


def _number(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


def offer_facts(record: Mapping[str, Any],
                scales: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> dict[str, Any]:
    """The policy subject of a stored evaluation (`Store.record`), on its effective grade; `scales`
    (`Store.scales()`) maps an expert's grade to its coarse grade by the stored rulebook version."""
    facts: Mapping[str, Any] = record.get("facts") or {}
    overrides = record.get("expert_overrides") or []
    rb = record.get("rulebook") or {}
    row = {"customer_id": str(facts.get("id", "")), "rulebook_id": rb.get("id"), "rulebook_hash": rb.get("hash"),
           "effective_grade": record["effective_grade"], "overridden": bool(overrides),
           "coarse_grade": record.get("coarse_grade") or record["final_grade"]}
    coarse = coarse_grades([row], scales).get(row["customer_id"]) or fallback_coarse(str(record["effective_grade"]))
    out: dict[str, Any] = {"id": row["customer_id"], "grade": record["effective_grade"], "overridden": bool(overrides)}
    if coarse:
        out["coarse_grade"] = coarse

    def put(key: str, value: Any) -> None:
        if value is not None:
            out[key] = value

    per = PER_THOUSAND.get(str(facts.get("customer_type")), Decimal(1))

    def amount(value: Any) -> Any:
        return value if value is None or per == 1 else _number(money(value) / per)

    put("customer_type", facts.get("customer_type"))
    industry = dig(facts, "identity.industry") or {}
    if isinstance(industry, Mapping) and industry.get("section"):
        put("industry", f"{industry.get('section')}{industry.get('division') or ''}")
        put("industry_section", str(industry["section"]))
    put("rulebook", rb.get("id"))
    if not overrides:
        put("pd", record.get("pd"))
    put("total", record.get("total"))
    put("evaluated_at", str(record.get("rated_on") or record.get("evaluated_at") or "")[:10] or None)  # rating date
    put("as_of", str(facts.get("as_of") or "")[:10] or None)
    revenue = _first(facts, "financials.current.revenue", "business.annual_revenue")
    if revenue is None and dig(facts, "income.monthly_income") is not None:
        revenue = _number(money(dig(facts, "income.monthly_income")) * 12)
    put("revenue", amount(revenue))
    put("ebitda", amount(_first(facts, "financials.current.ebitda", "business.annual_net_profit")))
    put("total_debt", amount(_first(facts, "financials.current.total_debt", "business.debt", "debts.total_debt")))
    best: tuple[Decimal, str] | None = None
    total = Decimal(0)
    items = []
    for c in facts.get("collateral") or []:
        if not isinstance(c, Mapping) or c.get("value") is None:
            continue
        kind = str(c.get("type") or "other")
        item: dict[str, Any] = {"type": kind, "value": amount(c["value"])}
        if c.get("haircut") is not None:
            item["haircut"] = c["haircut"]
        items.append(item)
        eligible = money(c["value"]) * (1 - money(c.get("haircut") or 0)) / per
        total += eligible
        if best is None or eligible > best[0]:
            best = (eligible, kind)
    out["collateral"] = items
    out["collateral_value"] = _number(total)
    guaranteed = any(isinstance(g, Mapping) for g in facts.get("guarantees") or [])
    out["secured_by"] = best[1] if best else ("guarantee" if guaranteed else "none")
    put("request_amount", amount(facts.get("exposure")))
    return out


def offer_facts_from_evaluation(evaluation: Any, facts: Mapping[str, Any], *,
                                evaluated_at: str | None = None) -> dict[str, Any]:
    """The policy subject of an `Evaluation` that is not stored, with the facts it rated.

    There are no expert overrides: the grade is the evaluation's final grade. `evaluated_at`
    (an ISO date) dates the next re-rating; without it, the facts' `as_of`.
    """
    record = {"facts": facts, "expert_overrides": [], "rulebook": {"id": evaluation.rulebook.id},
              "effective_grade": evaluation.final_grade, "final_grade": evaluation.final_grade,
              "coarse_grade": evaluation.coarse_grade, "pd": evaluation.pd, "total": evaluation.total,
              "evaluated_at": evaluated_at or facts.get("as_of")}
    return offer_facts(record)


@dataclass
class Offer:
    """A policy decision for one rated customer, with the rate worked out from its spread."""

    facts: dict[str, Any]
    decision: Decision

    @property
    def book(self) -> DecisionBook:
        return self.decision.rulebook

    def value(self, oid: str) -> Any:
        """An output's decided value; None when the rulebook has no such output (or it is undefined)."""
        out = self.decision.outputs.get(oid)
        return None if out is None else out.value

    @property
    def declined(self) -> bool:
        """The policy's decision is its worst level (`decline` in the built-in pricing rulebook): an
        offer that is declined carries no terms, whatever spread and limit rules also fired."""
        out = self.decision.outputs.get("decision")
        levels = self.book.output("decision").levels if out is not None else ()
        return out is not None and bool(levels) and out.value == levels[-1]

    def reference_rate(self) -> Decimal | None:
        return next((money(p.value) for p in self.book.parameters if p.id == REFERENCE), None)

    def rate(self) -> Decimal | None:
        """reference rate + spread_bp / 10,000, rounded half-up to 4 places; None without either."""
        spread, ref = self.value(SPREAD), self.reference_rate()
        if spread is None or ref is None:
            return None
        return round_half_up(ref + money(spread) / 10000, 4)

    def next_rating(self) -> str | None:
        months = self.value(REVIEW)
        when = self.facts.get("evaluated_at")
        if months is None or not when:
            return None
        # the day the monitoring rulebook's re-rating rule starts to fire (Aug 31 + 6 months: Mar 1)
        return due_date(_dt.date.fromisoformat(when), int(months)).isoformat()

    def to_dict(self) -> dict[str, Any]:
        rate, ref = (None, None) if self.declined else (self.rate(), self.reference_rate())
        return {"customer": self.facts["id"], "grade": self.facts["grade"], "declined": self.declined,
                "coarse_grade": self.facts.get("coarse_grade"), "overridden": self.facts.get("overridden", False),
                "reference_rate": None if ref is None else str(ref), "rate": None if rate is None else str(rate),
                "amount_unit": UNIT, "next_rating": self.next_rating(),
                "offer": {oid: out.to_dict()["value"] for oid, out in self.decision.outputs.items()},
                "facts": self.facts, "decision": self.decision.to_dict()}


def price(book: DecisionBook, facts: Mapping[str, Any]) -> Offer:
    """Run a policy rulebook on an offer subject (facts/offer.schema.json)."""
    return Offer(dict(facts), decide(book, facts, label=str(facts.get("id", "offer"))))
