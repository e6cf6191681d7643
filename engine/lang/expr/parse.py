"""The parser of expressions: tokens → syntax tree, by precedence climbing (Pratt).

Errors are `ExpressionError`s located at the offending token. The parser counts its depth, so
hostile input stops at MAX_DEPTH (E305) long before Python's recursion limit.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable

from pingji.diagnostics import Location, did_you_mean
from pingji.errors import ExpressionError
from pingji.lang.expr.tokens import Token, clip, tokenize
from pingji.lang.expr.tree import (
    AGGREGATES,
    BP_ADD,
    BP_AND,
    BP_CMP,
    BP_MUL,
    BP_NOT,
    BP_OR,
    BP_UNARY,
    FUNCTIONS,
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
)

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "parse"]

MAX_LENGTH = 4000
MAX_DEPTH = 64

_INFIX = {
    "or": BP_OR, "and": BP_AND,
    "==": BP_CMP, "!=": BP_CMP, "<": BP_CMP, "<=": BP_CMP, ">": BP_CMP, ">=": BP_CMP,
    "+": BP_ADD, "-": BP_ADD, "*": BP_MUL, "/": BP_MUL,
}


class _Parser:
    """One parse of one text: the tokens, the position in them, the nesting depth."""

    def __init__(self, text: str, base: Location, locate: Callable[[int], Location] | None = None):
        self.text = text
        self.base = base
        self.locate = locate
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.toks = tokenize(text)
        self.i = 0
        self.depth = 0
        self.agg: str | None = None  # the aggregate whose argument is being parsed
        self.agg_arrays: list[tuple[str, Location]] = []

    # -- helpers -------------------------------------------------------------------------------
    def loc(self, offset: int) -> Location:
        if self.locate is not None:
            return self.locate(offset)
        line = bisect_right(self.line_starts, offset) - 1
        col = offset - self.line_starts[line]
        b = self.base
        if line == 0:
            return Location(b.file, b.line, b.col + col)
        return Location(b.file, b.line + line, col + 1)

    def fail(self, code: str, message: str, offset: int) -> ExpressionError:
        return ExpressionError(message, self.loc(offset), code)

    def peek(self) -> Token:
        return self.toks[self.i]

    def advance(self) -> Token:
        tok = self.toks[self.i]
        if tok.kind in ("bad", "eof"):
            raise self.unexpected(tok)
        self.i += 1
        return tok

    def unexpected(self, tok: Token) -> ExpressionError:
        if tok.kind == "bad":
            return self.fail(tok.code, tok.message, tok.start)
        if tok.kind == "eof":
            return self.fail("E301", "unexpected end of expression", tok.start)
        if tok.kind == "[":
            return self.fail("E306", "list displays and comprehensions are not allowed", tok.start)
        return self.fail("E301", f"unexpected '{clip(tok.text)}'", tok.start)

    def expect(self, kind: str) -> Token:
        tok = self.peek()
        if tok.kind != kind:
            raise self.unexpected(tok)
        return self.advance()

    # -- grammar -------------------------------------------------------------------------------
    def parse(self) -> Expr:
        if not self.text.strip():
            raise self.fail("E301", "expression is empty", 0)
        tree = self.expr(0)
        tok = self.peek()
        if tok.kind != "eof":
            raise self.unexpected(tok)
        return tree

    def expr(self, min_bp: int) -> Expr:
        self.depth += 1
        try:
            if self.depth - 1 > MAX_DEPTH:
                opener = self.toks[self.i - 1] if self.i else self.peek()
                raise self.fail("E305", f"expression nests deeper than {MAX_DEPTH} levels", opener.start)
            left = self.prefix(min_bp)
            compared = False
            while True:
                tok = self.peek()
                bp = _INFIX.get(tok.text) if tok.kind in ("op", "kw") else None
                if bp is None:
                    if tok.kind == "[":
                        raise self.fail("E306", "indexing is not allowed", tok.start)
                    if tok.kind == ".":
                        raise self.fail("E306", "attribute access is not allowed", tok.start)
                    if tok.kind == "(":
                        raise self.fail("E301", "unexpected '(' (only functions can be called)", tok.start)
                    return left
                if bp <= min_bp:
                    return left
                self.advance()
                op_pos = self.loc(tok.start)
                if bp == BP_CMP:
                    if compared:
                        raise self.fail("E301", f"comparisons cannot be chained ('{tok.text}' after a "
                                                f"comparison); combine them with 'and'", tok.start)
                    right = self.expr(BP_CMP)
                    left = Compare(tok.text, left, right, left.pos, op_pos)
                    compared = True
                elif bp in (BP_AND, BP_OR):
                    args = [left, self.expr(bp)]
                    while self.peek().kind == "kw" and self.peek().text == tok.text:
                        self.advance()
                        args.append(self.expr(bp))
                    left = (And if bp == BP_AND else Or)(tuple(args), left.pos)
                else:
                    right = self.expr(bp)
                    left = Binary(tok.text, left, right, left.pos, op_pos)
        finally:
            self.depth -= 1

    def prefix(self, min_bp: int) -> Expr:
        tok = self.peek()
        kind = tok.kind
        pos = self.loc(tok.start)
        if kind == "num":
            self.advance()
            return Num(tok.value, pos)
        if kind == "str":
            self.advance()
            return Str(tok.value, pos)
        if kind == "kw":
            if tok.text in ("true", "false"):
                self.advance()
                return Bool(tok.text == "true", pos)
            if tok.text == "not":
                if min_bp >= BP_NOT + 1:
                    raise self.fail("E301", "unexpected 'not' (put 'not ...' in parentheses here)", tok.start)
                self.advance()
                return Not(self.expr(BP_NOT), pos)
            raise self.unexpected(tok)
        if kind == "op" and tok.text == "-":
            self.advance()
            return Unary("-", self.expr(BP_UNARY), pos)
        if kind == "(":
            self.advance()
            inner = self.expr(0)
            self.expect(")")
            return inner
        if kind == "name":
            self.advance()
            if tok.problem is not None:
                off, code, message = tok.problem
                raise self.fail(code, message, off)
            if self.peek().kind == "(":
                return self.call(tok, pos)
            if tok.array is not None:
                if self.agg is None:
                    raise self.fail("E306", f"'{tok.text}' means each item of an array; use it inside "
                                            f"sum() or count()", tok.start)
                self.agg_arrays.append((tok.array, pos))
            return Name(tok.text, tok.array, tok.item_path, pos)
        raise self.unexpected(tok)

    def call(self, tok: Token, pos: Location) -> Expr:
        func = tok.text
        if func not in FUNCTIONS:
            hint = did_you_mean(func, FUNCTIONS)
            if not hint and func.lower() in FUNCTIONS:
                hint = f" (did you mean '{func.lower()}'?)"
            raise self.fail("E302", f"unknown function '{clip(func, 40)}'{hint}", tok.start)
        outer_agg, outer_arrays = self.agg, self.agg_arrays
        if func in AGGREGATES:
            if self.agg is not None:
                raise self.fail("E306", f"{func}() cannot be used inside {self.agg}()", tok.start)
            self.agg, self.agg_arrays = func, []
        try:
            self.expect("(")
            args: list[Expr] = []
            if self.peek().kind == ")":
                self.advance()
            else:
                while True:
                    args.append(self.expr(0))
                    nxt = self.peek()
                    if nxt.kind == ",":
                        self.advance()
                        continue
                    if nxt.kind == ")":
                        self.advance()
                        break
                    raise self.unexpected(nxt)
            arrays = self.agg_arrays
        finally:
            self.agg, self.agg_arrays = outer_agg, outer_arrays

        least, most = FUNCTIONS[func]
        if len(args) < least or (most is not None and len(args) > most):
            if most is None:
                want = f"at least {least} arguments"
            else:
                want = f"{least} argument{'s' if least != 1 else ''}"
            raise self.fail("E303", f"{func}() takes {want}; got {len(args)}", tok.start)

        array: str | None = None
        if func == "round":
            places = args[1]
            if not (isinstance(places, Num) and type(places.value) is int and 0 <= places.value <= 10):
                raise ExpressionError("round() needs a whole number of decimal places from 0 to 10 as its "
                                      "second argument", places.pos, "E304")
        elif func == "count":
            arg = args[0]
            if not (isinstance(arg, Name) and arg.array is not None and arg.item_path == ""):
                raise ExpressionError("count() needs an array name like 'collateral[]'", arg.pos, "E304")
            array = arg.array
        elif func == "sum":
            if not arrays:
                raise ExpressionError("sum() needs the items of an array, like 'collateral[].value'",
                                      pos, "E304")
            array = arrays[0][0]
            for other, at in arrays[1:]:
                if other != array:
                    raise ExpressionError(f"sum() mixes items of two arrays: '{array}[]' and '{other}[]'",
                                          at, "E304")
        return Call(func, tuple(args), array, pos)


def parse(text: str, base: Location = Location("<expr>", 1, 1),
          locate: Callable[[int], Location] | None = None) -> Expr:
    """Parse one expression; `base` is where its text starts. Raises ExpressionError.

    `locate(offset)`, when given, places a character of `text` in its file (for quoted and block
    YAML scalars, whose characters do not follow `base` column by column).
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text; got {type(text).__name__}", base, "E301")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is {len(text)} characters; the limit is {MAX_LENGTH}",
                              base, "E305")
    return _Parser(text, base, locate).parse()
