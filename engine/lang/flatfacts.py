"""Facts from flat rows (CSV): dotted column names become nested facts, typed by the facts schema.

A header names a fact by its dotted path (`financials.current.revenue`); a number segment indexes
an array (`assessments.0.level`). An empty cell is a missing fact (the key is left out, never 0).
Cells are converted to what the schema says the fact is: `34` stays the string "34" where the
schema wants a string (an industry division), becomes 34 where it wants a number; `true`/`false`
(also yes/no, 1/0) become booleans; a cell holding JSON (`[...]`, `{...}`) fills an array or object.
A cell that does not convert stays text, and the schema check then names it.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f"}


def check_header(header: Sequence[str]) -> list[str]:
    """The problems of a CSV header row (empty names, bad paths, duplicates, a path inside another)."""
    problems = []
    seen: set[str] = set()
    for i, name in enumerate(header, 1):
        parts = name.strip().split(".")
        if not name.strip() or any(not p.strip() for p in parts):
            problems.append(f"column {i}: '{name}' is not a dotted fact path")
        elif name.strip() in seen:
            problems.append(f"column {i}: '{name}' appears twice")
        seen.add(name.strip())
    for name in seen:
        for other in seen:
            if other.startswith(name + "."):
                problems.append(f"column '{name}' is both a value and the parent of '{other}'")
    return problems


def _properties(node: Any, root: Mapping[str, Any]) -> tuple[set[str], bool]:
    """The property names an object node of a schema names (its anyOf / oneOf / allOf too), and
    whether it is closed (additionalProperties false, in every alternative that names some)."""
    node = _deref(node, root)
    if not isinstance(node, Mapping):
        return set(), False
    names = set(node.get("properties") or {})
    closed = node.get("additionalProperties") is False
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key) or []:
            more, sub_closed = _properties(sub, root)
            names |= more
            closed = closed or (key != "allOf" and sub_closed and bool(more))
    return names, closed


def _unknown_at(parts: Sequence[str], schema: Mapping[str, Any]) -> tuple[int, set[str]] | None:
    """Where a dotted path leaves what `schema` allows: (the segment's index, the names allowed
    there), or None when the schema allows the path (or does not say)."""
    node: Any = schema
    for i, part in enumerate(parts):
        if not part.isdigit():
            names, closed = _properties(node, schema)
            if part not in names:
                return (i, names) if closed else None
        node = _child(node, part, schema)
        if node is None:
            return None
    return None


def unknown_columns(header: Sequence[str], schemas: Sequence[Mapping[str, Any]]) -> list[tuple[int, str, str]]:
    """The columns of a CSV header that name no fact of any of `schemas` (issue 12.15): a typo in the
    header, which would otherwise fail every row. (column number, name, the closest known path or "")."""
    out = []
    for col, name in enumerate(header, 1):
        parts = name.strip().split(".")
        misses = [_unknown_at(parts, schema) for schema in schemas]
        if not schemas or any(m is None for m in misses):
            continue
        i, names = next(m for m in misses if m is not None)
        close = difflib.get_close_matches(parts[i], sorted(names), n=1, cutoff=0.6)
        out.append((col, name.strip(), ".".join([*parts[:i], close[0], *parts[i + 1:]]) if close else ""))
    return out


def _deref(node: Any, root: Mapping[str, Any]) -> Any:
    for _ in range(32):
        if (
            not isinstance(node, Mapping)
            or not isinstance(node.get("$ref"), str)
            or not node["$ref"].startswith("#/")
        ):
            return node
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target.get(part) if isinstance(target, Mapping) else None
        node = target
    return node


def _child(node: Any, segment: str, root: Mapping[str, Any]) -> Any:
    node = _deref(node, root)
    if not isinstance(node, Mapping):
        return None
    if segment.isdigit():
        return _deref(node.get("items"), root)
    props = node.get("properties")
    if isinstance(props, Mapping) and segment in props:
        return _deref(props[segment], root)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key) or []:
            found = _child(sub, segment, root)
            if found is not None:
                return found
    return None


def _kinds(node: Any, root: Mapping[str, Any]) -> set[str]:
    node = _deref(node, root)
    if not isinstance(node, Mapping):
        return set()
    t = node.get("type")
    kinds = {t} if isinstance(t, str) else set(t or [])
    for key in ("anyOf", "oneOf"):
        for sub in node.get(key) or []:
            kinds |= _kinds(sub, root)
    for value in [node["const"]] if "const" in node else list(node.get("enum") or []):
        kinds.add(
            "boolean"
            if isinstance(value, bool)
            else "number"
            if isinstance(value, (int, float))
            else "string"
            if isinstance(value, str)
            else "null"
            if value is None
            else "object"
        )
    return kinds


def _number(text: str) -> int | float | None:
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        x = float(text)
        return x if math.isfinite(x) else None
    return None


def convert(text: str, kinds: set[str]) -> Any:
    """One cell to the type the schema wants; `kinds` empty means unknown (guess: number, boolean, text)."""
    t = text.strip()
    if kinds & {"array", "object"} and t[:1] in ("[", "{"):
        try:
            return json.loads(t)
        except ValueError:
            return text
    if not kinds or kinds & {"number", "integer"}:
        n = _number(t)
        if n is not None and ("number" in kinds or not kinds or isinstance(n, int)):
            return n
    if not kinds or "boolean" in kinds:
        if t.lower() in _TRUE and (kinds or t.lower() == "true"):
            return True
        if t.lower() in _FALSE and (kinds or t.lower() == "false"):
            return False
    if "null" in kinds and not (kinds & {"string"}) and t.lower() == "null":
        return None
    return text


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(isinstance(k, int) for k in node):
            return [_listify(node[k]) for k in sorted(node)]
        return {k: _listify(v) for k, v in node.items()}
    return node


def nest(cells: Mapping[str, str], schema: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Nested facts from `{dotted path: cell text}`; typed by `schema` when given, else left as text."""
    out: dict[Any, Any] = {}
    for path, text in cells.items():
        if text is None or not str(text).strip():
            continue
        parts = path.strip().split(".")
        node: Any = schema
        target = out
        for i, part in enumerate(parts):
            key: Any = int(part) if part.isdigit() else part
            if schema is not None:
                node = _child(node, part, schema)
            if i == len(parts) - 1:
                target[key] = convert(str(text), _kinds(node, schema)) if schema is not None else str(text)
            else:
                nxt = target.get(key)
                if not isinstance(nxt, dict):
                    nxt = target[key] = {}
                target = nxt
    result: dict[str, Any] = _listify(out)
    return result
