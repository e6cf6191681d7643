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

    python -m pingji.batch.synthetic corporate -n 10000 --seed 7 -o portfolio.jsonl --outcomes defaults.csv

With ``--outcomes`` it also writes what became of each customer in the year after the rating, for
``pingji validate``: a default drawn with probability ``logistic(-4 - 1.2 q)`` (about 2% of an
average book; a customer two standard deviations weak defaults 14% of the time) from its own seeded
stream, so the customers are the same with or without it, dated 1 to 365 days after the customer's
``as_of`` (its rating date in the store). ``facts/outcomes/defaults-2026.csv`` is the file of the
README tour's portfolio (corporate, 5000, seed 7).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import random
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from pingji.batch.companies import corporate
from pingji.batch.households import individual, small_business

__all__ = ["generate", "generate_corporate", "generate_individual", "generate_small_business", "generate_with_quality",
           "main", "write_outcomes"]


# --------------------------------------------------------------------------------------------------
# Public API

_MAKERS = {"corporate": corporate, "individual": individual, "small_business": small_business}


def generate(kind: str, n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """`n` synthetic customers of `kind` (corporate, individual, small_business), one at a time."""
    for facts, _q in generate_with_quality(kind, n, seed):
        yield facts


def generate_with_quality(kind: str, n: int, seed: int = 0) -> Iterator[tuple[dict[str, Any], float]]:
    """Like `generate`, with each customer's latent credit quality q (higher is better)."""
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


def default_probability(q: float) -> float:
    """The chance that a customer of latent quality q defaults within a year."""
    return 1.0 / (1.0 + math.exp(4.0 + 1.2 * q))


def write_outcomes(customers: Iterator[tuple[dict[str, Any], float]], out: TextIO, seed: int = 0) -> int:
    """Write `customer_id,defaulted,default_date` rows (the OUTCOMES file of `pingji validate`); return
    the defaults. A default is dated 1 to 365 days after the customer's `as_of`, its rating date (a
    stream of its own: the defaults are those drawn without dates)."""
    rng = random.Random(f"pingji-outcomes-{seed}")
    days = random.Random(f"pingji-outcome-dates-{seed}")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["customer_id", "defaulted", "default_date"])
    defaults = 0
    for facts, q in customers:
        defaulted = rng.random() < default_probability(q)
        defaults += defaulted
        when = ""
        if defaulted:
            when = (dt.date.fromisoformat(facts["as_of"]) + dt.timedelta(days=days.randint(1, 365))).isoformat()
        writer.writerow([facts["id"], "true" if defaulted else "false", when])
    return defaults


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
    parser.add_argument("--outcomes", metavar="FILE",
                        help="also write each customer's default in the following year as CSV (for pingji validate)")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must be >= 0")
    customers = generate(args.kind, args.count, args.seed)
    try:
        if args.output == "-":
            write_jsonl(customers, sys.stdout)
        else:
            with open(args.output, "w", encoding="utf-8", newline="\n") as fh:
                write_jsonl(customers, fh)
        if args.outcomes:
            with open(args.outcomes, "w", encoding="utf-8", newline="") as fh:
                write_outcomes(generate_with_quality(args.kind, args.count, args.seed), fh, args.seed)
    except OSError as exc:
        parser.exit(1, f"{exc.filename}: cannot write: {exc.strerror}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
