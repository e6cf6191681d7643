"""Loan-loss provisions: arithmetic exact to the cent on a portfolio checked by hand, the ±20% float,
the adequacy judgement, and `pingji provisions` end to end."""

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
from pingji.decisions.provisions import provide

ROOT = Path(__file__).resolve().parent.parent
RULEBOOKS = ROOT / "rulebooks"
CLASSIFY = pingji.load_decision(RULEBOOKS / "five-category.yaml", kind="classification")
PROVISIONS = pingji.load_decision(RULEBOOKS / "provisions.yaml", kind="provisioning")
ADEQUACY = pingji.load_decision(RULEBOOKS / "provision-adequacy.yaml", kind="provisioning")

PORTFOLIO = """\
as_of: '2026-06-30'
loans:
  - {id: P1, customer_id: a, customer_type: non_retail, balance: 1234567.89, start_date: '2025-06-30',
     maturity_date: '2027-06-30', days_past_due: {principal: 0, interest: 0}, borrower: {grade: A},
     collateral: {type: real_estate, value: 2000000}}
  - {id: P2, customer_id: b, customer_type: non_retail, balance: 333333.33, start_date: '2025-06-30',
     maturity_date: '2028-06-30', days_past_due: {principal: 10, interest: 0}, borrower: {grade: B}}
  - {id: P3, customer_id: c, customer_type: non_retail, balance: 100000.05, start_date: '2025-06-30',
     maturity_date: '2027-06-30', days_past_due: {principal: 91, interest: 0}, borrower: {grade: C},
     collateral: {type: equipment, value: 50000}}
  - {id: P4, customer_id: d, customer_type: retail, balance: 50000.10, start_date: '2024-06-30',
     maturity_date: '2026-06-30', days_past_due: {principal: 400, interest: 400},
     collateral: {type: deposit, value: 60000}}
"""


@pytest.fixture
def loans_file(tmp_path: Path) -> Path:
    p = tmp_path / "p.yaml"
    p.write_text(PORTFOLIO, encoding="utf-8")
    return p


def _provide(path: Path, book: pingji.DecisionBook = PROVISIONS) -> Any:
    return provide(classify_portfolio(CLASSIFY, read_loans(path)), book, ADEQUACY)


def test_every_amount_is_exact_to_the_cent(loans_file: Path) -> None:
    p = _provide(loans_file)
    rows = {lp.loan.id: (lp.loan.category, lp.specific, lp.general, lp.stage, lp.decision.value("pd"),
                         lp.decision.value("lgd"), lp.ecl) for lp in p.loans}
    D = Decimal
    # P1 normal, A, real estate, 12 months left: specific 0; general 1% × 1,234,567.89 = 12,345.6789 → 12,345.68;
    #    stage 1, PD 0.5%, LGD 35%: ECL 0.005 × 0.35 × 1,234,567.89 = 2,160.4938075 → 2,160.49
    assert rows["P1"] == ("normal", D("0.00"), D("12345.68"), "stage_1", D("0.005"), D("0.35"), D("2160.49"))
    # P2 special mention (10 days), B, unsecured, 24 months left: specific 2% = 6,666.6666 → 6,666.67;
    #    general 3,333.3333 → 3,333.33; stage 2, lifetime PD 3% × 2 years = 6%, LGD 45%:
    #    ECL 0.06 × 0.45 × 333,333.33 = 8,999.99991 → 9,000.00
    assert rows["P2"] == ("special_mention", D("6666.67"), D("3333.33"), "stage_2", D("0.06"), D("0.45"), D("9000.00"))
    # P3 substandard (91 days), C, equipment: specific 25% × 100,000.05 = 25,000.0125 → 25,000.01;
    #    general 1,000.0005 → 1,000.00; stage 3, PD 1, LGD 40%: ECL 40,000.02
    assert rows["P3"] == ("substandard", D("25000.01"), D("1000.00"), "stage_3", D("1"), D("0.4"), D("40000.02"))
    # P4 loss (400 days), unrated, deposit: specific 100% = 50,000.10; general 500.001 → 500.00;
    #    stage 3, PD 1, LGD 5%: ECL 2,500.005 → 2,500.01 (half-up)
    assert rows["P4"] == ("loss", D("50000.10"), D("500.00"), "stage_3", D("1"), D("0.05"), D("2500.01"))


def test_every_rate_stage_pd_and_lgd_comes_from_a_rule_that_fired(loans_file: Path) -> None:
    p = _provide(loans_file)
    got = {lp.loan.id: {o: lp.decision.outputs[o].rules for o in ("specific_rate", "general_rate", "stage", "pd", "lgd")}
           for lp in p.loans}
    assert got == {
        "P1": {"specific_rate": ["specific-normal"], "general_rate": ["general-reserve"], "stage": ["stage1"],
               "pd": ["pd-a"], "lgd": ["lgd-real-estate"]},
        "P2": {"specific_rate": ["specific-special-mention"], "general_rate": ["general-reserve"],
               "stage": ["stage2-special-mention"], "pd": ["lifetime-pd-b"], "lgd": ["lgd-unsecured"]},
        "P3": {"specific_rate": ["specific-substandard"], "general_rate": ["general-reserve"],
               "stage": ["stage3-overdue", "stage3-non-performing"], "pd": ["stage3-overdue", "stage3-non-performing"],
               "lgd": ["lgd-equipment"]},
        "P4": {"specific_rate": ["specific-loss"], "general_rate": ["general-reserve"],
               "stage": ["stage3-overdue", "stage3-non-performing"], "pd": ["stage3-overdue", "stage3-non-performing"],
               "lgd": ["lgd-deposit"]},
    }
    assert not any(o.by_default for lp in p.loans for o in lp.decision.outputs.values())
    assert not any(o.by_default for o in p.adequacy.outputs.values())


