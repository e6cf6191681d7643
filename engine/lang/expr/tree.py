"""The syntax tree of expressions: the nodes, `walk`, `names`, and the text form (`unparse`).

Nodes are frozen dataclasses; equality, hashing, repr and unparse are iterative, so a
2,000-term chain `1 + 1 + ...` never reaches Python's recursion limit. `str(expr)` is
`unparse(expr)`: text that parses back to the same tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from pingji.diagnostics import UNKNOWN, Location

__all__ = [
    "AGGREGATES",
    "BP_ADD",
    "BP_AND",
    "BP_CMP",
    "BP_MUL",
    "BP_NOT",
    "BP_OR",
    "BP_UNARY",
    "FUNCTIONS",
    "TYPES",
    "And",
    "Binary",
    "Bool",
    "Call",
    "Compare",
    "Expr",
    "Name",
    "Not",
    "Num",
    "Or",
    "Str",
    "Unary",
    "aggregate_array",
    "left_spine",
    "names",
    "unparse",
    "walk",
]

#: function name -> (fewest, most) arguments; None = no upper bound.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "min": (2, None),
    "max": (2, None),
    "abs": (1, 1),
    "round": (2, 2),
    "missing": (1, 1),
    "months_between": (2, 2),
    "days_between": (2, 2),
    "sum": (1, 1),
    "count": (1, 1),
}
AGGREGATES = frozenset({"sum", "count"})
TYPES = frozenset({"number", "boolean", "string", "date"})

#: Binding powers of the operators, loosest first (the parser's and unparse's precedence).
BP_OR, BP_AND, BP_NOT, BP_CMP, BP_ADD, BP_MUL, BP_UNARY = 1, 2, 3, 4, 5, 6, 7
_BP_ATOM = 8

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


def left_spine(node: Binary) -> tuple[Expr, list[Binary]]:
    """A left-deep chain `((a op b) op c) ...`: its leftmost operand `a`, and its Binary nodes in the
    order they apply (innermost first) -- walked without recursion, however long the chain."""
    spine: list[Binary] = []
    cur: Expr = node
    while isinstance(cur, Binary):
        spine.append(cur)
        cur = cur.left
    spine.reverse()
    return cur, spine


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


def aggregate_array(node: Call) -> str | None:
    """The array a sum()/count() call runs over (None: it names none)."""
    if node.array is not None:
        return node.array
    for n in walk(node):
        if isinstance(n, Name) and n.array is not None:
            return n.array
    return None


# ---------------------------------------------------------------------------------------------
# Back to text
# ---------------------------------------------------------------------------------------------

def _prec(node: Expr) -> int:
    t = type(node)
    if t is Or:
        return BP_OR
    if t is And:
        return BP_AND
    if t is Not:
        return BP_NOT
    if t is Compare:
        return BP_CMP
    if t is Binary:
        return BP_ADD if node.op in "+-" else BP_MUL  # type: ignore[attr-defined]
    if t is Unary:
        return BP_UNARY
    if t is Num and node.value < 0:  # type: ignore[attr-defined]
        return BP_UNARY
    return _BP_ATOM


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
            seq += ["not ", (node.operand, BP_NOT)]
        elif isinstance(node, Compare):
            seq += [(node.left, BP_CMP + 1), f" {node.op} ", (node.right, BP_CMP + 1)]
        elif isinstance(node, Binary):
            seq += [(node.left, p), f" {node.op} ", (node.right, p + 1)]
        elif isinstance(node, Unary):
            seq += [node.op, (node.operand, BP_UNARY)]
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
