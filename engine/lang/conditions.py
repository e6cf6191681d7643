"""Override conditions: compiled into durable-rules conditions, and checked for satisfiability.

A condition's boolean structure (`and`, `or`, `not`, comparisons with constants) becomes a
durable-rules condition evaluated by the engine. What it compares — a fact, a metric, an
arithmetic term, a comparison between two non-constant terms, `missing(x)` — is a *term*: computed
per customer by a compiled expression and asserted as field `x0`, `x1`, … of one narrow fact. A
term that is missing or undefined is left out of the fact, and a comparison on an absent field does
not match: that is three-valued (Kleene) logic with "unknown" never firing, the same as
`expressions.evaluate`. `not` is pushed down to the comparisons (De Morgan), which keeps that
equivalence.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pingji.lang import expressions as ex

_NEGATE = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
_FLIP = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_DURABLE = {"!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
MAX_DNF = 256


@dataclass(frozen=True)
class Term:
    field: str
    text: str
    fn: Callable[[Any], Any]


@dataclass(frozen=True)
class CompiledCondition:
    json: dict[str, Any] | None  # None: always true once the model grade is known
    terms: tuple[Term, ...]


def _const(node: ex.Expr) -> tuple[bool, Any]:
    if isinstance(node, (ex.Num, ex.Str, ex.Bool)):
        return True, node.value
    if isinstance(node, ex.Unary) and node.op == "-" and isinstance(node.operand, ex.Num):
        return True, -node.operand.value
    return False, None


# An atom: (term expression, operator, constant). Boolean terms compare `== True` / `== False`.
Atom = tuple[ex.Expr, str, Any]


def _atoms(node: ex.Expr, negate: bool) -> Any:
    """The condition as a tree of ("and"|"or", [children]) and atoms, negations pushed to the atoms."""
    if isinstance(node, ex.Not):
        return _atoms(node.operand, not negate)
    if isinstance(node, (ex.And, ex.Or)):
        is_and = isinstance(node, ex.And) != negate
        return ("and" if is_and else "or", [_atoms(a, negate) for a in node.args])
    if isinstance(node, ex.Compare):
        lc, lv = _const(node.left)
        rc, rv = _const(node.right)
        op = _NEGATE[node.op] if negate else node.op
        if rc and not lc:
            return (node.left, op, rv)
        if lc and not rc:
            return (node.right, _FLIP[op], lv)
    # A boolean term: a fact, missing(x), a constant, or a comparison of two non-constant terms.
    return (node, "==", not negate)


def _is_atom(t: Any) -> bool:
    return isinstance(t, tuple) and len(t) == 3


def compile_condition(expr: ex.Expr, prefix: str = "x") -> CompiledCondition:
    """The condition over fields `<prefix>0`, `<prefix>1`, … of the override-inputs fact."""
    fields: dict[ex.Expr, Term] = {}

    def term(node: ex.Expr) -> str:
        t = fields.get(node)
        if t is None:
            t = Term(f"{prefix}{len(fields)}", ex.unparse(node), ex.compile_expr(node))
            fields[node] = t
        return t.field

    def to_json(t: Any) -> dict[str, Any]:
        if _is_atom(t):
            node, op, value = t
            name = term(node)
            if op == "==":
                return {name: value}
            return {_DURABLE[op]: {name: value}}
        kind, children = t
        parts = [to_json(c) for c in children]
        if len(parts) == 1:
            return parts[0]
        return {"$and" if kind == "and" else "$or": parts}

    tree = _atoms(expr, False)
    return CompiledCondition(to_json(tree), tuple(fields.values()))


# -- satisfiability --------------------------------------------------------------------------------


def _dnf(t: Any) -> list[list[Atom]] | None:
    """Disjunctive normal form, or None when it would grow past MAX_DNF conjunctions."""
    if _is_atom(t):
        return [[t]]
    kind, children = t
    parts = [_dnf(c) for c in children]
    if any(p is None for p in parts):
        return None
    if kind == "or":
        out = [conj for p in parts for conj in p]  # type: ignore[union-attr]
        return out if len(out) <= MAX_DNF else None
    result: list[list[Atom]] = [[]]
    for p in parts:
        result = [a + b for a in result for b in p]  # type: ignore[union-attr]
        if len(result) > MAX_DNF:
            return None
    return result


def _kind(v: Any) -> type:
    return float if isinstance(v, (int, float)) and not isinstance(v, bool) else type(v)


def _propagating_names(node: ex.Expr) -> set[str]:
    """The names whose absence makes `node` missing: every name used outside a `missing(...)` call."""
    inside = {id(n) for call in ex.walk(node) if isinstance(call, ex.Call) and call.func == "missing"
              for n in ex.walk(call) if isinstance(n, ex.Name)}
    return {n.path for n in ex.walk(node) if isinstance(n, ex.Name) and id(n) not in inside}


def _conj_sat(conj: list[Atom]) -> bool:
    # `missing(x)` together with anything that looks at x: a comparison on a missing value is
    # unknown, and unknown never fires.
    absent = {node.args[0].path for node, op, value in conj
              if isinstance(node, ex.Call) and node.func == "missing" and isinstance(node.args[0], ex.Name)
              and op == "==" and value is True}
    if absent and any(_propagating_names(node) & absent for node, _, _ in conj):
        return False
    by_term: dict[ex.Expr, list[tuple[str, Any]]] = {}
    for node, op, value in conj:
        if isinstance(node, ex.Compare):  # a comparison of two constants, e.g. `1 > 2`
            lc, lv = _const(node.left)
            rc, rv = _const(node.right)
            if lc and rc and _kind(lv) == _kind(rv):
                if _const_holds(lv, node.op, rv) != value:
                    return False
                continue
        ok, v = _const(node)
        if ok:  # a constant compared with a constant, or `true` / `false` itself
            if op == "==" and isinstance(value, bool) and isinstance(v, bool):
                if v != value:
                    return False
                continue
            if not _const_holds(v, op, value):
                return False
            continue
        by_term.setdefault(node, []).append((op, value))
    for constraints in by_term.values():
        if not _term_sat(constraints):
            return False
    return True


def _const_holds(a: Any, op: str, b: Any) -> bool:
    try:
        return bool({"==": a == b, "!=": a != b}[op]) if op in ("==", "!=") else bool(
            {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])
    except TypeError:
        return True


def _term_sat(constraints: list[tuple[str, Any]]) -> bool:
    lo, lo_open, hi, hi_open = -math.inf, False, math.inf, False
    equal: set[Any] = set()
    unequal: set[Any] = set()
    for op, v in constraints:
        if op == "==":
            equal.add((type(v) is bool, v))
        elif op == "!=":
            unequal.add((type(v) is bool, v))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            if op in (">", ">=") and (v > lo or (v == lo and op == ">")):
                lo, lo_open = v, op == ">"
            if op in ("<", "<=") and (v < hi or (v == hi and op == "<")):
                hi, hi_open = v, op == "<"
    if len(equal) > 1:
        return False
    if lo > hi or (lo == hi and (lo_open or hi_open)):
        return False
    if equal:
        (is_bool, v), = equal
        if (is_bool, v) in unequal:
            return False
        if isinstance(v, (int, float)) and not is_bool:
            if v < lo or v > hi or (v == lo and lo_open) or (v == hi and hi_open):
                return False
    elif lo == hi and (False, lo) in unequal:
        return False
    return True


def satisfiable(expr: ex.Expr) -> bool:
    """False only when the condition can be shown never to be true (e.g. `x > 5 and x < 3`)."""
    dnf = _dnf(_atoms(expr, False))
    return dnf is None or any(_conj_sat(c) for c in dnf)


def jointly_satisfiable(a: ex.Expr, b: ex.Expr) -> bool:
    """Whether both conditions can be true for one customer (as far as can be shown)."""
    da, db = _dnf(_atoms(a, False)), _dnf(_atoms(b, False))
    if da is None or db is None:
        return True
    return any(_conj_sat(x + y) for x in da for y in db)
