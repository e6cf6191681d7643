"""Synthetic individuals (facts/individual.schema.json) and small-business owners
(facts/small_business.schema.json), amounts in CNY; see pingji.batch.synthetic."""

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
    id_number,
    iso_date,
    logistic,
    poisson,
    rounded,
    uscc,
    weighted,
)

__all__ = ["individual", "small_business"]

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
    etype, occupation, _ = weighted(rng, [(j, j[2]) for j in _JOBS])
    if etype == "retired":
        age = rng.randint(60, 75)
    else:
        age = int(clip(rng.gauss(38 + 2 * q, 10), min_age, 64))
    birth = as_of - dt.timedelta(days=age * 365 + rng.randrange(1, 360))
    age = as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))
    identity = {
        "id_number": id_number(rng, birth),
        "age": age,
        "occupation": occupation,
        "employment_type": etype,
        "employer": None if etype in ("retired", "unemployed", "self_employed") else
        "".join(rng.choice(COMPANY_WORDS) for _ in range(2)) + "有限公司",
        "employment_years": 0 if etype in ("retired", "unemployed") else
        round(clip(rng.gauss(6 + 2 * q, 5), 0, age - 18), 1),
        "marital_status": weighted(rng, [("married", 60), ("single", 28), ("divorced", 9), ("widowed", 3)]),
        "dependants": weighted(rng, [(0, 35), (1, 35), (2, 22), (3, 8)]),
        "housing": weighted(rng, [("owned", 35 + 8 * q), ("mortgaged", 25), ("rented", 28), ("family", 10),
                                   ("other", 2)]),
        "residence_years": int(clip(rng.gauss(6 + q, 5), 0, age - 16)),
        "education": weighted(rng, [("below_high_school", 8), ("high_school", 25), ("college", 25),
                                     ("bachelor", 32 + 5 * q), ("postgraduate", 8)]),
    }
    return identity, age, etype


