"""Issue 12, item 21: implausible facts are no longer rated silently.

Rating rulebooks declare `checks:` (rating.checks): an accounting identity broken or an `as_of`
after the rating date refuses the rating (E540, located at the fact, naming the check's rulebook
line); an unlikely figure rates with a warning (W540) in the text and JSON output, the trace, the
stored result and the batch summary.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import pingji
from pingji.analysis.changes import compare
from pingji.cli.main import cli
from pingji.lang import expressions as ex
from pingji.rating import catalog
from pingji.report.rating import render_markdown
from pingji.store.database import Store

ROOT = Path(__file__).resolve().parent.parent
MACHINERY = ROOT / "facts" / "examples" / "machinery-a.yaml"
BOOKS = Path(__file__).parent / "data" / "books"

pytestmark = pytest.mark.usefixtures("fresh_engine_caches")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def check_line(check_id: str, book: str = "corporate") -> str:
    """`rulebooks/<book>.yaml:N`, N the line of the check's `- id:` (the line a finding names)."""
    lines = (ROOT / "rulebooks" / f"{book}.yaml").read_text("utf-8").splitlines()
    n = lines.index(f"  - id: {check_id}") + 1
    return f"rulebooks/{book}.yaml:{n}"


def fact_line(path: Path, text: str) -> int:
    return path.read_text("utf-8").splitlines().index(text) + 1


def machinery(tmp_path: Path, old: str, new: str, name: str = "m.yaml") -> Path:
    text = MACHINERY.read_text("utf-8")
    assert text.count(old) == 1
    p = tmp_path / name
    p.write_text(text.replace(old, new), encoding="utf-8")
    return p


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Run from the checkout (rulebooks show as rulebooks/...), with the store in tmp_path."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PINGJI_DB", str(tmp_path / "p.db"))
    return tmp_path


# -- the three examples of the issue ---------------------------------------------------------------
def test_issue12_21_current_assets_above_total_assets_refused(at_root):
    f = machinery(at_root, "    current_assets: 236000\n", "    current_assets: 936000\n")
    ca, ta = fact_line(f, "    current_assets: 936000"), fact_line(f, "    total_assets: 420000")
    r = run("rate", str(f))
    assert (r.exit_code, r.stdout) == (1, "")
    assert r.stderr == (
        f"{f}:{ca}:21: error[E540]: current assets exceed total assets: financials.current.current_assets = "
        f"936000 (line {ca}), financials.current.total_assets = 420000 (line {ta}) "
        f"(check current_assets_within_total, {check_line('current_assets_within_total')})\n")
    assert not (at_root / "p.db").exists()  # nothing stored


def test_issue12_21_liabilities_plus_equity_far_from_assets_refused(at_root):
    f = machinery(at_root, "    total_liabilities: 197400\n", "    total_liabilities: 297400\n")
    ta, tl, eq = (fact_line(f, t) for t in ("    total_assets: 420000", "    total_liabilities: 297400",
                                            "    equity: 222600"))
    r = run("rate", str(f), "--no-store")
    assert (r.exit_code, r.stdout) == (1, "")
    assert r.stderr == (
        f"{f}:{ta}:19: error[E540]: total liabilities plus equity differ from total assets by more than 1% of "
        f"total assets: financials.current.total_assets = 420000 (line {ta}), financials.current.total_liabilities"
        f" = 297400 (line {tl}), financials.current.equity = 222600 (line {eq}) "
        f"(check balance_sheet_identity, {check_line('balance_sheet_identity')})\n")


def test_issue12_21_as_of_in_2099_refused(at_root):
    f = machinery(at_root, "as_of: '2026-04-15'\n", "as_of: '2099-01-01'\n")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    line = fact_line(f, "as_of: '2099-01-01'")
    r = run("rate", str(f), "--no-store")
    assert (r.exit_code, r.stdout) == (1, "")
    assert r.stderr == (
        f"{f}:{line}:8: error[E540]: as_of is after the rating date: as_of = 2099-01-01 (line {line}); rating "
        f"date {today} (check as_of_not_after_rating_date, {check_line('as_of_not_after_rating_date')})\n")


