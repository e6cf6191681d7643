"""Issue 12.5: loans in more than one currency were added together. A mixed portfolio is refused
(E530) unless an FX table (`--fx FILE`) converts it into one reporting currency, shown in the output."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import pingji
from pingji.cli.main import cli
from pingji.decisions.classification import classify_portfolio, read_loans
from pingji.decisions.currency import read_fx
from pingji.errors import FactsError
from pingji.numbers import round_half_up

ROOT = Path(__file__).resolve().parent.parent

# L01 in CNY (no currency given: the schema's default), two loans in USD, one in EUR.
MIXED = """\
as_of: "2026-06-30"
loans:
  - {id: L01, customer_id: c1, customer_type: non_retail, balance: 1000000.00, start_date: "2025-07-01",
     maturity_date: "2027-06-30", days_past_due: {principal: 0, interest: 0}, borrower: {grade: A}}
  - {id: U01, customer_id: c2, customer_type: non_retail, balance: 100000.00, currency: USD,
     start_date: "2025-07-01", maturity_date: "2027-06-30", days_past_due: {principal: 95, interest: 0}}
  - {id: U02, customer_id: c3, customer_type: retail, balance: 12345.67, currency: USD,
     start_date: "2025-07-01", maturity_date: "2027-06-30", days_past_due: {principal: 0, interest: 0}}
  - {id: E01, customer_id: c4, customer_type: retail, balance: 1000.05, currency: EUR,
     start_date: "2025-07-01", maturity_date: "2027-06-30", days_past_due: {principal: 0, interest: 0}}
"""

FX = """\
reporting: CNY
rates:
  - {currency: USD, rate: 7.1234, as_of: 2026-06-30}
  - {currency: EUR, rate: 7.7, as_of: 2026-06-26}
