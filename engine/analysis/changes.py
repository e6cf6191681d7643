"""What changed between two resolved rating rulebooks: the structural diff behind `pingji diff`.

Both rulebooks are compared after `extends` has been applied, item by item: metrics, groups,
factors (every scoring field, each band and each level), the grade scale, the overrides and the
consistency checks of the facts.
Every `Change` carries the `file:line` of the winning definition on each side (None on the side
where the item does not exist), and `compare` returns them in a fixed order: identity, metrics,
groups, factors, scale, overrides, checks; inside a section by id, then by field.

`grade_mapping` decides whether grades can be compared one-to-one (the same grade names, best
first), only through the coarse grades both scales map onto, or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pingji.diagnostics import Location
from pingji.numbers import number_text
from pingji.rating.methods import METHODS, method_of
from pingji.rating.methods.base import Setting
from pingji.rating.model import Factor, Grade, Rulebook, Scale, Text

__all__ = ["Change", "GradeMapping", "compare", "grade_mapping", "notes"]

T = TypeVar("T")


@dataclass(frozen=True)
class Change:
    """One difference: `op` is "added", "removed" or "changed"; `section` and `item` name the thing."""

    op: str
    section: str  # rulebook | metric | group | factor | grade | coarse | override | check
    item: str
    field: str
    old: str | None
    new: str | None
    old_at: Location | None
    new_at: Location | None

    def text(self) -> str:
        """One line: `~ factor asset_size: weight 20 -> 15 (old.yaml:41 -> new.yaml:41)`."""
        mark = {"added": "+", "removed": "-", "changed": "~"}[self.op]
        what = f"{self.section} {self.item}" if self.item else self.section
        if self.op == "changed":
            body = f"{self.field} {self.old} -> {self.new}"
        else:
            value = self.new if self.op == "added" else self.old
            body = f"{self.op}" + (f": {value}" if value else "")
        where = f"{_at(self.old_at)} -> {_at(self.new_at)}"
        return f"{mark} {what}: {body} ({where})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": self.op, "section": self.section, "item": self.item, "field": self.field,
            "old": self.old, "new": self.new,
            "old_at": _at(self.old_at) if self.old_at else None,
            "new_at": _at(self.new_at) if self.new_at else None,
        }


def _at(loc: Location | None) -> str:
    return loc.short() if loc is not None else "-"


def _text(t: Text) -> str:
    return f"{t.en} / {t.zh}" if t.zh and t.zh != t.en else t.en


def _pct(pd: float | None) -> str:
    return "none" if pd is None else f"{number_text(round(pd * 100, 6))}%"


class _Collector:
    def __init__(self) -> None:
        self.out: list[Change] = []

    def field(self, section: str, item: str, name: str, old: Any, new: Any,
              old_at: Location | None, new_at: Location | None, show: Callable[[Any], str] = str) -> None:
        if old != new:
            self.out.append(Change("changed", section, item, name, show(old), show(new), old_at, new_at))

    def added(self, section: str, item: str, value: str, at: Location) -> None:
        self.out.append(Change("added", section, item, "", None, value, None, at))

    def removed(self, section: str, item: str, value: str, at: Location) -> None:
        self.out.append(Change("removed", section, item, "", value, None, at, None))


def _by_id(items: Iterable[T]) -> dict[str, T]:
    return {getattr(i, "id"): i for i in items}


def _ids(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(set(old) | set(new))


def _describe_factor(f: Factor) -> str:
    return f"group {f.group}, weight {number_text(f.weight)}, {method_of(f).summary(f)}"


# The YAML keys of every scoring method, in the registry's order: settings are compared in it.
_KEY_ORDER = list(dict.fromkeys(k for m in METHODS for k in m.fields))


def _factors(c: _Collector, old: Rulebook, new: Rulebook) -> None:
    a, b = _by_id(old.factors), _by_id(new.factors)
    for fid in _ids(a, b):
        fa, fb = a.get(fid), b.get(fid)
        if fb is None or fa is None:
            if fb is not None:
                c.added("factor", fid, _describe_factor(fb), fb.loc)
            elif fa is not None:
                c.removed("factor", fid, _describe_factor(fa), fa.loc)
            continue
        ma, mb = method_of(fa), method_of(fb)
        c.field("factor", fid, "group", fa.group, fb.group, fa.at("group"), fb.at("group"))
        c.field("factor", fid, "weight", fa.weight, fb.weight, fa.at("weight"), fb.at("weight"), number_text)
        # a kind is where its selecting key (`metric:`, `assessed:`, ...) is
        c.field("factor", fid, "kind", fa.kind, fb.kind, fa.at(mb.key), fb.at(mb.key))
        _settings(c, fid, fa, fb, ma.settings(fa), mb.settings(fb), None)
        c.field("factor", fid, "missing score", fa.missing, fb.missing, fa.at("missing"), fb.at("missing"), number_text)
        _settings(c, fid, fa, fb, ma.scores(fa), mb.scores(fb), number_text)
        pa = {p.label: p for p in ma.parts(fa)}
        pb = {p.label: p for p in mb.parts(fb)}
        for label in sorted(set(pa) | set(pb), key=lambda k: (pa.get(k) or pb[k]).order):
            x, y = pa.get(label), pb.get(label)
            if x is None and y is not None:
                c.added("factor", f"{fid} {label}", y.text, y.loc)
            elif y is None and x is not None:
                c.removed("factor", f"{fid} {label}", x.text, x.loc)
            elif x is not None and y is not None and x.value != y.value:
                c.out.append(Change("changed", "factor", fid, x.field, x.shown, y.shown, x.loc, y.loc))


def _settings(c: _Collector, fid: str, fa: Factor, fb: Factor, xs: list[Setting], ys: list[Setting],
              show: Callable[[Any], str] | None) -> None:
    """Compare two scorings' settings by name (absent on one side: its default), in the order of their YAML keys."""
    a, b = {s.name: s for s in xs}, {s.name: s for s in ys}
    both = {**b, **a}
    for name in sorted(both, key=lambda n: _KEY_ORDER.index(both[n].key) if both[n].key in _KEY_ORDER else len(_KEY_ORDER)):
        x, y, key = a.get(name), b.get(name), both[name].key
        c.field("factor", fid, name, x.value if x else both[name].default, y.value if y else both[name].default,
                fa.at(key), fb.at(key), show or both[name].show)


