"""Loading a rating rulebook: YAML → schema check → `extends` resolution → model → semantic checks.

`load_rulebook(path)` returns a resolved, checked `Rulebook` or raises `RulebookError` carrying
*all* the diagnostics found. `check(path)` returns the diagnostics (warnings included) instead.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from pingji.builtin import rulebooks_dir, schema_dir
from pingji.diagnostics import Diagnostic, Location, error, sort_key, suggest
from pingji.errors import ExpressionError, RulebookError
from pingji.lang import expressions as ex
from pingji.lang.factschema import fact_types, find_schema, load_schema, schema_not_found
from pingji.lang.metrics import metric_order as _metric_order
from pingji.lang.metrics import parse_expr as _expr
from pingji.lang.references import Scope, find_file, scope_of
from pingji.lang.schemacheck import (
    DECISION_KINDS,
    MAX_EXAMPLES,
    MAX_METRICS,
    check_stages,
    count_limits,
    display_name,
    schema_diagnostics,
)
from pingji.lang.source import Document, load_yaml
from pingji.lang.text import parse_text as _text
from pingji.rating.checks import build_checks
from pingji.rating.examples import run_examples as run_examples_of
from pingji.rating.methods import METHODS, POINT_KEYS, REGISTRY, FactorMethod, foreign_keys, select
from pingji.rating.methods.base import ParseContext
from pingji.rating.model import Example, Factor, Grade, Group, Metric, Override, Rulebook, Scale
from pingji.rating.report_section import parse_report
from pingji.rating.run import runnable
from pingji.rating.validate import validate
from pingji.runtime.limits import MAX_RULES

SECTIONS = ("metrics", "groups", "factors")
DEFAULT_PRECISION = 4
MAX_EXTENDS_DEPTH = 16


_VALIDATOR: jsonschema.Draft202012Validator | None = None


def rulebook_schema() -> dict[str, Any]:
    with open(schema_dir() / "rulebook.schema.json", encoding="utf-8") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


def _validator() -> jsonschema.Draft202012Validator:
    global _VALIDATOR
    if _VALIDATOR is None:
        _VALIDATOR = jsonschema.Draft202012Validator(rulebook_schema())
    return _VALIDATOR


def _schema_diagnostics(doc: Document) -> list[Diagnostic]:
    return schema_diagnostics(doc, _validator(), point_keys=POINT_KEYS)


@dataclass
class Item:
    """One metric / group / factor / override after merging, with where each field came from."""

    id: str
    data: dict[str, Any]
    loc: Location
    field_locs: dict[str, Location] = field(default_factory=dict)
    doc: Document | None = None
    path: tuple[Any, ...] = ()
    field_src: dict[str, tuple[Document, tuple[Any, ...]]] = field(default_factory=dict)

    def _source(self, key: str) -> tuple[Document | None, tuple[Any, ...]]:
        """The document and item path whose definition of `key` won (after `extends`)."""
        return self.field_src.get(key, (self.doc, self.path))

    def loc_in(self, key: str, *rest: Any) -> Location:
        """Location of `key` (and a path inside it) in the file whose definition of `key` won."""
        doc, path = self._source(key)
        return doc.loc(path + (key,) + rest) if doc is not None else self.loc

    def key_loc_in(self, key: str, *rest: Any) -> Location:
        doc, path = self._source(key)
        return doc.key_loc(path + (key,) + rest) if doc is not None else self.loc

    def locator(self, key: str, text: str) -> Any:
        doc, path = self._source(key)
        return doc.scalar_locator(path + (key,), text) if doc is not None else None


@dataclass
class Layer:
    path: Path
    doc: Document


@dataclass
class Resolved:
    chain: list[Layer]  # child first
    top: dict[str, tuple[Any, Location]]
    items: dict[str, dict[str, Item]]
    overrides: dict[str, Item]
    checks: dict[str, Item]
    examples: list[tuple[dict[str, Any], Document, tuple[Any, ...]]]
    top_dir: dict[str, Path] = field(default_factory=dict)  # the folder of the file that set each top key


RULEBOOK_SUFFIXES = (".yaml", ".yml")


def find_parent(name: str, child: Path) -> Path | None:
    """The rulebook `extends: name` in the file `child` names, within `child`'s folder tree and the
    built-in catalog; None when there is none or it lies outside (loading the rulebook says why)."""
    try:
        return _find_parent(name, child, scope_of(child), Location(str(child)))
    except RulebookError:
        return None


def _find_parent(name: str, child: Path, scope: Scope, loc: Location) -> Path | None:
    """The rulebook `extends: name` in `child` names (see pingji.lang.references); RulebookError E182
    when it is outside the loaded rulebook's folder tree and the built-in catalog."""
    ids = [folder / f"{name}{ext}" for folder in (child.parent, rulebooks_dir()) for ext in RULEBOOK_SUFFIXES]
    return find_file("extends", name, child.parent, scope, loc, suffixes=RULEBOOK_SUFFIXES, ids=ids)


