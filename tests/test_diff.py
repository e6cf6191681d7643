"""`pingji diff`: the structural diff of two rating rulebooks and the impact on a portfolio.

Runs in a scratch folder holding a copy of the built-in manufacturing rulebook (OLD) and a changed
copy (NEW: a band edge moved, weight moved between two factors, an override added), so file:line
print short and every line of output is pinned.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import pingji
from pingji.analysis.changes import compare, grade_mapping
from pingji.analysis.diff import NotARatingRulebook, NothingToRerate, diff_rulebooks
from pingji.cli import options as cli_options
from pingji.cli.main import cli
from pingji.store.database import Store

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "facts" / "examples"
# The manufacturing rulebook's own examples: eight corporate customers rated M2 ... D.
CUSTOMERS = ["machinery-a", "textile-b", "chemicals-c", "foundry-overdue-d", "furniture-stale-m5",
             "battery-startup", "auto-parts-edge-m4", "printing-guaranteed"]

pytestmark = pytest.mark.usefixtures("fresh_engine_caches")

EDITS = [
    # a band edge moved: band 3 of asset_size now starts at 350000 (band 4 ends there)
    ("      - {from: 200000, to: 1000000, points: 70}\n      - {from: 50000, to: 200000, points: 50}\n",
     "      - {from: 350000, to: 1000000, points: 70}\n      - {from: 50000, to: 350000, points: 50}\n"),
    # five points of weight moved from asset_size to revenue_growth
    ("    group: financial\n    weight: 20\n    metric: total_assets\n",
     "    group: financial\n    weight: 15\n    metric: total_assets\n"),
    ("    group: financial\n    weight: 10\n    metric: revenue_growth\n",
     "    group: financial\n    weight: 15\n    metric: revenue_growth\n"),
    # an override added
    ("\nexamples:\n",
     "\noverrides:\n  - id: thin_interest_cover\n    when: interest_coverage < 3\n    then: {cap: M6}\n"
     "    reason: {zh: 利息保障倍数低于3, en: interest cover below 3}\n\nexamples:\n"),
]

STRUCTURAL = """\
OLD  manufacturing 2026.1  manufacturing.yaml
NEW  manufacturing 2026.1  manufacturing-2027.yaml

