"""Guards around durable-rules' sharp edges (see ../shared/DURABLE_RULES.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine
from engine import runtime
from engine.errors import EngineLimitError, RulebookError
from engine.evaluation import compiled_for

BOOKS = Path(__file__).parent / "data" / "books"


@pytest.fixture(scope="module")
def mini():
    return engine.load_rulebook(BOOKS / "mini.yaml")


def test_every_session_is_deleted_so_more_than_1024_evaluations_never_crash(mini):
    rs = runtime.ruleset_for(compiled_for(mini))
    for i in range(1500):
        engine.evaluate(mini, {"id": str(i), "fin": {"revenue": i + 1, "net_income": i}})
    assert rs.live == 0


def test_the_live_session_guard_refuses_before_the_engine_would_crash(mini, monkeypatch):
    rs = runtime.ruleset_for(compiled_for(mini))
    monkeypatch.setattr(rs, "live", runtime.MAX_LIVE_SESSIONS)
    with pytest.raises(EngineLimitError) as exc:
        engine.evaluate(mini, {"id": "x"})
    assert "sessions are live on ruleset" in str(exc.value)
    assert "error[E190]" in str(exc.value)


def test_a_ruleset_is_registered_once_per_rulebook_version(mini):
    a = runtime.ruleset_for(compiled_for(mini))
    b = runtime.ruleset_for(compiled_for(engine.load_rulebook(BOOKS / "mini.yaml")))
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
    p.write_text(head.replace("facts: mini.schema.json", f"facts: {BOOKS / 'mini.schema.json'}")
                 + "overrides:\n" + overrides, encoding="utf-8")
    return p


def test_too_many_overrides_for_one_fact_are_refused(tmp_path):
    many = "".join(f"  - {{id: o{i}, when: 'fin.revenue > {i}', then: {{notch: -1}}, reason: r{i}}}\n"
                   for i in range(60))
    diags = [str(d) for d in engine.check(_book(tmp_path, many))]
    assert any("error[E190]: rulebook has 60 overrides; the engine handles at most 48" in d for d in diags), diags


def test_an_override_looking_at_too_many_values_is_refused(tmp_path):
    cond = " or ".join(f"fin.revenue * {i} > fin.net_income" for i in range(1, 70))
    diags = [str(d) for d in engine.check(_book(tmp_path, f"  - {{id: wide, when: '{cond}', then: {{notch: -1}}, "
                                                               f"reason: r}}\n"))]
    assert any("error[E190]: override 'wide' looks at 69 values; the limit is 64" in d for d in diags), diags


def test_load_rulebook_does_not_compile_but_evaluate_refuses_a_book_past_the_limits(tmp_path):
    many = "".join(f"  - {{id: o{i}, when: 'fin.revenue > {i}', then: {{notch: -1}}, reason: r{i}}}\n"
                   for i in range(60))
    rb = engine.load_rulebook(_book(tmp_path, many))
    with pytest.raises(RulebookError) as exc:
        engine.evaluate(rb, {"id": "x"})
    assert exc.value.code == "E190"
