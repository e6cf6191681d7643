"""The baseline: a hand-written plain-Python evaluation of a generated scorecard.

It reads the loaded rulebook model (bands, levels, weights, scale, `file:line` of every item) and
the generator's parameters (each metric is `numerator / denominator`; each override is a
conjunction of comparisons), and computes what `pingji.evaluate` computes — metrics rounded
half-up to their precision, band or interpolated points, assessed levels aggregated, group
subtotals, the total, the model grade, overrides combined in the documented order, the final grade
and PD — while building the SAME trace: one row per fired rule with rule id, kind, `file:line`,
matched values, asserted values and note, in the order pingji's rules fire. No rules engine, no
JSON, no schema validation: the cost of the arithmetic and of the trace itself.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from scorecard import Spec

MISSING = "missing"
UNDEFINED = "undefined"
_Q = {p: Decimal(1).scaleb(-p) for p in range(0, 12)}


def rhu(x: float, places: int) -> float:
    """Half-up on the shortest decimal representation (the rule every evaluator here follows)."""
    s = repr(float(x))
    dot = s.find(".")
    if len(s) - dot - 1 <= places and "e" not in s:  # already short enough: nothing to round
        return float(x) + 0.0
    return float(Decimal(s).quantize(_Q[places], rounding=ROUND_HALF_UP)) + 0.0


_DEC: dict[float, Decimal] = {}
_HUNDRED = Decimal(100)


def dec(x: float) -> Decimal:
    """The exact decimal of a number's shortest representation (0.1 → Decimal('0.1'))."""
    d = _DEC.get(x)
    if d is None:
        d = Decimal(repr(x))
        if len(_DEC) < 100_000:
            _DEC[x] = d
    return d


def quantize(d: Decimal, places: int) -> float:
    return float(d.quantize(_Q[places], rounding=ROUND_HALF_UP)) + 0.0


def _get(facts: Any, path: tuple[str, ...]) -> Any:
    node = facts
    for part in path:
        if type(node) is not dict:
            return MISSING
        node = node.get(part)
        if node is None:
            return MISSING
    return node


