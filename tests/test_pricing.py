"""Pricing, limits and approval by grade (the `pricing` policy rulebook) and `pingji price`.

The worked case of the source material: the A-rated machinery manufacturer gets a lower rate and
a larger limit than the same company rated B (here: after an expert override to M5)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import pingji
import pingji.store.records
from pingji.cli.main import cli
from pingji.decisions.pricing import offer_facts, price

ROOT = Path(__file__).resolve().parent.parent
BOOK = pingji.load_decision(ROOT / "rulebooks" / "pricing.yaml", kind="policy")


def subject(**kw: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {"id": "x", "grade": "A", "coarse_grade": "A", "revenue": 100000, "ebitda": 20000,
                             "total_debt": 10000, "collateral_value": 30000, "secured_by": "none",
                             "request_amount": 10000}
    facts.update(kw)
    return facts


def outputs(facts: dict[str, Any]) -> dict[str, Any]:
    d = pingji.decide(BOOK, facts)
    return {k: (v.value, v.rules) for k, v in d.outputs.items()}


def test_grades_set_spread_limit_decision_approval_and_review() -> None:
    D = Decimal
    # A: 60 bp; limit min(30% × 100,000 = 30,000; 3.5 × 20,000 − 10,000 = 60,000) = 30,000
    assert outputs(subject()) == {
        "spread_bp": (D(60), ["spread-a"]), "limit": (D(30000), ["limit-revenue-a"]),
        "decision": ("approve", ["approve-a"]), "approval": ("branch", []), "review_months": (D(12), ["review-a"])}
    # B: 150 bp; limit min(15,000; 2.5 × 20,000 − 10,000 = 40,000; collateral 30,000) = 15,000
    assert outputs(subject(grade="B", coarse_grade="B")) == {
        "spread_bp": (D(150), ["spread-b"]), "limit": (D(15000), ["limit-revenue-b"]),
        "decision": ("approve_with_conditions", ["conditions-b"]), "approval": ("branch", []),
        "review_months": (D(6), ["review-b"])}
    assert outputs(subject(grade="C", coarse_grade="C")) == {
        "spread_bp": (D(350), ["spread-c"]), "limit": (D(0), ["limit-c"]),
        "decision": ("decline", ["decline-c"]), "approval": ("decline", ["approval-c"]),
        "review_months": (D(3), ["review-c"])}


def test_collateral_caps_a_b_limit_and_lowers_the_spread() -> None:
    out = outputs(subject(grade="M6", coarse_grade="B", collateral_value=12345.4, secured_by="deposit"))
    assert out["limit"] == (Decimal(12345), ["limit-collateral-b"])  # 12,345.4 rounded half-up to the thousand
    assert out["spread_bp"] == (Decimal(130), ["spread-b", "spread-m6", "secured-cash"])
    assert outputs(subject(grade="B", coarse_grade="B", collateral_value=12345.5))["limit"] == (
        Decimal(12346), ["limit-collateral-b"])
    # an A grade is not capped by its collateral
    assert outputs(subject(collateral_value=100))["limit"] == (Decimal(30000), ["limit-revenue-a"])


def test_a_b_grade_without_eligible_collateral_gets_no_limit_and_is_declined() -> None:
    out = outputs(subject(grade="B", coarse_grade="B", collateral_value=0))
    assert out["limit"] == (Decimal(0), ["limit-collateral-b"])
    assert out["decision"] == ("decline", ["decline-b-unsecured"])


def test_debt_that_uses_up_the_ebitda_room_means_decline() -> None:
    # A: 3.5 × 20,000 = 70,000 of room; 70,000 of debt leaves 0 (0 is declined, 1 is not)
    out = outputs(subject(total_debt=70000))
    assert (out["limit"], out["decision"]) == ((Decimal(0), ["limit-ebitda-a"]), ("decline", ["decline-no-room"]))
    out = outputs(subject(total_debt=69999))
    assert (out["limit"], out["decision"]) == ((Decimal(1), ["limit-ebitda-a"]), ("approve", ["approve-a"]))
    out = outputs(subject(grade="B", coarse_grade="B", total_debt=50000))  # 2.5 × 20,000 = 50,000
    assert out["decision"] == ("decline", ["decline-no-room"])


def test_an_overridden_grade_is_approved_with_conditions_at_regional_level_at_least() -> None:
    out = outputs(subject(overridden=True))
    assert out["decision"] == ("approve_with_conditions", ["conditions-overridden"])
    assert out["approval"] == ("regional", ["approval-overridden"])


@pytest.mark.parametrize(("grade", "coarse", "bp", "fired"), [
    ("M1", "A", 40, ["spread-a", "spread-m1"]), ("M2", "A", 50, ["spread-a", "spread-m2"]),
    ("M3", "A", 60, ["spread-a"]), ("M4", "A", 70, ["spread-a", "spread-m4"]),
    ("M5", "B", 150, ["spread-b"]), ("M6", "B", 170, ["spread-b", "spread-m6"]),
    ("M7", "B", 190, ["spread-b", "spread-m7"]),
    ("M8", "C", 350, ["spread-c"]), ("M9", "C", 450, ["spread-c", "spread-m9"]),
    ("M10", "C", 550, ["spread-c", "spread-m10"]), ("D", "C", 350, ["spread-c"]),
])
def test_master_grades_move_the_spread_within_their_band(grade: str, coarse: str, bp: int, fired: list[str]) -> None:
    out = outputs(subject(grade=grade, coarse_grade=coarse))
    assert out["spread_bp"] == (Decimal(bp), fired)


def test_a_guarantee_alone_does_not_lower_the_spread() -> None:
    assert outputs(subject(grade="B", coarse_grade="B", secured_by="guarantee"))["spread_bp"] == (
        Decimal(150), ["spread-b"])


@pytest.mark.parametrize(("grade", "coarse", "amount", "want"), [
    ("A", "A", 50000, ("branch", [])),
    ("A", "A", 50001, ("regional", ["approval-regional"])),
    ("A", "A", 200000, ("regional", ["approval-regional"])),
    ("A", "A", 200001, ("head_office", ["approval-head-office"])),
    ("B", "B", 100000, ("regional", ["approval-regional"])),
    ("B", "B", 100001, ("head_office", ["approval-b-large"])),
    ("A", "A", 1000000, ("head_office", ["approval-head-office"])),
    ("A", "A", 1000001, ("credit_committee", ["approval-committee"])),
    ("B", "B", 200001, ("credit_committee", ["approval-b-committee"])),
    ("C", "C", 1000001, ("decline", ["approval-c"])),
])
def test_approval_by_grade_and_size(grade: str, coarse: str, amount: int, want: tuple[str, list[str]]) -> None:
    assert outputs(subject(grade=grade, coarse_grade=coarse, request_amount=amount))["approval"] == want


def test_missing_revenue_leaves_the_limit_undefined() -> None:
    facts = subject()
    del facts["revenue"]
    d = pingji.decide(BOOK, facts)
    # revenue × 30% is undefined without revenue: the limit is undefined, never silently 0 or larger
    assert d.value("limit") is None
    assert d.outputs["limit"].note.startswith("undefined: rule limit-revenue-a concluded a value from missing")


def test_the_limit_shares_are_parameters_of_the_rulebook(tmp_path: Path) -> None:
    text = (ROOT / "rulebooks" / "pricing.yaml").read_text(encoding="utf-8")
    assert "revenue_share_a: {value: 0.30," in text
    copy = tmp_path / "pricing.yaml"
    copy.write_text(text.replace("revenue_share_a: {value: 0.30,", "revenue_share_a: {value: 0.20,"), encoding="utf-8")
    book = pingji.load_decision(copy, kind="policy")
    assert pingji.decide(book, subject()).value("limit") == Decimal(20000)


# -- the worked case through the store and the command ------------------------------------------------------


T0 = "2026-04-16T09:00:00.000Z"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(pingji.store.records, "now", lambda: T0)
    path = str(tmp_path / "p.db")
    # stored at T0, rated on the facts' as_of, 2026-04-15 (issue 12.2): offers date the rating by it
    r = CliRunner().invoke(cli, ["rate", "facts/examples/machinery-a.yaml", "--db", path])
    assert r.exit_code == 0, r.output
    return path


def cmd(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


A_OFFER = [
    "offer for C-C-0001, evaluation E000001 (rulebook pricing 2026.1, rulebooks/pricing.yaml)",
    "grade        M2 (coarse A), rated 2026-04-15 by manufacturing",
    "decision     approve — approve-a (rulebooks/pricing.yaml:170): grade A is approved on standard terms",
    "rate         3.30% = reference 3.00% + 30 bp",
    "             spread-a                +60  (rulebooks/pricing.yaml:94): grade A base spread 60 bp",
    "             spread-m2               -10  (rulebooks/pricing.yaml:110): master grade M2 10 bp off",
    "             secured-property        -20  (rulebooks/pricing.yaml:134): secured by property, 20 bp off",
    "limit        75,500 (CNY thousands) — limit-ebitda-a (rulebooks/pricing.yaml:152): grade A up to 3.5 × EBITDA "
    "less debt carried",
    "approval     regional for 60,000 requested — approval-regional (rulebooks/pricing.yaml:196): above the "
    "branch's authority",
    "re-rating    every 12 months, next by 2027-04-15 — review-a (rulebooks/pricing.yaml:226): grade A re-rated yearly",
]


def b_offer(evaluation: str, grade_line: str, decision_lines: list[str], approval_line: str) -> list[str]:
    return [
        f"offer for C-C-0001, evaluation {evaluation} (rulebook pricing 2026.1, rulebooks/pricing.yaml)",
        grade_line,
        *decision_lines,
        "rate         4.30% = reference 3.00% + 130 bp",
        "             spread-b               +150  (rulebooks/pricing.yaml:98): grade B base spread 150 bp",
        "             secured-property        -20  (rulebooks/pricing.yaml:134): secured by property, 20 bp off",
        "limit        26,500 (CNY thousands), less than the 60,000 requested — limit-ebitda-b "
        "(rulebooks/pricing.yaml:156): grade B up to 2.5 × EBITDA less debt carried",
        approval_line,
        "re-rating    every 6 months, next by 2026-10-15 — review-b (rulebooks/pricing.yaml:230): grade B re-rated "
        "every 6 months",
    ]


def test_the_a_rated_manufacturer_gets_a_lower_rate_and_a_larger_limit_than_rated_b_by_override(db: str) -> None:
    r = cmd("price", "E000001", "--db", db)
    assert (r.exit_code, r.output.splitlines()) == (0, A_OFFER)
    r = cmd("override", "E000001", "-g", "M5", "--reviewer", "Li", "--reason", "order book halved",
            "--approved-by", "Wang", "--db", db)
    assert r.exit_code == 0, r.output
    r = cmd("price", "E1", "--db", db)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == b_offer(
        "E000001", "grade        M5 (coarse B), expert override, rated 2026-04-15 by manufacturing",
        ["decision     approve_with_conditions — conditions-b (rulebooks/pricing.yaml:174): grade B needs eligible "
         "collateral and financial covenants; conditions-overridden (rulebooks/pricing.yaml:178): an "
         "expert-overridden grade is approved with conditions"],
        "approval     regional for 60,000 requested — approval-regional (rulebooks/pricing.yaml:196): above the "
        "branch's authority; approval-overridden (rulebooks/pricing.yaml:216): an expert-overridden grade needs at "
        "least regional approval")


def test_the_same_company_rated_b_by_its_facts_gets_the_b_offer(db: str) -> None:
    # the same financials with a restructured loan: the corporate `restructured` override caps M2 at M5
    r = cmd("rate", "tests/data/pricing/machinery-restructured-b.yaml", "--db", db)
    assert r.exit_code == 0, r.output
    assert "grade      M5 (coarse B), PD 0.30%" in r.output.splitlines()
    r = cmd("price", "E000002", "--db", db)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == b_offer(
        "E000002", "grade        M5 (coarse B), rated 2026-04-15 by manufacturing",
        ["decision     approve_with_conditions — conditions-b (rulebooks/pricing.yaml:174): grade B needs eligible "
         "collateral and financial covenants"],
        "approval     regional for 60,000 requested — approval-regional (rulebooks/pricing.yaml:196): above the "
        "branch's authority")


def test_offer_facts_from_a_stored_record(db: str) -> None:
    from pingji.store.database import Store

    with Store.open(db, create=False) as s:
        facts = offer_facts(s.record("E000001"))
    # eligible collateral: 95,000 × (1 − 0.3) + 40,000 × (1 − 0.5) = 66,500 + 20,000
    assert facts == {"id": "C-C-0001", "grade": "M2", "overridden": False, "coarse_grade": "A",
                     "customer_type": "corporate", "industry": "C34", "industry_section": "C",
                     "rulebook": "manufacturing", "pd": 0.0005, "total": 88.2, "evaluated_at": "2026-04-15",
                     "as_of": "2026-04-15", "revenue": 360000, "ebitda": 49000, "total_debt": 96000,
                     "collateral": [{"type": "real_estate", "value": 95000, "haircut": 0.3},
                                    {"type": "equipment", "value": 40000, "haircut": 0.5}],
                     "collateral_value": 86500, "secured_by": "real_estate", "request_amount": 60000}
    offer = price(BOOK, facts)
    assert (offer.rate(), offer.next_rating()) == (Decimal("0.0330"), "2027-04-15")


def test_offer_facts_from_an_evaluation_that_is_not_stored() -> None:
    from pingji.decisions.pricing import offer_facts_from_evaluation

    facts = pingji.read_facts(ROOT / "facts" / "examples" / "machinery-a.yaml").data
    ev = pingji.evaluate(pingji.load_rulebook(ROOT / "rulebooks" / "manufacturing.yaml"), facts)
    subject_ = offer_facts_from_evaluation(ev, facts)
    assert (subject_["grade"], subject_["coarse_grade"], subject_["overridden"], subject_["evaluated_at"]) == (
        "M2", "A", False, "2026-04-15")
    offer = price(BOOK, subject_)
    assert (offer.rate(), offer.value("limit"), offer.next_rating()) == (
        Decimal("0.0330"), Decimal(75500), "2027-04-15")
    assert offer_facts_from_evaluation(ev, facts, evaluated_at="2026-05-01")["evaluated_at"] == "2026-05-01"


def test_individual_and_small_business_amounts_are_made_cny_thousands() -> None:
    record = {"facts": {"id": "P-1", "customer_type": "individual", "income": {"monthly_income": 28000},
                        "debts": {"total_debt": 350500}, "exposure": 1500000,
                        "collateral": [{"type": "real_estate", "value": 2400000, "haircut": 0.35}]},
              "effective_grade": "A", "final_grade": "A", "coarse_grade": None, "expert_overrides": [],
              "rulebook": {"id": "individual"}, "evaluated_at": "2026-04-16T09:00:00Z"}
    facts = offer_facts(record)
    # 28,000 × 12 = 336,000 元 = 336 thousand; 2,400,000 × 0.65 = 1,560,000 元 = 1,560 thousand
    assert {k: facts[k] for k in ("revenue", "total_debt", "request_amount", "collateral_value", "collateral")} == {
        "revenue": 336, "total_debt": 350.5, "request_amount": 1500, "collateral_value": 1560,
        "collateral": [{"type": "real_estate", "value": 2400, "haircut": 0.35}]}
    d = pingji.decide(BOOK, facts)
    # 1,500 thousand is a branch decision, not the credit committee's (1,500,000 would be CNY 1.5 billion)
    assert (d.value("approval"), d.value("limit")) == ("branch", Decimal(101))  # 30% × 336 = 100.8
    sb = offer_facts({**record, "facts": {"id": "S-1", "customer_type": "small_business",
                                          "business": {"annual_revenue": 3200000, "annual_net_profit": 410000,
                                                       "debt": 250000}, "exposure": 300000}})
    assert (sb["revenue"], sb["ebitda"], sb["total_debt"], sb["request_amount"]) == (3200, 410, 250, 300)


def test_price_json_round_trips(db: str) -> None:
    from pingji.store.database import Store

    r = cmd("price", "E000001", "--db", db, "--json")
    assert r.exit_code == 0
    d = json.loads(r.output)
    with Store.open(db, create=False) as s:
        want = price(BOOK, offer_facts(s.record("E000001"))).to_dict()
    assert d == {**json.loads(json.dumps(want)), "evaluation_id": "E000001"}
    assert r.output == json.dumps(d, sort_keys=True, ensure_ascii=False, indent=2) + "\n"
    assert (d["rate"], d["reference_rate"], d["grade"], d["amount_unit"], d["next_rating"]) == (
        "0.0330", "0.03", "M2", "CNY thousands", "2027-04-15")
    assert d["offer"] == {"spread_bp": 30, "limit": 75500, "decision": "approve", "approval": "regional",
                          "review_months": 12}
    assert d["decision"]["outputs"]["limit"] == {
        "value": 75500, "rules": ["limit-ebitda-a"], "at": ["rulebooks/pricing.yaml:152"],
        "reasons": ["grade A up to 3.5 × EBITDA less debt carried"],
        "candidates": [{"rule": "limit-revenue-a", "value": 108000}, {"rule": "limit-ebitda-a", "value": 75500}],
        "default": False}


def test_price_errors(db: str, tmp_path: Path) -> None:
    r = cmd("price", "E000009", "--db", db)
    assert (r.exit_code, r.output) == (1, f"{db}: error[E801]: no evaluation E000009 in this store\n")
    r = cmd("price", "E000001", "--db", db, "--rulebook", "early-warning")
    assert (r.exit_code, r.output) == (1, "rulebooks/early-warning.yaml:1:1: error[E216]: rulebook 'early-warning' "
                                          "is a monitoring rulebook; a policy rulebook is needed here\n")
    # a rating rulebook is refused for its kind, not with a page of format errors
    r = cmd("price", "E000001", "--db", db, "--rulebook", "rulebooks/manufacturing.yaml")
    assert (r.exit_code, r.output) == (1, "rulebooks/manufacturing.yaml:1:1: error[E216]: rulebook 'manufacturing' "
                                          "is a rating rulebook; a policy rulebook is needed here\n")
    r = cmd("price", "E000001", "--db", db, "--rulebook", "pricnig")
    assert (r.exit_code, r.output) == (1, "error[E700]: no rulebook with id 'pricnig' (did you mean 'pricing'?); "
                                          "'pingji rulebooks' lists them\n")
    r = cmd("price", "nonsense", "--db", db)
    assert r.exit_code == 2 and "'nonsense' is not an evaluation id (they look like E000001)" in r.output
    missing = str(tmp_path / "none.db")
    r = cmd("price", "E000001", "--db", missing)
    assert (r.exit_code, r.output) == (1, f"{missing}: error[E800]: no store here: nothing has been rated into it yet\n")
    empty = tmp_path / "empty.db"
    empty.touch()
    r = cmd("price", "E000001", "--db", str(empty))
    # issue 12.13: a reading command leaves an empty file as it was (it used to become a 90 KB store)
    assert (r.exit_code, r.output) == (1, f"{empty}: error[E800]: not a pingji store: the file is empty or holds "
                                          f"no pingji tables; nothing was changed\n")
    assert empty.stat().st_size == 0


def test_a_policy_rulebook_of_ones_own_prints_its_outputs(db: str, tmp_path: Path) -> None:
    book = tmp_path / "mini.yaml"
    book.write_text("""rulebook: mini-policy
