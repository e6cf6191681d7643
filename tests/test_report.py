"""The justification report: real evaluations of tests/data/books/mini.yaml rendered as Markdown and HTML.

mini.yaml: solvency 60 (current_ratio 50, debt_ratio 50), quality 40 (net_margin 40, management 60);
A from 75 (PD 0.5%), B from 55, else C; overdue_90 knocks out to C; guarantee notches up one.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
from factories import customer

import pingji
from pingji.report.formats import fmt_money, fmt_number, fmt_percent
from pingji.report.rating import render_html, render_markdown

BOOKS = Path(__file__).parent / "data" / "books"
ROOT = Path(__file__).resolve().parent.parent
HOSTILE = '<script>alert("x")</script> | [link](https://evil.example) ![i](http://evil.example/x.png) `t` a\\|b'


@pytest.fixture(scope="module")
def mini():
    return pingji.load_rulebook(BOOKS / "mini.yaml")


def record(rb, facts: dict, experts: list | None = None, **extra: object) -> dict:
    """A stored evaluation: Evaluation.to_dict() plus what the store adds."""
    rec = pingji.evaluate(rb, facts).to_dict()
    rec.update(evaluation_id="ev-0001", evaluated_at="2026-07-01T08:30:00Z", facts=copy.deepcopy(facts),
               expert_overrides=experts or [])
    rec.update(extra)
    return rec


@pytest.fixture(scope="module")
def good(mini) -> dict:
    return record(mini, customer())


@pytest.fixture(scope="module")
def overdue(mini) -> dict:
    facts = customer(credit={"days_past_due": 120, "fraud": False, "strong_guarantee": True})
    return record(mini, facts, experts=[{
        "old_grade": "C", "new_grade": "B", "reviewer": "Zhang Min", "reason": "arrears cleared on 2026-07-02",
        "approved_by": "Chen Jie", "at": "2026-07-03T10:00:00Z"}])


def lines(text: str) -> list[str]:
    return text.splitlines()


def split_row(row: str) -> list[str]:
    """Cells of a GFM table row: split on pipes that are not backslash-escaped."""
    assert row.startswith("| ") and row.endswith(" |"), row
    cells, cell, i = [], "", 1
    body = row[1:-1]
    while i <= len(body):
        ch = body[i - 1]
        if ch == "\\" and i < len(body):
            cell += ch + body[i]
            i += 2
            continue
        if ch == "|":
            cells.append(cell)
            cell = ""
        else:
            cell += ch
        i += 1
    cells.append(cell)
    return [c.strip() for c in cells]


def tables(md: str) -> list[list[str]]:
    out: list[list[str]] = []
    current: list[str] = []
    for line in lines(md) + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            out.append(current)
            current = []
    return out


def assert_tables_well_formed(md: str) -> int:
    found = tables(md)
    assert found, "no table"
    for table in found:
        width = len(split_row(table[0]))
        assert re.fullmatch(r"\| (?:-{3}:?)(?: \| -{3}:?)* \|", table[1]), table[1]
        for row in table:
            assert len(split_row(row)) == width, (table[0], row)
        # a table is a block of its own: a blank line before it
        start = md.index(table[0])
        assert start == 0 or md[start - 2:start] == "\n\n"
    return len(found)


def section(md: str, title: str) -> str:
    """The text of one `## ` section (up to the next one)."""
    start = md.index(f"\n## {title}")
    end = md.find("\n## ", start + 1)
    return md[start:end if end != -1 else len(md)]


# -- formatting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(1234567.005, "1,234,567.01", id="half-up-on-the-decimal-repr"),
    pytest.param(2.675, "2.68", id="2.675-not-2.67"),
    pytest.param(-0.004, "0.00", id="no-negative-zero"),
    pytest.param(-1234.5, "-1,234.50", id="negative"),
    pytest.param(236000, "236,000.00", id="int"),
    pytest.param(None, "—", id="none"),
])
def test_money_has_thousands_separators_and_two_decimals_rounded_half_up(value, expected):
    assert fmt_money(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(0.005, "0.50%", id="0.5%"),
    pytest.param(0.15, "15.00%", id="15%"),
    pytest.param(0.0003, "0.03%", id="basel-floor"),
    pytest.param(0.000125, "0.0125%", id="more-places-when-needed"),
    pytest.param(None, "—", id="no-pd"),
])
def test_pd_is_a_percentage(value, expected):
    assert fmt_percent(value) == expected


def test_numbers_as_given_keep_their_digits():
    assert (fmt_number(2000), fmt_number(2000.0), fmt_number(0.0876), fmt_number(True)) == \
           ("2,000", "2,000", "0.0876", "True")


# -- content ---------------------------------------------------------------------------------------


def test_grade_lines_in_both_languages(good):
    zh, en = render_markdown(good, "zh"), render_markdown(good, "en")
    assert "- **最终等级: A** · 违约概率 0.50% · 总分 97.60" in lines(zh)
    assert "- **Final grade: A** · PD 0.50% · Total score 97.60" in lines(en)
    assert "| 最终等级 | **A** |" in lines(zh)
    assert "| Final grade | **A** |" in lines(en)
    assert "| Grade title | Good |" in lines(en)
    assert "| 等级名称 | 优质 |" in lines(zh)
    assert "| Grade defined at | `tests/data/books/mini.yaml:70` |" in lines(en)
    assert "| PD | 0.50% |" in lines(en)


def test_section_headings(good):
    zh, en = render_markdown(good, "zh"), render_markdown(good, "en")
    assert lines(zh)[0] == "# 客户信用评级报告 (Credit rating report)"
    assert [ln for ln in lines(zh) if ln.startswith("## ")] == [
        "## 一、客户基本情况 (Customer basics)", "## 二、经营状况 (Operations)", "## 三、财务指标 (Financial indicators)",
        "## 四、偿债能力 (Repayment capacity)", "## 五、逐项评分 (Factor-by-factor scores)",
        "## 六、规则调整 (Rulebook overrides)", "## 七、专家调整 (Expert overrides)",
        "## 八、评级结果及含义 (The grade and its meaning)", "## 九、建议措施 (Recommended measures)",
        "## 十、依据与溯源 (Provenance)", "## 附录：规则触发轨迹 (Appendix: rule trace)"]
    assert [ln for ln in lines(en) if ln.startswith("## ")][0] == "## 1. Customer basics"


def test_factor_rows_show_weight_points_contribution_band_and_line(good):
    en = render_markdown(good, "en")
    assert ("| `current_ratio` | Solvency | 50 | 100.00 | 30.0000 | `band 1: >= 1.5` | `current_ratio.band1` "
            "| `tests/data/books/mini.yaml:32` |") in lines(en)
    assert ("| `management` | Quality | 60 | 90.00 | 21.6000 | `median of 2 assessments (5 by Wang, 4 by Li)` "
            "| `management.aggregate` | `tests/data/books/mini.yaml:64` |") in lines(en)
    assert "| Solvency `solvency` | 60 | 100.0000 | 60.0000 |" in lines(en)
    assert "| **Total score** | — | — | **97.60** |" in lines(en)
    zh = render_markdown(good, "zh")
    assert "| 经营 `quality` | 40 | 94.0000 | 37.6000 |" in lines(zh)


def test_interpolated_band_is_named(mini):
    rec = record(mini, customer(fin__total_liabilities=600))
    assert "| `debt_ratio` | Solvency | 50 | 60.00 | 18.0000 | `band 2: 0.4 <= x < 0.8, interpolated` " \
           "| `debt_ratio.band2` | `tests/data/books/mini.yaml:45` |" in lines(render_markdown(rec, "en"))


def test_metrics_show_value_at_precision_inputs_expression_and_line(good):
    en = render_markdown(good, "en")
    assert ("| `debt_ratio` | 0.3000 | ok | `fin.total_assets` = 1,000.00; `fin.total_liabilities` = 300.00 "
            "| `fin.total_liabilities / fin.total_assets` | `tests/data/books/mini.yaml:15` |") in lines(en)


def test_missing_and_undefined_metrics_are_shown_explicitly(mini):
    facts = customer(fin__current_liabilities=0)
    del facts["fin"]["revenue"]
    rec = record(mini, facts)
    en, zh = render_markdown(rec, "en"), render_markdown(rec, "zh")
    assert ("| Current ratio `current_ratio` | — | undefined | `fin.current_assets` = 2,000.00; `fin.current_liabilities` = 0.00 "
            "| `fin.current_assets / fin.current_liabilities` | `tests/data/books/mini.yaml:12` |") in lines(en)
    assert ("| `net_margin` | — | missing | `fin.net_income` = 150.00; `fin.revenue` = missing "
            "| `fin.net_income / fin.revenue` | `tests/data/books/mini.yaml:18` |") in lines(en)
    assert "| 流动比率 `current_ratio` | — | 无定义 (undefined) |" in zh
    assert ("| `net_margin` | Quality | 40 | 20.00 | 3.2000 | `missing input` | `net_margin.missing` "
            "| `tests/data/books/mini.yaml:59` |") in lines(en)
    # the measures section asks for the missing data
    assert "| `net_margin` | 12.80 | Obtain the missing data for this factor and re-rate. |" in lines(en)


def test_override_rows_carry_reason_action_and_whether_applied(overdue):
    en = render_markdown(overdue, "en")
    assert ("| `overdue_90` | `credit.days_past_due > 90` | `credit.days_past_due` = 120 | set grade C (knock-out) "
            "| more than 90 days past due | yes | `tests/data/books/mini.yaml:75` |") in lines(en)
    assert ("| `guarantee` | `credit.strong_guarantee == true` | `credit.strong_guarantee` = yes | notch up 1 "
            "| strong guarantee | no | `tests/data/books/mini.yaml:87` |") in lines(en)
    assert "How overrides combined: `notches +1: A -> A; knock-out C: A -> C`" in lines(en)
    zh = render_markdown(overdue, "zh")
    assert ("| `overdue_90` | `credit.days_past_due > 90` | `credit.days_past_due` = 120 | 设定等级 C（一票否决） "
            "| 逾期超过90天 | 是 | `tests/data/books/mini.yaml:75` |") in lines(zh)


def test_no_override_says_so(good):
    assert "No override condition was met." in section(render_markdown(good, "en"), "6. Rulebook overrides")


def test_expert_overrides_show_reviewer_reason_grades_and_approval(overdue):
    en = render_markdown(overdue, "en")
    assert ("| 2026-07-03T10:00:00Z | Zhang Min | C → B | arrears cleared on 2026-07-02 | Chen Jie |"
            in lines(en))
    assert ("| Grade after expert override | **B** (2026-07-03T10:00:00Z, Zhang Min, approved by Chen Jie: "
            "arrears cleared on 2026-07-02) |") in lines(en)
    assert "| Model grade | A |" in lines(en)


def test_issue12_the_report_follows_the_effective_grade_after_an_expert_override(overdue):
    """Issue 12.1: the title, the final grade, its PD, meaning and measures are the expert's grade, with
    the rulebook's grade and the override (who, approved by whom, why) beside it."""
    en = render_markdown(overdue, "en")
    assert ("- **Final grade: B** (expert override C → B: Zhang Min, approved by Chen Jie) · PD 3.00% · "
            "Total score 97.60") in lines(en)
    assert "| Final grade | **B** |" in lines(en)
    assert "| Grade by the rulebook | C |" in lines(en)
    assert "| Grade meaning | Fair: adequate repayment capacity, some risk |" in lines(en)
    assert "| PD | 3.00% |" in lines(en)
    assert "<title>Credit rating report — c1 — B</title>" in render_html(overdue, "en")
    zh = render_markdown(overdue, "zh")
    assert "- **最终等级: B** (专家调整 C → B: Zhang Min, 审批人 Chen Jie) · 违约概率 3.00% · 总分 97.60" in lines(zh)


