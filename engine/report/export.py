"""Exports of stored ratings (`pingji export`; issue 11.5): one row per evaluation with the grade that
stands and the points of every factor, as CSV, JSON Lines or an Excel workbook.

The columns are `pingji.store.listing.COLUMNS`, then one `points.<factor>` column per factor that any
exported evaluation scored, sorted by name (a factor a rulebook does not have is an empty cell in CSV
and Excel, and absent from the row's `points` in JSON Lines). Numbers are written as stored: totals
and points with the rulebook's rounding, PD as a fraction. Rows stream: a million-row export does not
hold the store in memory.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from pingji.store.database import Store
from pingji.store.listing import COLUMNS, Filter, dumps, factor_names, factor_points, select

__all__ = ["FORMATS", "MissingExtra", "export_rows", "write_csv", "write_jsonl", "write_xlsx"]

FORMATS = ("csv", "jsonl", "xlsx")
CHUNK = 2000  # evaluations read per query of factor points


class MissingExtra(Exception):
    """An optional dependency the format needs is not installed."""


def export_rows(store: Store, f: Filter) -> Iterator[dict[str, Any]]:
    """The rows of an export: the listing's columns plus `points` {factor: points}, streamed in chunks."""
    batch: list[dict[str, Any]] = []
    for row in select(store, f):
        batch.append(row)
        if len(batch) >= CHUNK:
            yield from _with_points(store, batch)
            batch = []
    yield from _with_points(store, batch)


def _with_points(store: Store, rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    points = factor_points(store, [r["evaluation_id"] for r in rows])
    for r in rows:
        yield {**r, "points": points[r["evaluation_id"]]}


def _header(factors: list[str]) -> list[str]:
    return [*COLUMNS, *(f"points.{f}" for f in factors)]


def _cells(row: dict[str, Any], factors: list[str]) -> list[Any]:
    return [row[c] for c in COLUMNS] + [row["points"].get(f) for f in factors]


def write_jsonl(store: Store, f: Filter, out: TextIO) -> int:
    n = 0
    for n, row in enumerate(export_rows(store, f), 1):  # noqa: B007 - n counts the rows written
        out.write(dumps(row) + "\n")
    return n


def write_csv(store: Store, f: Filter, out: TextIO) -> int:
    factors = factor_names(store, f)
    w = csv.writer(out, lineterminator="\n")
    w.writerow(_header(factors))
    n = 0
    for n, row in enumerate(export_rows(store, f), 1):  # noqa: B007
        w.writerow(["" if v is None else v for v in _cells(row, factors)])
    return n


def write_xlsx(store: Store, f: Filter, path: Path) -> int:
    try:
        import openpyxl  # the `xlsx` extra: imported only for this format
    except ImportError:
        raise MissingExtra("--format xlsx needs openpyxl: pip install 'pingji[xlsx]'") from None
    factors = factor_names(store, f)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("ratings")
    sheet.append(_header(factors))
    n = 0
    for n, row in enumerate(export_rows(store, f), 1):  # noqa: B007
        sheet.append(_cells(row, factors))
    book.save(path)
    return n
