"""`pingji diff`: what a rulebook change does — the structural diff and, on a portfolio, the impact."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable

import click

from pingji.analysis.diff import RulebookDiff, diff_rulebooks
from pingji.analysis.impact import Impact
from pingji.cli.options import UsageFailure, json_option, progress
from pingji.cli.render import table
from pingji.rating.model import Rulebook


def _num(x: float) -> str:
    return f"{x:.2f}"


def _points(x: float | None) -> str:
    if x is None:  # the factor is not in that version
        return "absent"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _head(label: str, rb: Rulebook) -> str:
    return f"{label}  {rb.id} {rb.version}  {rb.file}"


def render(result: RulebookDiff) -> str:
    old, new, changes, impact = result.old, result.new, result.changes, result.impact
    out = [_head("OLD", old), _head("NEW", new), ""]
    if not changes:
        out.append("no changes: OLD and NEW score and grade alike (the portfolio was not re-rated)")
        return "\n".join(out)
    out.append(f"{len(changes)} change{'s' if len(changes) != 1 else ''} (OLD file:line -> NEW file:line):")
    out += [c.text() for c in changes]
    out += [f"note: {r}" for r in result.notes]
    if impact is None:
        if not result.portfolio_given:
            out += ["", "structural diff only: give --db FILE or --input FILE to see the impact on a "
                        "portfolio"]
        return "\n".join(out)
    return "\n".join(out + [""] + _impact(impact))


def _share(impact: Impact, n: int) -> str:
    return f"{n} ({impact.share(n):.1f}%)" if impact.rated else str(n)


def _impact(impact: Impact) -> list[str]:
    d = impact.to_dict()
    plural = "s" if impact.customers != 1 else ""
    out = [f"impact on {impact.customers} customer{plural} from {impact.source}:",
           f"rated by both: {impact.rated}; failed under one version only: {len(impact.failures)}; "
           f"under both: {impact.failed_both}"]
    if impact.mapping.level != "none" and impact.rated:
        grades = list(impact.mapping.grades)
        what = "coarse grades" if impact.mapping.level == "coarse" else "final grades"
        out += ["", f"migration of {what} (rows OLD, columns NEW):"]
        rows = [[g] + [str(impact.matrix[g][h]) if impact.matrix[g][h] else "." for h in grades] + [
            str(sum(impact.matrix[g].values()))] for g in grades]
        columns = [str(sum(impact.matrix[g][h] for g in grades)) for h in grades]
        rows.append(["total"] + columns + [str(impact.rated)])
        out += table(["OLD\\NEW"] + grades + ["total"], rows, right=range(1, len(grades) + 2))
        out += ["", f"unchanged {_share(impact, impact.unchanged)}, up {_share(impact, impact.up)}, "
                    f"down {_share(impact, impact.down)}"]
        moved = {k: v for k, v in d["notches"].items() if k != "0"}
        if moved:
            out.append("notches (+ better under NEW): " + ", ".join(f"{k}: {v}" for k, v in moved.items()))
    elif impact.rated:
        out += ["", "final grades (no migration matrix: the scales cannot be compared):",
                "OLD " + ", ".join(f"{g} {n}" for g, n in impact.old_grades.items() if n),
                "NEW " + ", ".join(f"{g} {n}" for g, n in impact.new_grades.items() if n)]
    if impact.rated:
        out.append(f"mean total-score change: {impact.mean_score_change():+.2f}")
    if impact.movers:
        out += ["", f"top {len(impact.movers)} whose total or grade changed, largest score change first:"]
        rows = []
        for m in impact.movers:
            factors = "; ".join(f"{f['factor']} {_points(f['old_points'])} -> {_points(f['new_points'])} "
                                f"({f['contribution_change']:+.2f})" for f in m["factors"])
            rows.append([m["customer"], f"{m['old_grade']} -> {m['new_grade']}",
                         f"{_num(m['old_total'])} -> {_num(m['new_total'])}", f"{m['change']:+.2f}", factors])
        headers = ["customer", "grade", "total", "change",
                   "factors that moved it most: points OLD -> NEW (change in total)"]
        out += table(headers, rows, right=[3])
    elif impact.rated:
        out += ["", "no customer's total score or grade changed"]
    if impact.failures:
        out += ["", "failing under one version only:"]
        rows = [[f["customer"], f["fails_under"].upper(), f["code"], f["reason"]] for f in impact.failures]
        out += table(["customer", "fails under", "code", "reason"], rows)
    return out


@click.command()
@click.argument("old_name", metavar="OLD")
@click.argument("new_name", metavar="NEW")
@click.option("--db", "db_path", metavar="FILE",
              help="Re-rate the customers of this store: the facts of each customer's latest evaluation by a "
                   "rulebook with OLD's id. Read only: nothing is written to it ($PINGJI_DB is not used: "
                   "without --db or --input only the structural diff is printed).")
@click.option("--input", "input_path", metavar="FILE",
              help="Re-rate the customers of a CSV file, a JSONL file or a folder of fact files (as pingji "
                   "batch reads them).")
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True, metavar="N",
              help="How many customers to list by total-score change.")
@json_option
def diff(old_name: str, new_name: str, db_path: str | None, input_path: str | None, top: int,
         as_json: bool) -> None:
    """What a rulebook change does: the changes between OLD and NEW, and their impact on a portfolio.

    OLD and NEW are rating rulebooks, by id or file, compared after `extends`: metrics, groups,
    factors (weights, bands, method, missing and undefined scores, levels), the grade scale
    (cut-offs, PD, coarse grades) and overrides, each change with its file:line in OLD and in
    NEW. Identical rulebooks print "no changes" and re-rate nothing.

    With --db or --input, every customer is rated by both versions and nothing is stored: the
    grade migration matrix (OLD rows, NEW columns), the share unchanged, up and down (in
    notches), the mean total-score change, the customers whose score moved most with the factors
    behind it, and the customers failing under one version only, with the error code. Without
    either, only the structural diff is printed. Scales with different grades are compared
    through the coarse grades both map onto (A/B/C), else no matrix is shown. Progress goes to
    stderr from 2,000 customers.

    Example:

        pingji diff manufacturing rulebooks/manufacturing-2027.yaml --db pingji.db

        pingji diff manufacturing my-rulebooks/rulebooks/manufacturing.yaml --input portfolio.jsonl --top 20
    """
    if db_path is not None and input_path is not None:
        raise UsageFailure("error[E720]: give --db or --input, not both: the customers come from one of them")
    with contextlib.ExitStack() as stack:
        ticks: list[Callable[[int], None] | None] = []

        def start(n: int) -> None:
            ticks.append(stack.enter_context(progress(n, f"re-rating {n} customers")))

        def tick(k: int) -> None:
            if ticks and ticks[0] is not None:
                ticks[0](k)

        result = diff_rulebooks(old_name, new_name, input_path=input_path, db=db_path, top=top, on_start=start,
                                progress=tick)
    if as_json:
        click.echo(json.dumps(result.to_dict(), sort_keys=True, ensure_ascii=False, indent=2, allow_nan=False))
    else:
        click.echo(render(result))
