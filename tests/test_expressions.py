"""The expression language: exact refusals, semantics, type checking, and property-based agreement
of the reference evaluator, the compiled closures and an independent interpreter written here."""

from __future__ import annotations

import copy
import datetime as dt
import math
import pickle
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pingji.diagnostics import Location
from pingji.errors import ExpressionError
from pingji.lang import expressions as ex

BASE = Location("rb.yaml", 14, 9)
MISSING, UNDEFINED = ex.MISSING, ex.UNDEFINED


def refusal(text: str, base: Location = BASE) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        ex.parse(text, base)
    return info.value


def both(text: str, env: dict[str, Any]) -> Any:
    """Evaluate with both evaluators; they must agree."""
    tree = ex.parse(text)
    a = ex.evaluate(tree, env)
    b = ex.compile_expr(tree)(env)
    assert same(a, b), (text, env, a, b)
    return a


def same(a: Any, b: Any) -> bool:
    if a is MISSING or a is UNDEFINED or b is MISSING or b is UNDEFINED:
        return a is b
    if (type(a) is bool) != (type(b) is bool):
        return False
    return bool(a == b)


# ---------------------------------------------------------------------------------------------
# Refusals: exact text and location
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("__import__('os')", "rb.yaml:14:9: error[E306]: names starting with '_' are not allowed"),
    ("x.__class__", "rb.yaml:14:11: error[E306]: names starting with '_' are not allowed"),
    ("_secret + 1", "rb.yaml:14:9: error[E306]: names starting with '_' are not allowed"),
    ("lambda: 1", "rb.yaml:14:9: error[E306]: 'lambda' is not allowed"),
    ("[x for x in y]", "rb.yaml:14:9: error[E306]: list displays and comprehensions are not allowed"),
    ("10**10**10", "rb.yaml:14:11: error[E306]: '**' is not allowed"),
    ("a = 1", "rb.yaml:14:11: error[E306]: '=' is not allowed (did you mean '=='?)"),
    ("a && b", "rb.yaml:14:11: error[E306]: '&&' is not allowed (did you mean 'and'?)"),
    ("a || b", "rb.yaml:14:11: error[E306]: '||' is not allowed (did you mean 'or'?)"),
    ('name == "abc', "rb.yaml:14:17: error[E301]: unterminated string"),
    ("min(1)", "rb.yaml:14:9: error[E303]: min() takes at least 2 arguments; got 1"),
    ("abs(1, 2)", "rb.yaml:14:9: error[E303]: abs() takes 1 argument; got 2"),
    ("round(x)", "rb.yaml:14:9: error[E303]: round() takes 2 arguments; got 1"),
    ("x[0]", "rb.yaml:14:10: error[E306]: indexing is not allowed"),
    ("x if y else z", "rb.yaml:14:11: error[E306]: 'if' is not allowed"),
    ("a in b", "rb.yaml:14:11: error[E306]: 'in' is not allowed"),
    ("a is b", "rb.yaml:14:11: error[E306]: 'is' is not allowed"),
    ("import os", "rb.yaml:14:9: error[E306]: 'import' is not allowed"),
    ("a; b", "rb.yaml:14:10: error[E306]: ';' is not allowed"),
    ("a % 2", "rb.yaml:14:11: error[E306]: '%' is not allowed"),
    ("a // 2", "rb.yaml:14:11: error[E306]: '//' is not allowed"),
    ("a @ b", "rb.yaml:14:11: error[E306]: '@' is not allowed"),
    ("`a`", "rb.yaml:14:9: error[E306]: '`' is not allowed"),
    ("eval(x)", "rb.yaml:14:9: error[E302]: unknown function 'eval'"),
    ("mni(a, b)", "rb.yaml:14:9: error[E302]: unknown function 'mni' (did you mean 'min'?)"),
    ("a.b(1)", "rb.yaml:14:9: error[E302]: unknown function 'a.b' (did you mean 'abs'?)"),
    ("len(x)", "rb.yaml:14:9: error[E302]: unknown function 'len'"),
    ("a < b < c", "rb.yaml:14:15: error[E301]: comparisons cannot be chained ('<' after a comparison); "
                  "combine them with 'and'"),
    ("a +", "rb.yaml:14:12: error[E301]: unexpected end of expression"),
    ("a b", "rb.yaml:14:11: error[E301]: unexpected 'b'"),
    ("(a", "rb.yaml:14:11: error[E301]: unexpected end of expression"),
    ("a)", "rb.yaml:14:10: error[E301]: unexpected ')'"),
    ("", "rb.yaml:14:9: error[E301]: expression is empty"),
    ("1e400", "rb.yaml:14:9: error[E307]: number out of range: 1e400 "
              "(numbers must be finite and at most 1e15 in size)"),
    ("2 * 1e16", "rb.yaml:14:13: error[E307]: number out of range: 1e16 "
                 "(numbers must be finite and at most 1e15 in size)"),
    ("x + collateral[].value", "rb.yaml:14:13: error[E306]: 'collateral[].value' means each item of an "
                               "array; use it inside sum() or count()"),
    ("sum(a[].x + b[].y)", "rb.yaml:14:21: error[E304]: sum() mixes items of two arrays: 'a[]' and 'b[]'"),
    ("sum(x)", "rb.yaml:14:9: error[E304]: sum() needs the items of an array, like 'collateral[].value'"),
    ("sum(count(a[]) * a[].x)", "rb.yaml:14:13: error[E306]: count() cannot be used inside sum()"),
    ("count(a[].x)", "rb.yaml:14:15: error[E304]: count() needs an array name like 'collateral[]'"),
    ("round(x, 11)", "rb.yaml:14:18: error[E304]: round() needs a whole number of decimal places "
                     "from 0 to 10 as its second argument"),
    ("a == not b", "rb.yaml:14:14: error[E301]: unexpected 'not' (put 'not ...' in parentheses here)"),
    ("True", "rb.yaml:14:9: error[E306]: 'True' is not allowed (did you mean 'true'?)"),
])
def test_refusals(text: str, expected: str) -> None:
    assert str(refusal(text)) == expected