def test_issue12_21_as_of_against_a_given_rating_date(tmp_path):
    f = machinery(tmp_path, "as_of: '2026-04-15'\n", "as_of: '2026-05-01'\n")
    doc = pingji.read_facts(f)
    rb = pingji.load_rulebook(ROOT / "rulebooks" / "manufacturing.yaml")
    assert pingji.evaluate(rb, doc.data, rating_date=dt.date(2026, 5, 1)).final_grade == "M2"  # the same day
    with pytest.raises(pingji.FactsError) as exc:
        pingji.evaluate(rb, doc.data, locate=doc.locate, label=doc.file, rating_date=dt.date(2026, 4, 30))
    assert exc.value.code == "E540"
    assert "as_of = 2026-05-01 (line " in str(exc.value) and "; rating date 2026-04-30 (check" in str(exc.value)


def test_issue12_21_balance_sheet_tolerance_is_one_percent(tmp_path):
    rb = pingji.load_rulebook(ROOT / "rulebooks" / "manufacturing.yaml")
    # equity enters no metric: only the identity check sees it. 420000 x 1% = 4200.
    inside = pingji.read_facts(machinery(tmp_path, "    equity: 222600\n", "    equity: 226800\n", "in.yaml"))
    ev = pingji.evaluate(rb, inside.data)
    assert (ev.final_grade, ev.total, ev.warnings) == ("M2", 88.2, [])
    outside = pingji.read_facts(machinery(tmp_path, "    equity: 222600\n", "    equity: 226801\n", "out.yaml"))
    with pytest.raises(pingji.FactsError) as exc:
        pingji.evaluate(rb, outside.data)
    assert exc.value.code == "E540" and "check balance_sheet_identity" in str(exc.value)


# -- warnings ------------------------------------------------------------------------------------
def test_issue12_21_warning_rates_and_shows_in_text_json_trace_and_store(at_root):
    f = machinery(at_root, "    ebitda: 49000\n", "    ebitda: 30000\n")
    ebitda, ebit = fact_line(f, "    ebitda: 30000"), fact_line(f, "    ebit: 38000")
    at = check_line("ebitda_not_below_ebit")
    text = (f"EBITDA is below EBIT (depreciation cannot be negative): financials.current.ebitda = 30000 "
            f"(line {ebitda}), financials.current.ebit = 38000 (line {ebit}) (check ebitda_not_below_ebit, {at})")
    r = run("rate", str(f))
    assert (r.exit_code, r.stderr) == (0, "")
    assert "grade      M2 (coarse A), PD 0.05%" in r.stdout
    assert ("overrides  none\nwarnings (consistency checks of the facts)\n"
            f"  {f}:{ebitda}:13: warning[W540]: {text}\nreason codes") in r.stdout
    zh = run("rate", str(f), "--no-store", "--lang", "zh")
    assert f"  {f}:{ebitda}:13: warning[W540]: EBITDA小于息税前利润: financials.current.ebitda" in zh.stdout

    d = json.loads(run("rate", str(f), "--no-store", "--json").stdout)
    finding = {
        "code": "W540", "check": "ebitda_not_below_ebit", "severity": "warning", "at": at,
        "message": {"zh": "EBITDA小于息税前利润", "en": "EBITDA is below EBIT (depreciation cannot be negative)"},
        "require": "financials.current.ebitda >= financials.current.ebit",
        "facts": [{"name": "financials.current.ebitda", "value": 30000, "line": ebitda},
                  {"name": "financials.current.ebit", "value": 38000, "line": ebit}],
        "location": f"{f}:{ebitda}:13",
    }
    assert (d["final_grade"], d["warnings"]) == ("M2", [finding])
    checks = [t for t in d["trace"] if t["kind"] == "check"]
    assert checks == [{"seq": 16, "rule": "check.ebitda_not_below_ebit", "kind": "check", "at": at,
                       "matched": {"financials.current.ebitda": 30000, "financials.current.ebit": 38000},
                       "asserted": {"warning": "W540", "require": finding["require"]}}]
    assert d["trace"][14]["kind"] == "metric" and d["trace"][16]["kind"] != "metric"  # after the metrics

    with Store.open(at_root / "p.db") as store:
        record = store.record(1)
    assert record["warnings"] == [finding]
    report = render_markdown(record, lang="en")
    assert ("Warnings of the consistency checks of the facts (no effect on the score; verify the data):\n\n"
            "- EBITDA is below EBIT (depreciation cannot be negative): `financials.current.ebitda` = 30,000.00; "
            f"`financials.current.ebit` = 38,000.00 (`ebitda_not_below_ebit`, `{at}`)\n") in report


