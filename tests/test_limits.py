"""Every durable-rules limit (../shared/DURABLE_RULES.md, pingji.runtime.limits): a rulebook just under
it loads and rates; one just over is refused by `pingji check` and by `load_rulebook` with a located
E190, and a batch refuses it before its first record (nothing stored).

The rulebooks are generated over tests/data/books/mini.schema.json.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import pingji
from pingji.cli.main import cli
from pingji.errors import EngineLimitError
from pingji.rating.run import compiled_for
from pingji.runtime import limits
from pingji.store import Store

BOOKS = Path(__file__).parent / "data" / "books"
CUSTOMER = {"id": "c1", "fin": {"revenue": 5.0, "net_income": 1.0}}


def _split(total: int, n: int) -> list[int]:
    """n whole weights adding up to `total`."""
    base, extra = divmod(total, n)
    return [base + (1 if i < extra else 0) for i in range(n)]


def _bands(n: int) -> str:
    if n == 1:
        return "[{points: 50}]"
    cuts = [{"to": 1, "points": 0}] + [{"from": j, "to": j + 1, "points": j} for j in range(1, n - 1)]
    cuts.append({"from": n - 1, "points": 100})
    return json.dumps(cuts)


def book(tmp_path: Path, groups: list[int], bands: list[int] | None = None, overrides: list[int] = (),
         name: str = "gen") -> Path:
    """A rating rulebook: groups[i] factors in group i, factor k with bands[k] bands (1 by default),
    and one override per entry of `overrides`, looking at that many values."""
    n_factors = sum(groups)
    bands = bands or [1] * n_factors
    lines = [f"rulebook: {name}", "kind: rating", "facts: mini.schema.json",
             "metrics:", "  m: {expr: fin.revenue}", "groups:"]
    lines += [f"  g{i}: {{weight: {w}}}" for i, w in enumerate(_split(100, len(groups)))]
    lines.append("factors:")
    k = 0
    for i, size in enumerate(groups):
        for w in _split(100, size):
            lines.append(f"  f{k}: {{group: g{i}, weight: {w}, metric: m, direction: increasing, "
                         f"bands: {_bands(bands[k])}, undefined: 0, missing: 0}}")
            k += 1
    lines += ["scale:", "  grades:", "    - {grade: A, from: 50}", "    - {grade: C}"]
    if overrides:
        lines.append("overrides:")
        for o, terms in enumerate(overrides):
            cond = " or ".join(f"fin.revenue * {j} > fin.net_income + {o}" for j in range(1, terms + 1))
            lines.append(f"  - {{id: o{o}, when: '{cond}', then: {{notch: -1}}, reason: r{o}}}")
    shutil.copy(BOOKS / "mini.schema.json", tmp_path)  # a rulebook reads files in its own folder
    p = tmp_path / f"{name}.yaml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def runs(path: Path) -> pingji.Evaluation:
    """The rulebook checks without an error, loads, and rates a customer."""
    errors = [str(d) for d in pingji.check(path) if d.is_error]
    assert errors == []
    return pingji.evaluate(pingji.load_rulebook(path), CUSTOMER)


def refused(path: Path) -> str:
    """The one E190 that check gives, the same that load_rulebook raises."""
    diags = [d for d in pingji.check(path) if d.is_error]
    assert [d.code for d in diags] == ["E190"], [str(d) for d in diags]
    with pytest.raises(EngineLimitError) as exc:
        pingji.load_rulebook(path)
    assert str(exc.value) == str(diags[0])
    return str(diags[0])


def test_a_group_joins_at_most_16_factors(tmp_path):
    assert limits.MAX_JOIN == 16
    ev = runs(book(tmp_path, [16], name="g16"))
    assert ev.final_grade == "A" and ev.total == 50.0
    p = book(tmp_path, [17], name="g17")
    assert refused(p) == (f"{p}:7:3: error[E190]: group 'g0' has 17 factors; durable-rules joins at most 16 facts "
                          f"in one rule (split it)")


def test_the_total_joins_at_most_16_groups(tmp_path):
    assert runs(book(tmp_path, [1] * 16, name="t16")).final_grade == "A"
    msg = refused(book(tmp_path, [1] * 17, name="t17"))
    assert "error[E190]: " in msg and "17 groups" in msg and "at most 16" in msg


def test_conditions_stop_at_440_well_before_the_hang_at_512(tmp_path):
    # 40 factors in 4 groups; the bands are tuned so the ruleset has exactly MAX_CONDITIONS conditions.
    under = book(tmp_path, [10] * 4, [8] * 30 + [7] * 10, name="c440")
    rb = pingji.load_rulebook(under)
    assert compiled_for(rb).condition_count == limits.MAX_CONDITIONS == 440
    assert runs(under).final_grade in ("A", "C")
    over = book(tmp_path, [10] * 4, [8] * 31 + [7] * 9, name="c441")
    msg = refused(over)
    assert msg.endswith("with 441 conditions; durable-rules hangs past about 512 conditions, so pingji refuses "
                        "more than 440 (split the rulebook or merge bands)"), msg


def test_at_most_48_overrides_match_the_model_grade(tmp_path):
    ev = runs(book(tmp_path, [1], overrides=[1] * 48, name="o48"))
    assert ev.final_grade == "C"  # every override notches down; C is the floor
    msg = refused(book(tmp_path, [1], overrides=[1] * 49, name="o49"))
    assert "o49.yaml:63:5: error[E190]: rulebook has 49 overrides; the engine handles at most 48" in msg


def test_an_override_looks_at_most_at_64_values(tmp_path):
    assert runs(book(tmp_path, [1], overrides=[64], name="w64")).final_grade == "C"
    msg = refused(book(tmp_path, [1], overrides=[65], name="w65"))
    assert "error[E190]: override 'o0' looks at 65 values; the limit is 64" in msg


def test_the_overrides_together_look_at_most_at_64_values(tmp_path):
    # Every value holds for CUSTOMER: 64 conditions true at once on the override fact still run.
    assert runs(book(tmp_path, [1], overrides=[32, 32], name="f64")).final_grade == "C"
    assert runs(book(tmp_path, [1], overrides=[17] + [1] * 47, name="f64b")).final_grade == "C"
    msg = refused(book(tmp_path, [1], overrides=[33, 32], name="f65"))
    assert msg.endswith("error[E190]: the overrides look at 65 values in all; the engine takes at most 64 (they are "
                        "tested on one fact, and more conditions holding at once on one fact fail with error 303)"), msg


def test_a_batch_refuses_a_rulebook_past_a_limit_before_its_first_record(tmp_path):
    p = book(tmp_path, [17], name="wide")
    portfolio = tmp_path / "p.jsonl"
    portfolio.write_text("".join(json.dumps({**CUSTOMER, "id": f"c{i}"}) + "\n" for i in range(5)), "utf-8")
    db = tmp_path / "b.db"
    r = CliRunner().invoke(cli, ["batch", str(portfolio), "--rulebook", str(p), "--db", str(db), "--workers", "1"])
    assert r.exit_code == 1, r.output
    assert "error[E190]: group 'g0' has 17 factors" in r.output
    if db.exists():
        with Store.open(db, create=False) as store:
            assert store.count("evaluations") == 0


# Decision rulebooks: the rules' conditions are spread over facts, each looking at most at 64 values.

def decision_book(tmp_path: Path, rules: list[int], name: str = "dgen") -> Path:
    lines = [f"rulebook: {name}", "kind: classification", "facts: loan.schema.json", "outputs:",
             "  category: {levels: [normal, special_mention], combine: worst, default: normal}", "rules:"]
    for k, terms in enumerate(rules):
        cond = " or ".join(f"balance * {j} > dpd + {k}" for j in range(1, terms + 1))
        lines.append(f"  - {{id: r{k}, when: '{cond}', then: {{category: special_mention}}}}")
    shutil.copy(DECISIONS / "loan.schema.json", tmp_path)
    p = tmp_path / f"{name}.yaml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


DECISIONS = Path(__file__).parent / "data" / "decisions"
LOAN = {"id": "l1", "balance": 100, "dpd": 1}  # every value of every rule holds


@pytest.mark.parametrize("rules", [pytest.param([64], id="one rule, 64 values"),
                                   pytest.param([32, 32], id="two rules, 64 values"),
                                   pytest.param([1] * 39 + [26], id="40 rules, 65 values: two facts")])
def test_decision_rules_spread_their_values_so_each_fact_holds_at_most_64(tmp_path, rules):
    assert limits.DECISION_TERMS_PER_FACT == 64
    p = decision_book(tmp_path, rules)
    assert [d for d in pingji.check(p) if d.is_error] == []
    assert pingji.decide(pingji.load_decision(p), LOAN).value("category") == "special_mention"


def test_a_decision_rule_looking_at_65_values_is_refused(tmp_path):
    p = decision_book(tmp_path, [65], name="d65")
    diags = [str(d) for d in pingji.check(p) if d.is_error]
    assert diags == [f"{p}:7:20: error[E190]: rule 'r0' looks at 65 values; the limit is 64"]
    with pytest.raises(EngineLimitError):
        pingji.load_decision(p)