def test_nesting_limit_points_at_the_65th_level() -> None:
    exc = refusal("(" * 1000 + "a" + ")" * 1000)
    assert str(exc) == "rb.yaml:14:73: error[E305]: expression nests deeper than 64 levels"
    ex.parse("(" * 64 + "a" + ")" * 64)  # 64 levels are fine


@pytest.mark.parametrize("text", [
    "(" * 10_000 + "a" + ")" * 10_000,
    "-" * 3000 + "1",
    "not " * 900 + "x",
    "abs(" * 700 + "1" + ")" * 700,
    "min(1, " * 400 + "1" + ")" * 400,
    "(" * 3000,
    "a + (" * 700 + "b" + ")" * 700,
])
def test_deep_nesting_is_e305_never_recursion_error(text: str) -> None:
    exc = refusal(text)
    assert exc.code == "E305"


def test_length_limit() -> None:
    exc = refusal("1" + " + 1" * 1250)
    assert str(exc) == "rb.yaml:14:9: error[E305]: expression is 5001 characters; the limit is 4000"


def test_multi_line_locations() -> None:
    exc = refusal("a +\n  b *\n   )")
    assert (exc.location.line, exc.location.col) == (16, 4)
    exc = refusal("a\n + b = c")
    assert str(exc) == "rb.yaml:15:6: error[E306]: '=' is not allowed (did you mean '=='?)"


def test_long_chains_are_not_nesting() -> None:
    text = "1" + " + 1" * 999
    tree = ex.parse(text)
    assert ex.evaluate(tree, {}) == 1000
    assert ex.compile_expr(tree)({}) == 1000
    assert ex.typecheck(tree, {}, expect="number") == []
    assert tree == ex.parse(text) and hash(tree) == hash(ex.parse(text))
    assert repr(tree).startswith("Binary(op='+', left=Binary(")
    assert ex.parse(ex.unparse(tree)) == tree
    small = ex.parse("a + b * c > 1")
    copied = pickle.loads(pickle.dumps(small))
    assert copied == small and hash(copied) == hash(small)


# ---------------------------------------------------------------------------------------------
# The tree
# ---------------------------------------------------------------------------------------------

