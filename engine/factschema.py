"""Fact schemas: finding them, listing the fact names rulebooks may use, and checking facts.

A facts schema is a JSON Schema (draft 2020-12). Rulebooks name facts by dotted path
(`financials.current.revenue`); array items by `collateral[].value`. `fact_types` lists every
such leaf with its type: number, boolean, string or date.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from .builtin import facts_dir
from .diagnostics import Diagnostic, Location, error
from .errors import FactsError


def find_schema(name: str, rulebook_dir: Path) -> Path | None:
    """`name` is a path (relative to the rulebook) or a schema name looked up in facts/ folders."""
    if name.endswith(".json") or "/" in name:
        p = (rulebook_dir / name).resolve()
        return p if p.is_file() else None
    for folder in (rulebook_dir, rulebook_dir.parent / "facts", facts_dir()):
        p = folder / f"{name}.schema.json"
        if p.is_file():
            return p.resolve()
    return None


@lru_cache(maxsize=64)
def _load(path: str, mtime: float) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    jsonschema.Draft202012Validator.check_schema(data)
    return data  # type: ignore[no-any-return]


def load_schema(path: Path) -> dict[str, Any]:
    return _load(str(path), path.stat().st_mtime)


def _types_of(node: Mapping[str, Any], root: Mapping[str, Any]) -> set[str]:
    node = _deref(node, root)
    t = node.get("type")
    kinds = set([t] if isinstance(t, str) else (t or []))
    if "enum" in node and not kinds:
        kinds = {type_name(v) for v in node["enum"] if v is not None}
    if "const" in node and not kinds:
        kinds = {type_name(node["const"])}
    for key in ("anyOf", "oneOf"):
        for sub in node.get(key, []):
            kinds |= _types_of(sub, root)
    return kinds - {"null"}


def type_name(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    return "object"


def _deref(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    seen = 0
    while "$ref" in node and seen < 32:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            break
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
        seen += 1
    return node


def fact_types(schema: Mapping[str, Any]) -> dict[str, str]:
    """Every leaf fact name of the schema with its type (number, boolean, string, date)."""
    out: dict[str, str] = {}

    def walk(node: Mapping[str, Any], prefix: str, depth: int) -> None:
        node = _deref(node, schema)
        if depth > 12:
            return
        kinds = _types_of(node, schema)
        props = node.get("properties")
        if props or "object" in kinds:
            for key, sub in (props or {}).items():
                walk(sub, f"{prefix}.{key}" if prefix else key, depth + 1)
            return
        if "array" in kinds:
            items = node.get("items")
            if isinstance(items, Mapping):
                walk(items, f"{prefix}[]", depth + 1)
            return
        if not prefix:
            return
        if "string" in kinds and node.get("format") == "date":
            out[prefix] = "date"
        elif kinds & {"number", "integer"}:
            out[prefix] = "number"
        elif "boolean" in kinds:
            out[prefix] = "boolean"
        elif "string" in kinds:
            out[prefix] = "string"

    walk(schema, "", 0)
    return out


def _path_text(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _non_finite(value: Any, path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str]]:
    found: list[tuple[tuple[Any, ...], str]] = []
    if isinstance(value, float) and not math.isfinite(value):
        found.append((path, "NaN" if math.isnan(value) else "infinite"))
    elif isinstance(value, Mapping):
        for k, v in value.items():
            found.extend(_non_finite(v, path + (k,)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(_non_finite(v, path + (i,)))
    return found


def check_facts(facts: Any, schema: Mapping[str, Any], locate: Any = None, label: str = "facts") -> list[Diagnostic]:
    """All the ways `facts` fails its schema, as located diagnostics (E501 schema, E502 NaN/inf).

    `locate(path) -> Location` maps a path inside the facts to a file location when the facts came
    from a file; otherwise the location is `label` and the message names the path.
    """

    def where(path: tuple[Any, ...]) -> Location:
        return locate(path) if locate is not None else Location(label)

    out: list[Diagnostic] = []
    for path, what in _non_finite(facts, ()):
        out.append(error("E502", f"{_path_text(path)}: value is {what}; facts must be finite numbers", where(path)))
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    for err in sorted(validator.iter_errors(facts), key=lambda e: (list(map(str, e.absolute_path)), e.message)):
        path = tuple(err.absolute_path)
        if any(p == path for p, _ in _non_finite(facts, ())):
            continue
        msg = err.message
        if err.validator == "additionalProperties":
            msg = msg.replace("Additional properties are not allowed", "unknown field(s)")
        if len(msg) > 300:
            msg = msg[:297] + "..."
        out.append(error("E501", f"{_path_text(path)}: {msg}", where(path)))
    return out


def require_valid(facts: Any, schema: Mapping[str, Any], locate: Any = None, label: str = "facts") -> None:
    problems = check_facts(facts, schema, locate, label)
    if problems:
        raise FactsError(problems)
