"""The protocol every factor scoring method follows, and what the methods share.

A method turns the YAML of a factor into its frozen `scoring` dataclass (`parse`), checks it
(`validate`), compiles it to durable-rules rules (`rules`) and their actions (`action`), feeds the
run its input facts (`inputs`: the evaluation plan), shows it in records (`describe`) and names
what changed between two versions of it (`settings`, `scores`, `parts`: read by `pingji diff`).
Every method also scores a missing input by the factor's `missing` points: that rule is shared.

The facts a session sees are narrow (see rating.compile): `{in: 1, in_<factor>: value}` for a
factor's input, `{st: 1, st_<factor>: status}` for an input that has a status instead (missing,
undefined, other), `{fs: 1, fs_<factor>: points}` for a factor's points. An action gets the run
(`rating.run._Run`: `results`, `trace`, `facts`, `env`, `assessed`) and the records of the facts
it matched, and returns the facts it concludes as `(record, JSON members)`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pingji.diagnostics import Diagnostic, Location
from pingji.rating.model import Factor, Rulebook
from pingji.rating.rounding import num_json
from pingji.runtime.spec import RuleSpec

__all__ = [
    "Action",
    "FactorMethod",
    "Feed",
    "ParseContext",
    "Part",
    "RuleDef",
    "Setting",
    "Source",
    "about",
    "fixed_score",
    "missing_fact",
    "num",
    "range_tests",
]

# (rule name, durable-rules definition, spec)
RuleDef = tuple[str, dict[str, Any], RuleSpec]
# action(run, matched records) -> concluded facts
Action = Callable[[Any, list[Any]], list[Any]]
# feed(run, facts): append the factor's input facts for one customer
Feed = Callable[[Any, list[Any]], None]


class Source(Protocol):
    """A factor's YAML after `extends` (rating.load.Item): its data and where each key came from."""

    data: dict[str, Any]
    loc: Location
    field_locs: dict[str, Location]

    def loc_in(self, key: str, *rest: Any) -> Location: ...
    def key_loc_in(self, key: str, *rest: Any) -> Location: ...


@dataclass(frozen=True)
class ParseContext:
    """What a method may check a factor against while parsing it."""

    metrics: Collection[str]  # the rulebook's metric ids
    fact_types: Mapping[str, str]  # the facts schema: fact name -> number | boolean | string | date
    reject_foreign: Callable[[str, Source, FactorMethod, list[Diagnostic]], bool]  # E105 for other methods' keys


@dataclass(frozen=True)
class Setting:
    """A scalar of a factor's scoring that `pingji diff` compares: its name, value and YAML key."""

    name: str
    value: Any
    key: str
    show: Callable[[Any], str] = lambda v: "none" if v is None else str(v)
    default: Any = None  # what a factor of another method reads as (so a switch of methods shows no change)


@dataclass(frozen=True)
class Part:
    """One entry of a factor's table (a band, a level, a category) as `pingji diff` compares it."""

    order: tuple[Any, ...]  # where it sorts among the factor's parts
    label: str  # "band 2": the item when it is added or removed
    field: str  # "band 2" / "level 4 points": the field when it changed
    text: str  # what an added or removed part shows
    shown: str  # what a changed part shows
    value: Any  # compared
    loc: Location


def num(x: float | None) -> float | int | None:
    """A number as the engine's JSON writes it: 2.0 as 2."""
    if x is None:
        return None
    return int(x) if float(x).is_integer() else x


def about(kind: str, ident: str, *tests: dict[str, Any]) -> dict[str, Any]:
    """The condition on a fact of `kind` about factor or group `ident`, then `tests` on it."""
    return {"$and": [{kind: 1}, {"$ex": {f"{kind}_{ident}": 1}}, *tests]}


def range_tests(name: str, lo: float | None, hi: float | None) -> list[dict[str, Any]]:
    """The tests `lo <= name < hi` (either end open)."""
    parts: list[Any] = []
    if lo is not None:
        parts.append({"$gte": {name: num(lo)}})
    if hi is not None:
        parts.append({"$lt": {name: num(hi)}})
    return parts