def individual(rng: random.Random, i: int) -> tuple[dict[str, Any], float]:
    q = rng.gauss(0, 1)
    as_of = draw_as_of(rng)
    identity, age, etype = _person(rng, q, as_of)
    income = 0.0 if etype == "unemployed" else 10 ** clip(rng.gauss(3.95 + 0.15 * q, 0.25), 3.3, 5.0)
    expenses = income * clip(rng.gauss(0.38, 0.08), 0.15, 0.8) if income else rng.uniform(1000, 3000)
    purpose = weighted(rng, [("mortgage", 30), ("car", 15), ("consumer", 45), ("business", 7), ("other", 3)])
    term = {"mortgage": 300, "car": 36, "consumer": 24, "business": 36, "other": 24}[purpose]
    dsr = clip(0.35 - 0.08 * q + rng.gauss(0, 0.1), 0.02, 1.2)
    total_repay = income * dsr if income else rng.uniform(300, 1500)
    existing = total_repay * rng.uniform(0.0, 0.6)
    new_repay = total_repay - existing
    rate = 0.045 / 12
    exposure = rounded(new_repay * (1 - (1 + rate) ** -term) / rate, -2)
    card_limit = 0 if rng.random() < 0.12 else rounded(income * rng.uniform(0.5, 3), -2)
    card_balance = rounded(card_limit * clip(0.35 - 0.15 * q + rng.gauss(0, 0.15), 0, 1), -2)
    deposits = rounded(max(0.0, income * 12 * clip(0.5 + 0.4 * q + rng.gauss(0, 0.4), 0, 5)), -2)
    facts: dict[str, Any] = {
        "customer_type": "individual",
        "id": f"SYN-P-{i:07d}",
        "name": rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2))),
        "as_of": iso_date(as_of),
        "identity": identity,
        "income": {"monthly_income": rounded(income, -1),
                   "other_monthly_income": rounded(income * rng.uniform(0, 0.1), -1),
                   "income_verified": rng.random() < 0.85},
        "expenses": {"monthly_household_expenses": rounded(expenses, -1)},
        "assets": {"deposits": deposits, "investments": rounded(deposits * rng.uniform(0, 1.5), -2),
                   "real_estate": rounded(max(0.0, rng.gauss(1.5e6 + 6e5 * q, 1e6)), -4)
                   if identity["housing"] in ("owned", "mortgaged") else 0,
                   "vehicles": rounded(rng.uniform(0, 250000), -3) if rng.random() < 0.55 else 0,
                   "other": 0},
        "debts": {"total_debt": rounded(existing * rng.uniform(12, 120), -2),
                  "monthly_repayments": rounded(existing, -1),
                  "credit_card_limit": card_limit, "credit_card_balance": card_balance},
        "loan": {"purpose": purpose, "term_months": term, "monthly_repayment": rounded(new_repay, -1)},
    }
    if rng.random() < 0.05:
        del facts["assets"]  # assets not declared: net worth and liquid assets missing
    dpd, worst, late = draw_dpd_record(rng, q)
    credit: dict[str, Any] = {
        "days_past_due": dpd, "worst_days_past_due_24m": worst, "late_payments_24m": late,
        "restructured_loans": 0, "defaults_on_record": 1 if rng.random() < logistic(-5.5 - 1.4 * q) else 0,
        "lawsuits": poisson(rng, math.exp(-3 - 0.7 * q)), "fraud_flag": rng.random() < 0.003,
        "credit_history_months": int(clip(rng.gauss((age - 20) * 6 + 10 * q, 30), 0, (age - 16) * 12)),
        "enquiries_6m": poisson(rng, math.exp(0.6 - 0.5 * q)),
    }
    if rng.random() > 0.04:  # 4% have no credit-bureau file at all
        facts["credit"] = credit
    collateral: list[dict[str, Any]] = []
    valued = iso_date(as_of - dt.timedelta(days=rng.randrange(5, 60)))
    if purpose == "mortgage":
        ltv = clip(rng.gauss(0.6, 0.1), 0.3, 0.9)
        collateral.append({"type": "real_estate", "value": rounded(exposure / ltv, -4), "valuation_date": valued,
                           "haircut": 0.3, "lien_rank": 1})
    elif purpose == "car":
        collateral.append({"type": "vehicle", "value": rounded(exposure / rng.uniform(0.5, 0.9), -3),
                           "valuation_date": valued, "haircut": 0.5, "lien_rank": 1})
    elif rng.random() < 0.1:
        collateral.append({"type": "deposit", "value": rounded(exposure * rng.uniform(0.5, 1.2), -2),
                           "valuation_date": iso_date(as_of), "haircut": 0.0, "lien_rank": 1})
    facts["collateral"] = collateral
    guarantees, strong = draw_guarantees(rng, q, exposure, ("individual", "guarantee_company"),
                                     ("配偶", "父母", "融资担保有限公司", "朋友"))
    facts["guarantees"] = guarantees
    facts["support"] = {"strong_guarantee": strong}
    facts["assessments"] = []
    if rng.random() > 0.05:
        stable = {"civil_servant": 1.5, "retired": 1.5, "employee": 0.6, "self_employed": -0.5,
                  "unemployed": -1.5}[etype] + 0.5 * q + rng.gauss(0, 0.6)
        label = "stable" if stable > 0.3 else "variable" if stable > -0.8 else "irregular"
        facts["assessments"].append({"factor": "income_stability", "level": label, "assessor": "officer-auto",
                                     "date": iso_date(as_of)})
    facts["exposure"] = exposure
    return facts, q


# --------------------------------------------------------------------------------------------------
# Small-business owners (个体工商户)

_SB_TRADES = (("F", "52", "便利店", 1.8), ("H", "62", "餐馆", 1.4), ("O", "80", "理发店", 0.5),
              ("O", "81", "修理铺", 0.6), ("F", "51", "批发部", 0.8), ("C", "14", "食品作坊", 0.4),
              ("E", "50", "装修队", 0.4), ("A", "01", "种植户", 0.5))


