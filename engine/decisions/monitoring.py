"""Early warnings between two snapshots of a customer, and the re-ratings due.

    run = compare_snapshots(book, [current], previous=earlier)     # two snapshots given explicitly
    run = compare(book, read_snapshots(["new/"]), store=store)     # pingji.analysis.monitoring: each
                                                                   # against its stored facts
    run.watch_list(), run.rerate_due(), run.problems(), run.unrated, run.to_dict()

`snapshot(facts)` takes the figures a monitoring rulebook compares from a customer facts document
of any type (corporate, small business, individual, or a user's own type, read under the corporate
names: docs/customer-types.md); a figure the document does not have stays absent (missing), never 0. `subject(...)` puts two snapshots, the customer and its stored rating
together as facts/monitoring.schema.json describes, and `watch` runs the monitoring rulebook on it.
The changes (revenue, leverage, collateral, statement age) are the rulebook's metrics, the signals
its rules; no threshold lives here. What this module reads of the decision: the outputs severity,
action, signals, rerate (levels not_due, due, immediate), rerate_every (months) and tracking (its
first level is routine, any other puts the customer on problem tracking).

Mapping (documented here because it is a choice):

- revenue: `financials.current.revenue` (corporate), `business.annual_revenue` (small business),
  12 × `income.monthly_income` (individual);
- operating cash flow and the period before: `financials.current/previous.operating_cash_flow`
  (corporate only);
- total liabilities: `financials.current.total_liabilities`; small business: business + household
  debt; individual: `debts.total_debt`;
- total assets: `financials.current.total_assets`; small business: business cash, inventory,
  receivables and fixed assets + household assets; individual: deposits, investments, real
  estate, vehicles and other assets;
- statement date and external downgrade: corporate only;
- days past due and lawsuits: `credit.days_past_due`, `credit.lawsuits` (every type);
- collateral value: the exact sum of `collateral[].value` (absent without collateral).

A sum is taken only when every term is present: a missing term makes the total missing, not smaller.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pingji.decisions.model import DecisionBook
from pingji.decisions.run import Decision, decide
from pingji.diagnostics import Location, error
from pingji.errors import FactsError
from pingji.lang import expressions as ex
from pingji.lang.facts import FactsFile, dig, industry_of
from pingji.numbers import to_decimal

__all__ = ["Monitoring", "Watch", "add_months", "check_dates", "compare_snapshots", "due_date", "months_between",
           "rating_of", "snapshot", "subject", "watch", "watch_list"]

# The outputs of a monitoring rulebook this module reads (their levels are the rulebook's).
SEVERITY, ACTION, SIGNALS, RERATE = "severity", "action", "signals", "rerate"
EVERY, TRACKING = "rerate_every", "tracking"

_SMALL_BUSINESS_ASSETS = ("business.cash", "business.inventory", "business.receivables", "business.fixed_assets",
                          "household.assets")
_SMALL_BUSINESS_DEBT = ("business.debt", "household.debt")
_INDIVIDUAL_ASSETS = ("assets.deposits", "assets.investments", "assets.real_estate", "assets.vehicles",
                      "assets.other")
_MONTHS = ex.compile_expr(ex.parse("months_between(later, earlier)"))


def months_between(later: str, earlier: str) -> int | None:
    """Whole calendar months from `earlier` to `later`, rounded down, as the rule language counts them."""
    v = _MONTHS({"later": later, "earlier": earlier})
    return v if isinstance(v, int) else None


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _total(values: Sequence[Any]) -> float | None:
    """The exact sum of numbers, or None when any is absent (a missing term is not a zero)."""
    if not values or not all(_number(v) for v in values):
        return None
    return float(sum((to_decimal(v) for v in values), Decimal(0)))


def snapshot(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The figures a monitoring rulebook compares, from one facts document (absent stays absent)."""
    snap: dict[str, Any] = {}

    def put(key: str, value: Any) -> None:
        if value is not None:
            snap[key] = value

    ctype = facts.get("customer_type")
    put("as_of", facts.get("as_of"))
    if ctype == "small_business":
        put("revenue", dig(facts, "business.annual_revenue"))
        put("total_liabilities", _total([dig(facts, p) for p in _SMALL_BUSINESS_DEBT]))
        put("total_assets", _total([dig(facts, p) for p in _SMALL_BUSINESS_ASSETS]))
    elif ctype == "individual":
        monthly = dig(facts, "income.monthly_income")
        put("revenue", float(to_decimal(monthly) * 12) if _number(monthly) else None)
        put("total_liabilities", dig(facts, "debts.total_debt"))
        put("total_assets", _total([dig(facts, p) for p in _INDIVIDUAL_ASSETS]))
    else:
        put("revenue", dig(facts, "financials.current.revenue"))
        put("operating_cash_flow", dig(facts, "financials.current.operating_cash_flow"))
        put("operating_cash_flow_prior", dig(facts, "financials.previous.operating_cash_flow"))
        put("total_assets", dig(facts, "financials.current.total_assets"))
        put("total_liabilities", dig(facts, "financials.current.total_liabilities"))
        put("statement_date", dig(facts, "financials.current.statement_date"))
        put("external_downgrade", dig(facts, "credit.external_rating_downgrade"))
    put("days_past_due", dig(facts, "credit.days_past_due"))
    put("lawsuits", dig(facts, "credit.lawsuits"))
    items = facts.get("collateral")
    if isinstance(items, list) and items:
        put("collateral_value", _total([c.get("value") if isinstance(c, Mapping) else None for c in items]))
    return snap


