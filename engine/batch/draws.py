"""Random draws shared by the synthetic customers (pingji.batch.synthetic): identifiers with valid
check characters, small distributions, dates, the repayment record, collateral and guarantees."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from typing import Any

__all__ = ["COMPANY_WORDS", "clip", "draw_as_of", "draw_collateral", "draw_dpd_record", "draw_guarantees", "draw_level", "id_number", "iso_date", "logistic", "poisson", "rounded", "uscc", "weighted"]

# --------------------------------------------------------------------------------------------------
# Identifiers with valid check characters

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_REGIONS = ("110105", "310104", "320106", "330106", "440305", "510107", "420106", "370102", "610113",
            "350102")


def uscc(rng: random.Random, prefix: str = "91") -> str:
    """A unified social credit code (GB 32100-2015) with a correct check character."""
    body = prefix + rng.choice(_REGIONS) + "".join(rng.choice(_USCC_CHARS) for _ in range(9))
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(body, _USCC_WEIGHTS))
    check = 31 - total % 31
    return body + _USCC_CHARS[0 if check == 31 else check]


def id_number(rng: random.Random, birth: dt.date) -> str:
    """A resident identity number (GB 11643-1999) with a correct check character."""
    body = f"{rng.choice(_REGIONS)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS)) % 11]


# --------------------------------------------------------------------------------------------------
# Small helpers


def clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else min(x, hi)


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method; lam is small here."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def draw_level(rng: random.Random, q: float, spread: float = 0.7) -> int:
    return int(clip(round(3 + 0.9 * q + rng.gauss(0, spread)), 1, 5))


def iso_date(d: dt.date) -> str:
    return d.isoformat()


def weighted(rng: random.Random, table: Sequence[tuple[Any, float]]) -> Any:
    """One item, chosen with the given weights (negative weights count as 0)."""
    weights = [max(0.0, w) for _, w in table]
    x = rng.random() * sum(weights)
    for (item, _), w in zip(table, weights):
        x -= w
        if x < 0:
            return item
    return table[-1][0]


def rounded(x: float, digits: int = 0) -> int:
    """Round to a multiple of 10**-digits (digits <= 0) and return an int."""
    return int(round(x, digits))


AS_OF_START = dt.date(2026, 1, 5)


def draw_as_of(rng: random.Random) -> dt.date:
    return AS_OF_START + dt.timedelta(days=rng.randrange(170))


def draw_dpd_record(rng: random.Random, q: float) -> tuple[int, int, int]:
    """(days past due now, worst days past due in 24 months, late payments in 24 months)."""
    late = poisson(rng, math.exp(-1.2 - 0.9 * q))
    worst = 0
    if late:
        worst = int(weighted(rng, [(rng.randint(1, 7), 3.0 + q), (rng.randint(8, 30), 1.5),
                                    (rng.randint(31, 90), max(0.2, 0.8 - 0.4 * q)),
                                    (rng.randint(91, 360), max(0.05, 0.3 - 0.3 * q))]))
    dpd = 0
    if rng.random() < logistic(-5.2 - 1.6 * q):
        dpd = rng.randint(91, 400)
    elif late and rng.random() < logistic(-2.5 - 0.8 * q):
        dpd = rng.randint(1, 90)
    return dpd, max(worst, dpd), late + (1 if dpd and not late else 0)


def draw_collateral(rng: random.Random, q: float, exposure: float, as_of: dt.date,
                kinds: Sequence[tuple[str, float]],
                scale: float) -> list[dict[str, Any]]:
    haircuts = {"real_estate": 0.3, "equipment": 0.5, "receivables": 0.5, "deposit": 0.0, "securities": 0.3,
                "inventory": 0.6, "land_use_right": 0.4, "vehicle": 0.5, "other": 0.7}
    items = []
    n = int(weighted(rng, [(0, 1.2 - 0.2 * q), (1, 2.0), (2, 1.0 + 0.2 * q), (3, 0.3)]))
    coverage = max(0.0, 0.9 + 0.35 * q + rng.gauss(0, 0.4))
    for _ in range(n):
        kind = weighted(rng, kinds)
        value = exposure * coverage / n / (1 - haircuts[kind] + 1e-9) * rng.uniform(0.7, 1.3)
        value = round(value / scale) * scale
        if value <= 0:
            continue
        items.append({"type": kind, "value": value,
                      "valuation_date": iso_date(as_of - dt.timedelta(days=rng.randrange(20, 400))),
                      "haircut": haircuts[kind], "lien_rank": 1 if rng.random() < 0.85 else 2})
    return items


def draw_guarantees(rng: random.Random, q: float, exposure: float, kinds: Sequence[str],
                names: Sequence[str]) -> tuple[list[dict[str, Any]], bool]:
    out: list[dict[str, Any]] = []
    if rng.random() < 0.35 - 0.05 * q:
        for _ in range(1 if rng.random() < 0.8 else 2):
            strength = weighted(rng, [("strong", 0.25), ("adequate", 0.5), ("weak", 0.25)])
            out.append({"guarantor": rng.choice(names), "type": rng.choice(kinds), "strength": strength,
                        "amount": round(exposure * rng.uniform(0.3, 1.0)),
                        "joint_and_several": rng.random() < 0.9})
    return out, any(g["strength"] == "strong" for g in out)


# Words of company names (companies, and the employers of individuals)
COMPANY_WORDS = ("华", "新", "恒", "瑞", "东", "盛", "鑫", "宏", "泰", "安", "信", "诚", "达", "通", "丰", "源", "佳",
                  "联", "远", "中", "金", "利", "康", "永", "德")