def _not_a_rating_rulebook(doc: Document, name: str, loc: Location) -> Diagnostic | None:
    """E183 when the parent `extends: name` found is not a rating rulebook. Only its `kind:` (one of the
    known kinds) is quoted: the file may be any YAML file, and its contents are not shown."""
    data = doc.data
    kind = data.get("kind", "rating") if isinstance(data, Mapping) else None
    if isinstance(data, Mapping) and "rulebook" in data and kind == "rating":
        return None
    what = f"a {kind} rulebook" if kind in DECISION_KINDS else "not a rating rulebook"
    return error("E183", f"extends '{name}': {doc.file} is {what}", loc,
                 hint="extends names a rating rulebook: a YAML file with a 'rulebook:' key and kind rating")


def _count_limits(doc: Document) -> Diagnostic | None:
    """E012 when a file defines more factors than the engine can run rules for (each factor is at
    least one rule), more metrics than pingji computes or more examples than check runs, counted
    before the schema check."""
    found = count_limits(doc, [
        ("factors", MAX_RULES, f"the engine runs at most {MAX_RULES} rules, one or more a factor (split the rulebook)"),
        ("metrics", MAX_METRICS, f"pingji computes at most {MAX_METRICS:,} in one rulebook (split it)"),
        ("examples", MAX_EXAMPLES, f"pingji check runs at most {MAX_EXAMPLES} (rate the others as a batch)"),
    ])
    return found[0] if found else None


def _load_chain(path: Path, diags: list[Diagnostic], document: Document | None = None) -> list[Layer] | None:
    chain: list[Layer] = []
    seen: list[Path] = []
    current: Path | None = path.resolve()
    scope = scope_of(path)
    extended: tuple[str, Location] | None = None  # what the previous file's `extends:` said, and where
    while current is not None:
        name = display_name(current)
        if document is not None and document.file == name and not chain:
            doc = document  # parsed already (pingji.checking.check): not again
        else:
            doc = load_yaml(current, display_name=name)
        if extended is not None:
            wrong = _not_a_rating_rulebook(doc, *extended)
            if wrong is not None:  # before its schema check, whose messages would quote the file
                diags.append(wrong)
                return None
        too_many = _count_limits(doc)
        if too_many is not None:  # before the schema check, which would take seconds on them (issue 12.8)
            diags.append(too_many)
            return None
        problems = _schema_diagnostics(doc)
        diags.extend(problems)
        chain.append(Layer(current, doc))
        seen.append(current)
        parent = doc.data.get("extends") if isinstance(doc.data, Mapping) else None
        if not isinstance(parent, str):
            break
        loc = doc.loc(("extends",))
        try:
            found = _find_parent(parent, current, scope, loc)
        except RulebookError as exc:
            diags.extend(exc.diagnostics)
            return None
        if found is None:
            here = [p.stem for p in current.parent.glob("*.y*ml")] + [p.stem for p in rulebooks_dir().glob("*.yaml")]
            diags.append(error("E160", f"extends '{parent}': no such rulebook", loc, hint=suggest(parent, set(here))))
            return None
        if found in seen:
            cycle = " -> ".join([p.stem for p in seen] + [found.stem])
            diags.append(error("E161", f"extends forms a cycle: {cycle}", loc))
            return None
        if len(chain) >= MAX_EXTENDS_DEPTH:
            diags.append(error("E161", f"extends chain deeper than {MAX_EXTENDS_DEPTH} rulebooks", loc))
            return None
        current = found
        extended = (parent, loc)
    return chain


