"""An evaluation as the store keeps it: flat rows made from an `Evaluation`, and the record read back.

`prepare(ev, facts)` turns an evaluation into plain strings, numbers and tuples (picklable, so a
batch worker can do the JSON encoding and the parent process only writes). `assemble(...)` turns
stored rows back into the *record*: `Evaluation.to_dict()` exactly as it was, plus
`evaluation_id`, `evaluated_at` (when it was stored), `rated_on` (the rating date), `batch_id`, the facts snapshot (`facts`), the
`expert_overrides` and the `effective_grade` after them (what pingji.report.rating renders).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pingji.lang.facts import industry_of
from pingji.rating.checks import finding_text
from pingji.rating.model import Rulebook
from pingji.rating.review import allowance_of
from pingji.rating.run import ENGINE_VERSION, Evaluation, canonical_json
from pingji.store.ids import format_id


def now() -> str:
    """The current UTC time, ISO-8601 with milliseconds: 2026-04-15T08:30:00.123Z."""
    t = _dt.datetime.now(_dt.UTC)
    return f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z"


def today() -> str:
    """Today's date where pingji runs (a business date, local): 2026-04-15."""
    return _dt.date.today().isoformat()


def parse_date(text: object) -> str | None:
    """A YYYY-MM-DD date (a datetime's date part too) as ISO text, else None."""
    if isinstance(text, _dt.date):
        return text.isoformat()[:10]
    if not isinstance(text, str) or len(text) < 10:
        return None
    try:
        return _dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        return None


def rating_date(facts: Mapping[str, Any]) -> str:
    """The rating date of an evaluation of these facts: their `as_of` when it is a date, else today."""
    return parse_date(facts.get("as_of")) or today()


_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(value: Any) -> str:
    """Compact JSON with sorted keys (one shared encoder: this runs ~60 times per evaluation)."""
    return _ENCODER.encode(value)


@dataclass(frozen=True)
class RulebookInfo:
    """What the store keeps of a rulebook version (its source texts are read once per hash)."""

    hash: str
    id: str
    version: str
    file: str
    sources: tuple[str, ...]
    grades: str  # JSON: [{grade, coarse, default, pd}] best first
    allowed_notches: int

    def source_texts(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for name in self.sources:
            try:
                with open(name, encoding="utf-8") as fh:
                    out[name] = fh.read()
            except (OSError, UnicodeDecodeError):
                out[name] = None
        return out


def rulebook_info(rb: Rulebook) -> RulebookInfo:
    grades = [
        {"grade": g.grade, "coarse": g.coarse, "default": g.default, "pd": g.pd}
        for g in (rb.scale.grades if rb.scale else ())
    ]
    sources = tuple(s for s in (rb.sources or (rb.file,)) if s)
    return RulebookInfo(rb.content_hash, rb.id, rb.version, rb.file, sources, dumps(grades), allowance_of(rb))


@dataclass(frozen=True)
class Prepared:
    """One evaluation as rows, ready to insert."""

    customer_id: str
    customer_type: str | None
    industry: str | None
    rulebook: RulebookInfo
    facts: str
    facts_hash: str
    total: float
    model_grade: str
    final_grade: str
    coarse_grade: str | None
    pd: float | None
    evaluated_at: str  # when it was stored (UTC time)
    engine_version: str
    result: str  # Evaluation.to_dict() without the trace (the trace is in its own rows)
    factors: tuple[
        tuple[Any, ...], ...
    ]  # (factor, group, weight, points, contribution, basis, rule, at, input)
    trace: tuple[tuple[Any, ...], ...]  # (seq, rule, kind, at, matched, asserted, note)
    rated_on: str = ""  # the rating date, YYYY-MM-DD: what back-tests, histories and --as-of read
    warnings: tuple[str, ...] = ()  # the consistency checks' warnings, one located line each (also in `result`)


def prepare(
    ev: Evaluation,
    facts: Mapping[str, Any],
    evaluated_at: str | None = None,
    info: RulebookInfo | None = None,
    rated_on: str | None = None,
) -> Prepared:
    """`rated_on` (YYYY-MM-DD): the rating date; default the facts' `as_of`, else today (`rating_date`)."""
    d = ev.to_dict()
    trace = d.pop("trace")
    ctype = facts.get("customer_type")
    return Prepared(
        customer_id=ev.customer_id,
        customer_type=str(ctype) if ctype is not None else None,
        industry=industry_of(facts),
        rulebook=info or rulebook_info(ev.rulebook),
        facts=canonical_json(facts),
        facts_hash=ev.facts_hash,
        total=ev.total,
        model_grade=ev.model_grade,
        final_grade=ev.final_grade,
        coarse_grade=ev.coarse_grade,
        pd=ev.pd,
        evaluated_at=evaluated_at or now(),
        engine_version=ENGINE_VERSION,
        result=dumps(d),
        factors=tuple(
            (
                f["id"],
                f["group"],
                f["weight"],
                f["points"],
                f["contribution"],
                f["basis"],
                f["rule"],
                f["at"],
                dumps(f["input"]),
            )
            for f in d["factors"]
        ),
        trace=tuple(
            (
                t["seq"],
                t["rule"],
                t["kind"],
                t["at"],
                dumps(t["matched"]),
                dumps(t["asserted"]),
                t.get("note"),
            )
            for t in trace
        ),
        rated_on=rated_on or rating_date(facts),
        warnings=tuple(f"{w['location']}: warning[{w['code']}]: {finding_text(w)}" for w in ev.warnings),
    )


def trace_row(row: Sequence[Any]) -> dict[str, Any]:
    """A stored trace row back to the dict `Evaluation.to_dict()` had."""
    seq, rule, kind, at, matched, asserted, note = row
    out = {
        "seq": seq,
        "rule": rule,
        "kind": kind,
        "at": at,
        "matched": json.loads(matched),
        "asserted": json.loads(asserted),
    }
    if note is not None:
        out["note"] = note
    return out


def assemble(
    row: Mapping[str, Any], trace: list[dict[str, Any]], overrides: list[dict[str, Any]]
) -> dict[str, Any]:
    """The record of one stored evaluation (see the module docstring)."""
    record: dict[str, Any] = json.loads(row["result"])
    facts = json.loads(row["facts"])
    record["trace"] = trace
    record["evaluation_id"] = format_id(row["id"])
    record["evaluated_at"] = row["evaluated_at"]
    record["rated_on"] = row["rated_on"]
    record["batch_id"] = row["batch_id"]
    record["facts"] = facts
    record["expert_overrides"] = overrides
    record["effective_grade"] = overrides[-1]["new_grade"] if overrides else record["final_grade"]
    return record
