"""Assessed levels: a qualitative factor scored from experts' assessments (`assessed:` with `levels:`).

Each assessment in `facts.assessments` whose `factor` is the factor's `assessed` name scores the
points of its level (numbers 1-5 or labels, not mixed); the factor scores their `aggregate`
(mean or median, rounded half-up to 2 places, or the worst). An assessment of a level the factor
does not have is refused (E503); a factor nobody assessed scores its `missing` points.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pingji.diagnostics import Diagnostic, error
from pingji.errors import FactsError
from pingji.lang.expressions import MISSING
from pingji.numbers import number_text
from pingji.rating.methods.base import (
    Action,
    FactorMethod,
    Feed,
    ParseContext,
    Part,
    RuleDef,
    Setting,
    Source,
    about,
    missing_fact,
)
from pingji.rating.model import Factor, Level
from pingji.rating.rounding import dec, num_json, quantize
from pingji.runtime.spec import RuleSpec

__all__ = ["AssessedLevels", "LevelScoring", "check_levels"]

_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


@dataclass(frozen=True)
class LevelScoring:
    assessed: str
    aggregate: str  # mean | median | worst
    levels: tuple[Level, ...]
    method: str = "levels"


def by_assessed(facts: Mapping[str, Any]) -> dict[Any, list[tuple[int, Any]]]:
    """The customer's assessments that give a level, by the factor name they assess, with their index."""
    out: dict[Any, list[tuple[int, Any]]] = {}
    for i, a in enumerate(facts.get("assessments") or []):
        if (type(a) is dict or isinstance(a, Mapping)) and a.get("level") is not None:
            got = out.get(a.get("factor"))
            if got is None:
                out[a.get("factor")] = [(i, a)]
            else:
                got.append((i, a))
    return out


def check_levels(f: Factor) -> list[Diagnostic]:
    kinds = {type(lv.level) for lv in f.levels}
    if len(kinds) > 1:
        return [error("E101", f"factor '{f.id}': levels mix numbers and labels", f.at("levels"))]
    return []


class AssessedLevels(FactorMethod):
    name = "levels"
    key = "assessed"
    kind = "assessed"
    table = "levels"
    fields = ("assessed", "aggregate", "levels")
    point_keys = ("levels",)

    def parse(self, fid: str, src: Source, ctx: ParseContext, diags: list[Diagnostic]) -> LevelScoring | None:
        d = src.data
        if "levels" not in d:
            diags.append(error("E100", f"factor '{fid}' has no 'levels'", src.loc))
            return None
        if not ctx.reject_foreign(fid, src, self, diags):
            return None
        levels = tuple(Level(k, float(v), src.key_loc_in("levels", k)) for k, v in d["levels"].items())
        return LevelScoring(d["assessed"], d.get("aggregate", "mean"), levels)

    def validate(self, f: Factor, rb: Any) -> list[Diagnostic]:
        return check_levels(f)

    def scoring_rules(self, f: Factor) -> list[RuleDef]:
        out: list[RuleDef] = []
        for lv in f.levels:
            name = f"{f.id}.level{lv.level}"
            out.append((name, {"all": [{"m": about("as", f.id, {f"as_{f.id}": lv.level})}]},
                        RuleSpec(name, "level", lv.loc, factor=f, level=lv.level, points=lv.points)))
        # It matches the last assessment (`z`), so it fires after every level rule.
        name = f"{f.id}.aggregate"
        out.append((name, {"pri": 1, "all": [{"m": about("as", f.id, {"z": 1})}]},
                    RuleSpec(name, "aggregate", f.at("aggregate") if "aggregate" in f.field_locs else f.at("levels"),
                             factor=f)))
        return out

    def action(self, spec: RuleSpec) -> Action:
        if spec.kind == "level":
            return _level(spec)
        if spec.kind == "aggregate":
            return _aggregate(spec)
        return super().action(spec)

    def inputs(self, f: Factor) -> Feed:
        fid, assessed = f.id, f.assessed
        known = tuple(lv.level for lv in f.levels)
        level_json = {lv.level: _dumps(lv.level) for lv in f.levels if type(lv.level) in (int, str)}
        missing = missing_fact(fid)

        def feed(run: Any, facts: list[Any]) -> None:
            scratch = run.scratch
            groups = scratch.get("assessments")
            if groups is None:
                groups = scratch["assessments"] = by_assessed(run.facts)
            mine = groups.get(assessed)
            fr = run.results[fid]
            if not mine:
                fr.input = MISSING
                facts.append(missing)
                return
            for i, a in mine:
                if a["level"] not in known:
                    levels = ", ".join(str(k) for k in known)
                    raise FactsError([error("E503", f"assessments[{i}].level: {a['level']!r} is not a level of "
                                                    f"factor '{fid}' (levels: {levels})",
                                            run.where(("assessments", i, "level")))])
            fr.input = [a["level"] for _, a in mine]
            last = len(mine) - 1
            for k, (i, a) in enumerate(mine):
                level = a["level"]
                lj = level_json.get(level) if type(level) in (int, str) else None
                body = f'"as":1,"as_{fid}":{lj or _dumps(level)},"a":{i}'
                # the last assessment also triggers the aggregate rule
                facts.append(((fid, level, i), body + ',"z":1' if k == last else body))

        return feed

    def summary(self, f: Factor) -> str:
        return f"assessed {f.assessed}, {f.aggregate}"

    def settings(self, f: Factor) -> list[Setting]:
        return [Setting("assessed", f.assessed, "assessed"), Setting("aggregate", f.aggregate, "aggregate", default="mean")]

    def parts(self, f: Factor) -> list[Part]:
        return [Part((1, str(lv.level)), f"level {lv.level}", f"level {lv.level} points", f"points {number_text(lv.points)}",
                     number_text(lv.points), lv.points, lv.loc) for lv in f.levels]


