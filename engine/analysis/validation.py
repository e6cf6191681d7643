"""Back-testing a rating system (DOMAIN §7): stored ratings at a date against observed defaults.

    with Store.open("pingji.db") as store:
        run = validate(store.ratings_as_of("2025-12-31"), store.scales(), read_outcomes("defaults.csv"),
                       book=load_decision("rulebooks/validation.yaml", kind="policy"), as_of="2025-12-31")

The sample. For each customer, its latest evaluation on or before `as_of` with its EFFECTIVE grade
(the last expert override made by that date, else the rulebook's final grade), joined by
customer id to the OUTCOMES rows. Left out, and counted: rated customers without an outcome row
(`no_outcome`); customers whose effective grade is a default grade of the scale (`in_default`:
already defaulted when rated); customers whose default date is on or before their rating date
(`defaulted_before_rating`). A default dated after the window (`as_of` + `horizon_months`)
counts as no default in the window (`defaulted_after_horizon`); a default without a date counts
as one inside the window. Outcome rows naming a customer
the store has not rated by `as_of` are counted and listed (`unknown_customers`), not an error.

One back-test per rating rulebook id: grades of different rulebooks are never pooled. The grade
order is the scale of the newest rulebook version in the sample; the PD of a customer is its
effective grade's PD in the scale of the version that rated it; the PD of a grade is the mean
of its customers' PDs (the scale's PD when one version rated them all).

The figures (for a sample of N customers, D defaults; y = 1 for a default):
- AUC on the total score (higher = better) = P(score of a defaulter < score of a non-defaulter)
  + ½ P(equal), counted exactly over all pairs; `auc_grade` the same on the effective grade
  order; Gini = 2·AUC − 1; KS = max over scores s of |F_bad(s) − F_good(s)|. Undefined (None)
  when the sample has no defaulter or no non-defaulter.
- Per grade: N, D, ODR = D/N, PD, binomial p = P(X ≥ D | N, PD), Jeffreys p =
  BetaCDF(PD; D + ½, N − D + ½); undefined for an empty grade or one without PD.
- Hosmer–Lemeshow χ² = Σ over grades with N > 0 and 0 < PD < 1 of (D − N·PD)² / (N·PD·(1 − PD)),
  with k = the number of such grades degrees of freedom (the PDs are given, not fitted to this
  sample, so none are lost); p = P(χ²_k ≥ χ²).
- Brier = mean over customers of (PD − y)².
- HHI = Σ over grades of (N_grade / N)².
- Overrides: a customer is overridden when its effective grade differs from its model grade
  (the scorecard's grade before any override: a rulebook's knock-outs, caps and notches count as
  well as an expert's); up = a better grade. `expert_overrides` counts the customers whose
  effective grade is an expert's. Default rate of the overridden and of the others.

With the ratings of an earlier date (`--from`), each rulebook also gets its grade migration
matrix and the PSI of its grade distribution between the two dates (pingji.analysis.migration).

Rounding: every reported ratio, statistic and p-value is rounded to 6 decimal places (Python's
`round`, half-even on the binary value); the traffic lights are decided on those rounded values
by the validation rulebook (`rulebooks/validation.yaml`), never by thresholds in this module.
"""

from __future__ import annotations

import calendar
import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pingji.analysis.migration import migration
from pingji.analysis.outcomes import Outcome
from pingji.analysis.statistics import auc, betainc, binomial_tail, chi2_sf, ks
from pingji.decisions.model import DecisionBook
from pingji.decisions.run import Decision, decide
from pingji.diagnostics import Location
from pingji.errors import BacktestError
from pingji.store.ids import parse_id

__all__ = ["Backtest", "Dropped", "GradeResult", "Validation", "add_months", "dropped_warning", "rating_date",
           "require_outputs", "validate"]

PLACES = 6
PORTFOLIO_OUTPUTS = ("discrimination", "overall_calibration", "concentration", "overrides")
GRADE_OUTPUT = "calibration"
STABILITY = "stability"
MAX_DROPPED = "max_dropped_share"  # the validation rulebook's parameter: above it, the dropped rows are warned of


def require_outputs(book: DecisionBook) -> None:
    """Refuse a validation rulebook that does not decide every judgement a back-test shows (E713)."""
    have = {o.id for o in book.outputs}
    lacking = [o for o in (*PORTFOLIO_OUTPUTS, GRADE_OUTPUT, STABILITY) if o not in have]
    if lacking:
        raise BacktestError(f"rulebook '{book.id}' does not decide {', '.join(lacking)}: it cannot judge a "
                            f"back-test (the built-in one is 'validation')", book.loc, "E713")


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, PLACES)


