#!/usr/bin/env python3
"""Benchmark: how long a user waits for a whole `pingji` process (issue 11.4).

Runs each command as a fresh process, interleaved round by round so that a shared machine's noise
hits them alike, and prints the median and best wall time of each, with its ratio to the baseline
measured in the same run: the same interpreter starting and importing click (`python -c "import
click"`), the least any click command line can cost. Targets (issue 11.4, on the 2-core machine):
`pingji --help` <= 0.25 s and `pingji rate facts/examples/machinery-a.yaml` <= 0.5 s, median of 10.

    python3 bench/bench_startup.py              # 10 rounds
    python3 bench/bench_startup.py --rounds 20 --no-bytecode   # as with PYTHONDONTWRITEBYTECODE=1

Not a test: nothing here asserts a time. With --no-bytecode every process compiles pingji's source
again (no .pyc is written or read), which is what a machine with PYTHONDONTWRITEBYTECODE=1 sees.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"pingji --help": 0.25, "pingji rate (stored)": 0.5}


def pingji() -> list[str]:
    exe = Path(sys.executable).with_name("pingji")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "pingji.cli"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--no-bytecode", action="store_true", help="run with PYTHONDONTWRITEBYTECODE=1 and -B")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if args.no_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    example = str(ROOT / "facts" / "examples" / "machinery-a.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        commands = {
            "baseline: python -c 'import click'": [sys.executable, "-c", "import click"],
            "pingji --help": [*pingji(), "--help"],
            "pingji rate --no-store": [*pingji(), "rate", example, "--no-store"],
            "pingji rate (stored)": [*pingji(), "rate", example, "--db", str(db)],
            "pingji history": [*pingji(), "history", "C-C-0001", "--db", str(db)],
        }
        for cmd in commands.values():  # warm the page cache and write bytecode once, untimed
            subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, check=False)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, cmd in commands.items():
                t0 = time.perf_counter()
                r = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, check=False)
                times[name].append(time.perf_counter() - t0)
                if r.returncode != 0:
                    print(f"{name}: exit {r.returncode}: {r.stderr.decode()[-400:]}", file=sys.stderr)
                    return 1
    base = statistics.median(times["baseline: python -c 'import click'"])
    print(f"{args.rounds} rounds, whole processes, {'no bytecode' if args.no_bytecode else 'bytecode cached'}; "
          f"python {sys.version.split()[0]}")
    print(f"{'command':<36}{'median s':>10}{'best s':>9}{'x baseline':>12}  target")
    for name, ts in times.items():
        med = statistics.median(ts)
        target = TARGETS.get(name)
        verdict = "" if target is None else f"<= {target} s {'met' if med <= target else 'MISSED'}"
        print(f"{name:<36}{med:>10.3f}{min(ts):>9.3f}{med / base:>12.2f}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
