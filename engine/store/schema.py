"""The store's tables, as a list of migrations applied in order (each once, in one transaction).

Append-only by construction: every table carries triggers that refuse UPDATE and DELETE, so a bug
cannot rewrite history. A later migration that must reshape a table drops and recreates them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

from pingji.store import ledger
from pingji.store import records as _records  # _records.now(), which tests pin

APPLICATION_ID = 0x504A4931  # "PJI1" in the SQLite header: this file is a pingji store


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[sqlite_utils.Database], None]


def _append_only(db: sqlite_utils.Database, table: str) -> None:
    for op in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'the pingji store is append-only: {op} on {table} refused'); END"
        )


def _v1(db: sqlite_utils.Database) -> None:
    db.create_table(
        "rulebook_versions",
        {
            "hash": str,
            "id": str,
            "version": str,
            "file": str,
            "sources": str,  # JSON {file name: text}: the rulebook and every file it extends
            "grades": str,  # JSON [{grade, coarse, default, pd}], best first
            "allowed_notches": int,
            "stored_at": str,
        },
        pk="hash",
        not_null=["id", "sources", "grades", "stored_at"],
    )
    db.create_table(
        "batches",
        {
            "id": str,
            "input_path": str,
            "input_hash": str,
            "input_kind": str,
            "records": int,
            "rulebook": str,  # as asked: an id, a path or "auto" (chosen per customer)
            "rulebook_key": str,  # the content hash of that rulebook, or of the whole catalog for "auto"
            "created_at": str,
        },
        pk="id",
        not_null=["input_path", "input_hash", "rulebook", "rulebook_key", "created_at"],
    )
    db.create_table(
        "batch_events",
        {
            "id": int,
            "batch_id": str,
            "event": str,
            "at": str,
            "workers": int,
            "rated": int,
            "failed": int,
            "skipped": int,
        },
        pk="id",
        foreign_keys=[("batch_id", "batches", "id")],
        not_null=["batch_id", "event", "at"],
    )
    db.create_table(
        "evaluations",
        {
            "id": int,
            "customer_id": str,
            "customer_type": str,
            "industry": str,
            "rulebook_hash": str,
            "rulebook_id": str,
            "rulebook_version": str,
            "facts": str,
            "facts_hash": str,
            "total": float,
            "model_grade": str,
            "final_grade": str,
            "coarse_grade": str,
            "pd": float,
            "evaluated_at": str,
            "engine_version": str,
            "batch_id": str,
            "batch_key": str,
            "result": str,
        },
        pk="id",
        foreign_keys=[("rulebook_hash", "rulebook_versions", "hash"), ("batch_id", "batches", "id")],
        not_null=[
            "customer_id",
            "rulebook_hash",
            "facts",
            "facts_hash",
            "total",
            "model_grade",
            "final_grade",
            "evaluated_at",
            "engine_version",
            "result",
        ],
    )
    db.create_table(
        "factor_scores",
        {
            "evaluation_id": int,
            "factor": str,
            "group_id": str,
            "weight": float,
            "points": float,
            "contribution": float,
            "basis": str,
            "rule": str,
            "at": str,
            "input": str,
        },
        pk=("evaluation_id", "factor"),
        foreign_keys=[("evaluation_id", "evaluations", "id")],
    )
    db.create_table(
        "trace",
        {
            "evaluation_id": int,
            "seq": int,
            "rule": str,
            "kind": str,
            "at": str,
            "matched": str,
            "asserted": str,
            "note": str,
        },
        pk=("evaluation_id", "seq"),
        foreign_keys=[("evaluation_id", "evaluations", "id")],
    )
    db.create_table(
        "overrides",
        {
            "id": int,
            "evaluation_id": int,
            "old_grade": str,
            "new_grade": str,
            "notches": int,
            "allowance": int,
            "reviewer": str,
            "reason": str,
            "approved_by": str,
            "at": str,
        },
        pk="id",
        foreign_keys=[("evaluation_id", "evaluations", "id")],
        not_null=["evaluation_id", "old_grade", "new_grade", "reviewer", "reason", "at"],
    )
    db.create_table(
        "batch_failures",
        {
            "batch_id": str,
            "record_key": str,
            "line": int,
            "customer_id": str,
            "code": str,
            "reason": str,
            "at": str,
        },
        pk=("batch_id", "record_key"),
        foreign_keys=[("batch_id", "batches", "id")],
    )
    # Plain SQL: sqlite-utils 3.x's create_index would commit the migration's transaction half-way.
    for sql in (
        "CREATE INDEX evaluations_by_customer ON evaluations (customer_id, id)",
        "CREATE UNIQUE INDEX evaluations_by_batch_key ON evaluations (batch_id, batch_key)",
        "CREATE INDEX evaluations_by_rulebook ON evaluations (rulebook_hash)",
        "CREATE INDEX overrides_by_evaluation ON overrides (evaluation_id, id)",
        "CREATE INDEX batch_events_by_batch ON batch_events (batch_id, id)",
    ):
        db.execute(sql)
    for table in (
        "rulebook_versions",
        "batches",
        "batch_events",
        "evaluations",
        "factor_scores",
        "trace",
        "overrides",
        "batch_failures",
    ):
        _append_only(db, table)


def _v2(db: sqlite_utils.Database) -> None:
    """The rating date of each evaluation (`rated_on`, YYYY-MM-DD), apart from the time it was stored.

    Back-tests, histories and `--as-of` read the rating date: a historical book re-rated today is
    rated on its facts' date, not today's (issue 12.2). Existing rows get their facts' `as_of` when it
    is a date, else the (UTC) day they were stored. The update trigger is dropped for this one fill
    and made again: nothing else is ever updated."""
    db.execute("ALTER TABLE evaluations ADD COLUMN rated_on TEXT")
    db.execute("DROP TRIGGER evaluations_no_update")
    db.execute(
        "UPDATE evaluations SET rated_on = coalesce("
        "CASE WHEN json_valid(facts) AND json_type(facts, '$.as_of') = 'text' "
        "AND date(substr(json_extract(facts, '$.as_of'), 1, 10)) = substr(json_extract(facts, '$.as_of'), 1, 10) "
        "THEN substr(json_extract(facts, '$.as_of'), 1, 10) END, substr(evaluated_at, 1, 10))"
    )
    db.execute(
        "CREATE TRIGGER evaluations_no_update BEFORE UPDATE ON evaluations "
        "BEGIN SELECT RAISE(ABORT, 'the pingji store is append-only: UPDATE on evaluations refused'); END"
    )
    db.execute("CREATE INDEX evaluations_by_rated_on ON evaluations (customer_id, rated_on, id)")


def _chain(db: sqlite_utils.Database) -> None:
    """The ledger and its head (issue 11.2); the rows already stored are chained in table order."""
    db.create_table(
        "ledger",
        {"seq": int, "tbl": str, "row_key": str, "row_hash": str, "chain": str, "at": str},
        pk="seq",
        not_null=["tbl", "row_key", "row_hash", "chain", "at"],
    )
    db.execute("CREATE UNIQUE INDEX ledger_by_row ON ledger (tbl, row_key)")
    _append_only(db, "ledger")
    # One row, moved forward by every write (the only row pingji ever updates): the last entry.
    db.execute("CREATE TABLE store_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, "
               "chain TEXT NOT NULL, at TEXT NOT NULL)")
    order = {"rulebook_versions": "stored_at, hash", "batches": "created_at, id", "batch_events": "id",
             "evaluations": "id", "batch_failures": "at, batch_id, record_key", "overrides": "id"}
    conn = db.conn
    seq, chain = 0, ledger.GENESIS
    at = _records.now()
    for table, cols in ledger.CHAINED.items():
        for key in [tuple(r) for r in conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order[table]}")]:
            digest = ledger.row_hash(conn, table, key)
            assert digest is not None
            text = ledger.key_text(key)
            seq, chain = seq + 1, ledger.chain_hash(chain, table, text, digest)
            conn.execute("INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?)", (seq, table, text, digest, chain, at))
    conn.execute("INSERT INTO store_head VALUES (1, ?, ?, ?)", (seq, chain, at))


_EFFECTIVE = ("coalesce((SELECT o.new_grade FROM overrides o WHERE o.evaluation_id = e.id ORDER BY o.id DESC "
              "LIMIT 1), e.final_grade)")
_RATING_COLUMNS = (
    "printf('E%06d', e.id) AS evaluation_id, e.customer_id, e.customer_type, e.industry, e.rated_on, "
    "e.evaluated_at, e.rulebook_id, e.rulebook_version, e.total, e.model_grade, e.final_grade, "
    f"{_EFFECTIVE} AS effective_grade, e.coarse_grade, e.pd, "
    "(SELECT count(*) FROM overrides o WHERE o.evaluation_id = e.id) AS overrides, e.batch_id"
)


def _views(db: sqlite_utils.Database) -> None:
    """Views for SQL and Datasette users that tell what the command line tells (issue 11.5): ids as
    E000001, and the grade that stands after expert overrides beside the rulebook's final grade."""
    db.execute(f"CREATE VIEW ratings AS SELECT {_RATING_COLUMNS} FROM evaluations e")
    db.execute(
        f"CREATE VIEW latest_ratings AS SELECT {_RATING_COLUMNS} FROM evaluations e "
        "WHERE e.id = (SELECT l.id FROM evaluations l WHERE l.customer_id = e.customer_id "
        "ORDER BY l.rated_on DESC, l.id DESC LIMIT 1)"
    )
    db.execute(
        "CREATE VIEW expert_overrides AS SELECT o.id AS override_id, printf('E%06d', o.evaluation_id) AS evaluation_id, "
        "e.customer_id, e.rated_on, o.old_grade, o.new_grade, o.notches, o.allowance, o.reviewer, o.reason, "
        "o.approved_by, o.at, "
        "(SELECT printf('E%06d', l.id) FROM evaluations l WHERE l.customer_id = e.customer_id AND l.id > e.id "
        "ORDER BY l.id DESC LIMIT 1) AS superseded_by "
        "FROM overrides o JOIN evaluations e ON e.id = o.evaluation_id"
    )


MIGRATIONS: list[Migration] = [
    Migration(1, "evaluations, factor scores, trace, expert overrides, rulebook versions, batches", _v1),
    Migration(2, "the rating date of each evaluation (rated_on), apart from when it was stored", _v2),
    Migration(3, "tamper evidence: a ledger chaining every appended row, and its head", _chain),
    Migration(4, "views: ratings, latest_ratings and expert_overrides, as the command line shows them", _views),
]
SCHEMA_VERSION = MIGRATIONS[-1].version
