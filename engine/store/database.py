"""The evaluation store: one SQLite file (sqlite-utils), append-only.

    with Store.open("pingji.db") as store:
        eid = store.add(prepare(ev, facts))          # "E000001"
        record = store.record(eid)                   # to_dict() + facts, times, expert overrides

Every evaluation is kept with its facts snapshot, rulebook version (content hash and the text of
every source file), engine version, time, scores, grades and trace. Nothing is ever updated or
deleted: an expert override is a new row pointing at the evaluation; a batch's completion is a new
event row. Several processes may write at once (WAL mode, a 30 s busy timeout, writes in
`BEGIN IMMEDIATE` transactions). A file that is not a pingji store raises `StoreError`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pingji.diagnostics import Location
from pingji.errors import RecordNotFound
from pingji.rating.review import decide
from pingji.store import records as _records  # _records.now(), which tests pin
from pingji.store.connection import Connection
from pingji.store.ids import DEFAULT_DB, ENV_VAR, default_path, format_id, parse_id
from pingji.store.records import Prepared, RulebookInfo, assemble, dumps, trace_row

__all__ = ["DEFAULT_DB", "ENV_VAR", "Outcome", "Store", "default_path"]


@dataclass(frozen=True)
class Outcome:
    """What became of one batch record: rated (`prepared`) or failed (`code`, `reason`)."""

    key: str
    line: int | None
    prepared: Prepared | None = None
    customer_id: str | None = None
    code: str | None = None
    reason: str | None = None


_EVAL_COLUMNS = (
    "customer_id",
    "customer_type",
    "industry",
    "rulebook_hash",
    "rulebook_id",
    "rulebook_version",
    "facts",
    "facts_hash",
    "total",
    "model_grade",
    "final_grade",
    "coarse_grade",
    "pd",
    "evaluated_at",
    "engine_version",
    "batch_id",
    "batch_key",
    "result",
    "rated_on",
)
_INSERT_EVAL = (
    f"INSERT INTO evaluations ({', '.join(_EVAL_COLUMNS)}) VALUES ({', '.join('?' * len(_EVAL_COLUMNS))})"
)
_INSERT_FACTOR = "INSERT INTO factor_scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_TRACE = "INSERT INTO trace VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


class Store(Connection):
    """An open pingji store. Use `Store.open(path)`; close it (or use `with`)."""

    # -- writing evaluations ----------------------------------------------------------------------
    def _ensure_rulebook(self, info: RulebookInfo) -> None:
        if info.hash in self._rulebooks:
            return
        if (
            self.conn.execute("SELECT 1 FROM rulebook_versions WHERE hash = ?", (info.hash,)).fetchone()
            is None
        ):
            self.conn.execute(
                "INSERT INTO rulebook_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    info.hash,
                    info.id,
                    info.version,
                    info.file,
                    dumps(info.source_texts()),
                    info.grades,
                    info.allowed_notches,
                    _records.now(),
                ),
            )
            self._append("rulebook_versions", info.hash)
        self._rulebooks.add(info.hash)

    def _insert(self, p: Prepared, batch_id: str | None = None, batch_key: str | None = None) -> int:
        self._ensure_rulebook(p.rulebook)
        rb = p.rulebook
        cur = self.conn.execute(
            _INSERT_EVAL,
            (
                p.customer_id,
                p.customer_type,
                p.industry,
                rb.hash,
                rb.id,
                rb.version,
                p.facts,
                p.facts_hash,
                p.total,
                p.model_grade,
                p.final_grade,
                p.coarse_grade,
                p.pd,
                p.evaluated_at,
                p.engine_version,
                batch_id,
                batch_key,
                p.result,
                p.rated_on,
            ),
        )
        eid = cur.lastrowid
        assert eid is not None
        self.conn.executemany(_INSERT_FACTOR, [(eid, *f) for f in p.factors])
        self.conn.executemany(_INSERT_TRACE, [(eid, *t) for t in p.trace])
        self._append("evaluations", eid)
        return eid

    def add(self, prepared: Prepared) -> str:
        """Store one evaluation; return its id (E000001)."""
        with self._write():
            return format_id(self._insert(prepared))

    # -- batches ----------------------------------------------------------------------------------
    def begin_batch(
        self,
        batch_id: str,
        *,
        input_path: str,
        input_hash: str,
        input_kind: str,
        records: int,
        rulebook: str,
        rulebook_key: str,
        workers: int,
    ) -> bool:
        """Record a run of a batch; True when the batch is new, False when this run resumes it."""
        with self._write():
            new = self.conn.execute("SELECT 1 FROM batches WHERE id = ?", (batch_id,)).fetchone() is None
            if new:
                self.conn.execute(
                    "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        batch_id,
                        input_path,
                        input_hash,
                        input_kind,
                        records,
                        rulebook,
                        rulebook_key,
                        _records.now(),
                    ),
                )
                self._append("batches", batch_id)
            cur = self.conn.execute(
                "INSERT INTO batch_events (batch_id, event, at, workers) VALUES (?, 'started', ?, ?)",
                (batch_id, _records.now(), workers),
            )
            self._append("batch_events", cur.lastrowid)
        return new

    def finish_batch(self, batch_id: str, *, rated: int, failed: int, skipped: int) -> None:
        with self._write():
            cur = self.conn.execute(
                "INSERT INTO batch_events (batch_id, event, at, rated, failed, skipped) "
                "VALUES (?, 'finished', ?, ?, ?, ?)",
                (batch_id, _records.now(), rated, failed, skipped),
            )
            self._append("batch_events", cur.lastrowid)

    def batch_has(self, batch_id: str, key: str) -> bool:
        """Is this record of the batch already stored (rated or failed)?"""
        with self._guard():
            return (
                self.conn.execute(
                    "SELECT 1 FROM evaluations WHERE batch_id = ? AND batch_key = ?", (batch_id, key)
                ).fetchone()
                is not None
                or self.conn.execute(
                    "SELECT 1 FROM batch_failures WHERE batch_id = ? AND record_key = ?", (batch_id, key)
                ).fetchone()
                is not None
            )

    def write_outcomes(self, batch_id: str, outcomes: Sequence[Outcome]) -> tuple[int, int]:
        """Store a chunk of a batch in one transaction, skipping records already stored; (rated, failed)."""
        rated = failed = 0
        with self._write():
            for o in outcomes:
                if (
                    self.conn.execute(
                        "SELECT 1 FROM evaluations WHERE batch_id = ? AND batch_key = ?", (batch_id, o.key)
                    ).fetchone()
                    or self.conn.execute(
                        "SELECT 1 FROM batch_failures WHERE batch_id = ? AND record_key = ?",
                        (batch_id, o.key),
                    ).fetchone()
                ):
                    continue  # another run of the same batch stored it meanwhile
                if o.prepared is not None:
                    self._insert(o.prepared, batch_id, o.key)
                    rated += 1
                else:
                    self.conn.execute(
                        "INSERT INTO batch_failures VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (batch_id, o.key, o.line, o.customer_id, o.code, o.reason, _records.now()),
                    )
                    self._append("batch_failures", batch_id, o.key)
                    failed += 1
        return rated, failed

    def batch_summary(self, batch_id: str) -> dict[str, Any]:
        """Grade distribution by industry section, failures and grade order of a batch (every run of it)."""
        with self._guard():
            rows = self.conn.execute(
                "SELECT industry, final_grade, count(*) FROM evaluations WHERE batch_id = ? "
                "GROUP BY industry, final_grade",
                (batch_id,),
            ).fetchall()
            order: list[str] = []
            for (grades,) in self.conn.execute(
                "SELECT r.grades FROM rulebook_versions r JOIN (SELECT rulebook_hash, min(id) AS first "
                "FROM evaluations WHERE batch_id = ? GROUP BY rulebook_hash) e ON e.rulebook_hash = r.hash "
                "ORDER BY e.first",
                (batch_id,),
            ):
                order.extend(g["grade"] for g in json.loads(grades) if g["grade"] not in order)
            failed = self.conn.execute(
                "SELECT count(*) FROM batch_failures WHERE batch_id = ?", (batch_id,)
            ).fetchone()[0]
        sections: dict[str, dict[str, int]] = {}
        for industry, grade, n in rows:
            sections.setdefault(industry or "-", {})[grade] = n
        rank = {g: i for i, g in enumerate(order)}
        out = [
            {
                "section": s,
                "rated": sum(g.values()),
                "grades": dict(sorted(g.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))),
            }
            for s, g in sorted(sections.items(), key=lambda kv: (kv[0] == "-", kv[0]))
        ]
        return {
            "batch_id": batch_id,
            "rated": sum(s["rated"] for s in out),
            "failed": failed,
            "grade_order": order,
            "sections": out,
        }

    def batch_duplicates(self, batch_id: str, limit: int | None = None) -> list[tuple[str, list[str]]]:
        """Customer ids on more than one record of a batch (every run), each with its records' keys in
        input order: (customer id, keys), by customer id."""
        with self._guard():
            sql = (
                "SELECT customer_id, group_concat(k, char(10)) FROM (SELECT customer_id, batch_key AS k FROM "
                "evaluations WHERE batch_id = ? UNION ALL SELECT customer_id, record_key FROM batch_failures "
                "WHERE batch_id = ? AND customer_id IS NOT NULL) GROUP BY customer_id HAVING count(*) > 1 "
                "ORDER BY customer_id"
            )
            params: tuple[Any, ...] = (batch_id, batch_id)
            if limit is not None:
                sql += " LIMIT ?"
                params += (limit,)
            rows = self.conn.execute(sql, params).fetchall()
        return [(cid, sorted(keys.split("\n"), key=lambda k: (len(k), k) if k.isdigit() else (0, k)))
                for cid, keys in rows]

    def batch_failures(self, batch_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        with self._guard():
            sql = (
                "SELECT record_key, line, customer_id, code, reason FROM batch_failures WHERE batch_id = ? "
                "ORDER BY line, record_key"
            )
            params: tuple[Any, ...] = (batch_id,)
            if limit is not None:
                sql += " LIMIT ?"
                params += (limit,)
            return [
                dict(zip(("key", "line", "customer_id", "code", "reason"), r))
                for r in self.conn.execute(sql, params)
            ]

    # -- reading ----------------------------------------------------------------------------------
    def _id(self, evaluation_id: str | int) -> int:
        n = evaluation_id if isinstance(evaluation_id, int) else parse_id(evaluation_id)
        if n is None:
            raise RecordNotFound(
                f"'{evaluation_id}' is not an evaluation id (they look like {format_id(1)})",
                Location(self.path),
            )
        return n

    def _row(self, n: int) -> dict[str, Any]:
        row = next(self.db.query("SELECT * FROM evaluations WHERE id = ?", (n,)), None)
        if row is None:
            raise RecordNotFound(f"no evaluation {format_id(n)} in this store", Location(self.path))
        return row

    def _overrides(self, n: int) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT id, old_grade, new_grade, notches, allowance, reviewer, reason, approved_by, at "
                "FROM overrides WHERE evaluation_id = ? ORDER BY id",
                (n,),
            )
        )

    def record(self, evaluation_id: str | int) -> dict[str, Any]:
        """The stored evaluation: `Evaluation.to_dict()` as it was, plus facts, times and expert overrides."""
        n = self._id(evaluation_id)
        with self._guard():
            row = self._row(n)
            trace = [
                trace_row(r)
                for r in self.conn.execute(
                    "SELECT seq, rule, kind, at, matched, asserted, note FROM trace WHERE evaluation_id = ? "
                    "ORDER BY seq",
                    (n,),
                )
            ]
            return assemble(row, trace, self._overrides(n))

    def add_override(
        self,
        evaluation_id: str | int,
        grade: str,
        *,
        reviewer: str,
        reason: str,
        approved_by: str | None = None,
    ) -> dict[str, Any]:
        """Record an expert override of an evaluation's grade (policy in pingji.rating.review); return its row."""
        n = self._id(evaluation_id)
        with self._write():
            row = self._row(n)
            rb = self.conn.execute(
                "SELECT grades, allowed_notches FROM rulebook_versions WHERE hash = ?",
                (row["rulebook_hash"],),
            ).fetchone()
            grades = [g["grade"] for g in json.loads(rb[0])]
            earlier = self._overrides(n)
            current = earlier[-1]["new_grade"] if earlier else row["final_grade"]
            d = decide(
                grades,
                row["final_grade"],
                current,
                grade,
                reviewer=reviewer,
                reason=reason,
                approved_by=approved_by,
                allowance=int(rb[1]),
            )
            at = _records.now()
            cur = self.conn.execute(
                "INSERT INTO overrides (evaluation_id, old_grade, new_grade, notches, allowance, reviewer, "
                "reason, "
                "approved_by, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    n,
                    d.old_grade,
                    d.new_grade,
                    d.notches,
                    d.allowance,
                    reviewer.strip(),
                    reason.strip(),
                    d.approved_by,
                    at,
                ),
            )
            self._append("overrides", cur.lastrowid)
            latest = self.conn.execute("SELECT max(id) FROM evaluations WHERE customer_id = ?",
                                       (row["customer_id"],)).fetchone()[0]
        return {
            "id": cur.lastrowid,
            "evaluation_id": format_id(n),
            "customer_id": row["customer_id"],
            "rulebook_grade": row["final_grade"],
            "old_grade": d.old_grade,
            "new_grade": d.new_grade,
            "notches": d.notches,
            "allowance": d.allowance,
            "reviewer": reviewer.strip(),
            "reason": reason.strip(),
            "approved_by": d.approved_by,
            "at": at,
            # a later evaluation of the customer stands, not this one: the override changes a past grade
            "superseded_by": format_id(latest) if latest is not None and latest > n else None,
        }

    def history(self, customer_id: str) -> list[dict[str, Any]]:
        """Every evaluation of a customer, oldest first, each with its expert overrides."""
        with self._guard():
            rows = list(
                self.db.query(
                    "SELECT id, rated_on, evaluated_at, rulebook_id, rulebook_version, rulebook_hash, total, "
                    "model_grade, final_grade, coarse_grade, pd, batch_id FROM evaluations "
                    "WHERE customer_id = ? ORDER BY id",
                    (customer_id,),
                )
            )
            if not rows:
                raise RecordNotFound(
                    f"no evaluations of customer '{customer_id}' in this store", Location(self.path)
                )
            for r in rows:
                r["overrides"] = self._overrides(r["id"])
                r["effective_grade"] = r["overrides"][-1]["new_grade"] if r["overrides"] else r["final_grade"]
                r["evaluation_id"] = format_id(r.pop("id"))
        return rows

    def latest_ratings(self) -> list[dict[str, Any]]:
        """Each customer's latest evaluation (by rating date), with its effective grade after expert overrides.

        Sorted by customer id. Keys: customer_id, customer_type, industry, evaluation_id, rated_on,
        evaluated_at, rulebook_id, rulebook_hash, final_grade, coarse_grade, pd, effective_grade, overridden.
        """
        return self._effective_ratings(
            "e.customer_type, e.industry, e.rated_on, e.evaluated_at, e.rulebook_id, e.rulebook_hash, e.final_grade, "
            "e.coarse_grade, e.pd",
            "9999-12-31", "overridden")

    def _effective_ratings(self, columns: str, cut: str, flag: str) -> list[dict[str, Any]]:
        """Each customer's latest evaluation rated on or before the date `cut` (the latest rating date;
        of one date, the last stored), with the columns named and the effective grade: the last expert
        override made by then (its UTC time as a local date), else the final grade (`flag` names the
        key saying whether there was one). Sorted by customer id. Dates compare as dates (ISO text)."""
        with self._guard():
            rows = list(
                self.db.query(
                    f"SELECT e.id, e.customer_id, {columns}, "
                    "(SELECT o.new_grade FROM overrides o WHERE o.evaluation_id = e.id "
                    "AND date(o.at, 'localtime') <= :cut ORDER BY o.id DESC LIMIT 1) AS override_grade "
                    "FROM evaluations e JOIN (SELECT id FROM (SELECT id, row_number() OVER "
                    "(PARTITION BY customer_id ORDER BY rated_on DESC, id DESC) AS n FROM evaluations "
                    "WHERE rated_on <= :cut) WHERE n = 1) l ON e.id = l.id ORDER BY e.customer_id",
                    {"cut": cut},
                )
            )
        for r in rows:
            r["evaluation_id"] = format_id(r.pop("id"))
            override = r.pop("override_grade")
            r[flag] = override is not None
            r["effective_grade"] = override if override is not None else r["final_grade"]
        return rows

    def latest_facts(self, rulebook_id: str) -> list[dict[str, Any]]:
        """The facts of each customer's latest evaluation by a rulebook with this id, by customer id.

        Keys: customer_id, evaluation_id, facts (what `pingji diff --db` re-rates). Reads only.
        """
        with self._guard():
            rows = list(
                self.db.query(
                    "SELECT e.id, e.customer_id, e.facts FROM evaluations e JOIN "
                    "(SELECT customer_id, max(id) AS id FROM evaluations WHERE rulebook_id = ? "
                    "GROUP BY customer_id) l ON e.id = l.id ORDER BY e.customer_id",
                    (rulebook_id,),
                )
            )
        return [
            {"customer_id": r["customer_id"], "evaluation_id": format_id(r["id"]),
             "facts": json.loads(r["facts"])}
            for r in rows
        ]

    def rated_by(self) -> dict[tuple[str, str], str]:
        """(customer id, customer type) → the file of the rating rulebook that rated the customer's
        latest evaluation of that type, as it was named then (what a snapshot of an own customer type
        is checked against: `pingji.decisions.snapshots.CustomerSchemas`)."""
        with self._guard():
            return {(cid, ctype): file for cid, ctype, file in self.conn.execute(
                "SELECT e.customer_id, e.customer_type, r.file FROM evaluations e JOIN "
                "(SELECT max(id) AS id FROM evaluations WHERE customer_type IS NOT NULL "
                "GROUP BY customer_id, customer_type) l ON e.id = l.id "
                "JOIN rulebook_versions r ON r.hash = e.rulebook_hash")}

    def ratings_as_of(self, as_of: str | None = None) -> list[dict[str, Any]]:
        """Each customer's latest evaluation rated on or before the date `as_of` (all, without it).

        The effective grade is the last expert override made on or before that date, else the
        rulebook's final grade. Sorted by customer id. Keys: customer_id, evaluation_id, rated_on,
        evaluated_at, rulebook_id, rulebook_hash, total, model_grade, final_grade, effective_grade,
        expert_override (bool). The rating date is `rated_on` (the facts' date), not when it was stored.
        """
        return self._effective_ratings(
            "e.rated_on, e.evaluated_at, e.rulebook_id, e.rulebook_hash, e.total, e.model_grade, e.final_grade",
            "9999-12-31" if as_of is None else as_of, "expert_override")

    def scales(self) -> dict[str, list[dict[str, Any]]]:
        """The grade scale of every stored rulebook version, by content hash: [{grade, coarse, default, pd}]."""
        with self._guard():
            return {h: json.loads(g) for h, g in self.conn.execute("SELECT hash, grades FROM rulebook_versions")}

    def relabelled(self, *, hashes: Sequence[str] = (), batch_id: str | None = None) -> list[dict[str, Any]]:
        """Rulebook versions stored under the id and version of another content: the rulebook changed and
        its `version` did not. For the given hashes (or those a batch used): [{id, version, hash, others}]."""
        with self._guard():
            wanted = list(hashes)
            if batch_id is not None:
                wanted += [h for (h,) in self.conn.execute(
                    "SELECT DISTINCT rulebook_hash FROM evaluations WHERE batch_id = ?", (batch_id,))]
            out = []
            for h in sorted(set(wanted)):
                found = self.conn.execute("SELECT id, version FROM rulebook_versions WHERE hash = ?", (h,)).fetchone()
                if found is None:
                    continue
                others = [o for (o,) in self.conn.execute(
                    "SELECT hash FROM rulebook_versions WHERE id = ? AND version IS ? AND hash != ? ORDER BY stored_at",
                    (found[0], found[1], h))]
                if others:
                    out.append({"id": found[0], "version": found[1], "hash": h, "others": others})
            return out

    def count(self, table: str = "evaluations") -> int:
        if table not in {"evaluations", "overrides", "trace", "factor_scores", "batch_failures", "batches"}:
            raise ValueError(table)
        with self._guard():
            return int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
