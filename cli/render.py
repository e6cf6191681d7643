"""Plain-text tables for the terminal. Pure functions of what the library returned."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from pingji.rating.checks import finding_text


def width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, n: int, right: bool = False) -> str:
    fill = " " * max(0, n - width(text))
    return fill + text if right else text + fill


def cut(text: str, n: int) -> str:
    if width(text) <= n:
        return text
    out = ""
    for c in text:
        if width(out + c) > n - 1:
            break
        out += c
    return out + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> list[str]:
    """Columns as wide as their widest cell, two spaces apart; columns in `right` are right-aligned."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max([width(h)] + [width(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = []
    for r in [list(headers)] + cells:
        line = "  ".join(pad(c, widths[i], i in right) for i, c in enumerate(r))
        lines.append(line.rstrip())
    return lines


def value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, float):
        return repr(v) if not v.is_integer() else str(int(v)) if abs(v) < 1e15 else repr(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return str(v)


def pairs(m: Any) -> str:
    """{'a': 1, 'b': 'x'} → 'a=1 b=x'; anything else as compact JSON."""
    if isinstance(m, Mapping):
        return " ".join(f"{k}={value(v)}" for k, v in m.items()) or "-"
    return value(m)


def summary(ev: Any, lang: str = "en", evaluation: str | None = None) -> str:
    """One evaluation: grades, factor points, overrides and reason codes."""
    rb = ev.rulebook
    lines = []
    if evaluation is not None:
        lines.append(f"evaluation {evaluation}")
    lines += [
        f"customer   {ev.customer_id}",
        f"rulebook   {rb.id} {rb.version} ({rb.file}, sha256 {rb.content_hash[:12]})",
        f"total      {ev.total:.2f}",
        f"model      {ev.model_grade}",
        f"grade      {ev.final_grade}"
        + (f" (coarse {ev.coarse_grade})" if ev.coarse_grade else "")
        + (f", PD {ev.pd:.2%}" if ev.pd is not None else ""),
        "",
        f"{'factor':<28} {'group':<12} {'weight':>6} {'points':>7}  basis",
    ]
    for fr in ev.factors:
        title = cut(fr.factor.title.get(lang), 28)
        lines.append(
            f"{pad(title, 28)} {fr.factor.group[:12]:<12} {fr.factor.weight:>6g} "
            f"{fr.points:>7.2f}  {fr.basis}"
        )
    lines.append("")
    if ev.overrides:
        lines.append("overrides")
        for a in ev.overrides:
            mark = "applied" if a.get("applied") else "outweighed"
            reason = a["reason"].get(lang) or a["reason"].get("en")
            lines.append(f"  {a['id']}: {a['action']} {a['value']} ({mark}) - {reason}  [{a['at']}]")
    else:
        lines.append("overrides  none")
    if ev.warnings:
        lines.append("warnings (consistency checks of the facts)")
        lines += [f"  {w['location']}: warning[{w['code']}]: {finding_text(w, lang)}" for w in ev.warnings]
    codes = ev.reason_codes(4)
    if codes:
        lines.append("reason codes (points lost against the maximum)")
        for i, rc in enumerate(codes, 1):
            lines.append(f"  {i}. {rc['factor']}: -{rc['points_lost']:.2f} ({rc['basis']})")
    return "\n".join(lines)


def trace(record: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], factor: str | None) -> str:
    rb = record["rulebook"]
    head = (
        f"evaluation {record['evaluation_id']}  customer {record['customer']['id']}  rulebook {rb['id']} "
        f"{rb['version']}  grade {record['final_grade']}"
    )
    if record.get("effective_grade") != record["final_grade"]:
        head += f" (expert override: {record['effective_grade']})"
    if factor:
        head += f"\nthe chain of factor {factor}: {len(rows)} of {len(record['trace'])} rules"
    body = table(
        ["seq", "rule", "at", "matched -> asserted"],
        [
            [
                r["seq"],
                r["rule"],
                r["at"],
                f"{pairs(r['matched'])} -> {pairs(r['asserted'])}"
                + (f"  ({r['note']})" if r.get("note") else ""),
            ]
            for r in rows
        ],
        right=[0],
    )
    return head + "\n\n" + "\n".join(body)


