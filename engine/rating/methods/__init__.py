"""Factor scoring methods behind one protocol (`base.FactorMethod`), and their registry.

The registry is keyed by the YAML key that selects a method (`metric:`, `assessed:`, ...); where
several methods share a key, the factor's own keys decide between them (`method: interpolate`).
The core modules (load, validate, compile, run, analysis.changes) loop over it and never branch
on a method. Adding a method: a module here with a `FactorMethod` subclass, one entry below, its
keys in engine/schema/rulebook.schema.json and a section in docs/rulebook-format.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pingji.rating.methods.bands import StepBands
from pingji.rating.methods.base import FactorMethod
from pingji.rating.methods.categorical import Categorical
from pingji.rating.methods.interpolated import InterpolatedBands
from pingji.rating.methods.levels import AssessedLevels
from pingji.rating.model import Factor

__all__ = ["METHODS", "POINT_KEYS", "REGISTRY", "FactorMethod", "foreign_keys", "method_of", "select"]

METHODS: tuple[FactorMethod, ...] = (StepBands(), InterpolatedBands(), AssessedLevels(), Categorical())

REGISTRY: dict[str, tuple[FactorMethod, ...]] = {}
for _m in METHODS:
    REGISTRY[_m.key] = (*REGISTRY.get(_m.key, ()), _m)

_BY_NAME = {m.name: m for m in METHODS}

# The keys of a factor whose values are points (0-100): E124 when out of range.
POINT_KEYS = frozenset({"missing", *(k for m in METHODS for k in m.point_keys)})


def select(data: Mapping[str, Any]) -> FactorMethod | None:
    """The method of a factor's YAML that has exactly one selecting key (None when no method takes it)."""
    for key, methods in REGISTRY.items():
        if key in data:
            return next((m for m in methods if m.selects(data)), None)
    return None


def method_of(f: Factor) -> FactorMethod:
    """The method that parsed a factor."""
    return _BY_NAME[f.scoring.method]


def foreign_keys(data: Mapping[str, Any]) -> set[str]:
    """The keys of the methods not selected by any key of `data` (an `extends` child switching methods drops them)."""
    if not any(key in data for key in REGISTRY):
        return set()
    mine = {k for m in METHODS if m.key in data for k in m.fields}
    return {k for m in METHODS if m.key not in data for k in m.fields} - mine