def test_totals_are_sums_of_the_rounded_amounts(loans_file: Path) -> None:
    t = _provide(loans_file).totals()
    D = Decimal
    assert t == {
        "loans": D("1717901.37"),  # 1,234,567.89 + 333,333.33 + 100,000.05 + 50,000.10
        "non_performing": D("150000.15"),  # P3 + P4
        "general_reserve": D("17179.01"),  # 12,345.68 + 3,333.33 + 1,000.00 + 500.00
        "specific_reserve": D("81666.78"),  # 0 + 6,666.67 + 25,000.01 + 50,000.10
        "reserves": D("98845.79"),
        "ecl": D("53660.52"),  # 2,160.49 + 9,000.00 + 40,000.02 + 2,500.01
        "coverage_ratio": D("0.6590"),  # 98,845.79 / 150,000.15 = 0.65897…
        "provision_rate": D("0.0575"),  # 98,845.79 / 1,717,901.37 = 0.05754…
        "general_reserve_rate": D("0.0100"),  # 17,179.01 / 1,717,901.37 = 0.0100000…
    }


def test_adequacy_is_judged_by_rules(loans_file: Path) -> None:
    a = _provide(loans_file).adequacy
    assert {k: (v.value, v.rules) for k, v in a.outputs.items()} == {
        "coverage": ("below_range", ["coverage-below"]),
        "provision_rate": ("meets_all", ["rate-meets"]),
        "general_reserve": ("sufficient", ["general-sufficient"]),
    }


