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

import engine
import engine.records
from cli.main import cli
from engine.pricing import offer_facts, price

ROOT = Path(__file__).resolve().parent.parent
BOOK = engine.load_decision(ROOT / "rulebooks" / "pricing.yaml", kind="policy")


def subject(**kw: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {"id": "x", "grade": "A", "coarse_grade": "A", "revenue": 100000, "ebitda": 20000,
                             "total_debt": 10000, "collateral_value": 30000, "secured_by": "none",
                             "request_amount": 10000}
    facts.update(kw)
    return facts


def outputs(facts: dict[str, Any]) -> dict[str, Any]:
    d = engine.decide(BOOK, facts)
    return {k: (v.value, v.rules) for k, v in d.outputs.items()}


def test_grades_set_spread_limit_approval_and_review() -> None:
    D = Decimal
    # A: 60 bp; limit min(30% × 100,000 = 30,000; 3.5 × 20,000 − 10,000 = 60,000) = 30,000
    assert outputs(subject()) == {
        "spread_bp": (D(60), ["spread-a"]), "limit": (D(30000), ["limit-revenue-a"]),
        "approval": ("branch", []), "review_months": (D(12), ["review-a"])}
    # B: 150 bp; limit min(15,000; 2.5 × 20,000 − 10,000 = 40,000; collateral 30,000) = 15,000
    assert outputs(subject(grade="B", coarse_grade="B")) == {
        "spread_bp": (D(150), ["spread-b"]), "limit": (D(15000), ["limit-revenue-b"]),
        "approval": ("branch", []), "review_months": (D(6), ["review-b"])}
    assert outputs(subject(grade="C", coarse_grade="C")) == {
        "spread_bp": (D(350), ["spread-c"]), "limit": (D(0), ["limit-c"]),
        "approval": ("decline", ["decline-c"]), "review_months": (D(3), ["review-c"])}


def test_collateral_caps_a_b_limit_and_lowers_the_spread() -> None:
    out = outputs(subject(grade="M6", coarse_grade="B", collateral_value=12345.4, secured_by="deposit"))
    assert out["limit"] == (Decimal(12345), ["limit-collateral-b"])  # 12,345.4 rounded half-up to the unit
    assert out["spread_bp"] == (Decimal(130), ["spread-b", "spread-m6", "secured-cash"])


@pytest.mark.parametrize(("grade", "coarse", "bp"), [
    ("M1", "A", 40), ("M2", "A", 50), ("M3", "A", 60), ("M4", "A", 70),
    ("M5", "B", 150), ("M6", "B", 170), ("M7", "B", 190),
    ("M8", "C", 350), ("M9", "C", 450), ("M10", "C", 550), ("D", "C", 350),
])
def test_master_grades_move_the_spread_within_their_band(grade: str, coarse: str, bp: int) -> None:
    assert engine.decide(BOOK, subject(grade=grade, coarse_grade=coarse)).value("spread_bp") == Decimal(bp)


def test_a_guarantee_alone_does_not_lower_the_spread() -> None:
    assert outputs(subject(grade="B", coarse_grade="B", secured_by="guarantee"))["spread_bp"] == (
        Decimal(150), ["spread-b"])


@pytest.mark.parametrize(("grade", "coarse", "amount", "want"), [
    ("A", "A", 50000, ("branch", [])),
    ("A", "A", 50001, ("regional", ["approval-regional"])),
    ("A", "A", 200001, ("head_office", ["approval-head-office"])),
    ("B", "B", 100000, ("regional", ["approval-regional"])),
    ("B", "B", 100001, ("head_office", ["approval-b-large"])),
    ("A", "A", 1000000, ("head_office", ["approval-head-office"])),
    ("A", "A", 1000001, ("credit_committee", ["approval-committee"])),
    ("B", "B", 200001, ("credit_committee", ["approval-b-committee"])),
    ("C", "C", 1000001, ("decline", ["decline-c"])),
])
def test_approval_by_grade_and_size(grade: str, coarse: str, amount: int, want: tuple[str, list[str]]) -> None:
    assert outputs(subject(grade=grade, coarse_grade=coarse, request_amount=amount))["approval"] == want


def test_missing_revenue_leaves_the_limit_to_the_other_caps() -> None:
    facts = subject()
    del facts["revenue"]
    d = engine.decide(BOOK, facts)
    # revenue × 30% is undefined without revenue: the limit is undefined, never silently 0 or larger
    assert d.value("limit") is None
    assert d.outputs["limit"].note.startswith("undefined: rule limit-revenue-a concluded a value from missing")


# -- the worked case through the store and the command ------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(engine.records, "now", lambda: "2026-04-16T09:00:00.000Z")
    path = str(tmp_path / "p.db")
    r = CliRunner().invoke(cli, ["rate", "facts/examples/machinery-a.yaml", "--db", path])
    assert r.exit_code == 0, r.output
    return path


def cmd(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


A_OFFER = [
    "offer for C-C-0001, evaluation E000001 (rulebook pricing 2026.1, rulebooks/pricing.yaml)",
    "grade        M2 (coarse A)",
    "rate         3.30% = reference 3.00% + 30 bp",
    "             spread-a                +60  (rulebooks/pricing.yaml:63)",
    "             spread-m2               -10  (rulebooks/pricing.yaml:79)",
    "             secured-property        -20  (rulebooks/pricing.yaml:103)",
    "limit        75,500 — limit-ebitda-a (rulebooks/pricing.yaml:121): grade A up to 3.5 × EBITDA less debt carried",
    "approval     regional — approval-regional (rulebooks/pricing.yaml:139): above the branch's authority",
    "re-rating    every 12 months, next by 2027-04-16 — review-a (rulebooks/pricing.yaml:169): grade A re-rated yearly",
]


def test_the_a_rated_manufacturer_gets_a_lower_rate_and_a_larger_limit_than_rated_b(db: str) -> None:
    r = cmd("price", "E000001", "--db", db)
    assert (r.exit_code, r.output.splitlines()) == (0, A_OFFER)
    r = cmd("override", "E000001", "-g", "M5", "--reviewer", "Li", "--reason", "order book halved",
            "--approved-by", "Wang", "--db", db)
    assert r.exit_code == 0, r.output
    r = cmd("price", "E1", "--db", db)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [
        "offer for C-C-0001, evaluation E000001 (rulebook pricing 2026.1, rulebooks/pricing.yaml)",
        "grade        M5 (coarse B), expert override",
        "rate         4.30% = reference 3.00% + 130 bp",
        "             spread-b               +150  (rulebooks/pricing.yaml:67)",
        "             secured-property        -20  (rulebooks/pricing.yaml:103)",
        "limit        26,500 — limit-ebitda-b (rulebooks/pricing.yaml:125): grade B up to 2.5 × EBITDA less debt carried",
        "approval     regional — approval-regional (rulebooks/pricing.yaml:139): above the branch's authority; "
        "approval-overridden (rulebooks/pricing.yaml:159): an expert-overridden grade needs at least regional approval",
        "re-rating    every 6 months, next by 2026-10-16 — review-b (rulebooks/pricing.yaml:173): grade B re-rated "
        "every 6 months",
    ]


def test_offer_facts_from_a_stored_record(db: str) -> None:
    from engine.store import Store

    with Store.open(db, create=False) as s:
        facts = offer_facts(s.record("E000001"))
    # eligible collateral: 95,000 × (1 − 0.3) + 40,000 × (1 − 0.5) = 66,500 + 20,000
    assert facts == {"id": "C-C-0001", "grade": "M2", "overridden": False, "coarse_grade": "A",
                     "customer_type": "corporate", "industry": "C34", "pd": 0.0005, "evaluated_at": "2026-04-16",
                     "revenue": 360000, "ebitda": 49000, "total_debt": 96000, "collateral_value": 86500.0,
                     "secured_by": "real_estate", "request_amount": 60000}
    offer = price(BOOK, facts)
    assert (offer.rate(), offer.next_rating()) == (Decimal("0.0330"), "2027-04-16")


def test_price_json(db: str) -> None:
    r = cmd("price", "E000001", "--db", db, "--json")
    d = json.loads(r.output)
    assert (d["rate"], d["grade"], d["evaluation_id"]) == ("0.0330", "M2", "E000001")
    assert d["decision"]["outputs"]["limit"] == {
        "value": 75500, "rules": ["limit-ebitda-a"], "at": ["rulebooks/pricing.yaml:121"],
        "reasons": ["grade A up to 3.5 × EBITDA less debt carried"],
        "candidates": [{"rule": "limit-revenue-a", "value": 108000}, {"rule": "limit-ebitda-a", "value": 75500}],
        "default": False}


def test_price_errors(db: str, tmp_path: Path) -> None:
    r = cmd("price", "E000009", "--db", db)
    assert (r.exit_code, r.output) == (1, f"{db}: error[E801]: no evaluation E000009 in this store\n")
    r = cmd("price", "E000001", "--db", db, "--rulebook", "early-warning")
    assert r.exit_code == 1
    assert r.output == ("rulebooks/early-warning.yaml:1:1: error[E216]: rulebook 'early-warning' is a monitoring "
                        "rulebook; a policy rulebook is needed here\n")
    r = cmd("price", "nonsense", "--db", db)
    assert r.exit_code == 2 and "'nonsense' is not an evaluation id" in r.output
    missing = str(tmp_path / "none.db")
    r = cmd("price", "E000001", "--db", missing)
    assert r.exit_code == 1 and r.output.startswith(missing)


def test_an_overridden_grade_of_a_rulebook_no_longer_installed_maps_on_the_master_scale() -> None:
    from engine.pricing import fallback_coarse

    record = {"facts": {"id": "k", "guarantees": [{"guarantor": "Parent Co", "type": "corporate"}]},
              "effective_grade": "M4", "expert_overrides": [{"grade": "M4"}], "rulebook": {"id": "retired-2019"},
              "final_grade": "M3", "coarse_grade": "A", "pd": 0.0009, "evaluated_at": "2026-01-31T10:00:00Z"}
    assert offer_facts(record) == {"id": "k", "grade": "M4", "coarse_grade": "A", "overridden": True,
                                   "evaluated_at": "2026-01-31", "collateral_value": 0.0, "secured_by": "guarantee"}
    assert [fallback_coarse(g) for g in ("M1", "M4", "M5", "M7", "M8", "M10", "D", "B", "X")] == [
        "A", "A", "B", "B", "C", "C", "C", "B", None]


def test_the_rate_is_rounded_half_up_to_four_places() -> None:
    from engine.pricing import Offer

    class Odd(Offer):
        def reference_rate(self) -> Decimal:
            return Decimal("0.03105")

    offer = Odd(subject(), engine.decide(BOOK, subject()))  # 0.03105 + 0.0060 = 0.03705
    assert offer.rate() == Decimal("0.0371")  # half-even would give 0.0370


def test_price_in_chinese(db: str) -> None:
    r = cmd("price", "E000001", "--db", db, "--lang", "zh")
    assert r.exit_code == 0
    assert r.output.splitlines()[-1] == (
        "re-rating    every 12 months, next by 2027-04-16 — review-a (rulebooks/pricing.yaml:169): A级每年重评")


def test_an_expert_override_to_b_prices_through_the_store(db: str) -> None:
    from engine.store import Store

    with Store.open(db, create=False) as s:
        before = price(BOOK, offer_facts(s.record("E000001")))
        s.add_override("E000001", "M5", reviewer="Li", reason="order book halved", approved_by="Wang")
        after = price(BOOK, offer_facts(s.record("E000001")))
    assert (before.rate(), before.decision.value("limit"), before.facts["overridden"]) == (
        Decimal("0.0330"), Decimal(75500), False)
    assert (after.rate(), after.decision.value("limit"), after.facts["overridden"]) == (
        Decimal("0.0430"), Decimal(26500), True)
    assert after.rate() > before.rate() and after.decision.value("limit") < before.decision.value("limit")
    assert (after.facts["grade"], after.facts["coarse_grade"], after.next_rating()) == ("M5", "B", "2026-10-16")
    assert after.decision.outputs["approval"].rules == ["approval-regional", "approval-overridden"]


def test_next_rerating_date_is_the_day_the_monitoring_rule_starts_to_fire() -> None:
    # rated Aug 31, every 6 months: months_between counts whole months by the day of the month, so
    # the early-warning rulebook's rerate-b first fires on Mar 1 — the offer says the same day.
    offer = price(BOOK, subject(grade="B", coarse_grade="B", evaluated_at="2026-08-31"))
    assert offer.next_rating() == "2027-03-01"