def test_issue12_an_expert_grade_without_its_rulebook_version_shows_no_pd(overdue):
    changed = {**overdue, "rulebook": {**overdue["rulebook"], "hash": "0" * 64}}
    en = render_markdown(changed, "en")
    assert "| PD | — |" in lines(en)
    assert "The rulebook version that rated this is no longer at hand: no PD for the expert's grade." in lines(en)


def test_expert_overrides_are_listed_in_time_order(mini):
    experts = [{"old_grade": "B", "new_grade": "C", "reviewer": "later", "reason": "r2", "at": "2026-07-05T00:00:00Z"},
               {"old_grade": "A", "new_grade": "B", "reviewer": "earlier", "reason": "r1", "at": "2026-07-04T00:00:00Z"}]
    en = render_markdown(record(mini, customer(), experts=experts), "en")
    assert en.index("| earlier |") < en.index("| later |")
    assert "| Grade after expert override | **C** (2026-07-05T00:00:00Z, later: r2) |" in lines(en)


def test_measures_follow_the_grade_and_are_labelled_guidance(good, overdue):
    en = render_markdown(good, "en")
    measures = section(en, "9. Recommended measures")
    assert "Guidance text only" in measures and "not a rating or credit decision" in measures
    assert "- Re-rate annually, and at once on material adverse information." in lines(measures)
    # the expert grade B rules the measures when a reviewer changed the grade
    measures = section(render_markdown(overdue, "en"), "9. Recommended measures")
    assert "Measures follow the grade after expert override." in measures
    assert "- Re-rate semi-annually." in lines(measures)


