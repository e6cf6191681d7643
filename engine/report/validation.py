"""How a back-test (`pingji.analysis.validation.Validation`) reads: a plain table, Markdown, or one HTML page.

Figures are shown to 4 decimal places (the JSON keeps the 6 they were rounded to); every verdict
names the rule of the validation rulebook that decided it, with its file:line.
"""

from __future__ import annotations

import markdown as _markdown

from pingji.analysis.validation import GRADE_OUTPUT, Backtest, Validation
from pingji.decisions.run import Decision
from pingji.report.formats import esc
from pingji.report.writers import html_page

__all__ = ["render_html", "render_markdown", "render_text"]

SHOWN = 4


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.{SHOWN}f}"


def _why(d: Decision | None, output: str) -> tuple[str, str]:
    """(verdict, the rules that decided it with file:line)."""
    if d is None:
        return "-", ""
    o = d.outputs[output]
    if o.by_default:
        return str(o.value), "no rule fired: the default"
    return str(o.value), "; ".join(f"{r} ({at})" for r, at in zip(o.rules, o.at))


def _header(v: Validation) -> str:
    head = (f"back-test of the ratings as of {v.as_of}: defaults up to {v.window_end} "
            f"({v.horizon_months} months)")
    if v.rulebook is not None:
        head += f"; judged by {v.rulebook.id} {v.rulebook.version} ({v.rulebook.file})"
    return head


def _counts(t: Backtest) -> str:
    c = t.counts
    return (f"{c['rated']} rated, {c['sample']} in the sample with {c['defaults']} "
            f"default{'s' if c['defaults'] != 1 else ''} (left out: {c['no_outcome']} without an outcome, "
            f"{c['in_default']} already in default, {c['defaulted_before_rating']} defaulted before the rating; "
            f"{c['defaulted_after_horizon']} defaulted after the window counted as not defaulted)")


def _summary(t: Backtest) -> list[str]:
    f = t.figures
    hl = (f"Hosmer-Lemeshow chi2 {_f(f['hl_chi2'])} (df {f['hl_df']}) p {_f(f['hl_p'])}" if f["hl_df"]
          else "Hosmer-Lemeshow -")
    return [
        f"AUC {_f(f['auc'])}  Gini {_f(f['gini'])}  KS {_f(f['ks'])}  (total score; by grade: AUC "
        f"{_f(f['auc_grade'])}, Gini {_f(f['gini_grade'])})",
        f"ODR {_f(f['odr'])}  Brier {_f(f['brier'])}  {hl}  HHI {_f(f['hhi'])}",
        f"overrides {f['overrides']} (rate {_f(f['override_rate'])}): {f['overrides_up']} up, "
        f"{f['overrides_down']} down ({f['expert_overrides']} by an expert); default rate overridden {_f(f['odr_overridden'])}, "
        f"not overridden {_f(f['odr_not_overridden'])}",
    ]


def _migration_lines(v: Validation, t: Backtest) -> list[str]:
    m = t.migration
    if m is None:
        return []
    return [f"migration {v.from_date} -> {v.as_of} ({m['customers']} customers rated at both): diagonal "
            f"{_f(m['diagonal'])}, within one notch {_f(m['within_one_notch'])}, up {_f(m['up'])}, "
            f"down {_f(m['down'])}; PSI {_f(m['psi'])}"]


