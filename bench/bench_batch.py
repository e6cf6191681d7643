#!/usr/bin/env python3
"""Benchmark: a whole `pingji batch` into a store against the engine alone, measured in the same run
(issue 11.3).

1. Writes N synthetic corporate customers (pingji.batch.synthetic, fixed seed) as JSON lines.
2. Baseline: rates the first M of them with `pingji.evaluate` in this process, no store (the
   engine's rate: customers per second), after one untimed pass that compiles the rulebooks.
3. Runs `pingji batch` as a separate process for each worker count, into a new store, and times the
   whole process: start-up, reading, rating, writing, the summary.
4. Prints for each: customers per second, the ratio to workers × the engine's rate (target >= 0.70),
   bytes per stored evaluation (the store file and its WAL; target <= 4 KB), the peak resident
   memory of the batch and its workers together (sampled every 0.1 s), and the time 1,000,000
   customers would take at that rate (product goal: under 10 minutes on the 2-core machine).

    python3 bench/bench_batch.py                         # 20,000 customers, 1 and 2 workers
    python3 bench/bench_batch.py --customers 100000 --workers 2

Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MILLION = 1_000_000


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants, in KB (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def _batch(portfolio: Path, workers: int, folder: Path) -> dict[str, float]:
    db = folder / f"batch-{workers}.db"
    exe = Path(sys.executable).with_name("pingji")
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-m", "pingji.cli"]
    cmd += ["batch", str(portfolio), "--db", str(db), "--workers", str(workers), "--json"]
    peak = 0
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=folder)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"pingji batch exited {proc.returncode}")
    rated = json.loads(out)["rated"]
    size = sum(p.stat().st_size for p in folder.glob(f"batch-{workers}.db*"))
    return {"wall": wall, "rated": rated, "bytes": size / max(1, rated), "rss_mb": peak / 1024}


def _engine_rate(portfolio: Path, count: int) -> float:
    import pingji
    from pingji.rating import catalog

    customers = [json.loads(line) for _, line in zip(range(count), portfolio.open(encoding="utf-8"))]
    entries = catalog.catalog()
    books = {}
    for facts in customers:  # untimed: load and compile every rulebook the customers need
        path = catalog.select(facts, entries=entries)
        books.setdefault(path, pingji.load_rulebook(path))
    chosen = [books[catalog.select(f, entries=entries)] for f in customers]
    t0 = time.perf_counter()
    for rb, facts in zip(chosen, customers):
        pingji.evaluate(rb, facts)
    return len(customers) / (time.perf_counter() - t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--baseline", type=int, default=3_000, help="customers rated in process for the baseline")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pingji-bench-") as tmp:
        folder = Path(tmp)
        portfolio = folder / "portfolio.jsonl"
        subprocess.run([sys.executable, "-m", "pingji.batch.synthetic", "corporate", "-n", str(args.customers),
                        "--seed", str(args.seed), "-o", str(portfolio)], check=True, capture_output=True)
        engine = _engine_rate(portfolio, min(args.baseline, args.customers))
        rows = [(w, _batch(portfolio, w, folder)) for w in args.workers]
    print(f"{args.customers:,} synthetic corporate customers (seed {args.seed}); python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores")
    print(f"baseline: pingji.evaluate in one process, no store: {engine:,.0f} customers/s")
    print(f"{'workers':>7}{'wall s':>9}{'cust/s':>9}{'ratio':>7}{'bytes/eval':>12}{'peak RSS MB':>13}"
          f"{'1M at this rate':>17}")
    for w, r in rows:
        rate = r["rated"] / r["wall"]
        ratio = rate / (w * engine)
        million = MILLION / rate
        print(f"{w:>7}{r['wall']:>9.1f}{rate:>9,.0f}{ratio:>7.2f}{r['bytes']:>12,.0f}{r['rss_mb']:>13.0f}"
              f"{million / 60:>14.1f} min")
    print("targets: ratio >= 0.70, <= 4,096 bytes per evaluation, 1M in under 10 min (issue 11.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
