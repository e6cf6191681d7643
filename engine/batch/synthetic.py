"""Synthetic customer portfolios for benchmarks and batch tests: seeded, reproducible, streaming.

Each customer is drawn around one latent credit quality ``q`` (standard normal; higher is better).
``q`` moves leverage, liquidity, coverage, margins, growth, cash flow, the repayment record,
collateral and the experts' qualitative levels together, with independent noise on each, so the
ratios correlate with each other and with the grade the way a real book does: strong names are
rare at the bottom and vice versa, yet any single ratio can contradict the rest.

The facts follow ``facts/corporate.schema.json``, ``facts/individual.schema.json`` and
``facts/small_business.schema.json`` (amounts in CNY thousands for companies, CNY otherwise).
A few percent of customers have missing data (no previous statement, no assessments, no credit
bureau file, no statements at all), stale statements, or zero denominators, so every scoring path
is exercised.

Only the standard library is used. The same ``(n, seed)`` gives the same customers, byte for byte,
on every platform, and the first ``k`` customers of ``n`` are the customers of ``(k, seed)``.

Command line::

    python -m pingji.batch.synthetic corporate -n 10000 --seed 7 -o portfolio.jsonl
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

__all__ = ["generate", "generate_corporate", "generate_individual", "generate_small_business", "main"]

# --------------------------------------------------------------------------------------------------
# Identifiers with valid check characters

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_REGIONS = ("110105", "310104", "320106", "330106", "440305", "510107", "420106", "370102", "610113",
            "350102")


def _uscc(rng: random.Random, prefix: str = "91") -> str:
    """A unified social credit code (GB 32100-2015) with a correct check character."""
    body = prefix + rng.choice(_REGIONS) + "".join(rng.choice(_USCC_CHARS) for _ in range(9))
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(body, _USCC_WEIGHTS))
    check = 31 - total % 31
    return body + _USCC_CHARS[0 if check == 31 else check]


def _id_number(rng: random.Random, birth: dt.date) -> str:
    """A resident identity number (GB 11643-1999) with a correct check character."""
    body = f"{rng.choice(_REGIONS)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS)) % 11]


# --------------------------------------------------------------------------------------------------
# Small helpers


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method; lam is small here."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _level(rng: random.Random, q: float, spread: float = 0.7) -> int:
    return int(_clip(round(3 + 0.9 * q + rng.gauss(0, spread)), 1, 5))


def _date(d: dt.date) -> str:
    return d.isoformat()


def _weighted(rng: random.Random, table: Sequence[tuple[Any, float]]) -> Any:
    """One item, chosen with the given weights (negative weights count as 0)."""
    weights = [max(0.0, w) for _, w in table]
    x = rng.random() * sum(weights)
    for (item, _), w in zip(table, weights):
        x -= w
        if x < 0:
            return item
    return table[-1][0]


def _r(x: float, digits: int = 0) -> int:
    """Round to a multiple of 10**-digits (digits <= 0) and return an int."""
    return int(round(x, digits))


AS_OF_START = dt.date(2026, 1, 5)
# A bank's book leans to better names than the population: the latent quality of its customers is
# centred a little above 0.
BOOK_QUALITY = 0.35


def _as_of(rng: random.Random) -> dt.date:
    return AS_OF_START + dt.timedelta(days=rng.randrange(170))


def _dpd_record(rng: random.Random, q: float) -> tuple[int, int, int]:
    """(days past due now, worst days past due in 24 months, late payments in 24 months)."""
    late = _poisson(rng, math.exp(-1.2 - 0.9 * q))
    worst = 0
    if late:
        worst = int(_weighted(rng, [(rng.randint(1, 7), 3.0 + q), (rng.randint(8, 30), 1.5),
                                    (rng.randint(31, 90), max(0.2, 0.8 - 0.4 * q)),
                                    (rng.randint(91, 360), max(0.05, 0.3 - 0.3 * q))]))
    dpd = 0
    if rng.random() < _logistic(-5.2 - 1.6 * q):
        dpd = rng.randint(91, 400)
    elif late and rng.random() < _logistic(-2.5 - 0.8 * q):
        dpd = rng.randint(1, 90)
    return dpd, max(worst, dpd), late + (1 if dpd and not late else 0)


def _collateral(rng: random.Random, q: float, exposure: float, as_of: dt.date,
                kinds: Sequence[tuple[str, float]],
                scale: float) -> list[dict[str, Any]]:
    haircuts = {"real_estate": 0.3, "equipment": 0.5, "receivables": 0.5, "deposit": 0.0, "securities": 0.3,
                "inventory": 0.6, "land_use_right": 0.4, "vehicle": 0.5, "other": 0.7}
    items = []
    n = int(_weighted(rng, [(0, 1.2 - 0.2 * q), (1, 2.0), (2, 1.0 + 0.2 * q), (3, 0.3)]))
    coverage = max(0.0, 0.9 + 0.35 * q + rng.gauss(0, 0.4))
    for _ in range(n):
        kind = _weighted(rng, kinds)
        value = exposure * coverage / n / (1 - haircuts[kind] + 1e-9) * rng.uniform(0.7, 1.3)
        value = round(value / scale) * scale
        if value <= 0:
            continue
        items.append({"type": kind, "value": value,
                      "valuation_date": _date(as_of - dt.timedelta(days=rng.randrange(20, 400))),
                      "haircut": haircuts[kind], "lien_rank": 1 if rng.random() < 0.85 else 2})
    return items


def _guarantees(rng: random.Random, q: float, exposure: float, kinds: Sequence[str],
                names: Sequence[str]) -> tuple[list[dict[str, Any]], bool]:
    out: list[dict[str, Any]] = []
    if rng.random() < 0.35 - 0.05 * q:
        for _ in range(1 if rng.random() < 0.8 else 2):
            strength = _weighted(rng, [("strong", 0.25), ("adequate", 0.5), ("weak", 0.25)])
            out.append({"guarantor": rng.choice(names), "type": rng.choice(kinds), "strength": strength,
                        "amount": round(exposure * rng.uniform(0.3, 1.0)),
                        "joint_and_several": rng.random() < 0.9})
    return out, any(g["strength"] == "strong" for g in out)


# --------------------------------------------------------------------------------------------------
# Corporate customers

_Section = tuple[float, tuple[str, ...], float, float, float, float, float, float]
# section: (weight, divisions, asset turnover, debt-to-assets, net margin, current-asset share,
#           inventory share of current assets, advance-receipt share of liabilities)
_SECTIONS: dict[str, _Section] = {
    "A": (5, ("01", "02", "03", "04", "05"), 0.7, 0.50, 0.04, 0.40, 0.45, 0.02),
    "B": (2, ("06", "07", "08", "09", "10"), 0.5, 0.62, 0.05, 0.25, 0.20, 0.02),
    "C": (30, tuple(f"{d:02d}" for d in range(13, 44)), 0.9, 0.55, 0.05, 0.50, 0.30, 0.03),
    "D": (4, ("44", "45", "46"), 0.35, 0.62, 0.06, 0.15, 0.05, 0.02),
    "E": (10, ("47", "48", "49", "50"), 0.8, 0.70, 0.03, 0.75, 0.15, 0.12),
    "F": (18, ("51", "52"), 2.2, 0.60, 0.02, 0.80, 0.40, 0.05),
    "G": (6, ("53", "54", "55", "56", "58", "59", "60"), 0.8, 0.55, 0.04, 0.35, 0.05, 0.03),
    "H": (4, ("61", "62"), 0.6, 0.55, 0.04, 0.30, 0.10, 0.05),
    "I": (6, ("63", "64", "65"), 0.9, 0.38, 0.09, 0.70, 0.03, 0.08),
    "K": (6, ("70",), 0.25, 0.78, 0.08, 0.85, 0.75, 0.30),
    "L": (2, ("71", "72"), 0.8, 0.50, 0.06, 0.60, 0.05, 0.05),
    "M": (3, ("73", "74", "75"), 0.9, 0.45, 0.08, 0.70, 0.05, 0.08),
    "N": (1, ("76", "77", "78", "79"), 0.5, 0.55, 0.05, 0.40, 0.05, 0.03),
    "Q": (1, ("84", "85"), 0.8, 0.50, 0.06, 0.35, 0.08, 0.03),
    "R": (1, ("86", "87", "88", "89", "90"), 0.6, 0.45, 0.06, 0.40, 0.05, 0.05),
}
_COMPANY_WORDS = ("华", "新", "恒", "瑞", "东", "盛", "鑫", "宏", "泰", "安", "信", "诚", "达", "通", "丰", "源", "佳",
                  "联", "远", "中", "金", "利", "康", "永", "德")
_COMPANY_KINDS = {"A": "农业", "B": "矿业", "C": "制造", "D": "能源", "E": "建设", "F": "商贸", "G": "物流", "H": "酒店",
                  "I": "科技", "K": "置业", "L": "商务", "M": "技术", "N": "环境", "Q": "医疗", "R": "文化"}


def _statement(rng: random.Random, q: float, sec: _Section, ta: float, date: dt.date, audited: bool
               ) -> dict[str, Any]:
    _, _, turnover, lev, margin, ca_share, inv_share, adv_share = sec
    da = _clip(lev - 0.12 * q + rng.gauss(0, 0.08), 0.04, 1.25)
    tl = ta * da
    ca = ta * _clip(ca_share + rng.gauss(0, 0.06), 0.05, 0.95)
    cr = _clip(1.35 + 0.35 * q + rng.gauss(0, 0.25), 0.3, 4.0)
    cl = min(ca / cr, tl * 0.95)
    inv = ca * _clip(inv_share + rng.gauss(0, 0.05), 0.0, 0.9)
    cash = ca * _clip(0.15 + 0.05 * q + rng.gauss(0, 0.04), 0.01, 0.6)
    rec = max(0.0, min(ca - inv - cash, ca * _clip(0.35 - 0.04 * q + rng.gauss(0, 0.06), 0.0, 0.8)))
    debt = tl * _clip(0.6 - adv_share + 0.05 * rng.gauss(0, 1), 0.1, 0.9)  # advance receipts are not debt
    std = debt * _clip(0.4 - 0.05 * q + rng.gauss(0, 0.08), 0.05, 0.9)
    revenue = ta * turnover * math.exp(rng.gauss(0, 0.25))
    nm = margin + 0.03 * q + rng.gauss(0, 0.02)
    ni = revenue * nm
    interest = debt * _clip(0.045 - 0.005 * q + rng.gauss(0, 0.004), 0.02, 0.09)
    ebit = (ni / 0.75 if ni > 0 else ni) + interest
    dep = ta * _clip(0.03 + rng.gauss(0, 0.01), 0.005, 0.08)
    gross = _clip(nm + 0.12 + rng.gauss(0, 0.03), 0.02, 0.8)
    ocf = (ni + dep) * (0.9 + 0.15 * q) + revenue * rng.gauss(0, 0.03)
    r = round
    st: dict[str, Any] = {
        "statement_date": _date(date), "audited": audited,
        "current_assets": r(ca), "cash": r(cash), "receivables": r(rec), "inventory": r(inv),
        "total_assets": r(ta), "current_liabilities": r(cl), "total_liabilities": r(tl),
        "total_debt": r(debt),
        "short_term_debt": r(std), "advance_receipts": r(tl * _clip(adv_share + rng.gauss(0, 0.03), 0, 0.6)),
        "equity": r(ta) - r(tl), "revenue": r(revenue), "cost_of_sales": r(revenue * (1 - gross)),
        "ebit": r(ebit), "ebitda": r(ebit + dep), "interest_expense": r(interest), "net_income": r(ni),
        "operating_cash_flow": r(ocf), "debt_service": r(interest + std * 0.5),
    }
    # Rounding may break the part-of-whole relations by a unit; restore them.
    st["current_assets"] = max(st["current_assets"], st["cash"] + st["receivables"] + st["inventory"])
    st["total_assets"] = max(st["total_assets"], st["current_assets"])
    st["current_liabilities"] = min(st["current_liabilities"], st["total_liabilities"])
    st["equity"] = st["total_assets"] - st["total_liabilities"]
    return st


def _scale_statement(rng: random.Random, st: dict[str, Any], growth: float, date: dt.date) -> dict[str, Any]:
    """The previous year's statement: this year's shrunk by the growth rate, with some noise."""
    prev: dict[str, Any] = {"statement_date": _date(date), "audited": st["audited"]}
    flows = ("revenue", "cost_of_sales", "ebit", "ebitda", "interest_expense", "net_income",
             "operating_cash_flow", "debt_service")
    signed = ("ebit", "ebitda", "net_income", "operating_cash_flow")
    for k, v in st.items():
        if k in ("statement_date", "audited", "equity"):
            continue
        f = 1 / (1 + growth) if k in flows else 1 / (1 + growth * 0.5)
        val = v * f * (1 + rng.gauss(0, 0.04))
        prev[k] = round(val) if k in signed else max(0, round(val))
    parts = prev["cash"] + prev["receivables"] + prev["inventory"]
    prev["current_assets"] = max(prev["current_assets"], parts)
    prev["total_assets"] = max(prev["total_assets"], prev["current_assets"])
    prev["current_liabilities"] = min(prev["current_liabilities"], prev["total_liabilities"])
    prev["total_debt"] = min(prev["total_debt"], prev["total_liabilities"])
    prev["short_term_debt"] = min(prev["short_term_debt"], prev["total_debt"])
    prev["advance_receipts"] = min(prev["advance_receipts"], prev["total_liabilities"])
    prev["ebitda"] = max(prev["ebitda"], prev["ebit"])
    prev["equity"] = prev["total_assets"] - prev["total_liabilities"]
    ordered = ("statement_date", "audited", "current_assets", "cash", "receivables", "inventory",
               "total_assets", "current_liabilities", "total_liabilities", "total_debt", "short_term_debt",
               "advance_receipts", "equity", "revenue", "cost_of_sales", "ebit", "ebitda", "interest_expense",
               "net_income", "operating_cash_flow", "debt_service")
    return {k: prev[k] for k in ordered}


def _size(revenue: float) -> str:
    if revenue >= 400_000:
        return "large"
    if revenue >= 20_000:
        return "medium"
    if revenue >= 3_000:
        return "small"
    return "micro"


def _corporate(rng: random.Random, i: int) -> dict[str, Any]:
    q = rng.gauss(BOOK_QUALITY, 1)
    section = _weighted(rng, [(s, v[0]) for s, v in _SECTIONS.items()])
    sec = _SECTIONS[section]
    division = rng.choice(sec[1])
    as_of = _as_of(rng)
    ta = 10 ** _clip(rng.gauss(5.0 + 0.25 * q, 0.7), 3.0, 7.8)
    year_end = dt.date(2025, 12, 31)
    stale = rng.random() < 0.03
    date = dt.date(2024, 6, 30) if stale else year_end
    audited = rng.random() < _clip(0.4 + 0.1 * math.log10(ta), 0.2, 0.98)
    cur = _statement(rng, q, sec, ta, date, audited)
    growth = _clip(0.05 + 0.06 * q + rng.gauss(0, 0.08), -0.6, 1.5)
    facts: dict[str, Any] = {
        "customer_type": "corporate",
        "id": f"SYN-C-{i:07d}",
        "name": "".join(rng.choice(_COMPANY_WORDS) for _ in range(2)) + _COMPANY_KINDS[section] + "有限公司",
        "as_of": _date(as_of),
        "identity": {
            "registration": _uscc(rng),
            "industry": {"section": section, "division": division},
            "size": _size(cur["revenue"]),
            "years_in_business": int(_clip(rng.gauss(11 + 2 * q, 6), 0, 60)),
            "employees": int(max(3, cur["revenue"] / _clip(rng.gauss(900, 300), 150, 3000))),
            "ownership": _weighted(rng, [("private", 60), ("state", 18), ("mixed", 10), ("foreign", 7),
                                         ("collective", 5)]),
        },
    }
    roll = rng.random()
    if roll < 0.01:
        pass  # no statements at all
    elif roll < 0.05:
        facts["financials"] = {"current": cur}  # no previous statement
    else:
        prev_date = dt.date(date.year - 1, date.month, date.day)
        facts["financials"] = {"current": cur, "previous": _scale_statement(rng, cur, growth, prev_date)}
    if rng.random() < 0.01 and "financials" in facts:
        cur["revenue"] = 0  # pre-revenue: net margin and turnover ratios undefined
        cur["cost_of_sales"] = 0
    dpd, worst, late = _dpd_record(rng, q)
    facts["credit"] = {
        "days_past_due": dpd, "worst_days_past_due_24m": worst, "late_payments_24m": late,
        "restructured_loans": 1 if rng.random() < _logistic(-5.0 - 1.2 * q) else 0,
        "defaults_on_record": 1 if rng.random() < _logistic(-6.0 - 1.5 * q) else 0,
        "lawsuits": _poisson(rng, math.exp(-1.5 - 0.7 * q)),
        "fraud_flag": rng.random() < 0.002,
        "external_rating_downgrade": rng.random() < _logistic(-4.5 - 1.0 * q),
    }
    if rng.random() < 0.02:
        for k in ("worst_days_past_due_24m", "late_payments_24m"):
            facts["credit"][k] = None  # thin credit-bureau file
    exposure = round(ta * _clip(rng.gauss(0.12, 0.05), 0.01, 0.4))
    kinds = [("real_estate", 3), ("equipment", 2), ("receivables", 1.5), ("land_use_right", 1),
             ("deposit", 0.5), ("inventory", 0.7), ("securities", 0.3)]
    facts["collateral"] = _collateral(rng, q, exposure, as_of, kinds, 10)
    guarantees, strong = _guarantees(rng, q, exposure,
                                     ("corporate", "guarantee_company", "bank", "individual"),
                                     ("省融资担保有限公司", "控股集团有限公司", "投资有限公司", "实际控制人"))
    facts["guarantees"] = guarantees
    facts["support"] = {"strong_guarantee": strong}
    factors = ["management", "market_position", "industry_outlook", "production_operations"]
    if section == "A":
        factors.append("natural_risk")
    if section == "K":
        factors.append("project_quality")
    assessments = []
    if rng.random() > 0.03:
        assessors = ["officer-" + rng.choice("abcdefgh") + str(rng.randrange(10))]
        if rng.random() < 0.4:
            assessors.append("reviewer-" + rng.choice("abcdefgh") + str(rng.randrange(10)))
        when = _date(as_of - dt.timedelta(days=rng.randrange(1, 30)))
        for f in factors:
            base = q if f != "industry_outlook" else 0.5 * q
            for who in assessors:
                assessments.append({"factor": f, "level": _level(rng, base), "assessor": who, "date": when})
    facts["assessments"] = assessments
    facts["exposure"] = exposure
    return facts


# --------------------------------------------------------------------------------------------------
# Individuals

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
_JOBS = (("civil_servant", "civil servant", 0.15), ("employee", "engineer", 0.2),
         ("employee", "teacher", 0.08), ("employee", "nurse", 0.06),
         ("employee", "sales representative", 0.12), ("employee", "office clerk", 0.14),
         ("self_employed", "shop owner", 0.1), ("self_employed", "driver", 0.07),
         ("retired", "retired", 0.06), ("unemployed", "between jobs", 0.02))


def _person(rng: random.Random, q: float, as_of: dt.date, min_age: int = 22
            ) -> tuple[dict[str, Any], int, str]:
    etype, occupation, _ = _weighted(rng, [(j, j[2]) for j in _JOBS])
    if etype == "retired":
        age = rng.randint(60, 75)
    else:
        age = int(_clip(rng.gauss(38 + 2 * q, 10), min_age, 64))
    birth = as_of - dt.timedelta(days=age * 365 + rng.randrange(1, 360))
    age = as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))
    identity = {
        "id_number": _id_number(rng, birth),
        "age": age,
        "occupation": occupation,
        "employment_type": etype,
        "employer": None if etype in ("retired", "unemployed", "self_employed") else
        "".join(rng.choice(_COMPANY_WORDS) for _ in range(2)) + "有限公司",
        "employment_years": 0 if etype in ("retired", "unemployed") else
        round(_clip(rng.gauss(6 + 2 * q, 5), 0, age - 18), 1),
        "marital_status": _weighted(rng, [("married", 60), ("single", 28), ("divorced", 9), ("widowed", 3)]),
        "dependants": _weighted(rng, [(0, 35), (1, 35), (2, 22), (3, 8)]),
        "housing": _weighted(rng, [("owned", 35 + 8 * q), ("mortgaged", 25), ("rented", 28), ("family", 10),
                                   ("other", 2)]),
        "residence_years": int(_clip(rng.gauss(6 + q, 5), 0, age - 16)),
        "education": _weighted(rng, [("below_high_school", 8), ("high_school", 25), ("college", 25),
                                     ("bachelor", 32 + 5 * q), ("postgraduate", 8)]),
    }
    return identity, age, etype


def _individual(rng: random.Random, i: int) -> dict[str, Any]:
    q = rng.gauss(0, 1)
    as_of = _as_of(rng)
    identity, age, etype = _person(rng, q, as_of)
    income = 0.0 if etype == "unemployed" else 10 ** _clip(rng.gauss(3.95 + 0.15 * q, 0.25), 3.3, 5.0)
    expenses = income * _clip(rng.gauss(0.38, 0.08), 0.15, 0.8) if income else rng.uniform(1000, 3000)
    purpose = _weighted(rng, [("mortgage", 30), ("car", 15), ("consumer", 45), ("business", 7), ("other", 3)])
    term = {"mortgage": 300, "car": 36, "consumer": 24, "business": 36, "other": 24}[purpose]
    dsr = _clip(0.35 - 0.08 * q + rng.gauss(0, 0.1), 0.02, 1.2)
    total_repay = income * dsr if income else rng.uniform(300, 1500)
    existing = total_repay * rng.uniform(0.0, 0.6)
    new_repay = total_repay - existing
    rate = 0.045 / 12
    exposure = _r(new_repay * (1 - (1 + rate) ** -term) / rate, -2)
    card_limit = 0 if rng.random() < 0.12 else _r(income * rng.uniform(0.5, 3), -2)
    card_balance = _r(card_limit * _clip(0.35 - 0.15 * q + rng.gauss(0, 0.15), 0, 1), -2)
    deposits = _r(max(0.0, income * 12 * _clip(0.5 + 0.4 * q + rng.gauss(0, 0.4), 0, 5)), -2)
    facts: dict[str, Any] = {
        "customer_type": "individual",
        "id": f"SYN-P-{i:07d}",
        "name": rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2))),
        "as_of": _date(as_of),
        "identity": identity,
        "income": {"monthly_income": _r(income, -1),
                   "other_monthly_income": _r(income * rng.uniform(0, 0.1), -1),
                   "income_verified": rng.random() < 0.85},
        "expenses": {"monthly_household_expenses": _r(expenses, -1)},
        "assets": {"deposits": deposits, "investments": _r(deposits * rng.uniform(0, 1.5), -2),
                   "real_estate": _r(max(0.0, rng.gauss(1.5e6 + 6e5 * q, 1e6)), -4)
                   if identity["housing"] in ("owned", "mortgaged") else 0,
                   "vehicles": _r(rng.uniform(0, 250000), -3) if rng.random() < 0.55 else 0,
                   "other": 0},
        "debts": {"total_debt": _r(existing * rng.uniform(12, 120), -2),
                  "monthly_repayments": _r(existing, -1),
                  "credit_card_limit": card_limit, "credit_card_balance": card_balance},
        "loan": {"purpose": purpose, "term_months": term, "monthly_repayment": _r(new_repay, -1)},
    }
    if rng.random() < 0.05:
        del facts["assets"]  # assets not declared: net worth and liquid assets missing
    dpd, worst, late = _dpd_record(rng, q)
    credit: dict[str, Any] = {
        "days_past_due": dpd, "worst_days_past_due_24m": worst, "late_payments_24m": late,
        "restructured_loans": 0, "defaults_on_record": 1 if rng.random() < _logistic(-5.5 - 1.4 * q) else 0,
        "lawsuits": _poisson(rng, math.exp(-3 - 0.7 * q)), "fraud_flag": rng.random() < 0.003,
        "credit_history_months": int(_clip(rng.gauss((age - 20) * 6 + 10 * q, 30), 0, (age - 16) * 12)),
        "enquiries_6m": _poisson(rng, math.exp(0.6 - 0.5 * q)),
    }
    if rng.random() > 0.04:  # 4% have no credit-bureau file at all
        facts["credit"] = credit
    collateral: list[dict[str, Any]] = []
    valued = _date(as_of - dt.timedelta(days=rng.randrange(5, 60)))
    if purpose == "mortgage":
        ltv = _clip(rng.gauss(0.6, 0.1), 0.3, 0.9)
        collateral.append({"type": "real_estate", "value": _r(exposure / ltv, -4), "valuation_date": valued,
                           "haircut": 0.3, "lien_rank": 1})
    elif purpose == "car":
        collateral.append({"type": "vehicle", "value": _r(exposure / rng.uniform(0.5, 0.9), -3),
                           "valuation_date": valued, "haircut": 0.5, "lien_rank": 1})
    elif rng.random() < 0.1:
        collateral.append({"type": "deposit", "value": _r(exposure * rng.uniform(0.5, 1.2), -2),
                           "valuation_date": _date(as_of), "haircut": 0.0, "lien_rank": 1})
    facts["collateral"] = collateral
    guarantees, strong = _guarantees(rng, q, exposure, ("individual", "guarantee_company"),
                                     ("配偶", "父母", "融资担保有限公司", "朋友"))
    facts["guarantees"] = guarantees
    facts["support"] = {"strong_guarantee": strong}
    facts["assessments"] = []
    if rng.random() > 0.05:
        stable = {"civil_servant": 1.5, "retired": 1.5, "employee": 0.6, "self_employed": -0.5,
                  "unemployed": -1.5}[etype] + 0.5 * q + rng.gauss(0, 0.6)
        label = "stable" if stable > 0.3 else "variable" if stable > -0.8 else "irregular"
        facts["assessments"].append({"factor": "income_stability", "level": label, "assessor": "officer-auto",
                                     "date": _date(as_of)})
    facts["exposure"] = exposure
    return facts


# --------------------------------------------------------------------------------------------------
# Small-business owners (个体工商户)

_SB_TRADES = (("F", "52", "便利店", 1.8), ("H", "62", "餐馆", 1.4), ("O", "80", "理发店", 0.5),
              ("O", "81", "修理铺", 0.6), ("F", "51", "批发部", 0.8), ("C", "14", "食品作坊", 0.4),
              ("E", "50", "装修队", 0.4), ("A", "01", "种植户", 0.5))


def _small_business(rng: random.Random, i: int) -> dict[str, Any]:
    q = rng.gauss(0, 1)
    as_of = _as_of(rng)
    owner, _age, _etype = _person(rng, q, as_of, min_age=20)
    owner["occupation"] = "proprietor"
    owner["employment_type"] = "self_employed"
    owner["employer"] = None
    section, division, trade, _ = _weighted(rng, [(t, t[3]) for t in _SB_TRADES])
    years = round(_clip(rng.gauss(6 + 2 * q, 4), 0, 40), 1)
    revenue = 10 ** _clip(rng.gauss(5.9 + 0.15 * q, 0.35), 4.7, 7.3)
    growth = _clip(0.04 + 0.06 * q + rng.gauss(0, 0.1), -0.6, 1.5)
    margin = _clip(0.17 + 0.05 * q + rng.gauss(0, 0.05), -0.3, 0.5)  # includes the owner's own wage
    profit = revenue * margin
    expenses = _clip(rng.gauss(4500, 1200), 1500, 15000)
    exposure = _r(revenue * _clip(rng.gauss(0.08, 0.03), 0.01, 0.4), -3)
    new_repay = exposure / 36 * 1.07
    biz_debt = revenue * _clip(0.12 - 0.05 * q + rng.gauss(0, 0.06), 0, 0.8)
    facts: dict[str, Any] = {
        "customer_type": "small_business",
        "id": f"SYN-S-{i:07d}",
        "name": rng.choice(_SURNAMES) + "记" + trade,
        "as_of": _date(as_of),
        "owner": owner,
        "identity": {"registration": _uscc(rng, "92"), "industry": {"section": section, "division": division},
                     "years_in_business": years,
                     "employees": _weighted(rng, [(0, 2), (1, 3), (2, 3), (4, 2), (8, 1)]),
                     "premises": _weighted(rng, [("owned", 25 + 5 * q), ("rented", 55), ("market_stall", 12),
                                                 ("online", 6), ("other", 2)]),
                     "licence_valid": rng.random() > 0.03},
        "business": {
            "annual_revenue": _r(revenue, -2),
            "previous_annual_revenue": 0 if years < 1 else _r(revenue / (1 + growth), -2),
            "annual_net_profit": _r(profit, -2),
            "cash": _r(revenue * _clip(0.05 + 0.02 * q + rng.gauss(0, 0.02), 0, 0.3), -2),
            "inventory": _r(revenue * _clip(rng.gauss(0.12, 0.05), 0, 0.5), -2),
            "receivables": _r(revenue * _clip(rng.gauss(0.05, 0.03), 0, 0.3), -2),
            "fixed_assets": _r(revenue * _clip(rng.gauss(0.2, 0.1), 0.01, 1.0), -2),
            "debt": _r(biz_debt, -2),
            "monthly_repayments": _r(biz_debt / 48, -1),
            "sales_verified": rng.random() < 0.8,
        },
        "household": {"monthly_expenses": _r(expenses, -1),
                      "assets": _r(max(0.0, rng.gauss(6e5 + 3e5 * q, 4e5)), -3),
                      "debt": _r(max(0.0, rng.gauss(1e5, 1e5)), -3) if rng.random() < 0.4 else 0,
                      "monthly_repayments": 0},
        "loan": {"purpose": _weighted(rng, [("working_capital", 60), ("equipment", 25), ("premises", 10),
                                            ("other", 5)]),
                 "term_months": 36, "monthly_repayment": _r(new_repay, -1)},
    }
    facts["household"]["monthly_repayments"] = _r(facts["household"]["debt"] / 60, -1)
    dpd, worst, late = _dpd_record(rng, q)
    facts["credit"] = {"days_past_due": dpd, "worst_days_past_due_24m": worst, "late_payments_24m": late,
                       "restructured_loans": 0,
                       "defaults_on_record": 1 if rng.random() < _logistic(-5.5 - 1.4 * q) else 0,
                       "lawsuits": _poisson(rng, math.exp(-2.5 - 0.7 * q)),
                       "fraud_flag": rng.random() < 0.003}
    kinds = [("real_estate", 3), ("equipment", 1.5), ("deposit", 0.5), ("vehicle", 0.8), ("inventory", 0.5)]
    facts["collateral"] = _collateral(rng, q, exposure, as_of, kinds, 100)
    guarantees, strong = _guarantees(rng, q, exposure, ("individual", "guarantee_company"),
                                     ("配偶", "亲属", "县融资担保有限公司", "商会会员"))
    facts["guarantees"] = guarantees
    facts["support"] = {"strong_guarantee": strong}
    facts["assessments"] = []
    if rng.random() > 0.04:
        when = _date(as_of - dt.timedelta(days=rng.randrange(1, 20)))
        facts["assessments"] = [
            {"factor": "business_operations", "level": _level(rng, q), "assessor": "officer-site",
             "date": when},
            {"factor": "owner_character", "level": _level(rng, q, 0.9), "assessor": "officer-site",
             "date": when},
        ]
    facts["exposure"] = exposure
    return facts


# --------------------------------------------------------------------------------------------------
# Public API

_MAKERS = {"corporate": _corporate, "individual": _individual, "small_business": _small_business}


def generate(kind: str, n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """`n` synthetic customers of `kind` (corporate, individual, small_business), one at a time."""
    if kind not in _MAKERS:
        raise ValueError(f"kind must be one of {', '.join(_MAKERS)}; got {kind!r}")
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be an integer >= 0; got {n!r}")
    make = _MAKERS[kind]
    rng = random.Random(f"pingji-{kind}-{seed}")
    for i in range(1, n + 1):
        yield make(rng, i)


def generate_corporate(n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """`n` synthetic corporate customers (facts/corporate.schema.json)."""
    return generate("corporate", n, seed)


def generate_individual(n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """`n` synthetic individual customers (facts/individual.schema.json)."""
    return generate("individual", n, seed)


def generate_small_business(n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """`n` synthetic small-business owners (facts/small_business.schema.json)."""
    return generate("small_business", n, seed)


def write_jsonl(customers: Iterator[dict[str, Any]], out: TextIO) -> int:
    """Write one JSON object per line (sorted keys, UTF-8 text); return how many were written."""
    count = 0
    for facts in customers:
        out.write(json.dumps(facts, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
        out.write("\n")
        count += 1
    return count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pingji.batch.synthetic",
                                     description="Write a synthetic customer portfolio as JSON lines.")
    parser.add_argument("kind", choices=sorted(_MAKERS), help="customer type")
    parser.add_argument("-n", "--count", type=int, default=1000, help="number of customers (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("-o", "--output", default="-", help="output file (default: standard output)")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must be >= 0")
    customers = generate(args.kind, args.count, args.seed)
    if args.output == "-":
        write_jsonl(customers, sys.stdout)
    else:
        with open(args.output, "w", encoding="utf-8", newline="\n") as fh:
            write_jsonl(customers, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