def test_tree_shapes_and_positions() -> None:
    tree = ex.parse("a and b and not c > -1 or d", BASE)
    assert isinstance(tree, ex.Or) and len(tree.args) == 2
    conj = tree.args[0]
    assert isinstance(conj, ex.And) and len(conj.args) == 3
    neg = conj.args[2]
    assert isinstance(neg, ex.Not) and isinstance(neg.operand, ex.Compare)
    assert neg.pos == Location("rb.yaml", 14, 21)
    cmp = neg.operand
    assert cmp.op_pos == Location("rb.yaml", 14, 27) and isinstance(cmp.right, ex.Unary)
    assert ex.parse("1 - 2 - 3") == ex.Binary("-", ex.Binary("-", ex.Num(1), ex.Num(2)), ex.Num(3))
    assert ex.parse("-a * b") == ex.Binary("*", ex.Unary("-", ex.Name("a")), ex.Name("b"))
    assert ex.parse("a + b * c") == ex.Binary("+", ex.Name("a"), ex.Binary("*", ex.Name("b"), ex.Name("c")))
    name = ex.parse("sum(loans.items[].amount.eur)").args[0]  # type: ignore[attr-defined]
    assert (name.path, name.array, name.item_path, name.is_array) == (
        "loans.items[].amount.eur", "loans.items", "amount.eur", True)
    assert ex.parse('"say \\"hi\\" \\\\"') == ex.Str('say "hi" \\')
    assert ex.parse("1e-3") == ex.Num(0.001) and ex.parse(".5") == ex.Num(0.5)


def test_names() -> None:
    tree = ex.parse("sum(collateral[].value * (1 - collateral[].haircut)) / max(debt.total, 1)"
                    " + count(guarantors[])")
    assert ex.names(tree) == {"collateral[].value", "collateral[].haircut", "debt.total", "guarantors[]"}
    assert ex.names(None) == set()


def test_unparse_round_trips() -> None:
    for text in ["a - (b - c)", "-(a + b) * c", "not (a and b) or c", "(a < b) == true", "- -a",
                 'round(x / 3, 2) >= 1.5 and missing(y) and name != "x\\"y"', "(a or b) and c",
                 "sum(c[].v * (1 - c[].h)) / count(c[])"]:
        tree = ex.parse(text)
        assert ex.parse(ex.unparse(tree)) == tree, text
    assert str(ex.parse("(a + b) * c")) == "(a + b) * c"


# ---------------------------------------------------------------------------------------------
# Values and semantics
# ---------------------------------------------------------------------------------------------

def test_singletons() -> None:
    assert repr(MISSING) == "missing" and repr(UNDEFINED) == "undefined"
    assert MISSING != 0 and UNDEFINED != 0 and MISSING != False and MISSING != UNDEFINED  # noqa: E712
    assert not MISSING and not UNDEFINED
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING
    assert copy.deepcopy([UNDEFINED])[0] is UNDEFINED


def test_division_by_zero_is_undefined() -> None:
    assert both("1 / 0", {}) is UNDEFINED
    assert both("0 / 0", {}) is UNDEFINED
    assert both("a / b", {"a": 1.5, "b": 0.0}) is UNDEFINED
    assert both("(a / b) * 0 + 1", {"a": 1, "b": 0}) is UNDEFINED
    assert both("a / 2", {"a": 3}) == 1.5


def test_missing_propagates_and_wins_over_undefined() -> None:
    assert both("a + 1", {}) is MISSING
    assert both("a + 1", {"a": None}) is MISSING
    assert both("1 / 0 + a", {}) is MISSING
    assert both("a + 1 / 0", {}) is MISSING
    assert both("max(a, 1 / 0)", {}) is MISSING
    assert both("abs(a) > 1", {"a": None}) is MISSING
    assert both("-a", {}) is MISSING
    assert both("a", {"a": float("nan")}) is UNDEFINED
    assert both("a * 2", {"a": float("inf")}) is UNDEFINED
    assert both("a * a", {"a": 1e200}) is UNDEFINED


