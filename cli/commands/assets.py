"""Asset quality after the grade: five-category classification (`classify`) and loan-loss provisions (`provisions`)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import click

import pingji
from pingji.cli.options import json_option, lang_option, open_store, progress, rulebooks_option
from pingji.decisions.classification import (
    Classification,
    LoanClass,
    Loans,
    classify_portfolio,
    coarse_grades,
    read_loans,
    require_category,
)
from pingji.decisions.currency import Currencies, FxTable, read_fx
from pingji.decisions.model import DecisionBook
from pingji.decisions.provisions import Provisions, provide, require_outputs
from pingji.decisions.run import Decision
from pingji.numbers import to_decimal
from pingji.rating import catalog

COMMANDS: list[click.Command] = []


def _book(name: str, kind: str, user: tuple[str, ...] = ()) -> DecisionBook:
    book = pingji.load_decision(catalog.find(name, user=user), kind=kind)
    if kind == "classification":
        require_category(book)
    return book


def _amount(d: Decimal | None) -> str:
    return "-" if d is None else f"{d:,.2f}"


def _pct(d: Decimal | None, places: int = 2) -> str:
    return "-" if d is None else f"{d * 100:.{places}f}%"


def _rate(d: Decimal | None) -> str:
    """A rate as a percentage with no trailing zeros: 2%, 27.5%, 100%."""
    return "-" if d is None else f"{(d * 100).normalize():f}%"


def _why(d: Decision, oid: str, lang: str) -> str:
    out = d.outputs[oid]
    if out.by_default:
        return "no rule fired: the default"
    parts = []
    for rid, at in zip(out.rules, out.at):
        rule = d.rulebook.rule(rid)
        parts.append(f"{rid} ({at}): {rule.reason.get(lang)}")
    return "; ".join(parts)


def _reporting(cur: Currencies) -> str:
    """The header line naming the reporting currency, and the FX table with the rates it used."""
    if cur.fx is None:
        return f"reporting currency {cur.reporting}"
    used = cur.used()
    if not used:
        return f"reporting currency {cur.reporting} (FX table {cur.fx.file}: no loan needed a rate)"
    rates = "; ".join(f"1 {r.currency} = {r.rate} {cur.reporting} as of {r.as_of}" for r in used)
    return f"reporting currency {cur.reporting} (FX table {cur.fx.file}: {rates}; rates at most {cur.max_age_days} days old)"


def _converted(lc: LoanClass) -> str:
    """What a converted loan's row adds: its balance as written and the rate."""
    return f" [{lc.fx.currency} {_amount(lc.fx.amount)} at {lc.fx.rate.rate}]" if lc.fx else ""


def _grades(db_path: str | None) -> dict[str, str]:
    """customer id → coarse grade of its latest evaluation, expert overrides included."""
    if not db_path:
        return {}
    with open_store(db_path, readonly=True) as store:
        return coarse_grades(store.latest_ratings(), store.scales())




def _classify(loans_file: str, book: DecisionBook, db_path: str | None,
              fx_file: str | None) -> tuple[Loans, Classification]:
    loans = read_loans(loans_file)
    fx: FxTable | None = read_fx(fx_file) if fx_file else None
    passes = len(loans.loans) + sum(1 for x in loans.loans if x.get("customer_type") == "non_retail")
    with progress(passes, f"classifying {loans.file}") as tick:
        return loans, classify_portfolio(book, loans, _grades(db_path), tick, fx)


fx_option = click.option(
    "--fx", "fx_file", metavar="FILE", default=None,
    help="FX table (YAML or CSV: reporting currency, rates dated as_of) converting loans in other currencies into "
         "the reporting currency; needed when the loans are in more than one currency.")


def _echo_json(d: dict[str, Any]) -> None:
    click.echo(json.dumps(d, sort_keys=True, ensure_ascii=False, indent=2, allow_nan=False))


def _summary(cl: Classification, lang: str) -> None:
    out = cl.book.output("category")
    click.echo("")
    click.echo(f"{'category':<18}{'loans':>6}{'balance':>18}{'share':>9}")
    for r in cl.summary():
        click.echo(f"{r['category']:<18}{r['loans']:>6}{_amount(r['balance']):>18}{_pct(r['share']):>9}")
    total = cl.total()
    npl = cl.non_performing()
    n_npl = sum(1 for lc in cl.loans if lc.category in out.non_performing)
    click.echo(f"{'total':<18}{len(cl.loans):>6}{_amount(total):>18}")
    click.echo(f"{'non-performing':<18}{n_npl:>6}{_amount(npl):>18}{_pct(npl / total if total else None):>9}")


