"""`pingji verify` (issue 11.2): the ledger walked end to end, and every expert override checked
against the approval its rulebook version requires.

An override is stored only after `pingji.rating.review.decide` accepts it; a row that says it moved
a grade further than the rulebook allows without a second person, or that a reviewer approved
their own override, did not come through pingji (or the rulebook version's allowance was edited).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pingji.store.database import Store
from pingji.store.ledger import Problem, verify

__all__ = ["Report", "verify_store"]


@dataclass
class Report:
    """What `verify` found: problems (empty when the store is intact), the head, and what was checked."""

    problems: list[Problem] = field(default_factory=list)
    head: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def intact(self) -> bool:
        return not self.problems


def _overrides(store: Store) -> list[Problem]:
    out = []
    allowances: dict[str, tuple[list[str], int]] = {}
    rows = store.conn.execute(
        "SELECT o.id, o.evaluation_id, o.old_grade, o.new_grade, o.notches, o.allowance, o.reviewer, o.approved_by, "
        "e.final_grade, e.rulebook_hash FROM overrides o LEFT JOIN evaluations e ON e.id = o.evaluation_id "
        "ORDER BY o.id").fetchall()
    for oid, eid, old, new, notches, allowance, reviewer, approver, final, rb_hash in rows:
        where = f"override #{oid}"
        if final is None:
            out.append(Problem(where, f"overrides evaluation E{int(eid):06d}, which is not in the store"))
            continue
        if rb_hash not in allowances:
            found = store.conn.execute("SELECT grades, allowed_notches FROM rulebook_versions WHERE hash = ?",
                                       (rb_hash,)).fetchone()
            allowances[rb_hash] = ([g["grade"] for g in json.loads(found[0])], int(found[1])) if found else ([], 0)
        grades, allowed = allowances[rb_hash]
        if new not in grades or final not in grades:
            out.append(Problem(where, f"grade {new} is not on its rulebook's scale ({', '.join(grades)})"))
            continue
        moved = grades.index(final) - grades.index(new)
        if allowance != allowed or notches != moved:
            out.append(Problem(where, f"records {notches} notches against an allowance of {allowance}; its rulebook "
                                      f"version says {moved} notches against {allowed}"))
        if abs(moved) > allowed and not approver:
            out.append(Problem(where, f"{final} -> {new} is {abs(moved)} notches, beyond the rulebook's "
                                      f"{allowed}, with no second person's approval: it bypassed the approval "
                                      f"its rulebook requires"))
        if approver and reviewer and approver.strip().casefold() == reviewer.strip().casefold():
            out.append(Problem(where, f"approved by its own reviewer '{reviewer}'"))
    return out


def verify_store(store: Store) -> Report:
    """Walk the store's ledger and check its overrides; nothing is written."""
    with store._guard():  # noqa: SLF001 - the store's own error translation
        problems, head = verify(store.conn)
        problems += _overrides(store)
        counts = {t: int(store.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
                  for t in ("evaluations", "overrides", "batches", "rulebook_versions", "ledger")}
    return Report(problems, head, counts)
