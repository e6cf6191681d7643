"""Finding what a store holds: evaluations filtered by customer, rulebook, effective grade, rating
date, batch and whether an expert overrode them (`pingji list`, `pingji export`; issue 11.5).

Every row carries the grade that stands — the last expert override, else the rulebook's final grade —
and its evaluation id as the command line shows it (E000001), so that a listing, an export, `history`
and the store's `latest_ratings` view agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pingji.store.database import Store
from pingji.store.ids import format_id

__all__ = ["COLUMNS", "Filter", "factor_names", "factor_points", "select"]

# The columns of a listing, in order (an export adds the factor points).
COLUMNS = ("evaluation_id", "customer_id", "customer_type", "industry", "rated_on", "evaluated_at",
           "rulebook_id", "rulebook_version", "total", "model_grade", "final_grade", "effective_grade",
           "coarse_grade", "pd", "overrides", "batch_id")


@dataclass(frozen=True)
class Filter:
    """What to list; every field left None does not filter. Dates are ISO days, both ends included."""

    customer: str | None = None
    rulebook: str | None = None
    grade: str | None = None  # the effective grade
    date_from: str | None = None
    date_to: str | None = None
    batch: str | None = None
    overridden: bool | None = None
    latest: bool = False  # each customer's latest evaluation only (by rating date)
    limit: int | None = None


_RATED_ON = "e.rated_on"  # the rating date: the facts' as_of, or --rated-on (issue 12.2)


def _sql(f: Filter) -> tuple[str, dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {}
    if f.customer is not None:
        where.append("e.customer_id = :customer")
        params["customer"] = f.customer
    if f.rulebook is not None:
        where.append("e.rulebook_id = :rulebook")
        params["rulebook"] = f.rulebook
    if f.date_from is not None:
        where.append(f"{_RATED_ON} >= :date_from")
        params["date_from"] = f.date_from
    if f.date_to is not None:
        where.append(f"{_RATED_ON} <= :date_to")
        params["date_to"] = f.date_to
    if f.batch is not None:
        where.append("e.batch_id = :batch")
        params["batch"] = f.batch
    if f.latest:
        # the latest rating date, the last stored among equal dates (as Store.latest_ratings)
        where.append("e.id = (SELECT l.id FROM evaluations l WHERE l.customer_id = e.customer_id "
                     "ORDER BY l.rated_on DESC, l.id DESC LIMIT 1)")
    outer = []
    if f.grade is not None:
        outer.append("effective_grade = :grade")
        params["grade"] = f.grade
    if f.overridden is not None:
        outer.append("overrides > 0" if f.overridden else "overrides = 0")
    inner = (
        f"SELECT e.id, e.customer_id, e.customer_type, e.industry, {_RATED_ON} AS rated_on, e.evaluated_at, "
        "e.rulebook_id, e.rulebook_version, e.total, e.model_grade, e.final_grade, "
        "coalesce((SELECT o.new_grade FROM overrides o WHERE o.evaluation_id = e.id ORDER BY o.id DESC LIMIT 1), "
        "e.final_grade) AS effective_grade, e.coarse_grade, e.pd, "
        "(SELECT count(*) FROM overrides o WHERE o.evaluation_id = e.id) AS overrides, e.batch_id "
        f"FROM evaluations e {'WHERE ' + ' AND '.join(where) if where else ''}"
    )
    sql = f"SELECT * FROM ({inner}) {'WHERE ' + ' AND '.join(outer) if outer else ''} ORDER BY id"
    if f.limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = f.limit
    return sql, params


def select(store: Store, f: Filter) -> Iterator[dict[str, Any]]:
    """The evaluations that pass the filter, oldest first, as dicts with COLUMNS' keys (streamed)."""
    sql, params = _sql(f)
    with store._guard():  # noqa: SLF001 - the store's own error translation
        for row in store.db.query(sql, params):
            row["evaluation_id"] = format_id(row.pop("id"))
            yield {k: row[k] for k in COLUMNS}


def factor_names(store: Store, f: Filter) -> list[str]:
    """Every factor that an evaluation passing the filter scored, sorted (the columns of an export)."""
    sql, params = _sql(f)
    with store._guard():  # noqa: SLF001
        return [name for (name,) in store.conn.execute(
            f"SELECT DISTINCT factor FROM factor_scores WHERE evaluation_id IN (SELECT id FROM ({sql})) "
            "ORDER BY factor", params)]


def factor_points(store: Store, evaluation_ids: list[str]) -> dict[str, dict[str, float]]:
    """evaluation id -> {factor: points} for the evaluations named."""
    out: dict[str, dict[str, float]] = {e: {} for e in evaluation_ids}
    numbers = [int(e[1:]) for e in evaluation_ids]
    with store._guard():  # noqa: SLF001
        for start in range(0, len(numbers), 500):  # SQLite's limit on bound parameters
            chunk = numbers[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            for n, factor, points in store.conn.execute(
                    f"SELECT evaluation_id, factor, points FROM factor_scores WHERE evaluation_id IN ({marks}) "
                    "ORDER BY evaluation_id, factor", chunk):
                out[format_id(n)][factor] = points
    return out


def dumps(row: dict[str, Any]) -> str:
    """One row as canonical JSON (sorted keys, no NaN)."""
    return json.dumps(row, sort_keys=True, ensure_ascii=False, allow_nan=False)
