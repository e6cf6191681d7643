"""The rating's arithmetic: half-up rounding on the shortest decimal representation, exact decimals.

Rounding (all half-up on the shortest decimal representation, so results are deterministic):
metric values to their precision; interpolated and aggregated points to 2 places (computed in
exact decimal arithmetic); group subtotals and the total exactly in decimals, the total rounded
to 2 places (so 34.585 is 34.59, never lost to a binary sum such as 34.584999999999994).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["HUNDRED", "dec", "num_json", "quantize", "round_half_up", "round_half_up_exact"]


_SCALE = [10.0 ** p for p in range(16)]


def round_half_up(x: float, places: int) -> float:
    """Round on the shortest decimal representation: 1.4999999999 → 1.5 at 2 places, 2.675 → 2.68.

    Half-way cases go away from zero. The float arithmetic below is only trusted far from a
    half-way point; anything near one is decided exactly with Decimal on the decimal repr.
    """
    if places < len(_SCALE):
        scale = _SCALE[places]
        scaled = x * scale
        if -1e9 < scaled < 1e9:  # float error here stays far below the 1e-6 margin
            low = math.floor(scaled)
            frac = scaled - low
            if abs(frac - 0.5) > 1e-6:
                return (low + (1 if frac > 0.5 else 0)) / scale + 0.0
    d = Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return float(d) + 0.0  # normalise -0.0


def round_half_up_exact(x: float, places: int) -> float:
    """The reference: always Decimal (tests compare the fast path with it)."""
    d = Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return float(d) + 0.0


HUNDRED = Decimal(100)
_DEC: dict[float, Decimal] = {}
_QUANTUM = [Decimal(1).scaleb(-p) for p in range(11)]


def dec(x: float) -> Decimal:
    """A number as the Decimal of its shortest representation (0.1 → Decimal('0.1'), not 0.1000000000000000055…)."""
    d = _DEC.get(x)
    if d is None:
        d = Decimal(repr(x)) if not isinstance(x, Decimal) else x
        if len(_DEC) < 100_000:
            _DEC[x] = d
    return d


def quantize(d: Decimal, places: int) -> float:
    """Round an exact decimal half-up (away from zero) to `places` and return it as a float."""
    return float(d.quantize(_QUANTUM[places], rounding=ROUND_HALF_UP)) + 0.0


def num_json(v: float) -> str:
    """A finite number as JSON (the engine takes JSON text; NaN and infinities never get here)."""
    if type(v) is float and (v != v or v in (math.inf, -math.inf)):
        raise ValueError(f"cannot assert a non-finite number: {v!r}")
    return repr(v)
