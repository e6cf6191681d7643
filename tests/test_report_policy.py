"""The report's credit policy comes from the rulebooks' `report:` section, not from the renderer.

Grade meanings, recommended measures, measures by reason code, the solvency indicators and the
credit facts listed first are read from the rating rulebook (inherited through `extends`); a
record rated by a rulebook without the section renders with the built-in rulebook's section.
"""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from factories import customer

import pingji
import pingji.store.records
from pingji.cli.main import cli
from pingji.lang.facts import read_facts
from pingji.rating.load import check
from pingji.report.policy import builtin_policy, policy_for
from pingji.report.rating import render_markdown

ROOT = Path(__file__).resolve().parent.parent
RULEBOOKS = ROOT / "rulebooks"
BOOKS = Path(__file__).parent / "data" / "books"
GOOD_EN = "Good: sound credit, strong repayment capacity"
NEW_EN = "Excellent: the bank's best customers"

pytestmark = pytest.mark.usefixtures("fresh_engine_caches")


def record(rb: pingji.Rulebook, facts: dict) -> dict:
    rec = pingji.evaluate(rb, facts).to_dict()
    rec.update(evaluation_id="ev-0001", evaluated_at="2026-07-01T08:30:00Z", facts=copy.deepcopy(facts),
               expert_overrides=[])
    return rec


def grade_meaning(md: str) -> str:
    (line,) = [x for x in md.splitlines() if x.startswith("| Grade meaning |")]
    return line


@pytest.fixture
def edited_corporate(tmp_path: Path) -> Path:
    """A copy of corporate.yaml whose grade A means something else, and manufacturing.yaml extending it."""
    text = (RULEBOOKS / "corporate.yaml").read_text(encoding="utf-8")
    assert text.count(GOOD_EN) == 1
    (tmp_path / "corporate.yaml").write_text(text.replace(GOOD_EN, NEW_EN), encoding="utf-8")
    shutil.copy(RULEBOOKS / "manufacturing.yaml", tmp_path / "manufacturing.yaml")
    return tmp_path


def test_a_changed_meaning_in_the_rulebook_shows_in_the_report(edited_corporate):
    rb = pingji.load_rulebook(edited_corporate / "manufacturing.yaml")  # inherits `report:` from the copy
    facts = read_facts(ROOT / "facts" / "examples" / "machinery-a.yaml").data
    rec = record(rb, facts)
    assert rec["coarse_grade"] == "A" or rec["final_grade"] == "A"
    shown = render_markdown(rec, "en", rb.report)
    assert grade_meaning(shown) == f"| Grade meaning | {NEW_EN} |"
    assert GOOD_EN not in shown
    # without the section passed in, the report looks for the rulebook version that rated the record
    assert grade_meaning(render_markdown(rec, "en", policy_for(rec))) == f"| Grade meaning | {NEW_EN} |"


def test_the_built_in_section_is_inherited_by_industry_rulebooks():
    corporate = pingji.load_rulebook(RULEBOOKS / "corporate.yaml").report
    for name in ("agriculture", "construction", "it_services", "manufacturing", "real_estate", "wholesale_retail"):
        assert pingji.load_rulebook(RULEBOOKS / f"{name}.yaml").report == corporate, name
    assert builtin_policy("individual").solvency_groups == ("capacity",)
    assert builtin_policy("small_business").solvency_groups == ("capacity",)
    assert corporate is not None and corporate.solvency_groups == ("solvency",)


def test_a_record_without_a_report_section_falls_back_to_the_built_in_rulebook():
    mini = pingji.load_rulebook(BOOKS / "mini.yaml")
    assert mini.report is None
    rec = record(mini, customer())
    assert policy_for(rec) == builtin_policy("corporate") == builtin_policy("no-such-rulebook")
    assert grade_meaning(render_markdown(rec, "en")) == f"| Grade meaning | {GOOD_EN} |"


def test_changed_measures_solvency_groups_and_credit_facts_are_followed(tmp_path):
    data = yaml.safe_load((RULEBOOKS / "corporate.yaml").read_text(encoding="utf-8"))
    section = copy.deepcopy(data["report"])
    section["grades"]["A"]["measures"] = [{"zh": "只此一条。", "en": "Only this one."}]
    section["solvency"] = {"groups": ["quality"]}
    section["credit"] = ["fraud"]
    section["reasons"]["by_factor"] = [{"match": ["manage"], "measure": {"zh": "管理", "en": "Coach the managers."}}]
    mini = (BOOKS / "mini.yaml").read_text(encoding="utf-8")
    shutil.copy(BOOKS / "mini.schema.json", tmp_path / "mini.schema.json")
    path = tmp_path / "mini.yaml"
    path.write_text(mini.split("\nexamples:")[0] + "\n" + yaml.safe_dump({"report": section}, allow_unicode=True),
                    encoding="utf-8")
    rb = pingji.load_rulebook(path)
    en = render_markdown(record(rb, customer()), "en", rb.report)
    measures = en.split("## 9. Recommended measures")[1].split("## ")[0]
    assert "- Only this one." in measures and "Routine post-loan monitoring." not in measures
    assert "| `management` | 2.40 | Coach the managers. |" in measures
    solvency = en.split("### 4.1 Solvency indicators")[1].split("### 4.2")[0]
    assert "| `net_margin` | 0.1500 | 100.00 | `band 1: >= 0.1` |" in solvency
    assert "current_ratio" not in solvency and "debt_ratio" not in solvency
    credit = en.split("### 4.2 Credit record")[1].split("### 4.3")[0].strip().splitlines()
    assert credit[2:] == ["| `fraud` | no |", "| Days past due | 0 |", "| Strong guarantee on file | no |"]


