"""The justification report of one stored evaluation, as GitHub-flavoured Markdown or one HTML page.

A *record* is what the store keeps for an evaluation: `Evaluation.to_dict()` plus
`evaluation_id`, `evaluated_at` (UTC ISO string), `facts` (the customer's facts snapshot) and
`expert_overrides` (reviewers' changes of the grade). Reports are pure functions of the record
and of the credit policy they show, the `report:` section of a rating rulebook (grade meanings,
recommended measures, which indicators count as solvency, which credit facts come first; see
`pingji.report.policy`): the same record and section give the same bytes (no clock, no locale,
no environment). This module only lays out what it is given.

Sections: 1 customer basics, 2 operations, 3 financial indicators, 4 repayment capacity,
5 factor-by-factor scores, 6 rulebook overrides, 7 expert overrides, 8 the grade and its meaning,
9 recommended measures (guidance text, not a rating decision), 10 provenance, and the full trace
as an appendix. Anything missing from the record or the facts is shown as missing, never a crash.

Escaping: every piece of customer, reviewer or rulebook text goes through `esc` (Markdown and
HTML metacharacters neutralised) or `code` (a code span, only when that is safe), so the HTML
made from the Markdown by the `markdown` package cannot carry markup from the data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import markdown as _markdown

from pingji.rating.model import ReportPolicy, Scale, Text
from pingji.report.cells import (
    fact_value,
    factor_label,
    field_label,
    flatten,
    input_value,
    mask_id,
    metric_label,
    override_action,
    status_text,
)
from pingji.report.formats import (
    DASH,
    as_list,
    as_map,
    code,
    compact_json,
    dec,
    esc,
    fmt_fixed,
    fmt_money,
    fmt_number,
    fmt_percent,
    is_number,
)
from pingji.report.labels import INDUSTRY_SECTIONS, LANGS, SECTIONS, STATEMENT_SECTIONS, Pair
from pingji.report.policy import builtin_policy, scale_for
from pingji.report.record import RecordView
from pingji.report.writers import MarkdownDoc, html_page

__all__ = ["render_html", "render_markdown"]

_PERSON_FIELDS = ("id_number", "age", "occupation", "employment_type", "employer", "employment_years",
                  "marital_status", "dependants", "housing", "residence_years", "education")
_IDENTITY_FIELDS = ("registration", "industry.section", "industry.division", "size", "years_in_business",
                    "employees", "ownership", "premises", "licence_valid")


def _identity_rows(doc: MarkdownDoc, section: Mapping[str, Any], known: Sequence[str], prefix: Pair | None = None
                   ) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    flat = dict(flatten(section))
    pre = f"{esc(doc.t(prefix))} · " if prefix else ""
    for key in list(known) + [k for k in flat if k not in known]:
        if key not in flat or flat[key] is None:
            continue
        v = flat[key]
        if key == "industry.section" and isinstance(v, str):
            name = INDUSTRY_SECTIONS.get(v.upper())
            cell = f"{esc(v)} {esc(doc.t(name))}" if name else esc(v)
        elif key == "id_number" and isinstance(v, str):
            cell = esc(mask_id(v))
        else:
            cell = fact_value(doc, key, v, money=False)
        rows.append((pre + field_label(doc, key), cell))
    return rows


def _unit(doc: MarkdownDoc, view: RecordView) -> str:
    ctype = view.customer_type()
    if ctype == "corporate":
        return doc.note("unit_corporate")
    if ctype in ("individual", "small_business"):
        return doc.note("unit_retail")
    return ""


def _basics(doc: MarkdownDoc, view: RecordView) -> None:
    doc.section("basics")
    f = view.facts
    ctype = view.customer_type()
    rows: list[tuple[str, str]] = [
        (doc.w("customer_id"), code(view.customer_id()) if view.customer_id() else doc.w("not_provided")),
        (doc.w("name"), esc(f["name"]) if f.get("name") else doc.w("not_provided")),
        (doc.w("customer_type"), fact_value(doc, "customer_type", ctype) if ctype else doc.w("not_provided")),
    ]
    if f.get("as_of"):
        rows.append((doc.w("as_of"), esc(f["as_of"])))
    if ctype == "small_business" or isinstance(f.get("owner"), Mapping):
        rows += _identity_rows(doc, as_map(f.get("owner")), _PERSON_FIELDS, ("经营者", "Owner"))
    identity = as_map(f.get("identity"))
    if ctype == "individual" or (ctype != "corporate" and "age" in identity):
        rows += _identity_rows(doc, identity, _PERSON_FIELDS)
    else:
        rows += _identity_rows(doc, identity, _IDENTITY_FIELDS)
    if f.get("exposure") is not None:
        rows.append((doc.w("exposure"), fact_value(doc, "exposure", f["exposure"])))
    doc.kv(rows)
    unit = _unit(doc, view)
    if unit and f.get("exposure") is not None:
        doc.para(esc(unit))


def _operations(doc: MarkdownDoc, view: RecordView) -> None:
    doc.section("operations")
    doc.subsection("qual_scores")
    qual = [f for f in view.factors if view.is_qualitative(f)]
    if qual:
        rows = []
        for f in qual:
            levels = ", ".join(f"{esc(a.get('level'))} ({esc(a.get('assessor') or DASH)})"
                               for a in as_list(f.get("assessments")) if isinstance(a, Mapping))
            rows.append([factor_label(doc, f), esc(view.group_title(doc, str(f.get("group", "")))),
                         levels or doc.w("missing"), fmt_fixed(f.get("points"), 2), code(f.get("basis", "")),
                         code(f.get("at", ""))])
        doc.table([doc.w("factor"), doc.w("group"), doc.w("levels"), doc.w("points"), doc.w("basis"),
                   doc.w("location")], rows, "lllrll")
    else:
        doc.para(doc.note("no_qual_factors"))
    doc.subsection("assessments")
    entries = [a for a in as_list(view.facts.get("assessments")) if isinstance(a, Mapping)]
    if entries:
        doc.table([doc.w("factor"), doc.w("assessor"), doc.w("level"), doc.w("date"), doc.w("comment")],
                  [[code(a.get("factor", "")), esc(a.get("assessor") or DASH), esc(a.get("level", DASH)),
                    esc(a.get("date") or DASH), esc(a.get("comment") or DASH)] for a in entries], "llrll")
    else:
        doc.para(doc.note("no_assessments"))


def _financial(doc: MarkdownDoc, view: RecordView, shown: set[str]) -> None:
    doc.section("financial")
    doc.subsection("metrics")
    if view.metrics:
        rows = []
        for mid, row in view.metrics.items():
            row = as_map(row)
            status = str(row.get("status") or "")
            value = fmt_fixed(row.get("value"), int(row.get("precision") or 0)) if status == "ok" else DASH
            inputs = "; ".join(f"{code(name)} = {input_value(doc, name, v)}"
                               for name, v in as_map(row.get("inputs")).items())
            rows.append([metric_label(doc, view, str(mid), row), value, status_text(doc, status), inputs or DASH,
                         code(row.get("expr", "")), code(row.get("at", ""))])
        doc.table([doc.w("indicator"), doc.w("number"), doc.w("status"), doc.w("inputs"), doc.w("expression"),
                   doc.w("location")], rows, "lrllll")
    else:
        doc.para(doc.note("no_metrics"))

    doc.subsection("statements")
    f = view.facts
    unit = _unit(doc, view)
    wrote = False
    fin = as_map(f.get("financials"))
    if fin:
        shown.add("financials")
        cur, prev = as_map(fin.get("current")), as_map(fin.get("previous"))
        keys = list(cur) + [k for k in prev if k not in cur]
        extra = [k for k in fin if k not in ("current", "previous")]
        rows = []
        for k in keys:
            a, b = cur.get(k), prev.get(k)
            change = DASH
            if is_number(a) and is_number(b) and k not in ("statement_date", "audited"):
                change = fmt_money(float(dec(a) - dec(b)))
            cell_a = fact_value(doc, k, a, money=True) if k in cur else DASH
            cell_b = fact_value(doc, k, b, money=True) if k in prev else DASH
            rows.append([field_label(doc, k), cell_a, cell_b, change])
        if rows:
            doc.table([doc.w("item"), doc.w("current"), doc.w("previous"), doc.w("change")], rows, "lrrr")
            wrote = True
        if extra:
            doc.kv([(field_label(doc, k), fact_value(doc, k, v)) for k, v in flatten({k: fin[k] for k in extra})])
            wrote = True
    rows2 = []
    for section, pair in STATEMENT_SECTIONS.items():
        data = as_map(f.get(section))
        if not data:
            continue
        shown.add(section)
        for key, v in flatten(data):
            rows2.append([esc(doc.t(pair)), field_label(doc, f"{section}.{key}"), fact_value(doc, key, v)])
    if rows2:
        doc.table([doc.w("category"), doc.w("item"), doc.w("amount")], rows2, "llr")
        wrote = True
    if wrote:
        if unit:
            doc.para(esc(unit))
    else:
        doc.para(doc.note("no_statements"))

    handled = {"customer_type", "id", "name", "as_of", "identity", "owner", "exposure", "assessments", "credit",
               "collateral", "guarantees", "support"} | shown
    leftover = {k: v for k, v in f.items() if k not in handled}
    if leftover:
        doc.subsection("other_facts")
        doc.table([doc.w("path"), doc.w("value")],
                  [[code(k), fact_value(doc, k, v)] for k, v in flatten(leftover)], "lr")


def _say(doc: MarkdownDoc, text: Text) -> str:
    return doc.t((text.zh, text.en))


def _repayment(doc: MarkdownDoc, view: RecordView, policy: ReportPolicy) -> None:
    doc.section("repayment")
    doc.subsection("solvency")
    rows = []
    for mid, row in view.metrics.items():
        row = as_map(row)
        fid = view.metric_factor.get(str(mid), "")
        if view.group_of.get(fid) in policy.solvency_groups or str(mid) in policy.solvency_metrics:
            factor: Mapping[str, Any] = next((f for f in view.factors if str(f.get("id")) == fid), {})
            status = str(row.get("status") or "")
            value = fmt_fixed(row.get("value"), int(row.get("precision") or 0)) if status == "ok" else status_text(
                doc, status)
            rows.append([metric_label(doc, view, str(mid), row), value,
                         fmt_fixed(factor.get("points"), 2) if factor else DASH,
                         code(factor.get("basis", "")) if factor else DASH])
    if rows:
        doc.table([doc.w("indicator"), doc.w("number"), doc.w("points"), doc.w("basis")], rows, "lrrl")
    else:
        doc.para(doc.note("no_solvency"))

    doc.subsection("credit")
    credit = as_map(view.facts.get("credit"))
    keys = list(policy.credit) + [k for k in credit if k not in policy.credit]
    doc.table([doc.w("item"), doc.w("value")],
              [[field_label(doc, k), fact_value(doc, k, credit.get(k), money=False)] for k in keys], "lr")

    doc.subsection("security")
    f = view.facts
    if "collateral" not in f and "guarantees" not in f and "support" not in f:
        doc.para(doc.note("no_security"))
        return
    items = [c for c in as_list(f.get("collateral")) if isinstance(c, Mapping)]
    if items:
        rows = []
        total_value, total_net = Decimal(0), Decimal(0)
        for c in items:
            amount, haircut = c.get("value"), c.get("haircut")
            net: Any = None
            if is_number(amount):
                total_value += dec(amount)
                h = dec(haircut) if is_number(haircut) else Decimal(0)
                net_d = dec(amount) * (1 - h)
                total_net += net_d
                net = float(net_d)
            rows.append([fact_value(doc, "collateral_type", c.get("type")) if c.get("type") else DASH,
                         esc(c.get("description") or DASH), fmt_money(amount),
                         fmt_percent(haircut) if is_number(haircut) else DASH, fmt_money(net),
                         esc(c.get("valuation_date") or DASH), fmt_number(c.get("lien_rank"))])
        rows.append([f"**{doc.w('total_row')}**", "", fmt_money(float(total_value)), "", fmt_money(float(total_net)),
                     "", ""])
        doc.table([doc.w("type"), doc.w("description"), doc.w("appraised"), doc.w("haircut"), doc.w("net_value"),
                   doc.w("valuation_date"), doc.w("lien_rank")], rows, "llrrrlr")
    elif "collateral" in f:
        doc.para(f"{esc(SECTIONS['security'][0 if doc.lang == 'zh' else 1])}: {doc.w('unsecured')}")
    guarantees = [g for g in as_list(f.get("guarantees")) if isinstance(g, Mapping)]
    if guarantees:
        doc.table([doc.w("guarantor"), doc.w("type"), doc.w("strength"), doc.w("amount"), doc.w("joint")],
                  [[esc(g.get("guarantor") or DASH),
                    fact_value(doc, "guarantee_type", g.get("type")) if g.get("type") else DASH,
                    fact_value(doc, "strength", g.get("strength")) if g.get("strength") else DASH,
                    fmt_money(g.get("amount")),
                    fact_value(doc, "joint", g.get("joint_and_several")) if g.get("joint_and_several") is not None
                    else DASH] for g in guarantees], "lllrl")
    elif "guarantees" in f:
        doc.para(doc.note("no_guarantees"))
    support = as_map(f.get("support"))
    if support:
        doc.kv([(field_label(doc, k), fact_value(doc, k, v)) for k, v in flatten(support)])
    unit = _unit(doc, view)
    if unit and (items or guarantees):
        doc.para(esc(unit))


def _scores(doc: MarkdownDoc, view: RecordView) -> None:
    doc.section("scores")
    if view.factors:
        rows = [[factor_label(doc, f), esc(view.group_title(doc, str(f.get("group", "")))),
                 fmt_number(f.get("weight")), fmt_fixed(f.get("points"), 2), fmt_fixed(f.get("contribution"), 4),
                 code(f.get("basis", "")), code(f.get("rule", "")), code(f.get("at", ""))]
                for f in view.factors]
        doc.table([doc.w("factor"), doc.w("group"), doc.w("weight"), doc.w("points"), doc.w("contribution"),
                   doc.w("basis"), doc.w("rule"), doc.w("location")], rows, "llrrrlll")
    else:
        doc.para(doc.note("no_factors"))
    doc.subsection("groups")
    rows = [[f"{esc(doc.pick(g.get('title'), str(g.get('id'))))} {code(g.get('id'))}", fmt_number(g.get("weight")),
             fmt_fixed(g.get("subtotal"), 4), fmt_fixed(g.get("contribution"), 4)] for g in view.groups]
    rows.append([f"**{doc.w('total')}**", "", "", f"**{fmt_fixed(view.r.get('total'), 2)}**"])
    doc.table([doc.w("group"), doc.w("weight"), doc.w("subtotal"), doc.w("contribution")], rows, "lrrr")


def _overrides(doc: MarkdownDoc, view: RecordView) -> None:
    doc.section("overrides")
    if view.overrides:
        rows = []
        for o in view.overrides:
            values = "; ".join(f"{code(k)} = {input_value(doc, k, v)}" for k, v in as_map(o.get("values")).items())
            applied = o.get("applied")
            rows.append([code(o.get("id", "")), code(o.get("when", "")), values or DASH,
                         override_action(doc, o.get("action"), o.get("value")), esc(doc.pick(o.get("reason"), DASH)),
                         DASH if applied is None else (doc.w("yes") if applied else doc.w("no")),
                         code(o.get("at", ""))])
        doc.table([doc.w("override"), doc.w("condition"), doc.w("matched_values"), doc.w("action"), doc.w("reason"),
                   doc.w("applied"), doc.w("location")], rows)
        note = view.combination_note()
        if note:
            doc.para(f"{doc.w('combination')}: {code(note)}")
    else:
        doc.para(doc.note("no_overrides"))
    doc.para(doc.note("overrides_scope"))
    warnings = [w for w in view.r.get("warnings") or [] if isinstance(w, Mapping)]
    if warnings:
        doc.para(doc.note("check_warnings"))
        doc.bullets([f"{esc(doc.pick(w.get('message'), str(w.get('check'))))}: "
                     + "; ".join(f"{code(x.get('name'))} = {input_value(doc, str(x.get('name')), x.get('value'))}"
                                 for x in w.get("facts") or [] if isinstance(x, Mapping))
                     + f" ({code(w.get('check', ''))}, {code(w.get('at', ''))})" for w in warnings])


def _experts(doc: MarkdownDoc, view: RecordView) -> None:
    doc.section("expert")
    if not view.experts:
        doc.para(doc.note("no_expert"))
        return
    doc.table([doc.w("time"), doc.w("reviewer"), doc.w("old_new"), doc.w("reason"), doc.w("approved_by")],
              [[esc(e.get("at") or DASH), esc(e.get("reviewer") or DASH),
                f"{esc(e.get('old_grade') or DASH)} → {esc(e.get('new_grade') or DASH)}",
                esc(e.get("reason") or DASH), esc(e.get("approved_by") or DASH)] for e in view.experts])


@dataclass(frozen=True)
class Effective:
    """The grade that stands: the rulebook's final grade, or the last expert override of it, with the
    PD, coarse grade and title the rulebook's scale gives that grade (None where it is not known)."""

    grade: str
    pd: Any
    coarse: str
    title: Any
    last: Mapping[str, Any] | None  # the expert override that set it, if any

    @property
    def key(self) -> str:
        """The A/B/C grade the meaning and the measures are keyed on: the coarse grade, else the grade."""
        return self.coarse or self.grade