def test_c_grade_measures_include_quarterly_review_and_problem_loan_tracking(mini):
    rec = record(mini, customer(credit={"days_past_due": 120, "fraud": False, "strong_guarantee": False}))
    measures = section(render_markdown(rec, "en"), "9. Recommended measures")
    assert "- Re-rate quarterly." in lines(measures)
    assert "- Track as a problem loan, with a remediation and recovery plan." in lines(measures)
    zh = section(render_markdown(rec, "zh"), "九、建议措施 (Recommended measures)")
    assert "- 每季度复评一次。" in lines(zh)


def test_reason_codes_get_a_measure_each(mini):
    facts = customer(fin__current_assets=900, fin__net_income=50)
    rec = record(mini, facts)
    en = render_markdown(rec, "en")
    assert "| 1 | `current_ratio` | 20.00 | 24.00 | `band 3: < 1` |" in lines(en)
    assert ("| `current_ratio` | 24.00 | Improve liquidity: build cash and current assets, term out short-term "
            "liabilities. |") in lines(en)
    assert "| `net_margin` | 8.00 | Improve profitability: cost control and pricing. |" in lines(en)


def test_provenance_has_rulebook_hash_facts_hash_and_evaluation(good):
    en = render_markdown(good, "en")
    assert f"| Content hash (SHA-256) | `{good['rulebook']['hash']}` |" in lines(en)
    assert f"| Facts hash (SHA-256) | `{good['customer']['facts_hash']}` |" in lines(en)
    assert "| Rulebook id | `mini` |" in lines(en)
    assert "| Version | `1` |" in lines(en)
    assert "| Rulebook file | `tests/data/books/mini.yaml` |" in lines(en)
    assert f"| Engine version | `pingji {pingji.__version__}`, `durable_rules 2.0.28` |" in lines(en)
    assert "| Evaluation | `ev-0001` |" in lines(en)
    assert "| Evaluated at | 2026-07-01T08:30:00Z |" in lines(en)
    zh = render_markdown(good, "zh")
    assert f"| 内容哈希 (SHA-256) | `{good['rulebook']['hash']}` |" in lines(zh)