def test_missing_function() -> None:
    assert both("missing(a)", {}) is True
    assert both("missing(a)", {"a": None}) is True
    assert both("missing(a)", {"a": 0}) is False
    assert both("missing(1 / 0)", {}) is False
    assert both("missing(a + b)", {"a": 1}) is True
    assert both("not missing(a) and a > 1", {"a": 2}) is True


KLEENE = {"T": True, "F": False, "M": MISSING, "U": UNDEFINED}
ENV3 = {"T": True, "F": False, "U": float("nan")}  # M is absent


def kleene_and(a: Any, b: Any) -> Any:
    if a is False or b is False:
        return False
    if a is MISSING or b is MISSING:
        return MISSING
    if a is UNDEFINED or b is UNDEFINED:
        return UNDEFINED
    return True


def kleene_or(a: Any, b: Any) -> Any:
    if a is True or b is True:
        return True
    if a is MISSING or b is MISSING:
        return MISSING
    if a is UNDEFINED or b is UNDEFINED:
        return UNDEFINED
    return False


@pytest.mark.parametrize("x", "TFMU")
@pytest.mark.parametrize("y", "TFMU")
def test_kleene_tables(x: str, y: str) -> None:
    assert both(f"{x} and {y}", ENV3) is kleene_and(KLEENE[x], KLEENE[y])
    assert both(f"{x} or {y}", ENV3) is kleene_or(KLEENE[x], KLEENE[y])


def test_kleene_spot_checks() -> None:
    assert both("false and m", {}) is False
    assert both("true and m", {}) is MISSING
    assert both("not m", {}) is MISSING
    assert both("true or 1 / 0 > 1", {}) is True
    assert both("false or 1 / 0 > 1", {}) is UNDEFINED
    assert both("not (1 / 0 > 1)", {}) is UNDEFINED
    assert both("m and 1 / 0 > 1", {}) is MISSING
    assert both("1 and true", {}) is UNDEFINED  # a number is no truth value


def test_types_at_run_time() -> None:
    assert both("t + 1", {"t": True}) is UNDEFINED  # bool is not a number
    assert both("t == 1", {"t": True}) is UNDEFINED
    assert both('s < "b"', {"s": "a"}) is UNDEFINED
    assert both('s == "a"', {"s": "a"}) is True
    assert both('d == "2024-05-01"', {"d": dt.date(2024, 5, 1)}) is True
    assert both("1 == 1.0", {}) is True
    assert both("3 > 2.5 and 2 <= 2 and 1 != 2", {}) is True


def test_round_half_up() -> None:
    assert both("round(2.675, 2)", {}) == 2.68
    assert both("round(1.4999999999, 2)", {}) == 1.5
    assert both("round(0.125, 2)", {}) == 0.13
    assert both("round(-2.5, 0)", {}) == -3.0
    assert both("round(a, 1)", {"a": 7}) == 7
    assert both("round(a, 1)", {}) is MISSING
    assert both("round(1 / 0, 1)", {}) is UNDEFINED
    assert both("round(a, 10)", {"a": 1e300}) == 1e300


@pytest.mark.parametrize("later, earlier, months", [
    ("2024-03-15", "2024-01-15", 2),
    ("2024-03-14", "2024-01-15", 1),
    ("2024-02-29", "2024-01-31", 0),
    ("2024-03-31", "2024-01-31", 2),
    ("2025-01-01", "2015-06-30", 114),
    ("2024-01-15", "2024-03-10", -2),
    ("2024-01-05", "2024-03-10", -3),
    ("2024-05-01", "2024-05-01", 0),
])
def test_months_between(later: str, earlier: str, months: int) -> None:
    assert both("months_between(a, b)", {"a": later, "b": earlier}) == months
    assert both(f'months_between("{later}", b)', {"b": dt.date.fromisoformat(earlier)}) == months


def test_months_between_bad_inputs() -> None:
    assert both("months_between(a, b)", {"b": "2024-01-01"}) is MISSING
    assert both("months_between(a, b)", {"a": "2024-02-30", "b": "2024-01-01"}) is UNDEFINED
    assert both("months_between(a, b)", {"a": "20240201", "b": "2024-01-01"}) is UNDEFINED
    assert both("months_between(a, b)", {"a": 5, "b": "2024-01-01"}) is UNDEFINED
    assert both("months_between(a, b)", {"a": dt.datetime(2024, 3, 2, 10), "b": "2024-01-01"}) == 2


