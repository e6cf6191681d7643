"""What a rulebook change does to a portfolio: rate every customer with OLD and NEW and compare.

Nothing is stored: a simulation must not add to the append-only history. Customers come from a
batch input (CSV, JSONL or a folder of fact files, read as `pingji batch` reads them) or from a
store: the facts of each customer's latest evaluation by a rulebook with OLD's id (`Store.latest_facts`).

A customer that fails under one version (facts that do not fit its schema, a rule that failed)
is a failure of that version, with its error code; it is left out of the matrix and the means.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pingji.analysis.changes import GradeMapping
from pingji.batch.sources import Raw, RecordFacts, Source, record_facts, where
from pingji.diagnostics import Location
from pingji.errors import PingjiError
from pingji.numbers import to_decimal
from pingji.numbers import to_float as quantize
from pingji.rating.model import Rulebook
from pingji.rating.run import Evaluation, evaluate

__all__ = ["Customer", "Impact", "customers_from_source", "customers_from_store", "simulate"]

FACTORS_SHOWN = 3


@dataclass(frozen=True)
class Customer:
    """One customer to re-rate: where it came from (`where`, for messages) and how to get its facts.

    `facts` gives the facts for a rulebook (a CSV row is typed by the rulebook's facts schema), or
    raises PingjiError when the record cannot be read at all.
    """

    key: str
    where: str
    facts: Callable[[Rulebook], RecordFacts]


@dataclass
class Side:
    evaluation: Evaluation | None = None
    code: str | None = None
    reason: str | None = None


@dataclass
class Impact:
    """The comparison; `to_dict()` is the JSON form (`pingji diff --json`, key "impact")."""

    mapping: GradeMapping
    source: str
    customers: int = 0
    rated: int = 0
    matrix: dict[str, dict[str, int]] = field(default_factory=dict)
    moves: dict[int, int] = field(default_factory=dict)  # notches up (+) or down (-) -> customers
    score_change_sum: Decimal = Decimal(0)
    movers: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    failed_both: int = 0
    old_grades: dict[str, int] = field(default_factory=dict)
    new_grades: dict[str, int] = field(default_factory=dict)

    @property
    def unchanged(self) -> int:
        return self.moves.get(0, 0)

    @property
    def up(self) -> int:
        return sum(n for k, n in self.moves.items() if k > 0)

    @property
    def down(self) -> int:
        return sum(n for k, n in self.moves.items() if k < 0)

    def mean_score_change(self) -> float | None:
        return quantize(self.score_change_sum / self.rated, 2) if self.rated else None

    def share(self, n: int) -> float | None:
        return quantize(Decimal(n) * 100 / self.rated, 1) if self.rated else None

    def to_dict(self) -> dict[str, Any]:
        comparable = self.mapping.level != "none"
        return {
            "source": self.source,
            "customers": self.customers,
            "rated": self.rated,
            "compared_on": self.mapping.level,
            "grades": list(self.mapping.grades),
            "matrix": self.matrix if comparable else None,
            "old_grades": self.old_grades,
            "new_grades": self.new_grades,
            "unchanged": self.unchanged if comparable else None,
            "up": self.up if comparable else None,
            "down": self.down if comparable else None,
            "notches": {f"{k:+d}" if k else "0": v for k, v in sorted(self.moves.items(), reverse=True)}
            if comparable else None,
            "mean_score_change": self.mean_score_change(),
            "top": self.movers,
            "failures": self.failures,
            "failed_both": self.failed_both,
        }


def _reader(source: Source, raw: Raw) -> Callable[[Rulebook], RecordFacts]:
    """How `pingji batch` turns a record into facts (pingji.batch.sources.record_facts), one rulebook at a time."""

    def facts(rb: Rulebook) -> RecordFacts:
        return record_facts(raw, source.kind, source.display, rb.facts_schema)

    return facts


def customers_from_source(source: Source) -> Iterator[Customer]:
    for raw in source.records():
        yield Customer(raw.key, where(source.display, raw), _reader(source, raw))


def customers_from_store(rows: Iterable[dict[str, Any]], display: str) -> Iterator[Customer]:
    """Customers from `Store.latest_facts` rows (customer_id, evaluation_id, facts)."""
    for row in rows:
        facts = row["facts"]
        place = f"{display}:{row['evaluation_id']}"
        yield Customer(str(row["customer_id"]), place, _stored(facts, place))


def _stored(facts: dict[str, Any], place: str) -> Callable[[Rulebook], RecordFacts]:
    def get(rb: Rulebook) -> RecordFacts:
        return facts, lambda path: Location(place), place

    return get


def _rate(rb: Rulebook, customer: Customer) -> Side:
    try:
        facts, locate, label = customer.facts(rb)
        return Side(evaluate(rb, facts, locate=locate, label=label))
    except PingjiError as exc:
        return Side(code=exc.code, reason=str(exc).splitlines()[0])
    except Exception as exc:  # noqa: BLE001 - one bad customer must not stop the simulation
        return Side(code="E999", reason=f"internal error: {type(exc).__name__}: {exc}")


def _contributions(ev: Evaluation) -> dict[str, tuple[float, Decimal]]:
    """Each factor's points and its contribution to the total (points x factor weight x group weight)."""
    gw = {g.id: to_decimal(g.weight) for g in ev.rulebook.groups}
    out = {}
    for fr in ev.factors:
        weight = to_decimal(fr.factor.weight) * gw[fr.factor.group] / 10000
        out[fr.factor.id] = (fr.points, to_decimal(fr.points) * weight)
    return out


def _factor_moves(a: Evaluation, b: Evaluation) -> list[dict[str, Any]]:
    """The factors whose contribution to the total moved most: points OLD and NEW, contribution change."""
    old, new = _contributions(a), _contributions(b)
    rows: list[dict[str, Any]] = []
    for fid in sorted(set(old) | set(new)):
        x, y = old.get(fid), new.get(fid)
        delta = (y[1] if y else Decimal(0)) - (x[1] if x else Decimal(0))
        change = quantize(delta, 2)
        if change != 0 or (x and y and x[0] != y[0]):
            rows.append({"factor": fid, "old_points": x[0] if x else None, "new_points": y[0] if y else None,
                         "contribution_change": change})
    rows.sort(key=lambda r: (-abs(r["contribution_change"]), r["factor"]))
    return rows[:FACTORS_SHOWN]


def simulate(old: Rulebook, new: Rulebook, customers: Iterable[Customer], mapping: GradeMapping, *,
             source: str, top: int = 10, progress: Callable[[int], None] | None = None) -> Impact:
    """Rate every customer with both rulebooks and compare; nothing is stored."""
    impact = Impact(mapping, source)
    index = {g: i for i, g in enumerate(mapping.grades)}
    if mapping.level != "none":
        impact.matrix = {g: {h: 0 for h in mapping.grades} for g in mapping.grades}
    assert old.scale is not None and new.scale is not None
    impact.old_grades = {g: 0 for g in old.scale.names()}
    impact.new_grades = {g: 0 for g in new.scale.names()}
    movers: list[tuple[Decimal, str, str, dict[str, Any]]] = []
    for customer in customers:
        impact.customers += 1
        a, b = _rate(old, customer), _rate(new, customer)
        if progress is not None:
            progress(1)
        ea, eb = a.evaluation, b.evaluation
        if ea is None or eb is None:
            if ea is None and eb is None:
                impact.failed_both += 1
                continue
            failed, ok = ("old", eb) if ea is None else ("new", ea)
            bad = a if ea is None else b
            impact.failures.append({
                "customer": ok.customer_id if ok is not None else customer.key, "where": customer.where,
                "fails_under": failed, "code": bad.code, "reason": bad.reason,
                "grade_under_other": ok.final_grade if ok is not None else None,
            })
            continue
        impact.rated += 1
        impact.old_grades[ea.final_grade] += 1
        impact.new_grades[eb.final_grade] += 1
        if mapping.level != "none":
            ga, gb = mapping.of_old(ea.final_grade), mapping.of_new(eb.final_grade)
            impact.matrix[ga][gb] += 1
            notches = index[ga] - index[gb]
            impact.moves[notches] = impact.moves.get(notches, 0) + 1
        change = to_decimal(eb.total) - to_decimal(ea.total)
        impact.score_change_sum += change
        if change != 0 or ea.final_grade != eb.final_grade:
            movers.append((-abs(change), ea.customer_id, customer.where, {
                "customer": ea.customer_id, "where": customer.where,
                "old_grade": ea.final_grade, "new_grade": eb.final_grade,
                "old_total": ea.total, "new_total": eb.total, "change": quantize(change, 2),
                "factors": _factor_moves(ea, eb),
            }))
    movers.sort(key=lambda m: (m[0], m[1], m[2]))
    impact.movers = [m[3] for m in movers[:top]]
    impact.failures.sort(key=lambda f: (str(f["customer"]), f["where"]))
    return impact
