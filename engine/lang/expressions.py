"""The expression language of rulebooks: metric formulas (`expr`) and override conditions (`when`).

Every expression is parsed once, when the rulebook is loaded, by a hand-written tokenizer and a
precedence-climbing (Pratt) parser. Rulebook text never reaches Python's ``eval``, ``exec``,
``compile`` or ``ast``.

The language
------------
Literals
    numbers ``12``, ``0.35``, ``.5``, ``1e-3`` (finite, at most 1e15 in size: E307);
    strings in double quotes with ``\\"`` and ``\\\\`` as the only escapes; ``true``, ``false``.
Names
    dotted paths of the facts schema and metric ids: ``financials.current.revenue``,
    ``current_ratio``. A segment followed by ``[]`` means "each item of this array":
    ``collateral[].value`` (the ``value`` of every item), ``tags[]`` (every item itself). Such
    names are allowed only inside ``sum()`` and ``count()``; one ``[]`` per name.
Operators, loosest first
    ``or``; ``and``; ``not``; comparisons ``== != < <= > >=`` (not chainable: ``a < b < c`` is
    an error); ``+ -``; ``* /``; unary ``-``; then calls, names, literals and parentheses.
    ``and``/``or`` chains are one n-ary node; arithmetic is left-associative.
Functions (no others can be called)
    ``min(a, b, ...)``, ``max(a, b, ...)`` (at least 2 arguments); ``abs(x)``;
    ``round(x, n)`` (n an integer literal 0..10; half-up on the shortest decimal representation,
    so ``round(2.675, 2)`` is 2.68); ``missing(x)`` (true when x is missing);
    ``months_between(later, earlier)`` (dates: ISO ``"YYYY-MM-DD"`` strings or date values;
    whole calendar months, rounded down: 2024-01-31 → 2024-02-29 is 0 months);
    ``days_between(later, earlier)`` (the same dates; days, negative when ``later`` is earlier);
    ``sum(e)`` (e evaluated for every item of the one array its ``[]`` names share:
    ``sum(collateral[].value * (1 - collateral[].haircut))``; an empty array sums to 0);
    ``count(a[])`` (the number of items).

Limits: 4,000 characters and 64 levels of nesting (parentheses, calls, and operators inside
operators) give E305; the parser counts depth, so hostile input never reaches Python's recursion
limit. Chains such as ``a + b + c + ...`` are as long as the character limit allows.

Values
------
A value is an ``int``/``float`` (never ``bool``), a ``bool``, a ``str``, a date, or one of two
singletons: ``MISSING`` (an input is absent or ``None``) and ``UNDEFINED`` (x/0, NaN, ±inf, an
operand of the wrong type). Both propagate through arithmetic, comparisons and functions;
when both occur, MISSING wins. ``missing(x)`` is the one function that looks at them.
``and``/``or``/``not`` use three-valued (Kleene) logic with MISSING/UNDEFINED as *unknown*:
``false and missing`` is false, ``true and missing`` is missing, ``true or undefined`` is true,
``not missing`` is missing. Neither singleton equals 0 or ``False``; both are falsy.

Errors (``ExpressionError``, located at the offending token; see ``Location``)
------------------------------------------------------------------------------
E301 syntax; E302 unknown function; E303 wrong number of arguments; E304 type errors;
E305 limits; E306 forbidden constructs (``**``, ``lambda``, ``_names``, ``x[0]``, ``[...]``,
``if``/``for``/``in``/``is``/``import``, ``;``, ``=``, ``&&``/``||``, ``%``, ``//``, ...);
E307 number out of range; E102 (from ``typecheck``) unknown fact name.

API
---
``parse(text, base) -> Expr``; ``typecheck(expr, types, expect=...) -> list[Diagnostic]``;
``parse_checked(text, base, types, expect)``; ``evaluate(expr, env)`` (reference tree walker);
``compile_expr(expr) -> Callable[[env], value]`` (closures, the per-customer fast path);
``names(expr)``; ``walk(expr)``; ``unparse(expr)`` (also ``str(expr)``).
``env`` is anything with ``.get(name, default)``.

This module is the language's public face; the work is done in ``pingji.lang.expr``: ``tokens``
(tokenizer), ``parse`` (Pratt parser), ``tree`` (nodes, walk, names, unparse), ``typecheck``,
``values`` (MISSING/UNDEFINED and the value semantics both evaluators share), ``evaluate``
(reference tree walker) and ``closures`` (the compiler).
"""

from __future__ import annotations

from pingji.lang.expr.closures import compile_expr
from pingji.lang.expr.evaluate import evaluate
from pingji.lang.expr.parse import MAX_DEPTH, MAX_LENGTH, parse
from pingji.lang.expr.tokens import MAX_LITERAL
from pingji.lang.expr.tree import (
    AGGREGATES,
    FUNCTIONS,
    TYPES,
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
    names,
    unparse,
    walk,
)
from pingji.lang.expr.typecheck import parse_checked, typecheck
from pingji.lang.expr.values import MISSING, UNDEFINED, Env

__all__ = [
    "MISSING",
    "UNDEFINED",
    "MAX_LENGTH",
    "MAX_DEPTH",
    "MAX_LITERAL",
    "FUNCTIONS",
    "AGGREGATES",
    "TYPES",
    "Env",
    "Expr",
    "Num",
    "Str",
    "Bool",
    "Name",
    "Unary",
    "Binary",
    "Compare",
    "And",
    "Or",
    "Not",
    "Call",
    "parse",
    "parse_checked",
    "typecheck",
    "evaluate",
    "compile_expr",
    "names",
    "walk",
    "unparse",
]