def test_issue12_21_built_in_examples_rate_without_findings():
    """Every example customer passes every built-in check (their exact grades are pinned by the
    rulebooks' examples, run in test_builtin_rulebooks)."""
    files = sorted((ROOT / "facts" / "examples").glob("*.yaml")) + sorted((ROOT / "facts" / "monitoring").glob("*.yaml"))
    rated = {}
    for f in files:
        doc = pingji.read_facts(f)
        ev = pingji.evaluate(pingji.load_rulebook(catalog.select(doc.data)), doc.data)
        assert ev.warnings == [], f
        assert not [t for t in ev.trace if t["kind"] == "check"], f
        rated[f.name] = ev.final_grade
    assert len(rated) == 74
    assert (rated["machinery-a.yaml"], rated["hotel-b.yaml"], rated["engineer-mortgage-a.yaml"],
            rated["market-stall-c.yaml"]) == ("M2", "B", "A", "C")


def test_issue12_21_built_in_rulebooks_declare_their_checks():
    def ids(book: str) -> dict[str, str]:
        return {c.id: c.severity for c in pingji.load_rulebook(ROOT / "rulebooks" / f"{book}.yaml").checks}

    corporate = ids("corporate")
    assert corporate == {
        "balance_sheet_identity": "error", "balance_sheet_identity_previous": "error",
        "current_assets_within_total": "error", "current_assets_within_total_previous": "error",
        "current_liabilities_within_total": "error", "as_of_not_after_rating_date": "error",
        "current_asset_items_within_current_assets": "warning", "debt_within_liabilities": "warning",
        "ebitda_not_below_ebit": "warning", "statement_not_after_as_of": "warning", "statements_in_order": "warning",
    }
    for industry in ("agriculture", "construction", "it_services", "manufacturing", "real_estate",
                     "wholesale_retail"):
        assert ids(industry) == corporate, industry
    assert ids("small_business") == {"as_of_not_after_rating_date": "error", "profit_within_revenue": "warning",
                                     "business_younger_than_working_life": "warning"}
    assert ids("individual") == {"as_of_not_after_rating_date": "error", "employment_within_working_life": "warning",
                                 "repayments_within_income": "warning", "card_balance_within_limit": "warning"}


def test_issue12_21_individual_warning_and_missing_inputs(tmp_path):
    src = (ROOT / "facts" / "examples" / "engineer-mortgage-a.yaml").read_text("utf-8")
    rb = pingji.load_rulebook(ROOT / "rulebooks" / "individual.yaml")
    assert "  monthly_repayments: 2000\n" in src
    p = tmp_path / "i.yaml"
    p.write_text(src.replace("  monthly_repayments: 2000\n", "  monthly_repayments: 29000\n"), encoding="utf-8")
    doc = pingji.read_facts(p)
    ev = pingji.evaluate(rb, doc.data, locate=doc.locate, label=doc.file)
    assert [(w["check"], [x["name"] for x in w["facts"]]) for w in ev.warnings] == [
        ("repayments_within_income", ["debts.monthly_repayments", "income.monthly_income",
                                      "income.other_monthly_income"])]
    # an input of the check missing: the check does not apply
    p.write_text(src.replace("  monthly_repayments: 2000\n", "  monthly_repayments: 29000\n")
                 .replace("  other_monthly_income: 0\n", ""), encoding="utf-8")
    assert pingji.evaluate(rb, pingji.read_facts(p).data).warnings == []


