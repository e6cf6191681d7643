"""Decision rulebooks (classification, provisioning, policy, monitoring) on the engine.

The format's checks are pinned by a corpus of broken rulebooks with golden diagnostics
(tests/data/decisions/broken); the run by a small rulebook exercising every way outputs combine
(tests/data/decisions/good.yaml).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pingji
import pingji.decisions.compile as dc
from pingji import EvaluationError, FactsError, RulebookError, check, decide, load_decision
from pingji.decisions.model import DecisionBook

ROOT = Path(__file__).resolve().parent.parent
DATA = Path("tests/data/decisions")
BROKEN = sorted((ROOT / DATA / "broken").glob("*.yaml"))

pytestmark = pytest.mark.usefixtures("fresh_engine_caches")


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.fixture
def book() -> DecisionBook:
    return load_decision(DATA / "good.yaml")


# -- the broken corpus -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", BROKEN, ids=lambda p: p.stem)
def test_broken_decision_rulebook(case: Path) -> None:
    rel = case.relative_to(ROOT).as_posix()
    want = case.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    assert [str(d) for d in check(rel)] == want
    load_errors = [w for w in want if "error[" in w and "[E170]" not in w and "[E171]" not in w]
    if load_errors:
        with pytest.raises(RulebookError) as info:
            load_decision(rel)
        assert [str(d) for d in info.value.diagnostics] == load_errors


def test_broken_corpus_is_complete() -> None:
    assert len(BROKEN) >= 14
    codes = {line.split("[")[1][:4] for case in BROKEN
             for line in case.with_suffix(".expected").read_text(encoding="utf-8").splitlines()}
    assert {"E210", "E211", "E212", "E213", "E214", "E215", "W210", "E170", "E171", "E180"} <= codes


def test_good_rulebook_checks_clean_and_runs_its_example() -> None:
    assert check(DATA / "good.yaml") == []


def test_rulebook_of_another_kind_is_refused_where_a_kind_is_needed() -> None:
    with pytest.raises(RulebookError) as info:
        load_decision(DATA / "good.yaml", kind="policy")
    assert str(info.value) == ("tests/data/decisions/good.yaml:1:1: error[E216]: rulebook 'good' is a classification "
                               "rulebook; a policy rulebook is needed here")


# -- running ---------------------------------------------------------------------------------------------


def test_worst_level_wins_and_every_deciding_rule_is_named(book: DecisionBook) -> None:
    d = decide(book, {"id": "l1", "balance": 100, "dpd": 271, "grade": "C"})
    cat = d.outputs["category"]
    assert cat.value == "doubtful"
    assert cat.rules == ["overdue-270"]
    assert cat.at == ["tests/data/decisions/good.yaml:31"]
    assert cat.reasons == ["more than 270 days overdue"]
    assert [c["rule"] for c in cat.candidates] == ["overdue", "overdue-90", "overdue-270", "c-grade"]
    assert d.fired_ids() == ["overdue", "overdue-90", "overdue-270", "c-grade", "base-spread"]


@pytest.mark.parametrize(("dpd", "category", "rule"), [
    (7, "normal", None), (8, "special_mention", "overdue"),
    (90, "special_mention", "overdue"), (91, "substandard", "overdue-90"),
    (270, "substandard", "overdue-90"), (271, "doubtful", "overdue-270"),
])
def test_band_edges_are_strict_as_written(book: DecisionBook, dpd: int, category: str, rule: str | None) -> None:
    d = decide(book, {"id": "l", "balance": 1, "dpd": dpd})
    assert d.value("category") == category
    assert d.outputs["category"].rules == ([rule] if rule else [])
    assert d.outputs["category"].by_default is (rule is None)


def test_numbers_combine_exactly(book: DecisionBook) -> None:
    # spread: sum of 1.25 + 0.505 - 0.3 = 1.455 exactly (binary floats give 1.4549999999999998), 2 places half-up
    d = decide(book, {"id": "l", "balance": 1000, "retail": True, "collateral_value": 600, "dpd": 300})
    assert d.value("spread") == Decimal("1.46")
    assert [c["rule"] for c in d.outputs["spread"].candidates] == ["base-spread", "retail-spread", "secured"]
    # limit: min(500, 600 * 0.8 = 480) = 480, the secured rule decides it
    assert d.value("limit") == Decimal("480")
    assert d.outputs["limit"].rules == ["secured"]
    # rate: max(0.25, 0.5); first_note: the first rule in file order that concluded one
    assert d.value("rate") == Decimal("0.5000")
    assert d.value("first_note") == Decimal("90.0000")
    assert d.outputs["first_note"].rules == ["overdue-90"]
    # flags: every concluded item once, in rule order
    assert d.value("flags") == ["overdue"]


def test_an_output_nobody_decides_takes_its_default_or_stays_undecided(book: DecisionBook) -> None:
    d = decide(book, {"id": "l", "balance": 1})
    assert d.value("category") == "normal" and d.outputs["category"].by_default
    assert d.value("limit") is None and d.outputs["limit"].by_default
    row = next(r for r in d.trace if r["rule"] == "decide.category")
    assert row["at"] == "tests/data/decisions/good.yaml:15"  # the default's line
    assert row["note"] == "no rule concluded a value: the default"


def test_a_value_computed_from_a_missing_input_makes_the_output_undefined(book: DecisionBook) -> None:
    # balance 0: cover = collateral_value / 0 is undefined, so `secured` does not fire (unknown never fires)
    d = decide(book, {"id": "l", "balance": 0, "collateral_value": 5, "retail": True})
    assert d.value("limit") == Decimal("500")
    assert d.metrics["cover"]["status"] == "undefined"


def test_trace_is_located_and_in_firing_order(book: DecisionBook) -> None:
    d = decide(book, {"id": "l", "balance": 100, "dpd": 91, "collateral_value": 80})
    kinds = [(r["kind"], r["rule"]) for r in d.trace]
    assert kinds[0] == ("metric", "metric.cover")
    rules = [r for r, k in ((r["rule"], r["kind"]) for r in d.trace) if k == "rule"]
    assert sorted(rules) == ["rule.base-spread", "rule.overdue", "rule.overdue-90", "rule.secured"]
    decides = [r["rule"] for r in d.trace if r["kind"] == "decide"]
    assert decides == ["decide.category", "decide.rate", "decide.spread", "decide.limit", "decide.first_note",
                       "decide.flags"]
    assert all(r["at"].startswith("tests/data/decisions/good.yaml:") for r in d.trace)
    row = next(r for r in d.trace if r["rule"] == "rule.secured")
    assert row["matched"] == {"cover": 0.8, "secured_share": 0.5}
    assert row["asserted"] == {"spread": -0.3, "limit": 64}


def test_same_facts_give_byte_identical_json(book: DecisionBook) -> None:
    facts = {"id": "l", "balance": 100, "dpd": 91, "grade": "C", "retail": True, "collateral_value": 80}
    a = json.dumps(decide(book, facts).to_dict(), sort_keys=True)
    b = json.dumps(decide(book, dict(reversed(list(facts.items())))).to_dict(), sort_keys=True)
    assert a == b


def test_same_result_in_a_fresh_process() -> None:
    code = ("import json,pingji;b=pingji.load_decision('tests/data/decisions/good.yaml');"
            "print(json.dumps(pingji.decide(b,{'id':'l','balance':100,'dpd':91}).to_dict(),sort_keys=True))")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
            for _ in range(2)]
    assert runs[0] == runs[1]
    assert json.loads(runs[0])["outputs"]["category"]["value"] == "substandard"


def test_bad_facts_are_refused_with_a_location(book: DecisionBook) -> None:
    with pytest.raises(FactsError) as info:
        decide(book, {"id": "l", "balance": -5, "dpd": "ninety"}, label="loans.yaml")
    assert [str(d) for d in info.value.diagnostics] == [
        "loans.yaml: error[E501]: balance: -5 is less than the minimum of 0",
        "loans.yaml: error[E501]: dpd: 'ninety' is not of type 'integer'",
    ]
    with pytest.raises(FactsError) as info:
        decide(book, {"id": "l", "balance": math.nan}, label="loans.yaml")
    assert "balance" in str(info.value) and "NaN" in str(info.value)
    with pytest.raises(FactsError):
        decide(book, ["not", "a", "mapping"])  # type: ignore[arg-type]


def test_an_exception_in_an_action_surfaces(book: DecisionBook, monkeypatch: pytest.MonkeyPatch) -> None:
    c = dc.compiled_decision(book)

    def boom(env: object) -> float:
        raise ZeroDivisionError("boom")

    monkeypatch.setitem(c.conclusion_fns, ("secured", 1), boom)
    with pytest.raises(EvaluationError) as info:
        decide(book, {"id": "l", "balance": 100, "collateral_value": 80})
    assert str(info.value) == ("tests/data/decisions/good.yaml:44:5: error[E601]: rule 'rule.secured' "
                               "(tests/data/decisions/good.yaml:44) failed in its action: ZeroDivisionError: boom")
    # the session was drained and deleted: the next run is fine
    assert decide(book, {"id": "l", "balance": 1}).value("category") == "normal"


def test_thousands_of_subjects_in_one_process_do_not_exhaust_sessions(book: DecisionBook) -> None:
    cats = [decide(book, {"id": str(i), "balance": 1, "dpd": i % 400}).value("category") for i in range(1200)]
    # dpd cycles 0..399 three times: 0-7 normal (8), 8-90 special mention (83), 91-270 substandard (180),
    # 271-399 doubtful (129)
    counts = {c: cats.count(c) for c in sorted(set(cats))}
    assert counts == {"doubtful": 387, "normal": 24, "special_mention": 249, "substandard": 540}
    assert cats[:9] == ["normal"] * 8 + ["special_mention"]
    assert cats[91] == "substandard" and cats[271] == "doubtful"


def _many_rules(tmp_path: Path, n: int) -> Path:
    (tmp_path / "loan.schema.json").write_text((ROOT / DATA / "loan.schema.json").read_text(), encoding="utf-8")
    rules = "\n".join(f"  - id: r{i}\n    when: dpd >= {i}\n    then: {{hits: 1}}" for i in range(n))
    path = tmp_path / "many.yaml"
    path.write_text(f"rulebook: many\nkind: monitoring\nfacts: loan\noutputs:\n  hits: {{type: number, combine: sum, "
                    f"default: 0}}\nrules:\n{rules}\n", encoding="utf-8")
    return path


def test_more_rules_than_one_fact_carries_are_spread_over_several(tmp_path: Path) -> None:
    # 120 rules true at once for one subject: one fact would fail with durable-rules error 303.
    book = load_decision(_many_rules(tmp_path, 120))
    assert len(dc.compiled_decision(book).chunks) == 3
    assert decide(book, {"id": "x", "balance": 1, "dpd": 500}).value("hits") == Decimal(120)
    assert decide(book, {"id": "x", "balance": 1, "dpd": 50}).value("hits") == Decimal(51)


def test_a_rulebook_past_the_engine_limit_is_refused_at_compile_time(tmp_path: Path) -> None:
    # counted before the schema check since issue 12.8 (E012): 7,000 rules took seconds to check first
    path = _many_rules(tmp_path, dc.MAX_RULES + 1)
    diags = check(path, run_examples=False)
    assert [d.code for d in diags] == ["E012"]
    assert diags[0].message == (f"rulebook defines {dc.MAX_RULES + 1} rules; pingji runs at most {dc.MAX_RULES} in one "
                                "decision rulebook (durable-rules hangs past about 512 conditions): split it")


# -- against a reference ---------------------------------------------------------------------------------


def _reference(dpd: int | None, grade: str | None) -> str:
    levels = ["normal", "special_mention", "substandard", "doubtful", "loss"]
    worst = 0
    if dpd is not None and dpd > 7:
        worst = max(worst, 1)
    if dpd is not None and dpd > 90:
        worst = max(worst, 2)
    if dpd is not None and dpd > 270:
        worst = max(worst, 3)
    if grade == "C":
        worst = max(worst, 1)
    return levels[worst]


@settings(max_examples=150, deadline=None)
@given(dpd=st.one_of(st.none(), st.integers(min_value=0, max_value=2000)),
       grade=st.one_of(st.none(), st.sampled_from(["A", "B", "C"])))
def test_categories_match_a_reference_implementation(dpd: int | None, grade: str | None) -> None:
    book = load_decision(ROOT / DATA / "good.yaml")
    facts: dict[str, object] = {"id": "p", "balance": 1}
    if dpd is not None:
        facts["dpd"] = dpd
    if grade is not None:
        facts["grade"] = grade
    assert decide(book, facts).value("category") == _reference(dpd, grade)


def test_public_api_exports() -> None:
    assert {"decide", "load_decision", "Decision", "DecisionBook"} <= set(pingji.__all__)
