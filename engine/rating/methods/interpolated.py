"""Interpolated bands (`method: interpolate`): the band table of bands.py, points linear inside a band.

A closed band's `points` is a pair `[at_from, at_to]`; a value inside it scores the straight
line between them, computed in exact decimals and rounded half-up to 2 places. The open-ended
outer bands take one number: values past the grid clamp to it (E123 otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pingji.diagnostics import Diagnostic, error
from pingji.rating.methods.bands import StepBands, band_basis
from pingji.rating.methods.base import Action, Source
from pingji.rating.model import Band
from pingji.rating.rounding import dec, num_json, quantize
from pingji.runtime.spec import RuleSpec

__all__ = ["InterpolatedBands"]


class InterpolatedBands(StepBands):
    name = "interpolate"

    def check_points(self, fid: str, i: int, raw: Mapping[str, Any], diags: list[Diagnostic], src: Source) -> bool:
        pts = raw["points"]
        open_end = "from" not in raw or "to" not in raw
        if not open_end and not isinstance(pts, list):
            diags.append(error("E123", f"factor '{fid}' band {i + 1}: method interpolate needs points "
                                       f"[at_from, at_to]; got {pts!r}", src.loc_in("bands", i)))
            return False
        if open_end and isinstance(pts, list):
            diags.append(error("E123", f"factor '{fid}' band {i + 1}: an open-ended band cannot interpolate; "
                                       f"give it one number of points (values past the grid clamp)",
                               src.loc_in("bands", i)))
            return False
        return True

    def band_action(self, spec: RuleSpec, b: Band) -> Action:
        if not isinstance(b.points, tuple) or b.lo is None or b.hi is None:
            return super().band_action(spec, b)
        f = spec.factor
        fid, metric, rule, where = f.id, f.metric, spec.name, spec.where
        prefix = f'"fs":1,"fs_{fid}":'
        p0, lo = dec(b.points[0]), dec(b.lo)
        slope, span = dec(b.points[1]) - p0, dec(b.hi) - lo
        basis = band_basis(b)

        def interpolated(run: Any, matched: list[Any]) -> list[Any]:
            v = matched[0][1]
            points = quantize(p0 + slope * (dec(v) - lo) / span, 2)
            fr = run.results[fid]
            fr.points, fr.basis, fr.rule, fr.at = points, basis, rule, where
            trace = run.trace
            trace.append({"seq": len(trace) + 1, "rule": rule, "kind": "band", "at": where,
                          "matched": {"metric": metric, "value": v}, "asserted": {"factor": fid, "points": points},
                          "note": basis})
            return [((fid, points), prefix + num_json(points))]

        return interpolated
