"""Running a decision rulebook on one subject's facts: `decide` and the `Decision` it returns."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pingji.decisions.compile import CompiledDecision, compiled_decision
from pingji.decisions.model import DecisionBook, Output, Rule
from pingji.errors import EvaluationError
from pingji.lang import expressions as ex
from pingji.lang.conditions import CompiledCondition
from pingji.lang.env import FactsEnv
from pingji.lang.factschema import facts_digest
from pingji.numbers import money, round_float, round_half_up
from pingji.runtime.ruleset import ruleset_for
from pingji.runtime.spec import RuleSpec

MISSING, UNDEFINED = ex.MISSING, ex.UNDEFINED


def jsonable(v: Any) -> Any:
    """A decided or read value as JSON: missing and undefined by name, decimals as numbers."""
    if v is MISSING:
        return "missing"
    if v is UNDEFINED:
        return "undefined"
    if isinstance(v, Decimal):
        return _num(v)
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return v


def _num(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


@dataclass
class OutputDecision:
    output: str
    value: Any  # level, Decimal, list of str, or None (undefined)
    rules: list[str]  # the rules whose conclusion is the decided value (rule order)
    at: list[str]  # their file:line
    reasons: list[str]  # their reasons (en)
    candidates: list[dict[str, Any]]  # every conclusion: rule, value
    by_default: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = {"value": jsonable(self.value), "rules": self.rules, "at": self.at, "reasons": self.reasons,
             "candidates": self.candidates, "default": self.by_default}
        if self.note:
            d["note"] = self.note
        return d


@dataclass
class Decision:
    """The outcome of one decision rulebook for one subject, with the trace that produced it."""

    rulebook: DecisionBook
    subject_id: str
    facts_hash: str
    metrics: dict[str, dict[str, Any]]
    outputs: dict[str, OutputDecision]
    fired: list[dict[str, Any]]  # the rules that fired, rule order: id, at, title, reason, concluded
    trace: list[dict[str, Any]]

    def value(self, oid: str) -> Any:
        return self.outputs[oid].value

    def fired_ids(self) -> list[str]:
        return [f["rule"] for f in self.fired]

    def to_dict(self) -> dict[str, Any]:
        b = self.rulebook
        return {
            "subject": self.subject_id,
            "rulebook": {"id": b.id, "kind": b.kind, "version": b.version, "hash": b.content_hash, "file": b.file},
            "facts_hash": self.facts_hash,
            "outputs": {k: v.to_dict() for k, v in self.outputs.items()},
            "fired": self.fired,
            "metrics": self.metrics,
            "trace": self.trace,
        }


class _Run:
    def __init__(self, c: CompiledDecision, facts: Mapping[str, Any]):
        self.c = c
        self.book = c.rulebook
        self.env = FactsEnv(facts)  # parameters and metrics first, then dotted paths into the facts
        self.env.metrics.update({p.id: p.value for p in self.book.parameters})
        self.trace: list[dict[str, Any]] = []
        self.metric_rows: dict[str, dict[str, Any]] = {}
        self.conclusions: dict[str, list[tuple[Rule, Any]]] = {o.id: [] for o in self.book.outputs}
        self.fired: list[dict[str, Any]] = []
        self.decided: dict[str, OutputDecision] = {}

    def compute_metrics(self) -> None:
        for m, fn, inputs in self.c.metrics:
            value = fn(self.env)
            if value is MISSING or value is UNDEFINED:
                shown: Any = None
                status = "missing" if value is MISSING else "undefined"
            else:
                value = round_float(value, m.precision) if isinstance(value, float) else value
                shown, status = value, "ok"
            self.env.metrics[m.id] = value
            seen = {n: jsonable(self.env.get(n)) if "[]" not in n else "array" for n in inputs}
            self.metric_rows[m.id] = {"value": shown, "status": status, "expr": m.expr_text, "at": m.loc.short(),
                                      "inputs": seen, "precision": m.precision, "title": m.title.to_dict()}
            self.trace.append({"seq": len(self.trace) + 1, "rule": f"metric.{m.id}", "kind": "metric",
                               "at": m.loc.short(), "matched": seen, "asserted": {"value": shown, "status": status}})

    def inputs(self) -> list[Any]:
        facts: list[Any] = []
        for chunk_no, chunk in enumerate(self.c.chunks):
            fact: dict[str, Any] = {"t": "dq", "c": chunk_no}
            for spec in chunk:
                if spec.condition is None:
                    continue
                for term in spec.condition.terms:
                    v = term.fn(self.env)
                    if v is not MISSING and v is not UNDEFINED:
                        if isinstance(v, (int, float)) and not isinstance(v, bool) and not isinstance(v, str):
                            v = float(v) if isinstance(v, float) else v
                        fact[term.field] = v if not hasattr(v, "isoformat") else v.isoformat()
            facts.append(fact)
        facts.append({"t": "dz"})
        return facts

    def act(self, spec: RuleSpec, matched: list[dict[str, Any]]) -> list[Any]:
        d = self.c.specs[spec.name]
        if d.rule is not None:
            return self._on_rule(spec, d.rule, d.condition)
        assert d.output is not None
        return self._on_decide(spec, d.output)

    def _on_rule(self, spec: RuleSpec, r: Rule, cond: CompiledCondition | None) -> list[Any]:
        # What the condition read: every fact, metric and parameter it names, with its value.
        seen = {n: jsonable(self.env.get(n)) for n in self.c.reads.get(r.id, ())}
        concluded: dict[str, Any] = {}
        out: list[Any] = []
        for j, c in enumerate(r.then):
            value = c.value
            if isinstance(value, ex.Expr):
                v = self.c.conclusion_fns[(r.id, j)](self.env)
                value = v if v is MISSING or v is UNDEFINED else money(v)
            o = self.book.output(c.output)
            if isinstance(value, Decimal):
                value = round_half_up(value, o.precision)
            self.conclusions[c.output].append((r, value))
            concluded[c.output] = jsonable(value)
            out.append({"t": "dc", "o": c.output, "r": r.id})
        self.fired.append({"rule": r.id, "at": r.loc.short(), "title": r.title.to_dict(), "when": r.when_text,
                           "reason": r.reason.to_dict(), "cite": r.cite, "concluded": concluded})
        self.trace.append({"seq": len(self.trace) + 1, "rule": spec.name, "kind": "rule", "at": spec.where,
                           "matched": seen, "asserted": concluded})
        return out

    def _on_decide(self, spec: RuleSpec, o: Output) -> list[Any]:
        got = sorted(self.conclusions[o.id], key=lambda rv: rv[0].index)
        candidates = [{"rule": r.id, "value": jsonable(v)} for r, v in got]
        note = ""
        if not got:
            value = [] if o.type == "list" else o.default
            dec = OutputDecision(o.id, value, [], [], [], [], by_default=True,
                                 note="no rule concluded a value: the default" if o.type != "list" else "")
            at = o.default_loc.short()
        else:
            undefined = [r.id for r, v in got if v is MISSING or v is UNDEFINED]
            if undefined:
                value = None
                winners = [(r, v) for r, v in got if v is MISSING or v is UNDEFINED]
                note = f"undefined: rule {', '.join(undefined)} concluded a value from missing or undefined inputs"
            elif o.type == "levels":
                ranks = [o.rank(v) for _, v in got]
                best = max(ranks) if o.combine == "worst" else min(ranks)
                value = o.levels[best]
                winners = [(r, v) for r, v in got if v == value]
            elif o.type == "list":
                value = []
                for _, v in got:
                    if v not in value:
                        value.append(v)
                winners = got
            elif o.combine == "sum":
                value = round_half_up(sum((v for _, v in got), Decimal(0)), o.precision)
                winners = got
            elif o.combine == "first":
                value = got[0][1]
                winners = got[:1]
            else:
                value = max(v for _, v in got) if o.combine == "max" else min(v for _, v in got)
                winners = [(r, v) for r, v in got if v == value]
            dec = OutputDecision(o.id, value, [r.id for r, _ in winners], [r.loc.short() for r, _ in winners],
                                 [r.reason.get("en") for r, _ in winners], candidates, note=note)
            at = spec.where
        self.decided[o.id] = dec
        asserted = {o.id: jsonable(dec.value)}
        self.trace.append({"seq": len(self.trace) + 1, "rule": spec.name, "kind": "decide", "at": at,
                           "matched": {"combine": o.combine, "candidates": candidates}, "asserted": asserted,
                           **({"note": dec.note} if dec.note else {})})
        fact: dict[str, Any] = {"t": "do", "o": o.id}
        if isinstance(dec.value, str):
            fact["v"] = dec.value
        elif isinstance(dec.value, Decimal):
            fact["v"] = float(dec.value)
        return [fact]


def _canonical(facts: Any) -> str:
    return json.dumps(facts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)


def decide(book: DecisionBook, facts: Mapping[str, Any], *, locate: Any = None, label: str = "facts",
           check_facts: bool = True, subject_id: str | None = None) -> Decision:
    """Run a decision rulebook on one subject's facts (checked against its facts schema unless told not to)."""
    facts_hash = facts_digest(facts, book.facts_schema, _canonical, locate, label, check_facts)
    c = compiled_decision(book)
    run = _Run(c, facts)
    run.compute_metrics()
    ruleset_for(c).run(run.inputs(), run.act, c.rules)  # type: ignore[arg-type]
    missing = [o.id for o in book.outputs if o.id not in run.decided]
    if missing:
        raise EvaluationError(f"the run ended without deciding {', '.join(missing)}", book.loc, "E603")
    run.fired.sort(key=lambda f: book.rule(f["rule"]).index)
    sid = subject_id if subject_id is not None else str(facts.get("id", ""))
    return Decision(book, sid, facts_hash, run.metric_rows,
                    {o.id: run.decided[o.id] for o in book.outputs}, run.fired, run.trace)