def _matrix(t: Backtest) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the migration matrix M_ij = n_ij / n_i (from-grade rows, to-grade columns)."""
    assert t.migration is not None
    counts: dict[str, dict[str, int]] = t.migration["counts"]
    shares: dict[str, dict[str, float]] = t.migration["matrix"]
    cols = [g.grade for g in t.grades]
    extra = sorted({j for row in counts.values() for j in row} - set(cols))
    cols += extra
    rows = [[i, str(sum(row.values()))] + [_f(shares[i][j]) if j in row else "" for j in cols]
            for i, row in counts.items()]
    return ["from → to", "n", *cols], rows


def render_text(v: Validation) -> str:
    out = [_header(v)]
    for t in v.backtests:
        out += ["", f"rulebook {t.rulebook_id}: {_counts(t)}", ""]
        rows = [("grade", "N", "D", "ODR", "PD", "binomial p", "Jeffreys p", "verdict", "rule")]
        for g in t.grades:
            verdict, why = _why(g.decision, GRADE_OUTPUT)
            rows.append((g.grade, str(g.n), str(g.defaults), _f(g.odr), _f(g.pd), _f(g.binomial_p),
                         _f(g.jeffreys_p), verdict, why))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        for r in rows:
            cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:7], widths[1:7])]
            out.append("  ".join([*cells, r[7].ljust(widths[7]), r[8]]).rstrip())
        out += [""] + _summary(t) + _migration_lines(v, t) + [""]
        if t.migration is not None and t.migration["counts"]:
            head, cells_by_row = _matrix(t)
            table = [head, *cells_by_row]
            w = [max(len(r[i]) for r in table) for i in range(len(head))]
            out += ["  ".join([r[0].ljust(w[0])] + [c.rjust(x) for c, x in zip(r[1:], w[1:])]).rstrip()
                    for r in table] + [""]
        verdicts = [(o, *_why(t.decision, o)) for o in t.outputs()]
        width = max([len("not_assessed"), *(len(v) for _, v, _ in verdicts)]) + 1
        for o, verdict, why in verdicts:
            out.append(f"{o:<20} {verdict:<{width}} {why}".rstrip())
        out += [f"note: {n}" for n in t.notes]
    if v.unknown_customers:
        shown = ", ".join(v.unknown_customers[:5]) + (", ..." if len(v.unknown_customers) > 5 else "")
        out += ["", f"warning: {len(v.unknown_customers)} customer(s) of the outcomes file not rated by "
                    f"{v.as_of} in the store, left out: {shown}"]
    return "\n".join(out)


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
        "| " + " | ".join(r) + " |" for r in rows]


def render_markdown(v: Validation) -> str:
    out = [f"# Back-test of the rating system — {v.as_of}", "", esc(_header(v))]
    for t in v.backtests:
        out += ["", f"## Rulebook {esc(t.rulebook_id)}", "", esc(_counts(t)), ""]
        rows = []
        for g in t.grades:
            verdict, why = _why(g.decision, GRADE_OUTPUT)
            rows.append([esc(g.grade), str(g.n), str(g.defaults), _f(g.odr), _f(g.pd), _f(g.binomial_p),
                         _f(g.jeffreys_p), esc(verdict), esc(why)])
        out += _md_table(["grade", "N", "D", "ODR", "PD", "binomial p", "Jeffreys p", "verdict", "rule"], rows)
        out += [""] + [f"- {esc(line)}" for line in _summary(t) + _migration_lines(v, t)] + [""]
        if t.migration is not None and t.migration["counts"]:
            head, rows = _matrix(t)
            out += [f"Migration matrix {v.from_date} → {v.as_of} (share of each row's customers):", ""]
            out += _md_table(head, [[esc(c) for c in r] for r in rows]) + [""]
        out += _md_table(["judgement", "verdict", "rule"],
                         [[o.replace("_", " "), *(esc(x) for x in _why(t.decision, o))] for o in t.outputs()])
        if t.notes:
            out += [""] + [f"- note: {esc(n)}" for n in t.notes]
    if v.unknown_customers:
        out += ["", f"Customers of the outcomes file not rated by {v.as_of}, left out: "
                    + esc(", ".join(v.unknown_customers))]
    return "\n".join(out) + "\n"


def render_html(v: Validation) -> str:
    body = _markdown.markdown(render_markdown(v), extensions=["tables"], output_format="html")
    return html_page(body, f"Back-test of the rating system — {v.as_of}", "en")