def effective(view: RecordView, scale: Scale | None) -> Effective:
    r = view.r
    title = as_map(view.meaning_row().get("asserted")).get("title")
    if not view.experts:
        return Effective(str(r.get("final_grade") or ""), r.get("pd"), str(r.get("coarse_grade") or ""), title, None)
    last = view.experts[-1]
    grade = str(r.get("effective_grade") or last.get("new_grade") or "")
    for g in (scale.grades if scale is not None else ()):
        if g.grade == grade:
            return Effective(grade, g.pd, g.coarse or "", g.title.to_dict() if g.title else None, last)
    for g in (scale.coarse if scale is not None else ()):  # an override to a coarse grade
        if g.grade == grade:
            return Effective(grade, None, grade, g.title.to_dict() if g.title else None, last)
    return Effective(grade, None, "", None, last)


def _grade(doc: MarkdownDoc, view: RecordView, policy: ReportPolicy, eff: Effective) -> None:
    doc.section("grade")
    r = view.r
    meaning = view.meaning_row()
    title = doc.pick(eff.title)
    guidance = policy.guidance(eff.key)
    rows = [(doc.w("final_grade"), f"**{esc(eff.grade or DASH)}**")]
    if eff.last is not None:
        rows.append((doc.w("rulebook_grade"), esc(r.get("final_grade") or DASH)))
    rows += [
        (doc.w("model_grade"), esc(r.get("model_grade") or DASH)),
        (doc.w("coarse_grade"), esc(eff.coarse or DASH)),
        (doc.w("grade_title"), esc(title) if title else DASH),
        (doc.w("grade_meaning"), esc(_say(doc, guidance.meaning)) if guidance else DASH),
        (doc.w("pd"), fmt_percent(eff.pd)),
        (doc.w("total"), fmt_fixed(r.get("total"), 2)),
    ]
    if meaning.get("at") and eff.last is None:
        rows.append((doc.w("defined_at"), code(meaning["at"])))
    if eff.last is not None:
        last = eff.last
        approver = f", {doc.w('approved_by').lower()} {esc(last['approved_by'])}" if last.get("approved_by") else ""
        rows.append((doc.w("expert_grade"), f"**{esc(last.get('new_grade') or DASH)}** "
                                            f"({esc(last.get('at') or DASH)}, {esc(last.get('reviewer') or DASH)}"
                                            f"{approver}: {esc(last.get('reason') or DASH)})"))
    doc.kv(rows)
    if eff.last is not None and eff.pd is None:
        doc.para(doc.note("expert_pd_unknown"))
    doc.subsection("reasons")
    reasons = [c for c in as_list(r.get("reason_codes")) if isinstance(c, Mapping)]
    if reasons:
        doc.table([doc.w("rank"), doc.w("factor"), doc.w("points"), doc.w("points_lost"), doc.w("basis")],
                  [[str(i), factor_label(doc, c), fmt_fixed(c.get("points"), 2), fmt_fixed(c.get("points_lost"), 2),
                    code(c.get("basis", ""))] for i, c in enumerate(reasons, 1)], "rlrrl")
    else:
        doc.para(doc.note("no_reasons"))


