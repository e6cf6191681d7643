"""The resolved rulebook: frozen dataclasses, after `extends` has been applied.

Every item knows the `Location` (file:line:col) of its winning definition, so the trace can point
at the rulebook line that produced each point and each grade.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pingji.diagnostics import Location
from pingji.lang.expressions import Expr
from pingji.lang.text import Text as Text  # re-exported: the model's titles and reasons
from pingji.numbers import number_text


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


_Item = TypeVar("_Item", bound=_Identified)


def by_id(items: tuple[_Item, ...], key: str) -> _Item:
    """The item of `items` whose `id` is `key`; KeyError when there is none."""
    for item in items:
        if item.id == key:
            return item
    raise KeyError(key)


@dataclass(frozen=True)
class Metric:
    id: str
    title: Text
    expr_text: str
    expr: Expr
    precision: int
    loc: Location


@dataclass(frozen=True)
class Band:
    """`lo` inclusive, `hi` exclusive; None is an open end."""

    index: int
    lo: float | None
    hi: float | None
    points: float | tuple[float, float]
    loc: Location
    label: str = ""

    def describe(self) -> str:
        if self.lo is None and self.hi is None:
            return "any value"
        if self.lo is None:
            return f"< {number_text(self.hi)}"
        if self.hi is None:
            return f">= {number_text(self.lo)}"
        return f"{number_text(self.lo)} <= x < {number_text(self.hi)}"


@dataclass(frozen=True)
class Level:
    level: int | str
    points: float
    loc: Location


@dataclass(frozen=True)
class Factor:
    """A scored factor: what every factor has, and `scoring`, the frozen dataclass of its method.

    `kind` names the method family in records ("metric", "assessed", ...); `scoring` is parsed,
    checked, compiled, run and compared by the method (rating.methods). Its fields read as the
    factor's own: `factor.bands` is `factor.scoring.bands`.
    """

    id: str
    title: Text
    group: str
    weight: float
    kind: str
    missing: float
    loc: Location
    scoring: Any = None
    field_locs: dict[str, Location] = field(default_factory=dict, compare=False, hash=False)

    def at(self, key: str) -> Location:
        return self.field_locs.get(key, self.loc)

    def __getattr__(self, name: str) -> Any:
        # Only called for names that are not the factor's own; never for dunders or `scoring`
        # itself (copy and pickle look those up before `__dict__` is filled).
        if name.startswith("__") or name == "scoring":
            raise AttributeError(name)
        return getattr(self.scoring, name)


@dataclass(frozen=True)
class Group:
    id: str
    title: Text
    weight: float
    loc: Location


@dataclass(frozen=True)
class Grade:
    grade: str
    lo: float | None
    pd: float | None
    title: Text
    loc: Location
    coarse: str | None = None
    default: bool = False


@dataclass(frozen=True)
class Scale:
    grades: tuple[Grade, ...]  # best first
    coarse: tuple[Grade, ...]  # empty unless a master scale maps onto coarse grades
    loc: Location

    def index(self, grade: str) -> int:
        for i, g in enumerate(self.grades):
            if g.grade == grade:
                return i
        raise KeyError(grade)

    def names(self) -> list[str]:
        return [g.grade for g in self.grades]

    def resolve(self, name: str, action: str) -> int:
        """Index of the fine grade an override names (`action` is grade, cap or floor).

        A coarse grade stands for the worst fine grade inside it for a knock-out or a floor,
        and for the best fine grade inside it for a cap.
        """
        for i, g in enumerate(self.grades):
            if g.grade == name:
                return i
        inside = [i for i, g in enumerate(self.grades) if g.coarse == name]
        if not inside:
            raise KeyError(name)
        return min(inside) if action == "cap" else max(inside)

    def known(self, name: str) -> bool:
        return any(g.grade == name for g in self.grades) or any(g.coarse == name for g in self.grades)


@dataclass(frozen=True)
class Override:
    id: str
    when_text: str
    when: Expr
    action: str  # "grade" | "cap" | "floor" | "notch"
    value: str | int
    reason: Text
    loc: Location
    when_loc: Location


@dataclass(frozen=True)
class GradeGuidance:
    """What the report says of one (coarse) grade: its meaning and the measures it recommends."""

    grade: str
    meaning: Text
    measures: tuple[Text, ...]
    review_months: int | None = None  # the re-rating interval the measures state (as rulebooks/pricing.yaml)


@dataclass(frozen=True)
class ReasonMeasure:
    """A measure for a reason code: the first entry one of whose `match` strings is in the factor id wins."""

    match: tuple[str, ...]
    measure: Text


@dataclass(frozen=True)
class ReportPolicy:
    """The `report:` section: the credit policy the justification report shows (guidance, not a decision)."""

    grades: tuple[GradeGuidance, ...]
    solvency_groups: tuple[str, ...]  # the metrics of factors in these groups are the solvency indicators,
    solvency_metrics: tuple[str, ...]  # and these metrics too
    credit: tuple[str, ...]  # credit-record facts always listed, first
    reasons: tuple[ReasonMeasure, ...]
    reason_missing: Text
    reason_undefined: Text
    reason_otherwise: Text
    top_reasons: int
    loc: Location

    def guidance(self, grade: str) -> GradeGuidance | None:
        return next((g for g in self.grades if g.grade == grade), None)


@dataclass(frozen=True)
class Check:
    """A consistency check of the facts (`checks:`): `require` must not be false.

    A check whose expression is missing or undefined (an input absent, a zero denominator) does not
    apply. `severity` "error" refuses the rating (E540), "warning" rates with a warning (W540).
    `facts` are the fact names a finding shows and is located at (the first one the facts have).
    """

    id: str
    require_text: str
    require: Expr
    severity: str  # "error" | "warning"
    message: Text
    facts: tuple[str, ...]
    tolerance: float | None
    loc: Location
    require_loc: Location


@dataclass(frozen=True)
class Example:
    name: str
    facts: Any
    facts_label: str
    expect: dict[str, Any]
    loc: Location


@dataclass(frozen=True)
class Rulebook:
    id: str
    kind: str
    title: Text
    version: str
    owner: str
    effective: str
    applies_to: dict[str, Any]
    facts_schema_path: str
    facts_schema: dict[str, Any] = field(compare=False, hash=False, repr=False)
    fact_types: dict[str, str] = field(compare=False, hash=False, repr=False)
    precision: int = 4
    metrics: tuple[Metric, ...] = ()
    groups: tuple[Group, ...] = ()
    factors: tuple[Factor, ...] = ()
    scale: Scale | None = None
    overrides: tuple[Override, ...] = ()
    checks: tuple[Check, ...] = ()  # consistency checks of the facts, run before the scoring
    examples: tuple[Example, ...] = ()
    report: ReportPolicy | None = None  # the `report:` section, if the rulebook (or a parent) has one
    file: str = ""
    sources: tuple[str, ...] = ()  # the file and its `extends` ancestors, child first
    content_hash: str = ""
    loc: Location = Location("<unknown>")

    def metric(self, mid: str) -> Metric:
        return by_id(self.metrics, mid)

    def group(self, gid: str) -> Group:
        return by_id(self.groups, gid)
