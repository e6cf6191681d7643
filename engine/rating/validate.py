"""Semantic checks of a resolved rulebook (after the schema check and `extends`).

Weights, band tables over the whole real line, grade scale order, PDs, master-scale mapping and
overrides that can never fire or contradict each other, and the names the `report:` section uses.
Returns every problem at once.
"""

from __future__ import annotations

import math

from pingji.lang.conditions import jointly_satisfiable, satisfiable
from pingji.diagnostics import Diagnostic, error, warning
from pingji.rating.model import Factor, Rulebook, Scale

WEIGHT_TOLERANCE = 1e-6


def _n(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def check_weights(rb: Rulebook) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if not rb.groups:
        out.append(error("E133", "rulebook has no groups (and so no factors): nothing would be scored", rb.loc))
    total = sum(g.weight for g in rb.groups)
    if rb.groups and abs(total - 100) > WEIGHT_TOLERANCE:
        parts = " + ".join(f"{g.id} {_n(g.weight)}" for g in rb.groups)
        out.append(error("E130", f"group weights add up to {_n(round(total, 6))}, not 100 ({parts})", rb.groups[0].loc))
    for g in rb.groups:
        members = [f for f in rb.factors if f.group == g.id]
        if not members:
            out.append(error("E132", f"group '{g.id}' has no factors", g.loc))
            continue
        s = sum(f.weight for f in members)
        if abs(s - 100) > WEIGHT_TOLERANCE:
            parts = " + ".join(f"{f.id} {_n(f.weight)}" for f in members)
            out.append(error("E131", f"factor weights in group '{g.id}' add up to {_n(round(s, 6))}, not 100 ({parts})",
                             g.loc))
    return out


def check_bands(f: Factor) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    bands = list(f.bands)
    for b in bands:
        if b.lo is not None and b.hi is not None and b.lo >= b.hi:
            out.append(error("E122", f"factor '{f.id}' band {b.index + 1}: 'from' {_n(b.lo)} is not below 'to' {_n(b.hi)}",
                             b.loc))
    if out:
        return out
    ordered = sorted(bands, key=lambda b: -math.inf if b.lo is None else b.lo)
    first = ordered[0]
    if first.lo is not None:
        out.append(error("E120", f"factor '{f.id}': no band covers values below {_n(first.lo)} (negative values "
                                 f"included); give the lowest band no 'from'", first.loc))
    # Sweep from the lowest band up; `a` is the band reaching furthest so far (it may contain
    # several later bands, so comparing neighbours only would report gaps that are covered).
    a = first
    for b in ordered[1:]:
        a_hi = math.inf if a.hi is None else a.hi
        b_lo = -math.inf if b.lo is None else b.lo
        b_hi = math.inf if b.hi is None else b.hi
        if a_hi < b_lo:
            out.append(error("E120", f"factor '{f.id}': bands leave a gap between {_n(a_hi)} and {_n(b_lo)}",
                             b.loc))
        elif a_hi > b_lo:
            lo_text = "-inf" if b.lo is None else _n(b_lo)
            first_i, second_i = sorted((a.index + 1, b.index + 1))
            out.append(error("E121", f"factor '{f.id}': bands {first_i} and {second_i} overlap "
                                     f"(from {lo_text} to {_n(min(a_hi, b_hi))})", b.loc))
        if b_hi > a_hi:
            a = b
    if not any(b.hi is None for b in bands):
        top = max(bands, key=lambda b: b.hi if b.hi is not None else math.inf)
        out.append(error("E120", f"factor '{f.id}': no band covers values of {_n(top.hi or 0)} and above; "
                                 f"give the highest band no 'to'", top.loc))
    if out:
        return out
    # Monotonicity: points read from the lowest band to the highest.
    seq: list[float] = []
    for b in ordered:
        seq.extend(b.points if isinstance(b.points, tuple) else (b.points,))
    up = all(x <= y for x, y in zip(seq, seq[1:]))
    down = all(x >= y for x, y in zip(seq, seq[1:]))
    if f.direction == "increasing" and not up:
        out.append(warning("W200", f"factor '{f.id}' is declared increasing but a higher value scores fewer points "
                                   f"somewhere ({', '.join(_n(x) for x in seq)}); say direction: none if intended",
                           f.at("bands")))
    elif f.direction == "decreasing" and not down:
        out.append(warning("W200", f"factor '{f.id}' is declared decreasing but a higher value scores more points "
                                   f"somewhere ({', '.join(_n(x) for x in seq)}); say direction: none if intended",
                           f.at("bands")))
    elif f.direction is None and not (up or down):
        out.append(warning("W202", f"factor '{f.id}': points are not monotonic ({', '.join(_n(x) for x in seq)}) and "
                                   f"no direction is declared", f.at("bands")))
    return out


def check_levels(f: Factor) -> list[Diagnostic]:
    out = []
    kinds = {type(lv.level) for lv in f.levels}
    if len(kinds) > 1:
        out.append(error("E101", f"factor '{f.id}': levels mix numbers and labels", f.at("levels")))
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
            out.append(error("E140", f"grade cut-offs must decrease from best to worst: '{b.grade}' from {_n(blo)} is not "
                                     f"below '{a.grade}' from {_n(alo)}", b.loc))
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
                from pingji.diagnostics import did_you_mean

                out.append(error("E142", f"grade '{g.grade}': unknown coarse grade '{g.coarse}'"
                                         f"{did_you_mean(g.coarse, coarse)}", g.loc))
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
    out.extend(check_weights(rb))
    for f in rb.factors:
        out.extend(check_bands(f) if f.kind == "metric" else check_levels(f))
    if rb.scale is not None:
        out.extend(check_scale(rb.scale))
    out.extend(check_overrides(rb))
    out.extend(check_report(rb))
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
