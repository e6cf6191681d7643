"""Grade migration and stability between two dates (DOMAIN §7), for one rating rulebook's grades.

- Migration matrix M_ij = n_ij / n_i over the customers rated by the rulebook at both dates: i the
  effective grade at the earlier date, j at the later. Diagonal share = Σ n_ii / n; within one
  notch = Σ_{|i−j| <= 1} n_ij / n; up rate = share moved to a better grade, down rate = to a worse.
- PSI = Σ_i (A_i − E_i)·ln(A_i / E_i) over the grades, E the grade shares of every customer rated
  by the rulebook at the earlier date, A at the later. A grade empty at one date would make a
  term infinite: its count there is taken as ½ (half a customer) before the shares are formed;
  grades empty at both dates are left out; without ratings at one of the dates it is undefined
  (None). DOMAIN's bands: < 0.10 stable, 0.10–0.25 watch,
  > 0.25 shifted — judged by the validation rulebook, not here.

Every share and the PSI are rounded to 6 decimal places.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["migration", "psi"]

PLACES = 6


def psi(expected: Mapping[str, int], actual: Mapping[str, int], grades: Sequence[str]) -> float | None:
    """The population stability index of `actual` counts against `expected` counts, over `grades`."""
    used = [g for g in grades if expected.get(g, 0) or actual.get(g, 0)]
    if not used:
        return None
    e = {g: expected.get(g, 0) or 0.5 for g in used}
    a = {g: actual.get(g, 0) or 0.5 for g in used}
    te, ta = sum(e.values()), sum(a.values())
    return sum((a[g] / ta - e[g] / te) * math.log((a[g] / ta) / (e[g] / te)) for g in used)


def migration(earlier: Sequence[Mapping[str, Any]], later: Sequence[Mapping[str, Any]],
              grades: Sequence[str]) -> dict[str, Any]:
    """Migration matrix and PSI between two sets of ratings (rows with customer_id, effective_grade)."""
    rank = {g: i for i, g in enumerate(grades)}
    before = {str(r["customer_id"]): str(r["effective_grade"]) for r in earlier}
    after = {str(r["customer_id"]): str(r["effective_grade"]) for r in later}
    pairs = [(before[c], after[c]) for c in sorted(before) if c in after
             and before[c] in rank and after[c] in rank]
    counts: dict[str, dict[str, int]] = {g: {} for g in grades}
    for i, j in pairs:
        counts[i][j] = counts[i].get(j, 0) + 1
    n = len(pairs)
    matrix = {i: {j: round(c / sum(row.values()), PLACES) for j, c in row.items()}
              for i, row in counts.items() if row}

    def share(test: Any) -> float | None:
        return round(sum(1 for i, j in pairs if test(rank[i], rank[j])) / n, PLACES) if n else None

    e_counts: dict[str, int] = {}
    a_counts: dict[str, int] = {}
    for g in before.values():
        e_counts[g] = e_counts.get(g, 0) + 1
    for g in after.values():
        a_counts[g] = a_counts.get(g, 0) + 1
    p = psi(e_counts, a_counts, grades) if before and after else None
    return {
        "customers": n,
        "counts": {i: row for i, row in counts.items() if row},
        "matrix": matrix,
        "diagonal": share(lambda i, j: i == j),
        "within_one_notch": share(lambda i, j: abs(i - j) <= 1),
        "up": share(lambda i, j: j < i),
        "down": share(lambda i, j: j > i),
        "psi": None if p is None else round(p, PLACES),
        "distribution_from": {g: e_counts[g] for g in grades if g in e_counts},
        "distribution_to": {g: a_counts[g] for g in grades if g in a_counts},
    }
