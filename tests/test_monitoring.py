"""Early warnings: each signal at its threshold, severity and action, re-rating due at the month
boundary, the subject built from each customer type, and `pingji monitor` end to end (store mode,
--previous mode, folders and JSONL, bad input)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import pingji
import pingji.store.records
from pingji.analysis.monitoring import compare
from pingji.cli.main import cli
from pingji.decisions.monitoring import due_date, snapshot, subject, watch
from pingji.decisions.snapshots import read_customer
from pingji.store.database import Store

ROOT = Path(__file__).resolve().parent.parent
BOOK = pingji.load_decision(ROOT / "rulebooks" / "early-warning.yaml", kind="monitoring")
SNAPS = ROOT / "facts" / "monitoring"
EARLIER, LATER = "facts/monitoring/machinery-2026-04.yaml", "facts/monitoring/machinery-2026-10.yaml"


def line_of(rule_id: str) -> str:
    return f"rulebooks/early-warning.yaml:{BOOK.rule(rule_id).loc.line}"


def run(previous: dict[str, Any], current: dict[str, Any], rating: dict[str, Any] | None = None,
        as_of: str = "2026-06-30") -> pingji.Decision:
    facts: dict[str, Any] = {"customer": {"id": "c1"}, "as_of": as_of, "previous": previous, "current": current}
    if rating:
        facts["rating"] = rating
    return pingji.decide(BOOK, facts)


def signals(d: pingji.Decision) -> list[str]:
    return list(d.value("signals"))


@pytest.mark.parametrize(("prev", "cur", "want"), [
    pytest.param({"revenue": 1000}, {"revenue": 700}, [], id="revenue -30.00%"),
    pytest.param({"revenue": 1000}, {"revenue": 699.9}, ["revenue-drop"], id="revenue -30.01%"),
    pytest.param({"revenue": 0}, {"revenue": 10}, [], id="revenue from zero: undefined, no signal"),
    pytest.param({}, {"operating_cash_flow": -1, "operating_cash_flow_prior": 0}, [], id="ocf negative once"),
    pytest.param({}, {"operating_cash_flow": -1, "operating_cash_flow_prior": -0.01}, ["cash-flow-negative"],
                 id="ocf negative twice"),
    pytest.param({}, {"operating_cash_flow": -1}, [], id="ocf prior period missing"),
    pytest.param({"total_assets": 100, "total_liabilities": 50}, {"total_assets": 100, "total_liabilities": 60}, [],
                 id="leverage +10.00 points"),
    pytest.param({"total_assets": 100, "total_liabilities": 50}, {"total_assets": 100, "total_liabilities": 60.01},
                 ["leverage-up"], id="leverage +10.01 points"),
    pytest.param({"days_past_due": 0}, {"days_past_due": 0}, [], id="no arrears"),
    pytest.param({"days_past_due": 0}, {"days_past_due": 1}, ["new-overdue"], id="new arrears"),
    pytest.param({"days_past_due": 5}, {"days_past_due": 30}, [], id="arrears not new"),
    pytest.param({}, {"days_past_due": 30}, [], id="arrears before unknown"),
    pytest.param({"days_past_due": 95}, {"days_past_due": 90}, [], id="dpd 90"),
    pytest.param({"days_past_due": 95}, {"days_past_due": 91}, ["overdue-severe"], id="dpd 91"),
    pytest.param({"lawsuits": 1}, {"lawsuits": 1}, [], id="same lawsuits"),
    pytest.param({"lawsuits": 1}, {"lawsuits": 2}, ["new-lawsuits"], id="one more lawsuit"),
    pytest.param({}, {"lawsuits": 1}, ["new-lawsuits"], id="lawsuit, none known before"),
    pytest.param({}, {"lawsuits": 0}, [], id="no lawsuit, none known before"),
    pytest.param({"collateral_value": 100}, {"collateral_value": 80}, [], id="collateral -20.00%"),
    pytest.param({"collateral_value": 100}, {"collateral_value": 79.99}, ["collateral-down"], id="collateral -20.01%"),
    pytest.param({"external_downgrade": True}, {"external_downgrade": True}, [], id="downgrade not new"),
    pytest.param({"external_downgrade": False}, {"external_downgrade": True}, ["external-downgrade"], id="downgrade"),
    pytest.param({}, {"statement_date": "2024-12-30"}, [], id="statements 18 months"),
    pytest.param({}, {"statement_date": "2024-12-29"}, [], id="statements 18 months 1 day"),
    pytest.param({}, {"statement_date": "2024-11-30"}, ["stale-statements"], id="statements 19 months"),
])
def test_each_signal_at_its_threshold(prev: dict[str, Any], cur: dict[str, Any], want: list[str]) -> None:
    d = run(prev, cur)
    assert signals(d) == want
    assert d.fired_ids() == want  # every signal is a rule that fired, and nothing else fired


def test_missing_figures_never_signal() -> None:
    d = run({}, {})
    assert (d.value("severity"), d.value("action"), d.value("tracking"), signals(d)) == ("none", "none", "routine", [])
    assert d.metrics["revenue_change"]["status"] == "missing"


@pytest.mark.parametrize(("prev", "cur", "severity", "action", "tracking"), [
    pytest.param({}, {"statement_date": "2024-01-31"}, "low", "watch", "routine", id="low alone"),
    pytest.param({"total_assets": 100, "total_liabilities": 50, "lawsuits": 0},
                 {"total_assets": 100, "total_liabilities": 70, "lawsuits": 1, "statement_date": "2024-01-31"},
                 "medium", "watch", "routine", id="medium beats low"),
    pytest.param({"total_assets": 100, "total_liabilities": 50, "collateral_value": 10},
                 {"total_assets": 100, "total_liabilities": 70, "collateral_value": 5},
                 "medium", "review", "routine", id="review beats watch at the same severity"),
    pytest.param({"days_past_due": 0, "external_downgrade": False, "lawsuits": 0},
                 {"days_past_due": 3, "external_downgrade": True, "lawsuits": 2},
                 "high", "rerate_now", "problem", id="high; rerate_now beats review"),
    pytest.param({"revenue": 1000, "days_past_due": 0, "lawsuits": 0},
                 {"revenue": 600, "days_past_due": 120, "lawsuits": 1},
                 "severe", "restructure_or_exit", "problem", id="severe beats all"),
])
def test_the_worst_severity_and_action_win(prev: dict[str, Any], cur: dict[str, Any], severity: str, action: str,
                                           tracking: str) -> None:
    d = run(prev, cur)
    assert (d.value("severity"), d.value("action"), d.value("tracking")) == (severity, action, tracking)
    levels = BOOK.output("severity").levels
    concluded = [f["concluded"]["severity"] for f in d.fired]
    assert severity == max(concluded, key=levels.index)
    assert d.outputs["severity"].rules == [f["rule"] for f in d.fired if f["concluded"]["severity"] == severity]


def test_combined_signals_name_the_deciding_rules() -> None:
    d = run({"revenue": 1000, "days_past_due": 0, "lawsuits": 0}, {"revenue": 600, "days_past_due": 120, "lawsuits": 1})
    assert signals(d) == ["revenue-drop", "new-overdue", "overdue-severe", "new-lawsuits"]
    assert (d.value("severity"), d.outputs["severity"].rules) == ("severe", ["overdue-severe"])
    assert (d.value("action"), d.outputs["action"].rules) == ("restructure_or_exit", ["overdue-severe"])
    assert (d.value("rerate"), d.outputs["rerate"].rules) == ("immediate", ["overdue-severe"])
    assert d.outputs["severity"].at == [line_of("overdue-severe")]


def test_every_severe_signal_rerates_at_once_and_every_high_one_is_tracked() -> None:
    levels = BOOK.output("severity").levels
    checked = 0
    for r in BOOK.rules:
        then = {c.output: c.value for c in r.then}
        if "severity" not in then:
            continue
        checked += 1
        assert "signals" in then and "action" in then, r.id
        if then["severity"] == "severe":
            assert then.get("rerate") == "immediate", r.id
        assert (then.get("tracking") == "problem") == (levels.index(then["severity"]) >= levels.index("high")), r.id
    assert checked == 9


@pytest.mark.parametrize(("grade", "rated", "as_of", "want"), [
    ("A", "2025-07-01", "2026-06-30", "not_due"),  # 11 whole months
    ("A", "2025-06-30", "2026-06-30", "due"),  # 12
    ("B", "2026-01-01", "2026-06-30", "not_due"),  # 5
    ("B", "2025-12-30", "2026-06-30", "due"),  # 6
    ("B", "2025-08-31", "2026-02-28", "not_due"),  # 5: February has no 31st
    ("B", "2025-08-31", "2026-03-01", "due"),  # 6
    ("C", "2026-04-01", "2026-06-30", "not_due"),  # 2
    ("C", "2026-03-30", "2026-06-30", "due"),  # 3
    ("C", "2026-07-15", "2026-06-30", "not_due"),  # rated after the monitoring date: -1
])
def test_rerating_due_by_grade_frequency(grade: str, rated: str, as_of: str, want: str) -> None:
    w = watch(BOOK, "c1", as_of, {}, {}, {"grade": grade, "coarse_grade": grade, "evaluated_at": rated})
    assert w.decision.value("rerate") == want
    assert w.decision.outputs["rerate"].rules == ([f"rerate-{grade.lower()}"] if want == "due" else [])
    # the date `due` names is the first day the rule fires
    assert (w.due() is not None) == (want == "due")
    nxt = w.next_rating()
    assert nxt is not None
    assert want == ("due" if as_of >= nxt else "not_due")


def test_due_date_is_the_first_day_the_rule_fires() -> None:
    assert due_date(dt.date(2025, 8, 31), 6) == dt.date(2026, 3, 1)
    assert due_date(dt.date(2025, 6, 30), 12) == dt.date(2026, 6, 30)
    assert due_date(dt.date(2024, 2, 29), 12) == dt.date(2025, 3, 1)
    assert due_date(dt.date(2026, 1, 31), 3) == dt.date(2026, 5, 1)


def test_immediate_on_a_severe_signal_whatever_the_grade() -> None:
    w = watch(BOOK, "c1", "2026-06-30", {"credit": {"days_past_due": 60}}, {"credit": {"days_past_due": 91}},
              {"grade": "A", "coarse_grade": "A", "evaluated_at": "2026-06-01"})
    assert (w.severity, w.decision.value("rerate"), w.due(), w.due_date()) == ("severe", "immediate", "now",
                                                                              "2026-06-30")
    assert w.next_rating() == "2027-06-01"


def test_subject_months_since_and_the_schema() -> None:
    facts = subject("c1", "2026-06-30", {}, {}, {"grade": "M2", "coarse_grade": "A", "evaluated_at": "2025-06-30",
                                                 "overridden": True, "months_since": 99}, "corporate", "C")
    assert facts["customer"] == {"id": "c1", "customer_type": "corporate", "industry": "C"}
    assert facts["rating"]["months_since"] == 12  # computed, never taken from the caller
    assert pingji.decide(BOOK, facts).value("rerate") == "due"


def test_snapshot_takes_what_each_customer_type_has() -> None:
    corp = pingji.read_facts(SNAPS / "machinery-2026-04.yaml").data
    assert snapshot(corp) == {
        "as_of": "2026-04-15", "revenue": 360000, "operating_cash_flow": 33500, "operating_cash_flow_prior": 30000,
        "total_assets": 420000, "total_liabilities": 197400, "statement_date": "2025-12-31", "days_past_due": 0,
        "lawsuits": 0, "external_downgrade": False, "collateral_value": 135000.0}
    shop = pingji.read_facts(ROOT / "facts/examples/noodle-shop-b.yaml").data
    got = snapshot(shop)
    b, h = shop["business"], shop["household"]
    assert got["revenue"] == b["annual_revenue"]
    assert got["total_liabilities"] == b["debt"] + h["debt"]
    assert got["total_assets"] == pytest.approx(b["cash"] + b["inventory"] + b["receivables"] + b["fixed_assets"]
                                                + h["assets"])
    assert "operating_cash_flow" not in got and "statement_date" not in got and "external_downgrade" not in got
    person = {"customer_type": "individual", "income": {"monthly_income": 12345.67}, "credit": {"days_past_due": 0},
              "assets": {"deposits": 10, "investments": 0, "real_estate": 100}, "debts": {"total_debt": 50},
              "collateral": []}
    # 12 × income exactly; assets without vehicles and other are not a smaller total: they are missing
    assert snapshot(person) == {"revenue": 148148.04, "days_past_due": 0, "total_liabilities": 50}


def test_the_two_example_snapshots_raise_the_documented_signals() -> None:
    w = watch(BOOK, "C-C-0001", "2026-10-31", read_customer(SNAPS / "machinery-2026-04.yaml").data,
              read_customer(SNAPS / "machinery-2026-10.yaml").data, None, "corporate", "C")
    assert [s["rule"] for s in w.signals()] == ["revenue-drop", "cash-flow-negative", "new-overdue", "new-lawsuits",
                                                "collateral-down", "external-downgrade"]
    assert (w.decision.metrics["revenue_change"]["value"], w.decision.metrics["collateral_change"]["value"]) == (
        -0.35, -0.2593)


# -- the command ------------------------------------------------------------------------------------------


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(pingji.store.records, "now", lambda: "2026-04-16T09:00:00.000Z")
    return tmp_path


def cmd(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def signal_lines(*rules: tuple[str, str, str]) -> list[str]:
    return [f"    - {r} [{sev}] ({line_of(r)}): {title}" for r, sev, title in rules]


MACHINERY_SIGNALS = signal_lines(
    ("revenue-drop", "high", "Revenue down more than 30%"),
    ("cash-flow-negative", "high", "Operating cash flow negative for two periods"),
    ("new-overdue", "high", "New days past due"),
    ("new-lawsuits", "medium", "New lawsuits"),
    ("collateral-down", "medium", "Collateral value down more than 20%"),
    ("external-downgrade", "high", "External downgrade"),
)
HEAD = "monitoring 1 customer (rulebook early-warning 2026.1, rulebooks/early-warning.yaml)"


def test_monitor_against_the_store(ws: Path) -> None:
    db = str(ws / "m.db")
    assert cmd("rate", EARLIER, "--db", db).exit_code == 0
    r = cmd("monitor", LATER, "--db", db)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [
        HEAD,
        "",
        "watch list: 1",
        "  C-C-0001  severity high  action rerate_now  (snapshot 2026-10-31)",
        *MACHINERY_SIGNALS,
        "",
        "re-ratings due: 1",
        f"  C-C-0001  grade M2  due now (2026-10-31)  external-downgrade ({line_of('external-downgrade')})",
        "",
        "problem customers: 1",
        "  customer C-C-0001: 1 evaluation, 0 expert overrides",
        "",
        "  evaluation  rated on    evaluated at (UTC)        rulebook              total  model  final  now",
        "  E000001     2026-04-15  2026-04-16T09:00:00.000Z  manufacturing 2026.1  88.20  M2     M2     M2",
    ]


def test_monitor_with_an_explicit_previous_snapshot(ws: Path) -> None:
    r = cmd("monitor", LATER, "--previous", EARLIER, "--db", str(ws / "none.db"))
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [
        HEAD, "", "watch list: 1", "  C-C-0001  severity high  action rerate_now  (snapshot 2026-10-31)",
        *MACHINERY_SIGNALS, "", "re-ratings due: 1",
        f"  C-C-0001  grade -  due now (2026-10-31)  external-downgrade ({line_of('external-downgrade')})",
        "", "problem customers: 1", "  customer C-C-0001: no rating history in the store",
    ]


def test_monitor_json_round_trip(ws: Path) -> None:
    db = str(ws / "m.db")
    assert cmd("rate", EARLIER, "--db", db).exit_code == 0
    r = cmd("monitor", LATER, "--db", db, "--json")
    assert r.exit_code == 0, r.output
    got = json.loads(r.output)
    with Store.open(db, create=False) as store:
        expected = compare(BOOK, [read_customer(LATER)], store=store).to_dict()
    assert got == json.loads(json.dumps(expected))  # what the library returns, through JSON and back
    assert [w["customer_id"] for w in got["watch_list"]] == ["C-C-0001"]
    assert got["rerate_due"] == [{"customer_id": "C-C-0001", "due": "2026-10-31", "immediate": True, "grade": "M2",
                                  "rules": ["external-downgrade"], "at": [line_of("external-downgrade")]}]
    assert [p["customer_id"] for p in got["problem_customers"]] == ["C-C-0001"]
    assert got["problem_customers"][0]["history"][0]["evaluation_id"] == "E000001"
    assert got["decisions"][0]["subject"] == "C-C-0001"
    assert got["watch_list"][0]["rating"] == {"grade": "M2", "coarse_grade": "A", "evaluation_id": "E000001",
                                              "evaluated_at": "2026-04-15", "overridden": False}  # rating date


def _jsonl_portfolio(ws: Path) -> Path:
    """New snapshots of four rated customers and one never rated, one JSON object per line."""
    def load(path: str, **changes: Any) -> dict[str, Any]:
        data = pingji.read_facts(ROOT / path).data
        for dotted, value in changes.items():
            node = data
            *parents, last = dotted.split("__")
            for p in parents:
                node = node[p]
            node[last] = value
        return data

    rows = [
        load("facts/examples/noodle-shop-b.yaml", as_of="2026-10-19"),  # unchanged: due by frequency only
        load("facts/examples/builder-overdue-c.yaml", as_of="2026-10-26", credit__days_past_due=120),
        load("facts/examples/contractor-a.yaml", as_of="2026-10-14", credit__lawsuits=1),
        pingji.read_facts(ROOT / LATER).data,
        load("facts/examples/engineer-mortgage-a.yaml", as_of="2026-10-15"),  # never rated
    ]
    path = ws / "october.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_monitor_a_portfolio_from_jsonl(ws: Path) -> None:
    db = str(ws / "m.db")
    for f in (EARLIER, "facts/examples/contractor-a.yaml", "facts/examples/builder-overdue-c.yaml",
              "facts/examples/noodle-shop-b.yaml"):
        assert cmd("rate", f, "--db", db).exit_code == 0
    assert cmd("override", "E000003", "-g", "B", "--reviewer", "Li", "--reason", "arrears cleared",
               "--db", db).exit_code == 0
    r = cmd("monitor", str(_jsonl_portfolio(ws)), "--db", db)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [
        "monitoring 4 customers (rulebook early-warning 2026.1, rulebooks/early-warning.yaml)",
        "",
        "watch list: 3",
        "  C-E-0004  severity severe  action restructure_or_exit  (snapshot 2026-10-26)",
        *signal_lines(("overdue-severe", "severe", "More than 90 days past due")),
        "  C-C-0001  severity high  action rerate_now  (snapshot 2026-10-31)",
        *MACHINERY_SIGNALS,
        "  C-E-0001  severity medium  action watch  (snapshot 2026-10-14)",
        *signal_lines(("new-lawsuits", "medium", "New lawsuits")),
        "",
        "re-ratings due: 3",
        f"  C-E-0004  grade B  due now (2026-10-26)  overdue-severe ({line_of('overdue-severe')})",
        f"  C-C-0001  grade M2  due now (2026-10-31)  external-downgrade ({line_of('external-downgrade')})",
        f"  S-0002  grade B  due 2026-10-19  rerate-b ({line_of('rerate-b')})",  # rated on 2026-04-19 + 6 months
        "",
        "problem customers: 2",
        "  customer C-E-0004: 1 evaluation, 1 expert override",
        "",
        "  evaluation  rated on    evaluated at (UTC)        rulebook             total  model  final  now",
        "  E000003     2026-04-26  2026-04-16T09:00:00.000Z  construction 2026.1  60.34  B      C      B",
        "      override 1 at 2026-04-16T09:00:00.000Z: C -> B by Li: arrears cleared",
        "",
        "  customer C-C-0001: 1 evaluation, 0 expert overrides",
        "",
        "  evaluation  rated on    evaluated at (UTC)        rulebook              total  model  final  now",
        "  E000001     2026-04-15  2026-04-16T09:00:00.000Z  manufacturing 2026.1  88.20  M2     M2     M2",
        "",
        "not compared (no stored evaluation and no --previous): P-0001",
    ]


def test_monitor_a_folder(ws: Path) -> None:
    folder = ws / "new"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "machinery.yaml").write_text((ROOT / LATER).read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "notes.txt").write_text("not a snapshot", encoding="utf-8")
    db = str(ws / "m.db")
    assert cmd("rate", EARLIER, "--db", db).exit_code == 0
    r = cmd("monitor", str(folder), "--db", db, "--as-of", "2026-11-15")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[:4] == [HEAD, "", "watch list: 1",
                                         "  C-C-0001  severity high  action rerate_now  (snapshot 2026-11-15)"]


def test_a_customer_never_rated_is_listed_not_a_crash(ws: Path) -> None:
    db = str(ws / "m.db")
    assert cmd("rate", "facts/examples/contractor-a.yaml", "--db", db).exit_code == 0
    r = cmd("monitor", LATER, "--db", db)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [
        "monitoring 0 customers (rulebook early-warning 2026.1, rulebooks/early-warning.yaml)", "",
        "watch list: 0", "", "re-ratings due: 0", "", "problem customers: 0", "",
        "not compared (no stored evaluation and no --previous): C-C-0001"]


def _copy(ws: Path, name: str, old: str, new: str, source: str = LATER) -> str:
    text = (ROOT / source).read_text(encoding="utf-8")
    assert old in text
    path = ws / name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return str(path)


def test_monitor_bad_input(ws: Path) -> None:
    none = str(ws / "none.db")
    r = cmd("monitor", EARLIER, "--previous", LATER, "--db", none)
    assert (r.exit_code, r.output) == (1, f"{EARLIER}:8:8: error[E521]: as_of 2026-04-15 is before the previous "
                                          f"snapshot's as_of 2026-10-31\n")
    bad = ws / "bad.yaml"
    bad.write_text("customer_type: corporate\nid: X\ncredit: {days_past_due: -3}\n", encoding="utf-8")
    r = cmd("monitor", str(bad), "--previous", EARLIER, "--db", none)
    assert (r.exit_code, r.output) == (1, f"{bad}:1:1: error[E501]: (top level): 'as_of' is a required property\n"
                                          f"{bad}:3:25: error[E501]: credit.days_past_due: -3 is less than the "
                                          f"minimum of 0\n")
    future = _copy(ws, "future.yaml", "as_of: '2026-10-31'", "as_of: '2099-10-31'")
    r = cmd("monitor", future, "--previous", EARLIER, "--db", none)
    today = dt.date.today().isoformat()
    assert (r.exit_code, r.output) == (1, f"{future}:10:8: error[E521]: as_of 2099-10-31 is in the future "
                                          f"(today is {today})\n")
    r = cmd("monitor", LATER, "--previous", EARLIER, "--as-of", "2026-10-30", "--db", none)
    assert (r.exit_code, r.output) == (1, f"{LATER}:10:8: error[E521]: as_of 2026-10-31 is after the monitoring "
                                          f"date --as-of 2026-10-30\n")
    r = cmd("monitor", LATER, "--previous", EARLIER, "--as-of", "2026-13-01", "--db", none)
    assert r.exit_code == 2 and "Invalid value for '--as-of': '2026-13-01' is not a date YYYY-MM-DD" in r.output
    broken = _copy(ws, "broken.yaml", "as_of: '2026-10-31'", "as_of: ['2026-10-31'")
    r = cmd("monitor", broken, "--previous", EARLIER, "--db", none)
    assert r.exit_code == 1 and r.output.startswith(f"{broken}:") and "error[E003]: invalid YAML" in r.output
    r = cmd("monitor", LATER, "--previous", "facts/examples/contractor-a.yaml", "--db", none)
    assert (r.exit_code, r.output) == (1, "facts/examples/contractor-a.yaml:55:5: error[E522]: --previous is "
                                          "customer 'C-E-0001', not 'C-C-0001'\n")
    person = _copy(ws, "person.yaml", "customer_type: corporate", "customer_type: person")
    r = cmd("monitor", person, "--previous", EARLIER, "--db", none)
    assert (r.exit_code, r.output) == (1, f"{person}:7:16: error[E744]: no facts schema for customer_type \"person\": "
                                          f"no rating rulebook applies to it (the rating rulebooks' types: corporate, "
                                          f"individual, small_business) and no stored evaluation names one; add your "
                                          f"rulebooks with --rulebooks DIR or PINGJI_RULEBOOKS\n")
    r = cmd("monitor", LATER, EARLIER, "--previous", EARLIER, "--db", none)
    assert r.exit_code == 2 and "--previous compares one customer" in r.output
    r = cmd("monitor", LATER, "--db", none)
    assert (r.exit_code, r.output) == (1, f"{none}: no store here; rate the customers first "
                                          f"(pingji rate ... --db {none}) or give --previous\n")
    r = cmd("monitor", LATER, "--rulebook", "five-category", "--previous", EARLIER)
    assert (r.exit_code, r.output) == (1, "rulebooks/five-category.yaml:1:1: error[E216]: rulebook 'five-category' "
                                          "is a classification rulebook; a monitoring rulebook is needed here\n")
    (ws / "empty").mkdir()
    r = cmd("monitor", str(ws / "empty"), "--db", none)
    assert (r.exit_code, r.output) == (1, f"no facts files in {ws / 'empty'}\n")


def test_monitor_bad_jsonl_lines_are_located(ws: Path) -> None:
    db = str(ws / "m.db")
    assert cmd("rate", EARLIER, "--db", db).exit_code == 0
    good = json.dumps(pingji.read_facts(ROOT / LATER).data, ensure_ascii=False)
    path = ws / "bad.jsonl"
    path.write_text(good + "\n\n" + '{"id": "X", "customer_type": "corporate",}\n', encoding="utf-8")
    r = cmd("monitor", str(path), "--db", db)
    assert (r.exit_code, r.output) == (1, f"{path}:3:42: error[E901]: not JSON: Expecting property name enclosed "
                                          f"in double quotes\n")
    line = '{"id": "X", "customer_type": "corporate", "as_of": "2026-10-01", "credit": {"lawsuits": -1}}'
    path.write_text(good + "\n" + line + "\n", encoding="utf-8")
    r = cmd("monitor", str(path), "--db", db)
    assert (r.exit_code, r.output) == (1, f"{path}:2:{line.rindex('-1') + 1}: error[E501]: credit.lawsuits: -1 is "
                                          f"less than the minimum of 0\n")
    path.write_text(good + "\n" + good + "\n", encoding="utf-8")
    r = cmd("monitor", str(path), "--db", db)
    assert (r.exit_code, r.output) == (1, f"{path}:2:{good.index('C-C-0001')}: error[E523]: customer 'C-C-0001' "
                                          f"has a second snapshot here (the first: {path}:1:"
                                          f"{good.index('C-C-0001')}); monitor one snapshot per customer\n")
    path.write_text("[1, 2]\n", encoding="utf-8")
    r = cmd("monitor", str(path), "--db", db)
    assert (r.exit_code, r.output) == (1, f"{path}:1:1: error[E903]: a snapshot must be an object of facts; got "
                                          f"list\n")


def test_monitor_help_example_works_from_the_repo_root(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r = CliRunner().invoke(cli, ["monitor", "--help"], terminal_width=200)
    assert r.exit_code == 0 and "Example:" in r.output
    examples = [line.strip() for line in r.output.split("Example:")[1].split("Options:")[0].splitlines()
                if line.strip()]
    assert [e.split("pingji ")[1].split()[0] for e in examples] == ["rate", "monitor", "monitor"]
    db = str(ws / "demo.db")
    for line in examples:
        where, _, command = line.rpartition("pingji ")
        if where:
            assert where.startswith("cd ") and where.endswith(" && ")
            monkeypatch.chdir(ROOT / where[3:-4])
        args = [db if a == "demo.db" else a for a in command.split()]
        res = cmd(*args)
        assert res.exit_code == 0, (line, res.output)
        assert "watch list: 1" in res.output or args[0] == "rate"
