"""The names an expression reads while a rulebook runs: metric values, then paths into the facts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pingji.lang.expressions import MISSING

__all__ = ["FactsEnv"]

_PATHS: dict[str, tuple[str, ...]] = {}


class FactsEnv:
    """Name lookup for expressions: metric values first, then dotted paths into the facts."""

    __slots__ = ("facts", "metrics", "_cache")

    def __init__(self, facts: Mapping[str, Any]):
        self.facts = facts
        self.metrics: dict[str, Any] = {}
        self._cache: dict[str, Any] = {}

    def get(self, name: str, default: Any = MISSING) -> Any:
        if name in self.metrics:
            return self.metrics[name]
        cached = self._cache.get(name, self)
        if cached is not self:
            return cached
        node: Any = self.facts
        parts = _PATHS.get(name)
        if parts is None:
            parts = _PATHS[name] = tuple(name.split("."))
        for part in parts:
            if not isinstance(node, dict) or part not in node:
                node = default
                break
            node = node[part]
        if node is None:
            node = default
        self._cache[name] = node
        return node
