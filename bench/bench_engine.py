#!/usr/bin/env python3
"""Benchmark: pingji's engine against a hand-written plain-Python evaluation and GoRules zen-engine.

    python3 bench/bench_engine.py [--customers N] [--factors 12|48|both] [--skip-zen] [--reps 3] [--malloc]

For each scorecard size it writes a generated rulebook (bench/scorecard.py) into a temporary
folder, then runs every variant in its own subprocess on the same N generated customers:

    plain           hand-written Python, same results and the SAME trace rows as pingji (the baseline)
    pingji          pingji.evaluate(rb, facts): facts checked against the schema, full trace
    pingji-nocheck  pingji.evaluate(rb, facts, check_facts=False)
    zen             zen-engine, the scorecard as a JDM decision graph, trace on
    zen-notrace     the same graph, trace off (for context)
    engine-c        durable-rules' C calls alone: the exact facts pingji asserted for each customer
                    (recorded while setting up), replayed wave by wave with the agenda drained and the
                    session deleted: no action, no trace, no Python work of pingji's; always under the
                    tuned malloc settings (its best case). With plain, it gives the ceiling of any
                    traced evaluator on durable-rules (printed as "floor").
    (--malloc adds pingji and pingji-nocheck again under MALLOC_MMAP_THRESHOLD_=4194304
     MALLOC_TRIM_THRESHOLD_=1073741824, see shared/DURABLE_RULES.md)

Every variant's subprocess generates the customers, builds its evaluator, warms up and waits. The
parent then runs R rounds; in each round every variant in turn makes one timed pass over all N
customers (the others idle), so noise from other work on a shared machine hits all variants alike;
a variant's best pass counts. Each subprocess then reads its peak RSS (getrusage ru_maxrss) and
makes one more, untimed pass that records every customer's total, grade and factor points (and,
for plain and pingji, a digest of the whole trace). The parent checks that every variant agrees
with pingji on every customer and that plain and pingji produce identical traces; it prints the
disagreements and exits 1 if there are any.

This is not a test: nothing asserts timings. The targets of issue 2 are printed with PASS/MISS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Workers import the engine from the snapshot the parent took (others edit engine/ while this runs).
ENGINE_ROOT = os.environ.get("PINGJI_BENCH_ENGINE", str(ROOT))
for p in (str(HERE), ENGINE_ROOT):
    if p in sys.path:
        sys.path.remove(p)
    sys.path.insert(0, p)

import scorecard  # noqa: E402

MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "4194304", "MALLOC_TRIM_THRESHOLD_": "1073741824"}
TARGET_VS_PLAIN = 1 / 15  # pingji >= 1/15 of plain-Python traced throughput (12 factors)
TARGET_VS_ZEN = 3.0  # pingji >= 3x zen-engine with trace (12 factors)
WARMUP = 200


def vm_rss_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0  # pragma: no cover


def trace_digest(trace: list[dict[str, Any]]) -> str:
    return hashlib.sha1(json.dumps(trace, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# -- worker: one variant in its own process --------------------------------------------------------

def make_runner(variant: str, rb: Any, spec: scorecard.Spec) -> tuple[Any, Any]:
    """(evaluate(facts) for the timed passes, record(facts) -> summary for the check pass)."""
    if variant == "plain":
        from plain_eval import PlainScorecard

        plain = PlainScorecard(rb, spec)

        def record_plain(facts: dict[str, Any]) -> tuple[Any, ...]:
            r = plain.evaluate(facts)
            return r["total"], r["final_grade"], r["points"], trace_digest(r["trace"])

        return plain.evaluate, record_plain
    if variant in ("pingji", "pingji-nocheck"):
        import pingji

        check = variant == "pingji"

        def run(facts: dict[str, Any]) -> Any:
            return pingji.evaluate(rb, facts, check_facts=check)

        def record_pingji(facts: dict[str, Any]) -> tuple[Any, ...]:
            ev = run(facts)
            points = {f.factor.id: f.points for f in ev.factors}
            return ev.total, ev.final_grade, points, trace_digest(ev.trace)

        return run, record_pingji
    if variant == "engine-c":
        return _replay_runner(rb)
    if variant in ("zen", "zen-notrace"):
        from zen_graph import ZenScorecard, summary

        z = ZenScorecard(rb, spec, trace=variant == "zen")

        def record_zen(facts: dict[str, Any]) -> tuple[Any, ...]:
            total, grade, points = summary(z.evaluate(facts))
            return total, grade, points, None

        return z.evaluate, record_zen
    raise SystemExit(f"unknown variant {variant}")


class _Recorder:
    """Stands in for the C module while pingji rates a customer: passes every call on and records
    the JSON texts asserted, the rules fired and the session deleted."""

    def __init__(self, dre: Any):
        self.dre = dre
        self.texts: list[str] = []
        self.fired: list[str] = []
        self.sid = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.dre, name)

    def assert_facts(self, handle: int, text: str) -> Any:
        self.texts.append(text)
        return self.dre.assert_facts(handle, text)

    def _fired(self, message: str | None) -> None:
        if message:
            self.fired.append(message[2:message.index('"', 2)])

    def start_action_for_state(self, handle: int, state: int) -> Any:
        result = self.dre.start_action_for_state(handle, state)
        self._fired(result[1] if result else None)
        return result

    def complete_and_start_action(self, handle: int, state: int) -> Any:
        message = self.dre.complete_and_start_action(handle, state)
        self._fired(message)
        return message

    def delete_state(self, handle: int, sid: str) -> Any:
        self.sid = sid
        return self.dre.delete_state(handle, sid)


def _replay_runner(rb: Any) -> tuple[Any, Any]:
    """engine-c: replay the C calls of pingji's evaluation of each customer (recorded on first sight)."""
    import pingji
    from pingji.rating.run import compiled_for
    from pingji.runtime import ruleset as runtime

    dre = runtime._dre
    handle = runtime.ruleset_for(compiled_for(rb)).handle
    recorded: dict[str, tuple[str, list[str], list[str]]] = {}
    assert_facts, start, complete, delete = (dre.assert_facts, dre.start_action_for_state,
                                             dre.complete_and_start_action, dre.delete_state)

    def record(facts: dict[str, Any]) -> tuple[str, list[str], list[str]]:
        rec = _Recorder(dre)
        runtime._dre = rec
        try:
            pingji.evaluate(rb, facts)
        finally:
            runtime._dre = dre
        recorded[facts["id"]] = got = (rec.sid, rec.texts, rec.fired)
        return got

    def replay(facts: dict[str, Any]) -> list[str]:
        sid, texts, _ = recorded.get(facts["id"]) or record(facts)
        fired: list[str] = []
        for text in texts:
            _code, state = assert_facts(handle, text)
            result = start(handle, state)
            message = result[1] if result else None
            while message:
                fired.append(message)
                message = complete(handle, state)
        delete(handle, sid)
        return fired

    def check(facts: dict[str, Any]) -> tuple[Any, ...]:
        names = [m[2:m.index('"', 2)] for m in replay(facts)]
        return ("replay", names == recorded[facts["id"]][2])

    return replay, check


