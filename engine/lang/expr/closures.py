"""The compiler of expressions to nested closures, built once per rulebook: the per-customer fast path.

Each closure takes the environment and returns a value. Numbers take a fast path; everything
else (MISSING, UNDEFINED, wrong types) falls back to the shared semantics in `values`, so the
result agrees with the reference evaluator (`evaluate`) on every input.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from pingji.lang.expr.tree import (
    AGGREGATES,
    And,
    Binary,
    Bool,
    Call,
    Compare,
    Expr,
    Name,
    Not,
    Num,
    Or,
    Str,
    Unary,
    aggregate_array,
    left_spine,
)
from pingji.lang.expr.values import (
    MISSING,
    UNDEFINED,
    Env,
    absolute,
    arith,
    array_of,
    compare,
    days_between,
    finite,
    minmax,
    months_between,
    neg,
    norm,
    round_to,
)

__all__ = ["compile_expr"]

Fn = Callable[[Any], Any]


class _ItemEnv:
    """The environment inside sum(): names look up as usual, `[]` names read `item`."""

    __slots__ = ("get", "item")

    def __init__(self, env: Env):
        self.get = env.get
        self.item: Any = None


def compile_expr(expr: Expr) -> Callable[[Any], Any]:
    """`expr` as a function of an environment; agrees with `evaluate` on every input."""
    return _compile(expr)


def _compile(node: Expr) -> Fn:
    t = type(node)
    if t is Num or t is Str or t is Bool:
        value = node.value  # type: ignore[attr-defined]
        return lambda env: value
    if t is Name:
        assert isinstance(node, Name)
        return _c_name(node)
    if t is Binary:
        assert isinstance(node, Binary)
        first, spine = left_spine(node)
        if len(spine) == 1:
            return _c_binary(node.op, _compile(node.left), _compile(node.right))
        base = _compile(first)
        steps = tuple((_ARITH_FNS[b.op], _compile(b.right)) for b in spine)

        def chain(env: Any) -> Any:
            acc = base(env)
            for op, right in steps:
                acc = op(acc, right(env))
            return acc

        return chain
    if t is Unary:
        assert isinstance(node, Unary)
        operand = _compile(node.operand)

        def negate(env: Any) -> Any:
            a = operand(env)
            ta = type(a)
            if ta is int or ta is float:
                return -a
            return neg(a)

        return negate
    if t is Compare:
        assert isinstance(node, Compare)
        return _c_compare(node.op, _compile(node.left), _compile(node.right))
    if t is And or t is Or:
        assert isinstance(node, (And, Or))
        return _c_logic(t is Or, tuple(_compile(a) for a in node.args))
    if t is Not:
        assert isinstance(node, Not)
        inner = _compile(node.operand)

        def not_(env: Any) -> Any:
            v = inner(env)
            if v is True:
                return False
            if v is False:
                return True
            return MISSING if v is MISSING else UNDEFINED

        return not_
    if t is Call:
        assert isinstance(node, Call)
        return _c_call(node)
    raise TypeError(f"not an expression node: {node!r}")


def _c_name(node: Name) -> Fn:
    if node.array is None:
        path = node.path

        def name(env: Any) -> Any:
            v = env.get(path, MISSING)
            if v is None:
                return MISSING
            tv = type(v)
            if tv is float:  # values.finite, inlined: this runs for every name of every metric
                return v if v - v == 0.0 else UNDEFINED
            return finite(v) if tv is int else v

        return name
    parts = tuple(node.item_path.split(".")) if node.item_path else ()

    def item_name(env: Any) -> Any:
        if type(env) is not _ItemEnv:
            return MISSING
        v = env.item
        for part in parts:
            if not isinstance(v, Mapping) or part not in v:
                return MISSING
            v = v[part]
        return norm(v)

    return item_name


def _fast_add(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        return finite(a + b)
    return arith("+", a, b)


def _fast_sub(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        return finite(a - b)
    return arith("-", a, b)


def _fast_mul(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        return finite(a * b)
    return arith("*", a, b)


def _fast_div(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        if b == 0:
            return UNDEFINED
        try:
            r = a / b
        except ArithmeticError:
            return UNDEFINED
        return finite(r)
    return arith("/", a, b)


_ARITH_FNS: dict[str, Callable[[Any, Any], Any]] = {
    "+": _fast_add, "-": _fast_sub, "*": _fast_mul, "/": _fast_div,
}


def _c_binary(op: str, left: Fn, right: Fn) -> Fn:
    # + and / are the commonest: their closures carry the number fast path themselves.
    if op == "+":
        def add(env: Any) -> Any:
            a = left(env)
            b = right(env)
            ta, tb = type(a), type(b)
            if (ta is int or ta is float) and (tb is int or tb is float):
                return finite(a + b)
            return arith("+", a, b)
        return add
    if op == "/":
        def div(env: Any) -> Any:
            a = left(env)
            b = right(env)
            ta, tb = type(a), type(b)
            if (ta is int or ta is float) and (tb is int or tb is float):
                if b == 0:
                    return UNDEFINED
                try:
                    r = a / b
                except ArithmeticError:
                    return UNDEFINED
                return r if r - r == 0.0 else UNDEFINED  # a true quotient is a float: values.finite, inlined
            return arith("/", a, b)
        return div
    fn = _ARITH_FNS[op]
    return lambda env: fn(left(env), right(env))


_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


def _c_compare(op: str, left: Fn, right: Fn) -> Fn:
    if op in _ORDER:
        cmp = _ORDER[op]

        def order(env: Any) -> Any:
            a = left(env)
            b = right(env)
            ta, tb = type(a), type(b)
            if (ta is int or ta is float) and (tb is int or tb is float):
                return cmp(a, b)
            return compare(op, a, b)

        return order

    negate = op == "!="

    def equal(env: Any) -> Any:
        a = left(env)
        b = right(env)
        ta, tb = type(a), type(b)
        if (ta is int or ta is float) and (tb is int or tb is float):
            return (a != b) if negate else (a == b)
        return compare(op, a, b)

    return equal


def _c_logic(is_or: bool, fns: tuple[Fn, ...]) -> Fn:
    decisive = is_or
    neutral = not is_or

    def logic(env: Any) -> Any:
        result: Any = neutral
        for f in fns:
            v = f(env)
            if v is decisive:
                return decisive
            if v is not neutral:
                if v is MISSING:
                    result = MISSING
                elif result is not MISSING:
                    result = UNDEFINED
        return result

    return logic


def _c_call(node: Call) -> Fn:
    f = node.func
    if f in AGGREGATES:
        return _c_aggregate(node)
    fns = tuple(_compile(a) for a in node.args)
    if f == "missing":
        (g,) = fns
        return lambda env: g(env) is MISSING
    if f == "min" or f == "max":
        pick = min if f == "min" else max

        def extreme(env: Any) -> Any:
            vals = [g(env) for g in fns]
            for v in vals:
                tv = type(v)
                if not (tv is int or tv is float):
                    return minmax(f, vals)
            return pick(vals)

        return extreme
    if f == "abs":
        (g,) = fns

        def abs_(env: Any) -> Any:
            v = g(env)
            tv = type(v)
            if tv is int or tv is float:
                return abs(v)
            return absolute(v)

        return abs_
    if f == "round":
        g = fns[0]
        places_node = node.args[1]
        assert isinstance(places_node, Num)
        places = int(places_node.value)
        return lambda env: round_to(g(env), places)
    if f == "months_between":
        g1, g2 = fns
        return lambda env: months_between(g1(env), g2(env))
    if f == "days_between":
        d1, d2 = fns
        return lambda env: days_between(d1(env), d2(env))
    raise TypeError(f"unknown function {f!r}")


def _c_aggregate(node: Call) -> Fn:
    name = aggregate_array(node)
    if name is None:
        return lambda env: UNDEFINED
    if node.func == "count":
        def count(env: Any) -> Any:
            arr = array_of(env, name)
            if arr is MISSING or arr is UNDEFINED:
                return arr
            return len(arr)
        return count

    each = _compile(node.args[0])

    def sum_(env: Any) -> Any:
        arr = array_of(env, name)
        if arr is MISSING or arr is UNDEFINED:
            return arr
        inner = _ItemEnv(env)
        acc: Any = 0
        for it in arr:
            inner.item = it
            acc = _fast_add(acc, each(inner))
        return acc

    return sum_
