"""Tamper evidence (issue 11.2): every row pingji appends is chained into a ledger.

Each ledger entry names a row (its table and natural key) and holds the SHA-256 of the row's
canonical bytes, and a chain hash: SHA-256 over the previous entry's chain hash, the table, the key
and the row hash. An evaluation's row hash also covers its factor scores and its trace. `store_head`
keeps the last entry's sequence number and chain hash.

`verify` walks the chain and reports what no longer fits: a row changed after it was written, a row
deleted, a row inserted without pingji (it has no ledger entry), an entry missing or reordered, the
head behind or ahead of the ledger, an append-only trigger dropped. Hashes are read back from the
database the way `verify` reads them, so what is written and what is checked are the same bytes.

Tamper evidence is not tamper proof: someone who can write the file can rebuild the whole chain.
`pingji verify` prints the head's chain hash; kept outside the store (in a ticket, a log, an e-mail)
it pins everything written before it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["CHAINED", "GENESIS", "Problem", "chain_hash", "expected_triggers", "row_hash", "verify"]

GENESIS = "0" * 64  # the chain hash before the first entry

# The tables whose rows are chained, each with the columns that name a row (never rewritten by VACUUM).
CHAINED: dict[str, tuple[str, ...]] = {
    "rulebook_versions": ("hash",),
    "batches": ("id",),
    "batch_events": ("id",),
    "evaluations": ("id",),
    "batch_failures": ("batch_id", "record_key"),
    "overrides": ("id",),
}
# Rows that belong to an evaluation and are covered by its hash, in a fixed order.
CHILDREN = (("factor_scores", "factor"), ("trace", "seq"))
APPEND_ONLY = (*CHAINED, "factor_scores", "trace", "ledger")


def expected_triggers() -> set[str]:
    """The append-only triggers a store must have (schema.py creates them)."""
    return {f"{t}_no_{op}" for t in APPEND_ONLY for op in ("update", "delete")}


def _canonical(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    return value


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                      default=_canonical).encode("utf-8")


def row_hash(conn: sqlite3.Connection, table: str, key: tuple[Any, ...]) -> str | None:
    """The SHA-256 of the row's canonical bytes as stored now (with an evaluation's factor scores and
    trace), or None when there is no such row. The bytes: the compact JSON of [table, the row's values
    in column order, and for an evaluation its factor score rows by factor and trace rows by seq]."""
    where = " AND ".join(f"{c} = ?" for c in CHAINED[table])
    row = conn.execute(f"SELECT * FROM {table} WHERE {where}", key).fetchone()
    if row is None:
        return None
    doc: list[Any] = [table, row]
    if table == "evaluations":
        for child, order in CHILDREN:
            doc.append(conn.execute(f"SELECT * FROM {child} WHERE evaluation_id = ? ORDER BY {order}", key).fetchall())
    return hashlib.sha256(_dumps(doc)).hexdigest()


def chain_hash(previous: str, table: str, key_text: str, digest: str) -> str:
    return hashlib.sha256(f"{previous}\n{table}\n{key_text}\n{digest}".encode()).hexdigest()


def key_text(key: tuple[Any, ...]) -> str:
    return json.dumps(list(key), ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Problem:
    """One thing `verify` found: where (table and row, or ledger entry) and what."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def _shown(table: str, key: tuple[Any, ...]) -> str:
    if table == "evaluations":
        return f"evaluation E{int(key[0]):06d}"
    if table == "overrides":
        return f"override #{key[0]}"
    return f"{table} {'/'.join(str(k) for k in key)}"


def verify(conn: sqlite3.Connection, limit: int = 20) -> tuple[list[Problem], dict[str, Any]]:
    """Every problem found (at most `limit`, the first broken link first) and the head {seq, chain, rows}."""
    problems: list[Problem] = []

    def found(where: str, what: str) -> bool:
        problems.append(Problem(where, what))
        return len(problems) >= limit

    triggers = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    for name in sorted(expected_triggers() - triggers):
        if found(f"trigger {name}", "missing: the append-only guard was removed outside pingji"):
            return problems, {}
    chain = GENESIS
    seq_expected = 1
    seen: dict[str, set[str]] = {t: set() for t in CHAINED}
    head: dict[str, Any] = {"seq": 0, "chain": GENESIS, "rows": 0}
    for seq, table, ktext, digest, stored_chain in conn.execute(
            "SELECT seq, tbl, row_key, row_hash, chain FROM ledger ORDER BY seq"):
        where = f"ledger entry {seq}"
        if seq != seq_expected:
            if found(where, f"entries {seq_expected}..{seq - 1} are missing"):
                return problems, head
            seq_expected = seq
        seq_expected += 1
        if table not in CHAINED:
            if found(where, f"names an unknown table {table!r}"):
                return problems, head
            continue
        key = tuple(json.loads(ktext))
        if chain_hash(chain, table, ktext, digest) != stored_chain:
            if found(where, "its chain hash does not follow from the entry before: the ledger was edited"):
                return problems, head
        chain = stored_chain
        head = {"seq": seq, "chain": chain, "rows": head["rows"] + 1}
        seen[table].add(ktext)
        now = row_hash(conn, table, key)
        if now is None:
            if found(_shown(table, key), f"deleted (ledger entry {seq} records it)"):
                return problems, head
        elif now != digest:
            if found(_shown(table, key), f"changed after it was written ({_what_changed(conn, table, key)})"):
                return problems, head
    for table, cols in CHAINED.items():
        for key in _keys(conn, table, cols):
            if key_text(key) not in seen[table]:
                if found(_shown(table, key), "not written by pingji: it has no ledger entry"):
                    return problems, head
    stored = conn.execute("SELECT seq, chain FROM store_head WHERE id = 1").fetchone()
    if stored is None and head["seq"] > 0:
        found("store_head", "missing")
    elif stored is not None and (stored[0], stored[1]) != (head["seq"], head["chain"]):
        found("store_head", f"says entry {stored[0]} (chain {str(stored[1])[:12]}) but the ledger ends at entry "
                            f"{head['seq']} (chain {head['chain'][:12]}): entries were added or removed at the end")
    return problems, head


def _keys(conn: sqlite3.Connection, table: str, cols: tuple[str, ...]) -> Iterator[tuple[Any, ...]]:
    yield from (tuple(r) for r in conn.execute(f"SELECT {', '.join(cols)} FROM {table}"))


def _what_changed(conn: sqlite3.Connection, table: str, key: tuple[Any, ...]) -> str:
    """A hint at what differs, from what the row can tell about itself."""
    if table == "evaluations":
        row = conn.execute("SELECT facts, facts_hash FROM evaluations WHERE id = ?", key).fetchone()
        if hashlib.sha256(str(row[0]).encode("utf-8")).hexdigest() != row[1]:
            return "its facts no longer hash to its facts_hash"
        return "its grades, scores, result, factor scores or trace differ from what was hashed"
    return "its columns differ from what was hashed"

