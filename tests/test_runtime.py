"""Guards around durable-rules' sharp edges (see ../shared/DURABLE_RULES.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import pingji
from pingji.errors import EngineLimitError, RulebookError
from pingji.rating.run import compiled_for
from pingji.runtime import ruleset as runtime

BOOKS = Path(__file__).parent / "data" / "books"


@pytest.fixture(scope="module")
def mini():
    return pingji.load_rulebook(BOOKS / "mini.yaml")


def test_every_session_is_deleted_so_more_than_1024_evaluations_never_crash(mini):
    rs = runtime.ruleset_for(compiled_for(mini))
    for i in range(1500):
        pingji.evaluate(mini, {"id": str(i), "fin": {"revenue": i + 1, "net_income": i}})
    assert rs.live == 0


def test_the_live_session_guard_refuses_before_the_engine_would_crash(mini, monkeypatch):
    rs = runtime.ruleset_for(compiled_for(mini))
    monkeypatch.setattr(rs, "live", runtime.MAX_LIVE_SESSIONS)
    with pytest.raises(EngineLimitError) as exc:
        pingji.evaluate(mini, {"id": "x"})
    assert "sessions are live on ruleset" in str(exc.value)
    assert "error[E190]" in str(exc.value)


def test_a_ruleset_is_registered_once_per_rulebook_version(mini):
    a = runtime.ruleset_for(compiled_for(mini))
    b = runtime.ruleset_for(compiled_for(pingji.load_rulebook(BOOKS / "mini.yaml")))
    assert a is b


def test_facts_sent_to_the_engine_are_narrow(mini):
    compiled = compiled_for(mini)
    widest = max(len(r["all"]) for r in compiled.ruleset.values())
    assert widest <= 8  # group and total joins: one pattern per member
    assert compiled.condition_count < 512


def _book(tmp_path: Path, overrides: str) -> Path:
    text = (BOOKS / "mini.yaml").read_text(encoding="utf-8")
    head = text.split("overrides:")[0]
    p = tmp_path / "ov.yaml"
    shutil.copy(BOOKS / "mini.schema.json", tmp_path)  # a rulebook reads files in its own folder
    p.write_text(head + "overrides:\n" + overrides, encoding="utf-8")
    return p


def test_too_many_overrides_for_one_fact_are_refused(tmp_path):
    many = "".join(f"  - {{id: o{i}, when: 'fin.revenue > {i}', then: {{notch: -1}}, reason: r{i}}}\n"
                   for i in range(60))
    diags = [str(d) for d in pingji.check(_book(tmp_path, many))]
    assert any("error[E190]: rulebook has 60 overrides; the engine handles at most 48" in d for d in diags), diags


def test_an_override_looking_at_too_many_values_is_refused(tmp_path):
    cond = " or ".join(f"fin.revenue * {i} > fin.net_income" for i in range(1, 70))
    diags = [str(d) for d in pingji.check(_book(tmp_path, f"  - {{id: wide, when: '{cond}', then: {{notch: -1}}, "
                                                               f"reason: r}}\n"))]
    assert any("error[E190]: override 'wide' looks at 69 values; the limit is 64" in d for d in diags), diags


def test_load_rulebook_compiles_so_a_book_past_the_limits_never_reaches_evaluate(tmp_path):
    many = "".join(f"  - {{id: o{i}, when: 'fin.revenue > {i}', then: {{notch: -1}}, reason: r{i}}}\n"
                   for i in range(60))
    with pytest.raises(EngineLimitError) as exc:
        pingji.load_rulebook(_book(tmp_path, many))
    assert exc.value.code == "E190"
    assert isinstance(exc.value, RulebookError)


def test_a_group_wider_than_the_engine_joins_is_refused_at_check_time(tmp_path):
    shutil.copy(BOOKS / "mini.schema.json", tmp_path)  # a rulebook reads files in its own folder
    # durable-rules fails at run time (error 307) on a join of 17 facts: a group's rule joins its factors.
    factors = "".join(f"  f{i}: {{group: g, weight: {4 if i == 16 else 6}, metric: m, bands: [{{points: 50}}], "
                      f"undefined: 0, missing: 0}}\n" for i in range(17))
    (tmp_path / "wide.yaml").write_text(
        "rulebook: wide\nkind: rating\nfacts: mini.schema.json\n"
        "metrics:\n  m: {expr: fin.revenue}\ngroups:\n  g: {weight: 100}\nfactors:\n" + factors
        + "scale:\n  grades:\n    - {grade: A, from: 50}\n    - {grade: C}\n", encoding="utf-8")
    diags = [str(d) for d in pingji.check(tmp_path / "wide.yaml")]
    assert diags == [f"{tmp_path / 'wide.yaml'}:7:3: error[E190]: group 'g' has 17 factors; durable-rules joins "
                     f"at most 16 facts in one rule (split it)"], diags

_NOTHING_HANDLED = """
import pingji
from pingji.runtime import ruleset as runtime
from pingji.rating.run import compiled_for
rs = runtime.Ruleset(compiled_for(pingji.load_rulebook("tests/data/books/mini.yaml")))
for i in range(3000):
    churn = [str(j) * 50 for j in range(200)]
    rs.run([{"t": "unmatched", "f": "x", "v": 1.0} for _ in range(12)], lambda spec, matched: [])
