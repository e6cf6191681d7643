"""Loan-loss provisions: the money, loan by loan and in total, from the rates the rules decided.

`provide(classification, book, adequacy_book)` runs the provisioning rulebook (`provisions`) on
every classified loan, with the loan's category injected as the fact `category`; the rulebook
decides the general and specific reserve rates, the IFRS 9 stage, the PD and the LGD. This module
only multiplies:

- specific reserve = balance × specific_rate; general reserve = balance × general_rate;
- ECL = PD × LGD × EAD, with EAD = the balance;
- every amount is in the classification's reporting currency (a loan in another currency has its
  balance converted first, see `pingji.decisions.currency`);
- every figure is a Decimal of its shortest representation (`pingji.numbers`); each loan's amounts
  are rounded half-up to the cent, and totals are sums of the rounded amounts; ratios (coverage =
  reserves / non-performing loans, provision rate = reserves / loans, general reserve rate =
  general reserve / loans) are rounded half-up to 4 places.

The totals are then judged by a second rulebook (`provision-adequacy`, facts `provision_totals`):
coverage ratio and provision rate against the supervisory ranges, general reserve against its floor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pingji.decisions.classification import Classification, LoanClass
from pingji.decisions.model import DecisionBook
from pingji.decisions.run import Decision, decide
from pingji.diagnostics import Location, error
from pingji.errors import FactsError, RulebookError
from pingji.numbers import cents, money, ratio

__all__ = ["CONVERTED", "ROUNDING", "LoanProvision", "Provisions", "provide", "require_outputs", "totals_of"]

ROUNDING = ("each loan's amounts half-up to the cent; totals are sums of the rounded amounts; "
            "ratios half-up to 4 places")
CONVERTED = "a balance in another currency is first converted at its rate, half-up to the cent"
# Outputs the provisioning rulebook must decide for every loan.
NUMBERS = ("specific_rate", "general_rate", "pd", "lgd")
STAGE = "stage"
# Outputs the adequacy rulebook must decide for the portfolio.
ADEQUACY = ("coverage", "provision_rate", "general_reserve")


@dataclass
class LoanProvision:
    loan: LoanClass
    decision: Decision
    specific: Decimal
    general: Decimal
    ecl: Decimal

    @property
    def stage(self) -> str:
        return str(self.decision.value(STAGE))


@dataclass
class Provisions:
    classification: Classification
    book: DecisionBook
    loans: list[LoanProvision]
    adequacy: Decision

    def by_category(self) -> list[dict[str, Any]]:
        """Loans, balance and specific reserve per category, best first (every level, even empty)."""
        rows = []
        for level in self.classification.output.levels:
            mine = [p for p in self.loans if p.loan.category == level]
            rows.append({"category": level, "loans": len(mine),
                         "balance": sum((p.loan.balance for p in mine), Decimal(0)),
                         "specific": sum((p.specific for p in mine), Decimal(0))})
        return rows

    def by_stage(self) -> list[dict[str, Any]]:
        """Loans, balance and ECL per IFRS 9 stage."""
        rows = []
        for level in self.book.output(STAGE).levels:
            mine = [p for p in self.loans if p.stage == level]
            rows.append({"stage": level, "loans": len(mine),
                         "balance": sum((p.loan.balance for p in mine), Decimal(0)),
                         "ecl": sum((p.ecl for p in mine), Decimal(0))})
        return rows

    @property
    def rounding(self) -> str:
        """How the figures are rounded: ROUNDING, and CONVERTED when a balance was converted."""
        return f"{CONVERTED}; {ROUNDING}" if self.classification.currency.used() else ROUNDING

    def totals(self) -> dict[str, Decimal | None]:
        return totals_of(self.classification, self.loans)

    def to_dict(self) -> dict[str, Any]:
        t = self.totals()
        return {
            "as_of": self.classification.as_of,
            "reporting_currency": self.classification.currency.reporting,
            "fx": self.classification.currency.fx_dict(),
            "rounding": self.rounding,
            "rulebooks": {"classification": self.classification.book.id, "provisions": self.book.id,
                          "adequacy": self.adequacy.rulebook.id},
            "loans": [{**({"fx": p.loan.fx.to_dict()} if p.loan.fx else {}),
                       "id": p.loan.id, "category": p.loan.category, "balance": str(p.loan.balance),
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
    """The portfolio's totals: sums of the per-loan amounts (already rounded to the cent) and ratios."""
    loans = cl.total()
    npl = cl.non_performing()
    general = sum((p.general for p in provs), Decimal(0))
    specific = sum((p.specific for p in provs), Decimal(0))
    reserves = general + specific
    return {"loans": loans, "non_performing": npl, "general_reserve": general, "specific_reserve": specific,
            "reserves": reserves, "ecl": sum((p.ecl for p in provs), Decimal(0)),
            "coverage_ratio": ratio(reserves, npl), "provision_rate": ratio(reserves, loans),
            "general_reserve_rate": ratio(general, loans)}


def _require(book: DecisionBook, numbers: tuple[str, ...], levels: tuple[str, ...], what: str) -> None:
    have = {o.id: o.type for o in book.outputs}
    lacking = [o for o in numbers if have.get(o) != "number"] + [o for o in levels if have.get(o) != "levels"]
    if lacking:
        need = " and ".join(x for x in (f"{', '.join(numbers)} (numbers)" if numbers else "",
                                        f"{', '.join(levels)} (levels)") if x)
        raise RulebookError([error("E217", f"rulebook '{book.id}' does not decide {', '.join(lacking)}; {what} "
                                           f"needs a rulebook deciding {need}", book.loc)])


def require_outputs(book: DecisionBook, adequacy: DecisionBook | None = None) -> None:
    """Refuse (E217) a provisioning rulebook that does not decide what `provide` multiplies, or an
    adequacy rulebook that does not judge what the totals are shown with."""
    _require(book, NUMBERS, (STAGE,), "provisioning")
    if adequacy is not None:
        _require(adequacy, (), ADEQUACY, "judging the provisions")


def _number(d: Decision, oid: str) -> Decimal:
    v = d.value(oid)
    if v is None:
        o = d.outputs[oid]
        rules = ", ".join(o.rules) or "none"
        raise FactsError([error("E513", f"loan '{d.subject_id}': {oid} is undefined (rules: {rules}; "
                                        f"{o.note or 'no rule decided it and the output has no default'})",
                                Location(d.rulebook.file))])
    return money(v)


def provide(cl: Classification, book: DecisionBook, adequacy_book: DecisionBook,
            progress: Callable[[int], None] | None = None) -> Provisions:
    """Reserves and ECL per loan by `book`, and the portfolio's adequacy by `adequacy_book`."""
    require_outputs(book, adequacy_book)
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
        v = t[k]
        if v is not None:
            subject[k] = float(v)
    adequacy = decide(adequacy_book, subject)
    return Provisions(cl, book, provs, adequacy)