def _desc(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


_OPS = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


class PlainScorecard:
    def __init__(self, rb: Any, spec: Spec):
        self.rb = rb
        self.spec = spec
        by_id = {f.id: f for f in spec.factors}
        mf = {m.id: m for m in rb.metrics}
        self.metrics = []
        for f in spec.metric_factors:
            m = mf[f.metric]
            names = sorted((f.num, f.den))
            self.metrics.append((m.id, tuple(f.num.split(".")), tuple(f.den.split(".")), m.precision,
                                 f"metric.{m.id}", m.loc.short(), f.num, f.den, names))
        gw = {g.id: g.weight for g in rb.groups}
        self.factors = []
        for f in rb.factors:
            if f.kind == "metric":
                bands = []
                for b in f.bands:
                    interp = isinstance(b.points, tuple)
                    if b.lo is None and b.hi is None:
                        text = "any value"
                    elif b.lo is None:
                        text = f"< {_desc(b.hi)}"
                    elif b.hi is None:
                        text = f">= {_desc(b.lo)}"
                    else:
                        text = f"{_desc(b.lo)} <= x < {_desc(b.hi)}"
                    basis = f"band {b.index + 1}: {text}" + (", interpolated" if interp else "")
                    bands.append((b.lo, b.hi, b.points, interp, f"{f.id}.band{b.index + 1}", b.loc.short(),
                                  basis))
                self.factors.append(("metric", f.id, f.metric, tuple(bands),
                                     (f"{f.id}.undefined", f.at("undefined").short(), f.undefined),
                                     (f"{f.id}.missing", f.at("missing").short(), f.missing)))
            else:
                levels = {lv.level: (pos, lv.points, f"{f.id}.level{lv.level}", lv.loc.short())
                          for pos, lv in enumerate(f.levels)}
                agg_at = (f.at("aggregate") if "aggregate" in f.field_locs else f.at("levels")).short()
                self.factors.append(("assessed", f.id, f.assessed, levels,
                                     (f"{f.id}.aggregate", agg_at, f.aggregate),
                                     (f"{f.id}.missing", f.at("missing").short(), f.missing)))
        assert set(by_id) == {f[1] for f in self.factors}
        fw = {f.id: f.weight for f in rb.factors}
        self.groups = [(g.id, f"group.{g.id}", g.loc.short(), g.weight,
                        tuple((f.id, fw[f.id]) for f in rb.factors if f.group == g.id)) for g in rb.groups]
        self.total_at = rb.groups[0].loc.short()
        self.gw = gw
        scale = rb.scale
        self.grades = [(g.grade, g.lo, f"grade.{g.grade}", g.loc.short(),
                        f"total >= {g.lo:g}" if g.lo is not None else "below every cut-off")
                       for g in scale.grades]
        self.meaning = [(f"meaning.{g.grade}", g.loc.short(), {"pd": g.pd, "coarse_grade": g.coarse}, g.title)
                        for g in scale.grades]
        self.final_at = scale.loc.short()
        self.scale = scale
        ov = {o.id: o for o in rb.overrides}
        metric_ids = {m.id for m in rb.metrics}
        self.overrides = []
        for o in spec.overrides:
            model = ov[o.id]
            terms = tuple((name, name in metric_ids, tuple(name.split(".")), _OPS[op], const)
                          for name, op, const in o.terms)
            self.overrides.append((o.id, terms, model.action, model.value, model.reason, model.loc.short(),
                                   model.when_text, f"override.{o.id}"))
        worst = len(scale.grades) - 1
        self.worst = worst
        self.performing_worst = max((i for i, g in enumerate(scale.grades) if not g.default), default=worst)

    def evaluate(self, facts: dict[str, Any]) -> dict[str, Any]:
        trace: list[dict[str, Any]] = []
        add = trace.append
        metrics: dict[str, Any] = {}
        # -- metrics ------------------------------------------------------------------------------
        for mid, num_p, den_p, prec, rule, at, num_name, den_name, names in self.metrics:
            a = _get(facts, num_p)
            b = _get(facts, den_p)
            if a is MISSING or b is MISSING:
                value: Any = MISSING
            elif b == 0:
                value = UNDEFINED
            else:
                value = rhu(a / b, prec)
            metrics[mid] = value
            inputs = {num_name: a, den_name: b} if names[0] == num_name else {den_name: b, num_name: a}
            if value is MISSING or value is UNDEFINED:
                asserted = {"value": None, "status": value}
            else:
                asserted = {"value": value, "status": "ok"}
            add({"seq": len(trace) + 1, "rule": rule, "kind": "metric", "at": at, "matched": inputs,
                 "asserted": asserted})
        # -- factor scores (priority 0, in rule order), then aggregates (priority 1) --------------
        points: dict[str, float] = {}
        basis_of: dict[str, str] = {}
        assessments = facts.get("assessments") or []
        pending = []
        for kind, fid, key, table, special, missing in self.factors:
            if kind == "metric":
                v = metrics[key]
                if v is MISSING:
                    rule, at, p = missing
                    points[fid] = p
                    add({"seq": len(trace) + 1, "rule": rule, "kind": "missing", "at": at,
                         "matched": {"factor": fid, "status": "missing"},
                         "asserted": {"factor": fid, "points": p},
                         "note": "missing input"})
                    basis_of[fid] = "missing input"
                    continue
                if v is UNDEFINED:
                    rule, at, p = special
                    points[fid] = p
                    add({"seq": len(trace) + 1, "rule": rule, "kind": "undefined", "at": at,
                         "matched": {"metric": key, "status": "undefined"},
                         "asserted": {"factor": fid, "points": p},
                         "note": "undefined value"})
                    basis_of[fid] = "undefined value"
                    continue
                for lo, hi, pts, interp, rule, at, basis in table:
                    if (lo is None or v >= lo) and (hi is None or v < hi):
                        if interp:  # in exact decimals, as pingji does
                            p0, p1 = pts
                            d0, dlo = dec(p0), dec(lo)
                            p = quantize(d0 + (dec(p1) - d0) * (dec(v) - dlo) / (dec(hi) - dlo), 2)
                        else:
                            p = pts
                        points[fid] = p
                        add({"seq": len(trace) + 1, "rule": rule, "kind": "band", "at": at,
                             "matched": {"metric": key, "value": v}, "asserted": {"factor": fid, "points": p},
                             "note": basis})
                        basis_of[fid] = basis
                        break
            else:
                mine = [(table[a["level"]], i, a) for i, a in enumerate(assessments)
                        if a.get("factor") == key and a.get("level") is not None]
                if not mine:
                    rule, at, p = missing
                    points[fid] = p
                    add({"seq": len(trace) + 1, "rule": rule, "kind": "missing", "at": at,
                         "matched": {"factor": fid, "status": "missing"},
                         "asserted": {"factor": fid, "points": p},
                         "note": "missing input"})
                    basis_of[fid] = "missing input"
                    continue
                mine.sort(key=lambda t: (t[0][0], -t[1]))  # rule order; one rule: the later fact first
                got = []
                for (_pos, lp, rule, at), _i, a in mine:
                    who = str(a.get("assessor", ""))
                    got.append((a["level"], lp, who))
                    add({"seq": len(trace) + 1, "rule": rule, "kind": "level", "at": at,
                         "matched": {"factor": fid, "level": a["level"], "assessor": who},
                         "asserted": {"assessment_points": lp}})
                pending.append((fid, special, got))
        for fid, (rule, at, how), got in pending:
            pts = [p for _, p, _ in got]
            if how == "median":
                s = sorted(pts)
                n = len(s)
                p = quantize(dec(s[n // 2]) if n % 2 else (dec(s[n // 2 - 1]) + dec(s[n // 2])) / 2, 2)
            elif how == "worst":
                p = min(pts)
            else:
                p = quantize(sum((dec(x) for x in pts), Decimal(0)) / len(pts), 2)
            points[fid] = p
            levels = ", ".join(f"{lv} by {who or 'unnamed'}" for lv, _, who in got)
            basis = f"{how} of {len(got)} assessment{'s' if len(got) != 1 else ''} ({levels})"
            basis_of[fid] = basis
            add({"seq": len(trace) + 1, "rule": rule, "kind": "aggregate", "at": at,
                 "matched": {"factor": fid, "assessment_points": pts, "aggregate": how},
                 "asserted": {"factor": fid, "points": p}, "note": basis})
        # -- groups, total, grade -----------------------------------------------------------------
        subtotals: dict[str, float] = {}
        exact: dict[str, Decimal] = {}
        for gid, rule, at, _gw, members in self.groups:
            parts = {fid: points[fid] for fid, _ in members}
            e = sum(dec(points[fid]) * dec(w) for fid, w in members) / _HUNDRED
            exact[gid] = e
            sub = subtotals[gid] = float(e)
            add({"seq": len(trace) + 1, "rule": rule, "kind": "group", "at": at, "matched": {"points": parts},
                 "asserted": {"group": gid, "subtotal": rhu(sub, 4)}})
        gw = self.gw
        total = quantize(sum(exact[gid] * dec(gw[gid]) for gid, *_ in self.groups) / _HUNDRED, 2)
        add({"seq": len(trace) + 1, "rule": "total", "kind": "total", "at": self.total_at,
             "matched": {"subtotals": {g: rhu(v, 4) for g, v in subtotals.items()}},
             "asserted": {"total": total}})
        model = len(self.grades) - 1
        for i, (grade, lo, rule, at, note) in enumerate(self.grades):
            if lo is None or total >= lo:
                model = i
                add({"seq": len(trace) + 1, "rule": rule, "kind": "grade", "at": at,
                     "matched": {"total": total}, "asserted": {"model_grade": grade}, "note": note})
                break
        # -- overrides ----------------------------------------------------------------------------
        adjustments = []
        for oid, terms, action, value, reason, at, when, rule in self.overrides:
            values = {}
            for name, is_metric, path, op, const in terms:
                v = metrics.get(name, MISSING) if is_metric else _get(facts, path)
                if v is MISSING or v is UNDEFINED or not op(v, const):
                    break
                values[name] = v
            else:
                adjustments.append({"id": oid, "action": action, "value": value, "reason": reason.to_dict(),
                                    "at": at, "when": when, "values": values})
                add({"seq": len(trace) + 1, "rule": rule, "kind": "override", "at": at, "matched": values,
                     "asserted": {"override": oid, action: value}, "note": when})
        final = self._final(model, adjustments, trace)
        rule, at, meaning, title = self.meaning[final]
        add({"seq": len(trace) + 1, "rule": rule, "kind": "pd", "at": at,
             "matched": {"final_grade": self.grades[final][0]},
             "asserted": {"pd": meaning["pd"], "coarse_grade": meaning["coarse_grade"],
                          "title": title.to_dict()}})
        return {"total": total, "model_grade": self.grades[model][0], "final_grade": self.grades[final][0],
                "pd": meaning["pd"], "points": points, "basis": basis_of, "groups": subtotals,
                "overrides": adjustments, "trace": trace}

    def _final(self, start: int, adj: list[dict[str, Any]], trace: list[dict[str, Any]]) -> int:
        scale = self.scale
        grades = scale.grades
        steps = []
        i = start
        notch = sum(int(a["value"]) for a in adj if a["action"] == "notch")
        if notch:
            lo_limit = self.performing_worst if start <= self.performing_worst else self.worst
            new = min(max(i - notch, 0), lo_limit)
            steps.append(f"notches {notch:+d}: {grades[i].grade} -> {grades[new].grade}")
            i = new
        floors = [scale.resolve(str(a["value"]), "floor") for a in adj if a["action"] == "floor"]
        if floors and i > min(floors):
            best = grades[min(floors)].grade
            steps.append(f"floor {best}: {grades[i].grade} -> {best}")
            i = min(floors)
        caps = [scale.resolve(str(a["value"]), "cap") for a in adj if a["action"] == "cap"]
        if caps and i < max(caps):
            steps.append(f"cap {grades[max(caps)].grade}: {grades[i].grade} -> {grades[max(caps)].grade}")
            i = max(caps)
        kos = [scale.resolve(str(a["value"]), "grade") for a in adj if a["action"] == "grade"]
        if kos:
            steps.append(f"knock-out {grades[max(kos)].grade}: {grades[i].grade} -> {grades[max(kos)].grade}")
            i = max(kos)
        for a in adj:
            if a["action"] == "grade":
                a["applied"] = scale.resolve(str(a["value"]), "grade") == i
            elif a["action"] == "cap":
                a["applied"] = bool(caps) and scale.resolve(str(a["value"]), "cap") == max(caps) and not kos
            elif a["action"] == "floor":
                a["applied"] = (bool(floors) and scale.resolve(str(a["value"]), "floor") == min(floors)
                                and not kos)
            else:
                a["applied"] = bool(notch) and not kos
        trace.append({"seq": len(trace) + 1, "rule": "final", "kind": "final", "at": self.final_at,
                      "matched": {"model_grade": grades[start].grade, "overrides": [a["id"] for a in adj]},
                      "asserted": {"final_grade": grades[i].grade},
                      "note": "; ".join(steps) if steps else "no override changed the grade"})
        return i

