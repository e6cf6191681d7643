"""Reading a customer's facts from a YAML or JSON file, keeping locations for error messages."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pingji.diagnostics import Location
from pingji.lang.source import load_yaml, load_yaml_text


@dataclass(frozen=True)
class FactsFile:
    data: dict[str, Any]
    file: str
    locate: Any  # path tuple -> Location

    def loc(self, path: tuple[Any, ...] = ()) -> Location:
        return self.locate(path)  # type: ignore[no-any-return]


def read_facts(path: str | os.PathLike[str], display_name: str | None = None) -> FactsFile:
    """Load facts (a mapping) from YAML or JSON; refusals raise RulebookSyntaxError with a location."""
    doc = load_yaml(path, display_name=display_name or str(path))
    return FactsFile(doc.data, doc.file, doc.loc)


def parse_facts(data: bytes, name: str) -> FactsFile:
    """Facts from the bytes of a YAML or JSON file (read elsewhere, see source.read_bytes); `name` for locations."""
    doc = load_yaml_text(data, name)
    return FactsFile(doc.data, doc.file, doc.loc)


def dig(facts: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (`financials.current.revenue`), or None when any step is absent."""
    node: Any = facts
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def industry_of(facts: Mapping[str, Any]) -> str | None:
    """A customer's industry section (`identity.industry.section`), or None when its facts do not say."""
    identity = facts.get("identity")
    industry = identity.get("industry") if isinstance(identity, Mapping) else None
    section = industry.get("section") if isinstance(industry, Mapping) else None
    return str(section) if section else None
