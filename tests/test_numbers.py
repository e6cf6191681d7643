"""pingji.numbers: exact decimal conversion and the one half-up rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingji import numbers
from pingji.lang import expressions as ex
from pingji.numbers import money, round_half_up, to_decimal
from pingji.rating import run


@pytest.mark.parametrize(("x", "expected"), [
    (0.1, Decimal("0.1")), (2.675, Decimal("2.675")), (10, Decimal(10)), (-3, Decimal(-3)),
    ("1.005", Decimal("1.005")), (Decimal("7.25"), Decimal("7.25")), (1e300, Decimal("1E+300")),
    (10**400, Decimal(10**400)),
])
def test_to_decimal_is_exact_on_the_figure_written(x, expected):
    d = to_decimal(x)
    assert d == expected and str(d) == str(expected)


def test_money_is_to_decimal_and_refuses_booleans():
    assert money(0.1) == to_decimal(0.1) == Decimal("0.1")
    with pytest.raises(ArithmeticError):
        money(True)


@pytest.mark.parametrize(("x", "places", "expected"), [
    (2.675, 2, "2.68"), (1.005, 2, "1.01"), (-1.25, 1, "-1.3"), (-1.24, 1, "-1.2"), (0.125, 2, "0.13"),
    (1.4999999999, 2, "1.50"), (12345678.125, 2, "12345678.13"), ("2500.005", 2, "2500.01"),
    (Decimal("-0.5"), 0, "-1"), (7, 3, "7.000"), (1.7976931348623157e308, 10, None),
])
def test_round_half_up_goes_away_from_zero_on_the_decimal_written(x, places, expected):
    got = round_half_up(x, places)
    if expected is None:  # the largest float at 10 places: the precision never runs out
        assert got == Decimal(repr(x)) and got.as_tuple().exponent == -10
    else:
        assert str(got) == expected


@settings(max_examples=1000, deadline=None)
@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), st.integers(0, 6))
def test_round_half_up_agrees_with_the_rating_engine_and_the_language(x, places):
    want = float(round_half_up(x, places)) + 0.0
    assert run.round_half_up(x, places) == want
    assert ex.evaluate(ex.parse(f"round(x, {places})"), {"x": x}) == want


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), st.integers(min_value=0, max_value=6))
def test_round_float_fast_path_agrees_with_the_exact_decimal(x: float, places: int) -> None:
    assert numbers.round_float(x, places) == numbers.round_float_exact(x, places)


def test_round_float_and_to_float_known_values() -> None:
    assert numbers.round_float(2.675, 2) == 2.68
    assert numbers.round_float(1.4999999999, 2) == 1.5
    assert numbers.round_float(-0.5, 0) == -1.0
    assert str(numbers.round_float(-0.001, 2)) == "0.0"  # never -0.0
    assert numbers.to_float(Decimal("34.585"), 2) == 34.59
    assert numbers.cents(Decimal("2500.005")) == Decimal("2500.01")
    assert numbers.ratio(Decimal(1), Decimal(3)) == Decimal("0.3333")
    assert numbers.ratio(Decimal(1), Decimal(0)) is None