def test_trace_appendix_has_one_row_per_fired_rule(good, overdue):
    for rec in (good, overdue):
        for lang in ("zh", "en"):
            appendix = tables(render_markdown(rec, lang))[-1]
            assert len(appendix) == 2 + len(rec["trace"])
            assert [split_row(row)[0] for row in appendix[2:]] == [str(r["seq"]) for r in rec["trace"]]
    appendix = tables(render_markdown(overdue, "en"))[-1]
    assert appendix[0] == "| Seq | Rule | Kind | At | Matched | Asserted | Note |"
    assert ('| 14 | `override.overdue_90` | override | `tests/data/books/mini.yaml:75` | `{"credit.days_past_due": 120}` '
            '| `{"override": "overdue_90", "grade": "C"}` | `credit.days_past_due > 90` |') in appendix


def test_operations_show_assessors_levels_and_comments(good):
    en = render_markdown(good, "en")
    assert ("| `management` | Quality | 5 (Wang), 4 (Li) | 90.00 | `median of 2 assessments (5 by Wang, 4 by Li)` "
            "| `tests/data/books/mini.yaml:64` |") in lines(en)
    assert "| `management` | Li | 4 | — | steady team |" in lines(en)


def test_repayment_capacity_has_solvency_metrics_and_credit_record(overdue):
    en = section(render_markdown(overdue, "en"), "4. Repayment capacity")
    assert "| `debt_ratio` | 0.3000 | 100.00 | `band 1: < 0.4` |" in lines(en)
    assert "| `net_margin`" not in en  # a quality metric, not solvency
    assert "| Days past due | 120 |" in lines(en)
    assert "| Defaults on record | not provided |" in lines(en)