# -- declaring checks -----------------------------------------------------------------------------
CHILD = """\
rulebook: child
kind: rating
version: "1"
extends: mini.yaml
checks:
  - id: assets_cover_current
    require: fin.current_assets <= fin.total_assets * (1 + tolerance)
    tolerance: 0.05
    severity: warning
    message: {zh: 流动资产大于总资产, en: current assets above total assets}
  - id: margin_sane
    require: net_margin <= 1
    facts: [fin.net_income, fin.revenue]
    message: net income above revenue
"""


def test_issue12_21_checks_in_a_custom_rulebook(tmp_path):
    shutil.copytree(BOOKS, tmp_path / "books")
    (tmp_path / "books" / "checked.yaml").write_text(CHILD, encoding="utf-8")
    rb = pingji.load_rulebook(tmp_path / "books" / "checked.yaml")
    facts = {"id": "c1", "as_of": "2026-06-30",
             "fin": {"current_assets": 1100, "current_liabilities": 1000, "total_assets": 1000,
                     "total_liabilities": 300, "revenue": 1000, "net_income": 150},
             "credit": {"days_past_due": 0}, "assessments": []}
    ev = pingji.evaluate(rb, facts)
    assert [(w["check"], w["tolerance"], w["location"]) for w in ev.warnings] == [
        ("assets_cover_current", 0.05, "facts")]
    facts["fin"]["net_income"] = 1500  # a metric read by a check; the facts shown are the ones listed
    with pytest.raises(pingji.FactsError) as exc:
        pingji.evaluate(rb, facts, label="rec.json")
    n = CHILD.splitlines().index("  - id: margin_sane") + 1
    assert str(exc.value) == (
        "rec.json: error[E540]: net income above revenue: fin.net_income = 1500, fin.revenue = 1000 "
        f"(check margin_sane, {tmp_path / 'books' / 'checked.yaml'}:{n})")


def test_issue12_21_check_reports_bad_checks(tmp_path, monkeypatch):
    shutil.copytree(BOOKS, tmp_path / "books")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "books" / "bad.yaml").write_text("""\
rulebook: bad
kind: rating
version: "1"
extends: mini.yaml
checks:
  - id: typo
    require: fin.curent_assets <= fin.total_assets
    message: x
  - id: no_tolerance
    require: fin.current_assets <= tolerance
    message: x
  - id: syntax
    require: fin.current_assets <=
    message: x
  - id: not_a_condition
    require: fin.current_assets
    message: x
  - id: shown
    require: fin.current_assets <= fin.total_assets
    facts: [fin.totl_assets]
    message: x
""", encoding="utf-8")
    r = run("check", "books/bad.yaml")
    assert r.exit_code == 1
    assert r.stdout.splitlines() == [
        "books/bad.yaml:7:14: error[E102]: unknown fact 'fin.curent_assets' (did you mean 'fin.current_assets'?)",
        ("books/bad.yaml:10:36: error[E102]: unknown fact 'tolerance' (a check reads `tolerance` when it sets one: "
         "add `tolerance:`)"),
        "books/bad.yaml:13:35: error[E301]: unexpected end of expression",
        "books/bad.yaml:16:14: error[E304]: condition must be boolean; got number",
        ("books/bad.yaml:20:13: error[E102]: check 'shown': unknown fact 'fin.totl_assets' "
         "(did you mean 'fin.total_assets'?)"),
        "1 rulebook checked: 5 errors, 0 warnings",
    ], r.stdout
    (tmp_path / "books" / "bad.yaml").write_text(
        'rulebook: bad\nkind: rating\nversion: "1"\nextends: mini.yaml\nchecks:\n'
        '  - {id: sev, require: "fin.current_assets >= 0", severity: fatal, message: x}\n', encoding="utf-8")
    r = run("check", "books/bad.yaml")
    expected = ("books/bad.yaml:6:61: error[E101]: checks.0.severity: 'fatal' is not one of ['error', 'warning']\n"
                "1 rulebook checked: 1 error, 0 warnings\n")
    assert (r.exit_code, r.stdout) == (1, expected)


