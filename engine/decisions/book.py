"""Decision rulebooks: classification, provisioning, policy and monitoring, on the same engine.

A decision rulebook holds rules over one *subject* (a loan, a rated customer, two snapshots of a
customer) that decide named *outputs*:

```yaml
rulebook: five-category-2023
kind: classification            # or provisioning, policy, monitoring
facts: loan                     # the subject's facts schema
parameters: {npl_share_limit: {value: 0.10, min: 0, max: 1}}
metrics:    {overdue_days: {expr: "max(days_past_due.principal, days_past_due.interest)", precision: 0}}
outputs:
  category: {levels: [normal, special_mention, substandard, doubtful, loss], combine: worst, default: normal}
rules:
  - id: overdue-90
    when: overdue_days > 90
    then: {category: substandard}
    reason: {en: More than 90 days overdue}
```

Each rule compiles to a durable-rules rule over one narrow fact that carries the values its
condition compares (the same compilation as rating overrides: `conditions.compile_condition`). Its
action records a trace row and concludes one value per output it names. After every rule matching
the subject has fired, one *decide* rule per output (lower priority, same wave) combines the
conclusions — `worst`/`best` over ordered levels, `max`/`min`/`sum`/`first` over numbers, `all`
for a list — or takes the output's `default`, and asserts the decided value as a fact. The result
names, for every output, the rules that decided it and their `file:line`.

Numbers concluded by rules are exact decimals of their shortest representation, rounded half-up to
the output's `precision` (default 4); a `sum` is exact.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from pingji.lang import expressions as ex
from pingji.builtin import schema_dir
from pingji.rating.compile import SESSION_PATTERN, SESSION_RULE, RuleSpec
from pingji.lang.conditions import CompiledCondition, compile_condition, satisfiable
from pingji.diagnostics import Diagnostic, Location, did_you_mean, error, sort_key, warning
from pingji.errors import EngineLimitError, EvaluationError, FactsError, RulebookError
from pingji.lang.factschema import check_facts, fact_types, find_schema, load_schema, require_valid
from pingji.rating.model import Metric, Text
from pingji.rating.run import FactsEnv
from pingji.rating.load import _text
from pingji.lang.source import Document, load_yaml

DECISION_KINDS = ("classification", "provisioning", "policy", "monitoring")
DEFAULT_PRECISION = 4
# Rules whose conditions read one fact: more than ~64 conditions true at once for one fact fail
# with durable-rules error 303, so the rules are spread over facts of at most this many.
RULES_PER_FACT = 40
MAX_RULES = 400
MAX_OUTPUTS = 40
MAX_TERMS_PER_FACT = 200

MISSING, UNDEFINED = ex.MISSING, ex.UNDEFINED
_LEVEL_COMBINE = ("worst", "best")
_NUMBER_COMBINE = ("max", "min", "sum", "first")


# -- the model --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    id: str
    title: Text
    type: str  # levels, number, list
    levels: tuple[str, ...]
    combine: str
    default: Any  # a level, a Decimal, or None
    precision: int
    non_performing: tuple[str, ...]
    unit: str
    loc: Location
    default_loc: Location

    def rank(self, level: str) -> int:
        return self.levels.index(level)


@dataclass(frozen=True)
class Conclusion:
    output: str
    text: str  # as written
    value: Any  # a level, a Decimal, a string (list item), or an Expr for computed numbers
    loc: Location


@dataclass(frozen=True)
class Rule:
    id: str
    index: int
    title: Text
    when_text: str
    when: ex.Expr | None  # None: always
    then: tuple[Conclusion, ...]
    reason: Text
    cite: str
    loc: Location
    when_loc: Location


@dataclass(frozen=True)
class Parameter:
    id: str
    value: float
    lo: float | None
    hi: float | None
    title: Text
    loc: Location


@dataclass(frozen=True)
class DecisionExample:
    name: str
    facts: Any
    facts_label: str
    expect: dict[str, Any]
    fired: tuple[str, ...] | None
    loc: Location


@dataclass(frozen=True)
class DecisionBook:
    id: str
    kind: str
    title: Text
    version: str
    owner: str
    effective: str
    source: str
    facts_schema_path: str
    facts_schema: dict[str, Any]
    fact_types: dict[str, str]
    precision: int
    parameters: tuple[Parameter, ...]
    metrics: tuple[Metric, ...]
    outputs: tuple[Output, ...]
    rules: tuple[Rule, ...]
    examples: tuple[DecisionExample, ...]
    file: str
    content_hash: str
    loc: Location

    def output(self, oid: str) -> Output:
        for o in self.outputs:
            if o.id == oid:
                return o
        raise KeyError(oid)

    def rule(self, rid: str) -> Rule:
        for r in self.rules:
            if r.id == rid:
                return r
        raise KeyError(rid)


# -- loading and checking ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def decision_schema() -> dict[str, Any]:
    with open(schema_dir() / "decision.schema.json", encoding="utf-8") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(decision_schema())


def _schema_diagnostics(doc: Document) -> list[Diagnostic]:
    from pingji.rating.load import schema_diagnostics

    return schema_diagnostics(doc, _validator())


def _dec(x: Any) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(repr(x) if isinstance(x, float) else str(x))


def _quantize(d: Decimal, places: int) -> Decimal:
    return d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _build(doc: Document, path: Path, diags: list[Diagnostic]) -> DecisionBook | None:
    from pingji.rating.load import _expr, _metric_order, display_name

    data = doc.data
    kind = str(data["kind"])
    book_id = str(data["rulebook"])
    schema_name = str(data["facts"])
    schema_path = find_schema(schema_name, path.parent)
    if schema_path is None:
        diags.append(error("E180", f"facts schema '{schema_name}' not found (looked for {schema_name}.schema.json next "
                                   f"to the rulebook, in ../facts and in the built-in facts)"
                           if not (schema_name.endswith(".json") or "/" in schema_name)
                           else f"facts schema '{schema_name}' not found (no file "
                                f"{display_name(path.parent / schema_name)})", doc.loc(("facts",))))
        return None
    facts_schema = load_schema(schema_path)
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
                                _text(raw.get("title", pid)), loc))
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

    class _MetricItem:  # what _metric_order needs of a metric
        def __init__(self, mid: str):
            self.loc = doc.loc(("metrics", mid))
            self.field_locs = {"expr": doc.loc(("metrics", mid, "expr"))}

    for mid, raw in raw_metrics.items():
        text = str(raw["expr"])
        parsed[mid] = _expr(text, doc.loc(("metrics", mid, "expr")), names, "number", diags,
                            doc.scalar_locator(("metrics", mid, "expr"), text))
    order = _metric_order({m: _MetricItem(m) for m in raw_metrics}, parsed, diags)  # type: ignore[misc]
    metrics = []
    for mid in order:
        tree = parsed[mid]
        if tree is None:
            continue
        raw = raw_metrics[mid]
        metrics.append(Metric(mid, _text(raw.get("title", mid)), str(raw["expr"]), tree,
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
                diags.append(error("E214", f"output '{oid}': default '{default}' is not one of its levels"
                                           f"{did_you_mean(str(default), levels)}", dloc))
                continue
            if otype == "number":
                if isinstance(default, str):
                    diags.append(error("E214", f"output '{oid}': default must be a number, not '{default}'", dloc))
                    continue
                default = _quantize(_dec(default), int(raw.get("precision", DEFAULT_PRECISION)))
            if otype == "list":
                diags.append(error("E214", f"output '{oid}': a list output starts empty and takes no default", dloc))
                continue
        npl = tuple(str(v) for v in raw.get("non_performing") or ())
        for v in npl:
            if v not in levels:
                diags.append(error("E211", f"output '{oid}': non-performing level '{v}' is not one of its levels"
                                           f"{did_you_mean(v, levels)}", doc.loc(("outputs", oid, "non_performing"))))
        outputs[oid] = Output(oid, _text(raw.get("title", oid)), otype, levels, combine, default,
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
            cond_tree = _expr(when_text, when_loc, cond_names, "boolean", diags,
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
                    diags.append(error("E210", f"rule '{rid}': unknown output '{oid}'{did_you_mean(oid, data['outputs'])}",
                                       doc.key_loc(base + ("then", oid))))
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
                    then.append(Conclusion(oid, str(value), _dec(value), vloc))
                else:
                    text = str(value)
                    vtree = _expr(text, vloc, cond_names, "number", diags, doc.scalar_locator(base + ("then", oid), text))
                    if vtree is None:
                        ok = False
                        continue
                    then.append(Conclusion(oid, text, vtree, vloc))
            else:
                then.append(Conclusion(oid, str(value), str(value), vloc))
        if ok:
            rules.append(Rule(rid, i, _text(raw.get("title", rid)), when_text, cond_tree, tuple(then),
                              _text(raw.get("reason", raw.get("title", ""))), str(raw.get("cite", "")), loc, when_loc))

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
                diags.append(error("E210", f"example '{raw['name']}': unknown output '{key}'"
                                           f"{did_you_mean(str(key), data['outputs'])}", doc.key_loc(("examples", i, "expect", key))))
        examples.append(DecisionExample(str(raw["name"]), facts, label, dict(raw["expect"]), fired, eloc))

    hasher = hashlib.sha256()
    hasher.update(path.read_bytes())
    hasher.update(schema_path.read_bytes())
    return DecisionBook(
        id=book_id, kind=kind, title=_text(data.get("title", book_id)), version=str(data.get("version", "")),
        owner=str(data.get("owner", "")), effective=str(data.get("effective", "")), source=str(data.get("source", "")),
        facts_schema_path=str(schema_path), facts_schema=facts_schema, fact_types=types, precision=precision,
        parameters=tuple(params), metrics=tuple(metrics), outputs=tuple(outputs.values()), rules=tuple(rules),
        examples=tuple(examples), file=doc.file, content_hash=hasher.hexdigest(), loc=doc.loc(()))


def _load(path: str | os.PathLike[str], diags: list[Diagnostic], kind: str | None = None) -> DecisionBook | None:
    from pingji.rating.load import display_name

    p = Path(path)
    doc = load_yaml(p, display_name=display_name(p))
    actual = doc.data.get("kind") if isinstance(doc.data, Mapping) else None
    if kind is not None and actual != kind and actual in ("rating", *DECISION_KINDS):
        # before the schema check: a rating rulebook is not a decision rulebook with errors
        raise RulebookError([_wrong_kind(str(doc.data.get("rulebook", p.stem)), str(actual), kind, doc.loc(()))])
    problems = _schema_diagnostics(doc)
    diags.extend(problems)
    if problems:
        return None
    return _build(doc, p, diags)


def check_decision(path: str | os.PathLike[str], *, run_examples: bool = True) -> list[Diagnostic]:
    """Every diagnostic of a decision rulebook (errors and warnings), sorted by location."""
    diags: list[Diagnostic] = []
    try:
        book = _load(path, diags)
    except RulebookError as exc:
        diags.extend(exc.diagnostics)
        book = None
    if book is not None and not any(d.is_error for d in diags):
        try:
            compile_decision(book)
        except RulebookError as exc:
            diags.extend(exc.diagnostics)
        else:
            if run_examples:
                diags.extend(run_decision_examples(book))
    return sorted(set(diags), key=sort_key)


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
    return book


def _wrong_kind(book_id: str, actual: str, wanted: str, loc: Location) -> Diagnostic:
    return error("E216", f"rulebook '{book_id}' is a {actual} rulebook; a {wanted} rulebook is needed here", loc)


# -- compiling ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionSpec:
    rule: Rule | None
    output: Output | None
    condition: CompiledCondition | None
    chunk: int


@dataclass
class CompiledDecision:
    """Duck-typed like `compile.CompiledRulebook` for the runtime: `.rulebook`, `.ruleset`, `.rules`."""

    rulebook: DecisionBook
    ruleset: dict[str, Any]
    rules: dict[str, RuleSpec]
    specs: dict[str, DecisionSpec]
    chunks: tuple[tuple[DecisionSpec, ...], ...]
    metrics: tuple[tuple[Metric, Any, tuple[str, ...]], ...]
    conclusion_fns: dict[tuple[str, int], Any] = field(default_factory=dict)
    reads: dict[str, tuple[str, ...]] = field(default_factory=dict)  # rule id -> names its condition reads


def compile_decision(book: DecisionBook) -> CompiledDecision:
    """Decision rulebook → ruleset JSON and action table. Pure; refuses what the engine cannot run."""
    if len(book.rules) > MAX_RULES:
        raise EngineLimitError([error("E190", f"rulebook has {len(book.rules)} rules; pingji runs at most {MAX_RULES} "
                                              f"in one decision rulebook (durable-rules hangs past about 512 "
                                              f"conditions)", book.rules[MAX_RULES].loc)])
    if len(book.outputs) > MAX_OUTPUTS:
        raise EngineLimitError([error("E190", f"rulebook has {len(book.outputs)} outputs; at most {MAX_OUTPUTS}",
                                      book.outputs[MAX_OUTPUTS].loc)])
    ruleset: dict[str, Any] = {SESSION_RULE: {"pri": -1, "all": [{"m": SESSION_PATTERN}]}}
    rules: dict[str, RuleSpec] = {}
    specs: dict[str, DecisionSpec] = {}
    chunks: list[list[DecisionSpec]] = []
    terms_in_chunk = 0
    fns: dict[tuple[str, int], Any] = {}
    for k, r in enumerate(book.rules):
        cond = compile_condition(r.when, f"r{k}x") if r.when is not None else None
        n_terms = len(cond.terms) if cond else 0
        if n_terms > MAX_TERMS_PER_FACT:
            raise EngineLimitError([error("E190", f"rule '{r.id}' looks at {n_terms} values; the limit is "
                                                  f"{MAX_TERMS_PER_FACT}", r.when_loc)])
        if not chunks or len(chunks[-1]) >= RULES_PER_FACT or terms_in_chunk + n_terms > MAX_TERMS_PER_FACT:
            chunks.append([])
            terms_in_chunk = 0
        terms_in_chunk += n_terms
        chunk = len(chunks) - 1
        spec = DecisionSpec(r, None, cond, chunk)
        chunks[-1].append(spec)
        match: list[Any] = [{"t": "dq"}, {"c": chunk}]
        if cond is not None and cond.json is not None:
            match.append(cond.json)
        name = f"rule.{r.id}"
        ruleset[name] = {"pri": 0, "all": [{"m": {"$and": match}}]}
        rules[name] = RuleSpec(name, "rule", r.loc)
        specs[name] = spec
        for j, c in enumerate(r.then):
            if isinstance(c.value, ex.Expr):
                fns[(r.id, j)] = ex.compile_expr(c.value)
    for o in book.outputs:
        name = f"decide.{o.id}"
        ruleset[name] = {"pri": 1, "all": [{"m": {"t": "dz"}}]}
        rules[name] = RuleSpec(name, "decide", o.loc)
        specs[name] = DecisionSpec(None, o, None, -1)
    metrics = tuple((m, ex.compile_expr(m.expr), tuple(sorted(ex.names(m.expr)))) for m in book.metrics)
    reads = {r.id: tuple(sorted(n for n in ex.names(r.when) if "[]" not in n)) for r in book.rules if r.when is not None}
    return CompiledDecision(book, ruleset, rules, specs, tuple(tuple(c) for c in chunks), metrics, fns, reads)


_compiled: dict[tuple[str, str], CompiledDecision] = {}


def compiled_decision(book: DecisionBook) -> CompiledDecision:
    key = (book.content_hash, book.file)
    c = _compiled.get(key)
    if c is None:
        c = _compiled[key] = compile_decision(book)
    return c


# -- running ---------------------------------------------------------------------------------------


def _jsonable(v: Any) -> Any:
    if v is MISSING:
        return "missing"
    if v is UNDEFINED:
        return "undefined"
    if isinstance(v, Decimal):
        return _num(v)
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def _num(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


@dataclass
class OutputDecision:
    output: str
    value: Any  # level, Decimal, list of str, or None (undefined)
    rules: list[str]  # the rules whose conclusion is the decided value (rule order)
    at: list[str]  # their file:line
    reasons: list[str]  # their reasons (en)
    candidates: list[dict[str, Any]]  # every conclusion: rule, value
    by_default: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = {"value": _jsonable(self.value), "rules": self.rules, "at": self.at, "reasons": self.reasons,
             "candidates": self.candidates, "default": self.by_default}
        if self.note:
            d["note"] = self.note
        return d


@dataclass
class Decision:
    """The outcome of one decision rulebook for one subject, with the trace that produced it."""

    rulebook: DecisionBook
    subject_id: str
    facts_hash: str
    metrics: dict[str, dict[str, Any]]
    outputs: dict[str, OutputDecision]
    fired: list[dict[str, Any]]  # the rules that fired, rule order: id, at, title, reason, concluded
    trace: list[dict[str, Any]]

    def value(self, oid: str) -> Any:
        return self.outputs[oid].value

    def fired_ids(self) -> list[str]:
        return [f["rule"] for f in self.fired]

    def to_dict(self) -> dict[str, Any]:
        b = self.rulebook
        return {
            "subject": self.subject_id,
            "rulebook": {"id": b.id, "kind": b.kind, "version": b.version, "hash": b.content_hash, "file": b.file},
            "facts_hash": self.facts_hash,
            "outputs": {k: v.to_dict() for k, v in self.outputs.items()},
            "fired": self.fired,
            "metrics": self.metrics,
            "trace": self.trace,
        }


class _Run:
    def __init__(self, c: CompiledDecision, facts: Mapping[str, Any]):
        self.c = c
        self.book = c.rulebook
        self.env = FactsEnv(facts)  # parameters and metrics first, then dotted paths into the facts
        self.env.metrics.update({p.id: p.value for p in self.book.parameters})
        self.trace: list[dict[str, Any]] = []
        self.metric_rows: dict[str, dict[str, Any]] = {}
        self.conclusions: dict[str, list[tuple[Rule, Any]]] = {o.id: [] for o in self.book.outputs}
        self.fired: list[dict[str, Any]] = []
        self.decided: dict[str, OutputDecision] = {}

    def compute_metrics(self) -> None:
        from pingji.rating.run import round_half_up

        for m, fn, inputs in self.c.metrics:
            value = fn(self.env)
            if value is MISSING or value is UNDEFINED:
                shown: Any = None
                status = "missing" if value is MISSING else "undefined"
            else:
                value = round_half_up(value, m.precision) if isinstance(value, float) else value
                shown, status = value, "ok"
            self.env.metrics[m.id] = value
            seen = {n: _jsonable(self.env.get(n)) if "[]" not in n else "array" for n in inputs}
            self.metric_rows[m.id] = {"value": shown, "status": status, "expr": m.expr_text, "at": m.loc.short(),
                                      "inputs": seen, "precision": m.precision, "title": m.title.to_dict()}
            self.trace.append({"seq": len(self.trace) + 1, "rule": f"metric.{m.id}", "kind": "metric",
                               "at": m.loc.short(), "matched": seen, "asserted": {"value": shown, "status": status}})

    def inputs(self) -> list[Any]:
        facts: list[Any] = []
        for chunk_no, chunk in enumerate(self.c.chunks):
            fact: dict[str, Any] = {"t": "dq", "c": chunk_no}
            for spec in chunk:
                if spec.condition is None:
                    continue
                for term in spec.condition.terms:
                    v = term.fn(self.env)
                    if v is not MISSING and v is not UNDEFINED:
                        if isinstance(v, (int, float)) and not isinstance(v, bool) and not isinstance(v, str):
                            v = float(v) if isinstance(v, float) else v
                        fact[term.field] = v if not hasattr(v, "isoformat") else v.isoformat()
            facts.append(fact)
        facts.append({"t": "dz"})
        return facts

    def act(self, spec: RuleSpec, matched: list[dict[str, Any]]) -> list[Any]:
        d = self.c.specs[spec.name]
        if d.rule is not None:
            return self._on_rule(spec, d.rule, d.condition)
        assert d.output is not None
        return self._on_decide(spec, d.output)

    def _on_rule(self, spec: RuleSpec, r: Rule, cond: CompiledCondition | None) -> list[Any]:
        # What the condition read: every fact, metric and parameter it names, with its value.
        seen = {n: _jsonable(self.env.get(n)) for n in self.c.reads.get(r.id, ())}
        concluded: dict[str, Any] = {}
        out: list[Any] = []
        for j, c in enumerate(r.then):
            value = c.value
            if isinstance(value, ex.Expr):
                v = self.c.conclusion_fns[(r.id, j)](self.env)
                value = v if v is MISSING or v is UNDEFINED else _dec(v)
            o = self.book.output(c.output)
            if isinstance(value, Decimal):
                value = _quantize(value, o.precision)
            self.conclusions[c.output].append((r, value))
            concluded[c.output] = _jsonable(value)
            out.append({"t": "dc", "o": c.output, "r": r.id})
        self.fired.append({"rule": r.id, "at": r.loc.short(), "title": r.title.to_dict(), "when": r.when_text,
                           "reason": r.reason.to_dict(), "cite": r.cite, "concluded": concluded})
        self.trace.append({"seq": len(self.trace) + 1, "rule": spec.name, "kind": "rule", "at": spec.where,
                           "matched": seen, "asserted": concluded})
        return out

    def _on_decide(self, spec: RuleSpec, o: Output) -> list[Any]:
        got = sorted(self.conclusions[o.id], key=lambda rv: rv[0].index)
        candidates = [{"rule": r.id, "value": _jsonable(v)} for r, v in got]
        note = ""
        if not got:
            value = [] if o.type == "list" else o.default
            dec = OutputDecision(o.id, value, [], [], [], [], by_default=True,
                                 note="no rule concluded a value: the default" if o.type != "list" else "")
            at = o.default_loc.short()
        else:
            undefined = [r.id for r, v in got if v is MISSING or v is UNDEFINED]
            if undefined:
                value = None
                winners = [(r, v) for r, v in got if v is MISSING or v is UNDEFINED]
                note = f"undefined: rule {', '.join(undefined)} concluded a value from missing or undefined inputs"
            elif o.type == "levels":
                ranks = [o.rank(v) for _, v in got]
                best = max(ranks) if o.combine == "worst" else min(ranks)
                value = o.levels[best]
                winners = [(r, v) for r, v in got if v == value]
            elif o.type == "list":
                value = []
                for _, v in got:
                    if v not in value:
                        value.append(v)
                winners = got
            elif o.combine == "sum":
                value = _quantize(sum((v for _, v in got), Decimal(0)), o.precision)
                winners = got
            elif o.combine == "first":
                value = got[0][1]
                winners = got[:1]
            else:
                value = max(v for _, v in got) if o.combine == "max" else min(v for _, v in got)
                winners = [(r, v) for r, v in got if v == value]
            dec = OutputDecision(o.id, value, [r.id for r, _ in winners], [r.loc.short() for r, _ in winners],
                                 [r.reason.get("en") for r, _ in winners], candidates, note=note)
            at = spec.where
        self.decided[o.id] = dec
        asserted = {o.id: _jsonable(dec.value)}
        self.trace.append({"seq": len(self.trace) + 1, "rule": spec.name, "kind": "decide", "at": at,
                           "matched": {"combine": o.combine, "candidates": candidates}, "asserted": asserted,
                           **({"note": dec.note} if dec.note else {})})
        fact: dict[str, Any] = {"t": "do", "o": o.id}
        if isinstance(dec.value, str):
            fact["v"] = dec.value
        elif isinstance(dec.value, Decimal):
            fact["v"] = float(dec.value)
        return [fact]


def _canonical(facts: Any) -> str:
    return json.dumps(facts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)


def decide(book: DecisionBook, facts: Mapping[str, Any], *, locate: Any = None, label: str = "facts",
           check_facts: bool = True, subject_id: str | None = None) -> Decision:
    """Run a decision rulebook on one subject's facts (checked against its facts schema unless told not to)."""
    from pingji.runtime.ruleset import ruleset_for

    if not isinstance(facts, Mapping):
        raise FactsError([error("E501", f"facts must be a mapping; got {type(facts).__name__}", Location(label))])
    try:
        snapshot = _canonical(facts)
    except ValueError:
        snapshot = None
    if check_facts or snapshot is None:
        require_valid(facts, book.facts_schema, locate, label, finite=snapshot is not None)
    assert snapshot is not None
    c = compiled_decision(book)
    run = _Run(c, facts)
    run.compute_metrics()
    ruleset_for(c).run(run.inputs(), run.act, c.rules)  # type: ignore[arg-type]
    missing = [o.id for o in book.outputs if o.id not in run.decided]
    if missing:
        raise EvaluationError(f"the run ended without deciding {', '.join(missing)}", book.loc, "E603")
    run.fired.sort(key=lambda f: book.rule(f["rule"]).index)
    sid = subject_id if subject_id is not None else str(facts.get("id", ""))
    return Decision(book, sid, hashlib.sha256(snapshot.encode("utf-8")).hexdigest(), run.metric_rows,
                    {o.id: run.decided[o.id] for o in book.outputs}, run.fired, run.trace)


