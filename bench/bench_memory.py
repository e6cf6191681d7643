#!/usr/bin/env python3
"""Memory over a long run: rate many customers with the 12-factor book in one process.

    python3 bench/bench_memory.py [--customers 100000] [--every 10000] [--factors 12] [--no-check]

Customers are generated one at a time (nothing is kept), each is rated with `pingji.evaluate`
(full trace) and dropped; the resident set size (VmRSS from /proc/self/status) is printed every
`--every` customers, then the growth between the 20,000th customer and the last. Memory is flat
when that growth stays within a few MB (the allocator keeps some slack): it shows that sessions are
deleted and nothing accumulates per customer. Not a test: it reports, it does not assert.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
for p in (str(HERE), str(HERE.parent)):
    if p not in sys.path:
        sys.path.insert(0, p)

import scorecard  # noqa: E402

FLAT_MB = 5.0


def vm_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0  # pragma: no cover


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--every", type=int, default=10_000)
    ap.add_argument("--factors", type=int, choices=(12, 48), default=12)
    ap.add_argument("--no-check", action="store_true", help="evaluate(..., check_facts=False)")
    args = ap.parse_args()

    import pingji

    spec = scorecard.make_spec(args.factors)
    book = scorecard.write_book(spec, tempfile.mkdtemp(prefix="pingji-bench-"))
    rb = pingji.load_rulebook(book)
    check = not args.no_check
    malloc = {k: os.environ[k] for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
              if k in os.environ}
    print(f"python {platform.python_version()}, {os.cpu_count()} cores; {args.factors}-factor book {book}; "
          f"check_facts={check}; glibc malloc settings: {malloc or 'default'}")
    print(f"{'customers':>10} {'VmRSS MB':>9} {'customers/s':>12}")
    print(f"{0:>10,} {vm_rss_mb():>9.1f} {'':>12}")
    marks: dict[int, float] = {}
    t0 = time.perf_counter()
    grades: dict[str, int] = {}
    for i in range(args.customers):
        ev = pingji.evaluate(rb, scorecard.customer(spec, i), check_facts=check)
        grades[ev.final_grade] = grades.get(ev.final_grade, 0) + 1
        del ev
        done = i + 1
        if done % args.every == 0 or done == args.customers:
            rate = (done - (max(marks) if marks else 0)) / (time.perf_counter() - t0)
            gc.collect()
            rss = vm_rss_mb()
            marks[done] = rss
            print(f"{done:>10,} {rss:>9.1f} {rate:>12,.0f}", flush=True)
            t0 = time.perf_counter()
    print(f"grades: {dict(sorted(grades.items()))}")
    start = 20_000 if 20_000 in marks else min(marks)
    end = max(marks)
    growth = marks[end] - marks[start]
    verdict = "flat" if growth <= FLAT_MB else "GROWING"
    print(f"RSS growth from {start:,} to {end:,} customers: {growth:+.1f} MB "
          f"({growth * 1024 / max(end - start, 1):.3f} KB per customer) — {verdict} "
          f"(flat: within {FLAT_MB:g} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