def _grade(g: Grade) -> str:
    parts = [f"from {number_text(g.lo)}" if g.lo is not None else "below the last cut-off", f"pd {_pct(g.pd)}"]
    if g.coarse:
        parts.append(f"coarse {g.coarse}")
    return ", ".join(parts)


def _scale(c: _Collector, old: Scale | None, new: Scale | None) -> None:
    if old is None or new is None:  # pragma: no cover - a loaded rating rulebook always has a scale
        return
    c.field("scale", "", "grades", " ".join(old.names()), " ".join(new.names()), old.loc, new.loc)
    a = {g.grade: g for g in old.grades}
    b = {g.grade: g for g in new.grades}
    for name in [n for n in old.names() if n in b] + [n for n in new.names() if n not in a]:
        ga, gb = a.get(name), b.get(name)
        if ga is None and gb is not None:
            c.added("grade", name, _grade(gb), gb.loc)
        elif ga is not None and gb is not None:
            c.field("grade", name, "cut-off", ga.lo, gb.lo, ga.loc, gb.loc, number_text)
            c.field("grade", name, "pd", ga.pd, gb.pd, ga.loc, gb.loc, _pct)
            c.field("grade", name, "coarse", ga.coarse, gb.coarse, ga.loc, gb.loc, lambda v: v or "none")
            c.field("grade", name, "default", ga.default, gb.default, ga.loc, gb.loc,
                    lambda v: str(v).lower())
    for name in old.names():
        if name not in b:
            c.removed("grade", name, _grade(a[name]), a[name].loc)
    ca = {g.grade: g for g in old.coarse}
    cb = {g.grade: g for g in new.coarse}
    for name in sorted(set(ca) | set(cb)):
        if name not in ca:
            c.added("coarse", name, "", cb[name].loc)
        elif name not in cb:
            c.removed("coarse", name, "", ca[name].loc)


def _then(action: str, value: Any) -> str:
    return f"{action} {value:+d}" if action == "notch" and isinstance(value, int) else f"{action} {value}"


