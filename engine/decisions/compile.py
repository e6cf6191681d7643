"""Compiling a decision rulebook: one durable-rules rule per rule, one *decide* rule per output.

Each rule compiles to a rule over one narrow fact that carries the values its condition compares
(`conditions.compile_condition`, as rating overrides do); the rules are spread over several such
facts so that no fact carries more conditions than durable-rules copes with. One decide rule per
output (lower priority, same wave) combines the conclusions once every matching rule has fired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pingji.decisions.model import DecisionBook, Output, Rule
from pingji.diagnostics import error
from pingji.errors import EngineLimitError
from pingji.lang import expressions as ex
from pingji.lang.conditions import CompiledCondition, compile_condition
from pingji.rating.model import Metric
from pingji.runtime.limits import (
    DECISION_RULES_PER_FACT as RULES_PER_FACT,
)
from pingji.runtime.limits import (
    DECISION_TERMS_PER_FACT as MAX_TERMS_PER_FACT,
)
from pingji.runtime.limits import (
    MAX_DECISION_OUTPUTS as MAX_OUTPUTS,
)
from pingji.runtime.limits import (
    MAX_DECISION_RULES as MAX_RULES,
)
from pingji.runtime.spec import SESSION_PATTERN, SESSION_RULE, RuleSpec


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
