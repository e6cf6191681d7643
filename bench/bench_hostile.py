#!/usr/bin/env python3
"""Hostile inputs just under the 2 MB limit: how long pingji takes to accept or refuse each (issue 12.8).

    python3 bench/bench_hostile.py [--keep DIR] [--only NAME ...] [--pingji PATH]

Each input is written next to a normal small one (the baseline), then `pingji check` (rulebooks),
`pingji rate --no-store` (facts files) or `pingji batch` (JSONL) runs on it in a subprocess under
`/usr/bin/time -v` when it exists (else the children's rusage); the wall time, the peak resident set
and the exit code are printed, with the baseline's measured in the same run. Every input is at most
`pingji.lang.source.MAX_BYTES` bytes. The goal: each is refused or accepted in under 3 s on the
2-core machine. Not a test: it reports, it does not assert (tests/test_issue12_inputs.py pins what
each input is refused with).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LIMIT = 2_000_000  # pingji.lang.source.MAX_BYTES
MARGIN = 2_000  # stay this far under the limit

BASE_RULEBOOK = (ROOT / "tests" / "data" / "books" / "mini.yaml").read_text(encoding="utf-8")


def _fill(head: str, unit: str, tail: str = "", sep: str = "") -> str:
    """`head` + as many `unit`s (joined by `sep`) as fit under the limit + `tail`."""
    room = LIMIT - MARGIN - len(head.encode()) - len(tail.encode())
    n = max(1, room // len((unit + sep).encode()))
    return head + sep.join([unit] * n) + tail


# -- rulebooks (pingji check) -------------------------------------------------------------------

def rb_flow_list() -> str:
    """~1M tiny items in a flow list under an unknown top-level key."""
    return _fill(BASE_RULEBOOK + "\njunk: [", "0", "]\n", sep=",")


def rb_bad_items() -> str:
    """~330k list items, each of the wrong type, where the schema wants objects: one error each."""
    return _fill(BASE_RULEBOOK.replace("rulebook: mini", "rulebook: mini") + "\nexamples: [", "1", "]\n", sep=",")


def rb_nested() -> str:
    """Mappings nested 190 deep, repeated until the file is full."""
    one = "{" * 190 + "a: 1" + "}" * 190
    return _fill(BASE_RULEBOOK + "\njunk: [", one, "]\n", sep=",")


def rb_long_string() -> str:
    """One 2 MB string as the rulebook's name."""
    head = BASE_RULEBOOK + "\ndescription: "
    return head + "x" * (LIMIT - MARGIN - len(head.encode()) - 1) + "\n"


def rb_many_factors(max_factors: int = 10**9) -> str:
    """Tens of thousands of small factors (each with bands), far past every engine limit."""
    i = 0
    parts = [BASE_RULEBOOK.replace("factors:", "factors_unused:", 1), "\nfactors:\n"]
    size = sum(len(p) for p in parts)
    while True:
        f = (f"  f{i}:\n    group: solvency\n    metric: current_ratio\n    weight: 1\n"
             f"    bands:\n      - {{from: 1, points: 100}}\n      - {{to: 1, points: 0}}\n")
        if size + len(f) > LIMIT - MARGIN or i >= max_factors:
            break
        parts.append(f)
        size += len(f)
        i += 1
    return "".join(parts)


def rb_many_metrics(count: int = 20_000) -> str:
    """Twenty thousand metrics, each reading the one before (each is parsed and compiled)."""
    head, _, rest = BASE_RULEBOOK.partition("\nmetrics:\n")
    body = "".join(f"  m{k}: {{expr: fin.revenue / fin.total_assets + m{k - 1} * 0}}\n" if k else
                   "  m0: {expr: fin.revenue}\n" for k in range(count))
    return head + "\nmetrics:\n" + body + rest


def rb_many_examples(count: int = 9_000) -> str:
    """Nine thousand examples (pingji check runs each)."""
    body = "".join(f"  - {{name: e{k}, facts: {{id: c{k}}}, expect: {{grade: A}}}}\n" for k in range(count))
    return BASE_RULEBOOK + "\nexamples:\n" + body


def decision_many_rules(count: int = 7_000) -> str:
    """A policy rulebook (the built-in pricing one) with seven thousand more rules."""
    text = (ROOT / "rulebooks" / "pricing.yaml").read_text(encoding="utf-8")
    head, _, rest = text.partition("\nrules:\n")
    body = "".join(f"  - {{id: r{k}, when: coarse_grade == \"A\", then: {{spread_bp: 60}}, reason: x}}\n"
                   for k in range(count))
    return head + "\nrules:\n" + body + rest


# -- facts (pingji rate) ------------------------------------------------------------------------

def facts_base() -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from factories import customer  # type: ignore[import-not-found]

    return customer()


def facts_many_assessments(count: int | None = None) -> str:
    """~40k assessments (or `count`), each a valid object."""
    base = json.dumps(facts_base())
    unit = json.dumps({"factor": "management", "level": 4, "assessor": "Li"})
    head, _, _ = base.rpartition('"assessments": ')
    if count is not None:
        return head + '"assessments": [' + ",".join([unit] * count) + "]}"
    return _fill(head + '"assessments": [', unit, "]}", sep=",")


# Just under the 100,000 values a document may hold (pingji.lang.source.MAX_VALUES): 7 values an
# assessment, 20 a factor (its keys count).
UNDER_CAP_ASSESSMENTS = 14_000
UNDER_CAP_FACTORS = 4_900


def facts_bad_items() -> str:
    """~500k assessments that are not objects: one schema error each."""
    base = json.dumps(facts_base())
    head, _, _ = base.rpartition('"assessments": ')
    return _fill(head + '"assessments": [', "1", "]}", sep=",")


