"""The portfolio report (Markdown and HTML): ratings by industry, asset quality, provisions and
coverage, the watch list and the re-ratings due.

It only presents what the rulebooks decided: ratings come from the store (each customer's latest
evaluation, expert overrides applied), categories and reserves from `assets` (classification and
provisioning rulebooks), signals and re-ratings from the monitoring rulebook. Every figure that a
rule decided names that rule's `file:line` in the sections below the tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import markdown as _markdown

from pingji.analysis.portfolio import Portfolio
from pingji.report.formats import esc
from pingji.report.labels import INDUSTRY_SECTIONS
from pingji.report.writers import html_page

_T: dict[str, tuple[str, str]] = {
    "title": ("信贷资产组合报告", "Portfolio report"),
    "sources": ("数据来源", "Sources"),
    "ratings": ("客户评级分布（按行业）", "Ratings by industry"),
    "ratings_note": ("每个客户取最近一次评级，已计入专家调整。", "Each customer's latest evaluation, expert overrides applied."),
    "industry": ("行业", "Industry"),
    "customers": ("客户数", "Customers"),
    "customer": ("客户", "Customer"),
    "overridden": ("专家调整", "Overridden"),
    "quality": ("资产质量：五级分类", "Asset quality: five-category classification"),
    "category": ("分类", "Category"),
    "loans": ("笔数", "Loans"),
    "balance": ("余额", "Balance"),
    "share": ("占比", "Share"),
    "total": ("合计", "Total"),
    "npl": ("不良贷款", "Non-performing"),
    "provisions": ("贷款损失准备与拨备覆盖", "Provisions and coverage"),
    "specific": ("专项准备", "Specific reserve"),
    "general": ("一般准备", "General reserve"),
    "reserves": ("准备合计", "Reserves"),
    "ecl": ("预期信用损失（IFRS 9）", "Expected credit loss (IFRS 9)"),
    "coverage": ("拨备覆盖率", "Coverage ratio"),
    "provision_rate": ("贷款拨备率", "Loan provision rate"),
    "judged": ("判断", "Judgement"),
    "rule": ("规则", "Rule"),
    "watch": ("预警名单", "Watch list"),
    "severity": ("严重程度", "Severity"),
    "action": ("建议措施", "Recommended action"),
    "signals": ("预警信号", "Signals"),
    "rerate": ("需重新评级的客户", "Re-ratings due"),
    "grade": ("评级", "Grade"),
    "due": ("到期", "Due"),
    "why": ("原因", "Why"),
    "none": ("无", "none"),
    "currency": ("报告币种", "reporting currency"),
    "fx": ("汇率表", "FX table"),
    "rounding": ("金额逐笔按四舍五入保留到分，合计为逐笔金额之和；比率保留4位小数。",
                 "Amounts are rounded half-up to the cent per loan and totals are sums of the rounded amounts; "
                 "ratios are rounded half-up to 4 places."),
}


def _t(key: str, lang: str) -> str:
    zh, en = _T[key]
    return zh if lang == "zh" else en


def _money(d: Decimal | None) -> str:
    return "-" if d is None else f"{d:,.2f}"


def _pct(d: Decimal | None) -> str:
    return "-" if d is None else f"{d * 100:.2f}%"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> list[str]:
    aligns = align or "l" + "r" * (len(head) - 1)
    sep = ["---:" if a == "r" else "---" for a in aligns]
    out = ["| " + " | ".join(head) + " |", "| " + " | ".join(sep) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _listing(title: str, head: Sequence[str], rows: list[list[str]], lang: str) -> list[str]:
    """A section listing customers: its heading, then their table, or "none" when there are none."""
    out = [f"## {_t(title, lang)}", ""]
    if not rows:
        return [*out, _t("none", lang), ""]
    return [*out, *_table([_t(h, lang) for h in head], rows, "l" * len(head)), ""]


def render_portfolio_markdown(p: Portfolio, lang: str = "en") -> str:
    out = [f"# {_t('title', lang)} — {esc(p.as_of)}", ""]
    if p.sources:
        out += [f"**{_t('sources', lang)}**: " + "; ".join(esc(s) for s in p.sources), ""]

    if p.ratings is not None:
        out += [f"## {_t('ratings', lang)}", "", _t("ratings_note", lang), ""]
        grades = sorted({str(r.get("coarse") or r["effective_grade"]) for r in p.ratings})
        by: dict[str, dict[str, int]] = {}
        over: dict[str, int] = {}
        for r in p.ratings:
            ind = str(r.get("industry") or "-")
            g = str(r.get("coarse") or r["effective_grade"])
            by.setdefault(ind, {}).setdefault(g, 0)
            by[ind][g] += 1
            over[ind] = over.get(ind, 0) + (1 if r.get("overridden") else 0)
        rows = []
        for ind in sorted(by):
            name = INDUSTRY_SECTIONS.get(ind[:1].upper())
            label = f"{ind} {name[0 if lang == 'zh' else 1]}" if name else ind
            rows.append([esc(label)] + [str(by[ind].get(g, 0)) for g in grades]
                        + [str(sum(by[ind].values())), str(over[ind])])
        totals = [f"**{_t('total', lang)}**"] + [str(sum(by[i].get(g, 0) for i in by)) for g in grades] + [
            str(len(p.ratings)), str(sum(over.values()))]
        out += _table([_t("industry", lang), *grades, _t("customers", lang), _t("overridden", lang)], rows + [totals])
        out.append("")

    cl = p.classification
    if cl is not None:
        cur = cl.currency
        rates = ", ".join(f"{r.currency} {r.rate} ({r.as_of})" for r in cur.used())
        fx = f" ({_t('fx', lang)} {esc(cur.fx.file)}: {esc(rates or _t('none', lang))})" if cur.fx else ""
        source = (f"{esc(cl.book.id)} {esc(cl.book.version)} ({esc(cl.book.file)}), {esc(cl.file)}; "
                  f"{_t('currency', lang)} {esc(cur.reporting)}{fx}")
        out += [f"## {_t('quality', lang)}", "", source, ""]
        rows = [[esc(r["category"]), str(r["loans"]), _money(r["balance"]), _pct(r["share"])] for r in cl.summary()]
        npl_n = sum(r["loans"] for r in cl.summary() if r["non_performing"])
        total = cl.total()
        rows.append([f"**{_t('total', lang)}**", str(len(cl.loans)), _money(total), ""])
        rows.append([_t("npl", lang), str(npl_n), _money(cl.non_performing()),
                     _pct(cl.non_performing() / total if total else None)])
        out += _table([_t("category", lang), _t("loans", lang), _t("balance", lang), _t("share", lang)], rows)
        out.append("")

    pv = p.provisions
    if pv is not None:
        t = pv.totals()
        a = pv.adequacy
        out += [f"## {_t('provisions', lang)}", "", _t("rounding", lang), ""]
        rows = [[esc(r["category"]), str(r["loans"]), _money(r["balance"]), _money(r["specific"])]
                for r in pv.by_category()]
        out += _table([_t("category", lang), _t("loans", lang), _t("balance", lang), _t("specific", lang)], rows)
        out.append("")

        def judged(oid: str) -> tuple[str, str]:
            od = a.outputs[oid]
            rules = ", ".join(f"`{r}` ({at})" for r, at in zip(od.rules, od.at)) or esc(od.note or "default")
            return esc(od.value), rules

        rows = [[_t("general", lang), _money(t["general_reserve"]), *judged("general_reserve")],
                [_t("specific", lang), _money(t["specific_reserve"]), "", ""],
                [_t("reserves", lang), _money(t["reserves"]), "", ""],
                [_t("ecl", lang), _money(t["ecl"]), "", ""],
                [_t("coverage", lang), _pct(t["coverage_ratio"]), *judged("coverage")],
                [_t("provision_rate", lang), _pct(t["provision_rate"]), *judged("provision_rate")]]
        out += _table(["", "", _t("judged", lang), _t("rule", lang)], rows, "lrll")
        out.append("")

    if p.watch is not None:
        rows = [[esc(w["customer_id"]), esc(w["severity"]), esc(w["action"]),
                 "; ".join(f"{esc(s.get('title', s['rule']))} (`{s['rule']}`, {s['at']})" for s in w["signals"])]
                for w in p.watch]
        out += _listing("watch", ("customer", "severity", "action", "signals"), rows, lang)
    if p.rerate is not None:
        rows = [[esc(r["customer_id"]), esc(r.get("grade", "")), esc(r.get("due", "")), esc(r.get("why", ""))]
                for r in p.rerate]
        out += _listing("rerate", ("customer", "grade", "due", "why"), rows, lang)
    return "\n".join(out).rstrip("\n") + "\n"


def render_portfolio_html(p: Portfolio, lang: str = "en") -> str:
    """The same report as one self-contained HTML5 page (inline CSS, no scripts)."""
    body = _markdown.markdown(render_portfolio_markdown(p, lang), extensions=["tables"], output_format="html")
    return html_page(body, f"{_t('title', lang)} — {p.as_of}", lang)
