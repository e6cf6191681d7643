"""Semantic checks of a resolved rulebook (after the schema check and `extends`).

Weights, each factor by its scoring method (band tables over the whole real line, ...), grade scale order,
PDs, master-scale mapping, overrides that can never fire or contradict each other, and the names the
`report:` section uses. Returns every problem at once.
"""

from __future__ import annotations

from pingji.diagnostics import Diagnostic, error, suggest, warning
from pingji.lang import expressions as ex
from pingji.lang.conditions import jointly_satisfiable, satisfiable
from pingji.numbers import number_text
from pingji.rating.methods import method_of
from pingji.rating.model import Rulebook, Scale

WEIGHT_TOLERANCE = 1e-6


def check_weights(rb: Rulebook) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if not rb.groups:
        out.append(error("E133", "rulebook has no groups (and so no factors): nothing would be scored", rb.loc))
    total = sum(g.weight for g in rb.groups)
    if rb.groups and abs(total - 100) > WEIGHT_TOLERANCE:
        parts = " + ".join(f"{g.id} {number_text(g.weight)}" for g in rb.groups)
        out.append(error("E130", f"group weights add up to {number_text(round(total, 6))}, not 100 ({parts})",
                         rb.groups[0].loc))
    for g in rb.groups:
        members = [f for f in rb.factors if f.group == g.id]
        if not members:
            out.append(error("E132", f"group '{g.id}' has no factors", g.loc))
            continue
        s = sum(f.weight for f in members)
        if abs(s - 100) > WEIGHT_TOLERANCE:
            parts = " + ".join(f"{f.id} {number_text(f.weight)}" for f in members)
            out.append(error("E131", f"factor weights in group '{g.id}' add up to {number_text(round(s, 6))}, "
                                     f"not 100 ({parts})", g.loc))
    return out


def check_scale(scale: Scale) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    grades = scale.grades
    names = [g.grade for g in grades]
    for i, g in enumerate(grades):
        if g.grade in names[:i]:
            out.append(error("E140", f"grade '{g.grade}' appears twice in the scale", g.loc))
    for g in grades[:-1]:
        if g.lo is None:
            out.append(error("E140", f"grade '{g.grade}' needs a 'from' cut-off (only the last, worst grade has none)",
                             g.loc))
    if grades[-1].lo is not None:
        out.append(error("E140", f"the last grade '{grades[-1].grade}' must not have a 'from': it takes every total "
                                 f"below the cut-off above it", grades[-1].loc))
    cut = [(g, g.lo) for g in grades if g.lo is not None]
    for (a, alo), (b, blo) in zip(cut, cut[1:]):
        if blo is not None and alo is not None and blo >= alo:
            out.append(error("E140", f"grade cut-offs must decrease from best to worst: '{b.grade}' from "
                                     f"{number_text(blo)} is not "
                                     f"below '{a.grade}' from {number_text(alo)}", b.loc))
    pds = [(g, g.pd) for g in grades if g.pd is not None]
    if pds and len(pds) != len(grades):
        missing = [g.grade for g in grades if g.pd is None]
        out.append(error("E141", f"PD is given for some grades but not for {', '.join(missing)}", grades[0].loc))
    for (a, apd), (b, bpd) in zip(pds, pds[1:]):
        if bpd is not None and apd is not None and bpd < apd:
            out.append(error("E141", f"PD must not fall from a better to a worse grade: '{b.grade}' {bpd} is below "
                                     f"'{a.grade}' {apd}", b.loc))
    if scale.coarse:
        coarse = [c.grade for c in scale.coarse]
        for g in grades:
            if g.grade in coarse:
                out.append(error("E142", f"grade '{g.grade}' is also the name of a coarse grade; give the fine grades "
                                         f"names of their own so that an override naming '{g.grade}' is unambiguous",
                                 g.loc))
        last_rank = 0
        for g in grades:
            if g.coarse is None:
                out.append(error("E142", f"grade '{g.grade}' has no 'coarse' grade though the scale maps onto "
                                         f"{', '.join(coarse)}", g.loc))
                continue
            if g.coarse not in coarse:
                out.append(error("E142", f"grade '{g.grade}': unknown coarse grade '{g.coarse}'", g.loc,
                                 hint=suggest(g.coarse, coarse)))
                continue
            rank = coarse.index(g.coarse)
            if rank < last_rank:
                out.append(error("E142", f"grade '{g.grade}' maps to '{g.coarse}', better than a better grade maps to",
                                 g.loc))
            last_rank = max(last_rank, rank)
    elif any(g.coarse for g in grades):
        g = next(g for g in grades if g.coarse)
        out.append(error("E142", f"grade '{g.grade}' names coarse grade '{g.coarse}' but the scale has no 'coarse' list",
                         g.loc))
    return out