def add_months(date: str, months: int) -> str:
    """The ISO date `months` calendar months after `date`, clamped to the month's last day."""
    d = _dt.date.fromisoformat(date)
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    return _dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1])).isoformat()


def rating_date(row: Mapping[str, Any]) -> str:
    """A stored rating's date (`rated_on`, YYYY-MM-DD); a row without one: the day it was stored."""
    return str(row.get("rated_on") or row["evaluated_at"])[:10]


@dataclass(frozen=True)
class Dropped:
    """The outcome rows a back-test could not use, of those it read (issue 12.2).

    `outcomes`: rows of customers of the back-tested rulebooks or not rated by `as_of`, but not of
    those already in a default grade when rated (`in_default`: out of scope, not lost);
    `before_rating`: defaults dated on or before the customer's rating date; `not_rated`: customers
    the store has not rated by `as_of`. `defaults`/`defaults_dropped`: the same for the defaulted
    rows alone. `limit`: the largest share the validation rulebook lets pass without a warning (its
    `max_dropped_share`), at `limit_at`."""

    outcomes: int
    defaults: int
    before_rating: int
    not_rated: int
    in_default: int
    defaults_dropped: int
    limit: float
    limit_at: str

    @property
    def dropped(self) -> int:
        return self.before_rating + self.not_rated

    @property
    def too_many(self) -> bool:
        """More than the allowed share of the outcomes, or of the defaults, was dropped."""
        return any(n > 0 and part / n > self.limit for part, n in
                   ((self.dropped, self.outcomes), (self.defaults_dropped, self.defaults)))

    def to_dict(self) -> dict[str, Any]:
        return {"outcomes": self.outcomes, "dropped": self.dropped, "defaults": self.defaults,
                "defaults_dropped": self.defaults_dropped, "defaulted_before_rating": self.before_rating,
                "not_rated": self.not_rated, "in_default": self.in_default, "max_share": self.limit,
                "max_share_at": self.limit_at, "too_many": self.too_many}


def _dropped(tests: Sequence[Backtest], by_book: Mapping[str, list[dict[str, Any]]], outcomes: Sequence[Outcome],
             known: set[str], book: DecisionBook | None) -> Dropped:
    table = {o.customer_id: o for o in outcomes}
    considered = [o for o in outcomes if o.customer_id not in known]
    in_scope_defaults = 0
    not_rated = len(considered)
    defaults_dropped = sum(o.defaulted for o in considered)
    before = in_default = 0
    for t in tests:
        before += t.counts["defaulted_before_rating"]
        in_default += t.counts["in_default"]
        with_outcome = [table[str(r["customer_id"])] for r in by_book[t.rulebook_id]
                        if str(r["customer_id"]) in table]
        considered += with_outcome
        in_scope_defaults -= t.in_default_defaulted
    limit = next((p for p in (book.parameters if book is not None else ()) if p.id == MAX_DROPPED), None)
    defaults = sum(o.defaulted for o in considered) + in_scope_defaults
    defaults_dropped += before  # a default is dropped when dated before the rating, or its customer unrated
    return Dropped(len(considered) - in_default, defaults, before, not_rated, in_default, defaults_dropped,
                   0.0 if limit is None else float(limit.value),
                   "" if limit is None else f"{limit.loc.file}:{limit.loc.line}")


def _verdict(decision: Decision, output: str) -> dict[str, Any]:
    o = decision.outputs[output]
    return {"value": o.value, "rules": o.rules, "at": o.at, "reasons": o.reasons, "default": o.by_default}


@dataclass
class GradeResult:
    grade: str
    n: int
    defaults: int
    pd: float | None
    odr: float | None = None
    binomial_p: float | None = None
    jeffreys_p: float | None = None
    decision: Decision | None = None

    def facts(self, rulebook_id: str) -> dict[str, Any]:
        f: dict[str, Any] = {"id": f"{rulebook_id}/{self.grade}", "scope": "grade", "grade": self.grade,
                             "customers": self.n, "defaults": self.defaults}
        for k in ("odr", "pd", "binomial_p", "jeffreys_p"):
            if getattr(self, k) is not None:
                f[k] = getattr(self, k)
        return f

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"grade": self.grade, "customers": self.n, "defaults": self.defaults, "odr": self.odr,
                             "pd": self.pd, "binomial_p": self.binomial_p, "jeffreys_p": self.jeffreys_p}
        if self.decision is not None:
            d["verdict"] = _verdict(self.decision, GRADE_OUTPUT)
        return d