def test_issue12_21_duplicate_check_id_and_remove(tmp_path, monkeypatch):
    shutil.copytree(BOOKS, tmp_path / "books")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "books" / "dup.yaml").write_text(CHILD + """\
  - id: margin_sane
    require: net_margin <= 2
    message: x
""", encoding="utf-8")
    r = run("check", "books/dup.yaml")
    n = len(CHILD.splitlines()) + 1
    first = CHILD.splitlines().index("  - id: margin_sane") + 1
    expected = (f"books/dup.yaml:{n}:9: error[E541]: duplicate check id 'margin_sane' (first at line {first})\n"
                "1 rulebook checked: 1 error, 0 warnings\n")
    assert (r.exit_code, r.stdout) == (1, expected)
    (tmp_path / "books" / "checked.yaml").write_text(CHILD, encoding="utf-8")
    (tmp_path / "books" / "grandchild.yaml").write_text(
        'rulebook: gc\nkind: rating\nversion: "1"\nextends: checked.yaml\nremove: {checks: [margin_sane]}\n'
        "checks:\n  - {id: assets_cover_current, require: \"fin.current_assets <= fin.total_assets\", "
        "severity: error, message: replaced}\n", encoding="utf-8")
    rb = pingji.load_rulebook(tmp_path / "books" / "grandchild.yaml")
    assert [(c.id, c.severity, c.tolerance) for c in rb.checks] == [("assets_cover_current", "error", None)]
    r = run("check", "books/grandchild.yaml")
    assert r.exit_code == 0, r.stdout
    (tmp_path / "books" / "gone.yaml").write_text(
        'rulebook: gone\nkind: rating\nversion: "1"\nextends: checked.yaml\nremove: {checks: [nope]}\n',
        encoding="utf-8")
    r = run("check", "books/gone.yaml")
    assert "error[E162]: remove checks: 'nope' is not defined by the parent rulebook" in r.stdout


# -- batch ------------------------------------------------------------------------------------------
def test_issue12_21_batch_counts_warnings_and_fails_refused_records(at_root, monkeypatch):
    folder = at_root / "in"
    folder.mkdir()
    shutil.copy(MACHINERY, folder / "a.yaml")
    machinery(folder, "    ebitda: 49000\n", "    ebitda: 30000\n", "b.yaml")
    machinery(folder, "    current_assets: 236000\n", "    current_assets: 936000\n", "c.yaml")
    monkeypatch.chdir(at_root)
    r = run("batch", "in", "--workers", "1", "--json")
    assert r.exit_code == 1
    d = json.loads(r.stdout)
    assert (d["this_run"], d["warned"], d["warnings_total"]) == ({"rated": 2, "failed": 1, "skipped": 0}, 1, 1)
    [w] = d["warnings"]
    assert re.fullmatch(r"in/b\.yaml:\d+:13: warning\[W540\]: EBITDA is below EBIT .*\(check ebitda_not_below_ebit, "
                        r".*rulebooks/corporate\.yaml:\d+\)", w), w
    [failure] = d["failures"]
    assert failure["reason"].startswith("in/c.yaml:") and "error[E540]: current assets exceed total assets" in \
        failure["reason"]
    text = run("batch", "in", "--workers", "1", "--db", str(at_root / "q.db")).stdout
    assert f"\n\nrated with warnings (consistency checks of the facts), this run: 1\n  {w}" in text


