"""One factor's chain in a stored evaluation's trace: metric -> band -> group -> grade.

`pingji trace E000001 --factor current_ratio` prints it.
"""

from __future__ import annotations

from typing import Any

from pingji.diagnostics import did_you_mean
from pingji.errors import RecordNotFound

__all__ = ["UnknownFactor", "factor_chain"]


class UnknownFactor(RecordNotFound):
    """The evaluation has no factor with that id; the message names the factors it has."""


def factor_chain(record: dict[str, Any], factor: str) -> list[dict[str, Any]]:
    """The rows of a stored evaluation's trace (`record`, as Store.record returns it) that lead to
    one factor's points, and from them to the grade: the metrics it is computed from (and theirs),
    its band or level, its group's subtotal, the total, the grade, the final grade and the PD. UnknownFactor
    when the evaluation has no such factor."""
    ids = [f["id"] for f in record["factors"]]
    if factor not in ids:
        raise UnknownFactor(
            f"no factor '{factor}' in evaluation {record['evaluation_id']}"
            f"{did_you_mean(factor, ids)}; its factors: {', '.join(ids)}"
        )
    group = next(f["group"] for f in record["factors"] if f["id"] == factor)
    rows = record["trace"]

    def about(r: dict[str, Any]) -> bool:
        m, a = r["matched"], r["asserted"]
        return (isinstance(a, dict) and a.get("factor") == factor) or (
            isinstance(m, dict) and m.get("factor") == factor
        )

    scoring = [r for r in rows if about(r)]
    metrics = {
        r["matched"]["metric"]
        for r in scoring
        if isinstance(r["matched"], dict) and r["matched"].get("metric")
    }
    by_metric = {r["rule"][len("metric.") :]: r for r in rows if r["kind"] == "metric"}
    todo = list(metrics)
    while todo:  # the metrics a metric is computed from
        row = by_metric.get(todo.pop())
        for name in row["matched"] if row and isinstance(row["matched"], dict) else {}:
            if name in by_metric and name not in metrics:
                metrics.add(name)
                todo.append(name)
    keep = {id(r) for r in scoring}
    keep |= {id(by_metric[m]) for m in metrics if m in by_metric}
    for r in rows:
        a = r["asserted"] if isinstance(r["asserted"], dict) else {}
        if a.get("group") == group or r["kind"] in ("total", "grade", "final", "pd"):
            keep.add(id(r))
    return [r for r in rows if id(r) in keep]
