"""Exact money: amounts as decimals of the figures written, rounded half-up to the cent.

A figure read from YAML or JSON arrives as a float; `money` takes the decimal of its shortest
representation (0.1 → Decimal('0.1'), never 0.1000000000000000055…). Amounts are rounded half-up
to the cent one at a time (`cents`) and totals are sums of the rounded amounts; ratios are rounded
half-up to 4 places (`ratio`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
RATIO = Decimal("0.0001")

__all__ = ["CENT", "RATIO", "cents", "money", "ratio"]


def money(x: Any) -> Decimal:
    """A figure as an exact decimal: 0.1 is Decimal('0.1'), never 0.1000000000000000055…"""
    return x if isinstance(x, Decimal) else Decimal(repr(x) if isinstance(x, float) else str(x))


def cents(d: Decimal) -> Decimal:
    """Rounded half-up to the cent: 2,500.005 → 2,500.01."""
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


def ratio(num: Decimal, den: Decimal) -> Decimal | None:
    """num / den rounded half-up to 4 places; None when den is 0 (the ratio does not apply)."""
    return None if den == 0 else (num / den).quantize(RATIO, rounding=ROUND_HALF_UP)
