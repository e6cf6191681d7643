"""Five-category classification: every regulatory boundary with the rule that decided it, the
two-pass borrower rule, reading LOANS files, and `pingji classify` end to end."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import pingji
from pingji.cli.main import cli
from pingji.decisions.classification import classify_portfolio, read_loans
from pingji.errors import FactsError

ROOT = Path(__file__).resolve().parent.parent
BOOK = pingji.load_decision(ROOT / "rulebooks" / "five-category.yaml", kind="classification")
AS_OF = "2026-06-30"


def loan(**kw: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {"id": "L1", "customer_id": "c1", "customer_type": "non_retail", "balance": 1000,
                             "start_date": "2024-01-01", "maturity_date": "2028-01-01", "as_of": AS_OF,
                             "days_past_due": {"principal": 0, "interest": 0}}
    facts.update(kw)
    return facts


def category(facts: dict[str, Any]) -> tuple[str, list[str]]:
    d = pingji.decide(BOOK, facts)
    return d.value("category"), d.outputs["category"].rules


def dpd(p: int, i: int = 0) -> dict[str, int]:
    return {"principal": p, "interest": i}


@pytest.mark.parametrize(("days", "want"), [
    (0, ("normal", [])),
    (7, ("normal", [])),  # a technical delay of up to 7 days
    (8, ("special_mention", ["overdue"])),
    (90, ("special_mention", ["overdue"])),
    (91, ("substandard", ["overdue-90"])),
    (270, ("substandard", ["overdue-90"])),
    (271, ("doubtful", ["overdue-270"])),
    (360, ("doubtful", ["overdue-270"])),
    (361, ("loss", ["overdue-360"])),
])
def test_days_overdue_boundaries(days: int, want: tuple[str, list[str]]) -> None:
    assert category(loan(days_past_due=dpd(days))) == want
    assert category(loan(days_past_due=dpd(0, days))) == want, "interest overdue counts the same"


@pytest.mark.parametrize(("extra", "want"), [
    ({"funds_misused": True}, ("special_mention", ["funds-misused"])),
    ({"repaid_by_new_borrowing": True}, ("special_mention", ["new-borrowing"])),
    ({"borrower": {"non_performing_elsewhere": True}}, ("special_mention", ["npl-elsewhere"])),
    ({"impaired": True}, ("substandard", ["impaired"])),
    ({"borrower": {"external_downgrade": True}}, ("substandard", ["external-downgrade"])),
    ({"borrower": {"evading_debts": True}}, ("doubtful", ["evading-debts"])),
    ({"impaired": True, "expected_loss_share": 0.4999}, ("substandard", ["impaired"])),
    ({"impaired": True, "expected_loss_share": 0.5}, ("doubtful", ["expected-loss-50"])),
    ({"impaired": True, "expected_loss_share": 0.8999}, ("doubtful", ["expected-loss-50"])),
    ({"impaired": True, "expected_loss_share": 0.9}, ("loss", ["expected-loss-90"])),
    ({"borrower": {"bankruptcy": True}}, ("loss", ["bankruptcy"])),
    ({"funds_misused": False, "impaired": False}, ("normal", [])),
])
def test_triggers_other_than_overdue(extra: dict[str, Any], want: tuple[str, list[str]]) -> None:
    assert category(loan(**extra)) == want


def test_the_worst_trigger_wins_and_every_rule_concluding_it_is_named() -> None:
    d = pingji.decide(BOOK, loan(days_past_due=dpd(100), impaired=True, funds_misused=True))
    assert d.value("category") == "substandard"
    assert d.outputs["category"].rules == ["overdue-90", "impaired"]
    assert d.fired_ids() == ["overdue", "overdue-90", "funds-misused", "impaired"]
    assert d.outputs["category"].at == ["rulebooks/five-category.yaml:81", "rulebooks/five-category.yaml:119"]


@pytest.mark.parametrize(("restructured", "extra", "want"), [
    # inside the 12-month observation period: 2025-07-01 → 2026-06-30 is 11 whole months
    ("2025-07-01", {}, ("special_mention", ["restructured"])),
    # on and after its end: 12 months
    ("2025-06-30", {}, ("normal", [])),
    ("2024-01-15", {}, ("normal", [])),
    ("2025-07-01", {"category_before": "substandard"}, ("substandard", ["restructured-was-substandard"])),
    ("2025-07-01", {"category_before": "doubtful"}, ("doubtful", ["restructured-was-doubtful"])),
    ("2025-07-01", {"category_before": "loss"}, ("loss", ["restructured-was-loss"])),
    ("2025-07-01", {"category_before": "normal"}, ("special_mention", ["restructured"])),
    ("2025-06-30", {"category_before": "doubtful"}, ("normal", [])),
    ("2025-07-01", {"restructured_again": True}, ("substandard", ["restructured-again"])),
    ("2025-07-01", {"missed_payments": True}, ("substandard", ["restructured-again"])),
    ("2025-06-30", {"restructured_again": True}, ("normal", [])),
])
def test_restructured_loans_and_their_observation_period(restructured: str, extra: dict[str, Any],
                                                          want: tuple[str, list[str]]) -> None:
    assert category(loan(restructuring={"date": restructured, **extra})) == want


@pytest.mark.parametrize(("extra", "want"), [
    ({"previous_category": "substandard"}, ("substandard", ["stays-substandard"])),
    ({"previous_category": "substandard", "arrears_cleared": True, "months_performing": 5},
     ("substandard", ["stays-substandard"])),
    ({"previous_category": "substandard", "arrears_cleared": False, "months_performing": 12},
     ("substandard", ["stays-substandard"])),
    ({"previous_category": "substandard", "arrears_cleared": True, "months_performing": 6}, ("normal", [])),
    ({"previous_category": "doubtful", "arrears_cleared": True}, ("doubtful", ["stays-doubtful"])),
    ({"previous_category": "loss", "arrears_cleared": True, "months_performing": 6}, ("normal", [])),
    ({"previous_category": "special_mention"}, ("normal", [])),
])
def test_moving_back_up_needs_arrears_cleared_and_months_of_normal_payment(extra: dict[str, Any],
                                                                          want: tuple[str, list[str]]) -> None:
    assert category(loan(**extra)) == want


@pytest.mark.parametrize(("grade", "want"), [
    ("A", ("normal", [])), ("B", ("normal", [])), ("C", ("special_mention", ["c-rated-borrower"])),
])
def test_a_c_rated_borrower_is_at_least_special_mention(grade: str, want: tuple[str, list[str]]) -> None:
    assert category(loan(borrower={"grade": grade})) == want


# -- the 10% borrower rule, through the portfolio ----------------------------------------------------


def _portfolio(tmp_path: Path, loans: list[dict[str, Any]]) -> Path:
    path = tmp_path / "loans.json"
    for x in loans:
        x.pop("as_of", None)
    path.write_text(json.dumps({"as_of": AS_OF, "loans": loans}), encoding="utf-8")
    return path


@pytest.mark.parametrize(("npl", "performing", "shown", "want", "rules"), [
    (1000.00, 9000.00, "0.1000", "normal", []),  # exactly 10%: not more than 10%
    (1001.00, 9000.00, "0.1001", "substandard", ["borrower-npl-share"]),  # 10.01%
    (999.99, 9000.00, "0.1000", "normal", []),  # 9.99999%
    # 10.00009%: more than 10%, though it shows as 10.00% (the rule sees the exact share, not the rounded one)
    (1000.01, 9000.00, "0.1000", "substandard", ["borrower-npl-share"]),
])
def test_ten_percent_rule_just_below_and_above(tmp_path: Path, npl: float, performing: float, shown: str, want: str,
                                               rules: list[str]) -> None:
    path = _portfolio(tmp_path, [loan(id="bad", balance=npl, days_past_due=dpd(95)),
                                 loan(id="good", balance=performing)])
    cl = classify_portfolio(BOOK, read_loans(path))
    exact = Decimal(repr(npl)) / (Decimal(repr(npl)) + Decimal(repr(performing)))
    assert cl.shares == {"c1": exact}
    assert cl.to_dict()["borrower_non_performing_share"] == {"c1": shown}
    good = cl.loans[1]
    assert (good.first_pass, good.category, good.decision.outputs["category"].rules) == ("normal", want, rules)
    assert good.loan["borrower"]["non_performing_share"] == float(exact), "pass 2 saw the share as a fact"
    assert cl.loans[0].category == "substandard"


def test_ten_percent_rule_does_not_apply_to_retail_borrowers(tmp_path: Path) -> None:
    path = _portfolio(tmp_path, [loan(id="bad", customer_type="retail", balance=5000, days_past_due=dpd(95)),
                                 loan(id="good", customer_type="retail", balance=5000)])
    cl = classify_portfolio(BOOK, read_loans(path))
    assert cl.shares == {} and [lc.category for lc in cl.loans] == ["substandard", "normal"]


def test_grades_from_the_store_inform_the_category(tmp_path: Path) -> None:
    path = _portfolio(tmp_path, [loan(id="x", customer_id="c9")])
    cl = classify_portfolio(BOOK, read_loans(path), grades={"c9": "C"})
    assert cl.loans[0].category == "special_mention"
    assert cl.loans[0].decision.outputs["category"].rules == ["c-rated-borrower"]


def test_builtin_portfolio_summary() -> None:
    cl = classify_portfolio(BOOK, read_loans(ROOT / "facts/loans/portfolio.yaml"))
    assert {lc.id: lc.category for lc in cl.loans} == {
        "L01": "normal", "L02": "special_mention", "L03": "substandard", "L04": "substandard",
        "L05": "substandard", "L06": "normal", "L07": "doubtful", "L08": "loss", "L09": "doubtful",
        "L10": "normal", "L11": "loss", "L12": "special_mention"}
    assert [(r["category"], r["loans"], str(r["balance"])) for r in cl.summary()] == [
        ("normal", 3, "2750000.00"), ("special_mention", 2, "370000.00"), ("substandard", 3, "3500000.00"),
        ("doubtful", 2, "2300000.00"), ("loss", 2, "650000.00")]
    assert str(cl.non_performing()) == "6450000.00" and str(cl.total()) == "9570000.00"


# -- bad LOANS files ------------------------------------------------------------------------------------


BAD = {
    "missing-field": ("as_of: '2026-06-30'\nloans:\n  - {id: L1, customer_id: c1, balance: 5,\n"
                      "     start_date: '2025-01-01', maturity_date: '2027-01-01'}\n",
                      ["{f}:3:5: error[E501]: loan 'L1': 'days_past_due' is a required property"]),
    "negative-balance": ("as_of: '2026-06-30'\nloans:\n  - {id: L1, customer_id: c1, balance: -5, start_date: '2025-01-01',\n"
                         "     maturity_date: '2027-01-01', days_past_due: {principal: 0, interest: 0}}\n",
                         ["{f}:3:40: error[E501]: loan 'L1': balance: -5 is less than the minimum of 0"]),
    "future-date": ("as_of: '2026-06-30'\nloans:\n  - {id: L1, customer_id: c1, balance: 5, start_date: '2026-07-01',\n"
                    "     maturity_date: '2027-01-01', days_past_due: {principal: 0, interest: 0}}\n",
                    ["{f}:3:55: error[E511]: loan 'L1': start_date 2026-07-01 is after as_of 2026-06-30 "
                     "(a date in the future)"]),
    "as-of-in-the-future": ("as_of: '2099-01-01'\nloans: [{id: L1}]\n",
                            ["{f}:1:8: error[E511]: as_of 2099-01-01 is in the future",
                             "{f}:2:9: error[E501]: loan 'L1': 'balance' is a required property",
                             "{f}:2:9: error[E501]: loan 'L1': 'customer_id' is a required property",
                             "{f}:2:9: error[E501]: loan 'L1': 'days_past_due' is a required property",
                             "{f}:2:9: error[E501]: loan 'L1': 'maturity_date' is a required property",
                             "{f}:2:9: error[E501]: loan 'L1': 'start_date' is a required property"]),
    "duplicate-id": ("as_of: '2026-06-30'\nloans:\n"
                     "  - {id: L1, customer_id: c1, balance: 5, start_date: '2025-01-01', maturity_date: '2027-01-01', days_past_due: {principal: 0, interest: 0}}\n"
                     "  - {id: L1, customer_id: c2, balance: 5, start_date: '2025-01-01', maturity_date: '2027-01-01', days_past_due: {principal: 0, interest: 0}}\n",
                     ["{f}:4:10: error[E512]: loan id 'L1' appears twice (first as loans[0])"]),
    "no-loans": ("as_of: '2026-06-30'\nloans: []\n", ["{f}:2:8: error[E510]: loans must be a non-empty list of loans"]),
    "malformed": ("as_of: '2026-06-30'\nloans: [\n", None),
    # every problem at once, in file order (the restructuring date on line 4 after the start date on line 3)
    "unparsable-dates": ("as_of: '2026-06-30'\nloans:\n  - {id: L1, customer_id: c1, balance: 5, start_date: '2025-13-01',\n"
                         "     maturity_date: '2027-01-01', days_past_due: {principal: 0, interest: 0}, "
                         "restructuring: {date: soon}}\n",
                         ["{f}:3:55: error[E501]: loan 'L1': start_date: '2025-13-01' is not a 'date'",
                          "{f}:4:101: error[E501]: loan 'L1': restructuring.date: 'soon' is not a 'date'"]),
    "restructured-in-the-future": ("as_of: '2026-06-30'\nloans:\n  - {id: L1, customer_id: c1, balance: 5, "
                                   "start_date: '2025-01-01',\n     maturity_date: '2027-01-01', days_past_due: "
                                   "{principal: 0, interest: 0}, restructuring: {date: '2026-07-01'}}\n",
                                   ["{f}:4:101: error[E511]: loan 'L1': restructuring.date 2026-07-01 is after as_of "
                                    "2026-06-30 (a date in the future)"]),
    "restructured-before-drawdown": ("as_of: '2026-06-30'\nloans:\n  - {id: L1, customer_id: c1, balance: 5, "
                                     "start_date: '2025-01-01',\n     maturity_date: '2024-01-01', days_past_due: "
                                     "{principal: 0, interest: 0}, restructuring: {date: '2024-12-31'}}\n",
                                     ["{f}:4:21: error[E511]: loan 'L1': maturity_date 2024-01-01 is before start_date "
                                      "2025-01-01",
                                      "{f}:4:101: error[E511]: loan 'L1': restructuring.date 2024-12-31 is before "
                                      "start_date 2025-01-01"]),
    "not-a-portfolio": ("as_of: '2026/06/30'\nloan: []\n",
                        ["{f}:1:1: error[E510]: loans must be a non-empty list of loans",
                         "{f}:1:8: error[E510]: as_of: '2026/06/30' is not a date (YYYY-MM-DD)",
                         "{f}:2:7: error[E510]: unknown key 'loan' (a LOANS file has as_of, loans and an optional "
                         "portfolio name)"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_loans_files_are_refused_with_a_location(tmp_path: Path, case: str) -> None:
    text, want = BAD[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(pingji.PingjiError) as info:
        read_loans(path)
    if want is not None:
        assert isinstance(info.value, FactsError)
        got = [str(d) for d in info.value.diagnostics]
        assert [line.replace(str(path), "{f}") for line in got] == want
    else:
        assert str(info.value).startswith(f"{path}:3:1: error[E003]: invalid YAML")


# -- JSONL ------------------------------------------------------------------------------------------------


def _jsonl(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "loans.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_a_jsonl_file_classifies_like_the_yaml_file(tmp_path: Path) -> None:
    yaml_loans = read_loans(ROOT / "facts/loans/portfolio.yaml")
    path = _jsonl(tmp_path, json.dumps({"as_of": yaml_loans.as_of}), "",
                  *(json.dumps(x) for x in yaml_loans.loans))
    loans = read_loans(path)
    assert (loans.as_of, loans.loans) == (yaml_loans.as_of, yaml_loans.loans)
    assert [str(x) for x in loans.locs[:2]] == [f"{path}:3:1", f"{path}:4:1"], "each loan at its line"
    got = classify_portfolio(BOOK, loans)
    want = classify_portfolio(BOOK, yaml_loans)
    assert [(lc.id, lc.category) for lc in got.loans] == [(lc.id, lc.category) for lc in want.loans]


def test_jsonl_problems_are_located_at_line_and_column(tmp_path: Path) -> None:
    good = {"id": "L1", "customer_id": "c1", "balance": 5, "start_date": "2025-01-01", "maturity_date": "2027-01-01",
            "days_past_due": {"principal": 0, "interest": 0}}
    path = _jsonl(tmp_path, '{"as_of": "2026-06-30"}', json.dumps(good), json.dumps({**good, "id": "L2", "balance": -1}))
    with pytest.raises(FactsError) as info:
        read_loans(path)
    assert str(info.value) == f"{path}:3:46: error[E501]: loan 'L2': balance: -1 is less than the minimum of 0"
    path = _jsonl(tmp_path, '{"as_of": "2026-06-30"}', '{"id": "L1",')
    with pytest.raises(FactsError) as info:
        read_loans(path)
    assert str(info.value) == f"{path}:2:13: error[E901]: not JSON: Expecting property name enclosed in double quotes"
    path = _jsonl(tmp_path, json.dumps(good))
    with pytest.raises(FactsError) as info:
        read_loans(path)
    assert str(info.value) == f"{path}:1:1: error[E510]: as_of is required: the date the loans are classified at"


# -- the command ------------------------------------------------------------------------------------------


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "facts" / "loans", tmp_path / "loans")
    monkeypatch.chdir(ROOT)
    return tmp_path


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_classify_prints_categories_rules_and_the_summary(here: Path) -> None:
    r = run("classify", "facts/loans/portfolio.yaml")
    assert r.exit_code == 0, r.output
    # c-textile: L03 (400,000, 91 days) is substandard in pass 1, so 400,000 / 3,400,000 = 11.76% > 10% and
    # L04 follows it; c-chem: 100,000 / 1,050,000 = 9.52%, so L06 stays normal.
    assert r.output.splitlines() == [
        'classification of facts/loans/portfolio.yaml as of 2026-06-30 (rulebook five-category 2023.1, '
        'rulebooks/five-category.yaml)',
        'reporting currency CNY',
        '',
        'loan    customer             balance  category          decided by',
        'L01     c-steel         1,000,000.00  normal            no rule fired: the default',
        'L02     c-steel           250,000.00  special_mention   overdue '
        '(rulebooks/five-category.yaml:75): principal or interest overdue beyond the technical delay',
        'L03     c-textile         400,000.00  substandard       overdue-90 '
        '(rulebooks/five-category.yaml:81): principal or interest more than 90 days overdue; '
        'borrower-npl-share (rulebooks/five-category.yaml:235): more than 10% of this non-retail '
        "borrower's claims here are non-performing; all of them are non-performing",
        'L04     c-textile       3,000,000.00  substandard       borrower-npl-share '
        "(rulebooks/five-category.yaml:235): more than 10% of this non-retail borrower's claims here are "
        'non-performing; all of them are non-performing [pass 1: special_mention; borrower '
        'non-performing share 11.76%]',
        'L05     c-chem            100,000.00  substandard       overdue-90 '
        '(rulebooks/five-category.yaml:81): principal or interest more than 90 days overdue',
        'L06     c-chem            950,000.00  normal            no rule fired: the default',
        'L07     r-wang            300,000.00  doubtful          overdue-270 '
        '(rulebooks/five-category.yaml:87): principal or interest more than 270 days overdue',
        'L08     r-zhao             50,000.00  loss              overdue-360 '
        '(rulebooks/five-category.yaml:93): principal or interest more than 360 days overdue',
        'L09     c-build         2,000,000.00  doubtful          restructured-was-doubtful '
        '(rulebooks/five-category.yaml:174): during the observation period no better than its category '
        'before restructuring',
        'L10     c-food            800,000.00  normal            no rule fired: the default',
        'L11     c-mine            600,000.00  loss              bankruptcy '
        '(rulebooks/five-category.yaml:143): the borrower is in bankruptcy liquidation',
        'L12     r-li              120,000.00  special_mention   funds-misused '
        '(rulebooks/five-category.yaml:101): funds used for other than the agreed purpose',
        '',
        'category           loans           balance    share',
        'normal                 3      2,750,000.00   28.74%',
        'special_mention        2        370,000.00    3.87%',
        'substandard            3      3,500,000.00   36.57%',
        'doubtful               2      2,300,000.00   24.03%',
        'loss                   2        650,000.00    6.79%',
        'total                 12      9,570,000.00',
        'non-performing         7      6,450,000.00   67.40%',
    ]


def test_classify_in_chinese_gives_the_chinese_reasons(here: Path) -> None:
    r = run("classify", "facts/loans/portfolio.yaml", "--lang", "zh")
    assert "overdue-90 (rulebooks/five-category.yaml:81): 本金或利息逾期超过90天" in r.output


def test_classify_json_round_trips(here: Path) -> None:
    r = run("classify", "facts/loans/portfolio.yaml", "--json")
    d = json.loads(r.output)
    assert json.dumps(d, sort_keys=True, ensure_ascii=False, indent=2) + "\n" == r.output
    assert [(x["category"], x["loans"], x["balance"], x["share"]) for x in d["summary"]] == [
        ("normal", 3, "2750000.00", "0.2874"), ("special_mention", 2, "370000.00", "0.0387"),
        ("substandard", 3, "3500000.00", "0.3657"), ("doubtful", 2, "2300000.00", "0.2403"),
        ("loss", 2, "650000.00", "0.0679")]
    assert d["loans"][3]["category"] == "substandard" and d["loans"][3]["first_pass"] == "special_mention"
    assert d["borrower_non_performing_share"]["c-textile"] == "0.1176"
    assert d["loans"][3]["decision"]["outputs"]["category"]["rules"] == ["borrower-npl-share"]
    assert d["non_performing"] == "6450000.00"


def test_classify_takes_grades_from_the_store(here: Path) -> None:
    db = str(here / "s.db")
    assert run("rate", "facts/examples/machinery-a.yaml", "--db", db).exit_code == 0
    r = run("override", "E000001", "--grade", "M8", "--reviewer", "Li", "--reason", "test",
            "--approved-by", "Wang", "--db", db)
    assert r.exit_code == 0, r.output
    (here / "one.yaml").write_text(
        "as_of: '2026-06-30'\nloans:\n  - {id: X1, customer_id: C-C-0001, balance: 100, start_date: '2025-01-01',\n"
        "     maturity_date: '2027-01-01', days_past_due: {principal: 0, interest: 0}}\n", encoding="utf-8")
    r = run("classify", str(here / "one.yaml"), "--db", db)
    assert r.exit_code == 0, r.output
    assert "special_mention   c-rated-borrower (rulebooks/five-category.yaml:" in r.output


def test_classify_bad_input_exits_1_with_the_location(here: Path) -> None:
    bad = here / "bad.yaml"
    bad.write_text(BAD["negative-balance"][0], encoding="utf-8")
    r = CliRunner().invoke(cli, ["classify", str(bad)])
    assert r.exit_code == 1
    assert r.output == f"{bad}:3:40: error[E501]: loan 'L1': balance: -5 is less than the minimum of 0\n"
    r = CliRunner().invoke(cli, ["classify", "facts/loans/portfolio.yaml", "--rulebook", "provisions"])
    assert r.exit_code == 1
    assert r.output == ("rulebooks/provisions.yaml:1:1: error[E216]: rulebook 'provisions' is a provisioning rulebook; "
                        "a classification rulebook is needed here\n")
    r = CliRunner().invoke(cli, ["classify", "nowhere.yaml"])
    assert r.exit_code == 1 and r.output.startswith("nowhere.yaml: error[E001]")


def test_every_generated_loan_agrees_with_a_hand_written_reading_of_the_rules() -> None:
    # bench/bench_classify.py: loans on and around every boundary; the plain-Python classifier there
    # is written from the 2023 measures independently of the rulebook's YAML.
    from bench.bench_classify import AS_OF as BENCH_AS_OF
    from bench.bench_classify import make_loans, plain_classify
    from pingji.decisions.classification import Loans

    loans = make_loans(1500, seed=11)
    portfolio = Loans("gen", BENCH_AS_OF, tuple(loans), tuple(pingji.Location("gen", i + 1, 1) for i in range(1500)))
    got = [lc.category for lc in classify_portfolio(BOOK, portfolio).loans]
    assert got == plain_classify(loans)
    assert len(set(got)) == 5, "every category occurs"


@pytest.mark.parametrize("command", ["classify", "provisions"])
@pytest.mark.parametrize(("case", "args", "want"), [
    pytest.param("missing-field", [], "{f}:3:5: error[E501]: loan 'L1': 'days_past_due' is a required property\n",
                 id="missing-field"),
    pytest.param("negative-balance", [], "{f}:3:40: error[E501]: loan 'L1': balance: -5 is less than the minimum of 0\n",
                 id="negative-balance"),
    pytest.param("future-date", [], "{f}:3:55: error[E511]: loan 'L1': start_date 2026-07-01 is after as_of 2026-06-30 "
                                    "(a date in the future)\n", id="date-in-the-future"),
    pytest.param("malformed", [], "{f}:3:1: error[E003]: invalid YAML: did not find expected node content\n",
                 id="malformed-yaml"),
    pytest.param("negative-balance", ["--rulebook", "nosuch"],
                 "error[E700]: no rulebook with id 'nosuch'; 'pingji rulebooks' lists them\n", id="unknown-rulebook"),
])
def test_bad_input_exits_1_with_the_exact_error(here: Path, command: str, case: str, args: list[str], want: str) -> None:
    bad = here / f"{case}.yaml"
    bad.write_text(BAD[case][0], encoding="utf-8")
    r = CliRunner().invoke(cli, [command, str(bad), *args])
    assert (r.exit_code, r.output) == (1, want.replace("{f}", str(bad)))
