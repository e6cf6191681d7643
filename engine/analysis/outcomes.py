"""The OUTCOMES file of a back-test: which rated customers defaulted, read from CSV.

    customer_id,defaulted,default_date
    C-C-0001,false,
    C-E-0004,true,2026-09-30

A header row names the columns (any order; other columns are ignored): `customer_id` and
`defaulted` are required, `default_date` (YYYY-MM-DD) is optional. `defaulted` is one of
true/false, yes/no, 1/0, y/n (any case). A default date is only allowed on a defaulted row. Every
problem is an error naming file:line — the file cannot be read (E701), a required column is
missing (E702), no data rows (E703), a `defaulted` that is not a boolean (E704), a customer id
given twice or empty (E705), a date that is not YYYY-MM-DD or sits on a non-defaulted row
(E706), a row with more cells than the header (E707).
"""

from __future__ import annotations

import csv
import datetime as _dt
import os
from dataclasses import dataclass

from pingji.diagnostics import Location
from pingji.errors import BacktestError

__all__ = ["Outcome", "read_outcomes"]

TRUE = {"true", "yes", "y", "1"}
FALSE = {"false", "no", "n", "0"}
REQUIRED = ("customer_id", "defaulted")


@dataclass(frozen=True)
class Outcome:
    """One customer's observed outcome over the observation window, and the line it came from."""

    customer_id: str
    defaulted: bool
    default_date: str | None
    line: int


def read_outcomes(path: str | os.PathLike[str]) -> list[Outcome]:
    """The rows of an OUTCOMES CSV file, in file order; `BacktestError` on the first bad row."""
    name = str(path)
    try:
        with open(name, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise BacktestError("outcomes file not found", Location(name), "E701") from None
    except IsADirectoryError:
        raise BacktestError("outcomes file is a directory, not a CSV file", Location(name), "E701") from None
    except UnicodeDecodeError:
        raise BacktestError("outcomes file is not UTF-8 text", Location(name), "E701") from None
    except csv.Error as exc:
        raise BacktestError(f"outcomes file is not CSV: {exc}", Location(name), "E701") from None
    except OSError as exc:
        raise BacktestError(f"cannot read the outcomes file: {exc.strerror}", Location(name), "E701") from None
    if not rows or not any(c.strip() for c in rows[0]):
        raise BacktestError("outcomes file is empty: it needs a header row customer_id,defaulted[,default_date]",
                            Location(name, 1), "E703")
    header = [c.strip().lower() for c in rows[0]]
    for col in REQUIRED:
        if col not in header:
            raise BacktestError(f"the header lacks the column '{col}' (it has: {', '.join(header)})",
                                Location(name, 1), "E702")
    at = {c: header.index(c) for c in ("customer_id", "defaulted", "default_date") if c in header}
    out: list[Outcome] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        loc = Location(name, i)
        if len(row) > len(header):
            raise BacktestError(f"{len(row)} cells but the header has {len(header)}", loc, "E707")
        cells = {c: (row[j].strip() if j < len(row) else "") for c, j in at.items()}
        cid = cells["customer_id"]
        if not cid:
            raise BacktestError("empty customer_id", loc, "E705")
        if cid in seen:
            raise BacktestError(f"customer '{cid}' appears twice (first on line {seen[cid]})", loc, "E705")
        seen[cid] = i
        flag = cells["defaulted"].lower()
        if flag not in TRUE | FALSE:
            raise BacktestError(f"defaulted must be true or false (also yes/no, 1/0); got '{cells['defaulted']}'",
                                loc, "E704")
        defaulted = flag in TRUE
        date = cells.get("default_date") or None
        if date is not None:
            try:
                date = _dt.date.fromisoformat(date).isoformat()
            except ValueError:
                raise BacktestError(f"default_date '{date}' is not a date YYYY-MM-DD", loc, "E706") from None
            if not defaulted:
                raise BacktestError(f"default_date {date} on a customer that did not default", loc, "E706")
        out.append(Outcome(cid, defaulted, date, i))
    if not out:
        raise BacktestError("outcomes file has a header but no rows", Location(name, 1), "E703")
    return out