@click.command()
@click.argument("loans", type=click.Path(dir_okay=False))
@click.option("--rulebook", "-r", metavar="ID|PATH", default="five-category", show_default=True,
              help="Classification rulebook.")
@click.option("--db", "db_path", metavar="FILE", default=None,
              help="Take each borrower's grade from this store (its latest evaluation) where a loan does not "
                   "give borrower.grade.")
@fx_option
@rulebooks_option
@json_option
@lang_option
def classify(loans: str, rulebook: str, db_path: str | None, fx_file: str | None, rulebooks: tuple[str, ...],
             as_json: bool, lang: str) -> None:
    """Classify loans into the five categories (正常/关注/次级/可疑/损失) by the 2023 measures.

    LOANS is a YAML or JSON file `{as_of: YYYY-MM-DD, loans: [...]}`, or a .jsonl file (a first
    line `{"as_of": ...}`, then one loan per line); each loan as `pingji schema loan` describes it
    (id, customer_id, balance, dates, days past due, restructuring, ...).
    Prints each loan's category with the rules that decided it (rulebook file:line) and why, then
    the portfolio by category. A borrower's loans are decided twice: the second pass knows the
    share of the borrower's balance that is non-performing (the 10% rule; the exact share, shown
    rounded to 0.01%).

    Amounts are in one reporting currency, shown under the title: the loans' currency (CNY when
    they give none). Loans in more than one currency are refused unless --fx gives an FX table;
    each balance in another currency is then converted (half-up to the cent) at a rate at most
    the rulebook's fx_max_age_days old. See docs/currencies.md.

    Example:

        pingji classify facts/loans/portfolio.yaml
    """
    _, cl = _classify(loans, _book(rulebook, "classification", rulebooks), db_path, fx_file)
    if as_json:
        _echo_json(cl.to_dict())
        return
    b = cl.book
    click.echo(f"classification of {cl.file} as of {cl.as_of} (rulebook {b.id} {b.version}, {b.file})")
    click.echo(_reporting(cl.currency))
    click.echo("")
    click.echo(f"{'loan':<8}{'customer':<12}{'balance':>16}  {'category':<17} decided by")
    for lc in cl.loans:
        why = _why(lc.decision, "category", lang)
        if lc.first_pass != lc.category:
            share = cl.shares.get(str(lc.loan["customer_id"]))
            why += f" [pass 1: {lc.first_pass}; borrower non-performing share {_pct(share)}]"
        click.echo(f"{lc.id:<8}{str(lc.loan['customer_id']):<12}{_amount(lc.balance):>16}  {lc.category:<17} {why}"
                   f"{_converted(lc)}")
    _summary(cl, lang)


def _provisions(loans: str, rulebook: str, classification: str, adequacy: str, db_path: str | None,
                fx_file: str | None, user: tuple[str, ...] = ()) -> Provisions:
    # rulebook errors before data errors
    books = _book(rulebook, "provisioning", user), _book(adequacy, "provisioning", user)
    require_outputs(*books)
    _, cl = _classify(loans, _book(classification, "classification", user), db_path, fx_file)
    with progress(len(cl.loans), "provisioning") as tick:
        return provide(cl, *books, progress=tick)


@click.command()
@click.argument("loans", type=click.Path(dir_okay=False))
@click.option("--rulebook", "-r", metavar="ID|PATH", default="provisions", show_default=True,
              help="Provisioning rulebook (rates, IFRS 9 stage, PD, LGD per loan).")
@click.option("--classification", metavar="ID|PATH", default="five-category", show_default=True,
              help="Classification rulebook run first.")
@click.option("--adequacy", metavar="ID|PATH", default="provision-adequacy", show_default=True,
              help="Rulebook judging the portfolio's coverage ratio and provision rate.")
@click.option("--db", "db_path", metavar="FILE", default=None,
              help="Take each borrower's grade from this store where a loan does not give borrower.grade.")