def facts_many_keys() -> str:
    """~100k unknown keys under `fin`."""
    base = facts_base()
    base["fin"] = {}
    text = json.dumps(base)
    head, _, tail = text.partition('"fin": {}')
    room = LIMIT - MARGIN - len(head) - len(tail) - 20
    keys, size, i = [], 0, 0
    while size < room:
        k = f'"k{i}": 1'
        keys.append(k)
        size += len(k) + 2
        i += 1
    return head + '"fin": {' + ", ".join(keys[:-1]) + "}" + tail


def facts_long_string() -> str:
    base = facts_base()
    base["id"] = ""
    text = json.dumps(base)
    head, _, tail = text.partition('"id": ""')
    return head + '"id": "' + "x" * (LIMIT - MARGIN - len(text)) + '"' + tail


# -- JSONL batches (pingji batch) ---------------------------------------------------------------

def jsonl_line(facts_text: str) -> str:
    """A small valid record, then the hostile one as one line."""
    return json.dumps(facts_base()) + "\n" + json.dumps(json.loads(facts_text), separators=(",", ":")) + "\n"


CASES: dict[str, tuple[str, Callable[[], str]]] = {
    "rulebook-flow-list": ("check", rb_flow_list),
    "rulebook-bad-items": ("check", rb_bad_items),
    "rulebook-nested": ("check", rb_nested),
    "rulebook-long-string": ("check", rb_long_string),
    "rulebook-many-factors": ("check", rb_many_factors),
    "rulebook-factors-under-cap": ("check", lambda: rb_many_factors(UNDER_CAP_FACTORS)),
    "rulebook-many-metrics": ("check", rb_many_metrics),
    "rulebook-many-examples": ("check", rb_many_examples),
    "policy-many-rules": ("check", decision_many_rules),
    "facts-many-assessments": ("rate", facts_many_assessments),
    "facts-assessments-under-cap": ("rate", lambda: facts_many_assessments(UNDER_CAP_ASSESSMENTS)),
    "facts-bad-items": ("rate", facts_bad_items),
    "facts-many-keys": ("rate", facts_many_keys),
    "facts-long-string": ("rate", facts_long_string),
    "jsonl-many-assessments": ("batch", lambda: jsonl_line(facts_many_assessments())),
    "jsonl-bad-items": ("batch", lambda: jsonl_line(facts_bad_items())),
    "jsonl-assessments-under-cap": ("batch", lambda: jsonl_line(facts_many_assessments(UNDER_CAP_ASSESSMENTS))),
}

BASELINES: dict[str, Callable[[], str]] = {
    "check": lambda: BASE_RULEBOOK,
    "rate": lambda: json.dumps(facts_base()),
    "batch": lambda: json.dumps(facts_base()) + "\n",
}

SUFFIX = {"check": ".yaml", "rate": ".json", "batch": ".jsonl"}


def command(pingji: str, kind: str, path: Path, work: Path) -> list[str]:
    book = str(ROOT / "tests" / "data" / "books" / "mini.yaml")
    if kind == "check":
        return [pingji, "check", str(path)]
    if kind == "rate":
        return [pingji, "rate", str(path), "--rulebook", book, "--no-store"]
    return [pingji, "batch", str(path), "--rulebook", book, "--db", str(work / "bench.db"), "--workers", "1"]


def measure(argv: list[str], cwd: Path) -> tuple[float, float, float, int, str]:
    """(wall seconds, CPU seconds (user + system), peak RSS in MB, exit code, first line of stderr or
    stdout). On a shared machine the wall time grows with the others' load; the CPU time does not."""
    timer = shutil.which("time") if os.path.exists("/usr/bin/time") else None
    if timer:
        argv = ["/usr/bin/time", "-v", *argv]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    err = p.stderr
    rss = 0.0
    if timer:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
        rss = int(m.group(1)) / 1024 if m else 0.0
        err = err[: err.find("\tCommand being timed")] if "\tCommand being timed" in err else err
    else:
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        rss = max(after, before) / 1024
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("Command exited")]
    first = lines or p.stdout.strip().splitlines()
    return wall, cpu, rss, p.returncode, first[0][:100] if first else ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", metavar="DIR", help="write the inputs here and keep them")
    ap.add_argument("--only", nargs="*", metavar="NAME", help=f"only these cases: {', '.join(CASES)}")
    ap.add_argument("--pingji", default=shutil.which("pingji") or "pingji", help="the pingji to run")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="pingji-hostile-"))
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "tests" / "data" / "books" / "mini.schema.json", work / "mini.schema.json")
    try:
        rows = []
        for kind, make in BASELINES.items():
            path = work / f"baseline-{kind}{SUFFIX[kind]}"
            path.write_text(make(), encoding="utf-8")
            (work / "bench.db").unlink(missing_ok=True)
            rows.append((f"baseline ({kind})", path.stat().st_size, *measure(command(args.pingji, kind, path, work), work)))
        for name, (kind, make) in CASES.items():
            if args.only and name not in args.only:
                continue
            path = work / f"{name}{SUFFIX[kind]}"
            text = make()
            path.write_text(text, encoding="utf-8")
            size = path.stat().st_size
            assert size <= LIMIT, (name, size)
            (work / "bench.db").unlink(missing_ok=True)
            rows.append((name, size, *measure(command(args.pingji, kind, path, work), work)))
        print(f"{'input':<28} {'bytes':>9} {'wall s':>7} {'cpu s':>6} {'peak MB':>8} {'exit':>4}  first line of output")
        for name, size, wall, cpu, rss, rc, first in rows:
            print(f"{name:<28} {size:>9} {wall:>7.2f} {cpu:>6.2f} {rss:>8.1f} {rc:>4}  {first}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
