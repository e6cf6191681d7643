"""The result of rating one customer: `Evaluation` (scores, grades, overrides, reason codes, trace)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pingji.lang import expressions as ex
from pingji.rating.methods import method_of
from pingji.rating.model import Factor, Rulebook
from pingji.rating.rounding import round_half_up
from pingji.runtime.ruleset import DURABLE_RULES_VERSION
from pingji.version import __version__

__all__ = ["ENGINE_VERSION", "Evaluation", "FactorResult", "canonical_json", "jsonable"]

ENGINE_VERSION = __version__


_canonical = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def canonical_json(value: Any) -> str:
    return _canonical(value)


def jsonable(v: Any) -> Any:
    if v is ex.MISSING:
        return "missing"
    if v is ex.UNDEFINED:
        return "undefined"
    return v


@dataclass(slots=True)
class FactorResult:
    factor: Factor
    points: float = 0.0
    basis: str = ""  # "band 2: 1.4 <= x < 1.8", "level 4 (median of 2)", "missing", "undefined"
    rule: str = ""
    at: str = ""
    input: Any = None
    assessments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Evaluation:
    """The result of rating one customer: scores, grades, overrides, reason codes and the trace."""

    rulebook: Rulebook
    customer_id: str
    facts_hash: str
    metrics: dict[str, dict[str, Any]]
    factors: list[FactorResult]
    groups: dict[str, float]
    total: float
    model_grade: str
    final_grade: str
    overrides: list[dict[str, Any]]
    pd: float | None
    coarse_grade: str | None
    trace: list[dict[str, Any]]
    # findings of the rulebook's consistency checks of severity warning (rating.checks): code W540,
    # check id, message {zh, en}, the check's `at`, the facts with value and line, and `location`
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def grade(self) -> str:
        return self.final_grade

    def factor(self, fid: str) -> FactorResult:
        for f in self.factors:
            if f.factor.id == fid:
                return f
        raise KeyError(fid)

    def reason_codes(self, n: int = 5) -> list[dict[str, Any]]:
        """The factors that cost the most total-score points against their maximum, worst first."""
        rb = self.rulebook
        gw = {g.id: g.weight for g in rb.groups}
        rows = []
        for order, fr in enumerate(self.factors):
            eff = fr.factor.weight * gw[fr.factor.group] / 10000
            lost = (100 - fr.points) * eff
            if lost > 0:
                rows.append((-lost, order, fr, lost))
        rows.sort(key=lambda r: (r[0], r[1]))
        return [
            {"factor": fr.factor.id, "title": fr.factor.title.to_dict(), "points": fr.points,
             "points_lost": round_half_up(lost, 2), "basis": fr.basis}
            for _, _, fr, lost in rows[:n]
        ]

    def to_dict(self) -> dict[str, Any]:
        rb = self.rulebook
        gw = {g.id: g.weight for g in rb.groups}
        return {
            "rulebook": {"id": rb.id, "version": rb.version, "hash": rb.content_hash, "file": rb.file,
                         "title": rb.title.to_dict()},
            "engine": {"pingji": ENGINE_VERSION, "durable_rules": DURABLE_RULES_VERSION},
            "customer": {"id": self.customer_id, "facts_hash": self.facts_hash},
            "metrics": self.metrics,
            "factors": [
                {
                    "id": fr.factor.id, "title": fr.factor.title.to_dict(), "group": fr.factor.group,
                    "kind": fr.factor.kind, **method_of(fr.factor).describe(fr.factor),
                    "weight": fr.factor.weight, "points": fr.points, "max_points": 100,
                    "contribution": round_half_up(fr.points * fr.factor.weight * gw[fr.factor.group] / 10000, 4),
                    "basis": fr.basis, "input": jsonable(fr.input), "rule": fr.rule, "at": fr.at,
                    **({"assessments": fr.assessments} if fr.assessments else {}),
                }
                for fr in self.factors
            ],
            "groups": [
                {"id": g.id, "title": g.title.to_dict(), "weight": g.weight,
                 "subtotal": round_half_up(self.groups[g.id], 4),
                 "contribution": round_half_up(self.groups[g.id] * g.weight / 100, 4)}
                for g in rb.groups
            ],
            "total": self.total,
            "model_grade": self.model_grade,
            "overrides": self.overrides,
            "final_grade": self.final_grade,
            "coarse_grade": self.coarse_grade,
            "pd": self.pd,
            "reason_codes": self.reason_codes(),
            "trace": self.trace,
            "warnings": self.warnings,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, indent=2, allow_nan=False)
