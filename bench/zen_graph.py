"""The same scorecard as a GoRules JDM decision graph, run by zen-engine (PyPI `zen-engine`).

The graph, built from the loaded rulebook model and the generator's parameters:

    request ─┬─ metrics (expression: m.<id> value rounded to its precision, s.<id> ok|missing|undefined)
             │     ├─ t_<factor> decision table per metric factor, hit policy first:
             │     │     missing row, undefined row, one row per band (interpolation in the output cell)
             │     └─ overrides (expression: o.<id> true when the condition holds, nulls guarded)
             └─ assess (expression: a.<factor> = the assessments of each assessed factor)
                   └─ t_<factor> decision table per assessed factor, looping over its assessments
                         └─ aggregate (expression: median / mean / worst, or the missing points)
    every t_* + aggregate ─ score (expression: group subtotals, total rounded to 2 places)
                             └─ grade (decision table on the total, first hit)
    grade + overrides ─ final (expression: notches summed and clamped, floors, caps, knock-outs)
                          └─ meaning (decision table: final grade index → grade, PD) ─ response

Numbers in zen are decimals; pingji computes in floats and rounds half-up on the shortest decimal
representation. The generated scorecards are chosen so that the two agree (see scorecard.py), and
the benchmark checks that they do on every customer.
"""

from __future__ import annotations

import json
from typing import Any

from scorecard import Spec

try:
    import zen  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - the bench extra is optional
    zen = None