def _book_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (RULEBOOKS / "provisions.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "provisions.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_the_substandard_float_moves_the_rate_within_20_percent(tmp_path: Path, loans_file: Path) -> None:
    path = _book_with(tmp_path, "substandard_float: {value: 0,", "substandard_float: {value: 0.2,")
    p = _provide(loans_file, pingji.load_decision(path))
    p3 = next(lp for lp in p.loans if lp.loan.id == "P3")
    # 25% × 1.2 = 30%: 30,000.015 → 30,000.02
    assert (p3.decision.value("specific_rate"), p3.specific) == (Decimal("0.3000"), Decimal("30000.02"))


def test_a_float_outside_the_regulatory_range_is_refused(tmp_path: Path) -> None:
    path = _book_with(tmp_path, "doubtful_float: {value: 0,", "doubtful_float: {value: -0.25,")
    with pytest.raises(pingji.RulebookError) as info:
        pingji.load_decision(path)
    assert str(info.value) == (f"{path}:33:27: error[E213]: parameter 'doubtful_float' is -0.25, outside its "
                               f"allowed range [-0.2, 0.2]")


# -- the command ------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_provisions_command_prints_loans_categories_stages_and_totals(loans_file: Path) -> None:
    r = CliRunner().invoke(cli, ["provisions", str(loans_file)])
    assert r.exit_code == 0, r.output
    # The figures are the hand-checked ones above; by stage, stage 3 = P3 + P4: balance 100,000.05 + 50,000.10
    # = 150,000.15 and ECL 40,000.02 + 2,500.01 = 42,500.03.
    assert r.output.replace(str(loans_file), "{f}") == """\
provisions for {f} as of 2026-06-30 (rulebooks five-category 2023.1, provisions 2026.1, provision-adequacy 2026.1)
reporting currency CNY
rounding: each loan's amounts half-up to the cent; totals are sums of the rounded amounts; ratios half-up to 4 places

loan    category                  balance    rate        specific      general  stage           PD    LGD             ECL
P1      normal               1,234,567.89      0%            0.00    12,345.68  stage_1      0.50%    35%        2,160.49
P2      special_mention        333,333.33      2%        6,666.67     3,333.33  stage_2      6.00%    45%        9,000.00
P3      substandard            100,000.05     25%       25,000.01     1,000.00  stage_3    100.00%    40%       40,000.02
P4      loss                    50,000.10    100%       50,000.10       500.00  stage_3    100.00%     5%        2,500.01

category           loans           balance  specific reserve
normal                 1      1,234,567.89              0.00
special_mention        1        333,333.33          6,666.67
substandard            1        100,000.05         25,000.01
doubtful               0              0.00              0.00
loss                   1         50,000.10         50,000.10

IFRS 9 stage       loans           balance               ECL
stage_1                1      1,234,567.89          2,160.49
stage_2                1        333,333.33          9,000.00
stage_3                2        150,000.15         42,500.03

loans                       1,717,901.37
non-performing loans          150,000.15
general reserve                17,179.01  1.00% of loans: sufficient — general-sufficient \
(rulebooks/provision-adequacy.yaml:83): general reserve of at least 1% of loans
specific reserves              81,666.78
reserves                       98,845.79
ECL (IFRS 9)                   53,660.52
coverage ratio                    65.90%  below_range (range 120.0%–150.0%) — coverage-below \
(rulebooks/provision-adequacy.yaml:53): coverage ratio below 120%
loan provision rate                5.75%  meets_all (range 1.5%–2.5%) — rate-meets \
(rulebooks/provision-adequacy.yaml:78): loan provision rate of 2.5% or more: meets any requirement
"""


def test_a_floated_rate_shows_its_decimals(tmp_path: Path, loans_file: Path) -> None:
    path = _book_with(tmp_path, "substandard_float: {value: 0,", "substandard_float: {value: 0.1,")
    r = CliRunner().invoke(cli, ["provisions", str(loans_file), "--rulebook", str(path)])
    assert r.exit_code == 0, r.output
    # 25% × 1.1 = 27.5%: 27,500.01375 → 27,500.01
    assert ("P3      substandard            100,000.05   27.5%       27,500.01     1,000.00  stage_3    100.00%    40%"
            "       40,000.02") in r.output.splitlines()


def test_provisions_json_round_trips(loans_file: Path) -> None:
    r = CliRunner().invoke(cli, ["provisions", str(loans_file), "--json"])
    d = json.loads(r.output)
    assert json.dumps(d, sort_keys=True, ensure_ascii=False, indent=2) + "\n" == r.output
    assert d["totals"] == {"loans": "1717901.37", "non_performing": "150000.15", "general_reserve": "17179.01",
                           "specific_reserve": "81666.78", "reserves": "98845.79", "ecl": "53660.52",
                           "coverage_ratio": "0.6590", "provision_rate": "0.0575", "general_reserve_rate": "0.0100"}
    assert d["adequacy"]["outputs"]["coverage"]["value"] == "below_range"
    assert d["totals"]["reserves"] == "98845.79" and d["totals"]["coverage_ratio"] == "0.6590"
    assert [x["ecl"] for x in d["loans"]] == ["2160.49", "9000.00", "40000.02", "2500.01"]
    p3 = d["loans"][2]["decision"]["outputs"]
    assert p3["specific_rate"]["rules"] == ["specific-substandard"] and p3["stage"]["value"] == "stage_3"


def test_provisions_bad_input_is_located(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(PORTFOLIO.replace("balance: 333333.33", "balance: '333,333.33'"), encoding="utf-8")
    r = CliRunner().invoke(cli, ["provisions", str(bad)])
    assert r.exit_code == 1
    assert r.output == f"{bad}:6:66: error[E501]: loan 'P2': balance: '333,333.33' is not of type 'number'\n"
    r = CliRunner().invoke(cli, ["provisions", str(bad), "--rulebook", "five-category"])
    assert r.exit_code == 1
    assert r.output == ("rulebooks/five-category.yaml:1:1: error[E216]: rulebook 'five-category' is a classification "
                        "rulebook; a provisioning rulebook is needed here\n")


def test_a_rulebook_that_does_not_decide_what_provisions_need_is_refused(loans_file: Path) -> None:
    r = CliRunner().invoke(cli, ["provisions", str(loans_file), "--rulebook", "provision-adequacy"])
    assert (r.exit_code, r.output) == (1, (
        "rulebooks/provision-adequacy.yaml:1:1: error[E217]: rulebook 'provision-adequacy' does not decide "
        "specific_rate, general_rate, pd, lgd, stage; provisioning needs a rulebook deciding specific_rate, "
        "general_rate, pd, lgd (numbers) and stage (levels)\n"))
    r = CliRunner().invoke(cli, ["provisions", str(loans_file), "--adequacy", "provisions"])
    assert (r.exit_code, r.output) == (1, (
        "rulebooks/provisions.yaml:1:1: error[E217]: rulebook 'provisions' does not decide coverage, provision_rate, "
        "general_reserve; judging the provisions needs a rulebook deciding coverage, provision_rate, "
        "general_reserve (levels)\n"))


def test_a_portfolio_of_zero_balances_has_no_ratios(tmp_path: Path) -> None:
    path = tmp_path / "zero.yaml"
    path.write_text("as_of: '2026-06-30'\nloans:\n  - {id: Z1, customer_id: z, customer_type: non_retail, balance: 0,\n"
                    "     start_date: '2025-06-30', maturity_date: '2027-06-30', days_past_due: {principal: 95, interest: 0}}\n",
                    encoding="utf-8")
    p = _provide(path)
    t = p.totals()
    assert (t["reserves"], t["coverage_ratio"], t["provision_rate"]) == (Decimal(0), None, None)
    assert p.classification.shares == {}, "a borrower with nothing outstanding has no share"
    assert {k: (v.value, v.rules) for k, v in p.adequacy.outputs.items()} == {
        "coverage": ("meets_all", ["no-npl"]), "provision_rate": ("meets_all", ["no-loans"]),
        "general_reserve": ("sufficient", ["no-loans"])}