# -- the expression language ----------------------------------------------------------------------
@pytest.mark.parametrize(("later", "earlier", "days"), [
    ("2026-03-01", "2026-02-28", 1), ("2024-03-01", "2024-02-28", 2), ("2026-01-01", "2026-01-01", 0),
    ("2026-01-01", "2026-12-31", -364),
])
def test_issue12_21_days_between(later, earlier, days):
    tree = ex.parse("days_between(a, b)")
    env = {"a": later, "b": dt.date.fromisoformat(earlier)}
    assert ex.evaluate(tree, env) == ex.compile_expr(tree)(env) == days
    assert ex.evaluate(tree, {"b": earlier}) is ex.MISSING
    assert ex.compile_expr(tree)({"a": "2026-02-30", "b": earlier}) is ex.UNDEFINED
    [d] = ex.typecheck(ex.parse("days_between(a, 3)"), {"a": "date"})
    assert (d.code, d.message) == ("E304", "days_between() needs dates; got number")


def test_issue12_21_rulebook_diff_lists_checks(tmp_path):
    shutil.copytree(BOOKS, tmp_path / "books")
    (tmp_path / "books" / "checked.yaml").write_text(CHILD, encoding="utf-8")
    changed = CHILD.replace("tolerance: 0.05", "tolerance: 0.02").replace("net_margin <= 1", "net_margin < 1")
    (tmp_path / "books" / "changed.yaml").write_text(changed, encoding="utf-8")
    mini = pingji.load_rulebook(tmp_path / "books" / "mini.yaml")
    old = pingji.load_rulebook(tmp_path / "books" / "checked.yaml")
    new = pingji.load_rulebook(tmp_path / "books" / "changed.yaml")
    added = [(ch.op, ch.item, ch.new) for ch in compare(mini, old) if ch.section == "check"]
    assert added == [("added", "assets_cover_current",
                      "warning: require fin.current_assets <= fin.total_assets * (1 + tolerance)"),
                     ("added", "margin_sane", "error: require net_margin <= 1")]
    assert [(ch.item, ch.field, ch.old, ch.new) for ch in compare(old, new) if ch.section == "check"] == [
        ("assets_cover_current", "tolerance", "0.05", "0.02"), ("margin_sane", "require", "net_margin <= 1",
                                                                "net_margin < 1")]


def test_issue12_21_examples_must_expect_their_warnings(tmp_path, monkeypatch):
    shutil.copytree(BOOKS, tmp_path / "books")
    monkeypatch.chdir(tmp_path)
    example = """\
examples:
  - name: current assets above total assets
    facts: {id: c1, as_of: '2026-06-30', fin: {current_assets: 1100, current_liabilities: 1000,
            total_assets: 1000, total_liabilities: 300, revenue: 1000, net_income: 150},
            credit: {days_past_due: 0}, assessments: []}
    expect: {grade: B%s}
"""
    (tmp_path / "books" / "ex.yaml").write_text(CHILD + example % "", encoding="utf-8")
    r = run("check", "books/ex.yaml")
    line = len(CHILD.splitlines()) + 2
    assert (r.exit_code, r.stdout) == (1, (
        f"books/ex.yaml:{line}:5: error[E171]: example 'current assets above total assets': expected warnings [], "
        "got [assets_cover_current] (total 71.2, model grade B, final grade B, overrides: none)\n"
        "1 rulebook checked: 1 error, 0 warnings\n"))
    (tmp_path / "books" / "ex.yaml").write_text(CHILD + example % ", warnings: [assets_cover_current]",
                                                encoding="utf-8")
    r = run("check", "books/ex.yaml")
    assert (r.exit_code, r.stdout) == (0, "1 rulebook checked: 0 errors, 0 warnings\n")