@fx_option
@rulebooks_option
@json_option
@lang_option
def provisions(loans: str, rulebook: str, classification: str, adequacy: str, db_path: str | None,
               fx_file: str | None, rulebooks: tuple[str, ...], as_json: bool, lang: str) -> None:
    """Loan-loss reserves and IFRS 9 expected credit loss for a portfolio of loans.

    Classifies LOANS (as `pingji classify` does), then per loan: the specific reserve (rate by
    category), the general reserve, the IFRS 9 stage and ECL = PD × LGD × balance; then totals by
    category and stage, the coverage ratio (reserves / non-performing loans) and the loan
    provision rate (reserves / loans) judged against the supervisory ranges.

    Rounding: every amount is an exact decimal of the figures given; each loan's amounts are
    rounded half-up to the cent and totals are sums of the rounded amounts; ratios are rounded
    half-up to 4 places.

    Every amount is in the reporting currency (see `pingji classify`; --fx converts a portfolio in
    more than one currency first).

    Example:

        pingji provisions facts/loans/portfolio.yaml
    """
    p = _provisions(loans, rulebook, classification, adequacy, db_path, fx_file, rulebooks)
    if as_json:
        _echo_json(p.to_dict())
        return
    cl, b, a = p.classification, p.book, p.adequacy
    click.echo(f"provisions for {cl.file} as of {cl.as_of} (rulebooks {cl.book.id} {cl.book.version}, "
               f"{b.id} {b.version}, {a.rulebook.id} {a.rulebook.version})")
    click.echo(_reporting(cl.currency))
    click.echo(f"rounding: {p.rounding}")
    click.echo("")
    click.echo(f"{'loan':<8}{'category':<17}{'balance':>16}{'rate':>8}{'specific':>16}{'general':>13}  "
               f"{'stage':<9}{'PD':>9}{'LGD':>7}{'ECL':>16}")
    for lp in p.loans:
        d = lp.decision
        click.echo(f"{lp.loan.id:<8}{lp.loan.category:<17}{_amount(lp.loan.balance):>16}"
                   f"{_rate(d.value('specific_rate')):>8}{_amount(lp.specific):>16}{_amount(lp.general):>13}  "
                   f"{lp.stage:<9}{_pct(d.value('pd')):>9}{_rate(d.value('lgd')):>7}{_amount(lp.ecl):>16}"
                   f"{_converted(lp.loan)}")
    click.echo("")
    click.echo(f"{'category':<18}{'loans':>6}{'balance':>18}{'specific reserve':>18}")
    for r in p.by_category():
        click.echo(f"{r['category']:<18}{r['loans']:>6}{_amount(r['balance']):>18}{_amount(r['specific']):>18}")
    click.echo("")
    click.echo(f"{'IFRS 9 stage':<18}{'loans':>6}{'balance':>18}{'ECL':>18}")
    for r in p.by_stage():
        click.echo(f"{r['stage']:<18}{r['loans']:>6}{_amount(r['balance']):>18}{_amount(r['ecl']):>18}")
    t = p.totals()
    params = {q.id: to_decimal(q.value) for q in a.rulebook.parameters}

    def rng(lo: str, hi: str) -> str:
        if lo in params and hi in params:
            return f" (range {_pct(params[lo], 1)}–{_pct(params[hi], 1)})"
        return ""

    click.echo("")
    click.echo(f"{'loans':<22}{_amount(t['loans']):>18}")
    click.echo(f"{'non-performing loans':<22}{_amount(t['non_performing']):>18}")
    click.echo(f"{'general reserve':<22}{_amount(t['general_reserve']):>18}  {_pct(t['general_reserve_rate'])} of loans: "
               f"{a.value('general_reserve')} — {_why(a, 'general_reserve', lang)}")
    click.echo(f"{'specific reserves':<22}{_amount(t['specific_reserve']):>18}")
    click.echo(f"{'reserves':<22}{_amount(t['reserves']):>18}")
    click.echo(f"{'ECL (IFRS 9)':<22}{_amount(t['ecl']):>18}")
    click.echo(f"{'coverage ratio':<22}{_pct(t['coverage_ratio']):>18}  {a.value('coverage')}{rng('coverage_low', 'coverage_high')} — "
               f"{_why(a, 'coverage', lang)}")
    click.echo(f"{'loan provision rate':<22}{_pct(t['provision_rate']):>18}  {a.value('provision_rate')}{rng('rate_low', 'rate_high')}"
               f" — {_why(a, 'provision_rate', lang)}")


COMMANDS.extend([classify, provisions])