def _reason_measure(code: Mapping[str, Any], policy: ReportPolicy) -> Text:
    basis = str(code.get("basis", ""))
    if basis.startswith("missing"):
        return policy.reason_missing
    if basis.startswith("undefined"):
        return policy.reason_undefined
    fid = str(code.get("factor", "")).lower()
    for entry in policy.reasons:
        if any(k in fid for k in entry.match):
            return entry.measure
    return policy.reason_otherwise


def _measures(doc: MarkdownDoc, view: RecordView, policy: ReportPolicy, eff: Effective) -> None:
    doc.section("measures")
    doc.para(f"*{doc.note('measures_disclaimer')}*")
    key = eff.key
    if eff.last is not None:
        if policy.guidance(key) is not None:
            doc.para(doc.note("expert_basis"))
        else:  # the expert's grade maps to no coarse grade the section knows: the rulebook's grade
            key = str(view.r.get("coarse_grade") or view.r.get("final_grade") or "")
            doc.para(doc.note("expert_unmapped"))
    guidance = policy.guidance(key)
    items = [esc(_say(doc, m)) for m in (guidance.measures if guidance else ())] or [doc.note("no_grade_guidance")]
    grade_word = doc.w("level")
    doc.para(f"**{doc.note('measures_grade')}** ({grade_word} {esc(key or DASH)}):")
    doc.bullets(items)
    reasons = [c for c in as_list(view.r.get("reason_codes")) if isinstance(c, Mapping)][:policy.top_reasons]
    if reasons:
        doc.para(f"**{doc.note('measures_reasons')}**:")
        doc.table([doc.w("factor"), doc.w("points_lost"), doc.w("measure")],
                  [[factor_label(doc, c), fmt_fixed(c.get("points_lost"), 2), esc(_say(doc, _reason_measure(c, policy)))]
                   for c in reasons], "lrl")


