"""Step bands: a factor scored by the band its metric falls in (`metric:` with `bands:`).

`from` is inclusive, `to` exclusive, either end may be open; the bands must cover the whole real
line without overlap (E120, E121, E122) and should be monotonic in the declared `direction`
(W200, W202). A metric that is undefined (x/0) scores the factor's `undefined` points (E125 when
absent). interpolated.py is the same table with points interpolated inside a band.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pingji.diagnostics import Diagnostic, error, suggest, warning
from pingji.lang.expressions import MISSING, UNDEFINED
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
    fixed_score,
    missing_fact,
    range_tests,
)
from pingji.rating.model import Band, Factor
from pingji.rating.rounding import num_json
from pingji.runtime.spec import RuleSpec

__all__ = ["BandScoring", "StepBands", "band_basis", "check_bands"]


@dataclass(frozen=True)
class BandScoring:
    metric: str
    method: str  # step | interpolate
    direction: str | None
    bands: tuple[Band, ...]
    undefined: float


def band_basis(b: Band) -> str:
    """What a band rule's trace row and factor result say about the band."""
    return f"band {b.index + 1}: {b.describe()}{', interpolated' if isinstance(b.points, tuple) else ''}"


def _band_text(b: Band) -> str:
    p = b.points
    shown = f"[{number_text(p[0])}, {number_text(p[1])}]" if isinstance(p, tuple) else number_text(p)
    return f"{b.describe()} points {shown}"


class StepBands(FactorMethod):
    name = "step"
    key = "metric"
    kind = "metric"
    table = "bands"
    fields = ("metric", "bands", "method", "undefined", "direction")
    point_keys = ("bands", "undefined")

    def selects(self, data: Mapping[str, Any]) -> bool:
        return data.get("method", "step") == self.name

    def check_points(self, fid: str, i: int, raw: Mapping[str, Any], diags: list[Diagnostic], src: Source) -> bool:
        """Whether band `i`'s points fit the method (E123 when not)."""
        pts = raw["points"]
        if isinstance(pts, list):
            diags.append(error("E123", f"factor '{fid}' band {i + 1}: step bands take one number of points; "
                                       f"got {pts!r} (use method: interpolate)", src.loc_in("bands", i)))
            return False
        return True

    def parse(self, fid: str, src: Source, ctx: ParseContext, diags: list[Diagnostic]) -> BandScoring | None:
        d, at = src.data, src.field_locs
        ok = True
        if d["metric"] not in ctx.metrics:
            diags.append(error("E103", f"factor '{fid}': unknown metric '{d['metric']}'", at.get("metric", src.loc),
                               hint=suggest(d["metric"], ctx.metrics)))
            ok = False
        if "bands" not in d:
            diags.append(error("E100", f"factor '{fid}' has no 'bands'", src.loc))
            return None
        ok = ctx.reject_foreign(fid, src, self, diags) and ok
        if "undefined" not in d:
            diags.append(error("E125", f"factor '{fid}' has no 'undefined' score (what a ratio with a zero or "
                                       f"missing denominator scores)", src.loc))
            ok = False
        bands = []
        for i, raw in enumerate(d["bands"]):
            if not self.check_points(fid, i, raw, diags, src):
                ok = False
                continue
            pts = raw["points"]
            points: float | tuple[float, float] = (float(pts[0]), float(pts[1])) if isinstance(pts, list) else float(pts)
            lo = float(raw["from"]) if "from" in raw else None
            hi = float(raw["to"]) if "to" in raw else None
            bands.append(Band(i, lo, hi, points, src.loc_in("bands", i), str(raw.get("label", ""))))
        if not ok:
            return None
        return BandScoring(d["metric"], self.name, d.get("direction"), tuple(bands), float(d["undefined"]))

    def validate(self, f: Factor, rb: Any) -> list[Diagnostic]:
        return check_bands(f)

    def scoring_rules(self, f: Factor) -> list[RuleDef]:
        out: list[RuleDef] = []
        for b in f.bands:
            name = f"{f.id}.band{b.index + 1}"
            out.append((name, {"all": [{"m": about("in", f.id, *range_tests(f"in_{f.id}", b.lo, b.hi))}]},
                        RuleSpec(name, "band", b.loc, factor=f, band=b)))
        name = f"{f.id}.undefined"
        out.append((name, {"all": [{"m": about("st", f.id, {f"st_{f.id}": "undefined"})}]},
                    RuleSpec(name, "undefined", f.at("undefined"), factor=f, points=f.undefined)))
        return out

    def band_action(self, spec: RuleSpec, b: Band) -> Action:
        """A band's action: its fixed points (an open band of an interpolated table takes its one number)."""
        metric = spec.factor.metric
        fixed = b.points if not isinstance(b.points, tuple) else b.points[1] if b.lo is None else b.points[0]
        return fixed_score(spec, fixed, band_basis(b), lambda m: {"metric": metric, "value": m[0][1]})

    def action(self, spec: RuleSpec) -> Action:
        f = spec.factor
        assert f is not None
        if spec.kind == "band":
            return self.band_action(spec, spec.band)
        if spec.kind == "undefined":
            assert spec.points is not None
            metric = f.metric
            return fixed_score(spec, spec.points, "undefined value", lambda m: {"metric": metric, "status": "undefined"})
        return super().action(spec)

    def inputs(self, f: Factor) -> Feed:
        fid, metric = f.id, f.metric
        missing = missing_fact(fid)
        undefined = ((fid, "undefined"), f'"st":1,"st_{fid}":"undefined"')
        head = f'"in":1,"in_{fid}":'

        def feed(run: Any, facts: list[Any]) -> None:
            v = run.env.metrics.get(metric, MISSING)
            run.results[fid].input = v
            if v is MISSING:
                facts.append(missing)
            elif v is UNDEFINED:
                facts.append(undefined)
            else:
                facts.append(((fid, v), head + num_json(v)))

        return feed

    def settings(self, f: Factor) -> list[Setting]:
        s = f.scoring
        return [Setting("metric", s.metric, "metric"), Setting("method", s.method, "method", default="step"),
                Setting("direction", s.direction, "direction")]

    def scores(self, f: Factor) -> list[Setting]:
        return [Setting("undefined score", f.undefined, "undefined")]

    def parts(self, f: Factor) -> list[Part]:
        return [Part((0, b.index), f"band {b.index + 1}", f"band {b.index + 1}", _band_text(b), _band_text(b),
                     (b.lo, b.hi, b.points), b.loc) for b in f.bands]


