"""Fact schemas: finding them, listing the fact names rulebooks may use, and checking facts.

A facts schema is a JSON Schema (draft 2020-12). Rulebooks name facts by dotted path
(`financials.current.revenue`); array items by `collateral[].value`. `fact_types` lists every
such leaf with its type: number, boolean, string or date.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import itertools
import json
import math
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import referencing

from pingji.builtin import facts_dir
from pingji.diagnostics import Diagnostic, Location, error
from pingji.errors import FactsError, RulebookError
from pingji.lang.references import Scope, find_file, is_path
from pingji.lang.schemacheck import MAX_PROBLEMS, display_name, too_many_problems
from pingji.lang.source import load_yaml_text, read_bytes

SCHEMA_SUFFIX = ".json"
NOT_A_SCHEMA_HINT = 'a facts schema is a .json file holding a JSON Schema whose top level has "type": "object"'


def find_schema(name: str, base_dir: Path, scope: Scope | None = None, loc: Location | None = None) -> Path | None:
    """The facts schema `name` (written in a rulebook of folder `base_dir`) names: a relative path to a
    .json file, or an id looked up as `<id>.schema.json` next to the rulebook, in ../facts, then in the
    built-in facts. None when there is none; RulebookError E182 for a file outside `scope` (the rulebook's
    folder tree, see pingji.lang.references; by default `base_dir`'s) and E183 for a path that is not
    a .json file."""
    scope = scope or Scope(base_dir.resolve())
    where = loc or Location(str(base_dir))
    ids = [folder / f"{name}.schema.json" for folder in (base_dir, base_dir.parent / "facts", facts_dir())]
    found = find_file("facts", name, base_dir, scope, where, suffixes=(SCHEMA_SUFFIX,), ids=ids)
    if found is not None and not found.name.endswith(SCHEMA_SUFFIX):
        raise RulebookError([error("E183", f"facts '{name}': {display_name(found)} is not a facts schema",
                                   where, hint=NOT_A_SCHEMA_HINT)])
    return found


def schema_not_found(name: str, base_dir: Path, loc: Location) -> Diagnostic:
    """E180: the facts schema `name`, written in a rulebook of folder `base_dir`, is nowhere."""
    if is_path(name, (SCHEMA_SUFFIX,)):
        looked = f"no file {display_name(base_dir / name)}"
    else:
        looked = f"looked for {name}.schema.json next to the rulebook, in ../facts and in the built-in facts"
    return error("E180", f"facts schema '{name}' not found ({looked})", loc)


class _NotAFactsSchema(Exception):
    """A JSON object that does not describe an object: some other JSON file, not a facts schema."""


def _describes_object(schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind)


_REF_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")
_DATA_KEYWORDS = frozenset({"enum", "const", "examples", "default", "required", "$comment", "description", "title"})
_NAME_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties", "dependentSchemas"})


def _references(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """Every reference keyword of a schema (`$ref`, `$dynamicRef`, `$recursiveRef`) with its path and value,
    in document order. Values that are data (enum, const, examples, default) are not searched."""
    found: list[tuple[tuple[Any, ...], Any]] = []
    if isinstance(node, list):
        for i, item in enumerate(node):
            found.extend(_references(item, path + (i,)))
    elif isinstance(node, Mapping):
        for key, value in node.items():
            if key in _REF_KEYWORDS:
                found.append((path + (key,), value))
            elif key in _NAME_MAPS and isinstance(value, Mapping):
                for name, sub in value.items():
                    found.extend(_references(sub, path + (key, name)))
            elif key not in _DATA_KEYWORDS:
                found.extend(_references(value, path + (key,)))
    return found


def is_local(ref: Any) -> bool:
    """A reference inside the schema itself (`#`, `#/$defs/x`, `#anchor`): nothing to fetch."""
    return isinstance(ref, str) and ref.startswith("#")


def _locate(raw: bytes, name: str, path: tuple[Any, ...]) -> Location:
    """Where the key at `path` is written in the JSON text `raw` (the file only, when its text cannot be
    read for positions)."""
    try:
        return load_yaml_text(raw, name).key_loc(path)
    except RulebookError:
        return Location(name)


@lru_cache(maxsize=64)
def _load(path: str, mtime: float, name: str) -> dict[str, Any]:
    raw = read_bytes(path, name)  # E001 unreadable, E002 too large: the limits of a rulebook
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RulebookError([error("E181", f"facts schema is not UTF-8 text (byte {exc.start})", Location(name))]) \
            from None
    except json.JSONDecodeError as exc:
        raise RulebookError([error("E181", f"facts schema is not JSON: {exc.msg}",
                                   Location(name, exc.lineno, exc.colno))]) from None
    if not isinstance(data, dict):
        raise RulebookError([error("E181", f"facts schema must be a JSON object; got {type(data).__name__}",
                                   Location(name))])
    if not _describes_object(data):
        raise _NotAFactsSchema  # before the schema check, whose messages would quote the file
    try:
        jsonschema.Draft202012Validator.check_schema(data)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "the top"
        raise RulebookError([error("E181", f"facts schema is not a valid JSON Schema at {where}: {exc.message}",
                                   Location(name))]) from None
    remote = [(p, ref) for p, ref in _references(data) if not is_local(ref)]
    if remote:
        raise RulebookError([error("E184", f"facts schema {p[-1]} '{ref}' does not refer inside the schema; "
                                           f"pingji never fetches a schema", _locate(raw, name, p),
                                   hint="copy what it refers to under \"$defs\" and refer to it as "
                                        "\"#/$defs/<name>\"")
                             for p, ref in remote])
    return data


def load_schema(path: Path, name: str | None = None, referrer: Location | None = None,
                written: str | None = None) -> dict[str, Any]:
    """A facts schema (cached by path and modification time); RulebookError when the file cannot be used:
    E001/E002 as a rulebook file, E181 not JSON or not a valid JSON Schema, E183 a JSON file that is
    not a facts schema (located at `referrer`, the `facts:` key that wrote `written`, when given),
    E184 a `$ref` that does not refer inside the schema (nothing is ever fetched). `name` is how
    diagnostics name the file."""
    shown = name or str(path)
    try:
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise RulebookError([error("E001", f"cannot read file: {exc.strerror or exc}", Location(shown))]) \
            from None
    try:
        return _load(str(path), mtime, shown)
    except _NotAFactsSchema:
        prefix = f"facts '{written}': " if written is not None else ""
        raise RulebookError([error("E183", f"{prefix}{shown} is not a facts schema", referrer or Location(shown),
                                   hint=NOT_A_SCHEMA_HINT)]) from None


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


# Keywords whose meaning is the same in draft 2020-12 and draft 7 (what fastjsonschema implements).
_FAST_KEYWORDS = frozenset({
    "$schema", "$id", "$ref", "$defs", "$comment", "title", "description", "examples", "default", "type", "enum",
    "const", "properties", "additionalProperties", "required", "items", "minItems", "maxItems", "uniqueItems",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength",
    "pattern", "format", "anyOf", "oneOf", "allOf", "not", "minProperties", "maxProperties", "propertyNames",
    "x-unit", "deprecated", "readOnly", "writeOnly",
})
_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties"})


def _keywords_fast_safe(node: Any, in_map: bool = False) -> bool:
    if isinstance(node, list):
        return all(_keywords_fast_safe(x) for x in node)
    if not isinstance(node, Mapping):
        return True
    for key, value in node.items():
        if in_map:
            if not _keywords_fast_safe(value):
                return False
            continue
        if key not in _FAST_KEYWORDS and not str(key).startswith("x-"):
            return False
        if key in ("enum", "const", "examples", "default", "required"):
            continue
        if not _keywords_fast_safe(value, key in _SCHEMA_MAPS):
            return False
    return True


def _is_date(value: str) -> bool:
    try:
        _dt.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


class FactsValidator:
    """Checks facts against one schema: a compiled fast path for the common case (valid facts),
    and jsonschema for the full, located list of problems when the fast path finds any."""

    def __init__(self, schema: Mapping[str, Any]):
        self.schema = schema
        # An empty registry: a reference that is not inside the schema is never fetched (load_schema
        # refuses such schemas; this holds for a schema given directly too), and fastjsonschema, which
        # would fetch it, is not used for them.
        self.full = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER, registry=referencing.Registry())
        self.fast: Any = None
        if _keywords_fast_safe(schema) and all(is_local(ref) for _, ref in _references(schema)):
            try:
                # A deep copy: fastjsonschema rewrites every "$ref" in the schema it is given to an
                # absolute URI, and the schema here is the cached one fact_types() reads.
                self.fast = fastjsonschema.compile(copy.deepcopy(dict(schema)), formats={"date": _is_date})
            except Exception:  # noqa: BLE001 - the slow path is always right
                self.fast = None

    def quick_ok(self, facts: Any) -> bool:
        """True only when the facts are certainly valid (NaN and infinities are checked elsewhere)."""
        if self.fast is None:
            return False
        try:
            self.fast(facts)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    def problems(self, facts: Any, locate: Any = None, label: str = "facts") -> list[Diagnostic]:
        """All the ways `facts` fails its schema, as located diagnostics (E501 schema, E502 NaN/inf).

        `locate(path) -> Location` maps a path inside the facts to a file location when the facts
        came from a file; otherwise the location is `label` and the message names the path.
        """

        def where(path: tuple[Any, ...]) -> Location:
            return locate(path) if locate is not None else Location(label)

        out: list[Diagnostic] = []
        bad = _non_finite(facts, ())
        for path, what in bad:
            out.append(error("E502", f"{_path_text(path)}: value is {what}; facts must be finite numbers",
                             where(path)))
        bad_paths = {p for p, _ in bad}
        # At most MAX_PROBLEMS (issue 12.8): finding every one of 500,000 wrong items took minutes.
        first = list(itertools.islice(self.full.iter_errors(facts), MAX_PROBLEMS + 1))
        for err in sorted(first[:MAX_PROBLEMS], key=lambda e: (list(map(str, e.absolute_path)), e.message)):
            path = tuple(err.absolute_path)
            if path in bad_paths:
                continue
            msg = err.message
            if err.validator == "additionalProperties":
                msg = msg.replace("Additional properties are not allowed", "unknown field(s)")
            if len(msg) > 300:
                msg = msg[:297] + "..."
            out.append(error("E501", f"{_path_text(path)}: {msg}", where(path)))
        if len(first) > MAX_PROBLEMS or len(out) > MAX_PROBLEMS:
            del out[MAX_PROBLEMS:]
            out.append(too_many_problems(where(())))
        return out


_validators: dict[int, FactsValidator] = {}


def validator_for(schema: Mapping[str, Any]) -> FactsValidator:
    v = _validators.get(id(schema))
    if v is None or v.schema is not schema:
        v = _validators[id(schema)] = FactsValidator(schema)
    return v


def check_facts(facts: Any, schema: Mapping[str, Any], locate: Any = None, label: str = "facts") -> list[Diagnostic]:
    """All the ways `facts` fails its schema (see FactsValidator.problems)."""
    return validator_for(schema).problems(facts, locate, label)


def require_valid(facts: Any, schema: Mapping[str, Any], locate: Any = None, label: str = "facts",
                  *, finite: bool = False) -> None:
    """Raise FactsError listing every problem. `finite=True` says NaN/inf were already ruled out."""
    v = validator_for(schema)
    if finite and v.quick_ok(facts):
        return
    problems = v.problems(facts, locate, label)
    if problems:
        raise FactsError(problems)


def facts_digest(facts: Any, schema: Mapping[str, Any], encode: Callable[[Any], str], locate: Any, label: str,
                 check: bool) -> str:
    """The SHA-256 (hex) of `facts` as `encode` writes them, once they pass what every run asks of
    them: a mapping (E501), matching `schema` when `check` says so or when `encode` refuses them with
    a ValueError (a NaN or an infinity somewhere: the full check names it)."""
    if not isinstance(facts, Mapping):
        raise FactsError([error("E501", f"facts must be a mapping; got {type(facts).__name__}", Location(label))])
    try:
        snapshot = encode(facts)
    except ValueError:
        snapshot = None
    if check or snapshot is None:
        require_valid(facts, schema, locate, label, finite=snapshot is not None)
    assert snapshot is not None
    return hashlib.sha256(snapshot.encode("utf-8")).hexdigest()