def _n(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _lit(v: Any) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return json.dumps(v)
    return _n(v)


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []

    def node(self, nid: str, kind: str, content: dict[str, Any] | None = None) -> str:
        n: dict[str, Any] = {"id": nid, "type": kind, "name": nid, "position": {"x": 0, "y": 0}}
        if content is not None:
            n["content"] = content
        self.nodes.append(n)
        return nid

    def edge(self, a: str, b: str) -> None:
        self.edges.append({"id": f"e{len(self.edges)}", "sourceId": a, "targetId": b, "type": "edge"})

    def expressions(self, nid: str, pairs: list[tuple[str, str]], pass_through: bool) -> str:
        return self.node(nid, "expressionNode", {
            "expressions": [{"id": f"{nid}_{i}", "key": k, "value": v} for i, (k, v) in enumerate(pairs)],
            "passThrough": pass_through, "inputField": None, "outputPath": None, "executionMode": "single"})

    def table(self, nid: str, inputs: list[str], outputs: list[str], rows: list[list[str]], *,
              pass_through: bool, loop_over: str | None = None, output_path: str | None = None) -> str:
        ins = [{"id": f"i{k}", "name": f, "field": f} for k, f in enumerate(inputs)]
        outs = [{"id": f"o{k}", "name": f, "field": f} for k, f in enumerate(outputs)]
        rules = []
        for r, row in enumerate(rows):
            rule = {"_id": f"{nid}_r{r}"}
            for k, cell in enumerate(row[:len(inputs)]):
                rule[f"i{k}"] = cell
            for k, cell in enumerate(row[len(inputs):]):
                rule[f"o{k}"] = cell
            rules.append(rule)
        return self.node(nid, "decisionTableNode", {
            "hitPolicy": "first", "inputs": ins, "outputs": outs, "rules": rules, "passThrough": pass_through,
            "inputField": loop_over, "outputPath": output_path,
            "executionMode": "loop" if loop_over else "single"})


def build_jdm(rb: Any, spec: Spec) -> dict[str, Any]:
    g = _Graph()
    request = g.node("request", "inputNode", {"schema": ""})
    by_spec = {f.id: f for f in spec.metric_factors}

    # metrics
    pairs = []
    for f in spec.metric_factors:
        m = next(x for x in rb.metrics if x.id == f.metric)
        absent = f"{f.num} == null or {f.den} == null"
        pairs.append((f"s.{m.id}", f"{absent} ? 'missing' : ({f.den} == 0 ? 'undefined' : 'ok')"))
        value = f"round({f.num} / {f.den}, {m.precision})"
        pairs.append((f"m.{m.id}", f"{absent} or {f.den} == 0 ? null : {value}"))
    metrics = g.expressions("metrics", pairs, pass_through=True)
    g.edge(request, metrics)

    scored: list[str] = []
    assess_pairs = []
    for f in rb.factors:
        if f.kind == "metric":
            assert f.id in by_spec
            mid = f.metric
            rows = [["'missing'", "", _n(f.missing), f"'{f.id}.missing'"],
                    ["'undefined'", "", _n(f.undefined), f"'{f.id}.undefined'"]]
            for b in f.bands:
                if b.lo is not None and b.hi is not None:
                    cond = f"[{_n(b.lo)}..{_n(b.hi)})"
                elif b.lo is not None:
                    cond = f">= {_n(b.lo)}"
                elif b.hi is not None:
                    cond = f"< {_n(b.hi)}"
                else:
                    cond = ""
                if isinstance(b.points, tuple):
                    p0, p1 = b.points
                    lo, hi = _n(b.lo), _n(b.hi)
                    out = f"round({_n(p0)} + ({_n(p1)} - {_n(p0)}) * (m.{mid} - {lo}) / ({hi} - {lo}), 2)"
                else:
                    out = _n(b.points)
                rows.append(["", cond, out, f"'{f.id}.band{b.index + 1}'"])
            t = g.table(f"t_{f.id}", [f"s.{mid}", f"m.{mid}"], [f"p.{f.id}", f"r.{f.id}"], rows,
                        pass_through=False)
            g.edge(metrics, t)
            scored.append(t)
        else:
            assess_pairs.append((f"a.{f.id}", f"filter(assessments, #.factor == '{f.assessed}')"))
    assessed = [f for f in rb.factors if f.kind != "metric"]
    if assessed:
        assess = g.expressions("assess", assess_pairs, pass_through=False)
        g.edge(request, assess)
        agg_pairs = []
        level_tables = []
        for f in assessed:
            rows = [[_lit(lv.level), _n(lv.points), f"'{f.id}.level{lv.level}'"] for lv in f.levels]
            t = g.table(f"t_{f.id}", ["level"], ["points", "rule"], rows, pass_through=False,
                        loop_over=f"a.{f.id}", output_path=f"lp.{f.id}")
            g.edge(assess, t)
            level_tables.append(t)
            fn = {"median": "median", "mean": "avg", "worst": "min"}[f.aggregate]
            got = f"(lp.{f.id} ?? [])"
            agg = f"round({fn}(map({got}, #.points)), 2)"
            agg_pairs.append((f"p.{f.id}", f"len({got}) == 0 ? {_n(f.missing)} : {agg}"))
            agg_pairs.append((f"r.{f.id}", f"len({got}) == 0 ? '{f.id}.missing' : '{f.id}.aggregate'"))
        agg = g.expressions("aggregate", agg_pairs, pass_through=True)
        for t in level_tables:
            g.edge(t, agg)
        scored.append(agg)

    # groups and total
    pairs = []
    for grp in rb.groups:
        terms = [f"p.{f.id} * {_n(f.weight)} / 100" for f in rb.factors if f.group == grp.id]
        pairs.append((f"g.{grp.id}", " + ".join(terms)))
    weighted = " + ".join(f"$.g.{grp.id} * {_n(grp.weight)} / 100" for grp in rb.groups)
    pairs.append(("total", f"round({weighted}, 2)"))
    score = g.expressions("score", pairs, pass_through=True)
    for t in scored:
        g.edge(t, score)

    scale = rb.scale
    assert not any(x.default for x in scale.grades), "the graph does not model default grades"
    rows = []
    for i, gr in enumerate(scale.grades):
        rows.append([f">= {_n(gr.lo)}" if gr.lo is not None else "", _n(i), f"'{gr.grade}'"])
    grade = g.table("grade", ["total"], ["gi", "model_grade"], rows, pass_through=True)
    g.edge(score, grade)

    # overrides
    metric_ids = {m.id for m in rb.metrics}
    pairs = []
    for o in spec.overrides:
        parts = []
        for name, op, const in o.terms:
            ref = f"m.{name}" if name in metric_ids else name
            parts.append(f"({ref} != null and {ref} {op} {_lit(const)})")
        pairs.append((f"o.{o.id}", " and ".join(parts)))
    overrides = g.expressions("overrides", pairs, pass_through=False)
    g.edge(metrics, overrides)

    worst = len(scale.grades) - 1
    model = {o.id: o for o in rb.overrides}
    notches = [f"(o.{o.id} ? {int(model[o.id].value)} : 0)" for o in spec.overrides
               if model[o.id].action == "notch"]
    floors = [f"(o.{o.id} ? {scale.resolve(str(model[o.id].value), 'floor')} : 99)" for o in spec.overrides
              if model[o.id].action == "floor"]
    caps = [f"(o.{o.id} ? {scale.resolve(str(model[o.id].value), 'cap')} : -1)" for o in spec.overrides
            if model[o.id].action == "cap"]
    kos = [f"(o.{o.id} ? {scale.resolve(str(model[o.id].value), 'grade')} : -1)" for o in spec.overrides
           if model[o.id].action == "grade"]
    pairs = [("notch", " + ".join(notches) or "0"),
             ("n1", f"$.notch == 0 ? gi : min([max([gi - $.notch, 0]), {worst}])"),
             ("floor", f"min([{', '.join(floors + ['99'])}])"),
             ("f1", "$.floor < 99 and $.n1 > $.floor ? $.floor : $.n1"),
             ("cap", f"max([{', '.join(caps + ['-1'])}])"),
             ("c1", "$.cap >= 0 and $.f1 < $.cap ? $.cap : $.f1"),
             ("ko", f"max([{', '.join(kos + ['-1'])}])"),
             ("fi", "$.ko >= 0 ? $.ko : $.c1")]
    final = g.expressions("final", pairs, pass_through=True)
    g.edge(grade, final)
    g.edge(overrides, final)

    rows = [[_n(i), f"'{gr.grade}'", _lit(gr.pd) if gr.pd is not None else "null"]
            for i, gr in enumerate(scale.grades)]
    meaning = g.table("meaning", ["fi"], ["final_grade", "pd"], rows, pass_through=True)
    g.edge(final, meaning)
    response = g.node("response", "outputNode", {"schema": ""})
    g.edge(meaning, response)
    return {"nodes": g.nodes, "edges": g.edges}


class ZenScorecard:
    def __init__(self, rb: Any, spec: Spec, *, trace: bool = True):
        if zen is None:
            raise RuntimeError("zen-engine is not installed (pip install 'zen-engine>=0.40': bench extra)")
        self.jdm = build_jdm(rb, spec)
        self.engine = zen.ZenEngine()
        self.decision = self.engine.create_decision(json.dumps(self.jdm))
        self.opts = {"trace": trace}

    def evaluate(self, facts: dict[str, Any]) -> dict[str, Any]:
        return self.decision.evaluate(facts, self.opts)  # type: ignore[no-any-return]


def summary(out: dict[str, Any]) -> tuple[float, str, dict[str, float]]:
    r = out["result"]
    return float(r["total"]), str(r["final_grade"]), {k: float(v) for k, v in r["p"].items()}
