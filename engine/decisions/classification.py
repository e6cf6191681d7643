"""After the grade, loan by loan: reading LOANS files and five-category classification.

A LOANS file is YAML or JSON: `{as_of: 'YYYY-MM-DD', loans: [ {loan}, ... ]}`, each loan as
facts/loan.schema.json describes it; or JSONL (`.jsonl`): a first line `{"as_of": "YYYY-MM-DD"}`,
then one loan per line. Every category is decided by the rules of a classification rulebook
(`five-category`) that fired in the engine, or is the rulebook's default (normal) when none did;
this module reads the file and runs the rulebook.
Provisions (the money) are in `pingji.decisions.provisions`.

Every amount added up is in one reporting currency (`pingji.decisions.currency`): a portfolio in
more than one currency is refused unless an FX table converts its balances; the shares and totals
below are of the converted balances.

Classification runs the rules twice. Pass 1 classifies every loan. Then, for each non-retail
borrower, `borrower.non_performing_share` = (balance of its loans in a non-performing category —
the output's `non_performing` levels — after pass 1) / (its total balance in the file): an exact
decimal quotient, not rounded, given to the rules as a number (shown rounded to 4 places). Pass 2
decides that borrower's loans again with the share known, so the rulebook's borrower rule (more
than 10% non-performing → all non-performing) is a rule that fires and is traced. A share of
exactly 10% is not *more than* 10%. Retail borrowers get no share; nor does a borrower whose
balance is 0.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from pingji.builtin import facts_dir
from pingji.decisions.currency import Conversion, Currencies, FxTable, convert
from pingji.decisions.model import DecisionBook, Output
from pingji.decisions.run import Decision, decide
from pingji.diagnostics import Diagnostic, Location, error, sort_key
from pingji.errors import FactsError, RulebookError
from pingji.lang.facts import FactsFile, read_facts
from pingji.lang.factschema import check_facts, load_schema
from pingji.lang.source import load_yaml_text
from pingji.numbers import cents, money, ratio, round_half_up
from pingji.rating import catalog
from pingji.rating.load import load_rulebook

__all__ = ["CATEGORY_OUTPUT", "Classification", "LoanClass", "Loans", "classify_portfolio", "coarse_grades",
           "default_currency", "read_loans", "require_category"]

CATEGORY_OUTPUT = "category"
MAX_LOANS = 200_000


@dataclass(frozen=True)
class Loans:
    """A LOANS file read and checked: the portfolio date and each loan with where it stands, and each
    loan's currency with where it is said (the schema's default and the loan's place when it says none;
    left empty, every loan is in the currency it gives or the default)."""

    file: str
    as_of: str
    loans: tuple[dict[str, Any], ...]
    locs: tuple[Location, ...]
    currencies: tuple[tuple[str, Location], ...] = ()

    def currency_of(self) -> tuple[tuple[str, Location], ...]:
        if self.currencies:
            return self.currencies
        default = default_currency()
        return tuple((str(loan.get("currency") or default), loc) for loan, loc in zip(self.loans, self.locs))


def default_currency() -> str:
    """The currency of a loan that gives none: facts/loan.schema.json's `currency.default` (CNY)."""
    return str(load_schema(facts_dir() / "loan.schema.json")["properties"]["currency"]["default"])


def _date(text: Any) -> _dt.date | None:
    try:
        return _dt.date.fromisoformat(str(text))
    except ValueError:
        return None


def _read_jsonl(path: str | os.PathLike[str]) -> FactsFile:
    """A `.jsonl` LOANS file as `{as_of, loans}`, with locations: line n of the file, and on demand
    (for an error message) the column of a value inside its line."""
    name = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            lines = [(n, text.rstrip("\r\n")) for n, text in enumerate(fh, 1) if text.strip()]
    except OSError as exc:
        raise FactsError([error("E001", f"cannot read file: {exc.strerror or exc}", Location(name))]) from None
    except UnicodeDecodeError as exc:
        raise FactsError([error("E901", f"not UTF-8 text (byte {exc.start}: {exc.reason})", Location(name))]) from None
    if len(lines) > MAX_LOANS + 1:
        raise FactsError([error("E510", f"{len(lines) - 1} loans in one file; the limit is {MAX_LOANS:,} "
                                        f"(split the portfolio)", Location(name, lines[MAX_LOANS + 1][0], 1))])
    values: list[Any] = []
    bad: list[Diagnostic] = []
    for n, text in lines:
        try:
            values.append(json.loads(text))
        except ValueError as exc:
            bad.append(error("E901", f"not JSON: {getattr(exc, 'msg', exc)}", Location(name, n, getattr(exc, "colno", 0))))
    if bad:
        raise FactsError(bad)
    if not values:
        raise FactsError([error("E510", 'an empty JSONL file: the first line is {"as_of": "YYYY-MM-DD"}, then '
                                        "one loan per line", Location(name))])
    header, loans = values[0], values[1:]
    if not isinstance(header, dict) or "id" in header:
        header = {}  # no header line: as_of is reported missing below
        loans = values
        lines = [(0, "{}"), *lines]
    data = {**header, "loans": loans}

    def locate(p: tuple[Any, ...]) -> Location:
        if not p or p[0] != "loans":
            k = 0
        elif len(p) == 1:
            return Location(name, lines[1][0] if len(lines) > 1 else 1, 1)
        else:
            k = int(p[1]) + 1
            p = tuple(p[2:])
        n, text = lines[k]
        if n == 0:
            return Location(name, 1, 1)
        inner = load_yaml_text(text, name, expect_mapping=False).loc(p)
        return replace(inner, line=n) if inner.line else Location(name, n, 1)

    return FactsFile(data, name, locate)


