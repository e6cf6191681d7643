"""Synthetic corporate customers (facts/corporate.schema.json), amounts in CNY thousands; see
pingji.batch.synthetic."""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

from pingji.batch.draws import (
    COMPANY_WORDS,
    clip,
    draw_as_of,
    draw_collateral,
    draw_dpd_record,
    draw_guarantees,
    draw_level,
    iso_date,
    logistic,
    poisson,
    uscc,
    weighted,
)

__all__ = ["BOOK_QUALITY", "corporate"]

# A bank's book leans to better names than the population: the latent quality of its customers is
# centred a little above 0.
BOOK_QUALITY = 0.35


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
_COMPANY_KINDS = {"A": "农业", "B": "矿业", "C": "制造", "D": "能源", "E": "建设", "F": "商贸", "G": "物流", "H": "酒店",
                  "I": "科技", "K": "置业", "L": "商务", "M": "技术", "N": "环境", "Q": "医疗", "R": "文化"}


def _statement(rng: random.Random, q: float, sec: _Section, ta: float, date: dt.date, audited: bool
               ) -> dict[str, Any]:
    _, _, turnover, lev, margin, ca_share, inv_share, adv_share = sec
    da = clip(lev - 0.12 * q + rng.gauss(0, 0.08), 0.04, 1.25)
    tl = ta * da
    ca = ta * clip(ca_share + rng.gauss(0, 0.06), 0.05, 0.95)
    cr = clip(1.35 + 0.35 * q + rng.gauss(0, 0.25), 0.3, 4.0)
    cl = min(ca / cr, tl * 0.95)
    inv = ca * clip(inv_share + rng.gauss(0, 0.05), 0.0, 0.9)
    cash = ca * clip(0.15 + 0.05 * q + rng.gauss(0, 0.04), 0.01, 0.6)
    rec = max(0.0, min(ca - inv - cash, ca * clip(0.35 - 0.04 * q + rng.gauss(0, 0.06), 0.0, 0.8)))
    debt = tl * clip(0.6 - adv_share + 0.05 * rng.gauss(0, 1), 0.1, 0.9)  # advance receipts are not debt
    std = debt * clip(0.4 - 0.05 * q + rng.gauss(0, 0.08), 0.05, 0.9)
    revenue = ta * turnover * math.exp(rng.gauss(0, 0.25))
    nm = margin + 0.03 * q + rng.gauss(0, 0.02)
    ni = revenue * nm
    interest = debt * clip(0.045 - 0.005 * q + rng.gauss(0, 0.004), 0.02, 0.09)
    ebit = (ni / 0.75 if ni > 0 else ni) + interest
    dep = ta * clip(0.03 + rng.gauss(0, 0.01), 0.005, 0.08)
    gross = clip(nm + 0.12 + rng.gauss(0, 0.03), 0.02, 0.8)
    ocf = (ni + dep) * (0.9 + 0.15 * q) + revenue * rng.gauss(0, 0.03)
    r = round
    st: dict[str, Any] = {
        "statement_date": iso_date(date), "audited": audited,
        "current_assets": r(ca), "cash": r(cash), "receivables": r(rec), "inventory": r(inv),
        "total_assets": r(ta), "current_liabilities": r(cl), "total_liabilities": r(tl),
        "total_debt": r(debt),
        "short_term_debt": r(std), "advance_receipts": r(tl * clip(adv_share + rng.gauss(0, 0.03), 0, 0.6)),
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
    prev: dict[str, Any] = {"statement_date": iso_date(date), "audited": st["audited"]}
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


def corporate(rng: random.Random, i: int) -> tuple[dict[str, Any], float]:
    q = rng.gauss(BOOK_QUALITY, 1)
    section = weighted(rng, [(s, v[0]) for s, v in _SECTIONS.items()])
    sec = _SECTIONS[section]
    division = rng.choice(sec[1])
    as_of = draw_as_of(rng)
    ta = 10 ** clip(rng.gauss(5.0 + 0.25 * q, 0.7), 3.0, 7.8)
    year_end = dt.date(2025, 12, 31)
    stale = rng.random() < 0.03
    date = dt.date(2024, 6, 30) if stale else year_end
    audited = rng.random() < clip(0.4 + 0.1 * math.log10(ta), 0.2, 0.98)
    cur = _statement(rng, q, sec, ta, date, audited)
    growth = clip(0.05 + 0.06 * q + rng.gauss(0, 0.08), -0.6, 1.5)
    facts: dict[str, Any] = {
        "customer_type": "corporate",
        "id": f"SYN-C-{i:07d}",
        "name": "".join(rng.choice(COMPANY_WORDS) for _ in range(2)) + _COMPANY_KINDS[section] + "有限公司",
        "as_of": iso_date(as_of),
        "identity": {
            "registration": uscc(rng),
            "industry": {"section": section, "division": division},
            "size": _size(cur["revenue"]),
            "years_in_business": int(clip(rng.gauss(11 + 2 * q, 6), 0, 60)),
            "employees": int(max(3, cur["revenue"] / clip(rng.gauss(900, 300), 150, 3000))),
            "ownership": weighted(rng, [("private", 60), ("state", 18), ("mixed", 10), ("foreign", 7),
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
    dpd, worst, late = draw_dpd_record(rng, q)
    facts["credit"] = {
        "days_past_due": dpd, "worst_days_past_due_24m": worst, "late_payments_24m": late,
        "restructured_loans": 1 if rng.random() < logistic(-5.0 - 1.2 * q) else 0,
        "defaults_on_record": 1 if rng.random() < logistic(-6.0 - 1.5 * q) else 0,
        "lawsuits": poisson(rng, math.exp(-1.5 - 0.7 * q)),
        "fraud_flag": rng.random() < 0.002,
        "external_rating_downgrade": rng.random() < logistic(-4.5 - 1.0 * q),
    }
    if rng.random() < 0.02:
        for k in ("worst_days_past_due_24m", "late_payments_24m"):
            facts["credit"][k] = None  # thin credit-bureau file
    exposure = round(ta * clip(rng.gauss(0.12, 0.05), 0.01, 0.4))
    kinds = [("real_estate", 3), ("equipment", 2), ("receivables", 1.5), ("land_use_right", 1),
             ("deposit", 0.5), ("inventory", 0.7), ("securities", 0.3)]
    facts["collateral"] = draw_collateral(rng, q, exposure, as_of, kinds, 10)
    guarantees, strong = draw_guarantees(rng, q, exposure,
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
        when = iso_date(as_of - dt.timedelta(days=rng.randrange(1, 30)))
        for f in factors:
            base = q if f != "industry_outlook" else 0.5 * q
            for who in assessors:
                assessments.append({"factor": f, "level": draw_level(rng, base), "assessor": who, "date": when})
    facts["assessments"] = assessments
    facts["exposure"] = exposure
    return facts, q
