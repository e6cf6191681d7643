"""`pingji validate`: back-testing the grades in the store against observed defaults (DOMAIN §7).

The statistics are checked against closed forms and identities; a hand-computable sample pins
every figure; the command runs end to end on real ratings (the example customers, and a synthetic
portfolio rated by `pingji batch`), and every bad input has its exact one-line error.
"""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import pingji
import pingji.store.records
from pingji.analysis.outcomes import Outcome, read_outcomes
from pingji.analysis.statistics import auc, betainc, binomial_tail, chi2_sf, gammainc_upper, ks
from pingji.analysis.validation import add_months, validate
from pingji.cli.main import cli
from pingji.errors import BacktestError
from pingji.store.database import Store

ROOT = Path(__file__).resolve().parent.parent
BOOK = pingji.load_decision(ROOT / "rulebooks" / "validation.yaml", kind="policy")


def at(rule: str) -> str:
    """Where a rule of the validation rulebook is, as the output names it."""
    return f"rulebooks/validation.yaml:{BOOK.rule(rule).loc.line}"


MAX_DROPPED_AT = "rulebooks/validation.yaml:" + str(next(p.loc.line for p in BOOK.parameters
                                                         if p.id == "max_dropped_share"))


def cmd(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


# -- the statistics ------------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(a=st.integers(1, 60), b=st.integers(1, 60), x=st.floats(0.001, 0.999))
def test_incomplete_beta_of_integers_is_a_binomial_tail(a: int, b: int, x: float) -> None:
    # I_x(a, b) = P(Bin(a + b − 1, x) >= a) for integer a, b; the tail summed exactly with math.comb.
    n = a + b - 1
    exact = sum(math.comb(n, k) * x**k * (1 - x) ** (n - k) for k in range(a, n + 1))
    assert betainc(a, b, x) == pytest.approx(exact, abs=1e-12)
    assert binomial_tail(a, n, x) == pytest.approx(exact, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(x=st.floats(0.0, 1.0))
def test_incomplete_beta_of_halves_is_the_arcsine_law(x: float) -> None:
    # (2/π)·asin(√x), taken as 1 − (2/π)·asin(√(1 − x)) above ½: near 1 the square root of x loses
    # the digits that matter, while 1 − x is exact there.
    expected = 2 / math.pi * (math.asin(math.sqrt(x)) if x <= 0.5 else math.pi / 2 - math.asin(math.sqrt(1 - x)))
    assert betainc(0.5, 0.5, x) == pytest.approx(expected, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(x=st.floats(0.0, 200.0))
def test_chi_square_of_two_degrees_is_exponential(x: float) -> None:
    assert chi2_sf(x, 2) == pytest.approx(math.exp(-x / 2), rel=1e-10, abs=1e-300)


@settings(max_examples=100, deadline=None)
@given(x=st.floats(0.0, 60.0))
def test_chi_square_of_one_and_three_degrees(x: float) -> None:
    assert chi2_sf(x, 1) == pytest.approx(math.erfc(math.sqrt(x / 2)), abs=1e-12)
    closed = math.erfc(math.sqrt(x / 2)) + math.sqrt(2 * x / math.pi) * math.exp(-x / 2)
    assert chi2_sf(x, 3) == pytest.approx(closed, abs=1e-12)


def test_large_samples_neither_overflow_nor_lose_the_tail() -> None:
    n, p = 1_000_000, 0.0003  # mean 300, sd about 17.3
    assert binomial_tail(0, n, p) == 1.0
    assert binomial_tail(n, n, p) == 0.0  # p^n underflows to 0, no error
    assert binomial_tail(350, n, p) == pytest.approx(betainc(350, n - 350 + 1, p), rel=1e-9)
    assert binomial_tail(250, n, p) == pytest.approx(betainc(250, n - 250 + 1, p), rel=1e-9)
    assert 0.002 < binomial_tail(350, n, p) < 0.003
    j = betainc(300.5, n - 300 + 0.5, p)  # Jeffreys at D = N·PD: close to one half
    assert 0.45 < j < 0.55
    assert gammainc_upper(500.0, 500.0) == pytest.approx(0.494052, abs=1e-6)


def test_edges_of_the_statistics() -> None:
    assert betainc(2, 3, 0.0) == 0.0 and betainc(2, 3, 1.0) == 1.0
    assert binomial_tail(1, 10, 0.0) == 0.0 and binomial_tail(3, 10, 1.0) == 1.0
    assert auc([1, 2], [False, False]) is None and ks([1, 2], [True, True]) is None
    assert auc([5, 5, 5], [True, False, False]) == 0.5  # all tied: no discrimination
    with pytest.raises(ValueError):
        betainc(0, 1, 0.5)


# -- a sample small enough to work by hand -------------------------------------------------------------
SCALE = [{"grade": "A", "pd": 0.01}, {"grade": "B", "pd": 0.1}, {"grade": "C", "pd": 0.5},
         {"grade": "D", "pd": 1.0, "default": True}]


def _row(n: int, cid: str, total: float, model: str, grade: str) -> dict[str, Any]:
    return {"customer_id": cid, "evaluation_id": f"E{n:06d}", "evaluated_at": "2025-12-01T09:00:00.000Z",
            "rulebook_id": "hand", "rulebook_hash": "h1", "total": total, "model_grade": model,
            "final_grade": grade, "effective_grade": grade, "expert_override": model != grade}


HAND = [_row(1, "c1", 90, "A", "A"), _row(2, "c2", 80, "A", "A"), _row(3, "c3", 60, "B", "B"),
        _row(4, "c4", 60, "A", "B"),  # overridden one notch down
        _row(5, "c5", 30, "C", "C"), _row(6, "c6", 10, "D", "D"), _row(7, "c7", 70, "B", "B")]
HAND_OUTCOMES = [Outcome("c1", False, None, 2), Outcome("c2", False, None, 3), Outcome("c3", True, "2026-05-01", 4),
                 Outcome("c4", False, None, 5), Outcome("c5", True, None, 6), Outcome("c6", True, None, 7),
                 Outcome("x9", False, None, 8)]


def test_hand_computed_sample() -> None:
    v = validate(HAND, {"h1": SCALE}, HAND_OUTCOMES, book=BOOK, as_of="2025-12-31")
    (t,) = v.backtests
    # c6 is rated D (a default grade): left out; c7 has no outcome row; x9 is not rated.
    assert t.counts == {"rated": 7, "no_outcome": 1, "in_default": 1, "defaulted_before_rating": 0,
                        "defaulted_after_horizon": 0, "sample": 5, "defaults": 2}
    assert v.unknown_customers == ["x9"] and v.window_end == "2026-12-31"
    f = t.figures
    # Defaulters c3 (60), c5 (30); non-defaulters c1 (90), c2 (80), c4 (60): 6 pairs. c3 is below
    # c1 and c2 and ties c4 (1 + 1 + ½); c5 is below all three (3): AUC = 5.5 / 6 = 11/12.
    assert f["auc"] == 0.916667 and f["gini"] == 0.833333  # Gini = 2·11/12 − 1 = 5/6
    # By grade order (A > B > C) the pairs come out the same: c3 (B) ties c4 (B).
    assert f["auc_grade"] == 0.916667
    # KS at score 60: F_bad = 2/2 (30, 60), F_good = 1/3 (60): |1 − 1/3| = 2/3.
    assert f["ks"] == 0.666667
    # Brier: c1, c2 (0.01 − 0)² = 0.0001 each; c3 (0.1 − 1)² = 0.81; c4 0.01; c5 (0.5 − 1)² = 0.25;
    # sum 1.0702 / 5 = 0.21404.
    assert f["brier"] == 0.21404
    # HHI: A 2, B 2, C 1 of 5: 0.4² + 0.4² + 0.2² = 0.36.
    assert f["hhi"] == 0.36
    # Hosmer–Lemeshow: A (0 − 0.02)²/(2·0.01·0.99) = 0.020202; B (1 − 0.2)²/(2·0.1·0.9) = 3.555556;
    # C (1 − 0.5)²/(1·0.5·0.5) = 1; χ² = 4.575758 on 3 df: p = erfc(√(χ²/2)) + √(2χ²/π)·e^(−χ²/2) = 0.205632.
    assert (f["hl_chi2"], f["hl_df"], f["hl_p"]) == (4.575758, 3, 0.205632)
    # Overrides: c4 only (model A, effective B: down), rate 1/5; defaults 0/1 overridden, 2/4 not.
    assert (f["overrides"], f["overrides_up"], f["overrides_down"], f["override_rate"]) == (1, 0, 1, 0.2)
    assert f["expert_overrides"] == 1
    assert (f["odr_overridden"], f["odr_not_overridden"]) == (0.0, 0.5)
    rows = {g.grade: g for g in t.grades}
    assert list(rows) == ["A", "B", "C"]  # the default grade D is not tested
    # A: N 2, D 0, PD 1%: binomial P(X >= 0) = 1. Jeffreys I_0.01(½, 5/2); with t = sin²θ,
    # ∫ t^−½ (1−t)^{3/2} dt = 2(3θ/8 + sin2θ/4 + sin4θ/32), B(½, 5/2) = 3π/8, θ = asin 0.1: 0.168918.
    assert (rows["A"].n, rows["A"].defaults, rows["A"].odr, rows["A"].binomial_p, rows["A"].jeffreys_p) == (
        2, 0, 0.0, 1.0, 0.168918)
    # B: N 2, D 1, PD 10%: binomial 1 − 0.9² = 0.19. Jeffreys I_0.1(3/2, 3/2) = (2/π)(θ − sin4θ/4),
    # θ = asin √0.1, sin4θ = 0.96: (2/π)(0.321751 − 0.24) = 0.052044.
    assert (rows["B"].odr, rows["B"].binomial_p, rows["B"].jeffreys_p) == (0.5, 0.19, 0.052044)
    # C: N 1, D 1, PD 50%: binomial 0.5; Jeffreys I_½(3/2, ½) = (2/π)(π/4 − ½) = ½ − 1/π = 0.181690.
    assert (rows["C"].binomial_p, rows["C"].jeffreys_p) == (0.5, 0.18169)
    # The verdicts are rules of rulebooks/validation.yaml.
    verdict = {g: (rows[g].decision.outputs["calibration"].value, rows[g].decision.outputs["calibration"].rules)
               for g in rows}  # type: ignore[union-attr]
    # Issue 12.17: grades of one or two customers are too few to judge (min_grade_customers, 20).
    assert verdict == {"A": ("green", ["grade-within-pd"]), "B": ("insufficient_sample", ["grade-insufficient"]),
                       "C": ("insufficient_sample", ["grade-insufficient"])}
    d = t.decision
    assert d is not None
    assert {o: (d.outputs[o].value, d.outputs[o].rules) for o in t.outputs()} == {
        "discrimination": ("green", ["gini-green"]),
        # Issue 12.17: 7 customers are fewer than min_customers (30): too few to judge calibration or spread
        "overall_calibration": ("insufficient_sample", ["hl-insufficient"]),
        "concentration": ("insufficient_sample", ["hhi-insufficient"]), "overrides": ("amber", ["overrides-amber"])}


def test_default_dates_before_the_rating_and_after_the_window() -> None:
    outs = [Outcome("c1", True, "2025-11-30", 2),  # before its rating (2025-12-01): left out
            Outcome("c2", True, "2027-01-15", 3),  # after the 12-month window: not a default in it
            Outcome("c3", True, "2026-12-31", 4),  # the window's last day: a default
            Outcome("c4", False, None, 5), Outcome("c5", False, None, 6)]
    (t,) = validate(HAND, {"h1": SCALE}, outs, book=None, as_of="2025-12-31").backtests
    assert (t.counts["defaulted_before_rating"], t.counts["defaulted_after_horizon"], t.counts["sample"],
            t.counts["defaults"]) == (1, 1, 4, 1)
    (t6,) = validate(HAND, {"h1": SCALE}, outs, book=None, as_of="2025-12-31", horizon_months=6).backtests
    assert (t6.counts["defaulted_after_horizon"], t6.counts["defaults"]) == (2, 0)


def test_no_defaulters_leaves_discrimination_undefined_not_a_crash() -> None:
    outs = [Outcome(c, False, None, i) for i, c in enumerate(["c1", "c2", "c3", "c4", "c5"], start=2)]
    (t,) = validate(HAND, {"h1": SCALE}, outs, book=BOOK, as_of="2025-12-31").backtests
    assert (t.figures["auc"], t.figures["gini"], t.figures["ks"]) == (None, None, None)
    assert "AUC, Gini and KS are undefined: the sample has no defaulters" in t.notes
    assert t.decision is not None and t.decision.outputs["discrimination"].rules == ["gini-undefined"]
    assert t.decision.outputs["discrimination"].value == "not_assessed"


def test_an_empty_grade_is_shown_and_not_tested() -> None:
    outs = [Outcome("c1", False, None, 2), Outcome("c2", True, None, 3)]
    (t,) = validate(HAND, {"h1": SCALE}, outs, book=BOOK, as_of="2025-12-31").backtests
    b = next(g for g in t.grades if g.grade == "B")
    assert (b.n, b.odr, b.pd, b.binomial_p, b.jeffreys_p) == (0, None, 0.1, None, None)
    assert b.decision is not None and b.decision.outputs["calibration"].rules == ["grade-untested"]
    assert "no customers in the sample, not tested: grades B, C" in t.notes


def test_months_are_calendar_months() -> None:
    assert add_months("2025-12-31", 2) == "2026-02-28"
    assert add_months("2024-01-31", 1) == "2024-02-29"
    assert add_months("2025-06-30", 12) == "2026-06-30"


# -- the command, on the example customers -------------------------------------------------------------
@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(pingji.store.records, "now", lambda: "2026-04-16T09:00:00.000Z")
    path = str(tmp_path / "v.db")
    for f in ("facts/monitoring/machinery-2026-04.yaml", "facts/examples/contractor-a.yaml",
              "facts/examples/builder-overdue-c.yaml", "facts/examples/textile-b.yaml"):
        assert cmd("rate", f, "--db", path).exit_code == 0
    assert cmd("override", "E000002", "-g", "B", "--reviewer", "Li", "--reason", "weaker order book",
               "--db", path).exit_code == 0
    return path


def _outcomes(tmp_path: Path, text: str, name: str = "out.csv") -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_validate_prints_grades_figures_and_verdicts_with_their_rules(db: str, tmp_path: Path) -> None:
    out = _outcomes(tmp_path, "customer_id,defaulted,default_date\nC-C-0001,false,\nC-E-0001,no,\n"
                              "C-E-0004,true,2026-09-30\nC-C-0002,1,2026-10-01\nC-Z-9999,false,\n")
    r = cmd("validate", out, "--db", db, "--as-of", "2026-04-30")
    assert r.exit_code == 0, r.output
    # one row of five is of a customer not rated: more than the 5% max_dropped_share (issue 12.2)
    assert r.stderr == ("warning[W730]: 1 of 5 outcomes and 0 of 2 defaults dropped from the back-test, more than "
                        f"5% (max_dropped_share, {MAX_DROPPED_AT}): 0 defaulted on or before the rating "
                        "date, 1 not rated by 2026-04-30; check the rating dates "
                        "(pingji history, --rated-on) and --as-of\n")
    lines = r.stdout.splitlines()
    assert lines[0] == ("back-test of the ratings as of 2026-04-30: defaults up to 2027-04-30 (12 months); "
                        "judged by validation 2026.1 (rulebooks/validation.yaml)")
    assert "rulebook construction: 2 rated, 2 in the sample with 1 default (left out: 0 without an outcome, " \
           "0 already in default, 0 defaulted before the rating; 0 defaulted after the window counted as not " \
           "defaulted)" in lines
    # C-E-0001 was rated A and overridden to B; C-E-0004 is C by a knock-out (more than 90 days overdue).
    # B: Jeffreys I_0.03(½, 3/2); C: binomial P(X >= 1 | 1, 0.2) = 0.2, Jeffreys I_0.2(3/2, ½) < 0.05.
    # Issue 12.17: one customer is too few to judge a grade or a portfolio; the verdict says so.
    assert f"B      1  0  0.0000  0.0300      1.0000      0.2194  green                grade-within-pd " \
           f"({at('grade-within-pd')})" in lines
    assert (f"C      1  1  1.0000  0.2000      0.2000      0.0405  insufficient_sample  grade-insufficient "
            f"({at('grade-insufficient')})") in lines
    assert (f"overall_calibration  insufficient_sample  hl-insufficient ({at('hl-insufficient')})") in lines
    assert (f"concentration        insufficient_sample  hhi-insufficient ({at('hhi-insufficient')})") in lines
    assert "overrides 2 (rate 1.0000): 0 up, 2 down (1 by an expert); default rate overridden 0.5000, " \
           "not overridden -" in lines
    assert "AUC 1.0000  Gini 1.0000  KS 1.0000  (total score; by grade: AUC 1.0000, Gini 1.0000)" in lines
    assert f"discrimination       green                gini-green ({at('gini-green')})" in lines
    assert f"overrides            red                  overrides-red ({at('overrides-red')})" in lines
    assert lines[-1] == ("warning: 1 customer(s) of the outcomes file not rated by 2026-04-30 in the store, "
                         "left out: C-Z-9999")


def test_validate_json_and_one_rulebook(db: str, tmp_path: Path) -> None:
    out = _outcomes(tmp_path, "customer_id,defaulted\nC-C-0001,false\nC-E-0001,false\nC-E-0004,true\n"
                              "C-C-0002,true\n")
    r = cmd("validate", out, "--db", db, "--as-of", "2026-04-30", "--rulebook", "manufacturing", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert [b["rulebook"] for b in d["backtests"]] == ["manufacturing"]
    (b,) = d["backtests"]
    assert (b["counts"]["sample"], b["counts"]["defaults"]) == (2, 1)
    assert [g["grade"] for g in b["grades"]] == [f"M{i}" for i in range(1, 11)]
    # the defaulter (C-C-0002, textile M6) scored below the other (C-C-0001, M2): AUC 1
    assert (b["figures"]["auc"], b["figures"]["gini"]) == (1.0, 1.0)
    assert b["verdicts"]["discrimination"]["at"] == [at("gini-green")]
    assert "stability" not in b["verdicts"] and "migration" not in b
    assert d["rounding"] == "6 decimal places" and d["horizon_months"] == 12


def test_validate_markdown_and_html_files(db: str, tmp_path: Path) -> None:
    out = _outcomes(tmp_path, "customer_id,defaulted\nC-C-0001,false\nC-E-0001,false\nC-E-0004,true\n")
    page = tmp_path / "b.html"
    r = cmd("validate", out, "--db", db, "--as-of", "2026-04-30", "--format", "html", "-o", str(page))
    assert (r.exit_code, r.output) == (0, f"wrote {page}\n")
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<table>" in html and "<script" not in html
    r = cmd("validate", out, "--db", db, "--as-of", "2026-04-30", "--format", "md")
    assert r.output.startswith("# Back-test of the rating system — 2026-04-30\n")
    assert "| grade | N | D | ODR | PD | binomial p | Jeffreys p | verdict | rule |" in r.output


def test_as_of_takes_the_ratings_and_overrides_made_by_then(db: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pingji.store.records, "now", lambda: "2026-06-01T09:00:00.000Z")
    assert cmd("override", "E000002", "-g", "C", "--reviewer", "Li", "--reason", "worse", "--approved-by", "Wang",
               "--db", db).exit_code == 0
    with Store.open(db) as store:
        before = {r["customer_id"]: r["effective_grade"] for r in store.ratings_as_of("2026-04-30")}
        after = {r["customer_id"]: r["effective_grade"] for r in store.ratings_as_of("2026-06-30")}
        # issue 12.2: rated on their facts' as_of (the first 2026-04-14), though stored on 2026-04-16
        assert [r["rated_on"] for r in store.ratings_as_of("2026-04-14")] == ["2026-04-14"]
        assert store.ratings_as_of("2026-04-13") == []
    assert (before["C-E-0001"], after["C-E-0001"]) == ("B", "C")
    out = _outcomes(tmp_path, "customer_id,defaulted\nC-C-0001,false\n")
    r = cmd("validate", out, "--db", db, "--as-of", "2026-04-13")
    assert (r.exit_code, r.output) == (1, "error[E710]: no ratings in the store on or before 2026-04-13: "
                                          "nothing to validate\n")


# -- bad input: one line each, file:line where there is one ----------------------------------------------
@pytest.mark.parametrize("text, message", [
    pytest.param("", "out.csv:1: error[E703]: outcomes file is empty: it needs a header row "
                     "customer_id,defaulted[,default_date]", id="empty"),
    pytest.param("customer_id,defaulted\n", "out.csv:1: error[E703]: outcomes file has a header but no rows",
                 id="header-only"),
    pytest.param("id,defaulted\nC-C-0001,false\n",
                 "out.csv:1: error[E702]: the header lacks the column 'customer_id' (it has: id, defaulted)",
                 id="no-id-column"),
    pytest.param("customer_id,defaulted\nC-C-0001,false\nC-E-0001,maybe\n",
                 "out.csv:3: error[E704]: defaulted must be true or false (also yes/no, 1/0); got 'maybe'",
                 id="not-boolean"),
    pytest.param("customer_id,defaulted\nC-C-0001,false\nC-E-0001,true\nC-C-0001,true\n",
                 "out.csv:4: error[E705]: customer 'C-C-0001' appears twice (first on line 2)", id="duplicate"),
    pytest.param("customer_id,defaulted,default_date\nC-C-0001,true,30/09/2026\n",
                 "out.csv:2: error[E706]: default_date '30/09/2026' is not a date YYYY-MM-DD", id="bad-date"),
    pytest.param("customer_id,defaulted,default_date\nC-C-0001,false,2026-09-30\n",
                 "out.csv:2: error[E706]: default_date 2026-09-30 on a customer that did not default",
                 id="date-without-default"),
    pytest.param("customer_id,defaulted\nC-C-0001,false,extra\n",
                 "out.csv:2: error[E707]: 3 cells but the header has 2", id="too-many-cells"),
    pytest.param("customer_id,defaulted\nX-1,false\nX-2,true\n",
                 "out.csv:2: error[E712]: no rated customer has an outcome: the customer ids of the outcomes "
                 "file match none in the store (first: 'X-1')", id="no-match"),
])
def test_bad_outcomes(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str) -> None:
    _outcomes(tmp_path, text)
    monkeypatch.chdir(tmp_path)
    r = cmd("validate", "out.csv", "--db", db, "--as-of", "2026-04-30")
    assert (r.exit_code, r.output) == (1, message + "\n")


def test_missing_file_unknown_rulebook_and_empty_store(db: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = cmd("validate", "nope.csv", "--db", db)
    assert (r.exit_code, r.output) == (1, "nope.csv: error[E701]: outcomes file not found\n")
    _outcomes(tmp_path, "customer_id,defaulted\nC-C-0001,false\n")
    r = cmd("validate", "out.csv", "--db", db, "--as-of", "2026-04-30", "-r", "retail")
    assert (r.exit_code, r.output) == (1, "error[E711]: no ratings by rulebook 'retail' on or before 2026-04-30 "
                                          "(the store has: construction, manufacturing)\n")
    Store.open("empty.db").close()
    r = cmd("validate", "out.csv", "--db", "empty.db", "--as-of", "2026-04-30")
    assert (r.exit_code, r.output) == (1, "error[E710]: no ratings in the store on or before 2026-04-30: "
                                          "nothing to validate\n")
    r = cmd("validate", "out.csv", "--db", db, "--as-of", "2026-04-30", "--policy", "pricing")
    assert (r.exit_code, r.output) == (1, f"{ROOT}/rulebooks/pricing.yaml:1:1: error[E713]: rulebook 'pricing' does "
                                          "not decide discrimination, overall_calibration, concentration, overrides, "
                                          "calibration, stability: it cannot judge a back-test (the built-in one is "
                                          "'validation')\n")
    r = cmd("validate", "out.csv", "--db", "none.db")
    assert r.exit_code == 1 and r.output == "none.db: error[E800]: no store here: nothing has been rated into it yet\n"
    r = cmd("validate", "out.csv", "--db", db, "--horizon-months", "0")
    assert r.exit_code == 2 and "0 is not in the range 1<=x<=120" in r.output


def test_read_outcomes_accepts_the_usual_booleans_and_a_bom(tmp_path: Path) -> None:
    p = tmp_path / "o.csv"
    p.write_text("\ufeffCustomer_ID, Defaulted ,note\nA,Yes,x\nB,N,\n\nC,1,\n", encoding="utf-8")
    assert [(o.customer_id, o.defaulted, o.line) for o in read_outcomes(p)] == [
        ("A", True, 2), ("B", False, 3), ("C", True, 5)]
    with pytest.raises(BacktestError):
        read_outcomes(tmp_path)


# -- a synthetic portfolio, rated by `pingji batch` ------------------------------------------------------
@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    from pingji.batch.synthetic import main as synthetic

    tmp = tmp_path_factory.mktemp("validate")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        mp.setattr(pingji.store.records, "now", lambda: "2025-12-15T10:00:00.000Z")
        synthetic(["corporate", "-n", "150", "--seed", "11", "-o", str(tmp / "p.jsonl")])
        # the synthetic facts are dated 2026: rated on 2025-12-15 by --rated-on (issue 12.2)
        r = cmd("batch", str(tmp / "p.jsonl"), "--db", str(tmp / "p.db"), "--rated-on", "2025-12-15")
        assert r.exit_code == 0, r.output
    rng = random.Random(5)
    with Store.open(tmp / "p.db") as store:
        rows, scales = store.ratings_as_of("2025-12-31"), store.scales()
    with open(tmp / "outcomes.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["customer_id", "defaulted", "default_date"])
        for r in rows:  # defaults drawn at three times the grade's PD: a rating that ranks well
            pd = {g["grade"]: g["pd"] for g in scales[r["rulebook_hash"]]}[r["effective_grade"]]
            bad = rng.random() < min(1.0, 3 * pd)
            w.writerow([r["customer_id"], "true" if bad else "false", "2026-06-30" if bad else ""])
    return str(tmp / "p.db"), str(tmp / "outcomes.csv")


def test_synthetic_portfolio_each_rulebook_on_its_own(portfolio: tuple[str, str]) -> None:
    db, outcomes = portfolio
    r = cmd("validate", outcomes, "--db", db, "--as-of", "2025-12-31", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    books = [b["rulebook"] for b in d["backtests"]]
    assert books == sorted(books) and "manufacturing" in books and len(books) >= 3
    total = 0
    for b in d["backtests"]:
        c, f = b["counts"], b["figures"]
        assert sum(g["customers"] for g in b["grades"]) == c["sample"]
        assert sum(g["defaults"] for g in b["grades"]) == c["defaults"]
        assert c["sample"] + c["no_outcome"] + c["in_default"] + c["defaulted_before_rating"] == c["rated"]
        if f["auc"] is not None:
            assert f["gini"] == pytest.approx(2 * f["auc"] - 1, abs=2e-6)
            assert 0 <= f["ks"] <= 1
        for o, v in b["verdicts"].items():
            assert v["rules"] and all(a.startswith("rulebooks/validation.yaml:") for a in v["at"]), o
        for g in b["grades"]:
            assert g["verdict"]["rules"], g
        total += c["rated"]
    assert total == 150
    again = cmd("validate", outcomes, "--db", db, "--as-of", "2025-12-31", "--json")
    assert again.output == r.output  # deterministic, byte for byte


def test_synthetic_portfolio_table(portfolio: tuple[str, str]) -> None:
    db, outcomes = portfolio
    r = cmd("validate", outcomes, "--db", db, "--as-of", "2025-12-31", "-r", "manufacturing")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[2].startswith("rulebook manufacturing: ")
    assert lines[4].split() == ["grade", "N", "D", "ODR", "PD", "binomial", "p", "Jeffreys", "p", "verdict", "rule"]
    assert [ln.split()[0] for ln in lines[5:15]] == [f"M{i}" for i in range(1, 11)]


# -- migration and stability between two dates ----------------------------------------------------------
def test_hand_computed_migration_and_psi() -> None:
    from pingji.analysis.migration import migration, psi

    before = [{"customer_id": c, "effective_grade": g} for c, g in
              [("c1", "A"), ("c2", "A"), ("c3", "B"), ("c4", "B"), ("c5", "C")]]
    after = [{"customer_id": c, "effective_grade": g} for c, g in
             [("c1", "A"), ("c2", "B"), ("c3", "B"), ("c4", "C"), ("c5", "C")]]
    m = migration(before, after, ["A", "B", "C", "D"])
    # A→A, A→B, B→B, B→C, C→C: 3 of 5 stay, all within one notch, none up, 2 down.
    assert (m["customers"], m["diagonal"], m["within_one_notch"], m["up"], m["down"]) == (5, 0.6, 1.0, 0.0, 0.4)
    assert m["matrix"] == {"A": {"A": 0.5, "B": 0.5}, "B": {"B": 0.5, "C": 0.5}, "C": {"C": 1.0}}
    # Shares E = (.4, .4, .2), A = (.2, .4, .4): PSI = (−.2)·ln(.5) + 0 + (.2)·ln 2 = 0.4·ln 2 = 0.277259.
    assert m["psi"] == 0.277259
    # A grade empty at one date counts as half a customer there: E = (1, .5)/1.5, A = (.5, 1)/1.5;
    # PSI = 2·(1/3)·ln 2 = 0.462098.
    assert round(psi({"A": 1}, {"B": 1}, ["A", "B"]) or 0, 6) == 0.462098
    assert migration([], after, ["A", "B", "C"])["psi"] is None


def test_validate_from_an_earlier_date(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pingji.store.records, "now", lambda: "2026-10-31T09:00:00.000Z")
    assert cmd("rate", "facts/monitoring/machinery-2026-10.yaml", "--db", db).exit_code == 0
    out = _outcomes(tmp_path, "customer_id,defaulted\nC-C-0001,true\nC-C-0002,false\nC-E-0001,false\n"
                              "C-E-0004,true\n")
    r = cmd("validate", out, "--db", db, "--from", "2026-04-30", "--as-of", "2026-11-15", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    manu = next(b for b in d["backtests"] if b["rulebook"] == "manufacturing")
    m = manu["migration"]
    assert m["customers"] == 2 and m["distribution_from"] == {"M2": 1, "M6": 1}
    assert m["counts"]["M6"] == {"M6": 1} and m["up"] == 0.0
    assert manu["verdicts"]["stability"]["at"][0].startswith("rulebooks/validation.yaml:")
    cons = next(b for b in d["backtests"] if b["rulebook"] == "construction")
    assert cons["migration"]["psi"] == 0.0 and cons["verdicts"]["stability"]["rules"] == ["psi-stable"]
    text = cmd("validate", out, "--db", db, "--from", "2026-04-30", "--as-of", "2026-11-15").output
    assert "migration 2026-04-30 -> 2026-11-15 (2 customers rated at both): diagonal " in text
    assert f"stability            green                psi-stable ({at('psi-stable')})" in text
    r = cmd("validate", out, "--db", db, "--from", "2026-11-15", "--as-of", "2026-11-15")
    assert r.exit_code == 2 and "--from 2026-11-15 must be before --as-of 2026-11-15" in r.output
