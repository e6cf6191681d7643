"""Rounding is half-up on the shortest decimal representation, exactly as documented."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingji.rating.rounding import round_half_up
from pingji.rating.rounding import round_half_up_exact as _round_half_up_exact


@pytest.mark.parametrize(("x", "places", "expected"), [
    (1.4999999999, 2, 1.5), (2.675, 2, 2.68), (1.005, 2, 1.01), (-1.25, 1, -1.3), (-1.24, 1, -1.2),
    (0.125, 2, 0.13), (1.494, 2, 1.49), (1.495, 2, 1.5), (-0.0001, 2, 0.0), (97.6, 2, 97.6), (12345678.125, 2, 12345678.13),
])
def test_known_values(x, places, expected):
    assert round_half_up(x, places) == expected


@settings(max_examples=3000, deadline=None)
@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), st.integers(0, 6))
def test_fast_path_equals_decimal_reference(x, places):
    assert round_half_up(x, places) == _round_half_up_exact(x, places)


@settings(max_examples=2000, deadline=None)
@given(st.integers(-10**9, 10**9), st.integers(1, 6))
def test_exact_half_way_decimals_round_away_from_zero(n, places):
    x = float(f"{n}5e-{places + 1}")  # e.g. 1235e-3 = 1.235 → half-way at 2 places
    assert round_half_up(x, places) == _round_half_up_exact(x, places)