def subject(customer_id: str, as_of: str, previous: Mapping[str, Any], current: Mapping[str, Any],
            rating: Mapping[str, Any] | None, customer_type: str | None = None,
            industry: str | None = None) -> dict[str, Any]:
    """The facts of a monitoring rulebook (facts/monitoring.schema.json); `rating.months_since` is computed."""
    customer: dict[str, Any] = {"id": customer_id}
    if customer_type:
        customer["customer_type"] = customer_type
    if industry:
        customer["industry"] = industry
    facts: dict[str, Any] = {"customer": customer, "as_of": as_of, "previous": snapshot(previous),
                             "current": snapshot(current)}
    if rating:
        r = {k: v for k, v in rating.items() if v is not None and k != "months_since"}
        if isinstance(r.get("evaluated_at"), str):
            months = months_between(as_of, r["evaluated_at"])
            if months is not None:
                r["months_since"] = months
        facts["rating"] = r
    return facts


def rating_of(row: Mapping[str, Any], coarse: str | None) -> dict[str, Any]:
    """The `rating` part of a subject from a `Store.latest_ratings()` row and its coarse grade."""
    return {"grade": row["effective_grade"], "coarse_grade": coarse, "evaluation_id": row["evaluation_id"],
            # the rating date (issue 12.2), not when it was stored; `evaluated_at` is the facts' name for it
            "evaluated_at": str(row.get("rated_on") or row["evaluated_at"])[:10],
            "overridden": bool(row.get("overridden"))}