def _provenance(doc: MarkdownDoc, view: RecordView) -> None:
    doc.section("provenance")
    r = view.r
    rb, eng, cust = as_map(r.get("rulebook")), as_map(r.get("engine")), as_map(r.get("customer"))
    engine_text = ", ".join(code(f"{k} {v}") for k, v in eng.items()) or DASH
    doc.kv([
        (doc.w("rulebook_id"), code(rb.get("id", ""))),
        (doc.w("rulebook_title"), esc(doc.pick(rb.get("title"), DASH))),
        (doc.w("version"), code(rb.get("version", ""))),
        (doc.w("hash"), code(rb.get("hash", ""))),
        (doc.w("file"), code(rb.get("file", ""))),
        (doc.w("engine"), engine_text),
        (doc.w("customer_id"), code(view.customer_id())),
        (doc.w("facts_hash"), code(cust.get("facts_hash", ""))),
        (doc.w("evaluation"), code(r.get("evaluation_id", ""))),
        (doc.w("evaluated_at"), esc(r.get("evaluated_at") or DASH)),
    ])
    doc.appendix("trace")
    if not view.trace:
        doc.para(doc.note("no_trace"))
        return
    doc.para(esc(doc.note("trace_intro")))
    rows = [[esc(row.get("seq", "")), code(row.get("rule", "")), esc(row.get("kind", "")), code(row.get("at", "")),
             code(compact_json(row.get("matched"))), code(compact_json(row.get("asserted"))),
             code(row.get("note", ""))] for row in view.trace]
    doc.table([doc.w("seq"), doc.w("rule"), doc.w("kind"), doc.w("at"), doc.w("matched"), doc.w("asserted"),
               doc.w("note")], rows, "rllllll")