def worker(args: argparse.Namespace) -> None:
    """Set up, say `ready`, then obey the parent line by line: `pass` (one timed pass, answers
    `rate R`) or `record` (the untimed check pass; writes the result file, answers `done`)."""
    import pingji

    spec = scorecard.make_spec(args.factors)
    rb = pingji.load_rulebook(args.book)
    customers = scorecard.customers(spec, args.customers)
    rss_base = vm_rss_kb()  # the process with its imports and the customers, before the evaluator exists
    run, record = make_runner(args.worker, rb, spec)
    for facts in customers if args.worker == "engine-c" else customers[:WARMUP]:
        run(facts)  # engine-c records every customer's C calls here, untimed
    rss_before = vm_rss_kb()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("ready", flush=True)
    rates = []
    for line in sys.stdin:
        command = line.strip()
        if command == "pass":
            t0 = time.perf_counter()
            for facts in customers:
                run(facts)
            rates.append(len(customers) / (time.perf_counter() - t0))
            print(f"rate {rates[-1]}", flush=True)
        elif command == "record":
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            rss_after = vm_rss_kb()
            results = [record(facts) for facts in customers]
            with open(args.result, "wb") as fh:
                pickle.dump({"rates": rates, "rss_base_kb": rss_base, "rss_before_kb": rss_before,
                             "rss_after_kb": rss_after, "peak_before_kb": peak_before, "peak_kb": peak,
                             "results": results}, fh)
            print("done", flush=True)
            return


# -- parent ----------------------------------------------------------------------------------------