def override(row: Mapping[str, Any]) -> str:
    n = row["notches"]
    direction = "up" if n > 0 else "down"
    return "\n".join(
        [
            (
                f"override {row['id']} of {row['evaluation_id']} (customer {row['customer_id']}): "
                f"{row['old_grade']} -> {row['new_grade']}"
            ),
            f"  reviewer     {row['reviewer']}",
            f"  approved by  {row['approved_by'] or '-'}",
            (
                f"  notches      {abs(n)} {direction} from the rulebook's grade {row['rulebook_grade']} "
                f"(allowance {row['allowance']})"
            ),
            f"  reason       {row['reason']}",
            f"  at           {row['at']}",
        ]
    )


def history(customer_id: str, rows: Sequence[Mapping[str, Any]]) -> str:
    n_over = sum(len(r["overrides"]) for r in rows)
    head = (
        f"customer {customer_id}: {len(rows)} evaluation{'s' if len(rows) != 1 else ''}, "
        f"{n_over} expert override{'s' if n_over != 1 else ''}"
    )
    out = [head, ""]
    # One id and version with two contents: the rulebook changed without a new version; the hash tells them apart.
    hashes: dict[tuple[Any, Any], set[Any]] = {}
    for r in rows:
        hashes.setdefault((r["rulebook_id"], r["rulebook_version"]), set()).add(r.get("rulebook_hash"))

    def label(r: Mapping[str, Any]) -> str:
        text = f"{r['rulebook_id']} {r['rulebook_version']}"
        if len(hashes[(r["rulebook_id"], r["rulebook_version"])]) > 1:
            text += f" #{str(r.get('rulebook_hash') or '')[:8]}"
        return text

    lines = table(
        ["evaluation", "rated on", "evaluated at (UTC)", "rulebook", "total", "model", "final", "now"],
        [
            [
                r["evaluation_id"],
                r["rated_on"],
                r["evaluated_at"],
                label(r),
                f"{r['total']:.2f}",
                r["model_grade"],
                r["final_grade"],
                r["effective_grade"],
            ]
            for r in rows
        ],
        right=[4],
    )
    out.append(lines[0])
    for r, line in zip(rows, lines[1:]):
        out.append(line)
        for o in r["overrides"]:
            approved = f", approved by {o['approved_by']}" if o["approved_by"] else ""
            out.append(
                f"    override {o['id']} at {o['at']}: {o['old_grade']} -> {o['new_grade']} by "
                f"{o['reviewer']}{approved}: {o['reason']}"
            )
    return "\n".join(out)


def batch(run: Mapping[str, Any]) -> str:
    rb = "chosen per customer" if run["rulebook"] == "auto" else run["rulebook"]
    this = run["this_run"]
    out = [
        (
            f"batch {run['batch_id']}{' (resumed)' if run['resumed'] else ''}: {run['input']} "
            f"({run['records']} record{'s' if run['records'] != 1 else ''}), rulebook {rb}, "
            f"{run['workers']}{' Dask' if run.get('scheduler') else ''} worker{'s' if run['workers'] != 1 else ''}"
            f"{' at ' + run['scheduler'] if run.get('scheduler') else ''}"
            f"{', rated on ' + run['rated_on'] if run.get('rated_on') else ''}"
        ),
        f"this run: {this['rated']} rated, {this['failed']} failed, {this['skipped']} already stored",
        "",
    ]
    rows = [
        [s["section"], s["rated"], "  ".join(f"{g} {n}" for g, n in s["grades"].items())]
        for s in run["sections"]
    ]
    rows.append(["total", run["rated"], ""])
    out += table(["section", "rated", "final grades"], rows, right=[1])
    if run.get("duplicates"):
        out += ["", *(w["message"] for w in run["duplicates"])]
    failures = run["failures"]
    if run["failed"]:
        out += ["", f"failed records: {run['failed']}"]
        out += ["  " + f["reason"].replace("\n", "\n  ") for f in failures]
        if len(failures) < run["failed"]:
            out.append(f"  ... and {run['failed'] - len(failures)} more (--json lists them all)")
    warned, warnings = run.get("warned", 0), run.get("warnings", [])
    if warned:
        out += ["", f"rated with warnings (consistency checks of the facts), this run: {warned}"]
        out += ["  " + w for w in warnings]
        more = run.get("warnings_total", len(warnings)) - len(warnings)
        if more > 0:
            out.append(f"  ... and {more} more (--json lists them all)")
    return "\n".join(out)