COLLATERAL = [{"value": 100, "haircut": 0.2}, {"value": 50.0, "haircut": 0.5}]


def test_sum_and_count() -> None:
    expr = "sum(collateral[].value * (1 - collateral[].haircut))"
    assert both(expr, {"collateral": COLLATERAL}) == 105.0
    assert both(expr, {"collateral": []}) == 0
    assert both(expr, {}) is MISSING
    assert both(expr, {"collateral": None}) is MISSING
    assert both(expr, {"collateral": [{"value": 1, "haircut": 0}, {"value": None, "haircut": 0}]}) is MISSING
    assert both(expr, {"collateral": [{"value": 1}]}) is MISSING
    assert both(expr, {"collateral": [{"value": 1, "haircut": 0}, {"value": 2, "haircut": 0}]}) == 3
    assert both(expr, {"collateral": "oops"}) is UNDEFINED
    assert both("sum(collateral[].value / collateral[].haircut)",
                {"collateral": [{"value": 1, "haircut": 0}, {"haircut": 1}]}) is MISSING
    assert both("count(collateral[])", {"collateral": COLLATERAL}) == 2
    assert both("count(collateral[])", {"collateral": []}) == 0
    assert both("count(collateral[])", {}) is MISSING
    assert both("sum(collateral[].value * rate)", {"collateral": COLLATERAL, "rate": 2}) == 300.0
    loans = {"loans.items": [{"amount": {"eur": 5}}, {"amount": {"eur": 6}}]}
    assert both("sum(loans.items[].amount.eur)", loans) == 11
    assert both("sum(tags[])", {"tags": [1, 2.5]}) == 3.5
    assert both("sum(c[].v) / count(c[])", {"c": []}) is UNDEFINED


# ---------------------------------------------------------------------------------------------
# Type checking
# ---------------------------------------------------------------------------------------------

TYPES = {
    "annual_income": "number",
    "financials.current.revenue": "number",
    "revenue": "number",
    "name": "string",
    "listed": "boolean",
    "founded": "date",
    "collateral[].value": "number",
    "collateral[].haircut": "number",
    "collateral[].kind": "string",
}


def check(text: str, expect: str | None = None) -> list[str]:
    tree, diags = ex.parse_checked(text, BASE, TYPES, expect)
    return [str(d) for d in diags]


def test_typecheck_unknown_name_did_you_mean() -> None:
    assert check("anual_income > 1000", "boolean") == [
        "rb.yaml:14:9: error[E102]: unknown fact 'anual_income' (did you mean 'annual_income'?)"]
    assert check("count(colateral[]) > 1", "boolean") == [
        "rb.yaml:14:15: error[E102]: unknown fact 'colateral[]' (did you mean 'collateral[]'?)"]
    assert check("collateral > 1") == [
        "rb.yaml:14:9: error[E102]: unknown fact 'collateral' (it is an array: use count(collateral[]) or "
        "sum(collateral[].<field>))"]
    assert check("financials.current * 2") == [
        "rb.yaml:14:9: error[E102]: unknown fact 'financials.current' (it is a group of facts, "
        "e.g. 'financials.current.revenue')"]
    assert check("sum(collateral[].valu)") == [
        "rb.yaml:14:13: error[E102]: unknown fact 'collateral[].valu' (did you mean 'collateral[].value'?)"]