# -- examples --------------------------------------------------------------------------------------


def _expected_matches(o: Output, want: Any, got: Any) -> bool:
    if o.type == "number":
        return got is not None and not isinstance(want, (str, list)) and _dec(want) == got
    if o.type == "list":
        return isinstance(want, list) and [str(w) for w in want] == list(got)
    return str(want) == got


def run_decision_examples(book: DecisionBook) -> list[Diagnostic]:
    """E170 for example facts that fail the schema, E171 for expectations that do not hold."""
    out: list[Diagnostic] = []
    for exm in book.examples:
        if isinstance(exm.facts, str):
            p = Path(book.file).parent / exm.facts
            try:
                doc = load_yaml(p, display_name=str(p))
            except RulebookError as exc:
                out.extend(exc.diagnostics)
                continue
            facts, locate, label = doc.data, doc.loc, doc.file
        else:
            facts, locate, label = exm.facts, None, exm.facts_label
        problems = check_facts(facts, book.facts_schema, locate, label)
        if problems:
            out.append(error("E170", f"example '{exm.name}': facts do not match the facts schema "
                                     f"({len(problems)} problem{'s' if len(problems) > 1 else ''}; first: {problems[0]})",
                             exm.loc))
            continue
        try:
            d = decide(book, facts, check_facts=False)
        except (FactsError, EvaluationError) as exc:
            out.append(error("E171", f"example '{exm.name}': run failed: {exc}", exm.loc))
            continue
        for key, want in exm.expect.items():
            try:
                o = book.output(key)
            except KeyError:
                continue
            got = d.value(key)
            if not _expected_matches(o, want, got):
                out.append(error("E171", f"example '{exm.name}': expected {key} {_jsonable(want)}, got "
                                         f"{_jsonable(got)} (rules fired: {', '.join(d.fired_ids()) or 'none'})", exm.loc))
        if exm.fired is not None and sorted(exm.fired) != sorted(d.fired_ids()):
            out.append(error("E171", f"example '{exm.name}': expected rules [{', '.join(sorted(exm.fired))}] to fire, "
                                     f"got [{', '.join(sorted(d.fired_ids()))}]", exm.loc))
    return out
