"""Loading a decision rulebook: YAML → schema check → model → semantic checks (and `check_decision`).

`load_decision(path)` returns a checked `DecisionBook` or raises `RulebookError` carrying every
error found; `check_decision(path)` returns the diagnostics (warnings included), compiles the
rulebook and runs its examples.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from pingji.builtin import schema_dir
from pingji.decisions.compile import compile_decision, compiled_decision
from pingji.decisions.examples import run_decision_examples
from pingji.decisions.model import (
    DECISION_KINDS,
    DEFAULT_PRECISION,
    Conclusion,
    DecisionBook,
    DecisionExample,
    Output,
    Parameter,
    Rule,
)
from pingji.diagnostics import Diagnostic, Location, did_you_mean, error, sort_key, suggest, warning
from pingji.errors import RulebookError
from pingji.lang import expressions as ex
from pingji.lang.conditions import satisfiable
from pingji.lang.factschema import fact_types, find_schema, load_schema, schema_not_found
from pingji.lang.metrics import metric_order, parse_expr
from pingji.lang.references import scope_of
from pingji.lang.schemacheck import (
    MAX_EXAMPLES,
    MAX_METRICS,
    check_stages,
    count_limits,
    display_name,
    schema_diagnostics,
)
from pingji.lang.source import Document, load_yaml
from pingji.lang.text import parse_text
from pingji.numbers import money, round_half_up
from pingji.rating.model import Metric
from pingji.runtime.limits import MAX_DECISION_RULES
from pingji.runtime.ruleset import ruleset_for

_LEVEL_COMBINE = ("worst", "best")
_NUMBER_COMBINE = ("max", "min", "sum", "first")


@lru_cache(maxsize=1)
def decision_schema() -> dict[str, Any]:
    with open(schema_dir() / "decision.schema.json", encoding="utf-8") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(decision_schema())


def _schema_diagnostics(doc: Document) -> list[Diagnostic]:
    return schema_diagnostics(doc, _validator())


def _build(doc: Document, path: Path, diags: list[Diagnostic]) -> DecisionBook | None:
    data = doc.data
    kind = str(data["kind"])
    book_id = str(data["rulebook"])
    schema_name = str(data["facts"])
    facts_loc = doc.loc(("facts",))
    try:
        schema_path = find_schema(schema_name, path.parent, scope_of(path), facts_loc)
        if schema_path is None:
            diags.append(schema_not_found(schema_name, path.parent, facts_loc))
            return None
        facts_schema = load_schema(schema_path, display_name(schema_path), facts_loc, schema_name)
    except RulebookError as exc:
        diags.extend(exc.diagnostics)
        return None
    types = fact_types(facts_schema)
    precision = int(data.get("precision", DEFAULT_PRECISION))

    # Parameters: constants with the range policy allows.
    params = []
    for pid, raw in (data.get("parameters") or {}).items():
        loc = doc.loc(("parameters", pid))
        value = float(raw["value"])
        lo, hi = raw.get("min"), raw.get("max")
        if lo is not None and hi is not None and float(lo) > float(hi):
            diags.append(error("E213", f"parameter '{pid}': min {lo} is above max {hi}", doc.loc(("parameters", pid, "min"))))
        elif (lo is not None and value < float(lo)) or (hi is not None and value > float(hi)):
            diags.append(error("E213", f"parameter '{pid}' is {raw['value']}, outside its allowed range "
                                       f"[{'' if lo is None else lo}, {'' if hi is None else hi}]",
                               doc.loc(("parameters", pid, "value"))))
        if pid in types:
            diags.append(error("E215", f"parameter '{pid}' has the name of a fact", doc.key_loc(("parameters", pid))))
        params.append(Parameter(pid, value, None if lo is None else float(lo), None if hi is None else float(hi),
                                parse_text(raw.get("title", pid)), loc))
    param_ids = {p.id for p in params}

    # Metrics (the rating rulebooks' machinery: same expressions, same cycle check).
    raw_metrics = data.get("metrics") or {}
    names = dict(types)
    names.update({p: "number" for p in param_ids})
    for mid in raw_metrics:
        if mid in param_ids or mid in types:
            diags.append(error("E215", f"metric '{mid}' has the name of a {'parameter' if mid in param_ids else 'fact'}",
                               doc.key_loc(("metrics", mid))))
    names.update({m: "number" for m in raw_metrics})
    parsed: dict[str, ex.Expr | None] = {}

    class _MetricItem:  # what metric_order needs of a metric
        def __init__(self, mid: str):
            self.loc = doc.loc(("metrics", mid))
            self.field_locs = {"expr": doc.loc(("metrics", mid, "expr"))}

    for mid, raw in raw_metrics.items():
        text = str(raw["expr"])
        parsed[mid] = parse_expr(text, doc.loc(("metrics", mid, "expr")), names, "number", diags,
                            doc.scalar_locator(("metrics", mid, "expr"), text))
    order = metric_order({m: _MetricItem(m) for m in raw_metrics}, parsed, diags)  # type: ignore[misc]
    metrics = []
    for mid in order:
        tree = parsed[mid]
        if tree is None:
            continue
        raw = raw_metrics[mid]
        metrics.append(Metric(mid, parse_text(raw.get("title", mid)), str(raw["expr"]), tree,
                              int(raw.get("precision", precision)), doc.loc(("metrics", mid, "expr"))))

    # Outputs
    outputs: dict[str, Output] = {}
    for oid, raw in data["outputs"].items():
        loc = doc.key_loc(("outputs", oid))
        levels = tuple(str(v) for v in raw.get("levels") or ())
        otype = str(raw.get("type", "levels" if levels else "number"))
        if otype == "levels" and not levels:
            diags.append(error("E211", f"output '{oid}' is of type levels but lists no levels", loc))
            continue
        if levels and otype != "levels":
            diags.append(error("E211", f"output '{oid}' lists levels but is of type {otype}", doc.loc(("outputs", oid, "type"))))
            continue
        allowed = {"levels": _LEVEL_COMBINE, "number": _NUMBER_COMBINE, "list": ("all",)}[otype]
        combine = str(raw.get("combine", allowed[0]))
        if combine not in allowed:
            diags.append(error("E211", f"output '{oid}': combine '{combine}' is not for a {otype} output "
                                       f"(use {', '.join(allowed)})", doc.loc(("outputs", oid, "combine"))))
            continue
        default: Any = raw.get("default")
        dloc = doc.loc(("outputs", oid, "default")) if "default" in raw else loc
        if default is not None:
            if otype == "levels" and str(default) not in levels:
                diags.append(error("E214", f"output '{oid}': default '{default}' is not one of its levels", dloc,
                                   hint=suggest(str(default), levels)))
                continue
            if otype == "number":
                if isinstance(default, str):
                    diags.append(error("E214", f"output '{oid}': default must be a number, not '{default}'", dloc))
                    continue
                default = round_half_up(money(default), int(raw.get("precision", DEFAULT_PRECISION)))
            if otype == "list":
                diags.append(error("E214", f"output '{oid}': a list output starts empty and takes no default", dloc))
                continue
        npl = tuple(str(v) for v in raw.get("non_performing") or ())
        for v in npl:
            if v not in levels:
                diags.append(error("E211", f"output '{oid}': non-performing level '{v}' is not one of its levels",
                                   doc.loc(("outputs", oid, "non_performing")), hint=suggest(v, levels)))
        outputs[oid] = Output(oid, parse_text(raw.get("title", oid)), otype, levels, combine, default,
                              int(raw.get("precision", DEFAULT_PRECISION)), npl, str(raw.get("unit", "")), loc, dloc)

    # Rules
    rules = []
    seen: dict[str, Location] = {}
    cond_names = dict(names)
    for i, raw in enumerate(data["rules"]):
        base = ("rules", i)
        rid = str(raw["id"])
        loc = doc.loc(base)
        if rid in seen:
            diags.append(error("E215", f"rule id '{rid}' is used twice (first at line {seen[rid].line})",
                               doc.loc(base + ("id",))))
            continue
        seen[rid] = loc
        when_raw = raw.get("when", True)
        when_loc = doc.loc(base + ("when",)) if "when" in raw else loc
        cond_tree: ex.Expr | None = None
        when_text = "always"
        ok = True
        if when_raw is False:
            diags.append(error("E212", f"rule '{rid}' can never fire (when: false)", when_loc))
            ok = False
        elif when_raw is not True:
            when_text = str(when_raw)
            cond_tree = parse_expr(when_text, when_loc, cond_names, "boolean", diags,
                              doc.scalar_locator(base + ("when",), when_text))
            if cond_tree is None:
                ok = False
            elif not satisfiable(cond_tree):
                diags.append(error("E212", f"rule '{rid}' can never fire: '{when_text}' is never true", when_loc))
                ok = False
        then = []
        for oid, value in raw["then"].items():
            vloc = doc.loc(base + ("then", oid))
            out = outputs.get(oid)
            if out is None:
                if oid not in data["outputs"]:
                    diags.append(error("E210", f"rule '{rid}': unknown output '{oid}'",
                                       doc.key_loc(base + ("then", oid)), hint=suggest(oid, data["outputs"])))
                ok = False
                continue
            if out.type == "levels":
                if str(value) not in out.levels:
                    diags.append(error("E211", f"rule '{rid}': '{value}' is not a level of output '{oid}'"
                                               f"{did_you_mean(str(value), out.levels)} (levels: {', '.join(out.levels)})",
                                       vloc))
                    ok = False
                    continue
                then.append(Conclusion(oid, str(value), str(value), vloc))
            elif out.type == "number":
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    then.append(Conclusion(oid, str(value), money(value), vloc))
                else:
                    text = str(value)
                    vtree = parse_expr(text, vloc, cond_names, "number", diags, doc.scalar_locator(base + ("then", oid), text))
                    if vtree is None:
                        ok = False
                        continue
                    then.append(Conclusion(oid, text, vtree, vloc))
            else:
                then.append(Conclusion(oid, str(value), str(value), vloc))
        if ok:
            rules.append(Rule(rid, i, parse_text(raw.get("title", rid)), when_text, cond_tree, tuple(then),
                              parse_text(raw.get("reason", raw.get("title", ""))), str(raw.get("cite", "")), loc, when_loc))

    for o in outputs.values():
        named = any(o.id in (raw.get("then") or {}) for raw in data["rules"])  # as written: a broken rule still names it
        if o.default is None and o.type != "list" and not named:
            diags.append(warning("W210", f"output '{o.id}' has no default and no rule decides it", o.loc))

    examples = []
    for i, raw in enumerate(data.get("examples") or ()):
        eloc = doc.loc(("examples", i))
        facts = raw["facts"]
        label = facts if isinstance(facts, str) else f"{doc.file}:{eloc.line} (inline facts)"
        fired = tuple(str(r) for r in raw["fired"]) if "fired" in raw else None
        for key in raw["expect"]:
            if key not in data["outputs"]:
                diags.append(error("E210", f"example '{raw['name']}': unknown output '{key}'",
                                   doc.key_loc(("examples", i, "expect", key)), hint=suggest(str(key), data["outputs"])))
        examples.append(DecisionExample(str(raw["name"]), facts, label, dict(raw["expect"]), fired, eloc))

    hasher = hashlib.sha256()
    hasher.update(path.read_bytes())
    hasher.update(schema_path.read_bytes())
    return DecisionBook(
        id=book_id, kind=kind, title=parse_text(data.get("title", book_id)), version=str(data.get("version", "")),
        owner=str(data.get("owner", "")), effective=str(data.get("effective", "")), source=str(data.get("source", "")),
        facts_schema_path=str(schema_path), facts_schema=facts_schema, fact_types=types, precision=precision,
        parameters=tuple(params), metrics=tuple(metrics), outputs=tuple(outputs.values()), rules=tuple(rules),
        examples=tuple(examples), file=doc.file, content_hash=hasher.hexdigest(), loc=doc.loc(()))


def _load(path: str | os.PathLike[str], diags: list[Diagnostic], kind: str | None = None,
          document: Document | None = None) -> DecisionBook | None:
    p = Path(path)
    name = display_name(p)
    doc = document if document is not None and document.file == name else load_yaml(p, display_name=name)
    actual = doc.data.get("kind") if isinstance(doc.data, Mapping) else None
    if kind is not None and actual != kind and actual in ("rating", *DECISION_KINDS):
        # before the schema check: a rating rulebook is not a decision rulebook with errors
        raise RulebookError([_wrong_kind(str(doc.data.get("rulebook", p.stem)), str(actual), kind, doc.loc(()))])
    problems = count_limits(doc, [  # before the schema check, which would take seconds on them (issue 12.8)
        ("rules", MAX_DECISION_RULES, (f"pingji runs at most {MAX_DECISION_RULES} in one decision rulebook "
                                       f"(durable-rules hangs past about 512 conditions): split it")),
        ("metrics", MAX_METRICS, f"pingji computes at most {MAX_METRICS:,} in one rulebook (split it)"),
        ("examples", MAX_EXAMPLES, f"pingji check runs at most {MAX_EXAMPLES} (run the others as a batch)"),
    ]) or _schema_diagnostics(doc)
    diags.extend(problems)
    if problems:
        return None
    return _build(doc, p, diags)


def check_decision(path: str | os.PathLike[str], *, run_examples: bool = True, document: Document | None = None
                   ) -> list[Diagnostic]:
    """Every diagnostic of a decision rulebook (errors and warnings), sorted by location; `document`
    is the file already parsed (it is not parsed again)."""
    return check_stages(lambda diags: _load(path, diags, document=document), compile_decision,
                        run_decision_examples if run_examples else None)


def load_decision(path: str | os.PathLike[str], kind: str | None = None) -> DecisionBook:
    """Load and check a decision rulebook; raise `RulebookError` with every error it has.

    With `kind`, a rulebook of another kind is refused (E216): classifying loans with a pricing
    policy is a mistake worth a clear message. A rating rulebook, or a decision rulebook of another
    kind, is refused for its `kind` alone, before its other contents are checked.
    """
    diags: list[Diagnostic] = []
    book = _load(path, diags, kind)
    errors = [d for d in diags if d.is_error]
    if errors or book is None:
        raise RulebookError(sorted(set(errors), key=sort_key))
    if kind is not None and book.kind != kind:
        raise RulebookError([_wrong_kind(book.id, book.kind, kind, book.loc)])
    ruleset_for(compiled_decision(book))  # known to run: engine limits (E190) refused here, not per subject
    return book


def _wrong_kind(book_id: str, actual: str, wanted: str, loc: Location) -> Diagnostic:
    return error("E216", f"rulebook '{book_id}' is a {actual} rulebook; a {wanted} rulebook is needed here", loc)
