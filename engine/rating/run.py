"""Running a rulebook against one customer's facts, producing its `Evaluation` (rating.result).

Metrics are computed first by the rulebook's compiled expressions (each shows in the trace with
its `file:line` and inputs); then the engine runs: every factor score, group subtotal, the total,
the grade, every override and the final grade come from a rule that fired, in firing order.

Rounding: see rating.rounding. Subtotals and contributions are shown to 4 places.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from typing import Any

from pingji.diagnostics import Location, error
from pingji.errors import EvaluationError, FactsError
from pingji.lang import expressions as ex
from pingji.lang.env import FactsEnv
from pingji.lang.factschema import facts_digest
from pingji.rating.checks import compile_checks, run_checks
from pingji.rating.compile import CompiledRulebook, compile_rulebook
from pingji.rating.methods import method_of
from pingji.rating.model import Rulebook
from pingji.rating.result import ENGINE_VERSION, Evaluation, FactorResult, canonical_json, jsonable
from pingji.rating.rounding import HUNDRED, dec, num_json, quantize, round_half_up
from pingji.runtime.ruleset import ruleset_for
from pingji.runtime.spec import RuleSpec

# Re-exported: the engine's version, the result and the arithmetic are imported from here.
__all__ = ["ENGINE_VERSION", "Evaluation", "FactorResult", "FactsEnv", "canonical_json", "compiled_count", "runnable",
           "compiled_for", "evaluate", "quantize", "round_half_up"]

MISSING, UNDEFINED = ex.MISSING, ex.UNDEFINED




_compiled: dict[tuple[str, tuple[str, ...]], CompiledRulebook] = {}


def compiled_for(rb: Rulebook) -> CompiledRulebook:
    """Compile once per rulebook version per process.

    Keyed by content hash *and* file names: the same rulebook loaded from another working
    directory has other display names, and its trace must show those.
    """
    key = (rb.content_hash, rb.sources)
    c = _compiled.get(key)
    if c is None:
        c = _compiled[key] = compile_rulebook(rb)
    return c


def runnable(rb: Rulebook) -> CompiledRulebook:
    """Compile `rb` (once per version) and register its ruleset with durable-rules: raises
    `EngineLimitError` (E190) for a rulebook past an engine limit, before any customer is rated."""
    c = compiled_for(rb)
    ruleset_for(c)
    return c


def compiled_count() -> int:
    """How many rulebook versions this process has compiled (pingji.batch.cluster counts them per batch)."""
    return len(_compiled)


_KINDS = ("total", "grade", "override", "final", "pd")  # the kinds `_specialised` leaves to `_Run`


class _Plan:
    """What every evaluation of one compiled rulebook needs, computed once."""

    def __init__(self, c: CompiledRulebook):
        rb = c.rulebook
        self.factor_weight = {f.id: dec(f.weight) for f in rb.factors}
        self.group_weight = {g.id: dec(g.weight) for g in rb.groups}
        # per metric: (id, fn, precision, inputs read (name, is an array), expr, where, title)
        self.metrics = tuple((p.metric.id, p.fn, p.metric.precision, tuple((n, "[]" in n) for n in p.inputs),
                              p.metric.expr_text, p.where, p.metric.title, f"metric.{p.metric.id}") for p in c.metrics)
        # per factor, in rulebook order: what its method reads, as input facts (`feed(run, facts)`)
        self.feeds = tuple(method_of(f).inputs(f) for f in rb.factors)
        self.overrides = {p.override.id: p for p in c.overrides}
        # every rule's action, `action(run, matched) -> facts`; the ones that fire for every customer
        # specialised to their rule (constants bound once instead of looked up per firing)
        self.actions: dict[str, Callable[[_Run, list[Any]], list[Any]]] = {
            name: _specialised(spec, self.factor_weight) or partial(_generic, spec) for name, spec in c.rules.items()}
        self.terms = tuple(t for p in c.overrides for t in p.condition.terms)
        self.checks = compile_checks(rb.checks)
        scale = rb.scale
        assert scale is not None
        self.worst = len(scale.grades) - 1
        self.performing_worst = max((i for i, g in enumerate(scale.grades) if not g.default), default=self.worst)


def _plan(c: CompiledRulebook) -> _Plan:
    plan = c.extra.get("plan")
    if plan is None:
        plan = c.extra["plan"] = _Plan(c)
    return plan  # type: ignore[no-any-return]


class _Run:
    """The state of one evaluation while its rules fire.

    The facts asserted carry a Python record beside their JSON (see `runtime.Ruleset.run`): what
    a rule's action reads of the facts it matched. Factor, group and grade facts are recorded as
    small tuples, `(factor, points)`, `(group, subtotal)`, `(grade, index)`; the total as a number;
    an assessment as `(factor, level, index in facts.assessments)`; the override inputs as a dict.
    """

    def __init__(self, compiled: CompiledRulebook, facts: Mapping[str, Any], locate: Any = None,
                 label: str = "facts"):
        self.c = compiled
        self.locate, self.label = locate, label
        self.p = _plan(compiled)
        self.rb = compiled.rulebook
        self.facts = facts
        self.env = FactsEnv(facts)
        self.trace: list[dict[str, Any]] = []
        self.results: dict[str, FactorResult] = {f.id: FactorResult(f) for f in self.rb.factors}
        self.scratch: dict[Any, Any] = {}  # what a scoring method keeps during one run (rating.methods)
        self.groups: dict[str, float] = {}
        self.exact_groups: dict[str, Decimal] = {}
        self.total: float | None = None
        self.model: int | None = None
        self.final: int | None = None
        self.adjustments: list[dict[str, Any]] = []
        self.pd: float | None = None
        self.coarse: str | None = None

        self.metric_rows: dict[str, dict[str, Any]] = {}
        self.warnings: list[dict[str, Any]] = []

    # -- before the run ---------------------------------------------------------------------------

    def where(self, path: tuple[Any, ...]) -> Location:
        """Where a fact is, for an error about it: its file:line when the facts came from a file."""
        return self.locate(path) if self.locate is not None else Location(self.label)

    def compute_metrics(self) -> None:
        env = self.env
        get = env.get
        values = env.metrics
        rows = self.metric_rows
        trace = self.trace
        for mid, fn, precision, reads, expr, where, title, rule in self.p.metrics:
            value = fn(env)
            if value is MISSING:
                shown: Any = None
                status = "missing"
            elif value is UNDEFINED:
                shown = None
                status = "undefined"
            else:
                value = shown = round_half_up(value, precision)
                status = "ok"
            values[mid] = value
            inputs = {n: "array" if array else jsonable(get(n)) for n, array in reads}
            rows[mid] = {"value": shown, "status": status, "expr": expr, "at": where, "inputs": inputs,
                         "precision": precision, "title": title.to_dict()}
            trace.append({"seq": len(trace) + 1, "rule": rule, "kind": "metric", "at": where, "matched": inputs,
                          "asserted": {"value": shown, "status": status}})

    def check_facts(self, rating_date: _dt.date) -> None:
        """The rulebook's consistency checks: FactsError (E540) for those of severity error; the
        warnings kept, each a `check` row of the trace."""
        if not self.p.checks:
            return
        errors, warnings = run_checks(self.p.checks, self.env, self.where, self.label, rating_date)
        if errors:
            raise FactsError(errors)
        trace = self.trace
        for w in warnings:
            self.warnings.append(w)
            trace.append({"seq": len(trace) + 1, "rule": f"check.{w['check']}", "kind": "check", "at": w["at"],
                          "matched": {x["name"]: x["value"] for x in w["facts"]},
                          "asserted": {"warning": w["code"], "require": w["require"]}})

    def inputs(self) -> list[Any]:
        facts: list[Any] = []
        for feed in self.p.feeds:
            feed(self, facts)
        if self.c.overrides:
            fact: dict[str, Any] = {"oi": 1}
            env = self.env
            for term in self.p.terms:
                v = term.fn(env)
                if v is not MISSING and v is not UNDEFINED:
                    fact[term.field] = v
            facts.append(fact)
        return facts

    # -- rule actions (scoring rules and groups: see `_specialised`) ------------------------------
    def _record(self, spec: RuleSpec, matched: Any, asserted: Any, note: str = "") -> None:
        row = {"seq": len(self.trace) + 1, "rule": spec.name, "kind": spec.kind, "at": spec.where,
               "matched": matched, "asserted": asserted}
        if note:
            row["note"] = note
        self.trace.append(row)

    def _on_total(self, spec: RuleSpec, matched: list[Any]) -> list[Any]:
        weights = self.p.group_weight
        exact = self.exact_groups
        total = quantize(sum(exact[g] * weights[g] for g in spec.members) / HUNDRED, 2)
        self.total = total
        trace = self.trace
        trace.append({"seq": len(trace) + 1, "rule": "total", "kind": "total", "at": spec.where,
                      "matched": {"subtotals": {g: round_half_up(v, 4) for g, v in matched}},
                      "asserted": {"total": total}})
        return [(total, f'"tot":{num_json(total)}')]

    def _on_grade(self, spec: RuleSpec, matched: list[Any]) -> list[Any]:
        assert self.rb.scale is not None and spec.grade_index is not None
        g = self.rb.scale.grades[spec.grade_index]
        self.model = spec.grade_index
        self._record(spec, {"total": matched[0]}, {"model_grade": g.grade},
                     f"total >= {g.lo:g}" if g.lo is not None else "below every cut-off")
        return [((g.grade, spec.grade_index), f'"mg":"{g.grade}","i":{spec.grade_index}')]

    def _on_override(self, spec: RuleSpec, matched: list[Any]) -> list[Any]:
        o = spec.override
        assert o is not None
        inputs = next(m for m in matched if type(m) is dict)
        plan = self.p.overrides[o.id]
        values = {t.text: jsonable(inputs.get(t.field, MISSING)) for t in plan.condition.terms}
        adj = {"id": o.id, "action": o.action, "value": o.value, "reason": o.reason.to_dict(),
               "at": o.loc.short(), "when": o.when_text, "values": values}
        self.adjustments.append(adj)
        self._record(spec, values, {"override": o.id, o.action: o.value}, o.when_text)
        return []

    def _on_final(self, spec: RuleSpec, matched: list[Any]) -> list[Any]:
        scale = self.rb.scale
        assert scale is not None
        start = int(matched[0][1])
        worst = self.p.worst
        performing_worst = self.p.performing_worst
        steps = []
        i = start
        adj = self.adjustments
        notch = sum(int(a["value"]) for a in adj if a["action"] == "notch")
        if notch:
            lo_limit = performing_worst if start <= performing_worst else worst
            new = min(max(i - notch, 0), lo_limit)
            steps.append(f"notches {notch:+d}: {scale.grades[i].grade} -> {scale.grades[new].grade}")
            i = new
        floors = [scale.resolve(str(a["value"]), "floor") for a in adj if a["action"] == "floor"]
        if floors and i > min(floors):
            steps.append(f"floor {scale.grades[min(floors)].grade}: {scale.grades[i].grade} -> "
                         f"{scale.grades[min(floors)].grade}")
            i = min(floors)
        caps = [scale.resolve(str(a["value"]), "cap") for a in adj if a["action"] == "cap"]
        if caps and i < max(caps):
            steps.append(f"cap {scale.grades[max(caps)].grade}: {scale.grades[i].grade} -> {scale.grades[max(caps)].grade}")
            i = max(caps)
        kos = [scale.resolve(str(a["value"]), "grade") for a in adj if a["action"] == "grade"]
        if kos:
            steps.append(f"knock-out {scale.grades[max(kos)].grade}: {scale.grades[i].grade} -> "
                         f"{scale.grades[max(kos)].grade}")
            i = max(kos)
        for a in adj:
            if a["action"] == "grade":
                a["applied"] = scale.resolve(str(a["value"]), "grade") == i
            elif a["action"] == "cap":
                a["applied"] = bool(caps) and scale.resolve(str(a["value"]), "cap") == max(caps) and not kos
            elif a["action"] == "floor":
                a["applied"] = bool(floors) and scale.resolve(str(a["value"]), "floor") == min(floors) and not kos
            else:
                a["applied"] = bool(notch) and not kos
        self.final = i
        g = scale.grades[i]
        self._record(spec, {"model_grade": scale.grades[start].grade, "overrides": [a["id"] for a in adj]},
                     {"final_grade": g.grade}, "; ".join(steps) if steps else "no override changed the grade")
        return [((g.grade, i), f'"fg":"{g.grade}","i":{i}')]

    def _on_pd(self, spec: RuleSpec, matched: list[Any]) -> list[Any]:
        assert self.rb.scale is not None and spec.grade_index is not None
        g = self.rb.scale.grades[spec.grade_index]
        self.pd, self.coarse = g.pd, g.coarse
        self._record(spec, {"final_grade": g.grade}, {"pd": g.pd, "coarse_grade": g.coarse, "title": g.title.to_dict()})
        return []


_HANDLERS = {kind: getattr(_Run, f"_on_{kind}") for kind in _KINDS}


def _generic(spec: RuleSpec, run: _Run, matched: list[Any]) -> list[Any]:
    out: list[Any] = _HANDLERS[spec.kind](run, spec, matched)
    return out


def _specialised(spec: RuleSpec, factor_weight: dict[str, Decimal]) -> Callable[[_Run, list[Any]], list[Any]] | None:
    """The action of a rule with its constants bound: a factor's rules by its scoring method, and groups.

    The other kinds run the `_Run._on_<kind>` method of their kind."""
    if spec.factor is not None:
        return method_of(spec.factor).action(spec)
    if spec.kind == "group":
        rule, where, gid = spec.name, spec.where, spec.group
        assert gid is not None
        weights = [(fid, factor_weight[fid]) for fid in spec.members]

        def group(run: _Run, matched: list[Any]) -> list[Any]:
            parts = dict(matched)  # (factor, points) facts
            exact = sum(dec(parts[fid]) * w for fid, w in weights) / HUNDRED
            subtotal = float(exact)
            run.groups[gid] = subtotal
            run.exact_groups[gid] = exact
            trace = run.trace
            trace.append({"seq": len(trace) + 1, "rule": rule, "kind": "group", "at": where,
                          "matched": {"points": parts},
                          "asserted": {"group": gid, "subtotal": round_half_up(subtotal, 4)}})
            return [((gid, subtotal), f'"gs":1,"gs_{gid}":{num_json(subtotal)}')]

        return group
    return None


def _facts_json(facts: Mapping[str, Any], label: str) -> str:
    try:
        return canonical_json(facts)
    except TypeError as exc:
        raise FactsError([error("E501", f"facts are not JSON data: {exc}", Location(label))]) from None


def evaluate(rulebook: Rulebook, facts: Mapping[str, Any], *, locate: Any = None, label: str = "facts",
             check_facts: bool = True, rating_date: _dt.date | None = None) -> Evaluation:
    """Rate one customer. `facts` must match the rulebook's facts schema (checked unless told not to)
    and pass the rulebook's consistency checks of severity error (E540); `rating_date` is the day
    the checks read as `rating_date` (default: today, UTC)."""
    facts_hash = facts_digest(facts, rulebook.facts_schema, lambda f: _facts_json(f, label), locate, label,
                              check_facts)
    compiled = compiled_for(rulebook)
    run = _Run(compiled, facts, locate, label)
    run.compute_metrics()
    run.check_facts(rating_date or _dt.datetime.now(_dt.UTC).date())
    inputs = run.inputs()
    ruleset_for(compiled).run(inputs, None, compiled.rules, actions=run.p.actions, ctx=run)
    scale = rulebook.scale
    assert scale is not None
    unscored = [f.id for f in rulebook.factors if not run.results[f.id].rule]
    if unscored or run.final is None or run.model is None or run.total is None:
        raise EvaluationError(f"the run ended without a final grade (factors without a score: "
                              f"{', '.join(unscored) or 'none'})", rulebook.loc, "E603")
    return Evaluation(
        rulebook=rulebook,
        customer_id=str(facts.get("id", "")),
        facts_hash=facts_hash,
        metrics=run.metric_rows,
        factors=[run.results[f.id] for f in rulebook.factors],
        groups=run.groups,
        total=run.total,
        model_grade=scale.grades[run.model].grade,
        final_grade=scale.grades[run.final].grade,
        overrides=run.adjustments,
        pd=run.pd,
        coarse_grade=run.coarse,
        trace=run.trace,
        warnings=run.warnings,
    )
