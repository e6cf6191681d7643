"""Benchmark (not a test): five-category classification of generated loans by pingji's engine
(`rulebooks/five-category.yaml`, two passes, full trace) against a hand-written plain-Python
classifier of the same rules, measured in the same run on the same loans.

Prints loans/second for both and the ratio, and checks that both give every loan the same category
(exit 1 on any disagreement) — a second, independent reading of the 2023 rules.

    python3 bench/bench_classify.py                 # 20,000 loans, best of 3 passes
    python3 bench/bench_classify.py --loans 5000 --reps 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pingji  # noqa: E402
from pingji.decisions.classification import Loans, classify_portfolio  # noqa: E402

AS_OF = "2026-06-30"
LEVELS = ["normal", "special_mention", "substandard", "doubtful", "loss"]


def make_loans(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        loan: dict[str, Any] = {
            "id": f"L{i}", "customer_id": f"c{rng.randrange(max(1, n // 4))}",
            "customer_type": rng.choice(["retail", "non_retail", "non_retail"]),
            "balance": round(rng.uniform(1_000, 2_000_000), 2),
            "start_date": "2023-01-01", "maturity_date": "2029-01-01",
            "days_past_due": {"principal": rng.choice([0] * 12 + [3, 8, 45, 90, 91, 200, 270, 271, 360, 361, 500]),
                              "interest": rng.choice([0] * 20 + [7, 8, 95])},
        }
        r = rng.random()
        if r < 0.05:
            loan["funds_misused"] = True
        elif r < 0.08:
            loan["impaired"] = True
            loan["expected_loss_share"] = rng.choice([0.1, 0.5, 0.49, 0.9, 0.95])
        elif r < 0.10:
            loan["borrower"] = {rng.choice(["bankruptcy", "evading_debts", "non_performing_elsewhere",
                                            "external_downgrade"]): True}
        elif r < 0.16:
            months = rng.choice([3, 11, 12, 20])
            d = dt.date(2026, 6, 30) - dt.timedelta(days=int(months * 30.5))
            loan["restructuring"] = {"date": d.isoformat(),
                                     "category_before": rng.choice(LEVELS),
                                     "restructured_again": rng.random() < 0.3}
        elif r < 0.20:
            loan["previous_category"] = rng.choice(LEVELS[2:])
            loan["arrears_cleared"] = rng.random() < 0.6
            loan["months_performing"] = rng.choice([0, 5, 6, 12])
        if rng.random() < 0.2:
            loan.setdefault("borrower", {})["grade"] = rng.choice("ABC")
        out.append(loan)
    return out


def _months(later: str, earlier: str) -> int:
    a, b = dt.date.fromisoformat(later), dt.date.fromisoformat(earlier)
    m = (a.year - b.year) * 12 + a.month - b.month
    return m - 1 if a.day < b.day else m


def plain_category(loan: dict[str, Any], share: Decimal | None) -> str:
    """The rules of rulebooks/five-category.yaml written out by hand (parameters at their defaults)."""
    worst = 0
    dpd = max(loan["days_past_due"]["principal"], loan["days_past_due"]["interest"])
    b = loan.get("borrower") or {}
    for cond, level in ((dpd > 7, 1), (dpd > 90, 2), (dpd > 270, 3), (dpd > 360, 4),
                        (loan.get("funds_misused") is True, 1), (loan.get("repaid_by_new_borrowing") is True, 1),
                        (b.get("non_performing_elsewhere") is True, 1), (loan.get("impaired") is True, 2),
                        (b.get("external_downgrade") is True, 2), (b.get("evading_debts") is True, 3),
                        (b.get("bankruptcy") is True, 4), (b.get("grade") == "C", 1)):
        if cond:
            worst = max(worst, level)
    el = loan.get("expected_loss_share")
    if loan.get("impaired") is True and el is not None:
        worst = max(worst, 3 if el >= 0.5 else 0, 4 if el >= 0.9 else 0)
    rs = loan.get("restructuring")
    if rs and _months(AS_OF, rs["date"]) < 12:
        worst = max(worst, 1)
        before = rs.get("category_before")
        if before in LEVELS[2:]:
            worst = max(worst, LEVELS.index(before))
        if rs.get("restructured_again") or rs.get("missed_payments"):
            worst = max(worst, 2)
    prev = loan.get("previous_category")
    if prev in LEVELS[2:]:
        ok = loan.get("arrears_cleared") is True and (loan.get("months_performing") or 0) >= 6 \
            and loan.get("months_performing") is not None
        if not ok:
            worst = max(worst, LEVELS.index(prev))
    if share is not None and loan.get("customer_type") == "non_retail" and share > Decimal("0.10"):
        worst = max(worst, 2)
    return LEVELS[worst]


def plain_classify(loans: list[dict[str, Any]]) -> list[str]:
    first = [plain_category(x, None) for x in loans]
    totals: dict[str, list[Decimal]] = {}
    for x, c in zip(loans, first):
        if x.get("customer_type") == "non_retail":
            t = totals.setdefault(x["customer_id"], [Decimal(0), Decimal(0)])
            bal = Decimal(repr(x["balance"]))
            t[0] += bal
            if c in LEVELS[2:]:
                t[1] += bal
    shares = {k: (t[1] / t[0]).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) for k, t in totals.items()}
    return [plain_category(x, shares.get(x["customer_id"])) if x["customer_id"] in shares else c
            for x, c in zip(loans, first)]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args(argv)
    book = pingji.load_decision(ROOT / "rulebooks" / "five-category.yaml", kind="classification")
    loans = make_loans(args.loans)
    locs = tuple(pingji.Location("bench", i + 1, 1) for i in range(len(loans)))
    portfolio = Loans("bench", AS_OF, tuple(loans), locs)
    best = {"pingji": float("inf"), "plain": float("inf")}
    got: list[str] = []
    want: list[str] = []
    for _ in range(args.reps):  # interleaved passes: the noise of a shared machine hits both alike
        t = time.perf_counter()
        got = [lc.category for lc in classify_portfolio(book, portfolio).loans]
        best["pingji"] = min(best["pingji"], time.perf_counter() - t)
        t = time.perf_counter()
        want = plain_classify(loans)
        best["plain"] = min(best["plain"], time.perf_counter() - t)
    bad = [(x["id"], g, w) for x, g, w in zip(loans, got, want) if g != w]
    n = len(loans)
    print(f"{n:,} loans, best of {args.reps} passes")
    print(f"  pingji (durable-rules, two passes, full trace)  {n / best['pingji']:>10,.0f} loans/s")
    print(f"  plain Python, same rules, no trace               {n / best['plain']:>10,.0f} loans/s")
    print(f"  ratio pingji / plain                             {best['plain'] / best['pingji']:>10.3f}")
    print(f"  categories: {', '.join(f'{lv} {got.count(lv)}' for lv in LEVELS)}")
    print(f"  disagreements: {len(bad)}" + (f" (first: {bad[:3]})" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