print("survived")
"""


def test_a_session_in_which_no_fact_matches_is_deleted_without_crashing():
    # Regression: durable-rules segfaults in delete_state when no fact of the session was ever
    # handled; every session now starts with a fact its own rule matches. Run in a subprocess so a
    # regression shows as a crash of that process, not of the test run.
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", _NOTHING_HANDLED], cwd=root, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(root)}, timeout=120)
    assert (out.returncode, out.stdout.strip()) == (0, "survived"), out.stderr[-500:]


def test_an_error_from_the_c_engine_drains_the_agenda_and_becomes_an_evaluation_error(mini, monkeypatch):
    # The C engine raises its own error for refused facts (e.g. error 303). Facts asserted before
    # the refusal may already have activated rules; deleting the session with those actions
    # pending would crash, so the runtime drains them first.
    import json

    from pingji.errors import EvaluationError

    real = runtime._dre.assert_facts

    def refuse_after_the_first_facts(handle, text):
        facts = json.loads(text)
        real(handle, json.dumps(facts[: len(facts) // 2]))
        raise runtime._dre.error("Could not assert facts, error code: 303")

    rs = runtime.ruleset_for(compiled_for(mini))
    monkeypatch.setattr(runtime._dre, "assert_facts", refuse_after_the_first_facts)
    with pytest.raises(EvaluationError) as exc:
        pingji.evaluate(mini, {"id": "x"})
    assert str(exc.value) == ("error[E605]: durable-rules refused the facts: Could not assert facts, "
                              "error code: 303")
    monkeypatch.undo()
    assert rs.live == 0
    assert pingji.evaluate(mini, {"id": "after"}).final_grade == "C"


@pytest.mark.parametrize("call", ["start_action_for_state", "complete_and_start_action"])
def test_issue12_every_call_into_the_c_engine_is_guarded(mini, monkeypatch, call):
    """A C error while starting or completing an action (error 307 of a too-wide join, say) drains the
    agenda, deletes the session and becomes E605; the next evaluation runs as usual."""
    from pingji.errors import EvaluationError

    real = getattr(runtime._dre, call)
    calls = []

    def fail_on_the_second_call(*args):
        calls.append(args)
        if len(calls) == 2:
            raise runtime._dre.error("Could not start action, error code: 307")
        return real(*args)

    rs = runtime.ruleset_for(compiled_for(mini))
    monkeypatch.setattr(runtime._dre, call, fail_on_the_second_call)
    with pytest.raises(EvaluationError) as exc:
        pingji.evaluate(mini, {"id": "x"})
    assert str(exc.value) == ("error[E605]: durable-rules failed while firing the rules: Could not start action, "
                              "error code: 307")
    monkeypatch.undo()
    assert rs.live == 0
    assert pingji.evaluate(mini, {"id": "after"}).final_grade == "C"