kind: policy
facts: offer
outputs:
  limit: {type: number, combine: min, precision: 0}
  channel: {levels: [online, branch], combine: worst, default: online}
rules:
  - id: small-limit
    when: coarse_grade == "A"
    then: {limit: 1000}
    reason: {en: a flat limit for A}
  - id: big-ticket
    when: request_amount > 50000
    then: {channel: branch}
    reason: {en: large amounts at a branch}
examples:
  - name: A
    facts: {id: a, grade: A, coarse_grade: A}
    expect: {limit: 1000}
""", encoding="utf-8")
    r = cmd("price", "E000001", "--db", db, "--rulebook", str(book))
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [
        f"offer for C-C-0001, evaluation E000001 (rulebook mini-policy, {book})",
        "grade        M2 (coarse A), rated 2026-04-15 by manufacturing",
        "limit        1,000 (CNY thousands), less than the 60,000 requested — small-limit "
        f"({book}:8): a flat limit for A",
        f"channel      branch — big-ticket ({book}:12): large amounts at a branch",
    ]


def test_an_overridden_grade_of_a_rulebook_no_longer_installed_maps_on_the_master_scale() -> None:
    from pingji.decisions.pricing import fallback_coarse

    record = {"facts": {"id": "k", "guarantees": [{"guarantor": "Parent Co", "type": "corporate"}]},
              "effective_grade": "M4", "expert_overrides": [{"grade": "M4"}], "rulebook": {"id": "retired-2019"},
              "final_grade": "M3", "coarse_grade": "A", "pd": 0.0009, "evaluated_at": "2026-01-31T10:00:00Z"}
    assert offer_facts(record) == {"id": "k", "grade": "M4", "coarse_grade": "A", "overridden": True,
                                   "rulebook": "retired-2019", "evaluated_at": "2026-01-31", "collateral": [],
                                   "collateral_value": 0, "secured_by": "guarantee"}
    assert [fallback_coarse(g) for g in ("M1", "M4", "M5", "M7", "M8", "M10", "D", "B", "X")] == [
        "A", "A", "B", "B", "C", "C", "C", "B", None]


def test_the_rate_is_rounded_half_up_to_four_places() -> None:
    from pingji.decisions.pricing import Offer

    class Odd(Offer):
        def reference_rate(self) -> Decimal:
            return Decimal("0.03105")

    offer = Odd(subject(), pingji.decide(BOOK, subject()))  # 0.03105 + 0.0060 = 0.03705
    assert offer.rate() == Decimal("0.0371")  # half-even would give 0.0370


def test_price_in_chinese(db: str) -> None:
    r = cmd("price", "E000001", "--db", db, "--lang", "zh")
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert lines[2] == "decision     approve — approve-a (rulebooks/pricing.yaml:170): A级客户按正常条件授信"
    assert lines[-1] == "re-rating    every 12 months, next by 2027-04-15 — review-a (rulebooks/pricing.yaml:226): A级每年重评"


def test_an_expert_override_to_b_prices_through_the_store(db: str) -> None:
    from pingji.store.database import Store

    with Store.open(db, create=False) as s:
        before = price(BOOK, offer_facts(s.record("E000001")))
        s.add_override("E000001", "M5", reviewer="Li", reason="order book halved", approved_by="Wang")
        after = price(BOOK, offer_facts(s.record("E000001")))
    assert (before.rate(), before.value("limit"), before.facts["overridden"]) == (
        Decimal("0.0330"), Decimal(75500), False)
    assert (after.rate(), after.value("limit"), after.facts["overridden"]) == (
        Decimal("0.0430"), Decimal(26500), True)
    assert after.rate() > before.rate() and after.value("limit") < before.value("limit")
    assert (after.facts["grade"], after.facts["coarse_grade"], after.next_rating()) == ("M5", "B", "2026-10-15")
    assert after.decision.outputs["approval"].rules == ["approval-regional", "approval-overridden"]
    assert "pd" not in after.facts  # the PD belongs to the rulebook's grade, not the override's


def test_next_rerating_date_is_the_day_the_monitoring_rule_starts_to_fire() -> None:
    # rated Aug 31, every 6 months: months_between counts whole months by the day of the month, so
    # the early-warning rulebook's rerate-b first fires on Mar 1 — the offer says the same day.
    offer = price(BOOK, subject(grade="B", coarse_grade="B", evaluated_at="2026-08-31"))
    assert offer.next_rating() == "2027-03-01"


def test_price_help_has_a_working_example() -> None:
    r = cmd("price", "--help")
    assert r.exit_code == 0
    assert "Example:\n\n      pingji rate facts/examples/machinery-a.yaml\n\n      pingji price E000001" in r.output


def test_issue12_a_declined_customer_gets_no_rate_and_no_limit(db: str) -> None:
    r = cmd("rate", "facts/examples/chemicals-c.yaml", "--db", db)
    assert r.exit_code == 0, r.output
    r = cmd("price", "E000002", "--db", db)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[2].startswith("decision     decline — ")
    assert lines[3] == "terms        none: the customer is declined"
    assert not any(line.startswith(("rate ", "limit ", "spread ")) for line in lines)
    data = json.loads(cmd("price", "E000002", "--db", db, "--json").output)
    assert (data["declined"], data["rate"], data["reference_rate"]) == (True, None, None)
    assert data["offer"]["decision"] == "decline"
    ok = json.loads(cmd("price", "E000001", "--db", db, "--json").output)
    assert ok["declined"] is False and ok["rate"] is not None