def test_typecheck_type_errors() -> None:
    assert check('"a" + revenue') == ["rb.yaml:14:9: error[E304]: '+' needs numbers; got string"]
    assert check("revenue == name") == ["rb.yaml:14:17: error[E304]: cannot compare number with string"]
    assert check("revenue + 1", "boolean") == [
        "rb.yaml:14:9: error[E304]: condition must be boolean; got number"]
    assert check("revenue > 1", "number") == [
        "rb.yaml:14:9: error[E304]: expression must be a number; got boolean"]
    assert check("revenue and listed", "boolean") == [
        "rb.yaml:14:9: error[E304]: 'and' needs booleans; got number"]
    assert check("not revenue") == ["rb.yaml:14:13: error[E304]: 'not' needs a boolean; got number"]
    assert check("-listed") == ["rb.yaml:14:10: error[E304]: '-' needs a number; got boolean"]
    assert check('name < "b"') == ["rb.yaml:14:14: error[E304]: '<' needs numbers; got string"]
    assert check("min(revenue, name)") == ["rb.yaml:14:22: error[E304]: min() needs numbers; got string"]
    assert check("sum(collateral[].kind)") == ["rb.yaml:14:13: error[E304]: sum() needs numbers; got string"]
    assert check("months_between(revenue, founded)") == [
        "rb.yaml:14:24: error[E304]: months_between() needs dates; got number"]
    assert check('founded < "2020-01-01"') == [
        "rb.yaml:14:17: error[E304]: '<' cannot order dates; compare months_between(...) with a number"]


def test_typecheck_reports_every_problem() -> None:
    assert check("anual_income + name > 1 and revenue or listd", "boolean") == [
        "rb.yaml:14:9: error[E102]: unknown fact 'anual_income' (did you mean 'annual_income'?)",
        "rb.yaml:14:24: error[E304]: '+' needs numbers; got string",
        "rb.yaml:14:37: error[E304]: 'and' needs booleans; got number",
        "rb.yaml:14:48: error[E102]: unknown fact 'listd' (did you mean 'listed'?)",
    ]


def test_typecheck_accepts_good_expressions() -> None:
    for text, expect in [
        ("annual_income / max(revenue, 1)", "number"),
        ('months_between("2026-01-01", founded) >= 24 and listed', "boolean"),
        ('founded == "2020-01-01" or missing(founded)', "boolean"),
        ('name == "ACME" and not listed', "boolean"),
        ("sum(collateral[].value * (1 - collateral[].haircut)) / count(collateral[])", "number"),
        ("round(revenue / 3, 2)", "number"),
    ]:
        assert check(text, expect) == [], text


def test_parse_checked_turns_parse_errors_into_diagnostics() -> None:
    tree, diags = ex.parse_checked("a &&& b", BASE, TYPES, "boolean")
    assert tree is None
    assert [(d.code, str(d.location)) for d in diags] == [("E306", "rb.yaml:14:11")]


# ---------------------------------------------------------------------------------------------
# Property-based: random trees, rendered two ways, three evaluators agree
# ---------------------------------------------------------------------------------------------

NAMES = ["a", "b", "c", "d"]
ABSENT = object()

numbers = st.one_of(st.integers(0, 20),
                    st.sampled_from([0, 0.0, 0.5, 2.5, 0.1, 0.001, 1000000, 1e15, 123.456]))
leaves = st.one_of(
    numbers.map(lambda v: ("num", v)),
    st.sampled_from(NAMES).map(lambda n: ("name", n)),
    st.booleans().map(lambda b: ("bool", b)),
)


def extend(kids: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.tuples(st.just("neg"), kids),
        st.tuples(st.just("not"), kids),
        st.tuples(st.just("bin"), st.sampled_from("+-*/"), kids, kids),
        st.tuples(st.just("cmp"), st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), kids, kids),
        st.tuples(st.sampled_from(["and", "or"]), st.lists(kids, min_size=2, max_size=3).map(tuple)),
        st.tuples(st.just("call"), st.sampled_from(["min", "max"]),
                  st.lists(kids, min_size=2, max_size=3).map(tuple)),
        st.tuples(st.just("call"), st.sampled_from(["abs", "missing"]), st.tuples(kids)),
        st.tuples(st.just("round"), kids, st.integers(0, 3)),
    )


trees = st.recursive(leaves, extend, max_leaves=14)
env_values = st.one_of(
    st.just(ABSENT), st.none(), st.booleans(), st.integers(-5, 5),
    st.sampled_from([0.0, -0.0, 0.5, -2.25, 1e6, 1e300, float("inf"), float("nan")]),
)
envs = st.fixed_dictionaries({n: env_values for n in NAMES}).map(
    lambda d: {k: v for k, v in d.items() if v is not ABSENT})

