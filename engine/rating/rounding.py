"""The rating's arithmetic, on pingji.numbers: half-up rounding on the shortest decimal
representation, exact decimals.

Rounding (all half-up on the shortest decimal representation, so results are deterministic):
metric values to their precision; interpolated and aggregated points to 2 places (computed in
exact decimal arithmetic); group subtotals and the total exactly in decimals, the total rounded
to 2 places (so 34.585 is 34.59, never lost to a binary sum such as 34.584999999999994).
"""

from __future__ import annotations

import math
from decimal import Decimal

from pingji.numbers import round_float, round_float_exact, to_decimal, to_float

__all__ = ["HUNDRED", "dec", "num_json", "quantize", "round_half_up", "round_half_up_exact"]

round_half_up = round_float  # a float rounded half-up to `places` (metrics, points)
round_half_up_exact = round_float_exact  # its reference, always through the exact decimal
quantize = to_float  # an exact decimal rounded half-up to `places`, as a float (subtotals, the total)

HUNDRED = Decimal(100)
_DEC: dict[float, Decimal] = {}


def dec(x: float) -> Decimal:
    """`numbers.to_decimal`, remembered: the same few band edges and points come back for every customer."""
    d = _DEC.get(x)
    if d is None:
        d = to_decimal(x)
        if len(_DEC) < 100_000:
            _DEC[x] = d
    return d


def num_json(v: float) -> str:
    """A finite number as JSON (the engine takes JSON text; NaN and infinities never get here)."""
    if type(v) is float and (v != v or v in (math.inf, -math.inf)):
        raise ValueError(f"cannot assert a non-finite number: {v!r}")
    return repr(v)