def _header(doc: MarkdownDoc, view: RecordView, eff: Effective) -> None:
    r = view.r
    doc.title("title")
    name = view.facts.get("name")
    cid = view.customer_id()
    who = f"{esc(name)} ({code(cid)})" if name else (code(cid) if cid else DASH)
    rb = as_map(r.get("rulebook"))
    rb_text = f"{esc(doc.pick(rb.get('title'), str(rb.get('id') or DASH)))} ({code(rb.get('id', ''))}, " \
              f"{'版本' if doc.lang == 'zh' else 'version'} {code(rb.get('version', ''))})"
    doc.bullets([
        f"{doc.w('customer')}: {who}",
        f"{doc.w('evaluation')}: {code(r.get('evaluation_id', ''))}",
        f"{doc.w('evaluated_at')}: {esc(r.get('evaluated_at') or DASH)}",
        f"{doc.w('rulebook')}: {rb_text}",
        f"**{doc.w('final_grade')}: {esc(eff.grade or DASH)}**{_overridden(doc, view, eff)} · {doc.w('pd')} "
        f"{fmt_percent(eff.pd)} · {doc.w('total')} {fmt_fixed(r.get('total'), 2)}",
    ])


def _overridden(doc: MarkdownDoc, view: RecordView, eff: Effective) -> str:
    """After an expert override: whose, from which grade of the rulebook."""
    if eff.last is None:
        return ""
    approver = f", {doc.w('approved_by').lower()} {esc(eff.last['approved_by'])}" if eff.last.get("approved_by") else ""
    return (f" ({doc.w('overridden_by')} {esc(view.r.get('final_grade') or DASH)} → {esc(eff.grade)}: "
            f"{esc(eff.last.get('reviewer') or DASH)}{approver})")


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}; got {lang!r}.")


