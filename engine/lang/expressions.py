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
"""

from __future__ import annotations

import datetime as _dt
import math
import operator
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any, ClassVar, Protocol

from pingji.diagnostics import UNKNOWN, Diagnostic, Location, did_you_mean, error
from pingji.errors import ExpressionError

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

MAX_LENGTH = 4000
MAX_DEPTH = 64
MAX_LITERAL = 1e15
_MAXF = 1.7976931348623157e308  # sys.float_info.max: ints beyond it count as ±inf

#: function name -> (fewest, most) arguments; None = no upper bound.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "min": (2, None),
    "max": (2, None),
    "abs": (1, 1),
    "round": (2, 2),
    "missing": (1, 1),
    "months_between": (2, 2),
    "sum": (1, 1),
    "count": (1, 1),
}
AGGREGATES = frozenset({"sum", "count"})
TYPES = frozenset({"number", "boolean", "string", "date"})


# ---------------------------------------------------------------------------------------------
# MISSING and UNDEFINED
# ---------------------------------------------------------------------------------------------


class _Special:
    """MISSING / UNDEFINED: singletons, equal only to themselves, falsy, copied and pickled as is."""

    __slots__ = ("_text", "_global")

    def __init__(self, text: str, global_name: str):
        self._text = text
        self._global = global_name

    def __repr__(self) -> str:
        return self._text

    __str__ = __repr__

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return self._global

    def __copy__(self) -> _Special:
        return self

    def __deepcopy__(self, memo: object) -> _Special:
        return self


MISSING: Any = _Special("missing", "MISSING")
UNDEFINED: Any = _Special("undefined", "UNDEFINED")


class Env(Protocol):
    def get(self, name: str, default: Any = ..., /) -> Any: ...


# ---------------------------------------------------------------------------------------------
# The syntax tree
# ---------------------------------------------------------------------------------------------


class Expr:
    """Base of every node. Nodes are frozen; `pos` (and `op_pos`) are not part of equality.

    Equality, hashing and repr are iterative, so a 2,000-term chain `1 + 1 + ...` is safe.
    """

    __slots__ = ("_h",)
    _keys: ClassVar[tuple[str, ...]] = ()
    pos: Location

    def __post_init__(self) -> None:
        object.__setattr__(self, "_h", _node_hash(self))

    def __hash__(self) -> int:
        try:
            return self._h  # type: ignore[attr-defined,no-any-return]
        except AttributeError:  # e.g. after unpickling
            return _fill_hashes(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Expr):
            return NotImplemented
        stack: list[tuple[Any, Any]] = [(self, other)]
        while stack:
            a, b = stack.pop()
            if a is b:
                continue
            if type(a) is not type(b) or hash(a) != hash(b):
                return False
            for k in a._keys:
                x, y = getattr(a, k), getattr(b, k)
                if isinstance(x, Expr):
                    stack.append((x, y))
                elif isinstance(x, tuple):
                    if not isinstance(y, tuple) or len(x) != len(y):
                        return False
                    stack.extend(zip(x, y))
                elif x != y:
                    return False
        return True

    def __repr__(self) -> str:
        out: list[str] = []
        stack: list[Any] = [self]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                out.append(item)
                continue
            seq: list[Any] = [f"{type(item).__name__}("]
            for i, k in enumerate(item._keys):
                seq.append(f"{', ' if i else ''}{k}=")
                v = getattr(item, k)
                if isinstance(v, Expr):
                    seq.append(v)
                elif isinstance(v, tuple):
                    seq.append("(")
                    for j, x in enumerate(v):
                        if j:
                            seq.append(", ")
                        seq.append(x)
                    seq.append(",)" if len(v) == 1 else ")")
                else:
                    seq.append(repr(v))
            seq.append(")")
            stack.extend(reversed(seq))
        return "".join(out)

    def __str__(self) -> str:
        return unparse(self)


def _node_hash(node: Expr) -> int:
    parts: list[Any] = [type(node).__name__]
    for k in node._keys:
        v = getattr(node, k)
        parts.append(tuple(hash(x) for x in v) if isinstance(v, tuple) else hash(v))
    return hash(tuple(parts))


def _fill_hashes(root: Expr) -> int:
    stack: list[tuple[Expr, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if hasattr(node, "_h"):
            continue
        if ready:
            object.__setattr__(node, "_h", _node_hash(node))
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if not hasattr(c, "_h"))
    return root._h  # type: ignore[attr-defined,no-any-return]




@dataclass(frozen=True, eq=False, repr=False, slots=True)
class Num(Expr):
    value: int | float
    pos: Location = UNKNOWN


@dataclass(frozen=True, eq=False, repr=False, slots=True)
class Str(Expr):
    value: str
    pos: Location = UNKNOWN


@dataclass(frozen=True, eq=False, repr=False, slots=True)
class Bool(Expr):
    value: bool
    pos: Location = UNKNOWN


@dataclass(frozen=True, eq=False, repr=False, slots=True)
class Name(Expr):
    """A fact or metric name. For `collateral[].value`: array='collateral', item_path='value';
    for `tags[]`: array='tags', item_path=''. Plain names have array=None."""

    path: str
    array: str | None = None
    item_path: str = ""
    pos: Location = UNKNOWN

    @property
    def is_array(self) -> bool:
        return self.array is not None


@dataclass(frozen=True, eq=False, repr=False, slots=True)
class Unary(Expr):
    op: str  # "-"
    operand: Expr
    pos: Location = UNKNOWN


@dataclass(frozen=True, eq=False, repr=False, slots=True)
class Binary(Expr):
    op: str  # + - * /
    left: Expr
    right: Expr
    pos: Location = UNKNOWN
    op_pos: Location = UNKNOWN


@dataclass(frozen=True, eq=False, repr=False, slots=True)
class Compare(Expr):
    op: str  # == != < <= > >=
    left: Expr
    right: Expr
    pos: Location = UNKNOWN
    op_pos: Location = UNKNOWN


@dataclass(frozen=True, eq=False, repr=False, slots=True)
class And(Expr):
    args: tuple[Expr, ...]
    pos: Location = UNKNOWN


@dataclass(frozen=True, eq=False, repr=False, slots=True)
class Or(Expr):
    args: tuple[Expr, ...]
    pos: Location = UNKNOWN


@dataclass(frozen=True, eq=False, repr=False, slots=True)
class Not(Expr):
    operand: Expr
    pos: Location = UNKNOWN


@dataclass(frozen=True, eq=False, repr=False, slots=True)
class Call(Expr):
    """A call of a whitelisted function; `array` is the array an aggregate (sum/count) runs over."""

    func: str
    args: tuple[Expr, ...]
    array: str | None = None
    pos: Location = UNKNOWN


for _cls in (Num, Str, Bool, Name, Unary, Binary, Compare, And, Or, Not, Call):
    _cls._keys = tuple(f.name for f in fields(_cls) if f.name not in ("pos", "op_pos"))
del _cls


def _children(node: Expr) -> list[Expr]:
    out: list[Expr] = []
    for k in node._keys:
        v = getattr(node, k)
        if isinstance(v, Expr):
            out.append(v)
        elif isinstance(v, tuple):
            out.extend(v)
    return out


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of the tree, parents before children, left to right (iterative)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(_children(node)))


def names(expr: Expr | None) -> set[str]:
    """The paths of every name used (`a[].b` for array item names, `a[]` for count(a[]))."""
    if expr is None:
        return set()
    return {n.path for n in walk(expr) if isinstance(n, Name)}


# ---------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------

_KEYWORDS = frozenset({"and", "or", "not", "true", "false"})
_PY_KEYWORDS = frozenset({
    "if", "else", "elif", "for", "while", "in", "is", "import", "from", "lambda", "def", "class",
    "return", "yield", "with", "as", "global", "nonlocal", "del", "pass", "raise", "try", "except",
    "finally", "assert", "async", "await", "break", "continue",
})
_PY_CONSTANTS = {
    "True": "'True' is not allowed (did you mean 'true'?)",
    "False": "'False' is not allowed (did you mean 'false'?)",
    "None": "'None' is not allowed (test for an absent value with missing(x))",
}
_OPS2 = frozenset({"==", "!=", "<=", ">="})
_FORBIDDEN2 = {
    "**": "'**' is not allowed",
    "//": "'//' is not allowed",
    "&&": "'&&' is not allowed (did you mean 'and'?)",
    "||": "'||' is not allowed (did you mean 'or'?)",
    ":=": "':=' is not allowed",
    "<>": "'<>' is not allowed (did you mean '!='?)",
    "<<": "'<<' is not allowed",
    ">>": "'>>' is not allowed",
}
_FORBIDDEN1 = {
    "=": "'=' is not allowed (did you mean '=='?)",
    "!": "'!' is not allowed (did you mean 'not'?)",
    "&": "'&' is not allowed (did you mean 'and'?)",
    "|": "'|' is not allowed (did you mean 'or'?)",
    "%": "'%' is not allowed",
    "@": "'@' is not allowed",
    "^": "'^' is not allowed",
    "~": "'~' is not allowed",
    ";": "';' is not allowed",
    ":": "':' is not allowed",
    "`": "'`' is not allowed",
    "{": "'{' is not allowed",
    "}": "'}' is not allowed",
    "'": "single-quoted strings are not allowed (use double quotes)",
}
_DIGITS = "0123456789"
_SPACE = " \t\r\n"


@dataclass(slots=True)
class _Tok:
    kind: str  # num str name kw op ( ) , [ ] . bad eof
    text: str
    start: int
    value: Any = None
    # names: the array prefix, the path inside an item, and the first problem (offset, code, message)
    array: str | None = None
    item_path: str = ""
    problem: tuple[int, str, str] | None = None
    # bad tokens: the error to raise
    code: str = ""
    message: str = ""


def _ident_start(c: str) -> bool:
    return c == "_" or c.isalpha()


def _ident_char(c: str) -> bool:
    return c == "_" or c.isalpha() or c in _DIGITS


def _describe_char(c: str) -> str:
    if c.isprintable() and not c.isspace():
        text = f"unexpected '{c}'"
    else:
        text = f"unexpected character U+{ord(c):04X}"
        name = unicodedata.name(c, "")
        if name:
            text += f" ({name})"
    norm = unicodedata.normalize("NFKC", c)
    if norm != c and len(norm) == 1 and norm.isascii() and norm.isprintable() and not norm.isspace():
        text += f" (a full-width character; did you mean '{norm}'?)"
    return text


def _tokenize(text: str) -> list[_Tok]:
    """Tokens, ending with `eof` or with one `bad` token (lexing stops at the first error)."""
    toks: list[_Tok] = []
    n = len(text)
    i = 0

    def bad(at: int, code: str, message: str, shown: str = "") -> list[_Tok]:
        toks.append(_Tok("bad", shown or text[at:at + 1], at, code=code, message=message))
        return toks

    while True:
        while i < n and text[i] in _SPACE:
            i += 1
        if i >= n:
            toks.append(_Tok("eof", "", n))
            return toks
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c in _DIGITS or (c == "." and nxt in _DIGITS and nxt):
            j = i
            while j < n and text[j] in _DIGITS:
                j += 1
            is_float = False
            if j < n and text[j] == ".":
                is_float = True
                j += 1
                while j < n and text[j] in _DIGITS:
                    j += 1
            if j < n and text[j] in "eE":
                is_float = True
                k = j + 1
                if k < n and text[k] in "+-":
                    k += 1
                if k < n and text[k] in _DIGITS:
                    j = k
                    while j < n and text[j] in _DIGITS:
                        j += 1
                else:
                    return bad(i, "E301", f"malformed number '{text[i:k]}'", text[i:k])
            if j < n and (_ident_char(text[j]) or text[j] == "."):
                k = j
                while k < n and (_ident_char(text[k]) or text[k] == "."):
                    k += 1
                return bad(i, "E301", f"malformed number '{_clip(text[i:k])}'", text[i:k])
            lit = text[i:j]
            value: int | float = float(lit) if is_float else int(lit)
            if not math.isfinite(value) or abs(value) > MAX_LITERAL:
                return bad(i, "E307", f"number out of range: {_clip(lit)} "
                                      f"(numbers must be finite and at most 1e15 in size)", lit)
            toks.append(_Tok("num", lit, i, value))
            i = j
        elif c == '"':
            j = i + 1
            buf: list[str] = []
            while True:
                if j >= n:
                    return bad(i, "E301", "unterminated string", text[i:])
                ch = text[j]
                if ch == '"':
                    break
                if ch == "\\":
                    esc = text[j + 1] if j + 1 < n else ""
                    if esc in ('"', "\\") and esc:
                        buf.append(esc)
                        j += 2
                        continue
                    if not esc:
                        return bad(i, "E301", "unterminated string", text[i:])
                    return bad(j, "E301", f"unsupported escape '\\{esc}' in a string (only \\\" and \\\\ are "
                                          f"allowed)", text[j:j + 2])
                buf.append(ch)
                j += 1
            toks.append(_Tok("str", text[i:j + 1], i, "".join(buf)))
            i = j + 1
        elif _ident_start(c):
            start = i
            segments: list[str] = []
            arrays: list[int] = []
            problems: list[tuple[int, str, str]] = []
            while True:
                j = i
                while j < n and _ident_char(text[j]):
                    j += 1
                seg = text[i:j]
                if seg.startswith("_"):
                    problems.append((i, "E306", "names starting with '_' are not allowed"))
                if text.startswith("[]", j):
                    arrays.append(len(segments))
                    if len(arrays) == 2:
                        problems.append((j, "E306", "nested arrays are not supported "
                                                    "(use one '[]' in a name)"))
                    seg += "[]"
                    j += 2
                segments.append(seg)
                if j < n and text[j] == ".":
                    if j + 1 < n and _ident_start(text[j + 1]):
                        i = j + 1
                        continue
                    if j + 1 >= n:
                        return bad(j + 1, "E301", "unexpected end of expression", "")
                    return bad(j + 1, "E301", f"expected a name after '.', got "
                                              f"{_describe_char(text[j + 1]).removeprefix('unexpected ')}")
                i = j
                break
            path = ".".join(segments)
            if len(segments) == 1 and not arrays:
                if path in _KEYWORDS:
                    toks.append(_Tok("kw", path, start))
                    continue
                if path in _PY_KEYWORDS:
                    return bad(start, "E306", f"'{path}' is not allowed", path)
                if path in _PY_CONSTANTS:
                    return bad(start, "E306", _PY_CONSTANTS[path], path)
            tok = _Tok("name", path, start)
            if arrays:
                k = arrays[0]
                tok.array = ".".join(segments[:k] + [segments[k][:-2]])
                tok.item_path = ".".join(segments[k + 1:])
            if problems:
                tok.problem = min(problems)
            toks.append(tok)
        else:
            two = text[i:i + 2]
            if two in _OPS2:
                toks.append(_Tok("op", two, i))
                i += 2
            elif two in _FORBIDDEN2:
                return bad(i, "E306", _FORBIDDEN2[two], two)
            elif c in "+-*/<>":
                toks.append(_Tok("op", c, i))
                i += 1
            elif c in "(),[].":
                toks.append(_Tok(c, c, i))
                i += 1
            elif c in _FORBIDDEN1:
                return bad(i, "E306", _FORBIDDEN1[c])
            else:
                return bad(i, "E301", _describe_char(c))


def _clip(s: str, limit: int = 24) -> str:
    return s if len(s) <= limit else s[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------
# Parser (Pratt / precedence climbing)
# ---------------------------------------------------------------------------------------------

_BP_OR, _BP_AND, _BP_NOT, _BP_CMP, _BP_ADD, _BP_MUL, _BP_UNARY = 1, 2, 3, 4, 5, 6, 7
_INFIX = {
    "or": _BP_OR, "and": _BP_AND,
    "==": _BP_CMP, "!=": _BP_CMP, "<": _BP_CMP, "<=": _BP_CMP, ">": _BP_CMP, ">=": _BP_CMP,
    "+": _BP_ADD, "-": _BP_ADD, "*": _BP_MUL, "/": _BP_MUL,
}


class _Parser:
    def __init__(self, text: str, base: Location, locate: Callable[[int], Location] | None = None):
        self.text = text
        self.base = base
        self.locate = locate
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.toks = _tokenize(text)
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

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def advance(self) -> _Tok:
        tok = self.toks[self.i]
        if tok.kind in ("bad", "eof"):
            raise self.unexpected(tok)
        self.i += 1
        return tok

    def unexpected(self, tok: _Tok) -> ExpressionError:
        if tok.kind == "bad":
            return self.fail(tok.code, tok.message, tok.start)
        if tok.kind == "eof":
            return self.fail("E301", "unexpected end of expression", tok.start)
        if tok.kind == "[":
            return self.fail("E306", "list displays and comprehensions are not allowed", tok.start)
        return self.fail("E301", f"unexpected '{_clip(tok.text)}'", tok.start)

    def expect(self, kind: str) -> _Tok:
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
                if bp == _BP_CMP:
                    if compared:
                        raise self.fail("E301", f"comparisons cannot be chained ('{tok.text}' after a "
                                                f"comparison); combine them with 'and'", tok.start)
                    right = self.expr(_BP_CMP)
                    left = Compare(tok.text, left, right, left.pos, op_pos)
                    compared = True
                elif bp in (_BP_AND, _BP_OR):
                    args = [left, self.expr(bp)]
                    while self.peek().kind == "kw" and self.peek().text == tok.text:
                        self.advance()
                        args.append(self.expr(bp))
                    left = (And if bp == _BP_AND else Or)(tuple(args), left.pos)
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
                if min_bp >= _BP_NOT + 1:
                    raise self.fail("E301", "unexpected 'not' (put 'not ...' in parentheses here)", tok.start)
                self.advance()
                return Not(self.expr(_BP_NOT), pos)
            raise self.unexpected(tok)
        if kind == "op" and tok.text == "-":
            self.advance()
            return Unary("-", self.expr(_BP_UNARY), pos)
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

    def call(self, tok: _Tok, pos: Location) -> Expr:
        func = tok.text
        if func not in FUNCTIONS:
            hint = did_you_mean(func, FUNCTIONS)
            if not hint and func.lower() in FUNCTIONS:
                hint = f" (did you mean '{func.lower()}'?)"
            raise self.fail("E302", f"unknown function '{_clip(func, 40)}'{hint}", tok.start)
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


# ---------------------------------------------------------------------------------------------
# Type checking
# ---------------------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def _is_date_literal(node: Expr) -> bool:
    return isinstance(node, Str) and _parse_date(node.value) is not None


class _Typer:
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
            hint = f" (it is an array: use count({path}[]) or sum({path}[].<field>))"
        elif (inside := [k for k in keys if k.startswith(path + ".")]):
            hint = f" (it is a group of facts, e.g. '{inside[0]}')"
        else:
            hint = did_you_mean(path, candidates)
        self.bad(f"unknown fact '{path}'{hint}", at, "E102")

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
            spine: list[Binary] = []
            cur: Expr = node
            while isinstance(cur, Binary):
                spine.append(cur)
                cur = cur.left
            self.need(self.check(cur), "number", f"'{spine[-1].op}' needs numbers", cur.pos)
            for b in reversed(spine):
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
        if f == "months_between":
            for a in node.args:
                if _is_date_literal(a):
                    continue
                got = self.check(a)
                if got is not None and got != "date":
                    hint = " (write dates as \"YYYY-MM-DD\")" if got == "string" else ""
                    self.bad(f"months_between() needs dates; got {got}{hint}", a.pos)
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


# ---------------------------------------------------------------------------------------------
# Value semantics shared by both evaluators
# ---------------------------------------------------------------------------------------------

_ROUND_CONTEXT = Context(prec=1000, rounding=ROUND_HALF_UP)


def _norm(v: Any) -> Any:
    """An input value as expressions see it: None → MISSING, non-finite numbers → UNDEFINED."""
    if v is None:
        return MISSING
    t = type(v)
    if t is float:
        return v if v - v == 0.0 else UNDEFINED
    if t is int and (v > _MAXF or v < -_MAXF):
        return UNDEFINED
    return v


def _num_result(r: Any) -> Any:
    if type(r) is float:
        return r if r - r == 0.0 else UNDEFINED
    return r if -_MAXF <= r <= _MAXF else UNDEFINED


def _is_num(v: Any) -> bool:
    t = type(v)
    return t is int or t is float


def _kind(v: Any) -> str | None:
    t = type(v)
    if t is int or t is float:
        return "number"
    if t is bool:
        return "boolean"
    if t is str:
        return "string"
    if isinstance(v, _dt.date):
        return "date"
    return None


def _arith(op: str, a: Any, b: Any) -> Any:
    if a is MISSING or b is MISSING:
        return MISSING
    if not (_is_num(a) and _is_num(b)):
        return UNDEFINED
    try:
        if op == "+":
            r = a + b
        elif op == "-":
            r = a - b
        elif op == "*":
            r = a * b
        else:
            if b == 0:
                return UNDEFINED
            r = a / b
    except (ArithmeticError, ValueError):
        return UNDEFINED
    return _num_result(r)


def _neg(a: Any) -> Any:
    if a is MISSING:
        return MISSING
    return -a if _is_num(a) else UNDEFINED


def _parse_date(v: Any) -> _dt.date | None:
    if isinstance(v, _dt.datetime):
        return v.date()
    if isinstance(v, _dt.date):
        return v
    if type(v) is str and _ISO_DATE.match(v):
        try:
            return _dt.date(int(v[:4]), int(v[5:7]), int(v[8:10]))
        except ValueError:
            return None
    return None


def _compare(op: str, a: Any, b: Any) -> Any:
    if a is MISSING or b is MISSING:
        return MISSING
    if a is UNDEFINED or b is UNDEFINED:
        return UNDEFINED
    ka, kb = _kind(a), _kind(b)
    if op == "==" or op == "!=":
        if ka is None or kb is None:
            return UNDEFINED
        if ka != kb:
            if {ka, kb} != {"date", "string"}:
                return UNDEFINED
            a, b = _parse_date(a), _parse_date(b)
            if a is None or b is None:
                return UNDEFINED
        elif ka == "date":
            a, b = _parse_date(a), _parse_date(b)
        return (a == b) if op == "==" else (a != b)
    if ka != "number" or kb != "number":
        return UNDEFINED
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _not(v: Any) -> Any:
    if v is True:
        return False
    if v is False:
        return True
    return MISSING if v is MISSING else UNDEFINED


def _minmax(func: str, vals: list[Any]) -> Any:
    undefined = False
    for v in vals:
        if v is MISSING:
            return MISSING
        if not _is_num(v):
            undefined = True
    if undefined:
        return UNDEFINED
    return min(vals) if func == "min" else max(vals)


def _abs(v: Any) -> Any:
    if v is MISSING:
        return MISSING
    return abs(v) if _is_num(v) else UNDEFINED


def _round(v: Any, places: int) -> Any:
    if v is MISSING:
        return MISSING
    if type(v) is int:
        return v
    if type(v) is not float:
        return UNDEFINED
    d = Decimal(repr(v)).quantize(Decimal(1).scaleb(-places), context=_ROUND_CONTEXT)
    return float(d) + 0.0  # normalise -0.0


def _months(a: Any, b: Any) -> Any:
    if a is MISSING or b is MISSING:
        return MISSING
    later, earlier = _parse_date(a), _parse_date(b)
    if later is None or earlier is None:
        return UNDEFINED
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    if later.day < earlier.day:
        months -= 1
    return months


def _dig(item: Any, path: str) -> Any:
    if path:
        for part in path.split("."):
            if not isinstance(item, Mapping) or part not in item:
                return MISSING
            item = item[part]
    return _norm(item)


def _array(env: Env, name: str) -> Any:
    """The list an aggregate runs over, or MISSING / UNDEFINED."""
    arr = _norm(env.get(name, MISSING))
    if arr is MISSING or arr is UNDEFINED:
        return arr
    return arr if isinstance(arr, (list, tuple)) else UNDEFINED


def _aggregate_array(node: Call) -> str | None:
    if node.array is not None:
        return node.array
    for n in walk(node):
        if isinstance(n, Name) and n.array is not None:
            return n.array
    return None


# ---------------------------------------------------------------------------------------------
# 1. The reference evaluator: a plain tree walk
# ---------------------------------------------------------------------------------------------

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
            return _norm(env.get(node.path, MISSING))
        return MISSING if item is _NO_ITEM else _dig(item, node.item_path)
    if t is Binary:
        assert isinstance(node, Binary)
        spine: list[Binary] = []
        cur: Expr = node
        while isinstance(cur, Binary):  # left-deep chains without recursion
            spine.append(cur)
            cur = cur.left
        acc = _eval(cur, env, item)
        for b in reversed(spine):
            acc = _arith(b.op, acc, _eval(b.right, env, item))
        return acc
    if t is Unary:
        assert isinstance(node, Unary)
        return _neg(_eval(node.operand, env, item))
    if t is Compare:
        assert isinstance(node, Compare)
        return _compare(node.op, _eval(node.left, env, item), _eval(node.right, env, item))
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
        return _not(_eval(node.operand, env, item))
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
        return _minmax(f, [_eval(a, env, item) for a in args])
    if f == "abs":
        return _abs(_eval(args[0], env, item))
    if f == "round":
        places = args[1]
        assert isinstance(places, Num)
        return _round(_eval(args[0], env, item), int(places.value))
    if f == "months_between":
        return _months(_eval(args[0], env, item), _eval(args[1], env, item))
    if f == "sum" or f == "count":
        name = _aggregate_array(node)
        arr = _array(env, name) if name is not None else UNDEFINED
        if arr is MISSING or arr is UNDEFINED:
            return arr
        if f == "count":
            return len(arr)
        acc: Any = 0
        for it in arr:
            acc = _arith("+", acc, _eval(args[0], env, it))
        return acc
    raise TypeError(f"unknown function {f!r}")


# ---------------------------------------------------------------------------------------------
# 2. The compiler: nested closures, built once per rulebook
# ---------------------------------------------------------------------------------------------

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
        spine: list[Binary] = []
        cur: Expr = node
        while isinstance(cur, Binary):
            spine.append(cur)
            cur = cur.left
        if len(spine) == 1:
            return _c_binary(node.op, _compile(node.left), _compile(node.right))
        base = _compile(cur)
        steps = tuple((_ARITH_FNS[b.op], _compile(b.right)) for b in reversed(spine))

        def chain(env: Any) -> Any:
            acc = base(env)
            for op, right in steps:
                acc = op(acc, right(env))
            return acc

        return chain
    if t is Unary:
        assert isinstance(node, Unary)
        operand = _compile(node.operand)

        def neg(env: Any) -> Any:
            a = operand(env)
            ta = type(a)
            if ta is int or ta is float:
                return -a
            return _neg(a)

        return neg
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
            if tv is float:
                return v if v - v == 0.0 else UNDEFINED
            if tv is int and (v > _MAXF or v < -_MAXF):
                return UNDEFINED
            return v

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
        return _norm(v)

    return item_name


def _fast_add(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        r = a + b
        if type(r) is float:
            return r if r - r == 0.0 else UNDEFINED
        return r if -_MAXF <= r <= _MAXF else UNDEFINED
    return _arith("+", a, b)


def _fast_sub(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        r = a - b
        if type(r) is float:
            return r if r - r == 0.0 else UNDEFINED
        return r if -_MAXF <= r <= _MAXF else UNDEFINED
    return _arith("-", a, b)


def _fast_mul(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        r = a * b
        if type(r) is float:
            return r if r - r == 0.0 else UNDEFINED
        return r if -_MAXF <= r <= _MAXF else UNDEFINED
    return _arith("*", a, b)


def _fast_div(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        if b == 0:
            return UNDEFINED
        try:
            r = a / b
        except ArithmeticError:
            return UNDEFINED
        return r if r - r == 0.0 else UNDEFINED
    return _arith("/", a, b)


_ARITH_FNS: dict[str, Callable[[Any, Any], Any]] = {
    "+": _fast_add, "-": _fast_sub, "*": _fast_mul, "/": _fast_div,
}


def _c_binary(op: str, left: Fn, right: Fn) -> Fn:
    if op == "+":
        def add(env: Any) -> Any:
            a = left(env)
            b = right(env)
            ta, tb = type(a), type(b)
            if (ta is int or ta is float) and (tb is int or tb is float):
                r = a + b
                if type(r) is float:
                    return r if r - r == 0.0 else UNDEFINED
                return r if -_MAXF <= r <= _MAXF else UNDEFINED
            return _arith("+", a, b)
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
                return r if r - r == 0.0 else UNDEFINED
            return _arith("/", a, b)
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
            return _compare(op, a, b)

        return order

    negate = op == "!="

    def equal(env: Any) -> Any:
        a = left(env)
        b = right(env)
        ta, tb = type(a), type(b)
        if (ta is int or ta is float) and (tb is int or tb is float):
            return (a != b) if negate else (a == b)
        return _compare(op, a, b)

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

        def minmax(env: Any) -> Any:
            vals = [g(env) for g in fns]
            for v in vals:
                tv = type(v)
                if not (tv is int or tv is float):
                    return _minmax(f, vals)
            return pick(vals)

        return minmax
    if f == "abs":
        (g,) = fns

        def abs_(env: Any) -> Any:
            v = g(env)
            tv = type(v)
            if tv is int or tv is float:
                return abs(v)
            return _abs(v)

        return abs_
    if f == "round":
        g = fns[0]
        places_node = node.args[1]
        assert isinstance(places_node, Num)
        places = int(places_node.value)
        return lambda env: _round(g(env), places)
    if f == "months_between":
        g1, g2 = fns
        return lambda env: _months(g1(env), g2(env))
    raise TypeError(f"unknown function {f!r}")


def _c_aggregate(node: Call) -> Fn:
    name = _aggregate_array(node)
    if name is None:
        return lambda env: UNDEFINED
    if node.func == "count":
        def count(env: Any) -> Any:
            arr = _array(env, name)
            if arr is MISSING or arr is UNDEFINED:
                return arr
            return len(arr)
        return count

    each = _compile(node.args[0])

    def sum_(env: Any) -> Any:
        arr = _array(env, name)
        if arr is MISSING or arr is UNDEFINED:
            return arr
        inner = _ItemEnv(env)
        acc: Any = 0
        for it in arr:
            inner.item = it
            acc = _fast_add(acc, each(inner))
        return acc

    return sum_


# ---------------------------------------------------------------------------------------------
# Back to text
# ---------------------------------------------------------------------------------------------

def _prec(node: Expr) -> int:
    t = type(node)
    if t is Or:
        return _BP_OR
    if t is And:
        return _BP_AND
    if t is Not:
        return _BP_NOT
    if t is Compare:
        return _BP_CMP
    if t is Binary:
        return _BP_ADD if node.op in "+-" else _BP_MUL  # type: ignore[attr-defined]
    if t is Unary:
        return _BP_UNARY
    if t is Num and node.value < 0:  # type: ignore[attr-defined]
        return _BP_UNARY
    return 8


def _literal(node: Expr) -> str:
    if isinstance(node, Num):
        v = node.value
        return repr(float(v)) if type(v) is float else str(v)
    if isinstance(node, Str):
        return '"' + node.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(node, Bool):
        return "true" if node.value else "false"
    assert isinstance(node, Name)
    return node.path


def unparse(expr: Expr) -> str:
    """Text that parses back to `expr`, with as few parentheses as the grammar needs."""
    out: list[str] = []
    stack: list[tuple[Any, int]] = [(expr, 0)]
    while stack:
        item, need = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        node = item
        seq: list[Any] = []
        p = _prec(node)
        wrap = p < need
        if wrap:
            seq.append("(")
        if isinstance(node, (Num, Str, Bool, Name)):
            seq.append(_literal(node))
        elif isinstance(node, (Or, And)):
            word = " or " if isinstance(node, Or) else " and "
            for i, a in enumerate(node.args):
                if i:
                    seq.append(word)
                seq.append((a, p + 1))
        elif isinstance(node, Not):
            seq += ["not ", (node.operand, _BP_NOT)]
        elif isinstance(node, Compare):
            seq += [(node.left, _BP_CMP + 1), f" {node.op} ", (node.right, _BP_CMP + 1)]
        elif isinstance(node, Binary):
            seq += [(node.left, p), f" {node.op} ", (node.right, p + 1)]
        elif isinstance(node, Unary):
            seq += [node.op, (node.operand, _BP_UNARY)]
        elif isinstance(node, Call):
            seq.append(f"{node.func}(")
            for i, a in enumerate(node.args):
                if i:
                    seq.append(", ")
                seq.append((a, 0))
            seq.append(")")
        if wrap:
            seq.append(")")
        stack.extend((s, 0) if isinstance(s, str) else s for s in reversed(seq))
    return "".join(out)