def compare(old: Rulebook, new: Rulebook) -> list[Change]:
    """Every difference between two resolved rating rulebooks, in a deterministic order."""
    c = _Collector()
    for name in ("id", "version", "owner", "effective"):
        c.field("rulebook", "", name, getattr(old, name), getattr(new, name), old.loc, new.loc)
    c.field("rulebook", "", "title", old.title, new.title, old.loc, new.loc, _text)
    c.field("rulebook", "", "applies_to", old.applies_to, new.applies_to, old.loc, new.loc,
            lambda v: ", ".join(f"{k} {v[k]}" for k in sorted(v)))
    c.field("rulebook", "", "facts schema", Path(old.facts_schema_path).name,
            Path(new.facts_schema_path).name, old.loc, new.loc)
    c.field("rulebook", "", "precision", old.precision, new.precision, old.loc, new.loc)

    ma, mb = _by_id(old.metrics), _by_id(new.metrics)
    for mid in _ids(ma, mb):
        x, y = ma.get(mid), mb.get(mid)
        if x is None and y is not None:
            c.added("metric", mid, y.expr_text, y.loc)
        elif y is None and x is not None:
            c.removed("metric", mid, x.expr_text, x.loc)
        elif x is not None and y is not None:
            c.field("metric", mid, "expr", x.expr_text, y.expr_text, x.loc, y.loc)
            c.field("metric", mid, "precision", x.precision, y.precision, x.loc, y.loc)

    ga, gb = _by_id(old.groups), _by_id(new.groups)
    for gid in _ids(ga, gb):
        gx, gy = ga.get(gid), gb.get(gid)
        if gx is None and gy is not None:
            c.added("group", gid, f"weight {number_text(gy.weight)}", gy.loc)
        elif gy is None and gx is not None:
            c.removed("group", gid, f"weight {number_text(gx.weight)}", gx.loc)
        elif gx is not None and gy is not None:
            c.field("group", gid, "weight", gx.weight, gy.weight, gx.loc, gy.loc, number_text)

    _factors(c, old, new)
    _scale(c, old.scale, new.scale)

    oa, ob = _by_id(old.overrides), _by_id(new.overrides)
    for oid in _ids(oa, ob):
        ox, oy = oa.get(oid), ob.get(oid)
        if ox is None and oy is not None:
            c.added("override", oid, f"when {oy.when_text} then {_then(oy.action, oy.value)}, reason "
                                     f"{_text(oy.reason)!r}", oy.loc)
        elif oy is None and ox is not None:
            c.removed("override", oid, f"when {ox.when_text} then {_then(ox.action, ox.value)}", ox.loc)
        elif ox is not None and oy is not None:
            c.field("override", oid, "when", ox.when_text, oy.when_text, ox.when_loc, oy.when_loc)
            c.field("override", oid, "then", _then(ox.action, ox.value), _then(oy.action, oy.value),
                    ox.loc, oy.loc)
            c.field("override", oid, "reason", ox.reason, oy.reason, ox.loc, oy.loc, lambda t: repr(_text(t)))

    ka, kb = _by_id(old.checks), _by_id(new.checks)
    for cid in _ids(ka, kb):
        kx, ky = ka.get(cid), kb.get(cid)
        if kx is None and ky is not None:
            c.added("check", cid, f"{ky.severity}: require {ky.require_text}", ky.loc)
        elif ky is None and kx is not None:
            c.removed("check", cid, f"{kx.severity}: require {kx.require_text}", kx.loc)
        elif kx is not None and ky is not None:
            c.field("check", cid, "require", kx.require_text, ky.require_text, kx.require_loc, ky.require_loc)
            c.field("check", cid, "severity", kx.severity, ky.severity, kx.loc, ky.loc)
            c.field("check", cid, "tolerance", kx.tolerance, ky.tolerance, kx.loc, ky.loc, number_text)
    return c.out


@dataclass(frozen=True)
class GradeMapping:
    """How OLD grades compare with NEW ones.

    `level` is "grade" (the same grade names in the same order: one-to-one), "coarse" (both scales
    map onto the same coarse grades, e.g. A/B/C: compared there) or "none" (no migration matrix).
    `grades` are the grades compared, best first; `of_old` / `of_new` map a final grade onto them.
    """

    level: str
    grades: tuple[str, ...]
    old_map: dict[str, str]
    new_map: dict[str, str]
    note: str

    def of_old(self, grade: str) -> str:
        return self.old_map.get(grade, grade)

    def of_new(self, grade: str) -> str:
        return self.new_map.get(grade, grade)


def _coarse(scale: Scale) -> tuple[tuple[str, ...], dict[str, str]] | None:
    """The coarse grades of a scale, best first, and each grade's coarse grade (the grade itself
    when the scale has no finer master scale); None when some grade maps onto nothing."""
    if not scale.coarse:
        return tuple(scale.names()), {n: n for n in scale.names()}
    if any(g.coarse is None for g in scale.grades):
        return None
    return tuple(g.grade for g in scale.coarse), {g.grade: str(g.coarse) for g in scale.grades}


def grade_mapping(old: Rulebook, new: Rulebook) -> GradeMapping:
    assert old.scale is not None and new.scale is not None
    a, b = old.scale.names(), new.scale.names()
    if a == b:
        return GradeMapping("grade", tuple(a), {}, {}, "")
    ca, cb = _coarse(old.scale), _coarse(new.scale)
    if ca is not None and cb is not None and ca[0] == cb[0]:
        return GradeMapping(
            "coarse", ca[0], ca[1], cb[1],
            f"the grade scales differ ({' '.join(a)} | {' '.join(b)}): grades are compared through the "
            f"coarse grades {'/'.join(ca[0])}",
        )
    return GradeMapping(
        "none", (), {}, {},
        f"the grade scales differ ({' '.join(a)} | {' '.join(b)}) and map onto no common coarse grades: "
        f"grades cannot be compared one-to-one (no migration matrix)",
    )


def notes(old: Rulebook, new: Rulebook, mapping: GradeMapping) -> list[str]:
    out = [mapping.note] if mapping.note else []
    ta, tb = old.applies_to.get("customer_type"), new.applies_to.get("customer_type")
    if ta and tb and ta != tb:  # issue 12.24: not a change of one scorecard
        out.append(f"OLD rates {ta} customers and NEW {tb} customers: these are two scorecards, not a change "
                   f"of one, and the changes below are the differences between them")
    a, b = Path(old.facts_schema_path).name, Path(new.facts_schema_path).name
    if a != b:
        out.append(
            f"the facts schemas differ ({a} | {b}): "
            f"customers whose facts fit only one are listed as failing under the other"
        )
    return out