def check_bands(f: Factor) -> list[Diagnostic]:
    """The band table covers the real line once (E120, E121, E122) and follows its direction (W200, W202)."""
    out: list[Diagnostic] = []
    bands = list(f.bands)
    for b in bands:
        if b.lo is not None and b.hi is not None and b.lo >= b.hi:
            out.append(error("E122", f"factor '{f.id}' band {b.index + 1}: 'from' {number_text(b.lo)} is not below "
                                     f"'to' {number_text(b.hi)}", b.loc))
    if out:
        return out
    ordered = sorted(bands, key=lambda b: -math.inf if b.lo is None else b.lo)
    first = ordered[0]
    if first.lo is not None:
        out.append(error("E120", f"factor '{f.id}': no band covers values below {number_text(first.lo)} "
                                 f"(negative values included); give the lowest band no 'from'", first.loc))
    # Sweep from the lowest band up; `a` is the band reaching furthest so far (it may contain
    # several later bands, so comparing neighbours only would report gaps that are covered).
    a = first
    for b in ordered[1:]:
        a_hi = math.inf if a.hi is None else a.hi
        b_lo = -math.inf if b.lo is None else b.lo
        b_hi = math.inf if b.hi is None else b.hi
        if a_hi < b_lo:
            out.append(error("E120", f"factor '{f.id}': bands leave a gap between {number_text(a_hi)} and "
                                     f"{number_text(b_lo)}", b.loc))
        elif a_hi > b_lo:
            lo_text = "-inf" if b.lo is None else number_text(b_lo)
            first_i, second_i = sorted((a.index + 1, b.index + 1))
            out.append(error("E121", f"factor '{f.id}': bands {first_i} and {second_i} overlap "
                                     f"(from {lo_text} to {number_text(min(a_hi, b_hi))})", b.loc))
        if b_hi > a_hi:
            a = b
    if not any(b.hi is None for b in bands):
        top = max(bands, key=lambda b: b.hi if b.hi is not None else math.inf)
        out.append(error("E120", f"factor '{f.id}': no band covers values of {number_text(top.hi or 0)} and above; "
                                 f"give the highest band no 'to'", top.loc))
    if out:
        return out
    # Monotonicity: points read from the lowest band to the highest.
    seq: list[float] = []
    for b in ordered:
        seq.extend(b.points if isinstance(b.points, tuple) else (b.points,))
    up = all(x <= y for x, y in itertools.pairwise(seq))
    down = all(x >= y for x, y in itertools.pairwise(seq))
    shown = ", ".join(number_text(x) for x in seq)
    if f.direction == "increasing" and not up:
        out.append(warning("W200", f"factor '{f.id}' is declared increasing but a higher value scores fewer points "
                                   f"somewhere ({shown}); say direction: none if intended", f.at("bands")))
    elif f.direction == "decreasing" and not down:
        out.append(warning("W200", f"factor '{f.id}' is declared decreasing but a higher value scores more points "
                                   f"somewhere ({shown}); say direction: none if intended", f.at("bands")))
    elif f.direction is None and not (up or down):
        out.append(warning("W202", f"factor '{f.id}': points are not monotonic ({shown}) and "
                                   f"no direction is declared", f.at("bands")))
    return out
