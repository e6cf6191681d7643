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
import json
import random
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from pingji.batch.companies import corporate
from pingji.batch.households import individual, small_business

__all__ = ["generate", "generate_corporate", "generate_individual", "generate_small_business", "main"]


# --------------------------------------------------------------------------------------------------
# Public API

_MAKERS = {"corporate": corporate, "individual": individual, "small_business": small_business}


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
