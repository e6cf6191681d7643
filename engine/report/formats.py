"""Formatting numbers and escaping text for the Markdown reports (pure functions, no locale)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from pingji.numbers import round_half_up, to_decimal

DASH = "—"

_ENTITY_LIKE = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]#])")


def esc(value: Any) -> str:
    """Plain text for a Markdown paragraph or table cell: no markup, no HTML, one line."""
    s = str(value)
    s = " ".join(s.split())  # newlines and tabs would break a table row
    s = _MD_SPECIAL.sub(r"\\\1", s)
    s = _ENTITY_LIKE.sub("&amp;", s)
    s = s.replace("<", "&lt;").replace("|", "\\|").replace("~", "&#126;")
    return s


def code(value: Any) -> str:
    """A code span when that is safe (no backtick or pipe inside), else escaped plain text."""
    s = " ".join(str(value).split())
    if not s:
        return DASH
    if "`" in s or "|" in s or "\\" in s:
        return esc(s)
    return f"`{s}`"


def is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _decimal(v: int | float) -> Decimal | None:
    try:
        d = to_decimal(v if isinstance(v, int) else float(v))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def dec(v: Any) -> Decimal:
    """An int or float (already checked by `is_number`) as the Decimal of its shortest repr."""
    return to_decimal(v if isinstance(v, int) else float(v))


def fmt_fixed(v: Any, places: int) -> str:
    """A number rounded half-up (on its decimal representation) to `places`, with thousands separators."""
    if not is_number(v):
        return DASH if v is None else esc(v)
    d = _decimal(v)
    if d is None:
        return esc(v)
    places = max(0, int(places))
    q = round_half_up(d, places)
    if q == 0:
        q = abs(q)  # no "-0.00"
    return f"{q:,f}"


def fmt_money(v: Any) -> str:
    """An amount: thousands separators, exactly two decimals, half-up: 1234.005 → 1,234.01."""
    return fmt_fixed(v, 2)


def fmt_number(v: Any) -> str:
    """A number as given (no rounding), with thousands separators: 2000 → 2,000; 0.0876 → 0.0876."""
    if not is_number(v):
        return DASH if v is None else esc(v)
    d = _decimal(v)
    if d is None:
        return esc(v)
    if d == d.to_integral_value() and abs(d) < Decimal(10) ** 15:
        return f"{int(d):,}"
    return f"{d.normalize():,f}"


def fmt_percent(v: Any) -> str:
    """A probability as a percentage, at least two decimals, more when the value has them: 0.005 → 0.50%."""
    if not is_number(v):
        return DASH
    d = _decimal(v)
    if d is None:
        return DASH
    pct = (d * 100).normalize()
    exponent = pct.as_tuple().exponent
    places = max(2, min(6, -exponent if isinstance(exponent, int) else 2))
    return f"{round_half_up(pct, places):f}%"


def as_map(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, Mapping) else {}


def as_list(v: Any) -> list[Any]:
    return list(v) if isinstance(v, Sequence) and not isinstance(v, str | bytes) else []


def compact_json(v: Any) -> str:
    try:
        return json.dumps(v, ensure_ascii=False, separators=(", ", ": "), default=str)
    except (TypeError, ValueError):
        return str(v)