def _level(spec: RuleSpec) -> Action:
    assert spec.points is not None
    points, rule, where = spec.points, spec.name, spec.where

    def level(run: Any, matched: list[Any]) -> list[Any]:
        fid, lv, index = matched[0]
        a = run.facts["assessments"][index]
        assessor = str(a.get("assessor", ""))
        key = ("levels", fid)
        got = run.scratch.get(key)
        if got is None:
            got = run.scratch[key] = []
        got.append((lv, points, assessor))
        row = {"assessor": assessor, "level": lv, "points": points}
        if a.get("date"):
            row["date"] = a["date"]
        if a.get("comment"):
            row["comment"] = a["comment"]
        run.results[fid].assessments.append(row)
        trace = run.trace
        trace.append({"seq": len(trace) + 1, "rule": rule, "kind": "level", "at": where,
                      "matched": {"factor": fid, "level": lv, "assessor": assessor},
                      "asserted": {"assessment_points": points}})
        return []

    return level


def _aggregate(spec: RuleSpec) -> Action:
    f = spec.factor
    assert f is not None
    fid, how, rule, where = f.id, f.aggregate, spec.name, spec.where
    prefix = f'"fs":1,"fs_{fid}":'

    def aggregate(run: Any, matched: list[Any]) -> list[Any]:
        got = run.scratch.get(("levels", fid), [])
        pts = [p for _, p, _ in got]
        if how == "median":
            points = quantize(statistics.median([dec(p) for p in pts]), 2)
        elif how == "worst":
            points = min(pts)
        else:
            points = quantize(sum((dec(p) for p in pts), Decimal(0)) / len(pts), 2)
        levels = ", ".join(f"{lv} by {who or 'unnamed'}" for lv, _, who in got)
        basis = f"{how} of {len(got)} assessment{'s' if len(got) != 1 else ''} ({levels})"
        fr = run.results[fid]
        fr.points, fr.basis, fr.rule, fr.at = points, basis, rule, where
        trace = run.trace
        trace.append({"seq": len(trace) + 1, "rule": rule, "kind": "aggregate", "at": where,
                      "matched": {"factor": fid, "assessment_points": pts, "aggregate": how},
                      "asserted": {"factor": fid, "points": points}, "note": basis})
        return [((fid, points), prefix + num_json(points))]

    return aggregate