@dataclass
class Backtest:
    """The back-test of one rating rulebook's grades."""

    rulebook_id: str
    grades: list[GradeResult]
    counts: dict[str, int]
    figures: dict[str, Any]
    decision: Decision | None = None
    notes: list[str] = field(default_factory=list)
    migration: dict[str, Any] | None = None
    in_default_defaulted: int = 0  # of counts["in_default"], those with a default in the outcomes

    def facts(self) -> dict[str, Any]:
        f: dict[str, Any] = {"id": self.rulebook_id, "scope": "portfolio", "customers": self.counts["sample"],
                             "grades": len(self.grades),
                             "defaults": self.counts["defaults"]}
        for k in ("auc", "gini", "ks", "brier", "hl_p", "hhi", "override_rate"):
            if self.figures.get(k) is not None:
                f[k] = self.figures[k]
        if self.migration is not None and self.migration["psi"] is not None:
            f["psi"] = self.migration["psi"]
        return f

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"rulebook": self.rulebook_id, "counts": self.counts, "figures": self.figures,
                             "grades": [g.to_dict() for g in self.grades], "notes": self.notes}
        if self.migration is not None:
            d["migration"] = self.migration
        if self.decision is not None:
            d["verdicts"] = {o: _verdict(self.decision, o) for o in self.outputs()}
        return d

    def outputs(self) -> tuple[str, ...]:
        """The portfolio judgements that apply: stability only with a migration (`--from`)."""
        return PORTFOLIO_OUTPUTS + ((STABILITY,) if self.migration is not None else ())


@dataclass
class Validation:
    as_of: str
    window_end: str
    horizon_months: int
    backtests: list[Backtest]
    unknown_customers: list[str]
    rulebook: DecisionBook | None = None
    from_date: str | None = None
    dropped: Dropped | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"as_of": self.as_of, "window_end": self.window_end,
                             "horizon_months": self.horizon_months, "rounding": f"{PLACES} decimal places",
                             "unknown_customers": self.unknown_customers,
                             "backtests": [b.to_dict() for b in self.backtests]}
        if self.dropped is not None:
            d["dropped"] = self.dropped.to_dict()
        if self.from_date is not None:
            d["from"] = self.from_date
        if self.rulebook is not None:
            b = self.rulebook
            d["validation_rulebook"] = {"id": b.id, "version": b.version, "file": b.file, "hash": b.content_hash}
        return d


@dataclass(frozen=True)
class _Member:
    customer_id: str
    total: float
    grade: str
    model_grade: str
    rank: int
    model_rank: int | None
    pd: float | None
    defaulted: bool
    expert: bool


