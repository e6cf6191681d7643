"""Categories: a factor scored by the value of a text or yes/no fact (`fact:` with `categories:`).

    ownership:
      group: profile
      weight: 10
      fact: identity.ownership                 # a string or boolean fact of the facts schema
      categories: {state: 80, private: 60, foreign: 70}
      other: 50                                # optional: any value not listed
      missing: 30                              # the fact is absent or null

A yes/no fact lists `"true":` and `"false":` (in quotes: YAML would read a bare true as a
boolean, which a key cannot be). Every category must be of the fact's type (E126); a
fact that is not text or yes/no cannot be categorised (E127). At run time a value that is not
listed scores `other`, or, when the factor has no `other`, is refused with E504 located at the
factor's `categories`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pingji.diagnostics import Diagnostic, Location, error, suggest
from pingji.errors import FactsError
from pingji.lang.expressions import MISSING
from pingji.numbers import number_text
from pingji.rating.methods.base import (
    Action,
    FactorMethod,
    Feed,
    ParseContext,
    Part,
    RuleDef,
    Setting,
    Source,
    about,
    fixed_score,
    missing_fact,
)
from pingji.rating.model import Factor
from pingji.runtime.spec import RuleSpec

__all__ = ["Categorical", "CategoricalScoring", "Category"]

_TYPES = {"string": str, "boolean": bool}  # fact type in the facts schema -> the type of its categories
_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(frozen=True)
class Category:
    value: str | bool
    points: float
    loc: Location

    @property
    def text(self) -> str:
        """The value as JSON: "state", true."""
        return _json(self.value)


@dataclass(frozen=True)
class CategoricalScoring:
    fact: str
    categories: tuple[Category, ...]
    other: float | None
    method: str = "categories"


class Categorical(FactorMethod):
    name = "categories"
    key = "fact"
    kind = "categorical"
    table = "categories"
    fields = ("fact", "categories", "other")
    point_keys = ("categories", "other")

    def parse(self, fid: str, src: Source, ctx: ParseContext, diags: list[Diagnostic]) -> CategoricalScoring | None:
        d, at = src.data, src.field_locs
        if "categories" not in d:
            diags.append(error("E100", f"factor '{fid}' has no 'categories'", src.loc))
            return None
        ok = ctx.reject_foreign(fid, src, self, diags)
        fact = str(d["fact"])
        kind = ctx.fact_types.get(fact)
        if kind is None:
            diags.append(error("E102", f"factor '{fid}': unknown fact '{fact}'", at.get("fact", src.loc),
                               hint=suggest(fact, ctx.fact_types)))
            return None
        want = _TYPES.get(kind)
        if want is None or "[]" in fact:
            what = f"a {kind}" if "[]" not in fact else "a field of every item of an array"
            diags.append(error("E127", f"factor '{fid}': fact '{fact}' is {what}; categories score one text or "
                                       f"yes/no fact (score numbers with a metric and bands)", at.get("fact", src.loc)))
            return None
        categories = []
        for key, points in d["categories"].items():
            loc = src.key_loc_in("categories", key)
            # YAML reads an unquoted true as a boolean, which a key cannot be: a yes/no fact's
            # categories are written "true" and "false".
            value: str | bool | None = key if want is str and type(key) is str else \
                {"true": True, "false": False}.get(key) if want is bool and type(key) is str else None
            if value is None:
                diags.append(error("E126", f"factor '{fid}': category {_json(key)} is not a {kind} like fact "
                                           f"'{fact}'" + (' (write "true": and "false":)' if want is bool else
                                                          " (put it in quotes)"), loc))
                ok = False
                continue
            categories.append(Category(value, float(points), loc))
        if not ok:
            return None
        other = float(d["other"]) if "other" in d else None
        return CategoricalScoring(fact, tuple(categories), other)

    def scoring_rules(self, f: Factor) -> list[RuleDef]:
        out: list[RuleDef] = []
        for i, c in enumerate(f.categories):
            name = f"{f.id}.category{i + 1}"
            out.append((name, {"all": [{"m": about("in", f.id, {f"in_{f.id}": c.value})}]},
                        RuleSpec(name, "category", c.loc, factor=f, level=c.value, points=c.points)))
        if f.other is not None:
            name = f"{f.id}.other"
            out.append((name, {"all": [{"m": about("st", f.id, {f"st_{f.id}": "other"})}]},
                        RuleSpec(name, "other", f.at("other"), factor=f, points=f.other)))
        return out

    def action(self, spec: RuleSpec) -> Action:
        f = spec.factor
        assert f is not None
        fact = f.fact
        if spec.kind == "category":
            assert spec.points is not None
            return fixed_score(spec, spec.points, f"{fact} = {_json(spec.level)}",
                               lambda m: {"fact": fact, "value": m[0][1]})
        if spec.kind == "other":
            assert spec.points is not None
            return fixed_score(spec, spec.points, f"{fact}: a value not listed",
                               lambda m: {"fact": fact, "value": m[0][1]})
        return super().action(spec)

    def inputs(self, f: Factor) -> Feed:
        fid, fact, other = f.id, f.fact, f.other
        known = {(type(c.value), c.value): f'"in":1,"in_{fid}":{c.text}' for c in f.categories}
        listed = ", ".join(c.text for c in f.categories)
        missing = missing_fact(fid)
        where = f.at("categories")

        def feed(run: Any, facts: list[Any]) -> None:
            v = run.env.get(fact)
            run.results[fid].input = v
            if v is MISSING:
                facts.append(missing)
                return
            body = known.get((type(v), v)) if type(v) in (str, bool) else None
            if body is not None:
                facts.append(((fid, v), body))
            elif other is not None:
                facts.append(((fid, v), f'"st":1,"st_{fid}":"other"'))
            else:
                raise FactsError([error("E504", f"factor '{fid}': {fact} is {_json(v)}, not one of its categories "
                                                f"({listed}); list it or give the factor an 'other' score", where)])

        return feed

    def scores(self, f: Factor) -> list[Setting]:
        return [Setting("other score", f.other, "other")]

    def parts(self, f: Factor) -> list[Part]:
        return [Part((2, c.text), f"category {c.text}", f"category {c.text} points", f"points {number_text(c.points)}",
                     number_text(c.points), c.points, c.loc) for c in f.categories]
