"""Expression fields of a rulebook, and the order its metrics are computed in.

Rating and decision rulebooks both write metrics (`expr:`) and conditions (`when:`) in the
expression language; both parse them here, with diagnostics, and order metrics by what they read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pingji.diagnostics import Diagnostic, Location, error
from pingji.lang import expressions as ex

__all__ = ["MetricSite", "metric_order", "parse_expr"]


class MetricSite(Protocol):
    """Where a metric is written: what a cycle diagnostic points at."""

    @property
    def loc(self) -> Location: ...

    @property
    def field_locs(self) -> Mapping[str, Location]: ...


def parse_expr(text: str, loc: Location, types: Mapping[str, str], expect: str, diags: list[Diagnostic],
               locate: Any = None) -> ex.Expr | None:
    """The parsed and type-checked expression, or None when it has errors (added to `diags`)."""
    tree, problems = ex.parse_checked(text, loc, types, expect, locate)
    diags.extend(problems)
    return tree if not any(p.is_error for p in problems) else None


def metric_order(metrics: Mapping[str, MetricSite], parsed: Mapping[str, ex.Expr | None],
                 diags: list[Diagnostic]) -> list[str]:
    """Metric ids in dependency order; cycles are reported (E110) and their members dropped."""
    deps = {m: sorted(n for n in ex.names(parsed[m]) if n in metrics) if parsed[m] else [] for m in metrics}
    order: list[str] = []
    state: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def visit(m: str, stack: list[str]) -> bool:
        if state.get(m) == 2:
            return True
        if state.get(m) == 1:
            cycle = stack[stack.index(m):] + [m]
            key = frozenset(cycle)
            if key not in reported:
                reported.add(key)
                diags.append(error("E110", f"metric cycle: {' -> '.join(cycle)}", metrics[m].field_locs.get("expr", metrics[m].loc)))
            return False
        state[m] = 1
        ok = all([visit(d, stack + [m]) for d in deps[m]])
        state[m] = 2
        if ok:
            order.append(m)
        return ok

    for m in metrics:
        visit(m, [])
    return order
