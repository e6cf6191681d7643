"""Table cells of the justification report: fact labels and values, factor and metric names, actions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pingji.report.formats import DASH, code, compact_json, esc, fmt_money, fmt_number, is_number
from pingji.report.labels import ENUMS, FIELDS, MONEY, NOT_MONEY
from pingji.report.record import RecordView
from pingji.report.writers import MarkdownDoc


def field_label(doc: MarkdownDoc, key: str) -> str:
    pair = FIELDS.get(key) or FIELDS.get(key.rsplit(".", 1)[-1])
    return esc(doc.t(pair)) if pair else code(key)


def fact_value(doc: MarkdownDoc, key: str, v: Any, money: bool | None = None) -> str:
    """One fact value: enums translated, booleans as yes/no, amounts as money, the rest as given."""
    leaf = key.rsplit(".", 1)[-1]
    if v is None:
        return doc.w("not_provided")
    if isinstance(v, bool):
        return doc.w("yes") if v else doc.w("no")
    if is_number(v):
        as_money = (leaf in MONEY) if money is None else money
        return fmt_money(v) if as_money and leaf not in NOT_MONEY else fmt_number(v)
    if isinstance(v, str):
        table = ENUMS.get(leaf)
        if table and v in table:
            return f"{esc(doc.t(table[v]))} ({code(v)})"
        return esc(v)
    return code(compact_json(v))


def factor_label(doc: MarkdownDoc, f: Mapping[str, Any]) -> str:
    fid = str(f.get("id") or f.get("factor") or "")
    title = doc.pick(f.get("title"), fid)
    if title and title != fid:
        return f"{esc(title)} {code(fid)}"
    return code(fid)


def metric_label(doc: MarkdownDoc, view: RecordView, mid: str, row: Mapping[str, Any]) -> str:
    title = doc.pick(row.get("title"))
    if not title:
        fid = view.metric_factor.get(mid)
        for f in view.factors:
            if str(f.get("id")) == fid:
                title = doc.pick(f.get("title"))
    if title and title != mid:
        return f"{esc(title)} {code(mid)}"
    return code(mid)


def status_text(doc: MarkdownDoc, status: Any) -> str:
    s = str(status or "")
    if s in ("ok", "missing", "undefined"):
        return doc.w(s) if doc.lang == "en" or s == "ok" else f"{doc.w(s)} ({s})"
    return esc(s) if s else DASH


def input_value(doc: MarkdownDoc, name: str, v: Any) -> str:
    if isinstance(v, str) and v in ("missing", "undefined", "array"):
        return doc.w(v)
    return fact_value(doc, name, v)


def mask_id(s: str) -> str:
    if len(s) <= 8:
        return "*" * len(s)
    return s[:4] + "*" * (len(s) - 8) + s[-4:]


def override_action(doc: MarkdownDoc, action: Any, value: Any) -> str:
    a = str(action)
    v = esc(value)
    if a == "grade":
        return f"设定等级 {v}（一票否决）" if doc.lang == "zh" else f"set grade {v} (knock-out)"
    if a == "cap":
        return f"等级上限 {v}" if doc.lang == "zh" else f"cap at {v}"
    if a == "floor":
        return f"等级下限 {v}" if doc.lang == "zh" else f"floor at {v}"
    if a == "notch" and is_number(value):
        n = int(value)
        if doc.lang == "zh":
            return f"上调 {n} 级" if n >= 0 else f"下调 {-n} 级"
        return f"notch up {n}" if n >= 0 else f"notch down {-n}"
    return f"{esc(a)} {v}"


def flatten(m: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in m.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.extend(flatten(v, key + "."))
        else:
            out.append((key, v))
    return out