def test_review_months_agree_with_the_pricing_rulebook():
    pricing = yaml.safe_load((RULEBOOKS / "pricing.yaml").read_text(encoding="utf-8"))
    months = {}
    for rule in pricing["rules"]:
        m = re.fullmatch(r'coarse_grade == "(\w+)"', str(rule.get("when", "")))
        if m and "review_months" in rule["then"]:
            months[m.group(1)] = rule["then"]["review_months"]
    assert months == {"A": 12, "B": 6, "C": 3}
    for name in ("corporate", "individual", "small_business"):
        section = pingji.load_rulebook(RULEBOOKS / f"{name}.yaml").report
        assert section is not None
        assert {g.grade: g.review_months for g in section.grades} == months, name


@pytest.mark.parametrize("bad, code, where, message", [
    pytest.param("report:\n  grades: {A: {meaning: Good, measures: []}}\n  solvency: {}\n  credit: []\n"
                 "  reasons: {by_factor: [], missing: {}, undefined: {}, otherwise: {}}\n",
                 "E101", (2, 25), "report.grades.A.meaning: 'Good' is not of type 'object'", id="meaning-not-text"),
    pytest.param("report:\n  grades: {A: {meaning: {en: Good}, measures: []}}\n  solvency: {groupz: [x]}\n"
                 "  credit: []\n  reasons: {by_factor: [], missing: {}, undefined: {}, otherwise: {}}\n",
                 "E105", (3, 14), "unknown property 'groupz' (did you mean 'groups'?)", id="unknown-key"),
    pytest.param("report:\n  grades: {A: {meaning: {en: Good}, measures: []}}\n  solvency: {}\n  credit: []\n",
                 "E100", (2, 3), "'reasons' is required", id="missing-reasons"),
])
def test_the_schema_refuses_a_malformed_report_section_with_a_located_error(tmp_path, bad, code, where, message):
    shutil.copy(BOOKS / "mini.schema.json", tmp_path / "mini.schema.json")
    mini = (BOOKS / "mini.yaml").read_text(encoding="utf-8").split("\nexamples:")[0].rstrip("\n") + "\n"
    path = tmp_path / "mini.yaml"
    path.write_text(mini + bad, encoding="utf-8")
    first = len(mini.splitlines())
    diags = [d for d in check(path, run_examples=False) if d.is_error]
    assert [(d.code, d.location.line - first, d.location.col, f"{d.message} ({d.hint})" if d.hint else d.message)
            for d in diags] == [(code, *where, message)]
    assert str(diags[0]).endswith(f"mini.yaml:{first + where[0]}:{where[1]}: error[{code}]: {message}")


def test_the_report_command_follows_the_section_of_the_rulebook_that_rated(tmp_path, monkeypatch, edited_corporate):
    monkeypatch.chdir(edited_corporate)
    monkeypatch.delenv("PINGJI_DB", raising=False)
    monkeypatch.setattr(pingji.store.records, "now", lambda: "2026-06-30T09:00:00.000Z")
    shutil.copy(ROOT / "facts" / "examples" / "machinery-a.yaml", "machinery-a.yaml")
    runner = CliRunner()
    rated = runner.invoke(cli, ["rate", "machinery-a.yaml", "-r", "manufacturing.yaml"], catch_exceptions=False)
    assert rated.exit_code == 0, rated.output
    shown = runner.invoke(cli, ["report", "E000001", "--lang", "en"], catch_exceptions=False)
    assert shown.exit_code == 0
    assert grade_meaning(shown.stdout) == f"| Grade meaning | {NEW_EN} |"


def test_a_report_section_naming_what_the_rulebook_lacks_is_warned_about(tmp_path):
    shutil.copy(BOOKS / "mini.schema.json", tmp_path / "mini.schema.json")
    mini = (BOOKS / "mini.yaml").read_text(encoding="utf-8").split("\nexamples:")[0].rstrip("\n") + "\n"
    path = tmp_path / "mini.yaml"
    path.write_text(mini + "report:\n  grades: {Z: {meaning: {en: Zed}, measures: []}, A: {meaning: {en: Good}, "
                    "measures: []}}\n  solvency: {groups: [solvency, solvancy], metrics: [debt_ratio, nope]}\n"
                    "  credit: [days_past_due, dpd]\n"
                    "  reasons: {by_factor: [], missing: {}, undefined: {}, otherwise: {}}\n", encoding="utf-8")
    diags = check(path, run_examples=False)
    assert [(d.code, d.location.line - len(mini.splitlines()), d.message) for d in diags] == [
        ("W203", 2, "report: credit fact 'credit.dpd' is not in the facts schema"),
        ("W203", 2, "report: grade 'Z' is not a grade of the scale"),
        ("W203", 2, "report: solvency group 'solvancy' is not a group of the rulebook"),
        ("W203", 2, "report: solvency metric 'nope' is not a metric of the rulebook"),
    ]
