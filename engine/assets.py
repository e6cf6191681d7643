"""After the grade, loan by loan: five-category classification and loan-loss provisions.

A LOANS file is YAML or JSON: `{as_of: 'YYYY-MM-DD', loans: [ {loan}, ... ]}`, each loan as
facts/loan.schema.json describes it. Every category, rate, stage, PD and LGD is decided by a rule
of a decision rulebook (`five-category`, `provisions`, `provision-adequacy`) that fired in the
engine; this module reads the file, runs the rulebooks, and does the money.

Classification runs the rules twice. Pass 1 classifies every loan. Then, for each non-retail
borrower, `borrower.non_performing_share` = balance of its loans in a non-performing category
(the output's `non_performing` levels) / its total balance, exact, rounded half-up to 4 places;
pass 2 decides every loan again with that share known, so the rulebook's borrower rule (more than
10% non-performing → all non-performing) is a rule that fires and is traced.

Money: every amount is a Decimal of the figure as written (the shortest representation of the
number read), each loan's amounts are rounded half-up to the cent, and totals are sums of the
rounded amounts. Ratios are rounded half-up to 4 places.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from .decision import Decision, DecisionBook, decide
from .diagnostics import Diagnostic, Location, error
from .errors import FactsError
from .facts import read_facts
from .factschema import check_facts, load_schema
from .builtin import facts_dir

CENT = Decimal("0.01")
RATIO = Decimal("0.0001")
CATEGORY_OUTPUT = "category"
MAX_LOANS = 200_000


def money(x: Any) -> Decimal:
    """A figure as an exact decimal: 0.1 is Decimal('0.1'), never 0.1000000000000000055…"""
    return x if isinstance(x, Decimal) else Decimal(repr(x) if isinstance(x, float) else str(x))


def cents(d: Decimal) -> Decimal:
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


def ratio(num: Decimal, den: Decimal) -> Decimal | None:
    return None if den == 0 else (num / den).quantize(RATIO, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Loans:
    """A LOANS file read and checked: the portfolio date and each loan with where it stands."""

    file: str
    as_of: str
    loans: tuple[dict[str, Any], ...]
    locs: tuple[Location, ...]


def _date(text: Any) -> _dt.date | None:
    try:
        return _dt.date.fromisoformat(str(text))
    except ValueError:
        return None


def read_loans(path: str | os.PathLike[str], *, today: _dt.date | None = None) -> Loans:
    """Read a LOANS file; raise FactsError listing every problem, each at its file:line:col.

    Refused: a file that is not `{as_of, loans}`, an `as_of` after today, loans that fail
    facts/loan.schema.json (missing fields, negative balances, wrong types), a duplicate loan id,
    a drawdown or restructuring dated after `as_of` (a date in the future), a maturity before the
    drawdown.
    """
    doc = read_facts(path)
    data, loc, file = doc.data, doc.loc, doc.file
    diags: list[Diagnostic] = []
    if not isinstance(data, Mapping):
        raise FactsError([error("E510", "a LOANS file is a mapping {as_of: 'YYYY-MM-DD', loans: [...]}", loc(()))])
    for key in data:
        if key not in ("as_of", "loans", "portfolio"):
            diags.append(error("E510", f"unknown key '{key}' (a LOANS file has as_of, loans and an optional "
                                       f"portfolio name)", loc((key,))))
    as_of_raw = data.get("as_of")
    as_of = _date(as_of_raw) if isinstance(as_of_raw, str) else None
    if as_of_raw is None:
        diags.append(error("E510", "as_of is required: the date the loans are classified at", loc(())))
    elif as_of is None:
        diags.append(error("E510", f"as_of: {as_of_raw!r} is not a date (YYYY-MM-DD)", loc(("as_of",))))
    elif as_of > (today or _dt.date.today()):
        diags.append(error("E511", f"as_of {as_of} is in the future", loc(("as_of",))))
    loans = data.get("loans")
    if not isinstance(loans, list) or not loans:
        diags.append(error("E510", "loans must be a non-empty list of loans", loc(("loans",) if "loans" in data else ())))
        raise FactsError(diags)
    if len(loans) > MAX_LOANS:
        raise FactsError([error("E510", f"{len(loans)} loans in one file; the limit is {MAX_LOANS:,} "
                                        f"(split the portfolio)", loc(("loans",)))])
    schema = load_schema(facts_dir() / "loan.schema.json")
    seen: dict[str, int] = {}
    for i, loan in enumerate(loans):
        here = ("loans", i)
        if not isinstance(loan, Mapping):
            diags.append(error("E501", f"loans[{i}] must be a mapping", loc(here)))
            continue
        lid = loan.get("id")
        label = f"loan '{lid}'" if isinstance(lid, str) else f"loans[{i}]"
        problems = check_facts(loan, schema, lambda p, here=here: loc(here + tuple(p)), file)
        diags.extend(error(d.code, f"{label}: {d.message.removeprefix('(top level): ')}", d.location) for d in problems)
        if isinstance(lid, str):
            if lid in seen:
                diags.append(error("E512", f"loan id '{lid}' appears twice (first as loans[{seen[lid]}])",
                                   loc(here + ("id",))))
            seen.setdefault(lid, i)
        if problems or as_of is None:
            continue
        start, maturity = _date(loan["start_date"]), _date(loan["maturity_date"])
        if start and start > as_of:
            diags.append(error("E511", f"{label}: start_date {start} is after as_of {as_of} (a date in the future)",
                               loc(here + ("start_date",))))
        if start and maturity and maturity < start:
            diags.append(error("E511", f"{label}: maturity_date {maturity} is before start_date {start}",
                               loc(here + ("maturity_date",))))
        restructuring = loan.get("restructuring") or {}
        rdate = _date(restructuring.get("date", ""))
        if rdate and rdate > as_of:
            diags.append(error("E511", f"{label}: restructuring.date {rdate} is after as_of {as_of} "
                                       f"(a date in the future)", loc(here + ("restructuring", "date"))))
    if diags:
        raise FactsError(diags)
    assert as_of is not None
    return Loans(file, as_of.isoformat(), tuple(loans), tuple(loc(("loans", i)) for i in range(len(loans))))


# -- classification -----------------------------------------------------------------------------------


@dataclass
class LoanClass:
    loan: dict[str, Any]  # the loan's facts as the rules saw them in the deciding pass
    decision: Decision
    first_pass: str  # the category before the borrower rule

    @property
    def id(self) -> str:
        return str(self.loan["id"])

    @property
    def category(self) -> str:
        return str(self.decision.value(CATEGORY_OUTPUT))

    @property
    def balance(self) -> Decimal:
        return money(self.loan["balance"])


@dataclass
class Classification:
    book: DecisionBook
    as_of: str
    file: str
    loans: list[LoanClass]
    shares: dict[str, Decimal] = field(default_factory=dict)  # non-retail borrower -> non-performing share

    def summary(self) -> list[dict[str, Any]]:
        """Count, balance and share of balance per category, best first (every level, even empty)."""
        out = self.book.output(CATEGORY_OUTPUT)
        total = sum((lc.balance for lc in self.loans), Decimal(0))
        rows = []
        for level in out.levels:
            mine = [lc for lc in self.loans if lc.category == level]
            bal = cents(sum((lc.balance for lc in mine), Decimal(0)))
            rows.append({"category": level, "loans": len(mine), "balance": bal,
                         "share": ratio(bal, total) if total else None,
                         "non_performing": level in out.non_performing})
        return rows

    def total(self) -> Decimal:
        return cents(sum((lc.balance for lc in self.loans), Decimal(0)))

    def non_performing(self) -> Decimal:
        npl = set(self.book.output(CATEGORY_OUTPUT).non_performing)
        return cents(sum((lc.balance for lc in self.loans if lc.category in npl), Decimal(0)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "file": self.file,
            "rulebook": {"id": self.book.id, "version": self.book.version, "hash": self.book.content_hash},
            "loans": [{"id": lc.id, "customer_id": lc.loan["customer_id"], "balance": str(lc.balance),
                       "category": lc.category, "first_pass": lc.first_pass,
                       "decision": lc.decision.to_dict()} for lc in self.loans],
            "borrower_non_performing_share": {k: str(v) for k, v in sorted(self.shares.items())},
            "summary": [{**r, "balance": str(r["balance"]), "share": None if r["share"] is None else str(r["share"])}
                        for r in self.summary()],
            "total": str(self.total()),
            "non_performing": str(self.non_performing()),
        }


def coarse_grades(ratings: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """customer id → the coarse grade (A/B/C) of its effective grade, from `Store.latest_ratings()`.

    An expert override's grade on a master scale (M8) is mapped to its coarse grade by the scale of
    the rating rulebook that rated the customer (found by id among the built-in rulebooks); a grade
    that cannot be mapped is left out (the loan is then treated as unrated).
    """
    from . import catalog
    from .rulebook import load_rulebook

    scales: dict[str, dict[str, str]] = {}
    out: dict[str, str] = {}
    for r in ratings:
        rid = str(r.get("rulebook_id") or "")
        if rid not in scales:
            try:
                rb = load_rulebook(catalog.find(rid))
                assert rb.scale is not None
                scales[rid] = {g.grade: (g.coarse or g.grade) for g in rb.scale.grades}
            except Exception:  # noqa: BLE001 - a rulebook no longer installed: only A/B/C grades map
                scales[rid] = {}
        eff = str(r["effective_grade"])
        coarse = scales[rid].get(eff, eff if not r.get("overridden") or eff in ("A", "B", "C") else "")
        if not r.get("overridden") and r.get("coarse_grade"):
            coarse = str(r["coarse_grade"])
        if coarse in ("A", "B", "C"):
            out[str(r["customer_id"])] = coarse
    return out


def _with(loan: Mapping[str, Any], as_of: str, grade: str | None, share: Decimal | None) -> dict[str, Any]:
    facts = dict(loan)
    facts["as_of"] = as_of
    borrower = dict(facts.get("borrower") or {})
    if grade is not None and "grade" not in borrower:
        borrower["grade"] = grade
    if share is not None:
        borrower["non_performing_share"] = float(share)
    else:
        borrower.pop("non_performing_share", None)
    if borrower:
        facts["borrower"] = borrower
    return facts


def classify_portfolio(book: DecisionBook, loans: Loans, grades: Mapping[str, str] | None = None,
                       progress: Callable[[int], None] | None = None) -> Classification:
    """Classify every loan (two passes, see the module docstring). `grades`: customer id → coarse
    grade, used where a loan does not say `borrower.grade`. `progress(n)` is told of every loan
    decided (twice per loan of a non-retail borrower)."""
    grades = grades or {}
    tick = progress or (lambda n: None)
    out = book.output(CATEGORY_OUTPUT)
    npl = set(out.non_performing)
    first: list[Decision] = []
    for loan, loc in zip(loans.loans, loans.locs):
        facts = _with(loan, loans.as_of, grades.get(str(loan["customer_id"])), None)
        first.append(decide(book, facts, label=loc.short(), check_facts=False))
        tick(1)
    totals: dict[str, list[Decimal]] = {}
    for loan, d in zip(loans.loans, first):
        if loan.get("customer_type") != "non_retail":
            continue
        bal = money(loan["balance"])
        t = totals.setdefault(str(loan["customer_id"]), [Decimal(0), Decimal(0)])
        t[0] += bal
        if d.value(CATEGORY_OUTPUT) in npl:
            t[1] += bal
    shares = {cid: (t[1] / t[0]).quantize(RATIO, rounding=ROUND_HALF_UP) if t[0] else Decimal(0)
              for cid, t in totals.items()}
    result = []
    for loan, loc, d1 in zip(loans.loans, loans.locs, first):
        cid = str(loan["customer_id"])
        facts = _with(loan, loans.as_of, grades.get(cid), shares.get(cid))
        d2 = d1
        if cid in shares:
            d2 = decide(book, facts, label=loc.short(), check_facts=False)
            tick(1)
        result.append(LoanClass(facts, d2, str(d1.value(CATEGORY_OUTPUT))))
    return Classification(book, loans.as_of, loans.file, result, shares)


# -- provisions ----------------------------------------------------------------------------------------


@dataclass
class LoanProvision:
    loan: LoanClass
    decision: Decision
    specific: Decimal
    general: Decimal
    ecl: Decimal

    @property
    def stage(self) -> str:
        return str(self.decision.value("stage"))


@dataclass
class Provisions:
    classification: Classification
    book: DecisionBook
    loans: list[LoanProvision]
    adequacy: Decision

    def by_category(self) -> list[dict[str, Any]]:
        rows = []
        for level in self.classification.book.output(CATEGORY_OUTPUT).levels:
            mine = [p for p in self.loans if p.loan.category == level]
            rows.append({"category": level, "loans": len(mine),
                         "balance": sum((p.loan.balance for p in mine), Decimal(0)),
                         "specific": sum((p.specific for p in mine), Decimal(0))})
        return rows

    def by_stage(self) -> list[dict[str, Any]]:
        rows = []
        for level in self.book.output("stage").levels:
            mine = [p for p in self.loans if p.stage == level]
            rows.append({"stage": level, "loans": len(mine),
                         "balance": sum((p.loan.balance for p in mine), Decimal(0)),
                         "ecl": sum((p.ecl for p in mine), Decimal(0))})
        return rows

    def totals(self) -> dict[str, Any]:
        return totals_of(self.classification, self.loans)

    def to_dict(self) -> dict[str, Any]:
        t = self.totals()
        return {
            "as_of": self.classification.as_of,
            "rounding": "each loan's amounts half-up to the cent; totals are sums of the rounded amounts; "
                        "ratios half-up to 4 places",
            "rulebooks": {"classification": self.classification.book.id, "provisions": self.book.id,
                          "adequacy": self.adequacy.rulebook.id},
            "loans": [{"id": p.loan.id, "category": p.loan.category, "balance": str(p.loan.balance),
                       "specific_rate": str(p.decision.value("specific_rate")), "specific": str(p.specific),
                       "general": str(p.general), "stage": p.stage, "pd": str(p.decision.value("pd")),
                       "lgd": str(p.decision.value("lgd")), "ecl": str(p.ecl),
                       "decision": p.decision.to_dict()} for p in self.loans],
            "by_category": [{**r, "balance": str(r["balance"]), "specific": str(r["specific"])} for r in self.by_category()],
            "by_stage": [{**r, "balance": str(r["balance"]), "ecl": str(r["ecl"])} for r in self.by_stage()],
            "totals": {k: (None if v is None else str(v)) for k, v in t.items()},
            "adequacy": self.adequacy.to_dict(),
        }


def totals_of(cl: Classification, provs: Sequence[LoanProvision]) -> dict[str, Decimal | None]:
    loans = cl.total()
    npl = cl.non_performing()
    general = sum((p.general for p in provs), Decimal(0))
    specific = sum((p.specific for p in provs), Decimal(0))
    reserves = general + specific
    return {"loans": loans, "non_performing": npl, "general_reserve": general, "specific_reserve": specific,
            "reserves": reserves, "ecl": sum((p.ecl for p in provs), Decimal(0)),
            "coverage_ratio": ratio(reserves, npl), "provision_rate": ratio(reserves, loans),
            "general_reserve_rate": ratio(general, loans)}


def _number(d: Decision, oid: str) -> Decimal:
    v = d.value(oid)
    if v is None:
        rules = ", ".join(d.outputs[oid].rules) or "none"
        raise FactsError([error("E513", f"{d.subject_id}: {oid} is undefined (rules: {rules}; "
                                        f"{d.outputs[oid].note})", Location(d.rulebook.file))])
    return money(v)


def provide(cl: Classification, book: DecisionBook, adequacy_book: DecisionBook,
            progress: Callable[[int], None] | None = None) -> Provisions:
    """Reserves and ECL per loan by `book`, and the portfolio's adequacy by `adequacy_book`."""
    provs = []
    for lc in cl.loans:
        facts = dict(lc.loan)
        facts["category"] = lc.category
        d = decide(book, facts, check_facts=False)
        bal = lc.balance
        specific = cents(bal * _number(d, "specific_rate"))
        general = cents(bal * _number(d, "general_rate"))
        ecl = cents(_number(d, "pd") * _number(d, "lgd") * bal)
        provs.append(LoanProvision(lc, d, specific, general, ecl))
        if progress:
            progress(1)
    t = totals_of(cl, provs)
    subject: dict[str, Any] = {"id": Path(cl.file).name, "as_of": cl.as_of}
    for k in ("loans", "non_performing", "general_reserve", "specific_reserve", "reserves", "coverage_ratio",
              "provision_rate", "general_reserve_rate"):
        if t[k] is not None:
            subject[k] = float(t[k])  # type: ignore[arg-type]
    adequacy = decide(adequacy_book, subject)
    return Provisions(cl, book, provs, adequacy)
