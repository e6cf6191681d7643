"""The reference evaluator of expressions: a plain walk of the tree.

It states the semantics; the compiled closures (`closures.compile_expr`) must agree with it on
every input (tests/test_expressions.py checks that with hypothesis).
"""

from __future__ import annotations

from typing import Any

from pingji.lang.expr.tree import (
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
    dig,
    logical_not,
    minmax,
    months_between,
    neg,
    norm,
    round_to,
)

__all__ = ["evaluate"]

_NO_ITEM: Any = object()


def evaluate(expr: Expr, env: Env) -> Any:
    """The value of `expr` in `env` (a number, bool, str, date, MISSING or UNDEFINED)."""
    return _eval(expr, env, _NO_ITEM)


def _eval(node: Expr, env: Env, item: Any) -> Any:
    t = type(node)
    if t is Num or t is Str or t is Bool:
        return node.value  # type: ignore[attr-defined]
    if t is Name:
        assert isinstance(node, Name)
        if node.array is None:
            return norm(env.get(node.path, MISSING))
        return MISSING if item is _NO_ITEM else dig(item, node.item_path)
    if t is Binary:
        assert isinstance(node, Binary)
        first, spine = left_spine(node)
        acc = _eval(first, env, item)
        for b in spine:
            acc = arith(b.op, acc, _eval(b.right, env, item))
        return acc
    if t is Unary:
        assert isinstance(node, Unary)
        return neg(_eval(node.operand, env, item))
    if t is Compare:
        assert isinstance(node, Compare)
        return compare(node.op, _eval(node.left, env, item), _eval(node.right, env, item))
    if t is And or t is Or:
        assert isinstance(node, (And, Or))
        decisive = t is Or  # `true` decides an or, `false` an and
        result: Any = not decisive
        for a in node.args:
            v = _eval(a, env, item)
            if v is decisive:
                return decisive
            if v is not (not decisive):
                if v is MISSING:
                    result = MISSING
                elif result is not MISSING:
                    result = UNDEFINED
        return result
    if t is Not:
        assert isinstance(node, Not)
        return logical_not(_eval(node.operand, env, item))
    if t is Call:
        assert isinstance(node, Call)
        return _eval_call(node, env, item)
    raise TypeError(f"not an expression node: {node!r}")


def _eval_call(node: Call, env: Env, item: Any) -> Any:
    f = node.func
    args = node.args
    if f == "missing":
        return _eval(args[0], env, item) is MISSING
    if f == "min" or f == "max":
        return minmax(f, [_eval(a, env, item) for a in args])
    if f == "abs":
        return absolute(_eval(args[0], env, item))
    if f == "round":
        places = args[1]
        assert isinstance(places, Num)
        return round_to(_eval(args[0], env, item), int(places.value))
    if f == "months_between":
        return months_between(_eval(args[0], env, item), _eval(args[1], env, item))
    if f == "days_between":
        return days_between(_eval(args[0], env, item), _eval(args[1], env, item))
    if f == "sum" or f == "count":
        name = aggregate_array(node)
        arr = array_of(env, name) if name is not None else UNDEFINED
        if arr is MISSING or arr is UNDEFINED:
            return arr
        if f == "count":
            return len(arr)
        acc: Any = 0
        for it in arr:
            acc = arith("+", acc, _eval(args[0], env, it))
        return acc
    raise TypeError(f"unknown function {f!r}")
