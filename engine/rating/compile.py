"""Compile a resolved rulebook into a durable-rules ruleset and a table of actions. Pure: no engine import.

The facts a session sees are narrow, one per thing known. What a fact is about is in the *names*
of its fields: a kind marker (`in`, `fs`, …) and a field named after the factor or group
(`in_roa`, `fs_roa`), never in a shared `type` field. durable-rules finds the conditions to test
on a fact by field name (its alpha network hashes children by the name they test), then tests
every condition on that name; with `{t: in, f: roa, v}` facts every fact was tested against the
condition on `t` of every kind and then on `f` of every factor — about half of the C engine's
time. Now a fact meets its kind's marker (one test), its own field's `$ex` (one test), then only
the conditions about that one factor. Every rule's first condition on such a fact is therefore
`kind == 1`, then `$ex <kind>_<id>`, then its own tests.

| fact | meaning | asserted by |
|---|---|---|
| `{in: 1, in_<factor>: v}` / `{st: 1, st_<factor>: missing|undefined|other}` | the input of a factor | the run, from the metrics or facts its scoring method reads |
| `{as: 1, as_<factor>: level, a[, z: 1]}` | one expert's assessment of a qualitative factor; the last carries `z` | the run |
| `{oi: 1, o0x0, o0x1, o1x0, …}` | the values the overrides' conditions look at (one fact) | the run |
| `{fs: 1, fs_<factor>: points}` | a factor's points | its scoring method's rules (rating.methods) |
| `{gs: 1, gs_<group>: subtotal}` | a group's subtotal | group rules (join of their factors' scores) |
| `{tot: v}` | the total score | the total rule (join of the groups) |
| `{mg: grade, i}` | the model grade | grade rules (one per grade) |
| `{fg: grade, i}` | the final grade | the final rule, after every override rule |

Ids are `[a-z][a-z0-9_]*`, so the prefixed names cannot collide with each other or with the fixed
ones; the engine tells field names apart by their 32-bit FNV-1a hash alone, so the compiler also
refuses a rulebook in which two field names hash alike.

Rule priorities (`pri`, lower fires first): scoring and grading 0; level rules 0 and the
aggregate rule 1 (it matches the last assessment, so it fires after every level rule); override rules 1; the final rule 2. Every rule's action is a small function in
`actions` that records a trace row and returns the facts it concludes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pingji.diagnostics import error
from pingji.errors import EngineLimitError
from pingji.lang import expressions as ex
from pingji.lang.conditions import CompiledCondition, compile_condition
from pingji.rating.methods import method_of
from pingji.rating.methods.base import about, range_tests
from pingji.rating.model import Metric, Override, Rulebook
from pingji.runtime.limits import (
    MAX_CONDITION_TERMS,
    MAX_CONDITIONS,
    MAX_JOIN,
    MAX_OVERRIDE_FIELDS,
    MAX_OVERRIDES,
    MAX_RULES,
)
from pingji.runtime.spec import SESSION_FACT, SESSION_PATTERN, SESSION_RULE, RuleSpec

# RuleSpec and the session rule are re-exported for decision rulebooks (decisions.book).
__all__ = ["SESSION_PATTERN", "SESSION_RULE", "CompiledRulebook", "MetricPlan", "OverridePlan", "RuleSpec",
           "compile_rulebook"]


@dataclass(frozen=True)
class MetricPlan:
    metric: Metric
    fn: Callable[[Any], Any]
    inputs: tuple[str, ...]  # the names the expression reads, sorted
    where: str


@dataclass(frozen=True)
class OverridePlan:
    override: Override
    condition: CompiledCondition


@dataclass
class CompiledRulebook:
    rulebook: Rulebook
    ruleset: dict[str, Any]
    rules: dict[str, RuleSpec]
    metrics: tuple[MetricPlan, ...]
    overrides: tuple[OverridePlan, ...]
    condition_count: int
    extra: dict[str, Any] = field(default_factory=dict)


KINDS = ("in", "st", "as", "fs", "gs")  # the facts about one factor or group: kind marker + `<kind>_<id>`


def _fnv1a32(name: str) -> int:
    """durable-rules' hash of a field name (it matches fields by this hash alone)."""
    h = 2166136261
    for b in name.encode("utf-8"):
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def compile_rulebook(rb: Rulebook) -> CompiledRulebook:
    """Rulebook → (ruleset JSON, action table). Raises EngineLimitError past the engine's limits."""
    ruleset: dict[str, Any] = {SESSION_RULE: {"pri": -1, "all": [{"m": SESSION_PATTERN}]}}
    rules: dict[str, RuleSpec] = {}
    conditions = 1

    def add(name: str, definition: dict[str, Any], spec: RuleSpec, patterns: int) -> None:
        nonlocal conditions
        ruleset[name] = definition
        rules[name] = spec
        conditions += patterns

    for f in rb.factors:
        for name, definition, spec in method_of(f).rules(f):
            add(name, definition, spec, 1)

    for g in rb.groups:
        members = tuple(f.id for f in rb.factors if f.group == g.id)
        pattern = [{f"a{i}": about("fs", fid)} for i, fid in enumerate(members)]
        add(f"group.{g.id}", {"all": pattern}, RuleSpec(f"group.{g.id}", "group", g.loc, group=g.id, members=members),
            len(pattern))

    pattern = [{f"g{i}": about("gs", g.id)} for i, g in enumerate(rb.groups)]
    first_group = rb.groups[0].loc if rb.groups else rb.loc
    add("total", {"all": pattern}, RuleSpec("total", "total", first_group,
                                             members=tuple(g.id for g in rb.groups)), len(pattern))

    assert rb.scale is not None
    grades = rb.scale.grades
    for i, gr in enumerate(grades):
        above = grades[i - 1].lo if i > 0 else None
        tests = range_tests("tot", gr.lo, above)
        on_total: dict[str, Any] = {"$ex": {"tot": 1}} if not tests else tests[0] if len(tests) == 1 else {"$and": tests}
        add(f"grade.{gr.grade}", {"all": [{"m": on_total}]},
            RuleSpec(f"grade.{gr.grade}", "grade", gr.loc, grade_index=i), 1)

    plans = []
    for k, o in enumerate(rb.overrides):
        # All overrides read one fact: override k's values are its fields o<k>x0, o<k>x1, ...
        cond = compile_condition(o.when, f"o{k}x")
        if len(cond.terms) > MAX_CONDITION_TERMS:
            raise EngineLimitError([error("E190", f"override '{o.id}' looks at {len(cond.terms)} values; the limit is "
                                                  f"{MAX_CONDITION_TERMS}", o.when_loc)])
        match: Any = {"oi": 1} if cond.json is None else {"$and": [{"oi": 1}, cond.json]}
        add(f"override.{o.id}", {"pri": 1, "all": [{"g": {"$ex": {"mg": 1}}}, {"o": match}]},
            RuleSpec(f"override.{o.id}", "override", o.loc, override=o), 2)
        plans.append(OverridePlan(o, cond))
    fields = sum(len(p.condition.terms) for p in plans)
    if fields > MAX_OVERRIDE_FIELDS:
        raise EngineLimitError([error("E190", f"the overrides look at {fields} values in all; the engine takes at most "
                                              f"{MAX_OVERRIDE_FIELDS} (they are tested on one fact, and more conditions holding "
                                              f"at once on one fact fail with error 303)", rb.loc)])
    if len(rb.overrides) > MAX_OVERRIDES:
        raise EngineLimitError([error("E190", f"rulebook has {len(rb.overrides)} overrides; the engine handles at most "
                                              f"{MAX_OVERRIDES} (more rules matching one fact fail with error 303)",
                                      rb.overrides[MAX_OVERRIDES].loc)])

    add("final", {"pri": 2, "all": [{"m": {"$ex": {"mg": 1}}}]}, RuleSpec("final", "final", rb.scale.loc), 1)
    for i, gr in enumerate(grades):
        add(f"meaning.{gr.grade}", {"all": [{"m": {"fg": gr.grade}}]},
            RuleSpec(f"meaning.{gr.grade}", "pd", gr.loc, grade_index=i), 1)

    if conditions > MAX_CONDITIONS or len(ruleset) > MAX_RULES:
        raise EngineLimitError([error(
            "E190",
            f"rulebook compiles to {len(ruleset)} rules with {conditions} conditions; durable-rules hangs past about "
            f"512 conditions, so pingji refuses more than {MAX_CONDITIONS} (split the rulebook or merge bands)",
            rb.loc)])

    # A group's rule joins its factors' scores, the total rule the groups' subtotals.
    for name, spec in rules.items():
        if spec.kind in ("group", "total") and len(spec.members) > MAX_JOIN:
            what = f"group '{spec.group}' has {len(spec.members)} factors" if spec.kind == "group" else \
                f"rulebook has {len(spec.members)} groups"
            raise EngineLimitError([error("E190", f"{what}; durable-rules joins at most {MAX_JOIN} facts in one rule "
                                                  f"(split it)", spec.at)])

    names = ["id", "sid", SESSION_FACT, "z", "a", "i", "oi", "tot", "mg", "fg", *KINDS]
    names += [field for p in plans for field in (t.field for t in p.condition.terms)]
    names += [f"{kind}_{f.id}" for f in rb.factors for kind in ("in", "st", "as", "fs")]
    names += [f"gs_{g.id}" for g in rb.groups]
    hashes: dict[int, str] = {}
    for name in dict.fromkeys(names):
        other = hashes.setdefault(_fnv1a32(name), name)
        if other != name:  # pragma: no cover - one chance in hundreds of millions per pair
            raise EngineLimitError([error("E190", f"the engine cannot tell the fact fields '{other}' and '{name}' "
                                                  f"apart (same hash); rename the factor or group", rb.loc)])

    metrics = tuple(MetricPlan(m, ex.compile_expr(m.expr), tuple(sorted(ex.names(m.expr))), m.loc.short())
                    for m in rb.metrics)
    return CompiledRulebook(rb, ruleset, rules, metrics, tuple(plans), conditions)