# -- well-formed, safe, deterministic --------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_markdown_tables_are_well_formed(good, overdue, lang):
    assert assert_tables_well_formed(render_markdown(good, lang)) >= 12
    assert assert_tables_well_formed(render_markdown(overdue, lang)) >= 12


def test_same_record_same_bytes(mini, overdue):
    again = record(mini, customer(credit={"days_past_due": 120, "fraud": False, "strong_guarantee": True}),
                   experts=copy.deepcopy(overdue["expert_overrides"]))
    for lang in ("zh", "en"):
        assert render_markdown(overdue, lang) == render_markdown(copy.deepcopy(overdue), lang) == \
               render_markdown(again, lang)
        assert render_html(overdue, lang) == render_html(again, lang)


def test_the_record_is_not_modified(overdue):
    before = copy.deepcopy(overdue)
    render_markdown(overdue, "zh")
    render_html(overdue, "en")
    assert overdue == before


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_html_is_one_self_contained_page(overdue, lang):
    page = render_html(overdue, lang)
    assert page.startswith("<!DOCTYPE html>\n")
    assert '<meta charset="utf-8">' in page
    assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in page
    assert "<style>" in page and "@media print" in page and "Noto Sans CJK SC" in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page)
    assert "http://" not in page and "https://" not in page
    for tag in ("<script", "<link", "<iframe", "<img", "@import"):
        assert tag not in page
    assert page.count("<table>") == len(tables(render_markdown(overdue, lang)))
    assert "<td>more than 90 days past due</td>" in page or "<td>逾期超过90天</td>" in page


def test_hostile_text_is_escaped_in_markdown_and_html(mini):
    facts = customer(assessments=[{"factor": "management", "level": 4, "assessor": HOSTILE, "comment": HOSTILE}])
    experts = [{"old_grade": "A", "new_grade": "B", "reviewer": HOSTILE, "reason": HOSTILE + "\nsecond line",
                "approved_by": HOSTILE, "at": "2026-07-02T00:00:00Z"}]
    rec = record(mini, facts, experts=experts)
    rec["facts"]["name"] = HOSTILE
    for lang in ("zh", "en"):
        md = render_markdown(rec, lang)
        assert "<script" not in md
        assert "&lt;script>" in md
        assert_tables_well_formed(md)
        page = render_html(rec, lang)
        assert "<script" not in page.lower()
        assert "&lt;script&gt;alert" in page
        assert "<title>客户信用评级报告 — &lt;script&gt;" in page or "<title>Credit rating report — &lt;script&gt;" in page
        assert "href=" not in page and "src=" not in page and "<a " not in page
        assert "[link](https://evil.example)" in page  # shown as text, not a link


def test_missing_sections_are_shown_as_missing_not_a_crash(good):
    bare = {"final_grade": "B"}
    for lang in ("zh", "en"):
        md = render_markdown(bare, lang)
        assert_tables_well_formed(md)
        render_html(bare, lang)
    en = render_markdown(bare, "en")
    assert "| Final grade | **B** |" in lines(en)
    assert "No indicators were computed." in en
    assert "No trace recorded." in en
    assert "No expert override." in en
    # facts and extras absent, odd types where sections should be
    rec = copy.deepcopy(good)
    for key in ("facts", "expert_overrides", "evaluation_id", "evaluated_at"):
        del rec[key]
    assert "| Customer id | `c1` |" in lines(render_markdown(rec, "en"))
    rec["facts"] = {"identity": "not a mapping", "credit": [1, 2], "collateral": "x", "assessments": {"a": 1},
                    "financials": {"current": None}}
    for lang in ("zh", "en"):
        assert_tables_well_formed(render_markdown(rec, lang))
    rec["facts"] = {"collateral": [], "guarantees": []}
    en = render_markdown(rec, "en")
    assert "Collateral and guarantees: none (unsecured)" in en
    assert "No third-party guarantees." in en


