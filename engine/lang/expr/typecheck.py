"""Type checking of expressions against the facts schema: unknown names (E102), type errors (E304).

Checking is separate from evaluation and reports every problem at once, in source order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pingji.diagnostics import Diagnostic, Location, error, suggest
from pingji.errors import ExpressionError
from pingji.lang.expr.parse import parse
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
    left_spine,
)
from pingji.lang.expr.values import parse_date

__all__ = ["parse_checked", "typecheck"]


def _is_date_literal(node: Expr) -> bool:
    return isinstance(node, Str) and parse_date(node.value) is not None


class _Typer:
    """One check of one tree: the types of the known names and the diagnostics so far."""

    def __init__(self, types: Mapping[str, str]):
        self.types = types
        self.diags: list[Diagnostic] = []

    def bad(self, message: str, at: Location, code: str = "E304") -> None:
        self.diags.append(error(code, message, at))

    def need(self, t: str | None, want: str, message: str, at: Location) -> None:
        if t is not None and t != want:
            self.bad(f"{message}; got {t}", at)

    def unknown(self, path: str, at: Location, candidates: Any) -> None:
        keys = sorted(self.types)
        if any(k.startswith(path + "[]") for k in keys):
            hint = f"it is an array: use count({path}[]) or sum({path}[].<field>)"
        elif (inside := [k for k in keys if k.startswith(path + ".")]):
            hint = f"it is a group of facts, e.g. '{inside[0]}'"
        else:
            hint = suggest(path, candidates)
        self.diags.append(error("E102", f"unknown fact '{path}'", at, hint=hint))

    def check(self, node: Expr) -> str | None:
        t = type(node)
        if t is Num:
            return "number"
        if t is Str:
            return "string"
        if t is Bool:
            return "boolean"
        if t is Name:
            assert isinstance(node, Name)
            found = self.types.get(node.path)
            if found is None:
                self.unknown(node.path, node.pos, self.types.keys())
                return None
            return found
        if t is Binary:
            assert isinstance(node, Binary)
            first, spine = left_spine(node)
            self.need(self.check(first), "number", f"'{spine[0].op}' needs numbers", first.pos)
            for b in spine:
                self.need(self.check(b.right), "number", f"'{b.op}' needs numbers", b.right.pos)
            return "number"
        if t is Unary:
            assert isinstance(node, Unary)
            self.need(self.check(node.operand), "number", f"'{node.op}' needs a number", node.operand.pos)
            return "number"
        if t is Compare:
            assert isinstance(node, Compare)
            self.compare(node)
            return "boolean"
        if t is And or t is Or:
            assert isinstance(node, (And, Or))
            word = "and" if t is And else "or"
            for a in node.args:
                self.need(self.check(a), "boolean", f"'{word}' needs booleans", a.pos)
            return "boolean"
        if t is Not:
            assert isinstance(node, Not)
            self.need(self.check(node.operand), "boolean", "'not' needs a boolean", node.operand.pos)
            return "boolean"
        if t is Call:
            assert isinstance(node, Call)
            return self.call(node)
        raise TypeError(f"not an expression node: {node!r}")

    def compare(self, node: Compare) -> None:
        lt, rt = self.check(node.left), self.check(node.right)
        if lt is None or rt is None:
            return
        # A date compares with a string literal that is a date.
        if lt == "date" and rt == "string" and _is_date_literal(node.right):
            rt = "date"
        if rt == "date" and lt == "string" and _is_date_literal(node.left):
            lt = "date"
        if node.op in ("==", "!="):
            if lt != rt:
                self.bad(f"cannot compare {lt} with {rt}", node.op_pos)
            return
        if lt != rt:
            self.bad(f"cannot compare {lt} with {rt}", node.op_pos)
        elif lt == "date":
            self.bad(f"'{node.op}' cannot order dates; compare months_between(...) with a number",
                     node.op_pos)
        elif lt != "number":
            self.bad(f"'{node.op}' needs numbers; got {lt}", node.op_pos)

    def call(self, node: Call) -> str | None:
        f = node.func
        if f in ("min", "max", "abs"):
            for a in node.args:
                self.need(self.check(a), "number", f"{f}() needs numbers", a.pos)
            return "number"
        if f == "round":
            self.need(self.check(node.args[0]), "number", "round() needs a number", node.args[0].pos)
            return "number"
        if f == "missing":
            self.check(node.args[0])
            return "boolean"
        if f == "months_between" or f == "days_between":
            for a in node.args:
                if _is_date_literal(a):
                    continue
                got = self.check(a)
                if got is not None and got != "date":
                    hint = " (write dates as \"YYYY-MM-DD\")" if got == "string" else ""
                    self.bad(f"{f}() needs dates; got {got}{hint}", a.pos)
            return "number"
        if f == "sum":
            self.need(self.check(node.args[0]), "number", "sum() needs numbers", node.args[0].pos)
            return "number"
        if f == "count":
            arg = node.args[0]
            if isinstance(arg, Name):
                prefix = arg.path + "."
                if arg.path not in self.types and not any(k.startswith(prefix) for k in self.types):
                    arrays = {k[: k.index("[]") + 2] for k in self.types if "[]" in k}
                    self.unknown(arg.path, arg.pos, arrays)
            return "number"
        raise TypeError(f"unknown function {f!r}")


def typecheck(expr: Expr, types: Mapping[str, str], *, expect: str | None = None) -> list[Diagnostic]:
    """Every unknown name (E102) and type error (E304) of `expr`, in source order.

    `types` maps each known name (array items as `collateral[].value`) to number, boolean,
    string or date; `expect` is the type the whole expression must have (None: any).
    """
    typer = _Typer(types)
    got = typer.check(expr)
    if expect is not None and got is not None and got != expect:
        if expect == "boolean":
            message = f"condition must be boolean; got {got}"
        else:
            message = f"expression must be {'an' if expect[0] in 'aeiou' else 'a'} {expect}; got {got}"
        typer.bad(message, expr.pos)
    return sorted(typer.diags, key=lambda d: (d.location.line, d.location.col))


def parse_checked(text: str, base: Location, types: Mapping[str, str],
                  expect: str | None = None,
                  locate: Callable[[int], Location] | None = None) -> tuple[Expr | None, list[Diagnostic]]:
    """parse + typecheck; a parse error becomes the one diagnostic (and the tree is None)."""
    try:
        tree = parse(text, base, locate)
    except ExpressionError as exc:
        return None, [error(exc.code, exc.message, exc.location or base)]
    return tree, typecheck(tree, types, expect=expect)
