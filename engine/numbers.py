"""Exact numbers: decimals of the figures written, rounded half-up.

A figure read from YAML or JSON arrives as a float; `to_decimal` (and `money`) takes the decimal
of its shortest representation (0.1 → Decimal('0.1'), never 0.1000000000000000055…).
`round_half_up` is the one half-up rounding (half-way cases away from zero) of the engine.
Amounts are rounded half-up to the cent one at a time (`cents`) and totals are sums of the
rounded amounts; ratios are rounded half-up to 4 places (`ratio`).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

CENT = Decimal("0.01")
RATIO = Decimal("0.0001")

__all__ = ["CENT", "RATIO", "cents", "money", "number_text", "ratio", "round_float", "round_float_exact",
           "round_half_up", "to_decimal", "to_float"]

# Precision enough for any float (up to ~1.8e308) at up to hundreds of places: quantize never
# runs out of digits.
_HALF_UP = Context(prec=1000, rounding=ROUND_HALF_UP)
_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(11)}


def to_decimal(x: Any) -> Decimal:
    """A figure as an exact decimal: 0.1 is Decimal('0.1'), never 0.1000000000000000055…

    A Decimal is returned as is; a float becomes the decimal of its shortest representation;
    an int its exact value; anything else (text) is read as a decimal literal.
    """
    if isinstance(x, Decimal):
        return x
    if isinstance(x, float):
        return Decimal(repr(x))
    if type(x) is int:
        return Decimal(x)
    return Decimal(str(x))


def round_half_up(value: Any, places: int) -> Decimal:
    """`value` (see `to_decimal`) rounded half-up to `places` decimals: 2.675 → 2.68, -0.5 → -1."""
    quantum = _QUANTA.get(places)
    if quantum is None:
        quantum = Decimal(1).scaleb(-places)
    return to_decimal(value).quantize(quantum, context=_HALF_UP)


_SCALE = [10.0 ** p for p in range(16)]


def round_float(x: float, places: int) -> float:
    """A float rounded half-up on its shortest decimal representation: 1.4999999999 → 1.5 at 2 places,
    2.675 → 2.68 (the float 2.675 is 2.67499999…, its repr is 2.675). Metrics and scores use it.

    Half-way cases go away from zero. The float arithmetic below is only trusted far from a
    half-way point; anything near one is decided exactly (`round_float_exact`).
    """
    if places < len(_SCALE):
        scale = _SCALE[places]
        scaled = x * scale
        if -1e9 < scaled < 1e9:  # float error here stays far below the 1e-6 margin
            low = math.floor(scaled)
            frac = scaled - low
            if abs(frac - 0.5) > 1e-6:
                return (low + (1 if frac > 0.5 else 0)) / scale + 0.0
    return round_float_exact(x, places)


def round_float_exact(x: float, places: int) -> float:
    """The reference for `round_float`: always through the exact decimal."""
    return float(round_half_up(float(x), places)) + 0.0  # + 0.0 normalises -0.0


def to_float(d: Decimal, places: int) -> float:
    """An exact decimal rounded half-up to `places`, as a float (what a trace or a JSON result shows)."""
    return float(round_half_up(d, places)) + 0.0


def money(x: Any) -> Decimal:
    """A figure as an exact decimal (`to_decimal`): 0.1 is Decimal('0.1')."""
    return to_decimal(x)


def cents(d: Decimal) -> Decimal:
    """Rounded half-up to the cent: 2,500.005 → 2,500.01."""
    return round_half_up(d, 2)


def ratio(num: Decimal, den: Decimal) -> Decimal | None:
    """num / den rounded half-up to 4 places; None when den is 0 (the ratio does not apply)."""
    return None if den == 0 else round_half_up(num / den, 4)


def number_text(x: float | None, none: str = "none") -> str:
    """A number as messages and descriptions show it: an integral one without a fraction (3, not
    3.0), any other as Python writes the float; `none` for None."""
    if x is None:
        return none
    return str(int(x)) if float(x).is_integer() else repr(float(x))
