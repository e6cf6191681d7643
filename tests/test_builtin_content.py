"""The built-in content: fact schemas, example customers, rulebook example lists, synthetic portfolios.

(Whether every rulebook checks clean and every example's expected grade holds is the engine's
test; this file checks the content on its own terms.)
"""

from __future__ import annotations

import itertools
import json
import re
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from pingji.batch import synthetic

ROOT = Path(__file__).resolve().parent.parent
FACTS = ROOT / "facts"
EXAMPLES = FACTS / "examples"
RULEBOOKS = ROOT / "rulebooks"
SCHEMA_NAMES = ("corporate", "individual", "small_business")
TITLE = re.compile(r"^\S.* / [A-Za-z].*$")


def _schema(name: str) -> dict[str, Any]:
    with open(FACTS / f"{name}.schema.json", encoding="utf-8") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


def _validator(name: str) -> jsonschema.Draft202012Validator:
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    return jsonschema.Draft202012Validator(_schema(name), format_checker=checker)


def _errors(facts: Any, name: str) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in _validator(name).iter_errors(facts)]


def _load_yaml(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _rulebook_files() -> list[Path]:
    """The rating rulebooks (decision rulebooks are checked in tests/test_builtin_rulebooks.py)."""
    return sorted(p for p in RULEBOOKS.glob("*.yaml") if _load_yaml(p).get("kind", "rating") == "rating")


def _example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.yaml"))


def _nodes(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property schema under `node`, with its dotted path (array items as `name[]`)."""
    for key, sub in (node.get("properties") or {}).items():
        here = f"{path}.{key}" if path else key
        yield here, sub
        yield from _nodes(sub, here)
        if isinstance(sub.get("items"), dict):
            yield from _nodes(sub["items"], here + "[]")


# --------------------------------------------------------------------------------------------------
# Fact schemas


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_fact_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = _schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_fact_schema_documents_every_field(name: str) -> None:
    """Every field has a bilingual title ("流动资产 / Current assets") and a description."""
    problems = []
    for path, node in _nodes(_schema(name)):
        if not TITLE.match(str(node.get("title", ""))):
            problems.append(f"{path}: title {node.get('title')!r} is not 'Chinese / English'")
        if not str(node.get("description", "")).strip():
            problems.append(f"{path}: no description")
    assert problems == []


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_fact_schema_objects_refuse_unknown_fields(name: str) -> None:
    schema = _schema(name)
    objects = [("(top)", schema)] + [(p, n) for p, n in _nodes(schema) if n.get("type") == "object"]
    objects += [(p + "[]", n["items"]) for p, n in _nodes(schema) if isinstance(n.get("items"), dict)]
    assert [p for p, n in objects if n.get("additionalProperties") is not False] == []


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_absent_null_and_zero_are_distinct_and_all_allowed(name: str) -> None:
    """An optional amount may be absent, null (both: missing) or 0, and each is valid."""
    base = {"customer_type": name, "id": "X-1", "as_of": "2026-04-30"}
    for value in (None, 0, 1000):
        assert _errors({**base, "exposure": value}, name) == []
    assert _errors(base, name) == []
    assert _errors({**base, "exposure": "1000"}, name) != []  # a string is not an amount
    assert _errors({**base, "exposure": -1}, name) != []


def test_corporate_schema_has_the_layout_rulebooks_address() -> None:
    paths = {p for p, _ in _nodes(_schema("corporate"))}
    for needed in ("financials.current.current_assets", "financials.previous.revenue",
                   "financials.current.statement_date", "credit.days_past_due", "credit.fraud_flag",
                   "collateral[].value", "collateral[].haircut",
                   "guarantees[].strength", "support.strong_guarantee", "assessments[].level", "exposure",
                   "identity.industry.section", "identity.industry.division", "as_of"):
        assert needed in paths, needed


def test_dates_are_checked_as_dates() -> None:
    base = {"customer_type": "corporate", "id": "X-1"}
    assert _errors({**base, "as_of": "2026-04-30"}, "corporate") == []
    assert _errors({**base, "as_of": "2026-02-30"}, "corporate") != []
    assert _errors({**base, "as_of": "30/04/2026"}, "corporate") != []


# --------------------------------------------------------------------------------------------------
# Example customers


def test_there_are_example_customers() -> None:
    assert len(_example_files()) >= 50


@pytest.mark.parametrize("path", _example_files(), ids=lambda p: p.name)
def test_example_customer_matches_its_schema(path: Path) -> None:
    facts = _load_yaml(path)
    assert isinstance(facts, dict)
    kind = facts.get("customer_type")
    assert kind in SCHEMA_NAMES, f"{path.name}: customer_type {kind!r}"
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == f"# yaml-language-server: $schema=../{kind}.schema.json", "editor schema comment"
    assert _errors(facts, kind) == []


@pytest.mark.parametrize("path", _example_files(), ids=lambda p: p.name)
def test_example_customer_balance_sheet_adds_up(path: Path) -> None:
    """Realistic figures: assets = liabilities + equity; parts within their wholes."""
    facts = _load_yaml(path)
    for period, st in (facts.get("financials") or {}).items():
        where = f"{path.name} {period}"
        assert st["total_assets"] == st["total_liabilities"] + st["equity"], where
        parts = st["cash"] + st["receivables"] + st["inventory"]
        assert parts <= st["current_assets"] <= st["total_assets"], where
        assert st["current_liabilities"] <= st["total_liabilities"], where
        assert st["total_debt"] <= st["total_liabilities"], where
        assert st["ebitda"] >= st["ebit"], where


@pytest.mark.parametrize("path", _example_files(), ids=lambda p: p.name)
def test_example_customer_shows_its_arithmetic(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert re.search(r"^# total = .* -> \d+\.\d\d$", text, re.M), "the header comment works out the total"
    assert re.search(r"^# final grade \S+", text, re.M)


def _rulebook_examples() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for rb in _rulebook_files():
        for ex in _load_yaml(rb).get("examples") or []:
            out.append((rb.stem, ex))
    return out


@pytest.mark.parametrize("path", _rulebook_files(), ids=lambda p: p.stem)
def test_rulebook_has_at_least_six_examples_with_expectations(path: Path) -> None:
    examples = _load_yaml(path).get("examples") or []
    assert len(examples) >= 6
    grades = set()
    for ex in examples:
        assert {"grade", "total", "overrides"} <= set(ex["expect"]), ex["name"]
        grades.add(ex["expect"]["grade"])
        target = (path.parent / ex["facts"]).resolve()
        assert target.is_file(), ex["facts"]
    assert len(grades) >= 3, f"A, B and C cases (got {sorted(grades)})"


def test_every_example_customer_is_used_by_a_rulebook_and_matches_its_facts_schema() -> None:
    used: dict[Path, str] = {}
    for rb_id, ex in _rulebook_examples():
        rb = _load_yaml(RULEBOOKS / f"{rb_id}.yaml")
        schema = rb.get("facts", "corporate")
        if "extends" in rb and "facts" not in rb:
            schema = _load_yaml(RULEBOOKS / f"{rb['extends']}.yaml").get("facts", "corporate")
        path = (RULEBOOKS / ex["facts"]).resolve()
        assert _load_yaml(path)["customer_type"] == schema, f"{rb_id}: {path.name}"
        used[path] = rb_id
    orphans = [p.name for p in _example_files() if p.resolve() not in used]
    assert orphans == []


def test_every_override_of_every_rulebook_fires_in_some_example() -> None:
    fired: dict[str, set[str]] = {}
    for rb_id, ex in _rulebook_examples():
        fired.setdefault(rb_id, set()).update(ex["expect"].get("overrides") or [])
    base_overrides = {o["id"] for o in _load_yaml(RULEBOOKS / "corporate.yaml")["overrides"]}
    assert base_overrides <= fired["corporate"]
    for rb in _rulebook_files():
        own = {o["id"] for o in _load_yaml(rb).get("overrides") or []}
        assert own <= fired.get(rb.stem, set()), rb.stem


def test_source_material_worked_case_is_grade_a() -> None:
    """The machinery manufacturer of the source material: division 34/35, rated A (coarse)."""
    facts = _load_yaml(EXAMPLES / "machinery-a.yaml")
    assert facts["identity"]["industry"]["section"] == "C"
    assert facts["identity"]["industry"]["division"] in ("34", "35")
    assert facts["identity"]["size"] == "medium"
    rb = _load_yaml(RULEBOOKS / "manufacturing.yaml")
    (ex,) = [e for e in rb["examples"] if e["facts"].endswith("/machinery-a.yaml")]
    coarse = {g["grade"]: g.get("coarse") for g in rb["scale"]["grades"]}
    assert coarse[ex["expect"]["grade"]] == "A"


# --------------------------------------------------------------------------------------------------
# Synthetic portfolios


@pytest.mark.parametrize("kind", SCHEMA_NAMES)
def test_synthetic_customers_are_schema_valid(kind: str) -> None:
    validator = _validator(kind)
    for facts in synthetic.generate(kind, 500, seed=20260101):
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                    for e in validator.iter_errors(facts)]
        assert problems == [], facts["id"]


@pytest.mark.parametrize("kind", SCHEMA_NAMES)
def test_synthetic_portfolio_is_reproducible(kind: str) -> None:
    def dump(seed: int, n: int) -> list[str]:
        return [json.dumps(f, sort_keys=True, ensure_ascii=False) for f in synthetic.generate(kind, n, seed)]

    first = dump(7, 500)
    assert first == dump(7, 500)
    assert dump(7, 120) == first[:120]  # a prefix of a bigger portfolio is the smaller portfolio
    assert first != dump(8, 500)
    assert len({json.loads(x)["id"] for x in first}) == 500


def test_synthetic_generators_stream() -> None:
    gen = synthetic.generate_corporate(10**9, seed=1)  # would never fit in memory as a list
    assert iter(gen) is gen
    first = list(itertools.islice(gen, 3))
    assert [f["id"] for f in first] == ["SYN-C-0000001", "SYN-C-0000002", "SYN-C-0000003"]
    assert next(synthetic.generate_individual(1, seed=1))["customer_type"] == "individual"
    assert next(synthetic.generate_small_business(1, seed=1))["customer_type"] == "small_business"


def test_synthetic_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        next(synthetic.generate("retail", 1))
    with pytest.raises(ValueError, match="n must be an integer"):
        next(synthetic.generate("corporate", -1))


def test_synthetic_ratios_move_together() -> None:
    """One latent quality drives the ratios: late payers are more leveraged and less profitable."""
    clean, late = [], []
    for f in synthetic.generate_corporate(3000, seed=3):
        st = (f.get("financials") or {}).get("current")
        worst = f["credit"]["worst_days_past_due_24m"]
        if not st or not st["total_assets"] or not st["revenue"] or worst is None:
            continue
        row = (st["total_liabilities"] / st["total_assets"], st["net_income"] / st["revenue"],
               statistics.mean(a["level"] for a in f["assessments"]) if f["assessments"] else None)
        (clean if worst == 0 else late if worst > 30 else []).append(row)
    assert len(late) >= 50
    assert statistics.mean(r[0] for r in late) > statistics.mean(r[0] for r in clean) + 0.05
    assert statistics.mean(r[1] for r in late) < statistics.mean(r[1] for r in clean)
    lv_late = [r[2] for r in late if r[2] is not None]
    lv_clean = [r[2] for r in clean if r[2] is not None]
    assert statistics.mean(lv_late) < statistics.mean(lv_clean) - 0.5


def test_synthetic_portfolio_exercises_missing_and_undefined_paths() -> None:
    customers = list(synthetic.generate_corporate(2000, seed=5))
    no_previous = [f for f in customers if "financials" in f and "previous" not in f["financials"]]
    no_statements = [f for f in customers if "financials" not in f]
    zero_revenue = [f for f in customers if "financials" in f and f["financials"]["current"]["revenue"] == 0]
    negative_equity = [f for f in customers if "financials" in f and f["financials"]["current"]["equity"] < 0]
    overdue = [f for f in customers if f["credit"]["days_past_due"] > 90]
    for group in (no_previous, no_statements, zero_revenue, negative_equity, overdue):
        assert group


def test_synthetic_command_writes_json_lines(tmp_path: Path) -> None:
    out = tmp_path / "book.jsonl"
    assert synthetic.main(["individual", "-n", "5", "--seed", "2", "-o", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5
    assert [json.loads(x) for x in lines] == list(synthetic.generate_individual(5, seed=2))


# --------------------------------------------------------------------------------------------------
# rulebooks/README.md: the table of rulebooks, factors and weights, generated from the rulebooks

README = RULEBOOKS / "README.md"
BEGIN, END = "<!-- rulebook-table:begin -->", "<!-- rulebook-table:end -->"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def render_rulebook_table() -> str:
    """The Markdown table of every built-in rulebook, resolved (after `extends`) by the engine."""
    import pingji

    rows = ["| rulebook | applies to | scale | group (weight) | factors (weight within the group) |",
            "|---|---|---|---|---|"]
    for path in _rulebook_files():
        rb = pingji.load_rulebook(path)
        applies = rb.applies_to.get("customer_type", "")
        industries = rb.applies_to.get("industry") or []
        if industries:
            applies += f", GB/T 4754 {' '.join(industries)}"
        elif applies != "individual":
            applies += ", any industry"
        assert rb.scale is not None
        scale = " ".join(g.grade for g in rb.scale.grades)
        if rb.scale.coarse:
            scale += " → " + "/".join(c.grade for c in rb.scale.coarse)
        parent = f" (extends `{_load_yaml(path)['extends']}`)" if "extends" in _load_yaml(path) else ""
        for i, g in enumerate(rb.groups):
            factors = ", ".join(f"{f.id} {_num(f.weight)}" for f in rb.factors if f.group == g.id)
            head = (f"`{rb.id}` {rb.title.zh}{parent}", applies, scale) if i == 0 else ("", "", "")
            rows.append(f"| {head[0]} | {head[1]} | {head[2]} | {g.id} {_num(g.weight)} | {factors} |")
    return "\n".join(rows) + "\n"


def test_rulebook_readme_table_is_current() -> None:
    """rulebooks/README.md lists every rulebook's factors and weights; regenerate it with
    `python tests/test_builtin_content.py` and paste the table between the markers."""
    text = README.read_text(encoding="utf-8")
    current = text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip("\n") + "\n"
    assert current == render_rulebook_table()


if __name__ == "__main__":
    print(render_rulebook_table(), end="")


def test_synthetic_outcomes_are_seeded_and_leave_the_customers_alone(tmp_path: Path) -> None:
    """`--outcomes` writes a default per customer from its latent quality, on its own random stream."""
    assert synthetic.main(["corporate", "-n", "2000", "--seed", "7", "-o", str(tmp_path / "a.jsonl")]) == 0
    assert synthetic.main(["corporate", "-n", "2000", "--seed", "7", "-o", str(tmp_path / "b.jsonl"),
                           "--outcomes", str(tmp_path / "d.csv")]) == 0
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    rows = (tmp_path / "d.csv").read_text("utf-8").splitlines()
    assert rows[0] == "customer_id,defaulted,default_date" and rows[1] == "SYN-C-0000001,false," and len(rows) == 2001
    assert sum(",true," in r for r in rows) == 51
    # weak customers default more often than strong ones
    pairs = list(synthetic.generate_with_quality("corporate", 2000, 7))
    weak = {f["id"] for f, q in pairs if q < -1}
    bad = {r.split(",")[0] for r in rows[1:] if ",true," in r}
    assert len(bad & weak) / len(bad) > 3 * len(weak) / len(pairs)
    assert synthetic.default_probability(0.0) == pytest.approx(0.017986, abs=1e-6)
