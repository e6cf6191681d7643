"""Batch inputs: a CSV file, a JSONL file or a folder of fact files, read one record at a time.

CSV: a header row of dotted fact paths (`financials.current.revenue`), one customer per row, an
empty cell is a missing fact (see pingji.lang.flatfacts). JSONL: one JSON object per line.
Folder: every *.yaml, *.yml and *.json file under it, in name order.

`record_facts` turns one record into facts: `pingji batch` (pingji.batch.rater) and `pingji diff`
(pingji.analysis.impact) read records the same way.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pingji.diagnostics import Location
from pingji.errors import BatchError, PingjiError, RulebookError
from pingji.lang.facts import parse_facts, read_facts
from pingji.lang.flatfacts import check_header, nest
from pingji.lang.source import MAX_BYTES, check_values, read_bytes

FACT_SUFFIXES = (".yaml", ".yml", ".json")

__all__ = ["FACT_SUFFIXES", "Raw", "RecordFacts", "Source", "open_source", "portable", "record_facts", "where"]


@dataclass(frozen=True)
class Raw:
    """One record as read: its key in the batch, its line (None in a folder), and what to parse."""

    key: str
    line: int | None
    data: Any  # CSV: {column: cell}; JSONL: the line's text; folder: the file's path (or its bytes)
    error: str | None = None  # a line or row that cannot be a record (E902; E920 when not UTF-8)
    failure: tuple[str, str] | None = None  # (code, message): a fact file that could not be read
    code: str = "E902"  # the code of `error`


# The facts of a record, how to locate a fact path in its input, and the label its trace shows.
RecordFacts = tuple[dict[str, Any], Callable[[Any], Location], str]


def where(display: str, raw: Raw) -> str:
    """The record's place in messages: `input:line`, or the fact file's path in a folder."""
    return f"{display}:{raw.line}" if raw.line is not None else os.path.join(display, raw.key)


def record_facts(raw: Raw, kind: str, display: str, schema: Mapping[str, Any] | None = None) -> RecordFacts:
    """The facts of one record of a `kind` input named `display`; PingjiError (with its place) when
    the record cannot be read. A CSV row is typed by `schema` (a rulebook's facts schema) when given."""
    place = where(display, raw)
    if raw.error is not None:
        raise PingjiError(raw.error, Location(display, raw.line or 0), raw.code)
    if raw.failure is not None:
        raise PingjiError(raw.failure[1], code=raw.failure[0])
    locate: Any = None
    label = place
    if kind == "folder":
        if isinstance(raw.data, bytes):
            doc = parse_facts(raw.data, place)
        else:
            doc = read_facts(raw.data, display_name=place)
        facts, locate, label = doc.data, doc.locate, doc.file
    elif kind == "jsonl":
        at = Location(display, raw.line or 0)
        size = len(raw.data.encode("utf-8", "surrogateescape"))
        if size > MAX_BYTES:  # the limit of a fact file, for one line (issue 12.8)
            raise PingjiError(f"line is {size} bytes; the limit is {MAX_BYTES} bytes", at, "E002")
        try:
            facts = json.loads(raw.data)
        except ValueError as exc:
            at = Location(display, raw.line or 0, getattr(exc, "colno", 0))
            raise PingjiError(f"not JSON: {getattr(exc, 'msg', exc)}", at, "E901") from None
        except RecursionError:
            raise PingjiError(f"nesting deeper than {_MAX_DEPTH} levels", at, "E005") from None
        _check_values(facts, at)
    else:
        facts = nest(raw.data, schema)
    if not isinstance(facts, dict):
        raise PingjiError(
            f"a record must be an object of facts; got {type(facts).__name__}",
            Location(display, raw.line) if raw.line is not None else Location(place),
            "E903",
        )
    if locate is None:
        line = raw.line or 0

        def locate(path: Any) -> Location:
            return Location(display, line)

    return facts, locate, label


def _check_values(facts: Any, at: Location) -> None:
    """A record holds what a fact file may (values, nesting), refused as a fact file would be."""
    try:
        check_values(facts, at)
    except RulebookError as exc:
        first = exc.diagnostics[0]
        raise PingjiError(first.message, at, first.code) from None


_MAX_DEPTH = 200  # pingji.lang.source.MAX_DEPTH
# What Python decodes a byte that is not UTF-8 to with errors="surrogateescape": one of U+DC80-U+DCFF.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")


def _not_utf8(text: str) -> str | None:
    """The first byte that is not UTF-8 in text read with errors="surrogateescape" (`byte 0xff at
    column 7`), or None when there is none."""
    bad = _NOT_UTF8.search(text)
    if bad is None:
        return None
    return f"byte 0x{ord(bad.group()) - 0xDC00:02x} at column {bad.start() + 1}"


def portable(raw: Raw, kind: str, display: str) -> Raw:
    """The record as a process on another machine can rate it: a fact file's bytes instead of its path."""
    if kind != "folder" or not isinstance(raw.data, str):
        return raw
    try:
        return replace(raw, data=read_bytes(raw.data, os.path.join(display, raw.key)))
    except PingjiError as exc:  # unreadable or too large: failed here, as it would fail there
        return replace(raw, data=None, failure=(exc.code, str(exc)))


class Source:
    """A batch input: its kind, the hash of its content, how many records, and the records."""

    def __init__(self, path: str | os.PathLike[str]):
        self.display = str(path)
        self.path = Path(path)
        if not self.path.exists():
            raise BatchError(f"input '{self.display}' not found")
        if self.path.is_dir():
            self.kind = "folder"
        elif self.path.suffix.lower() == ".csv":
            self.kind = "csv"
        elif self.path.suffix.lower() in (".jsonl", ".ndjson"):
            self.kind = "jsonl"
        else:
            raise BatchError(f"input '{self.display}' is not a .csv or .jsonl file or a folder of fact files")
        self.header: list[str] = []
        if self.kind == "csv":
            self.header = self._header()

    def _files(self) -> Iterator[Path]:
        for p in sorted(self.path.rglob("*"), key=lambda q: q.relative_to(self.path).as_posix()):
            # a facts schema kept beside the facts (*.schema.json) is not a customer (issue 12.15)
            if p.is_file() and p.suffix.lower() in FACT_SUFFIXES and not p.name.lower().endswith(".schema.json"):
                yield p

    def digest(self) -> str:
        """sha256 of the content (for a folder: of every fact file's name and content)."""
        h = hashlib.sha256(self.kind.encode())
        paths = list(self._files()) if self.kind == "folder" else [self.path]
        for p in paths:
            if self.kind == "folder":
                h.update(b"\0" + p.relative_to(self.path).as_posix().encode() + b"\0")
            try:
                with open(p, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
            except OSError as exc:
                raise BatchError(f"cannot read '{p}': {exc.strerror}") from None
        return h.hexdigest()

    def count(self) -> int:
        return sum(1 for _ in self.records())

    def _open_text(self) -> Any:
        try:  # a byte that is not UTF-8 fails its line or row, not the batch (issue 12.15)
            return open(self.path, encoding="utf-8-sig", errors="surrogateescape", newline="")
        except OSError as exc:
            raise BatchError(f"cannot read '{self.display}': {exc.strerror}") from None

    def _header(self) -> list[str]:
        with self._open_text() as fh:
            try:
                header = next(csv.reader(fh), None)
            except csv.Error as exc:
                raise BatchError(f"{self.display}:1: the header row cannot be read: {exc}") from None
        if _not_utf8(",".join(header or [])) is not None:
            raise BatchError(f"{self.display}:1: the header row cannot be read: it is not UTF-8 text")
        if not header or not any(h.strip() for h in header):
            raise BatchError(
                f"{self.display}: no header row: the first row must name the facts "
                f"(dotted paths such as financials.current.revenue)"
            )
        problems = check_header(header)
        if problems:
            raise BatchError(f"{self.display}:1: bad header: " + "; ".join(problems))
        return [h.strip() for h in header]

    def records(self) -> Iterator[Raw]:
        try:
            if self.kind == "folder":
                for p in self._files():
                    yield Raw(p.relative_to(self.path).as_posix(), None, str(p))
            elif self.kind == "jsonl":
                with self._open_text() as fh:
                    for n, text in enumerate(fh, 1):
                        if text.strip():
                            why = _not_utf8(text)
                            if why is not None:
                                yield Raw(str(n), n, None, f"line is not UTF-8 text: {why}", code="E920")
                            else:
                                yield Raw(str(n), n, text)
            else:
                yield from self._csv_records()
        except UnicodeDecodeError as exc:  # pragma: no cover - surrogateescape decodes every byte
            raise BatchError(f"{self.display}: not UTF-8 text ({exc.reason})") from None

    def _csv_records(self) -> Iterator[Raw]:
        width = len(self.header)
        with self._open_text() as fh:
            reader = csv.reader(fh)
            next(reader, None)
            while True:
                start = reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield Raw(str(start), start, None, f"malformed CSV: {exc}")
                    continue
                if not any(c.strip() for c in row):
                    continue
                if len(row) > width:
                    yield Raw(
                        str(start), start, None, f"{len(row)} cells but the header names {width} columns"
                    )
                    continue
                bad = next((i for i, c in enumerate(row) if _NOT_UTF8.search(c)), None)
                if bad is not None:
                    found = _NOT_UTF8.search(row[bad])
                    assert found is not None
                    why = (f"row is not UTF-8 text: byte 0x{ord(found.group()) - 0xDC00:02x} in column {bad + 1} "
                           f"({self.header[bad]})")
                    yield Raw(str(start), start, None, why, code="E920")
                    continue
                yield Raw(str(start), start, dict(zip(self.header, row)))


def open_source(path: str | os.PathLike[str]) -> Source:
    return Source(path)