# -- an independent interpreter over the generated structure ---------------------------------
M, U = "<M>", "<U>"


def is_num(v: Any) -> bool:
    return type(v) in (int, float)


def r_arith(op: str, a: Any, b: Any) -> Any:
    if a is M or b is M:
        return M
    if not (is_num(a) and is_num(b)):
        return U
    if op == "/" and b == 0:
        return U
    r = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b}[op]()
    return r if math.isfinite(r) else U


def r_cmp(op: str, a: Any, b: Any) -> Any:
    if a is M or b is M:
        return M
    if a is U or b is U:
        return U
    if op in ("==", "!="):
        if is_num(a) != is_num(b):
            return U
        return (a == b) == (op == "==")
    if not (is_num(a) and is_num(b)):
        return U
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def r_logic(kind: str, vals: list[Any]) -> Any:
    decisive = kind == "or"
    if any(v is decisive for v in vals):
        return decisive
    if any(v is M for v in vals):
        return M
    if any(v is not (not decisive) for v in vals):
        return U
    return not decisive


def ref(node: Any, env: dict[str, Any]) -> Any:
    kind = node[0]
    if kind in ("num", "bool"):
        return node[1]
    if kind == "name":
        v = env.get(node[1])
        if v is None:
            return M
        if type(v) is float and not math.isfinite(v):
            return U
        return v
    if kind == "neg":
        v = ref(node[1], env)
        return M if v is M else (-v if is_num(v) else U)
    if kind == "not":
        v = ref(node[1], env)
        return (not v) if type(v) is bool else (M if v is M else U)
    if kind == "bin":
        return r_arith(node[1], ref(node[2], env), ref(node[3], env))
    if kind == "cmp":
        return r_cmp(node[1], ref(node[2], env), ref(node[3], env))
    if kind in ("and", "or"):
        return r_logic(kind, [ref(a, env) for a in node[1]])
    if kind == "round":
        v = ref(node[1], env)
        if v is M or not is_num(v):
            return M if v is M else U
        if type(v) is int:
            return v
        with localcontext(prec=400):
            return float(Decimal(str(v)).quantize(Decimal(10) ** -node[2], rounding=ROUND_HALF_UP)) + 0.0
    fn, args = node[1], [ref(a, env) for a in node[2]]
    if fn == "missing":
        return args[0] is M
    if any(v is M for v in args):
        return M
    if not all(is_num(v) for v in args):
        return U
    return {"min": min, "max": max, "abs": lambda v: abs(v)}[fn](*args)


# -- two renderers ---------------------------------------------------------------------------
def lit(v: Any) -> str:
    return repr(v) if type(v) is float else str(v)


def render_full(node: Any) -> str:
    kind = node[0]
    if kind == "num":
        return lit(node[1])
    if kind == "bool":
        return "true" if node[1] else "false"
    if kind == "name":
        return node[1]
    if kind == "neg":
        return f"(-{render_full(node[1])})"
    if kind == "not":
        return f"(not {render_full(node[1])})"
    if kind in ("bin", "cmp"):
        return f"({render_full(node[2])} {node[1]} {render_full(node[3])})"
    if kind in ("and", "or"):
        return "(" + f" {kind} ".join(render_full(a) for a in node[1]) + ")"
    if kind == "round":
        return f"round({render_full(node[1])}, {node[2]})"
    return f"{node[1]}(" + ", ".join(render_full(a) for a in node[2]) + ")"


def render_min(node: Any) -> tuple[str, int]:
    """Text with only the parentheses the precedence rules need, and its precedence level."""
    kind = node[0]

    def wrap(child: Any, lowest: int) -> str:
        text, p = render_min(child)
        return text if p >= lowest else f"({text})"

    if kind == "num":
        return lit(node[1]), 9
    if kind == "bool":
        return ("true" if node[1] else "false"), 9
    if kind == "name":
        return node[1], 9
    if kind == "neg":
        return "-" + wrap(node[1], 7), 7
    if kind == "not":
        return "not " + wrap(node[1], 3), 3
    if kind == "bin":
        p = 5 if node[1] in "+-" else 6
        return f"{wrap(node[2], p)} {node[1]} {wrap(node[3], p + 1)}", p
    if kind == "cmp":
        return f"{wrap(node[2], 5)} {node[1]} {wrap(node[3], 5)}", 4
    if kind in ("and", "or"):
        p = 2 if kind == "and" else 1
        return f" {kind} ".join(wrap(a, p + 1) for a in node[1]), p
    if kind == "round":
        return f"round({render_min(node[1])[0]}, {node[2]})", 9
    return f"{node[1]}(" + ", ".join(render_min(a)[0] for a in node[2]) + ")", 9