def _scale_of(rows: Sequence[Mapping[str, Any]], scales: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The grades of the newest rulebook version among `rows` (highest evaluation id), best first."""
    newest = max(rows, key=lambda r: parse_id(str(r["evaluation_id"])) or 0)
    order = list(scales.get(str(newest["rulebook_hash"]), []))
    known = {g["grade"] for g in order}
    for r in rows:  # grades only an older version has: after the newest scale's, first seen first
        for g in scales.get(str(r["rulebook_hash"]), []):
            if g["grade"] not in known:
                order.append(g)
                known.add(g["grade"])
    return order


def _backtest(rulebook_id: str, rows: list[dict[str, Any]], scales: Mapping[str, list[dict[str, Any]]],
              outcomes: Mapping[str, Outcome], window_end: str) -> Backtest:
    scale = _scale_of(rows, scales)
    rank = {g["grade"]: i for i, g in enumerate(scale)}
    default_grades = {g["grade"] for g in scale if g.get("default")}
    counts = {"rated": len(rows), "no_outcome": 0, "in_default": 0, "defaulted_before_rating": 0,
              "defaulted_after_horizon": 0, "sample": 0, "defaults": 0}
    members: list[_Member] = []
    dropped_defaults = 0  # defaulted customers left out as already in default (not in `counts`)
    for r in rows:
        o = outcomes.get(str(r["customer_id"]))
        if o is None:
            counts["no_outcome"] += 1
            continue
        grade = str(r["effective_grade"])
        own = {g["grade"]: g for g in scales.get(str(r["rulebook_hash"]), [])}
        if grade in default_grades or (own.get(grade) or {}).get("default"):
            counts["in_default"] += 1
            dropped_defaults += o.defaulted
            continue
        defaulted = o.defaulted
        if defaulted and o.default_date is not None:
            if o.default_date <= rating_date(r):
                counts["defaulted_before_rating"] += 1
                continue
            if o.default_date > window_end:
                counts["defaulted_after_horizon"] += 1
                defaulted = False
        pd = (own.get(grade) or {}).get("pd")
        model = str(r["model_grade"]) if r.get("model_grade") is not None else grade
        members.append(_Member(str(r["customer_id"]), float(r["total"] if r["total"] is not None else 0.0), grade,
                               model, rank.get(grade, len(rank)), rank.get(model),
                               None if pd is None else float(pd), defaulted, bool(r.get("expert_override"))))
    n = len(members)
    d = sum(m.defaulted for m in members)
    counts["sample"], counts["defaults"] = n, d
    notes: list[str] = []

    grades: list[GradeResult] = []
    hl = 0.0
    hl_k = 0
    empty: list[str] = []
    for g in scale:
        if g["grade"] in default_grades:
            continue
        ms = [m for m in members if m.grade == g["grade"]]
        gn, gd = len(ms), sum(m.defaulted for m in ms)
        pds = [m.pd for m in ms if m.pd is not None]
        if ms and len(pds) == len(ms):
            pd = sum(pds) / len(pds)
        elif not ms and g.get("pd") is not None:
            pd = float(g["pd"])
        else:
            pd = None
        row = GradeResult(g["grade"], gn, gd, _r(pd))
        if gn:
            row.odr = _r(gd / gn)
            if pd is not None:
                row.binomial_p = _r(binomial_tail(gd, gn, pd))
                row.jeffreys_p = _r(betainc(gd + 0.5, gn - gd + 0.5, pd))
                if 0.0 < pd < 1.0:
                    hl += (gd - gn * pd) ** 2 / (gn * pd * (1.0 - pd))
                    hl_k += 1
            else:
                notes.append(f"grade {g['grade']}: no PD in the scale, so its calibration is not tested")
        else:
            empty.append(g["grade"])
        grades.append(row)
    if empty:
        notes.append(f"no customers in the sample, not tested: grade{'s' if len(empty) > 1 else ''} "
                     f"{', '.join(empty)}")

    bad = [m.defaulted for m in members]
    a = auc([m.total for m in members], bad)
    a_grade = auc([-float(m.rank) for m in members], bad)
    if a is None and n:
        notes.append("AUC, Gini and KS are undefined: the sample has "
                     + ("no defaulters" if d == 0 else "only defaulters"))
    if n == 0:
        notes.append("no customer of this rulebook is in the sample")
    with_pd = [m for m in members if m.pd is not None]
    brier = sum((m.pd - m.defaulted) ** 2 for m in with_pd if m.pd is not None) / len(with_pd) if with_pd else None
    moved = [m.model_rank is not None and m.model_rank != m.rank for m in members]
    over = [m for m, x in zip(members, moved) if x]
    rest = [m for m, x in zip(members, moved) if not x]
    up = sum(1 for m in over if m.model_rank is not None and m.rank < m.model_rank)
    figures: dict[str, Any] = {
        "auc": _r(a),
        "gini": _r(None if a is None else 2 * a - 1),
        "ks": _r(ks([m.total for m in members], bad)),
        "auc_grade": _r(a_grade),
        "gini_grade": _r(None if a_grade is None else 2 * a_grade - 1),
        "brier": _r(brier),
        "hl_chi2": _r(hl) if hl_k else None,
        "hl_df": hl_k,
        "hl_p": _r(chi2_sf(hl, hl_k)) if hl_k else None,
        "hhi": _r(sum((g.n / n) ** 2 for g in grades)) if n else None,
        "odr": _r(d / n) if n else None,
        "override_rate": _r(len(over) / n) if n else None,
        "overrides": len(over),
        "overrides_up": up,
        "overrides_down": len(over) - up,
        "expert_overrides": sum(1 for m in members if m.expert),
        "odr_overridden": _r(sum(m.defaulted for m in over) / len(over)) if over else None,
        "odr_not_overridden": _r(sum(m.defaulted for m in rest) / len(rest)) if rest else None,
    }
    return Backtest(rulebook_id, grades, counts, figures, notes=notes, in_default_defaulted=dropped_defaults)


def validate(ratings: Sequence[Mapping[str, Any]], scales: Mapping[str, list[dict[str, Any]]],
             outcomes: Sequence[Outcome], *, book: DecisionBook | None, as_of: str, horizon_months: int = 12,
             rulebook: str | None = None, outcomes_file: str = "outcomes",
             earlier: Sequence[Mapping[str, Any]] | None = None, from_date: str | None = None) -> Validation:
    """Back-test the `ratings` (`Store.ratings_as_of(as_of)`) against `outcomes`; judge with `book`.

    With `earlier` (`Store.ratings_as_of(from_date)`), each rulebook also gets its migration matrix
    and PSI from `from_date` to `as_of` (pingji.analysis.migration), over all its rated customers.

    `BacktestError` when there is nothing to validate: no ratings (E710), none of `rulebook`
    (E711), no rated customer with an outcome (E712).
    """
    if book is not None:
        require_outputs(book)
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be >= 1; got {horizon_months}")
    if not ratings:
        raise BacktestError(f"no ratings in the store on or before {as_of}: nothing to validate", None, "E710")
    by_book: dict[str, list[dict[str, Any]]] = {}
    for r in ratings:
        by_book.setdefault(str(r["rulebook_id"]), []).append(dict(r))
    if rulebook is not None and rulebook not in by_book:
        raise BacktestError(f"no ratings by rulebook '{rulebook}' on or before {as_of} (the store has: "
                            f"{', '.join(sorted(by_book))})", None, "E711")
    chosen = [rulebook] if rulebook is not None else sorted(by_book)
    known = {str(r["customer_id"]) for r in ratings}
    table = {o.customer_id: o for o in outcomes}
    if not any(str(r["customer_id"]) in table for b in chosen for r in by_book[b]):
        first = outcomes[0] if outcomes else None
        raise BacktestError(
            "no rated customer has an outcome: the customer ids of the outcomes file match none in the store"
            + (f" (first: '{first.customer_id}')" if first else ""),
            Location(outcomes_file, first.line if first else 0), "E712")
    window_end = add_months(as_of, horizon_months)
    tests = [_backtest(b, by_book[b], scales, table, window_end) for b in chosen]
    if earlier is not None:
        for t in tests:
            before = [r for r in earlier if str(r["rulebook_id"]) == t.rulebook_id]
            order = [str(g["grade"]) for g in _scale_of(by_book[t.rulebook_id] + before, scales)]
            t.migration = migration(before, by_book[t.rulebook_id], order)
            if not before:
                t.notes.append(f"no ratings by this rulebook on or before {from_date}: no migration")
    if book is not None:
        for t in tests:
            t.decision = decide(book, t.facts(), label=f"validation of {t.rulebook_id}")
            for g in t.grades:
                g.decision = decide(book, g.facts(t.rulebook_id), label=f"validation of {t.rulebook_id} {g.grade}")
    unknown = sorted(o.customer_id for o in outcomes if o.customer_id not in known)
    dropped = _dropped(tests, by_book, outcomes, known, book)
    if not any(t.counts["sample"] for t in tests):
        raise BacktestError(
            f"nothing left to back-test: of {dropped.outcomes + dropped.in_default} outcome(s), "
            f"{_why(dropped, as_of)}; the rating date of each evaluation is its facts' as_of "
            f"(or --rated-on of rate and batch): see pingji history", Location(outcomes_file), "E730")
    return Validation(as_of, window_end, horizon_months, tests, unknown, book, from_date, dropped)


def _why(d: Dropped, as_of: str, in_default: bool = True) -> str:
    return (f"{d.before_rating} defaulted on or before the rating date, {d.not_rated} not rated by {as_of}"
            + (f", {d.in_default} already in a default grade" if in_default else ""))


def dropped_warning(v: Validation) -> str | None:
    """The loud line when more than the allowed share of outcomes or defaults was dropped (W730), else None."""
    d = v.dropped
    if d is None or not d.too_many:
        return None
    limit = f"{d.limit:.0%}" + (f" (max_dropped_share, {d.limit_at})" if d.limit_at else "")
    return (f"warning[W730]: {d.dropped} of {d.outcomes} outcomes and {d.defaults_dropped} of {d.defaults} "
            f"defaults dropped from the back-test, more than {limit}: {_why(d, v.as_of, False)}; "
            f"check the rating dates (pingji history, --rated-on) and --as-of")