def add_months(d: _dt.date, months: int) -> _dt.date:
    """The same day `months` later, or the month's last day when it has no such day (Jan 31 + 1 → Feb 28)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return _dt.date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def due_date(last: _dt.date, months: int) -> _dt.date:
    """The first day on which `months_between(day, last) >= months`: when a re-rating rule starts to fire.

    The same day `months` later; when that month is too short (rated Aug 31, every 6 months), the
    first of the month after (Mar 1), because whole months are counted by the day of the month.
    """
    d = add_months(last, months)
    return d if d.day == last.day else d + _dt.timedelta(days=1)


@dataclass
class Watch:
    """One customer's monitoring decision, with the rating it was judged against."""

    customer_id: str
    decision: Decision
    rating: Mapping[str, Any] | None
    as_of: str = ""
    file: str = ""

    @property
    def severity(self) -> str:
        return str(self.decision.value(SEVERITY))

    @property
    def action(self) -> str:
        return str(self.decision.value(ACTION))

    @property
    def rank(self) -> int:
        return self.decision.rulebook.output(SEVERITY).rank(self.severity)

    @property
    def problem(self) -> bool:
        """The rulebook put the customer on problem tracking (its `tracking` output is not the first level)."""
        book = self.decision.rulebook
        try:
            out = book.output(TRACKING)
        except KeyError:
            return False
        return out.rank(str(self.decision.value(TRACKING))) > 0

    def signals(self) -> list[dict[str, Any]]:
        """Each signal rule that fired: rule, at, severity, action, title, title_zh, reason."""
        return [{"rule": f["rule"], "at": f["at"], "severity": f["concluded"].get(SEVERITY),
                 "action": f["concluded"].get(ACTION), "title": f["title"].get("en", f["rule"]),
                 "title_zh": f["title"].get("zh", f["title"].get("en", f["rule"])), "reason": f["reason"]}
                for f in self.decision.fired if SIGNALS in f["concluded"]]

    def next_rating(self) -> str | None:
        """When the next re-rating by grade frequency is due: the last rating + the rulebook's months."""
        every = self.decision.value(EVERY) if EVERY in self.decision.outputs else None
        if every is None or not self.rating or not self.rating.get("evaluated_at"):
            return None
        return due_date(_dt.date.fromisoformat(str(self.rating["evaluated_at"])[:10]), int(every)).isoformat()

    def due(self) -> str | None:
        """'now' on an immediate re-rating, the due date when one is due by frequency, else None."""
        value = self.decision.value(RERATE)
        if value == "immediate":
            return "now"
        return self.next_rating() if value == "due" else None

    def due_date(self) -> str | None:
        """The date a due re-rating is due: the monitoring date when immediate."""
        d = self.due()
        return self.as_of if d == "now" else d

    def to_dict(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "file": self.file, "as_of": self.as_of,
                "rating": dict(self.rating) if self.rating else None, "severity": self.severity,
                "action": self.action, "problem": self.problem, "signals": self.signals(),
                "rerate": self.decision.value(RERATE), "rerate_due": self.due_date(),
                "rerate_rules": self.decision.outputs[RERATE].rules, "rerate_at": self.decision.outputs[RERATE].at,
                "next_rating": self.next_rating()}


def check_dates(previous: Mapping[str, Any], current: Mapping[str, Any], locate: Any, label: str,
                as_of: str | None = None, today: _dt.date | None = None) -> None:
    """Refuse (E521, at the current snapshot's as_of) a snapshot dated after the monitoring date
    (`as_of`, default today) or before the previous snapshot."""
    a, b = previous.get("as_of"), current.get("as_of")
    where = locate(("as_of",)) if locate else Location(label)
    if isinstance(b, str):
        limit = (today or _dt.date.today()).isoformat()
        if b > limit:
            raise FactsError([error("E521", f"as_of {b} is in the future (today is {limit})", where)])
        if as_of is not None and b > as_of:
            raise FactsError([error("E521", f"as_of {b} is after the monitoring date --as-of {as_of}", where)])
    if isinstance(a, str) and isinstance(b, str) and b < a:
        raise FactsError([error("E521", f"as_of {b} is before the previous snapshot's as_of {a}", where)])


def watch(book: DecisionBook, customer_id: str, as_of: str, previous: Mapping[str, Any], current: Mapping[str, Any],
          rating: Mapping[str, Any] | None, customer_type: str | None = None, industry: str | None = None,
          file: str = "") -> Watch:
    """Run the monitoring rulebook on two snapshots of one customer."""
    facts = subject(customer_id, as_of, previous, current, rating, customer_type, industry)
    return Watch(customer_id, decide(book, facts, label=file or customer_id, subject_id=customer_id), rating,
                 as_of, file)