def small_business(rng: random.Random, i: int) -> tuple[dict[str, Any], float]:
    q = rng.gauss(0, 1)
    as_of = draw_as_of(rng)
    owner, _age, _etype = _person(rng, q, as_of, min_age=20)
    owner["occupation"] = "proprietor"
    owner["employment_type"] = "self_employed"
    owner["employer"] = None
    section, division, trade, _ = weighted(rng, [(t, t[3]) for t in _SB_TRADES])
    years = round(clip(rng.gauss(6 + 2 * q, 4), 0, 40), 1)
    revenue = 10 ** clip(rng.gauss(5.9 + 0.15 * q, 0.35), 4.7, 7.3)
    growth = clip(0.04 + 0.06 * q + rng.gauss(0, 0.1), -0.6, 1.5)
    margin = clip(0.17 + 0.05 * q + rng.gauss(0, 0.05), -0.3, 0.5)  # includes the owner's own wage
    profit = revenue * margin
    expenses = clip(rng.gauss(4500, 1200), 1500, 15000)
    exposure = rounded(revenue * clip(rng.gauss(0.08, 0.03), 0.01, 0.4), -3)
    new_repay = exposure / 36 * 1.07
    biz_debt = revenue * clip(0.12 - 0.05 * q + rng.gauss(0, 0.06), 0, 0.8)
    facts: dict[str, Any] = {
        "customer_type": "small_business",
        "id": f"SYN-S-{i:07d}",
        "name": rng.choice(_SURNAMES) + "记" + trade,
        "as_of": iso_date(as_of),
        "owner": owner,
        "identity": {"registration": uscc(rng, "92"), "industry": {"section": section, "division": division},
                     "years_in_business": years,
                     "employees": weighted(rng, [(0, 2), (1, 3), (2, 3), (4, 2), (8, 1)]),
                     "premises": weighted(rng, [("owned", 25 + 5 * q), ("rented", 55), ("market_stall", 12),
                                                 ("online", 6), ("other", 2)]),
                     "licence_valid": rng.random() > 0.03},
        "business": {
            "annual_revenue": rounded(revenue, -2),
            "previous_annual_revenue": 0 if years < 1 else rounded(revenue / (1 + growth), -2),
            "annual_net_profit": rounded(profit, -2),
            "cash": rounded(revenue * clip(0.05 + 0.02 * q + rng.gauss(0, 0.02), 0, 0.3), -2),
            "inventory": rounded(revenue * clip(rng.gauss(0.12, 0.05), 0, 0.5), -2),
            "receivables": rounded(revenue * clip(rng.gauss(0.05, 0.03), 0, 0.3), -2),
            "fixed_assets": rounded(revenue * clip(rng.gauss(0.2, 0.1), 0.01, 1.0), -2),
            "debt": rounded(biz_debt, -2),
            "monthly_repayments": rounded(biz_debt / 48, -1),
            "sales_verified": rng.random() < 0.8,
        },
        "household": {"monthly_expenses": rounded(expenses, -1),
                      "assets": rounded(max(0.0, rng.gauss(6e5 + 3e5 * q, 4e5)), -3),
                      "debt": rounded(max(0.0, rng.gauss(1e5, 1e5)), -3) if rng.random() < 0.4 else 0,
                      "monthly_repayments": 0},
        "loan": {"purpose": weighted(rng, [("working_capital", 60), ("equipment", 25), ("premises", 10),
                                            ("other", 5)]),
                 "term_months": 36, "monthly_repayment": rounded(new_repay, -1)},
    }
    facts["household"]["monthly_repayments"] = rounded(facts["household"]["debt"] / 60, -1)
    dpd, worst, late = draw_dpd_record(rng, q)
    facts["credit"] = {"days_past_due": dpd, "worst_days_past_due_24m": worst, "late_payments_24m": late,
                       "restructured_loans": 0,
                       "defaults_on_record": 1 if rng.random() < logistic(-5.5 - 1.4 * q) else 0,
                       "lawsuits": poisson(rng, math.exp(-2.5 - 0.7 * q)),
                       "fraud_flag": rng.random() < 0.003}
    kinds = [("real_estate", 3), ("equipment", 1.5), ("deposit", 0.5), ("vehicle", 0.8), ("inventory", 0.5)]
    facts["collateral"] = draw_collateral(rng, q, exposure, as_of, kinds, 100)
    guarantees, strong = draw_guarantees(rng, q, exposure, ("individual", "guarantee_company"),
                                     ("配偶", "亲属", "县融资担保有限公司", "商会会员"))
    facts["guarantees"] = guarantees
    facts["support"] = {"strong_guarantee": strong}
    facts["assessments"] = []
    if rng.random() > 0.04:
        when = iso_date(as_of - dt.timedelta(days=rng.randrange(1, 20)))
        facts["assessments"] = [
            {"factor": "business_operations", "level": draw_level(rng, q), "assessor": "officer-site",
             "date": when},
            {"factor": "owner_character", "level": draw_level(rng, q, 0.9), "assessor": "officer-site",
             "date": when},
        ]
    facts["exposure"] = exposure
    return facts, q