"""

FX_CSV = "currency,reporting,rate,as_of\nUSD,CNY,7.1234,2026-06-30\nEUR,CNY,7.7,2026-06-26\n"

# Converted by hand, half-up to the cent:
#   U01 100,000.00 × 7.1234 = 712,340.00
#   U02  12,345.67 × 7.1234 =  87,943.145678 → 87,943.15
#   E01   1,000.05 × 7.7    =   7,700.385    → 7,700.39 (half-up; half-even would give 7,700.38)
# total 1,000,000.00 + 712,340.00 + 87,943.15 + 7,700.39 = 1,807,983.54; U01 (95 days) is the only
# non-performing loan: 712,340.00 / 1,807,983.54 = 39.40%; normal 1,095,643.54 = 60.60%.
CLASSIFY_TAIL = [
    "category           loans           balance    share",
    "normal                 3      1,095,643.54   60.60%",
    "special_mention        0              0.00    0.00%",
    "substandard            1        712,340.00   39.40%",
    "doubtful               0              0.00    0.00%",
    "loss                   0              0.00    0.00%",
    "total                  4      1,807,983.54",
    "non-performing         1        712,340.00   39.40%",
]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(ROOT)
    (tmp_path / "mixed.yaml").write_text(MIXED, encoding="utf-8")
    (tmp_path / "fx.yaml").write_text(FX, encoding="utf-8")
    return tmp_path


def run(*args: Any) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args])


def header(fx: Path) -> str:
    return (f"reporting currency CNY (FX table {fx}: 1 EUR = 7.7 CNY as of 2026-06-26; 1 USD = 7.1234 CNY as of "
            f"2026-06-30; rates at most 10 days old)")


@pytest.mark.parametrize("command", ["classify", "provisions"])
def test_issue12_5_a_mixed_portfolio_without_fx_is_refused_at_the_first_loan_in_another_currency(
        here: Path, command: str) -> None:
    f = here / "mixed.yaml"
    r = run(command, f)
    assert (r.exit_code, r.output) == (1, (
        f"{f}:5:89: error[E530]: loan 'U01' is in USD but loan 'L01' (line 3) is in CNY (it gives no currency: the "
        f"default): amounts in two currencies are not added up (give an FX table to convert them into one "
        f"reporting currency: --fx FILE)\n"))
    r = run(command, f, "--json")
    assert r.exit_code == 1 and "total" not in r.output


def test_issue12_5_classify_with_fx_converts_and_shows_the_reporting_currency(here: Path) -> None:
    fx = here / "fx.yaml"
    r = run("classify", here / "mixed.yaml", "--fx", fx)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[1] == header(fx)
    assert lines[4].startswith("L01     c1              1,000,000.00  normal            no rule fired")
    assert lines[5].startswith("U01     c2                712,340.00  substandard       overdue-90 ")
    assert lines[5].endswith(" [USD 100,000.00 at 7.1234]")
    assert lines[6] == "U02     c3                 87,943.15  normal            no rule fired: the default [USD 12,345.67 at 7.1234]"
    assert lines[7] == "E01     c4                  7,700.39  normal            no rule fired: the default [EUR 1,000.05 at 7.7]"
    assert lines[-8:] == CLASSIFY_TAIL


def test_issue12_5_a_csv_fx_table_gives_the_same_figures(here: Path) -> None:
    fx = here / "fx.csv"
    fx.write_text(FX_CSV, encoding="utf-8")
    r = run("classify", here / "mixed.yaml", "--fx", fx)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[1] == header(fx)
    assert r.output.splitlines()[-8:] == CLASSIFY_TAIL


def test_issue12_5_provisions_with_fx_exact_totals(here: Path) -> None:
    fx = here / "fx.yaml"
    r = run("provisions", here / "mixed.yaml", "--fx", fx)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[1] == header(fx)
    assert lines[2] == ("rounding: a balance in another currency is first converted at its rate, half-up to the cent; "
                        "each loan's amounts half-up to the cent; totals are sums of the rounded amounts; ratios "
                        "half-up to 4 places")
    # general 1%: 10,000.00 + 7,123.40 + 879.43 (879.4315) + 77.00 (77.0039) = 18,079.83
    # specific: U01 substandard 25% of 712,340.00 = 178,085.00; reserves 196,164.83
    # ECL: L01 0.5% × 45% × 1,000,000 = 2,250.00; U01 100% × 45% × 712,340 = 320,553.00;
    #      U02 5% × 45% × 87,943.15 = 1,978.720875 → 1,978.72; E01 5% × 45% × 7,700.39 = 173.258775 → 173.26
    #      = 324,954.98
    assert lines[6] == ("U01     substandard            712,340.00     25%      178,085.00     7,123.40  stage_3    "
                        "100.00%    45%      320,553.00 [USD 100,000.00 at 7.1234]")
    assert lines[8] == ("E01     normal                   7,700.39      0%            0.00        77.00  stage_1      "
                        "5.00%    45%          173.26 [EUR 1,000.05 at 7.7]")
    assert [ln[:40] for ln in lines if ln.startswith(("loans ", "non-performing loans", "specific reserves",
                                                       "reserves ", "ECL (IFRS 9)"))] == [
        "loans                       1,807,983.54", "non-performing loans          712,340.00",
        "specific reserves             178,085.00", "reserves                      196,164.83",
        "ECL (IFRS 9)                  324,954.98"]
    r = run("provisions", here / "mixed.yaml", "--fx", fx, "--json")
    d = json.loads(r.output)
    # coverage 196,164.83 / 712,340.00 = 0.27538… → 0.2754; provision rate / 1,807,983.54 = 0.10850… → 0.1085
    assert d["totals"] == {"loans": "1807983.54", "non_performing": "712340.00", "general_reserve": "18079.83",
                           "specific_reserve": "178085.00", "reserves": "196164.83", "ecl": "324954.98",
                           "coverage_ratio": "0.2754", "provision_rate": "0.1085", "general_reserve_rate": "0.0100"}
    assert d["reporting_currency"] == "CNY"
    assert d["fx"] == {"file": str(fx), "reporting": "CNY", "max_age_days": "10", "rates": [
        {"currency": "EUR", "rate": "7.7", "as_of": "2026-06-26"},
        {"currency": "USD", "rate": "7.1234", "as_of": "2026-06-30"}]}
    assert [(x["id"], x["balance"], x.get("fx")) for x in d["loans"]] == [
        ("L01", "1000000.0", None),
        ("U01", "712340.00", {"currency": "USD", "balance": "100000.0", "rate": "7.1234", "as_of": "2026-06-30"}),
        ("U02", "87943.15", {"currency": "USD", "balance": "12345.67", "rate": "7.1234", "as_of": "2026-06-30"}),
        ("E01", "7700.39", {"currency": "EUR", "balance": "1000.05", "rate": "7.7", "as_of": "2026-06-26"})]


def test_issue12_5_the_borrower_share_is_of_converted_balances(here: Path) -> None:
    # c1: CNY 1,000,000 normal and USD 20,000 (142,468.00 CNY) 95 days overdue: 142,468 / 1,142,468 = 12.47%
    # > 10%, so the CNY loan follows; in raw figures 20,000 / 1,020,000 = 1.96% would have left it normal.
    loans = here / "one-borrower.yaml"
    loans.write_text(MIXED.replace("id: U01, customer_id: c2", "id: U01, customer_id: c1")
                     .replace("balance: 100000.00, currency: USD", "balance: 20000.00, currency: USD"), encoding="utf-8")
    cl = classify_portfolio(pingji.load_decision(ROOT / "rulebooks" / "five-category.yaml", kind="classification"),
                            read_loans(loans), fx=read_fx(here / "fx.yaml"))
    assert str(round_half_up(cl.shares["c1"], 4)) == "0.1247"
    assert [(lc.id, lc.category, str(lc.balance)) for lc in cl.loans][:2] == [
        ("L01", "substandard", "1000000.0"), ("U01", "substandard", "142468.00")]


@pytest.mark.parametrize("command", ["classify", "provisions"])
def test_issue12_5_a_single_currency_portfolio_shows_its_currency_and_nothing_else_changes(
        here: Path, command: str) -> None:
    usd = here / "usd.yaml"
    usd.write_text("as_of: '2026-06-30'\nloans:\n  - {id: U1, customer_id: c, balance: 100.5, currency: USD,\n"
                   "     start_date: '2025-01-01', maturity_date: '2027-01-01', days_past_due: {principal: 0, interest: 0}}\n",
                   encoding="utf-8")
    r = run(command, usd)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[1] == "reporting currency USD"
    assert "100.50" in r.output and "[USD" not in r.output
    d = json.loads(run(command, usd, "--json").output)
    assert (d["reporting_currency"], d["fx"]) == ("USD", None)
    assert "fx" not in d["loans"][0]
    # an FX table whose reporting currency is the portfolio's converts nothing
    fx = here / "usd-fx.yaml"
    fx.write_text("reporting: USD\nrates:\n  - {currency: CNY, rate: 0.14, as_of: 2020-01-01}\n", encoding="utf-8")
    r = run(command, usd, "--fx", fx)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[1] == f"reporting currency USD (FX table {fx}: no loan needed a rate)"
    # and an FX table into another reporting currency converts every loan
    fx.write_text("reporting: CNY\nrates:\n  - {currency: USD, rate: 7, as_of: 2026-06-30}\n", encoding="utf-8")
    d = json.loads(run(command, usd, "--fx", fx, "--json").output)
    assert d["reporting_currency"] == "CNY"
    assert d["loans"][0]["balance"] == "703.50"  # 100.5 × 7


BAD_FX = {
    "missing-currency": ("reporting: CNY\nrates:\n  - {rate: 7.1234, as_of: 2026-06-30}\n",
                         ["{f}:3:5: error[E531]: rates[0]: currency required"]),
    "zero-rate": ("reporting: CNY\nrates:\n  - {currency: USD, rate: 0, as_of: 2026-06-30}\n",
                  ["{f}:3:27: error[E533]: rate 0 is not a number greater than 0"]),
    "bad-date": ("reporting: CNY\nrates:\n  - {currency: USD, rate: 7.1, as_of: 2026-06-31}\n",
                 ["{f}:3:39: error[E534]: as_of '2026-06-31' is not a date (YYYY-MM-DD)"]),
    "malformed": ("reporting: CNY\nrates: [\n", ["{f}:3:1: error[E003]: invalid YAML: did not find expected node content"]),
    "everything": (("reporting: CNY\nrates:\n  - {currency: usd, rate: -1, as_of: 2026-06-30}\n"
                   "  - {currency: CNY, rate: 1, as_of: 2026-06-30}\n"
                   "  - {currency: EUR, rate: 7.7, as_of: 2026-06-30}\n"
                   "  - {currency: EUR, rate: x, as_of: 30/06/2026, extra: 1}\n"),
                   ["{f}:3:16: error[E532]: currency 'usd' is not a currency code (three capital letters, ISO 4217)",
                    "{f}:3:27: error[E533]: rate -1 is not a number greater than 0",
                    "{f}:4:16: error[E532]: CNY is the reporting currency: it has no rate (it is 1)",
                    "{f}:6:16: error[E532]: EUR has two rates (the first at line 5)",
                    "{f}:6:27: error[E533]: rate 'x' is not a number greater than 0",
                    "{f}:6:37: error[E534]: as_of '30/06/2026' is not a date (YYYY-MM-DD)",
                    "{f}:6:56: error[E531]: rates[3]: unknown key 'extra' (a rate has currency, rate and as_of)"]),
    "no-reporting": ("rates:\n  - {currency: USD, rate: 7.1, as_of: 2026-06-30}\nreportng: CNY\n",
                     ["{f}:1:1: error[E531]: reporting is required: the currency the totals are reported in",
                      "{f}:3:11: error[E531]: unknown key 'reportng' (an FX table has reporting and rates)"]),
    "no-rates": ("reporting: yuan\nrates: []\n",
                 [("{f}:1:12: error[E532]: reporting currency 'yuan' is not a currency code (three capital letters, "
                  "ISO 4217)"),
                  "{f}:2:8: error[E531]: rates must be a non-empty list of {currency, rate, as_of}"]),
    # used rates are dated against the portfolio's as_of (2026-06-30) and fx_max_age_days (10); the EUR
    # rate of "dated-after", exactly 10 days old, is accepted: only the USD rate is refused
    "dated-after": (("reporting: CNY\nrates:\n  - {currency: USD, rate: 7.1234, as_of: 2026-07-01}\n"
                    "  - {currency: EUR, rate: 7.7, as_of: 2026-06-20}\n"),
                    ["{f}:3:42: error[E536]: the USD rate is dated 2026-07-01, after the portfolio's as_of 2026-06-30"]),
    "too-old": (("reporting: CNY\nrates:\n  - {currency: USD, rate: 7.1234, as_of: 2026-06-30}\n"
                "  - {currency: EUR, rate: 7.7, as_of: 2026-06-19}\n  - {currency: JPY, rate: 0.05, as_of: 2020-01-01}\n"),
                [("{f}:4:39: error[E536]: the EUR rate of 2026-06-19 is 11 days before the portfolio's as_of "
                 "2026-06-30; rulebook 'five-category' accepts rates at most 10 days old (fx_max_age_days)")]),
    "csv-header": ("currency,rate,as_of\nUSD,7.1,2026-06-30\n",
                   [("{f}:1:1: error[E531]: the header lacks reporting (an FX table's columns are "
                    "currency,reporting,rate,as_of)")]),
    "csv-rows": (("currency,reporting,rate,as_of\nUSD,CNY,7.1234,2026-06-30\nEUR,HKD,7.7,2026-06-26\nJPY,CNY,0\n"
                 "GBP,CNY,abc,2026-06-30\n"),
                 [("{f}:3:1: error[E531]: reporting currency 'HKD'; the first row's is 'CNY' (one table, one reporting "
                  "currency)"),
                  "{f}:4:1: error[E531]: 3 cells; the header has 4",
                  "{f}:5:1: error[E533]: rate 'abc' is not a number greater than 0"]),
}


@pytest.mark.parametrize("command", ["classify", "provisions"])
@pytest.mark.parametrize("case", list(BAD_FX))
def test_issue12_5_a_bad_fx_table_is_refused_with_every_problem_located(here: Path, command: str, case: str) -> None:
    text, want = BAD_FX[case]
    f = here / (f"{case}.csv" if case.startswith("csv") else f"{case}.yaml")
    f.write_text(text, encoding="utf-8")
    r = run(command, here / "mixed.yaml", "--fx", f)
    assert (r.exit_code, r.output) == (1, "".join(w.replace("{f}", str(f)) + "\n" for w in want))


def test_issue12_5_a_loan_in_a_currency_without_a_rate_is_located_in_the_loans(here: Path) -> None:
    fx = here / "usd-only.yaml"
    fx.write_text("reporting: CNY\nrates:\n  - {currency: USD, rate: 7.1234, as_of: 2026-06-30}\n", encoding="utf-8")
    f = here / "mixed.yaml"
    r = run("provisions", f, "--fx", fx)
    assert (r.exit_code, r.output) == (1, (f"{f}:9:83: error[E535]: loan 'E01' is in EUR, and the FX table {fx} has "
                                          f"no rate for EUR (it has USD; reporting currency CNY)\n"))


def test_issue12_5_converting_needs_the_rulebooks_max_rate_age(here: Path) -> None:
    book = here / "no-fx-age.yaml"
    text = (ROOT / "rulebooks" / "five-category.yaml").read_text(encoding="utf-8")
    assert "  fx_max_age_days: {value: 10," in text
    book.write_text("\n".join(ln for ln in text.splitlines() if not ln.startswith("  fx_max_age_days:")) + "\n",
                    encoding="utf-8")
    r = run("classify", here / "mixed.yaml", "--fx", here / "fx.yaml", "--rulebook", book)
    assert (r.exit_code, r.output) == (1, (f"{book}:1:1: error[E537]: rulebook 'five-category' has no parameter "
                                          f"fx_max_age_days: converting loans with an FX table needs the oldest rate "
                                          f"it accepts, in days\n"))
    # a single-currency portfolio needs no rate, so no age either
    assert run("classify", "facts/loans/portfolio.yaml", "--rulebook", book).exit_code == 0


def test_issue12_5_the_library_refuses_a_mixed_portfolio_too(here: Path) -> None:
    book = pingji.load_decision(ROOT / "rulebooks" / "five-category.yaml", kind="classification")
    with pytest.raises(FactsError) as info:
        classify_portfolio(book, read_loans(here / "mixed.yaml"))
    assert info.value.code == "E530"
    # balances as written are never added: the loans keep them, the totals are of converted ones
    assert read_loans(here / "mixed.yaml").loans[1]["balance"] == 100000.0
    cl = classify_portfolio(book, read_loans(here / "mixed.yaml"), fx=read_fx(here / "fx.yaml"))
    assert cl.total() == Decimal("1807983.54")


def test_issue12_5_the_loan_schema_says_cny_is_the_default_currency() -> None:
    schema = json.loads((ROOT / "facts" / "loan.schema.json").read_text(encoding="utf-8"))
    assert schema["properties"]["currency"]["default"] == "CNY"


def test_issue12_5_the_portfolio_report_refuses_a_mixed_portfolio_and_converts_with_fx(
        here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(here)  # short names: the Markdown report escapes the underscores of tmp_path
    f, fx, db = Path("mixed.yaml"), Path("fx.yaml"), here / "none.db"
    r = run("portfolio", "--db", db, "--loans", f)
    assert (r.exit_code, r.output.split(": error[")[0]) == (1, f"{f}:5:89")
    r = run("portfolio", "--db", db, "--loans", f, "--fx", fx)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[2] == f"**Sources**: loans {f}; FX table {fx}"
    assert lines[6].endswith(f", {f}; reporting currency CNY (FX table {fx}: EUR 7.7 (2026-06-26), "
                             f"USD 7.1234 (2026-06-30))")
    assert "| **Total** | 4 | 1,807,983.54 |  |" in lines
    r = run("portfolio", "--db", db, "--fx", fx)
    assert r.exit_code == 2 and "--fx converts the loans of --loans: give --loans FILE too" in r.output
    assert not db.exists()