def as_ref(v: Any) -> Any:
    return M if v is MISSING else U if v is UNDEFINED else v


# Hypothesis sometimes misjudges `extend` (it does use its argument, in every branch) and warns
# that it "can't actually recurse"; that heuristic is not about the behaviour under test.
@pytest.mark.filterwarnings("ignore:extend=extend doesn't use it's argument")
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees, env_list=st.lists(envs, min_size=1, max_size=4))
def test_random_trees_agree(tree: Any, env_list: list[dict[str, Any]]) -> None:
    full, minimal = render_full(tree), render_min(tree)[0]
    parsed = ex.parse(full)
    assert ex.parse(minimal) == parsed, (full, minimal)
    assert ex.parse(ex.unparse(parsed)) == parsed
    fn = ex.compile_expr(parsed)
    for env in env_list:
        expected = ref(tree, env)
        got_eval = ex.evaluate(parsed, env)
        got_comp = fn(env)
        assert same(got_eval, got_comp), (full, env, got_eval, got_comp)
        got = as_ref(got_eval)
        if expected in (M, U) or got in (M, U):
            assert got is expected, (minimal, env, got, expected)
        else:
            assert (type(got) is bool) == (type(expected) is bool), (minimal, env, got, expected)
            assert got == expected, (minimal, env, got, expected)


items = st.lists(st.one_of(
    st.fixed_dictionaries({"v": st.one_of(st.none(), st.integers(-3, 3), st.floats(-10, 10)),
                           "h": st.sampled_from([0, 0.5, 1])}),
    st.just({"h": 0}),
), max_size=5)


@settings(max_examples=200, deadline=None)
@given(arr=st.one_of(st.just(ABSENT), st.none(), items))
def test_sum_agrees_with_reference(arr: Any) -> None:
    env = {} if arr is ABSENT else {"c": arr}
    tree = ex.parse("sum(c[].v / c[].h) + count(c[])")
    if arr is ABSENT or arr is None:
        expected: Any = MISSING
    else:
        expected = 0
        for it in arr:
            v, h = it.get("v"), it.get("h")
            if v is None:
                expected = MISSING
                break
            if expected is not UNDEFINED:
                expected = UNDEFINED if h == 0 else expected + v / h
        if expected is not MISSING and expected is not UNDEFINED:
            expected += len(arr)
    got = ex.evaluate(tree, env)
    assert same(got, ex.compile_expr(tree)(env))
    assert same(got, expected), (arr, got, expected)


# -- robustness: arbitrary text is parsed or refused with an ExpressionError, nothing else ------
grammar_soup = st.lists(st.sampled_from(list("ab_.[]()0123456789e+-*/<>=!&|\"\\ ,%@;:'\n") + [
    " and ", " or ", " not ", "true", "min(", "sum(", "count(", "x[].y", "round(", "1e15", "__"]),
    max_size=40).map("".join)


@settings(max_examples=600, deadline=None)
@given(text=st.one_of(st.text(max_size=60), grammar_soup))
def test_any_text_parses_or_is_refused_cleanly(text: str) -> None:
    try:
        tree = ex.parse(text, BASE)
    except ExpressionError as exc:
        assert exc.code in {"E301", "E302", "E303", "E304", "E305", "E306", "E307"}
        assert exc.location is not None and exc.location.file == "rb.yaml" and exc.location.line >= 14
        return
    ex.typecheck(tree, TYPES, expect="boolean")
    value = ex.evaluate(tree, {"a": 1, "b": 0})
    assert same(value, ex.compile_expr(tree)({"a": 1, "b": 0}))
    assert ex.parse(ex.unparse(tree)) == tree