def _resolve(chain: list[Layer], diags: list[Diagnostic]) -> Resolved:
    top: dict[str, tuple[Any, Location]] = {}
    top_dir: dict[str, Path] = {}
    items: dict[str, dict[str, Item]] = {s: {} for s in SECTIONS}
    overrides: dict[str, Item] = {}
    checks: dict[str, Item] = {}
    examples: list[tuple[dict[str, Any], Document, tuple[Any, ...]]] = []
    for depth, layer in enumerate(reversed(chain)):  # base first
        doc, data = layer.doc, layer.doc.data
        is_leaf = depth == len(chain) - 1
        for key, value in data.items():
            if key in SECTIONS or key in ("overrides", "checks", "examples", "remove"):
                continue
            if key == "extends" and is_leaf:
                continue
            top[key] = (value, doc.loc((key,)))
            top_dir[key] = layer.path.parent
        removals = data.get("remove") or {}
        for section, names in removals.items():
            pool = overrides if section == "overrides" else checks if section == "checks" else items[section]
            for i, name in enumerate(names):
                if name in pool:
                    del pool[name]
                else:
                    diags.append(error("E162", f"remove {section}: '{name}' is not defined by the parent rulebook",
                                       doc.loc(("remove", section, i)), hint=suggest(name, pool)))
        for section in SECTIONS:
            for name, raw in (data.get(section) or {}).items():
                path = (section, name)
                locs = {k: doc.key_loc(path + (k,)) for k in raw}
                srcs = {k: (doc, path) for k in raw}
                old = items[section].get(name)
                if old is not None and section == "factors":
                    merged = dict(old.data)
                    merged.update(raw)
                    # A factor that switches scoring methods drops the other methods' fields.
                    for k in foreign_keys(raw):
                        if k not in raw:
                            merged.pop(k, None)
                    flocs = dict(old.field_locs)
                    flocs.update(locs)
                    fsrc = dict(old.field_src)
                    fsrc.update(srcs)
                    items[section][name] = Item(name, merged, doc.key_loc(path), flocs, doc, path, fsrc)
                elif old is not None and section == "groups":
                    merged = dict(old.data)
                    merged.update(raw)
                    flocs = dict(old.field_locs)
                    flocs.update(locs)
                    fsrc = dict(old.field_src)
                    fsrc.update(srcs)
                    items[section][name] = Item(name, merged, doc.key_loc(path), flocs, doc, path, fsrc)
                else:
                    items[section][name] = Item(name, dict(raw), doc.key_loc(path), locs, doc, path, srcs)
        seen_here: dict[str, Location] = {}
        for i, raw in enumerate(data.get("overrides") or []):
            path = ("overrides", i)
            oid = raw["id"]
            if oid in seen_here:
                diags.append(error("E152", f"duplicate override id '{oid}' (first at line {seen_here[oid].line})",
                                   doc.loc(path + ("id",))))
                continue
            seen_here[oid] = doc.loc(path + ("id",))
            overrides[oid] = Item(oid, dict(raw), doc.loc(path), {k: doc.key_loc(path + (k,)) for k in raw}, doc, path)
        seen_checks: dict[str, Location] = {}
        for i, raw in enumerate(data.get("checks") or []):  # a child's check replaces its parent's of the same id
            path = ("checks", i)
            cid = raw["id"]
            if cid in seen_checks:
                diags.append(error("E541", f"duplicate check id '{cid}' (first at line {seen_checks[cid].line})",
                                   doc.loc(path + ("id",))))
                continue
            seen_checks[cid] = doc.loc(path + ("id",))
            checks[cid] = Item(cid, dict(raw), doc.loc(path), {k: doc.key_loc(path + (k,)) for k in raw}, doc, path)
        if is_leaf:
            for i, raw in enumerate(data.get("examples") or []):
                examples.append((raw, doc, ("examples", i)))
    return Resolved(chain, top, items, overrides, checks, examples, top_dir)


