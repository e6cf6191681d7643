"""Early warnings: each signal at its threshold, severity and action, re-rating due at the month
boundary, and `pingji monitor` end to end (store mode and --previous mode, bad input)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import engine
import engine.records
from cli.main import cli
from engine.monitoring import snapshot

ROOT = Path(__file__).resolve().parent.parent
BOOK = engine.load_decision(ROOT / "rulebooks" / "early-warning.yaml", kind="monitoring")
SNAPS = ROOT / "facts" / "monitoring"


def run(previous: dict[str, Any], current: dict[str, Any], rating: dict[str, Any] | None = None,
        as_of: str = "2026-06-30") -> engine.Decision:
    facts: dict[str, Any] = {"id": "c1", "as_of": as_of, "previous": previous, "current": current}
    if rating:
        facts["rating"] = rating
    return engine.decide(BOOK, facts)


def signals(d: engine.Decision) -> list[str]:
    return list(d.value("signals"))


@pytest.mark.parametrize(("prev", "cur", "want"), [
    ({"revenue": 1000}, {"revenue": 700}, []),  # −30.00%: not more than 30%
    ({"revenue": 1000}, {"revenue": 699.9}, ["revenue-drop"]),  # −30.01%
    ({"operating_cash_flow": 5}, {"operating_cash_flow": -1, "operating_cash_flow_prior": 0}, []),
    ({}, {"operating_cash_flow": -1, "operating_cash_flow_prior": -0.01}, ["cash-flow-negative"]),
    ({"total_assets": 100, "total_liabilities": 50}, {"total_assets": 100, "total_liabilities": 60}, []),  # +10.00 points
    ({"total_assets": 100, "total_liabilities": 50}, {"total_assets": 100, "total_liabilities": 60.01},
     ["leverage-up"]),
    ({"days_past_due": 0}, {"days_past_due": 1}, ["new-overdue"]),
    ({"days_past_due": 5}, {"days_past_due": 30}, []),  # arrears not new
    ({"days_past_due": 95}, {"days_past_due": 90}, []),
    ({"days_past_due": 95}, {"days_past_due": 91}, ["overdue-severe"]),
    ({"lawsuits": 1}, {"lawsuits": 1}, []),
    ({"lawsuits": 1}, {"lawsuits": 2}, ["new-lawsuits"]),
    ({}, {"lawsuits": 1}, ["new-lawsuits"]),
    ({"collateral_value": 100}, {"collateral_value": 80}, []),  # −20.00%
    ({"collateral_value": 100}, {"collateral_value": 79.99}, ["collateral-down"]),
    ({"external_downgrade": True}, {"external_downgrade": True}, []),
    ({"external_downgrade": False}, {"external_downgrade": True}, ["external-downgrade"]),
    ({}, {"statement_date": "2024-12-30"}, []),  # 18 months before 2026-06-30
    ({}, {"statement_date": "2024-12-29"}, []),  # still 18 whole months
    ({}, {"statement_date": "2024-11-30"}, ["stale-statements"]),  # 19 months
])
def test_each_signal_at_its_threshold(prev: dict[str, Any], cur: dict[str, Any], want: list[str]) -> None:
    assert signals(run(prev, cur)) == want


def test_missing_figures_never_signal() -> None:
    d = run({}, {})
    assert (d.value("severity"), d.value("action"), signals(d)) == ("none", "none", [])
    assert d.metrics["revenue_change"]["status"] == "missing"


def test_the_worst_severity_and_action_win() -> None:
    d = run({"revenue": 1000, "days_past_due": 0, "lawsuits": 0},
            {"revenue": 600, "days_past_due": 120, "lawsuits": 1})
    assert signals(d) == ["revenue-drop", "new-overdue", "overdue-severe", "new-lawsuits"]
    assert (d.value("severity"), d.outputs["severity"].rules) == ("severe", ["overdue-severe"])
    assert (d.value("action"), d.outputs["action"].rules) == ("restructure_or_exit", ["overdue-severe"])
    assert (d.value("rerate"), d.outputs["rerate"].rules) == ("immediate", ["overdue-severe"])


@pytest.mark.parametrize(("grade", "rated", "want"), [
    ("A", "2025-07-01", "not_due"),  # 11 whole months before 2026-06-30
    ("A", "2025-06-30", "due"),  # 12
    ("B", "2026-01-01", "not_due"),  # 5
    ("B", "2025-12-30", "due"),  # 6
    ("C", "2026-04-01", "not_due"),  # 2
    ("C", "2026-03-30", "due"),  # 3
])
def test_rerating_due_by_grade_frequency(grade: str, rated: str, want: str) -> None:
    d = run({}, {}, {"coarse_grade": grade, "evaluated_at": rated})
    assert d.value("rerate") == want
    assert d.outputs["rerate"].rules == ([f"rerate-{grade.lower()}"] if want == "due" else [])


def test_snapshot_takes_what_each_customer_type_has() -> None:
    corp = engine.read_facts(SNAPS / "machinery-2026-04.yaml").data
    assert snapshot(corp) == {
        "as_of": "2026-04-15", "revenue": 360000, "operating_cash_flow": 33500, "operating_cash_flow_prior": 30000,
        "total_assets": 420000, "total_liabilities": 197400, "statement_date": "2025-12-31", "days_past_due": 0,
        "lawsuits": 0, "external_downgrade": False, "collateral_value": 135000.0}
    person = {"customer_type": "individual", "income": {"monthly_income": 12345.67}, "credit": {"days_past_due": 0}}
    assert snapshot(person) == {"revenue": 148148.04, "days_past_due": 0}


# -- the command ------------------------------------------------------------------------------------------


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(engine.records, "now", lambda: "2026-04-16T09:00:00.000Z")
    return tmp_path


def cmd(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


WATCH = [
    "watch list: 1",
    "  C-C-0001  high  action: rerate_now",
    "    - revenue-drop (rulebooks/early-warning.yaml:80): Revenue down more than 30%",
    "    - cash-flow-negative (rulebooks/early-warning.yaml:85): Operating cash flow negative for two periods",
    "    - new-overdue (rulebooks/early-warning.yaml:95): New days past due",
    "    - new-lawsuits (rulebooks/early-warning.yaml:105): New lawsuits",
    "    - collateral-down (rulebooks/early-warning.yaml:110): Collateral value down more than 20%",
    "    - external-downgrade (rulebooks/early-warning.yaml:115): External downgrade",
]


def test_monitor_against_the_store(ws: Path) -> None:
    db = str(ws / "m.db")
    assert cmd("rate", str(SNAPS / "machinery-2026-04.yaml"), "--db", db).exit_code == 0
    r = cmd("monitor", str(SNAPS / "machinery-2026-10.yaml"), "--db", db)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [
        "monitoring 1 customer (rulebook early-warning 2026.1, rulebooks/early-warning.yaml)",
        "",
        *WATCH,
        "",
        "re-ratings due: 1",
        "  C-C-0001  grade M2  due now  (external-downgrade (rulebooks/early-warning.yaml:115))",
        "",
        "problem customers (high or severe):",
        "  customer C-C-0001: 1 evaluation, 0 expert overrides",
        "",
        "  evaluation  evaluated at (UTC)        rulebook              total  model  final  now",
        "  E000001     2026-04-16T09:00:00.000Z  manufacturing 2026.1  88.20  M2     M2     M2",
    ]


def test_monitor_with_an_explicit_previous_snapshot_and_json(ws: Path) -> None:
    r = cmd("monitor", str(SNAPS / "machinery-2026-10.yaml"), "--previous", str(SNAPS / "machinery-2026-04.yaml"),
            "--db", str(ws / "none.db"), "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert [w["customer_id"] for w in d["watch_list"]] == ["C-C-0001"]
    assert [s["rule"] for s in d["watch_list"][0]["signals"]] == [
        "revenue-drop", "cash-flow-negative", "new-overdue", "new-lawsuits", "collateral-down", "external-downgrade"]
    assert d["rerate_due"] == [{"customer_id": "C-C-0001", "due": "now", "rules": ["external-downgrade"]}]
    metrics = d["decisions"][0]["metrics"]
    assert (metrics["revenue_change"]["value"], metrics["collateral_change"]["value"]) == (-0.35, -0.2593)


def test_a_customer_never_rated_is_listed_not_a_crash(ws: Path) -> None:
    db = str(ws / "m.db")
    assert cmd("rate", "facts/examples/contractor-a.yaml", "--db", db).exit_code == 0
    r = cmd("monitor", str(SNAPS / "machinery-2026-10.yaml"), "--db", db)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[-1] == "not rated yet (no stored evaluation, no --previous): C-C-0001"


def test_monitor_bad_input(ws: Path) -> None:
    later, earlier = str(SNAPS / "machinery-2026-10.yaml"), str(SNAPS / "machinery-2026-04.yaml")
    r = cmd("monitor", earlier, "--previous", later, "--db", str(ws / "none.db"))
    assert (r.exit_code, r.output) == (1, f"{earlier}:8:8: error[E521]: as_of 2026-04-15 is before the previous "
                                          f"snapshot's as_of 2026-10-31\n")
    bad = ws / "bad.yaml"
    bad.write_text("customer_type: corporate\nid: X\ncredit: {days_past_due: -3}\n", encoding="utf-8")
    r = cmd("monitor", str(bad), "--previous", earlier, "--db", str(ws / "none.db"))
    assert r.exit_code == 1
    assert r.output == (f"{bad}:1:1: error[E501]: (top level): 'as_of' is a required property\n"
                        f"{bad}:3:25: error[E501]: credit.days_past_due: -3 is less than the minimum of 0\n")
    future = ws / "future.yaml"
    future.write_text(Path(later).read_text(encoding="utf-8").replace("as_of: '2026-10-31'", "as_of: '2099-10-31'"),
                      encoding="utf-8")
    r = cmd("monitor", str(future), "--previous", earlier, "--db", str(ws / "none.db"))
    assert (r.exit_code, r.output) == (1, f"{future}:10:8: error[E521]: as_of 2099-10-31 is in the future\n")
    r = cmd("monitor", later, "--previous", "facts/examples/contractor-a.yaml", "--db", str(ws / "none.db"))
    assert r.exit_code == 1 and "error[E522]: --previous is customer '" in r.output
    r = cmd("monitor", later, "--db", str(ws / "none.db"))
    assert (r.exit_code, r.output) == (1, f"{ws / 'none.db'}: no store here; rate the customers first "
                                          f"(pingji rate ... --db {ws / 'none.db'}) or give --previous\n")
    r = cmd("monitor", later, "--rulebook", "five-category", "--previous", earlier)
    assert r.exit_code == 1 and "a monitoring rulebook is needed here" in r.output
