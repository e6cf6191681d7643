"""The `report:` section of a rating rulebook (already checked by the JSON Schema) as a `ReportPolicy`.

It is a top-level key, so `extends` passes it down whole: a child that writes its own `report:`
replaces the parent's. See docs/rulebook-format.md, "The report section".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pingji.diagnostics import Location
from pingji.rating.model import GradeGuidance, ReasonMeasure, ReportPolicy, Text

DEFAULT_TOP_REASONS = 3


def _text(value: Any) -> Text:
    return Text(str(value.get("zh", "")), str(value.get("en", ""))) if isinstance(value, Mapping) else Text()


def parse_report(raw: Mapping[str, Any], loc: Location) -> ReportPolicy:
    """The model of a schema-valid `report:` mapping; `loc` is where it is written."""
    grades = tuple(
        GradeGuidance(str(grade), _text(g["meaning"]), tuple(_text(m) for m in g["measures"]),
                      int(g["review_months"]) if "review_months" in g else None)
        for grade, g in raw["grades"].items()
    )
    solvency = raw.get("solvency") or {}
    reasons = raw["reasons"]
    return ReportPolicy(
        grades=grades,
        solvency_groups=tuple(str(g) for g in solvency.get("groups") or ()),
        solvency_metrics=tuple(str(m) for m in solvency.get("metrics") or ()),
        credit=tuple(str(k) for k in raw.get("credit") or ()),
        reasons=tuple(ReasonMeasure(tuple(str(s) for s in r["match"]), _text(r["measure"]))
                      for r in reasons["by_factor"]),
        reason_missing=_text(reasons["missing"]),
        reason_undefined=_text(reasons["undefined"]),
        reason_otherwise=_text(reasons["otherwise"]),
        top_reasons=int(reasons.get("top", DEFAULT_TOP_REASONS)),
        loc=loc,
    )