def render_markdown(record: Mapping[str, Any], lang: str = "zh", policy: ReportPolicy | None = None,
                    scale: Scale | None = None) -> str:
    """The justification report of a stored evaluation as GitHub-flavoured Markdown (deterministic).

    `policy` is the `report:` section of the rulebook that rated the record (see
    `pingji.report.policy.policy_for`); without one, the built-in rulebook's section is used.
    """
    _check_lang(lang)
    if not isinstance(record, Mapping):
        raise TypeError(f"record must be a mapping; got {type(record).__name__}.")
    if policy is None:
        policy = builtin_policy(str(as_map(record.get("rulebook")).get("id") or ""))
    doc, view = MarkdownDoc(lang), RecordView(record)
    if scale is None and view.experts:
        scale = scale_for(record)
    eff = effective(view, scale)
    _header(doc, view, eff)
    _basics(doc, view)
    _operations(doc, view)
    shown: set[str] = set()
    _financial(doc, view, shown)
    _repayment(doc, view, policy)
    _scores(doc, view)
    _overrides(doc, view)
    _experts(doc, view)
    _grade(doc, view, policy, eff)
    _measures(doc, view, policy, eff)
    _provenance(doc, view)
    return doc.text()


def render_html(record: Mapping[str, Any], lang: str = "zh", policy: ReportPolicy | None = None,
                scale: Scale | None = None) -> str:
    """The same report as one self-contained HTML5 page: inline CSS, no scripts, no external resources."""
    text = render_markdown(record, lang, policy, scale)
    body = _markdown.markdown(text, extensions=["tables", "fenced_code"], output_format="html")
    facts = as_map(record.get("facts"))
    cid = str(as_map(record.get("customer")).get("id") or facts.get("id") or "")
    heading = SECTIONS["title"][0 if lang == "zh" else 1]
    who = " ".join(str(x) for x in (facts.get("name"), cid) if x)
    grade = effective(RecordView(record), None).grade  # the grade that stands, after any expert override
    page_title = " — ".join(str(p) for p in (heading, who, grade) if p)
    return html_page(body, page_title, lang)