def read_loans(path: str | os.PathLike[str], *, today: _dt.date | None = None) -> Loans:
    """Read a LOANS file; raise FactsError listing every problem, each at its file:line:col.

    Refused: a file that is not `{as_of, loans}`, an `as_of` after today, loans that fail
    facts/loan.schema.json (missing fields, negative balances, wrong types, dates that are not
    YYYY-MM-DD), a duplicate loan id, a drawdown or restructuring dated after `as_of` (a date in
    the future), a maturity before the drawdown. Problems are listed in file order.
    """
    doc = _read_jsonl(path) if Path(path).suffix.lower() in (".jsonl", ".ndjson") else read_facts(path)
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
        raise FactsError(sorted(diags, key=sort_key))
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
        diags.extend(_dates(loan, as_of, label, here, loc))
    if diags:
        raise FactsError(sorted(diags, key=sort_key))
    assert as_of is not None
    locs = tuple(loc(("loans", i)) for i in range(len(loans)))
    default = str(schema["properties"]["currency"]["default"])
    currencies = tuple((str(x["currency"]), loc(("loans", i, "currency"))) if "currency" in x else (default, locs[i])
                       for i, x in enumerate(loans))
    return Loans(file, as_of.isoformat(), tuple(loans), locs, currencies)


def _dates(loan: Mapping[str, Any], as_of: _dt.date, label: str, here: tuple[Any, ...],
           locate: Callable[[tuple[Any, ...]], Location]) -> Iterator[Diagnostic]:
    """E511 for a schema-valid loan's dates: nothing after as_of, no maturity before the drawdown."""

    def loc(p: tuple[str, ...]) -> Location:
        return locate(here + p)

    start, maturity = _date(loan["start_date"]), _date(loan["maturity_date"])
    if start and start > as_of:
        yield error("E511", f"{label}: start_date {start} is after as_of {as_of} (a date in the future)",
                    loc(("start_date",)))
    if start and maturity and maturity < start:
        yield error("E511", f"{label}: maturity_date {maturity} is before start_date {start}", loc(("maturity_date",)))
    restructuring = loan.get("restructuring") or {}
    rdate = _date(restructuring.get("date", ""))
    if rdate and rdate > as_of:
        yield error("E511", f"{label}: restructuring.date {rdate} is after as_of {as_of} (a date in the future)",
                    loc(("restructuring", "date")))
    if rdate and start and rdate < start:
        yield error("E511", f"{label}: restructuring.date {rdate} is before start_date {start}",
                    loc(("restructuring", "date")))


def require_category(book: DecisionBook) -> Output:
    """The classification rulebook's `category` output; E217 when it has none (of ordered levels)."""
    try:
        out = book.output(CATEGORY_OUTPUT)
    except KeyError:
        out = None
    if out is None or out.type != "levels":
        raise RulebookError([error("E217", f"rulebook '{book.id}' does not decide a category (an output "
                                           f"'{CATEGORY_OUTPUT}' with levels); classify needs one", book.loc)])
    return out


# -- classification -----------------------------------------------------------------------------------


@dataclass
class LoanClass:
    loan: dict[str, Any]  # the loan's facts as the rules saw them in the deciding pass
    decision: Decision
    first_pass: str  # the category before the borrower rule
    fx: Conversion | None = None  # the balance converted into the reporting currency, if it is in another

    @property
    def id(self) -> str:
        return str(self.loan["id"])

    @property
    def category(self) -> str:
        return str(self.decision.value(CATEGORY_OUTPUT))

    @property
    def balance(self) -> Decimal:
        """The balance in the reporting currency (converted, to the cent, when the loan is in another)."""
        return self.fx.converted if self.fx else money(self.loan["balance"])

    def to_dict(self) -> dict[str, Any]:
        """What the JSON output says of the loan before its decision: a converted loan adds `fx`."""
        d = {"id": self.id, "customer_id": self.loan["customer_id"], "balance": str(self.balance),
             "category": self.category}
        return {**d, "fx": self.fx.to_dict()} if self.fx else d