def check_overrides(rb: Rulebook) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    scale = rb.scale
    for o in rb.overrides:
        if not satisfiable(o.when):
            out.append(error("E150", f"override '{o.id}' can never fire: its condition '{o.when_text}' is never true",
                             o.when_loc))
            continue
        if scale is None:
            continue
        worst, best = len(scale.grades) - 1, 0
        if o.action == "notch" and o.value == 0:
            out.append(warning("W201", f"override '{o.id}' has no effect: notch 0", o.loc))
        elif o.action == "cap" and scale.resolve(str(o.value), "cap") == best:
            # A cap lowers a better grade to it: nothing is better than the best grade.
            out.append(warning("W201", f"override '{o.id}' has no effect: a cap at the best grade", o.loc))
        elif o.action == "floor" and scale.resolve(str(o.value), "floor") == worst:
            # A floor raises a worse grade to it: nothing is worse than the worst grade.
            out.append(warning("W201", f"override '{o.id}' has no effect: a floor at the worst grade", o.loc))
    if scale is None:
        return out
    caps = [o for o in rb.overrides if o.action == "cap"]
    floors = [o for o in rb.overrides if o.action == "floor"]
    for c in caps:
        for f in floors:
            ci, fi = scale.resolve(str(c.value), "cap"), scale.resolve(str(f.value), "floor")
            if ci > fi and jointly_satisfiable(c.when, f.when):
                out.append(error("E151", f"overrides '{c.id}' (cap {c.value}) and '{f.id}' (floor {f.value}) contradict: "
                                         f"both can fire for one customer and the cap is below the floor", c.loc))
    return out


def validate(rb: Rulebook) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    out.extend(check_metrics(rb))
    out.extend(check_weights(rb))
    for f in rb.factors:
        out.extend(method_of(f).validate(f, rb))
    if rb.scale is not None:
        out.extend(check_scale(rb.scale))
    out.extend(check_overrides(rb))
    out.extend(check_report(rb))
    return out


class _NoFacts:
    """The names a constant sub-expression reads: none."""

    def get(self, name: str, default: object = ex.MISSING) -> object:
        return default


def _never_defined(expr: ex.Expr) -> str | None:
    """Why `expr` has no value for any input (a division by a constant zero, or a constant that is
    undefined), or None."""
    for node in ex.walk(expr):
        if isinstance(node, ex.Binary) and node.op == "/" and not ex.names(node.right):
            if ex.evaluate(node.right, _NoFacts()) == 0:
                return f"it divides by {ex.unparse(node.right)}, which is 0"
    if not ex.names(expr) and ex.evaluate(expr, _NoFacts()) is ex.UNDEFINED:
        return "it is a constant without a value"
    return None


def check_metrics(rb: Rulebook) -> list[Diagnostic]:
    """A metric that no input can give a value (E112): the factors on it could only ever score their
    `undefined` or `missing` points."""
    out = []
    for m in rb.metrics:
        why = _never_defined(m.expr)
        if why is not None:
            users = [f.id for f in rb.factors if getattr(f, "metric", None) == m.id]
            on = ("" if not users else f"; factor {users[0]} could never score from its bands" if len(users) == 1
                  else f"; factors {', '.join(users)} could never score from their bands")
            out.append(error("E112", f"metric '{m.id}' is undefined for every input: {why}{on}", m.loc))
    return out


def check_report(rb: Rulebook) -> list[Diagnostic]:
    """The `report:` section names grades, groups, metrics and credit facts the rulebook has (W203)."""
    section = rb.report
    if section is None:
        return []
    out: list[Diagnostic] = []
    where = section.loc
    for g in section.grades:
        if rb.scale is not None and not rb.scale.known(g.grade):
            out.append(warning("W203", f"report: grade '{g.grade}' is not a grade of the scale", where))
    groups = {g.id for g in rb.groups}
    for gid in section.solvency_groups:
        if gid not in groups:
            out.append(warning("W203", f"report: solvency group '{gid}' is not a group of the rulebook", where))
    metrics = {m.id for m in rb.metrics}
    for mid in section.solvency_metrics:
        if mid not in metrics:
            out.append(warning("W203", f"report: solvency metric '{mid}' is not a metric of the rulebook", where))
    for name in section.credit:
        if f"credit.{name}" not in rb.fact_types:
            out.append(warning("W203", f"report: credit fact 'credit.{name}' is not in the facts schema", where))
    return out
