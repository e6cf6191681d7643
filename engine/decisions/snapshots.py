"""Reading customers' facts snapshots to monitor: files, folders and JSONL, each checked by customer type.

    docs = read_snapshots(["facts/monitoring/machinery-2026-10.yaml", "new/", "october.jsonl"])

A file is YAML or JSON (one customer); a folder holds such files (every *.yaml, *.yml and *.json
under it, in path order, as `pingji batch` reads a folder); a `.jsonl` / `.ndjson` file holds one
customer per line. Every snapshot is checked against the facts schema of its `customer_type`
(corporate, small_business, individual) and every problem is located: `file:line:col` in a file,
`file:line:col` of the line in a JSONL file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from pingji.builtin import facts_dir
from pingji.diagnostics import Diagnostic, Location, error
from pingji.errors import BatchError, FactsError, RulebookSyntaxError
from pingji.lang.facts import FactsFile, read_facts
from pingji.lang.factschema import find_schema, load_schema, require_valid
from pingji.lang.source import load_yaml_text

__all__ = ["CUSTOMER_TYPES", "FACT_SUFFIXES", "JSONL_SUFFIXES", "check_customer", "read_customer", "read_snapshots"]

CUSTOMER_TYPES = ("corporate", "small_business", "individual")
FACT_SUFFIXES = (".yaml", ".yml", ".json")
JSONL_SUFFIXES = (".jsonl", ".ndjson")


def check_customer(doc: FactsFile) -> FactsFile:
    """The snapshot, checked against the facts schema of its customer type (FactsError E501 otherwise)."""
    data = doc.data
    if not isinstance(data, dict):
        raise FactsError([error("E903", f"a snapshot must be an object of facts; got {type(data).__name__}",
                                doc.loc(()))])
    ctype = data.get("customer_type")
    schema_path = find_schema(ctype, facts_dir()) if ctype in CUSTOMER_TYPES else None
    if schema_path is None:
        raise FactsError([error("E501", f"customer_type {json.dumps(ctype, ensure_ascii=False)} is not one of "
                                        f"{', '.join(CUSTOMER_TYPES)}",
                                doc.loc(("customer_type",) if "customer_type" in data else ()))])
    require_valid(data, load_schema(schema_path), doc.locate, doc.file)
    return doc


def read_customer(path: str | os.PathLike[str]) -> FactsFile:
    """One customer's facts file (YAML or JSON), checked against its customer type's schema."""
    return check_customer(read_facts(path))


def _shift(loc: Location, line: int, file: str) -> Location:
    return Location(file, loc.line + line - 1 if loc.line > 0 else line, loc.col if loc.line > 0 else 1)


def _jsonl(path: Path, display: str) -> Iterator[FactsFile]:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            lines = list(fh)
    except OSError as exc:
        raise BatchError(f"cannot read file: {exc.strerror or exc}", Location(display)) from None
    except UnicodeDecodeError as exc:
        raise BatchError(f"not UTF-8 text ({exc.reason})", Location(display)) from None
    for n, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            json.loads(text)
        except ValueError as exc:
            raise FactsError([error("E901", f"not JSON: {getattr(exc, 'msg', exc)}",
                                    Location(display, n, getattr(exc, "colno", 1)))]) from None
        try:  # JSON is YAML: loading the line again gives every value its column
            doc = load_yaml_text(text, display, expect_mapping=False)
        except RulebookSyntaxError as exc:
            raise FactsError([Diagnostic(d.code, d.severity, d.message, _shift(d.location, n, display))
                              for d in exc.diagnostics]) from None
        yield FactsFile(doc.data, display, lambda p, doc=doc, n=n: _shift(doc.loc(p), n, display))


def _files(folder: Path) -> list[Path]:
    return sorted((p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in FACT_SUFFIXES),
                  key=lambda q: q.relative_to(folder).as_posix())


def read_snapshots(paths: Sequence[str | os.PathLike[str]]) -> list[FactsFile]:
    """Every snapshot in files, folders and JSONL files, in the order given; the first bad one raises."""
    out: list[FactsFile] = []
    for p in paths:
        path, display = Path(p), os.fspath(p)
        if path.is_dir():
            out.extend(read_customer(f) for f in _files(path))
        elif path.suffix.lower() in JSONL_SUFFIXES:
            out.extend(check_customer(doc) for doc in _jsonl(path, display))
        else:
            out.append(read_customer(path))
    return out