@dataclass
class Classification:
    book: DecisionBook
    as_of: str
    file: str
    loans: list[LoanClass]
    currency: Currencies  # the reporting currency, and the FX table that converted balances into it
    # non-retail borrower -> its non-performing share after pass 1, exact (see the module docstring)
    shares: dict[str, Decimal] = field(default_factory=dict)

    @property
    def output(self) -> Output:
        """The rulebook's category output: its levels (best first) and which are non-performing."""
        return self.book.output(CATEGORY_OUTPUT)

    def summary(self) -> list[dict[str, Any]]:
        """Count, balance and share of balance per category, best first (every level, even empty)."""
        out = self.output
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
        npl = set(self.output.non_performing)
        return cents(sum((lc.balance for lc in self.loans if lc.category in npl), Decimal(0)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "file": self.file,
            "rulebook": {"id": self.book.id, "version": self.book.version, "hash": self.book.content_hash},
            "reporting_currency": self.currency.reporting,
            "fx": self.currency.fx_dict(),
            "loans": [{**lc.to_dict(), "first_pass": lc.first_pass, "decision": lc.decision.to_dict()}
                      for lc in self.loans],
            "borrower_non_performing_share": {k: str(round_half_up(v, 4))
                                              for k, v in sorted(self.shares.items())},
            "summary": [{**r, "balance": str(r["balance"]), "share": None if r["share"] is None else str(r["share"])}
                        for r in self.summary()],
            "total": str(self.total()),
            "non_performing": str(self.non_performing()),
        }


def coarse_grades(ratings: Sequence[Mapping[str, Any]],
                  stored: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> dict[str, str]:
    """customer id → the coarse grade (A/B/C) of its effective grade, from `Store.latest_ratings()`.

    An expert override's grade on a master scale (M8) is mapped to its coarse grade by the scale of
    the rating rulebook version that rated the customer: the one stored with it (`stored`:
    `Store.scales()`, by the row's `rulebook_hash`; a user's own rulebook too), else the built-in
    rulebook of its id; a grade that cannot be mapped is left out (the loan is then treated as unrated).
    """
    scales: dict[str, dict[str, str]] = {}
    out: dict[str, str] = {}
    for r in ratings:
        rid = str(r.get("rulebook_id") or "")
        digest = str(r.get("rulebook_hash") or "")
        if stored and digest in stored:
            rid = "#" + digest
            if rid not in scales:
                scales[rid] = {str(g["grade"]): str(g.get("coarse") or g["grade"]) for g in stored[digest]}
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
                       progress: Callable[[int], None] | None = None, fx: FxTable | None = None) -> Classification:
    """Classify every loan (two passes, see the module docstring). `grades`: customer id → coarse
    grade, used where a loan does not say `borrower.grade`. `progress(n)` is told of every loan
    decided (twice per loan of a non-retail borrower). Balances in more than one currency need `fx`
    (FactsError E530 before any loan is decided; see `pingji.decisions.currency.convert`)."""
    grades = grades or {}
    tick = progress or (lambda n: None)
    npl = set(require_category(book).non_performing)
    money_in = convert(loans.loans, loans.currency_of(), loans.as_of, fx, book)
    conversions = money_in.conversions or (None,) * len(loans.loans)
    first: list[Decision] = []
    for loan, loc in zip(loans.loans, loans.locs):
        facts = _with(loan, loans.as_of, grades.get(str(loan["customer_id"])), None)
        first.append(decide(book, facts, label=loc.short(), check_facts=False))
        tick(1)
    totals: dict[str, list[Decimal]] = {}
    for loan, d, conv in zip(loans.loans, first, conversions):
        if loan.get("customer_type") != "non_retail":
            continue
        bal = conv.converted if conv else money(loan["balance"])
        t = totals.setdefault(str(loan["customer_id"]), [Decimal(0), Decimal(0)])
        t[0] += bal
        if d.value(CATEGORY_OUTPUT) in npl:
            t[1] += bal
    shares = {cid: t[1] / t[0] for cid, t in totals.items() if t[0]}
    result = []
    for loan, loc, d1, conv in zip(loans.loans, loans.locs, first, conversions):
        cid = str(loan["customer_id"])
        facts = _with(loan, loans.as_of, grades.get(cid), shares.get(cid))
        d2 = d1
        if cid in shares:
            d2 = decide(book, facts, label=loc.short(), check_facts=False)
        if cid in totals:
            tick(1)  # a non-retail loan counts twice, decided again or not (a borrower with balance 0)
        result.append(LoanClass(facts, d2, str(d1.value(CATEGORY_OUTPUT)), conv))
    return Classification(book, loans.as_of, loans.file, result, money_in, shares)
