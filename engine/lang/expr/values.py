"""The values of expressions and their semantics, shared by both evaluators.

A value is an int/float (never bool), a bool, a str, a date, or one of two singletons:
MISSING (an input is absent or None) and UNDEFINED (x/0, NaN, ±inf, an operand of the wrong
type). Each operation here takes values and returns a value; MISSING wins over UNDEFINED.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from typing import Any, Protocol

from pingji.numbers import round_half_up

__all__ = [
    "MAXF", "MISSING", "UNDEFINED", "Env",
    "absolute", "arith", "array_of", "compare", "days_between", "dig", "finite", "is_num", "kind", "logical_not",
    "minmax", "months_between", "neg", "norm", "parse_date", "round_to",
]

MAXF = 1.7976931348623157e308  # sys.float_info.max: ints beyond it count as ±inf


class _Special:
    """MISSING / UNDEFINED: singletons, equal only to themselves, falsy, copied and pickled as is."""

    __slots__ = ("_global", "_text")

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
    """What expressions read names from: anything with `.get(name, default)`."""

    def get(self, name: str, default: Any = ..., /) -> Any: ...


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def finite(r: Any) -> Any:
    """A number (int or float) as a value: NaN, ±inf and ints beyond the float range are UNDEFINED.

    The one overflow check of the language: inputs, arithmetic results and sums all pass here.
    """
    if type(r) is float:
        return r if r - r == 0.0 else UNDEFINED
    return r if -MAXF <= r <= MAXF else UNDEFINED


def norm(v: Any) -> Any:
    """An input value as expressions see it: None → MISSING, non-finite numbers → UNDEFINED."""
    if v is None:
        return MISSING
    t = type(v)
    if t is float or t is int:
        return finite(v)
    return v


def is_num(v: Any) -> bool:
    """True for an int or a float (not a bool)."""
    t = type(v)
    return t is int or t is float


def kind(v: Any) -> str | None:
    """The type of a value: number, boolean, string, date; None for MISSING/UNDEFINED/others."""
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


def arith(op: str, a: Any, b: Any) -> Any:
    """a op b for + - * /."""
    if a is MISSING or b is MISSING:
        return MISSING
    if not (is_num(a) and is_num(b)):
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
    return finite(r)


def neg(a: Any) -> Any:
    """-a."""
    if a is MISSING:
        return MISSING
    return -a if is_num(a) else UNDEFINED


def parse_date(v: Any) -> _dt.date | None:
    """A date value, or an ISO "YYYY-MM-DD" string, as a date; None for anything else."""
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


def compare(op: str, a: Any, b: Any) -> Any:
    """a op b for == != < <= > >= (dates equal their ISO strings; only numbers are ordered)."""
    if a is MISSING or b is MISSING:
        return MISSING
    if a is UNDEFINED or b is UNDEFINED:
        return UNDEFINED
    ka, kb = kind(a), kind(b)
    if op == "==" or op == "!=":
        if ka is None or kb is None:
            return UNDEFINED
        if ka != kb:
            if {ka, kb} != {"date", "string"}:
                return UNDEFINED
            a, b = parse_date(a), parse_date(b)
            if a is None or b is None:
                return UNDEFINED
        elif ka == "date":
            a, b = parse_date(a), parse_date(b)
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


def logical_not(v: Any) -> Any:
    """not v (Kleene: not missing is missing)."""
    if v is True:
        return False
    if v is False:
        return True
    return MISSING if v is MISSING else UNDEFINED


def minmax(func: str, vals: list[Any]) -> Any:
    """min(...) or max(...)."""
    undefined = False
    for v in vals:
        if v is MISSING:
            return MISSING
        if not is_num(v):
            undefined = True
    if undefined:
        return UNDEFINED
    return min(vals) if func == "min" else max(vals)


def absolute(v: Any) -> Any:
    """abs(v)."""
    if v is MISSING:
        return MISSING
    return abs(v) if is_num(v) else UNDEFINED


def round_to(v: Any, places: int) -> Any:
    """round(v, places): half-up on the shortest decimal representation (2.675 → 2.68)."""
    if v is MISSING:
        return MISSING
    if type(v) is int:
        return v
    if type(v) is not float:
        return UNDEFINED
    return float(round_half_up(v, places)) + 0.0  # normalise -0.0


def months_between(a: Any, b: Any) -> Any:
    """Whole calendar months from b to a, rounded down."""
    if a is MISSING or b is MISSING:
        return MISSING
    later, earlier = parse_date(a), parse_date(b)
    if later is None or earlier is None:
        return UNDEFINED
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    if later.day < earlier.day:
        months -= 1
    return months


def days_between(a: Any, b: Any) -> Any:
    """Days from b to a (negative when a is earlier)."""
    if a is MISSING or b is MISSING:
        return MISSING
    later, earlier = parse_date(a), parse_date(b)
    if later is None or earlier is None:
        return UNDEFINED
    return (later - earlier).days


def dig(item: Any, path: str) -> Any:
    """The value at dotted `path` inside an array item ('' is the item itself)."""
    if path:
        for part in path.split("."):
            if not isinstance(item, Mapping) or part not in item:
                return MISSING
            item = item[part]
    return norm(item)


def array_of(env: Env, name: str) -> Any:
    """The list an aggregate runs over, or MISSING / UNDEFINED."""
    arr = norm(env.get(name, MISSING))
    if arr is MISSING or arr is UNDEFINED:
        return arr
    return arr if isinstance(arr, (list, tuple)) else UNDEFINED