def test_an_unknown_language_is_refused(good):
    with pytest.raises(ValueError, match="lang must be one of zh, en; got 'fr'."):
        render_markdown(good, "fr")
    with pytest.raises(ValueError):
        render_html(good, "fr")


# -- the built-in schemas: corporate, individual ---------------------------------------------------


def builtin_record(book: str, example: str) -> dict:
    from pingji.lang.facts import read_facts

    rb = pingji.load_rulebook(ROOT / "rulebooks" / f"{book}.yaml")
    facts = read_facts(ROOT / "facts" / "examples" / f"{example}.yaml").data
    return record(rb, facts)


def test_corporate_report_shows_identity_statements_and_collateral():
    rec = builtin_record("manufacturing", "machinery-a")
    en = render_markdown(rec, "en")
    assert_tables_well_formed(en)
    assert f"| Final grade | **{rec['final_grade']}** |" in lines(en)
    assert f"| Coarse grade | {rec['coarse_grade']} |" in lines(en)
    assert "| Industry section (GB/T 4754) | C Manufacturing |" in lines(en)
    assert "| Size | Medium (`medium`) |" in lines(en)
    assert "| Current assets | 236,000.00 | 221,000.00 | 15,000.00 |" in lines(en)
    assert "| Interest expense | 4,300.00 | 4,500.00 | -200.00 |" in lines(en)
    assert "Amounts in CNY thousands." in en
    assert ("| Real estate (`real_estate`) | factory land and buildings 厂房及土地 | 95,000.00 | 30.00% | 66,500.00 "
            "| 2026-01-20 | 1 |") in lines(en)
    assert "| 行业门类 (GB/T 4754) | C 制造业 |" in lines(render_markdown(rec, "zh"))


def test_individual_report_masks_the_id_number_and_shows_income():
    rec = builtin_record("individual", "engineer-mortgage-a")
    en = render_markdown(rec, "en")
    assert_tables_well_formed(en)
    id_number = rec["facts"]["identity"]["id_number"]
    assert id_number not in en
    stars = "\\*" * (len(id_number) - 8)
    assert f"| ID number | {id_number[:4]}{stars}{id_number[-4:]} |" in lines(en)
    assert "| Age | 34 |" in lines(en)
    assert "| Income | Monthly income (after tax) | 28,000.00 |" in lines(en)
    assert "Amounts in CNY." in en


def test_issue12_pingji_report_after_an_override_says_the_effective_grade(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from pingji.cli.main import cli

    monkeypatch.delenv("PINGJI_DB", raising=False)
    db = str(tmp_path / "r.db")
    run = CliRunner().invoke
    assert run(cli, ["rate", "facts/examples/machinery-a.yaml", "--db", db]).exit_code == 0
    r = run(cli, ["override", "E000001", "--grade", "M5", "--reviewer", "zhang", "--reason",
                  "order book halved since March", "--approved-by", "wang", "--db", db])
    assert r.exit_code == 0, r.output
    r = run(cli, ["report", "E000001", "--lang", "en", "--db", db])
    assert r.exit_code == 0, r.output
    assert ("- **Final grade: M5** (expert override M2 → M5: zhang, approved by wang) · PD 0.30% · "
            "Total score 88.20") in r.output.splitlines()
    assert "| Coarse grade | B |" in r.output.splitlines()
    assert "| Grade meaning | Fair: adequate repayment capacity, some risk |" in r.output.splitlines()
    html = run(cli, ["report", "E000001", "--lang", "en", "--format", "html", "--db", db]).output
    assert "— M5</title>" in html
