"""Reading customers' facts snapshots to monitor: files, folders and JSONL, each checked by customer type.

    docs = read_snapshots(["facts/monitoring/machinery-2026-10.yaml", "new/", "october.jsonl"])

A file is YAML or JSON (one customer); a folder holds such files (every *.yaml, *.yml and *.json
under it, in path order, as `pingji batch` reads a folder); a `.jsonl` / `.ndjson` file holds one
customer per line. Every snapshot is checked against the facts schema of its `customer_type`, built
in or a user's own (`CustomerSchemas` says where that schema comes from), and every problem is
located: `file:line:col` in a file, `file:line:col` of the line in a JSONL file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from pingji.diagnostics import Diagnostic, Location, error
from pingji.errors import BatchError, FactsError, RulebookNotFound, RulebookSyntaxError
from pingji.lang.facts import FactsFile, read_facts
from pingji.lang.factschema import load_schema, require_valid
from pingji.lang.source import load_yaml_text
from pingji.rating import catalog

__all__ = ["FACT_SUFFIXES", "JSONL_SUFFIXES", "CustomerSchemas", "check_customer", "read_customer",
           "read_snapshots"]

FACT_SUFFIXES = (".yaml", ".yml", ".json")
JSONL_SUFFIXES = (".jsonl", ".ndjson")

# customer id, customer type -> the file of the rating rulebook that rated the customer's latest
# stored evaluation of that type (as the store names it), or None
StoredRulebook = Callable[[str, str], "str | None"]


class CustomerSchemas:
    """Where the facts schema of a snapshot comes from, first found wins:

    1. `stored`: the rating rulebook that rated the customer's latest stored evaluation of the same
       customer type, when its file is still there: the schema it names (the customer's facts were
       rated under it, own types included);
    2. the catalog: the rating rulebook `pingji rate` would choose for the snapshot, among the
       built-in ones and the `user` folders (--rulebooks, PINGJI_RULEBOOKS);
    3. else E744, located at the snapshot's customer_type.

    The catalog is read once, when first needed; each rulebook's schema is looked up once.
    """

    def __init__(self, user: catalog.Folders = (), stored: StoredRulebook | None = None):
        self.user, self.stored = tuple(user), stored
        self._entries: list[catalog.Entry] | None = None
        self._by_file: dict[str, Path | None] = {}

    def entries(self) -> list[catalog.Entry]:
        if self._entries is None:
            self._entries = catalog.catalog(user=self.user)
        return self._entries

    def _schema_of(self, rulebook: Path) -> Path | None:
        key = os.fspath(rulebook)
        if key not in self._by_file:
            self._by_file[key] = catalog.facts_schema_of(rulebook) if rulebook.is_file() else None
        return self._by_file[key]

    def path_for(self, doc: FactsFile) -> Path:
        """The facts schema file of the snapshot `doc` (a mapping with a customer_type)."""
        data, ctype = doc.data, str(doc.data["customer_type"])
        cid = data.get("id")
        if self.stored is not None and isinstance(cid, str):
            file = self.stored(cid, ctype)
            found = self._schema_of(Path(file)) if file else None
            if found is not None:
                return found
        try:
            found = self._schema_of(catalog.select(data, entries=self.entries()))
        except RulebookNotFound as exc:
            if exc.code != "E700":
                raise
            found = None
        if found is not None:
            return found
        who = f" of customer '{cid}'" if self.stored is not None and isinstance(cid, str) else ""
        raise FactsError([error(
            "E744", f"no facts schema for customer_type {json.dumps(ctype, ensure_ascii=False)}: no rating rulebook "
                    f"applies to it (the rating rulebooks' types: {', '.join(catalog.customer_types(self.entries()))}) "
                    f"and no stored evaluation{who} names one; add your rulebooks with --rulebooks DIR or "
                    f"{catalog.ENV_VAR}", doc.loc(("customer_type",)))])


def check_customer(doc: FactsFile, schemas: CustomerSchemas | None = None) -> FactsFile:
    """The snapshot, checked against the facts schema of its customer type (FactsError E501 when it
    does not match, E744 when no schema is known for its type; `schemas`: built-in types only)."""
    data = doc.data
    if not isinstance(data, dict):
        raise FactsError([error("E903", f"a snapshot must be an object of facts; got {type(data).__name__}",
                                doc.loc(()))])
    ctype = data.get("customer_type")
    schemas = schemas or CustomerSchemas()
    if not isinstance(ctype, str) or not ctype:
        raise FactsError([error("E501", f"customer_type {json.dumps(ctype, ensure_ascii=False)} is not a customer "
                                        f"type: give one of {', '.join(catalog.customer_types(schemas.entries()))} "
                                        f"or your own type",
                                doc.loc(("customer_type",) if "customer_type" in data else ()))])
    path = schemas.path_for(doc)
    require_valid(data, load_schema(path), doc.locate, doc.file)
    return doc


def read_customer(path: str | os.PathLike[str], schemas: CustomerSchemas | None = None) -> FactsFile:
    """One customer's facts file (YAML or JSON), checked against its customer type's schema."""
    return check_customer(read_facts(path), schemas)


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


def read_snapshots(paths: Sequence[str | os.PathLike[str]], schemas: CustomerSchemas | None = None) -> list[FactsFile]:
    """Every snapshot in files, folders and JSONL files, in the order given; the first bad one raises."""
    schemas = schemas or CustomerSchemas()
    out: list[FactsFile] = []
    for p in paths:
        path, display = Path(p), os.fspath(p)
        if path.is_dir():
            out.extend(read_customer(f, schemas) for f in _files(path))
        elif path.suffix.lower() in JSONL_SUFFIXES:
            out.extend(check_customer(doc, schemas) for doc in _jsonl(path, display))
        else:
            out.append(read_customer(path, schemas))
    return out
