"""A rulebook document checked against its JSON Schema, as located diagnostics, and how files are named in them;
`check_stages`, the order in which a rulebook of either format is checked."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TypeVar

import jsonschema

from pingji.diagnostics import Diagnostic, Location, error, sort_key, suggest
from pingji.errors import RulebookError
from pingji.lang.source import Document, load_yaml

__all__ = ["DECISION_KINDS", "MAX_EXAMPLES", "MAX_METRICS", "MAX_PROBLEMS", "RULEBOOK_KINDS", "check_stages", "count_limits",
           "display_name", "rulebook_kind", "schema_diagnostics", "too_many_problems"]

DECISION_KINDS = ("classification", "provisioning", "policy", "monitoring")
# A schema check stops after this many problems (issue 12.8): 300,000 wrong list items would each be
# a diagnostic, and finding them all took minutes; the first hundred say what is wrong.
MAX_PROBLEMS = 100


# Examples one rulebook may carry: `pingji check` runs each (about 3 ms a rating example), so 9,000
# took 25 s; the built-in rulebooks carry at most a few dozen.
MAX_EXAMPLES = 500
# Metrics one rulebook may compute: each is parsed, type-checked and compiled (about 0.35 ms), so
# 20,000 took 7 s; the built-in rulebooks compute a few dozen.
MAX_METRICS = 2_000


def count_limits(doc: Document, limits: Collection[tuple[str, int, str]]) -> list[Diagnostic]:
    """E012 for each section (`factors`, `rules`, `examples`) of the document with more entries than
    its limit, `(section, limit, why)`; counted before the schema check, which would take seconds on
    them (issue 12.8)."""
    out = []
    data = doc.data if isinstance(doc.data, Mapping) else {}
    for section, limit, why in limits:
        entries = data.get(section)
        if isinstance(entries, (Mapping, list)) and len(entries) > limit:
            out.append(error("E012", f"rulebook defines {len(entries)} {section}; {why}", doc.key_loc((section,))))
    return out


def too_many_problems(where: Location) -> Diagnostic:
    """What ends a list of problems cut at MAX_PROBLEMS (E011, at the start of the document)."""
    return error("E011", f"more than {MAX_PROBLEMS} problems: the check stopped after the first {MAX_PROBLEMS}",
                 where)
RULEBOOK_KINDS = ("rating", *DECISION_KINDS)


def display_name(path: Path) -> str:
    """How a file is named in diagnostics: relative to the working directory when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("..") else str(path)


def rulebook_kind(path: str | os.PathLike[str]) -> str | None:
    """The `kind:` a rulebook file declares (None when unreadable or absent; the full check says why)."""
    try:
        data = load_yaml(Path(path), display_name=display_name(Path(path))).data
    except RulebookError:
        return None
    kind = data.get("kind") if isinstance(data, dict) else None
    return kind if kind in RULEBOOK_KINDS else None


def schema_diagnostics(doc: Document, validator: jsonschema.protocols.Validator,
                       point_keys: Collection[str] = ()) -> list[Diagnostic]:
    """A document's JSON Schema violations as located diagnostics (E100 required, E105 unknown key, E101 other;
    E124 for a number out of range under `factors.<id>.points` or a factor key in `point_keys`)."""
    out: list[Diagnostic] = []
    stopped = False
    for err in validator.iter_errors(doc.data):
        if len(out) >= MAX_PROBLEMS:
            stopped = True
            break
        # Report the most specific error of an anyOf / oneOf.
        leaf = err
        while leaf.context:
            leaf = min(leaf.context, key=lambda e: (-len(e.absolute_path), e.message))
        path = tuple(leaf.absolute_path)
        if leaf.validator == "additionalProperties":
            allowed = list((leaf.schema.get("properties") or {}).keys())  # type: ignore[union-attr]
            extra = [k for k in leaf.instance if k not in allowed]
            for key in extra[:MAX_PROBLEMS + 1]:
                hint = suggest(str(key), allowed)
                if not hint and " " in str(key).strip():
                    # `{en: Pricing, limits}`: YAML reads ` limits` as a second key of the flow mapping
                    hint = "a ',' inside {...} starts a new key: put text that holds a comma in quotes"
                out.append(error("E105", f"unknown property '{key}'", doc.key_loc(path + (key,)), hint=hint))
            continue
        if leaf.validator == "required":
            out.append(error("E100", leaf.message.replace("is a required property", "is required"), doc.loc(path)))
            continue
        where = ".".join(str(p) for p in path)
        msg = leaf.message
        if leaf.validator in ("minimum", "maximum") and len(path) >= 3 and path[0] == "factors" and (
                "points" in path or path[2] in point_keys):
            out.append(error("E124", f"{where}: {msg}", doc.loc(path)))
            continue
        if leaf.validator == "pattern" and path and path[-1] == "rulebook":
            msg = f"{leaf.instance!r} is not a valid rulebook id (lower-case letters, digits, '_' and '-')"
        elif leaf.validator == "propertyNames":
            msg = f"{leaf.instance!r} is not a valid id (lower-case letters, digits and '_', starting with a letter)"
        out.append(error("E101", f"{where}: {msg}" if where else msg, doc.loc(path)))
    if stopped or len(out) > MAX_PROBLEMS:
        del out[MAX_PROBLEMS:]
        out.append(too_many_problems(doc.loc(())))
    return out


_Book = TypeVar("_Book")


def check_stages(load: Callable[[list[Diagnostic]], _Book | None], runnable: Callable[[_Book], object],
                 examples: Callable[[_Book], list[Diagnostic]] | None) -> list[Diagnostic]:
    """Every diagnostic of a rulebook, sorted by location: `load` (which adds its diagnostics to the list
    and returns the book, or None) and, when that found no error, `runnable` (every engine limit, as
    loading would refuse it) and then `examples`, when given, unless `runnable` refused the book."""
    diags: list[Diagnostic] = []
    try:
        book = load(diags)
    except RulebookError as exc:
        diags.extend(exc.diagnostics)
        book = None
    if book is not None and not any(d.is_error for d in diags):
        try:
            runnable(book)
        except RulebookError as exc:
            diags.extend(exc.diagnostics)
        else:
            if examples is not None:
                diags.extend(examples(book))
    return sorted(set(diags), key=sort_key)
