"""The facts checks: the fast validator never accepts what the full jsonschema check refuses."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingji.lang.factschema import fact_types, validator_for

BOOKS = Path(__file__).parent / "data" / "books"
SCHEMA = json.loads((BOOKS / "mini.schema.json").read_text(encoding="utf-8"))

values = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                   st.text(max_size=12), st.sampled_from(["2026-02-28", "2026-02-30", "2026-13-01", "20260101"]))


@st.composite
def facts(draw: st.DrawFn) -> dict:
    base = {"id": "c1", "as_of": "2026-06-30",
            "fin": {"current_assets": 10, "current_liabilities": 5, "revenue": 100},
            "credit": {"days_past_due": 0, "fraud": False},
            "assessments": [{"factor": "management", "level": 3, "assessor": "Li"}]}
    f = copy.deepcopy(base)
    for _ in range(draw(st.integers(0, 3))):
        section = draw(st.sampled_from(["fin", "credit", "top", "assessment"]))
        value = draw(values)
        if section == "top":
            f[draw(st.sampled_from(["id", "as_of", "exposure", "unknown_field"]))] = value
        elif section == "assessment":
            f["assessments"][0][draw(st.sampled_from(["level", "factor", "date", "extra"]))] = value
        else:
            key = draw(st.sampled_from(sorted(SCHEMA["properties"][section]["properties"]) + ["bogus"]))
            f[section][key] = value
    return f


@settings(max_examples=400, deadline=None)
@given(facts())
def test_fast_path_agrees_with_the_full_check(f):
    v = validator_for(SCHEMA)
    assert v.fast is not None
    assert v.quick_ok(f) == (v.problems(f) == [])


def test_schemas_with_keywords_outside_draft_7_use_the_full_check_only():
    v = validator_for({"type": "object", "unevaluatedProperties": False})
    assert v.fast is None
    assert v.quick_ok({}) is False
    assert v.problems({}) == []


@pytest.mark.parametrize(("name", "kind"), [
    ("fin.current_assets", "number"), ("credit.fraud", "boolean"), ("fin.statement_date", "date"),
    ("collateral[].value", "number"), ("collateral[].type", "string"), ("assessments[].level", "number"),
])
def test_fact_types_lists_leaves_with_their_types(name, kind):
    assert fact_types(SCHEMA)[name] == kind