def missing_fact(fid: str) -> tuple[Any, str]:
    """The input fact of a factor whose input is missing."""
    return (fid, "missing"), f'"st":1,"st_{fid}":"missing"'


def fixed_score(spec: RuleSpec, points: float, basis: str, seen: Callable[[list[Any]], Any]) -> Action:
    """The action of a rule that scores its factor a fixed number of points (`seen`: the trace's `matched`)."""
    f = spec.factor
    assert f is not None
    fid, rule, where, kind = f.id, spec.name, spec.where, spec.kind
    fact = ((fid, points), f'"fs":1,"fs_{fid}":' + num_json(points))

    def scored(run: Any, matched: list[Any]) -> list[Any]:
        fr = run.results[fid]
        fr.points, fr.basis, fr.rule, fr.at = points, basis, rule, where
        trace = run.trace
        trace.append({"seq": len(trace) + 1, "rule": rule, "kind": kind, "at": where, "matched": seen(matched),
                      "asserted": {"factor": fid, "points": points}, "note": basis})
        return [fact]

    return scored


class FactorMethod(ABC):
    """One way of scoring a factor. Subclasses name themselves and implement the abstract steps."""

    name: str  # the method's name, stored in its scoring dataclass as `method`
    key: str  # the YAML key that selects it (with `selects` deciding between methods sharing a key)
    kind: str  # the factor's kind in records and messages ("metric", "assessed", ...)
    table: str  # the YAML key of its table ("bands", "levels", ...), for messages
    fields: tuple[str, ...]  # every YAML key of a factor that belongs to this method
    point_keys: tuple[str, ...]  # those of its keys whose values are points (0-100)

    def selects(self, data: Mapping[str, Any]) -> bool:
        """Whether a factor's YAML (which has this method's `key`) is scored by this method."""
        return True

    @abstractmethod
    def parse(self, fid: str, src: Source, ctx: ParseContext, diags: list[Diagnostic]) -> Any | None:
        """The method's frozen scoring dataclass, or None after adding located diagnostics."""

    def validate(self, f: Factor, rb: Rulebook) -> list[Diagnostic]:
        """Checks of the parsed factor in its rulebook (every problem at once)."""
        return []

    @abstractmethod
    def scoring_rules(self, f: Factor) -> list[RuleDef]:
        """The rules that score the factor from its input (the missing-input rule is added by `rules`)."""

    def rules(self, f: Factor) -> list[RuleDef]:
        """Every rule of the factor, in ruleset order."""
        name = f"{f.id}.missing"
        missing = (name, {"all": [{"m": about("st", f.id, {f"st_{f.id}": "missing"})}]},
                   RuleSpec(name, "missing", f.at("missing"), factor=f, points=f.missing))
        return [*self.scoring_rules(f), missing]

    def action(self, spec: RuleSpec) -> Action:
        """The action of one of this method's rules, its constants bound once."""
        assert spec.factor is not None and spec.points is not None
        fid = spec.factor.id
        return fixed_score(spec, spec.points, "missing input", lambda m: {"factor": fid, "status": "missing"})

    @abstractmethod
    def inputs(self, f: Factor) -> Feed:
        """The evaluation plan of the factor: what it reads for one customer, as input facts."""

    def describe(self, f: Factor) -> dict[str, Any]:
        """What a record says about the factor besides its kind: what it reads."""
        return {self.key: getattr(f.scoring, self.key)}

    def summary(self, f: Factor) -> str:
        """One line for `pingji diff` when the factor is added or removed."""
        return f"{self.key} {getattr(f.scoring, self.key)}, {self.name}"

    def settings(self, f: Factor) -> list[Setting]:
        """The scalars `pingji diff` compares, in the order it shows them."""
        return [Setting(self.key, getattr(f.scoring, self.key), self.key)]

    def scores(self, f: Factor) -> list[Setting]:
        """Fixed scores besides `missing` (`undefined`, ...) that `pingji diff` compares."""
        return []

    def parts(self, f: Factor) -> list[Part]:
        """The entries of the factor's table that `pingji diff` compares one by one."""
        return []