def watch_list(results: Sequence[Watch]) -> list[Watch]:
    """Customers with at least one signal, most severe first, then by customer id."""
    return sorted((w for w in results if w.signals()), key=lambda w: (-w.rank, w.customer_id))


@dataclass
class Monitoring:
    """What one monitoring run found: every decision, the customers with nothing to compare with,
    and the stored rating history of the problem customers."""

    rulebook: DecisionBook
    results: list[Watch]
    unrated: list[str] = field(default_factory=list)
    histories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def watch_list(self) -> list[Watch]:
        return watch_list(self.results)

    def rerate_due(self) -> list[Watch]:
        """Customers due for re-rating: immediate ones first, then by due date and customer id."""
        due = [w for w in self.results if w.due()]
        return sorted(due, key=lambda w: (w.due() != "now", w.due_date() or "", w.customer_id))

    def problems(self) -> list[Watch]:
        """Customers the rulebook put on problem tracking, in watch-list order."""
        return [w for w in self.watch_list() if w.problem]

    def to_dict(self) -> dict[str, Any]:
        b = self.rulebook
        return {
            "rulebook": {"id": b.id, "version": b.version, "hash": b.content_hash, "file": b.file},
            "watch_list": [w.to_dict() for w in self.watch_list()],
            "rerate_due": [{"customer_id": w.customer_id, "due": w.due_date(), "immediate": w.due() == "now",
                            "grade": (w.rating or {}).get("grade"), "rules": w.decision.outputs[RERATE].rules,
                            "at": w.decision.outputs[RERATE].at} for w in self.rerate_due()],
            "problem_customers": [{"customer_id": w.customer_id, "severity": w.severity,
                                   "history": self.histories.get(w.customer_id, [])} for w in self.problems()],
            "not_rated": self.unrated,
            "decisions": [w.decision.to_dict() for w in self.results],
        }


def compare_snapshots(book: DecisionBook, snapshots: Sequence[FactsFile], *, previous: FactsFile | None = None,
                      as_of: str | None = None, ratings: Mapping[str, Mapping[str, Any]] | None = None,
                      coarse: Mapping[str, str] | None = None,
                      stored_facts: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
                      today: _dt.date | None = None) -> Monitoring:
    """Each new snapshot against the customer's previous one: `previous` when given (one customer),
    else `stored_facts(row)`, the facts of the customer's latest rating `row` in `ratings` (customer
    id → row, as `Store.latest_ratings()` gives them; `coarse`: customer id → coarse grade). A
    customer with neither is listed in `unrated`. `pingji.analysis.monitoring.compare` reads these
    from the store."""
    latest = ratings or {}
    coarse = coarse or {}
    results: list[Watch] = []
    unrated: list[str] = []
    seen: dict[str, FactsFile] = {}
    for doc in snapshots:
        cid = str(doc.data["id"])
        if cid in seen:
            raise FactsError([error("E523", f"customer '{cid}' has a second snapshot here (the first: "
                                            f"{seen[cid].loc(('id',))}); monitor one snapshot per customer",
                                    doc.loc(("id",)))])
        seen[cid] = doc
        row = latest.get(cid)
        if previous is not None:
            if previous.data.get("id") != cid:
                raise FactsError([error("E522", f"--previous is customer '{previous.data.get('id')}', not '{cid}'",
                                        previous.loc(("id",)))])
            before: Mapping[str, Any] = previous.data
        elif row is not None:
            assert stored_facts is not None
            before = stored_facts(row)
        else:
            unrated.append(cid)
            continue
        check_dates(before, doc.data, doc.locate, doc.file, as_of, today)
        when = as_of or doc.data.get("as_of")
        if not isinstance(when, str):
            raise FactsError([error("E520", "as_of is required (in the facts or with --as-of)", doc.loc(()))])
        rating = rating_of(row, coarse.get(cid)) if row else None
        results.append(watch(book, cid, when, before, doc.data, rating, doc.data.get("customer_type"),
                             industry_of(doc.data), doc.file))
    return Monitoring(book, results, unrated)