def _build(res: Resolved, path: Path, diags: list[Diagnostic], broken_groups: set[str]) -> Rulebook | None:
    """The model; factors that fail to build are left out and their groups noted in `broken_groups`."""
    leaf = res.chain[0].doc
    top = {k: v for k, (v, _) in res.top.items()}
    top_loc = {k: loc for k, (_, loc) in res.top.items()}

    schema_name = str(top.get("facts", "corporate"))
    base_dir = res.top_dir.get("facts", path.parent)
    facts_loc = top_loc.get("facts", leaf.loc(()))
    try:
        schema_path = find_schema(schema_name, base_dir, scope_of(res.chain[0].path), facts_loc)
        if schema_path is None:
            diags.append(schema_not_found(schema_name, base_dir, facts_loc))
            return None
        facts_schema = load_schema(schema_path, display_name(schema_path), facts_loc, schema_name)
    except RulebookError as exc:
        diags.extend(exc.diagnostics)
        return None
    types = fact_types(facts_schema)
    precision = int(top.get("precision", DEFAULT_PRECISION))

    # Metrics
    metric_items = res.items["metrics"]
    names_for_metrics = dict(types)
    names_for_metrics.update({m: "number" for m in metric_items})
    parsed: dict[str, ex.Expr | None] = {}
    for mid, item in metric_items.items():
        if mid in types:  # the metric would hide the fact: `exposure: {expr: exposure * 2}` reads itself
            diags.append(error("E111", f"metric '{mid}' has the name of a fact; a metric hides the fact it is "
                                       f"named like (rename the metric)", item.loc))
            parsed[mid] = None
            continue
        eloc = item.loc_in("expr")
        text = str(item.data["expr"])
        parsed[mid] = _expr(text, eloc, names_for_metrics, "number", diags, item.locator("expr", text))
    order = _metric_order(metric_items, parsed, diags)
    metrics = []
    for mid in order:
        item = metric_items[mid]
        tree = parsed[mid]
        if tree is None:
            continue
        metrics.append(Metric(mid, _text(item.data.get("title", mid)), str(item.data["expr"]), tree,
                              int(item.data.get("precision", precision)), item.field_locs.get("expr", item.loc)))

    # Groups
    groups = []
    for gid, item in res.items["groups"].items():
        if "weight" not in item.data:
            diags.append(error("E100", f"group '{gid}' has no weight", item.loc))
            continue
        groups.append(Group(gid, _text(item.data.get("title", gid)), float(item.data["weight"]), item.loc))
    group_ids = [g.id for g in groups]

    # Factors
    factors = []
    factor_ctx = ParseContext(metric_items.keys(), types, _reject_foreign)
    for fid, item in res.items["factors"].items():
        f = _build_factor(fid, item, factor_ctx, group_ids, diags)
        if f is not None:
            factors.append(f)
        elif "group" in item.data:
            named = str(item.data["group"])
            broken_groups.add(named)
            broken_groups.update(difflib.get_close_matches(named, group_ids, n=1, cutoff=0.6))

    scale = _build_scale(res, diags)

    # Overrides
    names_for_conditions = dict(types)
    names_for_conditions.update({m: "number" for m in metric_items})
    overrides = []
    for oid, item in res.overrides.items():
        when_loc = item.doc.loc(item.path + ("when",)) if item.doc else item.loc
        text = str(item.data["when"])
        tree = _expr(text, when_loc, names_for_conditions, "boolean", diags, item.locator("when", text))
        (action, value), = item.data["then"].items()
        then_loc = item.doc.loc(item.path + ("then", action)) if item.doc else item.loc
        if action != "notch" and scale is not None and not scale.known(str(value)):
            diags.append(error("E106", f"override '{oid}': unknown grade '{value}'", then_loc,
                               hint=suggest(str(value), _grade_names(scale))))
            continue
        if tree is None:
            continue
        overrides.append(Override(oid, str(item.data["when"]), tree, action, value, _text(item.data["reason"]),
                                  item.loc, when_loc))

    checks = build_checks(res.checks, types, metric_items.keys(), diags)

    examples = []
    for raw, doc, epath in res.examples:
        facts = raw["facts"]
        label = f"{doc.file}:{doc.loc(epath).line} (inline facts)"
        if isinstance(facts, str):
            label = facts
        examples.append(Example(str(raw["name"]), facts, label, dict(raw["expect"]), doc.loc(epath)))

    hasher = hashlib.sha256()
    for layer in res.chain:
        hasher.update(layer.path.read_bytes())
    hasher.update(schema_path.read_bytes())

    return Rulebook(
        id=str(top.get("rulebook", path.stem)),
        kind=str(top.get("kind", "rating")),
        title=_text(top.get("title", top.get("rulebook", path.stem))),
        version=str(top.get("version", "")),
        owner=str(top.get("owner", "")),
        effective=str(top.get("effective", "")),
        applies_to=dict(top.get("applies_to") or {}),
        facts_schema_path=str(schema_path),
        facts_schema=facts_schema,
        fact_types=types,
        precision=precision,
        metrics=tuple(metrics),
        groups=tuple(groups),
        factors=tuple(factors),
        scale=scale,
        overrides=tuple(overrides),
        checks=checks,
        examples=tuple(examples),
        report=parse_report(top["report"], top_loc["report"]) if "report" in top else None,
        file=leaf.file,
        sources=tuple(layer.doc.file for layer in res.chain),
        content_hash=hasher.hexdigest(),
        loc=leaf.loc(()),
    )


def _grade_names(scale: Scale) -> set[str]:
    return {g.grade for g in scale.grades} | {g.coarse for g in scale.grades if g.coarse}