5 changes (OLD file:line -> NEW file:line):
~ factor asset_size: weight 20 -> 15 (manufacturing.yaml:41 -> manufacturing-2027.yaml:41)
~ factor asset_size: band 3 200000 <= x < 1000000 points 70 -> 350000 <= x < 1000000 points 70 (manufacturing.yaml:48 -> manufacturing-2027.yaml:48)
~ factor asset_size: band 4 50000 <= x < 200000 points 50 -> 50000 <= x < 350000 points 50 (manufacturing.yaml:49 -> manufacturing-2027.yaml:49)
~ factor revenue_growth: weight 10 -> 15 (manufacturing.yaml:57 -> manufacturing-2027.yaml:57)
+ override thin_interest_cover: added: when interest_coverage < 3 then cap M6, reason 'interest cover below 3 / 利息保障倍数低于3' (- -> manufacturing-2027.yaml:211)
"""


@pytest.fixture
def books(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    text = (ROOT / "rulebooks" / "manufacturing.yaml").read_text(encoding="utf-8")
    (tmp_path / "manufacturing.yaml").write_text(text, encoding="utf-8")
    for old, new in EDITS:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    (tmp_path / "manufacturing-2027.yaml").write_text(text, encoding="utf-8")
    folder = tmp_path / "portfolio"
    folder.mkdir()
    for name in CUSTOMERS:
        shutil.copy(EXAMPLES / f"{name}.yaml", folder / f"{name}.yaml")
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["diff", *args], catch_exceptions=False)


def test_structural_diff_lists_every_change_with_file_and_line_on_both_sides(books: Path) -> None:
    r = run("manufacturing.yaml", "manufacturing-2027.yaml")
    assert r.exit_code == 0, r.output
    assert r.stdout == STRUCTURAL + (
        "\nstructural diff only: give --db FILE or --input FILE to see the impact on a portfolio\n")


def test_identical_rulebooks_say_no_changes_and_rate_nothing(books: Path) -> None:
    r = run("manufacturing.yaml", "manufacturing", "--input", "portfolio")
    assert r.exit_code == 0, r.output
    assert r.stdout.endswith("\nno changes: OLD and NEW score and grade alike (the portfolio was not re-rated)\n")
    data = json.loads(run("manufacturing.yaml", "manufacturing", "--db", "nowhere.db", "--json").stdout)
    assert data["changes"] == [] and data["impact"] is None
    assert not (books / "nowhere.db").exists()


def expected(old_file: str, new_file: str) -> tuple[Counter[tuple[str, str]], dict[str, float]]:
    """Rate each example customer with both rulebooks through the engine API, independently of diff."""
    old, new = pingji.load_rulebook(old_file), pingji.load_rulebook(new_file)
    pairs: Counter[tuple[str, str]] = Counter()
    change: dict[str, float] = {}
    for name in CUSTOMERS:
        facts = pingji.read_facts(EXAMPLES / f"{name}.yaml").data
        a, b = pingji.evaluate(old, facts), pingji.evaluate(new, facts)
        pairs[(a.final_grade, b.final_grade)] += 1
        change[a.customer_id] = round(b.total - a.total, 2)
    return pairs, change


def test_impact_matrix_matches_rating_each_customer_with_both_versions(books: Path) -> None:
    r = run("manufacturing.yaml", "manufacturing-2027.yaml", "--input", "portfolio", "--json")
    assert r.exit_code == 0, r.output
    impact = json.loads(r.stdout)["impact"]
    pairs, change = expected("manufacturing.yaml", "manufacturing-2027.yaml")
    got = Counter({(g, h): n for g, row in impact["matrix"].items() for h, n in row.items() if n})
    assert got == pairs
    # pinned as well, so a change that breaks both sides alike cannot pass
    # (auto-parts: total 75.00 -> 74.25 is M5 by score, and the new override caps it at M6)
    assert pairs == Counter({("M2", "M2"): 1, ("M6", "M6"): 2, ("M10", "M10"): 1, ("D", "D"): 1,
                             ("M5", "M5"): 1, ("M9", "M9"): 1, ("M4", "M6"): 1})
    assert (impact["customers"], impact["rated"], impact["unchanged"], impact["up"], impact["down"]) == (8, 8, 7, 0, 1)
    assert impact["notches"] == {"0": 7, "-2": 1}
    assert impact["mean_score_change"] == -0.25
    assert impact["mean_score_change"] == pytest.approx(sum(change.values()) / 8, abs=0.006)
    assert [m["customer"] for m in impact["top"]] == sorted(change, key=lambda c: (-abs(change[c]), c))[:10]
    assert all(m["change"] == change[m["customer"]] for m in impact["top"])
    assert impact["failures"] == [] and impact["failed_both"] == 0


def test_impact_text(books: Path) -> None:
    r = run("manufacturing.yaml", "manufacturing-2027.yaml", "--input", "portfolio", "--top", "2")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(STRUCTURAL)
    tail = r.stdout[len(STRUCTURAL):]
    lines = tail.splitlines()
    assert lines[1] == "impact on 8 customers from portfolio (folder):"
    assert lines[2] == "rated by both: 8; failed under one version only: 0; under both: 0"
    assert lines[4] == "migration of final grades (rows OLD, columns NEW):"
    assert lines[5] == "OLD\\NEW  M1  M2  M3  M4  M5  M6  M7  M8  M9  M10  D  total"
    assert lines[9] == "M4        .   .   .   .   .   1   .   .   .    .  .      1"
    assert lines[11] == "M6        .   .   .   .   .   2   .   .   .    .  .      2"
    assert lines[17] == "total     0   1   0   0   1   3   0   0   1    1  1      8"
    assert lines[19:] == [
        "unchanged 7 (87.5%), up 0 (0.0%), down 1 (12.5%)",
        "notches (+ better under NEW): -2: 1",
        "mean total-score change: -0.25",
        "",
        "top 2 whose total or grade changed, largest score change first:",
        "customer  grade       total           change  factors that moved it most: points OLD -> NEW (change in total)",
        "C-C-0003  M10 -> M10  26.82 -> 25.99   -0.83  asset_size 70 -> 70 (-1.05); revenue_growth 15 -> 15 (+0.23)",
        "C-C-0005  M5 -> M5    89.15 -> 88.40   -0.75  asset_size 70 -> 50 (-1.95); revenue_growth 80 -> 80 (+1.20)",
    ]


def test_json_shape(books: Path) -> None:
    r = run("manufacturing.yaml", "manufacturing-2027.yaml", "--input", "portfolio", "--json", "--top", "1")
    data = json.loads(r.stdout)
    assert sorted(data) == ["changes", "impact", "new", "notes", "old"]
    assert data["old"]["file"] == "manufacturing.yaml" and data["new"]["file"] == "manufacturing-2027.yaml"
    assert data["changes"][0] == {"op": "changed", "section": "factor", "item": "asset_size", "field": "weight",
                                  "old": "20", "new": "15", "old_at": "manufacturing.yaml:41",
                                  "new_at": "manufacturing-2027.yaml:41"}
    assert data["changes"][-1]["op"] == "added" and data["changes"][-1]["old_at"] is None
    impact = data["impact"]
    assert sorted(impact) == ["compared_on", "customers", "down", "failed_both", "failures", "grades", "matrix",
                              "mean_score_change", "new_grades", "notches", "old_grades", "rated", "source", "top",
                              "unchanged", "up"]
    assert impact["compared_on"] == "grade" and impact["grades"][0] == "M1"
    top, = impact["top"]
    assert sorted(top) == ["change", "customer", "factors", "new_grade", "new_total", "old_grade", "old_total",
                           "where"]
    assert sorted(top["factors"][0]) == ["contribution_change", "factor", "new_points", "old_points"]


def test_diff_db_reads_the_store_and_leaves_it_byte_identical(books: Path) -> None:
    runner = CliRunner()
    for name in CUSTOMERS:
        r = runner.invoke(cli, ["rate", f"portfolio/{name}.yaml", "--db", "p.db", "--rulebook", "manufacturing.yaml"])
        assert r.exit_code == 0, r.output
    before = (books / "p.db").read_bytes()
    r = run("manufacturing.yaml", "manufacturing-2027.yaml", "--db", "p.db", "--json")
    assert r.exit_code == 0, r.output
    assert (books / "p.db").read_bytes() == before
    assert sorted(p.name for p in books.iterdir() if p.name.startswith("p.db")) == ["p.db"]
    impact = json.loads(r.stdout)["impact"]
    pairs, _ = expected("manufacturing.yaml", "manufacturing-2027.yaml")
    assert Counter({(g, h): n for g, row in impact["matrix"].items() for h, n in row.items() if n}) == pairs
    assert impact["source"] == "p.db (latest evaluation by 'manufacturing' of each customer)"


def test_one_library_call_does_what_pingji_diff_does(books: Path) -> None:
    r = run("manufacturing.yaml", "manufacturing-2027.yaml", "--input", "portfolio", "--json", "--top", "3")
    started: list[int] = []
    ticks: list[int] = []
    result = diff_rulebooks("manufacturing.yaml", "manufacturing-2027.yaml", input_path="portfolio", top=3,
                            on_start=started.append, progress=ticks.append)
    assert json.loads(r.stdout) == result.to_dict()
    assert started == [len(CUSTOMERS)] and ticks == [1] * len(CUSTOMERS)
    old = pingji.load_rulebook("manufacturing.yaml")
    same = diff_rulebooks(old, old, input_path="portfolio", on_start=started.append)
    assert (same.changes, same.impact, started) == ([], None, [len(CUSTOMERS)])  # nothing changed: nothing re-rated


def test_library_errors_carry_their_codes(books: Path) -> None:
    (books / "empty.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(NothingToRerate) as caught:
        diff_rulebooks("manufacturing.yaml", "manufacturing-2027.yaml", input_path="empty.jsonl")
    assert str(caught.value) == "empty.jsonl: error[E721]: no customers in the input: nothing to re-rate"
    with pytest.raises(NotARatingRulebook):
        diff_rulebooks("manufacturing.yaml", "five-category")
    with pytest.raises(ValueError):
        diff_rulebooks("manufacturing.yaml", "manufacturing-2027.yaml", input_path="portfolio", db="p.db")


def test_scales_that_differ_are_compared_through_the_coarse_grades(books: Path) -> None:
    r = run("corporate", "manufacturing.yaml", "--input", "portfolio", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["notes"] == ["the grade scales differ (A B C | M1 M2 M3 M4 M5 M6 M7 M8 M9 M10 D): grades are "
                             "compared through the coarse grades A/B/C"]
    impact = data["impact"]
    assert impact["compared_on"] == "coarse" and impact["grades"] == ["A", "B", "C"]
    old, new = pingji.load_rulebook(ROOT / "rulebooks" / "corporate.yaml"), pingji.load_rulebook("manufacturing.yaml")
    pairs: Counter[tuple[str, str]] = Counter()
    for name in CUSTOMERS:
        facts = pingji.read_facts(EXAMPLES / f"{name}.yaml").data
        a, b = pingji.evaluate(old, facts), pingji.evaluate(new, facts)
        pairs[(a.final_grade, str(b.coarse_grade))] += 1
    assert Counter({(g, h): n for g, row in impact["matrix"].items() for h, n in row.items() if n}) == pairs


def test_scales_without_common_grades_give_no_matrix(books: Path) -> None:
    text = Path("manufacturing.yaml").read_text(encoding="utf-8")
    for old, new in [("grade: M", "grade: N"), ("coarse: A", "coarse: P"), ("coarse: B", "coarse: Q"),
                     ("coarse: C", "coarse: R"), ("grade: A,", "grade: P,"), ("grade: B,", "grade: Q,"),
                     ("grade: C,", "grade: R,"),
                     ("\nexamples:\n", "\nremove: {overrides: [overdue_90, fraud, default_on_record, negative_equity, "
                                        "stale_statements, restructured]}\n\nexamples:\n")]:
        assert old in text
        text = text.replace(old, new)
    Path("renamed.yaml").write_text(text, encoding="utf-8")
    assert grade_mapping(pingji.load_rulebook("manufacturing.yaml"), pingji.load_rulebook("renamed.yaml")).level == "none"
    r = run("manufacturing.yaml", "renamed.yaml", "--input", "portfolio", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    impact = data["impact"]
    assert impact["matrix"] is None and impact["up"] is None and impact["notches"] is None and impact["rated"] == 8
    assert sum(impact["new_grades"].values()) == 8 and impact["new_grades"]["N2"] == 2  # furniture: no stale-statements cap any more
    assert data["notes"] == ["the grade scales differ (M1 M2 M3 M4 M5 M6 M7 M8 M9 M10 D | N1 N2 N3 N4 N5 N6 N7 N8 N9 "
                             "N10 D) and map onto no common coarse grades: grades cannot be compared one-to-one (no "
                             "migration matrix)"]
    text_out = run("manufacturing.yaml", "renamed.yaml", "--input", "portfolio").stdout
    assert "final grades (no migration matrix: the scales cannot be compared):" in text_out
    assert "migration of" not in text_out


def test_customers_failing_under_one_version_are_listed_with_their_code(books: Path) -> None:
    shutil.copy(EXAMPLES / "engineer-mortgage-a.yaml", books / "portfolio")
    r = run("corporate", "individual", "--input", "portfolio", "--json")
    assert r.exit_code == 0, r.output
    impact = json.loads(r.stdout)["impact"]
    assert impact["rated"] == 0
    by_side = Counter((f["fails_under"], f["code"]) for f in impact["failures"])
    assert by_side == Counter({("new", "E501"): 8, ("old", "E501"): 1})
    text = run("corporate", "individual", "--input", "portfolio").stdout
    assert "failing under one version only:" in text
    assert "note: the facts schemas differ (corporate.schema.json | individual.schema.json)" in text


def test_structural_compare_is_deterministic_and_symmetric(books: Path) -> None:
    old, new = pingji.load_rulebook("manufacturing.yaml"), pingji.load_rulebook("manufacturing-2027.yaml")
    forward, backward = compare(old, new), compare(new, old)
    assert [c.text() for c in forward] == [c.text() for c in compare(old, new)]
    assert len(forward) == len(backward)
    assert backward[-1].op == "removed" and backward[-1].item == "thin_interest_cover"


def test_going_back_counts_the_same_customer_up(books: Path) -> None:
    r = run("manufacturing-2027.yaml", "manufacturing.yaml", "--input", "portfolio", "--json")
    impact = json.loads(r.stdout)["impact"]
    assert (impact["unchanged"], impact["up"], impact["down"], impact["notches"]) == (7, 1, 0, {"+2": 1, "0": 7})
    assert impact["matrix"]["M6"]["M4"] == 1 and impact["mean_score_change"] == 0.25


def test_progress_bar_on_stderr_for_a_large_portfolio(books: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_options, "PROGRESS_FROM", 8)
    r = run("manufacturing.yaml", "manufacturing-2027.yaml", "--input", "portfolio")
    assert r.exit_code == 0
    assert "re-rating 8 customers" in r.stderr
    monkeypatch.setattr(cli_options, "PROGRESS_FROM", 9)
    assert run("manufacturing.yaml", "manufacturing-2027.yaml", "--input", "portfolio").stderr == ""


# -- bad input: exact error texts ------------------------------------------------------------------

def test_broken_new_rulebook_prints_the_loader_diagnostics(books: Path) -> None:
    text = Path("manufacturing-2027.yaml").read_text(encoding="utf-8")
    Path("broken.yaml").write_text(text.replace("    metric: total_assets\n", "    metric: total_asets\n"),
                                   encoding="utf-8")
    r = run("manufacturing.yaml", "broken.yaml", "--input", "portfolio")
    assert r.exit_code == 1
    assert r.stdout == ""
    assert r.stderr == ("broken.yaml:42:5: error[E103]: factor 'asset_size': unknown metric 'total_asets' "
                        "(did you mean 'total_assets'?)\n")


def test_unknown_rulebook(books: Path) -> None:
    r = run("manufacturing", "manufactoring")
    assert r.exit_code == 1
    assert r.stderr == ("error[E700]: no rulebook with id 'manufactoring' (did you mean 'manufacturing'?); "
                        "'pingji rulebooks' lists them\n")


def test_not_a_rating_rulebook(books: Path) -> None:
    r = run("manufacturing", "five-category")
    assert r.exit_code == 1
    path = ROOT / "rulebooks" / "five-category.yaml"
    assert r.stderr == (f"{path}: error[E722]: 'five-category' is a classification rulebook; pingji diff compares "
                        f"rating rulebooks (scorecards)\n")


def test_db_and_input_together_is_a_usage_error(books: Path) -> None:
    r = run("manufacturing.yaml", "manufacturing-2027.yaml", "--db", "p.db", "--input", "portfolio")
    assert r.exit_code == 2
    assert r.stderr == "error[E720]: give --db or --input, not both: the customers come from one of them\n"


def test_empty_store(books: Path) -> None:
    Store.open("empty.db").close()
    r = run("manufacturing.yaml", "manufacturing-2027.yaml", "--db", "empty.db")
    assert r.exit_code == 1
    assert r.stdout == ""
    assert r.stderr == ("empty.db: error[E721]: no customer in the store was rated by a rulebook 'manufacturing': "
                        "nothing to re-rate (rate them first, or give --input FILE)\n")


def test_missing_store_is_not_created(books: Path) -> None:
    r = run("manufacturing.yaml", "manufacturing-2027.yaml", "--db", "none.db")
    assert r.exit_code == 1
    assert r.stderr == "none.db: error[E800]: no store here: nothing has been rated into it yet\n"
    assert not Path("none.db").exists()


def test_empty_input(books: Path) -> None:
    Path("empty.jsonl").write_text("\n", encoding="utf-8")
    r = run("manufacturing.yaml", "manufacturing-2027.yaml", "--input", "empty.jsonl")
    assert r.exit_code == 1
    assert r.stderr == "empty.jsonl: error[E721]: no customers in the input: nothing to re-rate\n"


def test_a_record_that_is_not_json_fails_under_both_without_a_crash(books: Path) -> None:
    good = json.dumps(pingji.read_facts(EXAMPLES / "machinery-a.yaml").data)
    Path("mixed.jsonl").write_text(good + "\n{not json\n", encoding="utf-8")
    r = run("manufacturing.yaml", "manufacturing-2027.yaml", "--input", "mixed.jsonl", "--json")
    assert r.exit_code == 0, r.output
    impact = json.loads(r.stdout)["impact"]
    assert (impact["customers"], impact["rated"], impact["failed_both"]) == (2, 1, 1)


MORE_EDITS = [
    ("  solvency:   {title: {zh: 偿债能力, en: Solvency}, weight: 35}\n  collateral: {title: {zh: 担保状况, en: Collateral}, weight: 10}\n",
     "  solvency:   {title: {zh: 偿债能力, en: Solvency}, weight: 40}\n  collateral: {title: {zh: 担保状况, en: Collateral}, weight: 5}\n"),
    ("    metric: revenue_growth\n    method: step\n", "    metric: revenue_growth\n    method: interpolate\n"),
    ("      - {from: 0.15, points: 100}\n      - {from: 0.05, to: 0.15, points: 80}\n      - {from: 0, to: 0.05, points: 60}\n      - {from: -0.10, to: 0, points: 35}\n      - {from: -0.25, to: -0.10, points: 15}\n",
     "      - {from: 0.15, points: 100}\n      - {from: 0.05, to: 0.15, points: [80, 100]}\n      - {from: 0, to: 0.05, points: [60, 80]}\n      - {from: -0.10, to: 0, points: [35, 60]}\n      - {from: -0.25, to: -0.10, points: [15, 35]}\n"),
    ("    undefined: 30\n    missing: 30\n", "    undefined: 20\n    missing: 25\n"),
    ("    assessed: management\n    aggregate: median\n    levels: {5: 100, 4: 80, 3: 60, 2: 30, 1: 0}\n",
     "    assessed: management\n    aggregate: mean\n    levels: {5: 100, 4: 85, 3: 60, 2: 30, 1: 0}\n"),
    ("    - {grade: M10, from: 0, pd: 0.15,", "    - {grade: M10, from: 0, pd: 0.18,"),
    ("\nexamples:\n", "\nmetrics:\n  inventory_days:\n    title: {zh: 存货周转天数, en: Inventory days}\n    expr: financials.current.inventory / financials.current.cost_of_sales * 360\n    precision: 0\n\noverrides:\n  - id: overdue_90\n    when: credit.days_past_due > 60\n    then: {grade: C}\n    reason: {zh: 逾期超过60天, en: more than 60 days past due}\n\nremove: {overrides: [fraud]}\n\nexamples:\n"),
]


def test_every_kind_of_change_is_named_with_its_winning_file_and_line(books: Path) -> None:
    """Metrics, group weights, method, bands to interpolation, missing/undefined scores, aggregate,
    level points, PD, an inherited override changed and one removed (`remove:`)."""
    text = Path("manufacturing.yaml").read_text(encoding="utf-8")
    for old, new in MORE_EDITS:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    Path("more.yaml").write_text(text, encoding="utf-8")
    corporate = ROOT / "rulebooks" / "corporate.yaml"
    got = [c.text() for c in compare(pingji.load_rulebook("manufacturing.yaml"), pingji.load_rulebook("more.yaml"))]
    assert got == [
        f"~ metric inventory_days: expr financials.current.inventory / financials.current.cost_of_sales * 365 -> "
        f"financials.current.inventory / financials.current.cost_of_sales * 360 ({corporate}:79 -> more.yaml:213)",
        "~ group collateral: weight 10 -> 5 (manufacturing.yaml:34 -> more.yaml:34)",
        "~ group solvency: weight 35 -> 40 (manufacturing.yaml:33 -> more.yaml:33)",
        "~ factor management: aggregate median -> mean (manufacturing.yaml:128 -> more.yaml:128)",
        "~ factor management: level 4 points 80 -> 85 (manufacturing.yaml:129 -> more.yaml:129)",
        "~ factor revenue_growth: method step -> interpolate (manufacturing.yaml:59 -> more.yaml:59)",
        "~ factor revenue_growth: missing score 30 -> 25 (manufacturing.yaml:69 -> more.yaml:69)",
        "~ factor revenue_growth: undefined score 30 -> 20 (manufacturing.yaml:68 -> more.yaml:68)",
        "~ factor revenue_growth: band 2 0.05 <= x < 0.15 points 80 -> 0.05 <= x < 0.15 points [80, 100] "
        "(manufacturing.yaml:63 -> more.yaml:63)",
        "~ factor revenue_growth: band 3 0 <= x < 0.05 points 60 -> 0 <= x < 0.05 points [60, 80] "
        "(manufacturing.yaml:64 -> more.yaml:64)",
        "~ factor revenue_growth: band 4 -0.1 <= x < 0 points 35 -> -0.1 <= x < 0 points [35, 60] "
        "(manufacturing.yaml:65 -> more.yaml:65)",
        "~ factor revenue_growth: band 5 -0.25 <= x < -0.1 points 15 -> -0.25 <= x < -0.1 points [15, 35] "
        "(manufacturing.yaml:66 -> more.yaml:66)",
        "~ grade M10: pd 15% -> 18% (manufacturing.yaml:203 -> more.yaml:203)",
        f"- override fraud: removed: when credit.fraud_flag == true then grade C ({corporate}:358 -> -)",
        f"~ override overdue_90: when credit.days_past_due > 90 -> credit.days_past_due > 60 "
        f"({corporate}:355 -> more.yaml:218)",
        f"~ override overdue_90: reason 'more than 90 days past due now (substandard) / 当前逾期超过90天（次级类）' -> "
        f"'more than 60 days past due / 逾期超过60天' ({corporate}:354 -> more.yaml:217)",
    ]


def _flat(node: object, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _flat(v, f"{prefix}{k}.")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _flat(v, f"{prefix}{i}.")
    else:
        yield prefix[:-1], ("true" if node else "false") if isinstance(node, bool) else str(node)


def test_a_csv_portfolio_is_read_as_pingji_batch_reads_it(books: Path) -> None:
    rows = [dict(_flat(pingji.read_facts(EXAMPLES / f"{n}.yaml").data)) for n in ("machinery-a", "auto-parts-edge-m4")]
    with open("p.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, sorted(set().union(*rows)))
        writer.writeheader()
        writer.writerows(rows)
    r = run("manufacturing.yaml", "manufacturing-2027.yaml", "--input", "p.csv", "--json")
    assert r.exit_code == 0, r.output
    impact = json.loads(r.stdout)["impact"]
    assert impact["rated"] == 2 and impact["failures"] == []
    assert [(m["customer"], m["old_grade"], m["new_grade"]) for m in impact["top"]] == [
        ("C-C-0007", "M4", "M6"), ("C-C-0001", "M2", "M2")]


def test_an_unreadable_fact_file_fails_under_both_without_a_crash(books: Path) -> None:
    Path("portfolio/zz-broken.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    r = run("manufacturing.yaml", "manufacturing-2027.yaml", "--input", "portfolio", "--json")
    assert r.exit_code == 0, r.output
    impact = json.loads(r.stdout)["impact"]
    assert (impact["customers"], impact["rated"], impact["failed_both"]) == (9, 8, 1)


def test_issue12_diff_between_rulebooks_for_different_customer_types_says_so():
    r = CliRunner().invoke(cli, ["diff", "manufacturing", "individual"])
    assert r.exit_code == 0, r.output
    assert ("note: OLD rates corporate customers and NEW individual customers: these are two scorecards, not a "
            "change of one, and the changes below are the differences between them") in r.output.splitlines()