class Worker:
    """One variant in its own process, driven pass by pass so that the variants' passes interleave:
    on a shared, noisy machine every variant then sees the same conditions, and no variant's
    memory pollutes another's."""

    def __init__(self, label: str, variant: str, book: Path, n_factors: int, args: argparse.Namespace,
                 malloc: bool, engine_root: str | None = None):
        self.label = label
        with tempfile.NamedTemporaryFile(suffix=".pickle", delete=False) as tmp:
            self.result = tmp.name
        env = dict(os.environ)
        for k in MALLOC_ENV:
            env.pop(k, None)
        if malloc:
            env.update(MALLOC_ENV)
        env["PINGJI_BENCH_ENGINE"] = engine_root or ENGINE_ROOT
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", variant, "--book", str(book),
               "--factors", str(n_factors), "--customers", str(args.customers), "--result", self.result]
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, env=env, cwd=str(ROOT), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr, text=True)

    def _answer(self) -> str:
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            self.proc.wait()
            self.stderr.seek(0)
            raise RuntimeError(f"variant {self.label} failed (exit {self.proc.returncode}):\n"
                               f"{self.stderr.read()[-3000:]}")
        return line.strip()

    def _send(self, command: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def ready(self) -> None:
        answer = self._answer()
        assert answer == "ready", answer

    def one_pass(self) -> float:
        answer = self._send("pass")
        assert answer.startswith("rate "), answer
        return float(answer.split()[1])

    def finish(self) -> dict[str, Any]:
        answer = self._send("record")
        assert answer == "done", answer
        self.proc.wait()
        with open(self.result, "rb") as fh:
            data: dict[str, Any] = pickle.load(fh)
        os.unlink(self.result)
        return data

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if os.path.exists(self.result):
            os.unlink(self.result)


def snapshot_engine() -> str:
    """Copy engine/ aside (as the package `pingji`, which it is) so that every variant runs the same
    engine even if it is edited meanwhile; the built-in rulebooks and fact schemas beside it."""
    dest = Path(tempfile.mkdtemp(prefix="pingji-engine-"))
    shutil.copytree(ROOT / "engine", dest / "pingji", ignore=shutil.ignore_patterns("__pycache__"))
    for data in ("rulebooks", "facts"):
        shutil.copytree(ROOT / data, dest / data)
    return str(dest)


def snapshot_revision(rev: str) -> str:
    """The engine, rulebooks and fact schemas of git revision `rev`, laid out as the package pingji (an
    engine/ from before the move to pingji imports itself relatively, so it runs under that name too)."""
    dest = Path(tempfile.mkdtemp(prefix="pingji-base-"))
    archive = subprocess.run(["git", "archive", rev, "engine", "rulebooks", "facts"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    (dest / "engine").rename(dest / "pingji")
    return str(dest)


def engine_revision() -> str:
    try:
        def git(*cmd: str) -> str:
            done = subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, check=True)
            return done.stdout.strip()

        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "engine")
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"
    return f"{head}{' + uncommitted engine changes' if dirty else ''}"


def zen_available() -> str | None:
    try:
        import zen  # type: ignore[import-not-found]  # noqa: F401
    except ImportError as exc:
        return str(exc)
    return None


def exact_total(rb: Any, points: dict[str, float]) -> Decimal:
    """The total in exact decimal arithmetic, before rounding (to explain a float/decimal tie)."""
    gw = {g.id: Decimal(repr(g.weight)) for g in rb.groups}
    return sum((Decimal(repr(points[f.id])) * Decimal(repr(f.weight)) / 100 * gw[f.group] / 100
                for f in rb.factors), Decimal(0))


def compare(name: str, ref: list[tuple[Any, ...]], other: list[tuple[Any, ...]], *, points: bool, trace: bool,
            rb: Any, customers_ids: list[str]) -> tuple[int, list[str], int]:
    """Disagreements of `other` with pingji; returns (count, first examples, how many are half-up ties)."""
    bad = 0
    ties = 0
    examples: list[str] = []
    for cid, a, b in zip(customers_ids, ref, other):
        why = []
        if float(a[0]) != float(b[0]):
            why.append(f"total {a[0]} vs {b[0]}")
        if a[1] != b[1]:
            why.append(f"grade {a[1]} vs {b[1]}")
        if points and {k: float(v) for k, v in a[2].items()} != {k: float(v) for k, v in b[2].items()}:
            diff = {k: (v, b[2].get(k)) for k, v in a[2].items() if float(v) != float(b[2].get(k, -1))}
            why.append(f"points {diff}")
        if trace and a[3] != b[3]:
            why.append("trace differs")
        if why:
            bad += 1
            exact = exact_total(rb, {k: float(v) for k, v in a[2].items()})
            tie = len(why) <= 2 and abs(float(a[0]) - float(b[0])) < 0.0101 and exact * 1000 % 10 == 5
            if tie:
                ties += 1
                why.append(f"exact total {exact.normalize()}: a half-up tie, rounded differently")
            if len(examples) < 5:
                examples.append(f"  {name} {cid}: " + "; ".join(why))
    return bad, examples, ties


def fmt_rate(r: float) -> str:
    return f"{r:,.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--factors", choices=("12", "48", "both"), default="both")
    ap.add_argument("--skip-zen", action="store_true", help="do not run zen-engine")
    ap.add_argument("--reps", type=int, default=3,
                    help="timed passes per variant, interleaved across variants; the best counts")
    ap.add_argument("--malloc", action="store_true",
                    help="also run the pingji variants with the glibc malloc settings of DURABLE_RULES.md")
    ap.add_argument("--books", help="write the generated rulebooks here (default: a temporary folder)")
    ap.add_argument("--json", help="write the measurements to this file")
    ap.add_argument("--no-snapshot", action="store_true", help="run engine/ in place instead of a copy of it")
    ap.add_argument("--base", metavar="REV",
                    help="also run pingji as it was at git revision REV (variant pingji@REV), in the same rounds")
    # worker mode (internal)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--book", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        args.factors = int(args.factors)
        worker(args)
        return 0

    global ENGINE_ROOT
    revision = engine_revision()
    if not args.no_snapshot:
        ENGINE_ROOT = snapshot_engine()
        sys.path.insert(0, ENGINE_ROOT)
    base_root = snapshot_revision(args.base) if args.base else None
    sizes = [12, 48] if args.factors == "both" else [int(args.factors)]
    zen_missing = None if not args.skip_zen else "skipped (--skip-zen)"
    if zen_missing is None:
        why = zen_available()
        if why:
            zen_missing = f"not installed ({why}); pip install 'zen-engine>=0.40' (the bench extra)"
    if zen_missing:
        print(f"zen-engine: {zen_missing} — its variants are skipped\n")
    else:
        from importlib.metadata import version

        print(f"zen-engine {version('zen-engine')}")
    import pingji

    print(f"python {platform.python_version()}, {os.cpu_count()} cores, {args.customers:,} customers, "
          f"best of {args.reps} passes, pingji {pingji.__version__} ({revision}"
          f"{'' if args.no_snapshot else ', run from a copy of engine/'})")
    folder = Path(args.books) if args.books else Path(tempfile.mkdtemp(prefix="pingji-bench-"))
    variants: list[tuple[str, bool]] = [("plain", False), ("pingji", False), ("pingji-nocheck", False)]
    if args.malloc:
        variants += [("pingji", True), ("pingji-nocheck", True)]
    if not zen_missing:
        variants += [("zen", False), ("zen-notrace", False)]
    # under the tuned malloc: the replay holds every recorded fact text, and with the default settings
    # that heap layout puts each session's ~1 MB on fresh pages (the cliff of shared/DURABLE_RULES.md;
    # ~900 instead of ~110 us per customer). The floor is meant as the C engine's best case.
    variants.append(("engine-c", True))

    report: dict[str, Any] = {"python": platform.python_version(), "cores": os.cpu_count(),
                              "engine": revision,
                              "customers": args.customers, "reps": args.reps, "sizes": {}}
    total_bad = 0
    for n in sizes:
        spec = scorecard.make_spec(n)
        book = scorecard.write_book(spec, folder)
        rb = pingji.load_rulebook(book)
        from pingji.rating.run import compiled_for

        compiled = compiled_for(rb)
        ids = [f"c{i:06d}" for i in range(args.customers)]
        print(f"\n== {n} factors: {book} — {len(compiled.ruleset)} rules, "
              f"{compiled.condition_count} conditions, "
              f"{len(rb.metrics)} metrics, {len(rb.overrides)} overrides ==")
        rows: dict[str, dict[str, Any]] = {}
        workers = [Worker(variant + (" +malloc" if malloc else ""), variant, book, n, args, malloc)
                   for variant, malloc in variants]
        if base_root:
            workers.insert(2, Worker(f"pingji@{args.base}", "pingji", book, n, args, False, base_root))
        try:
            for w in workers:
                w.ready()
            rates: dict[str, list[float]] = {w.label: [] for w in workers}
            for rep in range(args.reps):
                print(f"  pass {rep + 1}:", end="", flush=True)
                for w in workers:
                    rates[w.label].append(w.one_pass())
                    print(f" {w.label} {fmt_rate(rates[w.label][-1])}/s;", end="", flush=True)
                print()
            for w in workers:
                rows[w.label] = w.finish()
        finally:
            for w in workers:
                w.kill()
        ref = rows["pingji"]["results"]
        print("  agreement with pingji on every customer:")
        size_bad = 0
        for label, data in rows.items():
            if label == "pingji":
                continue
            if label.startswith("engine-c"):
                bad = sum(1 for r in data["results"] if not r[1])
                print(f"    {label:<22} {bad} customers whose replay fired other rules than pingji's run")
                size_bad += bad
                continue
            trace = label.startswith("plain") or label.startswith("pingji")
            bad, examples, ties = compare(label, ref, data["results"], points=True, trace=trace, rb=rb,
                                          customers_ids=ids)
            what = "total, grade, factor points" + (", whole trace" if trace else "")
            extra = f" ({ties} of them half-up ties of the total)" if ties else ""
            print(f"    {label:<22} {bad} disagreements ({what}){extra}")
            for e in examples:
                print(e)
            size_bad += bad
        total_bad += size_bad
        plain_rate = max(rows["plain"]["rates"])
        zen_rate = max(rows["zen"]["rates"]) if "zen" in rows else None
        print()
        hdr = f"  {'variant':<22} {'customers/s':>12} {'peak RSS MB':>12} {'evaluator MB':>13} " \
              f"{'vs plain':>9} {'vs zen':>8}"
        print(hdr)
        print("  " + "-" * (len(hdr) - 2))
        size_report = {}
        for label, data in rows.items():
            rate = max(data["rates"])
            peak = data["peak_kb"] / 1024
            growth = max(0.0, (data["peak_kb"] - data["rss_base_kb"]) / 1024)
            vs_plain = rate / plain_rate
            vs_zen = f"{rate / zen_rate:.2f}x" if zen_rate else "—"
            print(f"  {label:<22} {fmt_rate(rate):>12} {peak:>12.1f} {growth:>13.1f} {vs_plain:>9.4f} "
                  f"{vs_zen:>8}")
            size_report[label] = {"rate": rate, "rates": data["rates"], "peak_mb": peak,
                                  "evaluator_mb": growth,
                                  "vs_plain": vs_plain, "vs_zen": rate / zen_rate if zen_rate else None}
        pingji_rate = max(rows["pingji"]["rates"])
        nocheck_rate = max(rows["pingji-nocheck"]["rates"])
        need = f"(issue 2 targets apply to the 12-factor book{'' if n == 12 else '; shown for information'})"
        print(f"\n  targets {need}:")
        for label, rate in (("pingji", pingji_rate), ("pingji-nocheck", nocheck_rate)):
            ratio = rate / plain_rate
            ok = "PASS" if ratio >= TARGET_VS_PLAIN else "MISS"
            print(f"    {label:<15} vs plain traced: 1/{1 / ratio:.1f} (target >= 1/15)   {ok}")
            if zen_rate:
                ratio_z = rate / zen_rate
                okz = "PASS" if ratio_z >= TARGET_VS_ZEN else "MISS"
                print(f"    {label:<15} vs zen traced:   {ratio_z:.2f}x (target >= 3x)     {okz}")
        if "engine-c +malloc" in rows:
            c_us = 1e6 / max(rows["engine-c +malloc"]["rates"])
            plain_us = 1e6 / plain_rate
            floor = 1e6 / (c_us + plain_us)
            print(f"    floor: durable-rules alone {c_us:.0f} us + plain traced {plain_us:.0f} us = "
                  f"{c_us + plain_us:.0f} us per customer = {fmt_rate(floor)}/s"
                  + (f" = {floor / zen_rate:.2f}x zen traced" if zen_rate else ""))
            print("           (the most an evaluator on durable-rules with this trace could reach if encoding the "
                  "facts, reading the engine's messages, the schema check and the facts hash cost nothing)")
            size_report["floor"] = {"c_us": c_us, "plain_us": plain_us, "rate": floor,
                                    "vs_zen": floor / zen_rate if zen_rate else None}
        print("  peak RSS: the whole worker process (interpreter, imports, the N customers, the evaluator);")
        print("  evaluator MB: peak RSS minus the RSS before the evaluator was built (data, warm-up, runs).")
        print("  (memory flat over 100,000 customers: see bench/bench_memory.py)")
        report["sizes"][str(n)] = {"rules": len(compiled.ruleset), "conditions": compiled.condition_count,
                                   "variants": size_report, "disagreements": size_bad}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\ndisagreements: {total_bad}")
    if total_bad:
        print("A half-up tie: the exact total ends in 5 at the third decimal (e.g. 34.585); the rulebook "
              "format says 34.59; a sum in binary floats gives 34.584999999999994, rounded down to 34.58.")
    return 1 if total_bad else 0


if __name__ == "__main__":
    sys.exit(main())