def _build_factor(fid: str, item: Item, ctx: ParseContext, groups: list[str], diags: list[Diagnostic]) -> Factor | None:
    d = item.data
    at = item.field_locs
    ok = True
    for key in ("group", "weight", "missing"):
        if key not in d:
            diags.append(error("E100", f"factor '{fid}' has no '{key}'", item.loc))
            ok = False
    if "group" in d and d["group"] not in groups:
        diags.append(error("E104", f"factor '{fid}': unknown group '{d['group']}'", at.get("group", item.loc),
                           hint=suggest(d["group"], groups)))
        ok = False
    keys = [key for key in REGISTRY if key in d]
    method = select(d) if len(keys) == 1 else None
    if method is None:
        *first, last = [f"'{key}' (with {REGISTRY[key][0].table})" for key in REGISTRY]
        diags.append(error("E100", f"factor '{fid}' needs exactly one of {', '.join(first)} or {last}", item.loc))
        return None
    scoring = method.parse(fid, item, ctx, diags)
    if scoring is None or not ok:
        return None
    return Factor(fid, _text(d.get("title", fid)), d["group"], float(d["weight"]), method.kind, float(d["missing"]),
                  item.loc, scoring, field_locs=dict(at))


def _reject_foreign(fid: str, item: Any, method: FactorMethod, diags: list[Diagnostic]) -> bool:
    """E105 for each key of another scoring method; whether there was none."""
    ok = True
    for other in METHODS:
        if other.key == method.key:
            continue
        for k in other.fields:
            if k in item.data and k != other.key and k not in method.fields:
                diags.append(error("E105", f"factor '{fid}': '{k}' belongs to {other.kind} factors",
                                   item.field_locs.get(k, item.loc)))
                ok = False
    return ok


def _build_scale(res: Resolved, diags: list[Diagnostic]) -> Scale | None:
    if "scale" not in res.top:
        diags.append(error("E100", "rulebook has no 'scale'", res.chain[0].doc.loc(())))
        return None
    raw, loc = res.top["scale"]
    doc = next(layer.doc for layer in res.chain if "scale" in layer.doc.data)

    def grade(i: int, g: Mapping[str, Any], key: str) -> Grade:
        return Grade(str(g["grade"]), float(g["from"]) if "from" in g else None,
                     float(g["pd"]) if "pd" in g else None, _text(g.get("title", g["grade"])),
                     doc.loc(("scale", key, i)), str(g["coarse"]) if "coarse" in g else None, bool(g.get("default", False)))

    grades = tuple(grade(i, g, "grades") for i, g in enumerate(raw["grades"]))
    coarse = tuple(grade(i, g, "coarse") for i, g in enumerate(raw.get("coarse") or []))
    return Scale(grades, coarse, loc)


def _load(path: str | os.PathLike[str], diags: list[Diagnostic], document: Document | None = None
          ) -> Rulebook | None:
    p = Path(path)
    chain = _load_chain(p, diags, document)
    if chain is None or any(d.is_error for d in diags):
        return None
    res = _resolve(chain, diags)
    broken_groups: set[str] = set()
    rb = _build(res, chain[0].path, diags, broken_groups)
    if rb is None:
        return None
    # Weight sums of a group with a factor that failed to build would only repeat that error.
    diags.extend(d for d in validate(rb) if not (d.code in ("E131", "E132") and
                                                  any(f"group '{g}'" in d.message for g in broken_groups)))
    return rb


def check(path: str | os.PathLike[str], *, run_examples: bool = True, document: Document | None = None
          ) -> list[Diagnostic]:
    """Every diagnostic for the rating rulebook at `path` (errors and warnings), sorted by location.

    With `run_examples`, a rulebook without errors also runs its examples (E170, E171).
    `pingji.checking.check` checks a rulebook of any kind; `document` is the file already parsed.
    """
    def load(diags: list[Diagnostic]) -> Rulebook | None:
        try:
            return _load(path, diags, document)
        except ExpressionError as exc:  # pragma: no cover - parse_checked converts these
            diags.append(error(exc.code, exc.message, exc.location or Location(str(path))))
            return None

    return check_stages(load, runnable, run_examples_of if run_examples else None)  # runnable: E190


def load_rulebook(path: str | os.PathLike[str]) -> Rulebook:
    """Load, resolve, check and compile a rulebook: what it returns is known to run.

    Raises `RulebookError` with every error it has, and `EngineLimitError` (E190, located) when it
    would exceed a durable-rules limit: a batch refuses such a rulebook before its first record.
    """
    diags: list[Diagnostic] = []
    rb = _load(path, diags)
    errors = [d for d in diags if d.is_error]
    if errors or rb is None:
        raise RulebookError(sorted(set(errors), key=sort_key))
    runnable(rb)
    return rb
