"""Consistency checks of a customer's facts (`checks:` in a rating rulebook), before any scoring.

A check is data, written in the expression language like a metric: `require` is a condition the
facts must meet (an accounting identity within a `tolerance`, a date not after the rating date).
It runs after the metrics, so it may read facts, metrics, `tolerance` (the check's own) and
`rating_date` (the day of the rating). A `require` that comes out false is a finding:

- severity `error`: the rating is refused, FactsError E540 located at the first of the check's
  `facts` the customer's facts hold, naming every such fact with its value and line and the check
  with its rulebook `file:line`;
- severity `warning`: the customer is rated; the finding (W540) is in `Evaluation.warnings`, in the
  trace as a `check` row, in `pingji rate` output and in the stored result.

A `require` that is missing or undefined (an input absent, a zero denominator) does not apply: the
factors already say what a missing input scores.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from pingji.diagnostics import Diagnostic, Location, error, suggest
from pingji.lang import expressions as ex
from pingji.lang.metrics import parse_expr
from pingji.lang.text import parse_text
from pingji.numbers import number_text
from pingji.rating.model import Check

__all__ = ["CHECK_NAMES", "CheckEnv", "build_checks", "compile_checks", "fact_path", "finding_text", "run_checks"]

#: Names a check's `require` may read beside facts and metrics (`tolerance` only when the check sets one).
CHECK_NAMES = {"rating_date": "date", "tolerance": "number"}

CompiledCheck = tuple[Check, Callable[[Any], Any]]


def build_checks(items: Mapping[str, Any], types: Mapping[str, str], metrics: Any,
                 diags: list[Diagnostic]) -> tuple[Check, ...]:
    """The `checks:` entries (after `extends`: `items` are load.Item by id), parsed and type-checked;
    an entry with an error is reported and left out."""
    out = []
    for cid, item in items.items():
        d = item.data
        names = dict(types)
        names.update({m: "number" for m in metrics})
        names["rating_date"] = "date"
        tolerance = d.get("tolerance")
        if tolerance is not None:
            names["tolerance"] = "number"
        require_loc = item.loc_in("require")
        text = str(d["require"])
        before = len(diags)
        tree = parse_expr(text, require_loc, names, "boolean", diags, item.locator("require", text))
        if tolerance is None:  # say why `tolerance` is unknown here
            diags[before:] = [replace(p, hint="a check reads `tolerance` when it sets one: add `tolerance:`")
                              if p.code == "E102" and p.message == "unknown fact 'tolerance'" else p
                              for p in diags[before:]]
        shown: list[str] = []
        ok = tree is not None
        listed = d.get("facts")
        if listed is None:  # default: the facts the condition reads, in the order it reads them
            shown = _read_in_order(tree, types) if tree is not None else []
        else:
            for i, name in enumerate(listed):
                if name not in types:
                    diags.append(error("E102", f"check '{cid}': unknown fact '{name}'", item.loc_in("facts", i),
                                       hint=suggest(str(name), types)))
                    ok = False
                shown.append(str(name))
        if not ok or tree is None:
            continue
        out.append(Check(cid, text, tree, str(d.get("severity", "error")), parse_text(d["message"]), tuple(shown),
                         float(tolerance) if tolerance is not None else None, item.loc, require_loc))
    return tuple(out)


def _read_in_order(tree: ex.Expr, types: Mapping[str, str]) -> list[str]:
    """The facts an expression reads, in the order its text names them first (deterministic)."""
    return list(dict.fromkeys(n.path for n in ex.walk(tree) if isinstance(n, ex.Name) and n.path in types))


def compile_checks(checks: tuple[Check, ...]) -> tuple[CompiledCheck, ...]:
    return tuple((c, ex.compile_expr(c.require)) for c in checks)


class CheckEnv:
    """What a check reads: `rating_date`, its `tolerance`, then the metrics and facts of the run."""

    __slots__ = ("env", "extra")

    def __init__(self, env: Any, extra: dict[str, Any]):
        self.env, self.extra = env, extra

    def get(self, name: str, default: Any = ex.MISSING) -> Any:
        if name in self.extra:
            return self.extra[name]
        return self.env.get(name, default)


def fact_path(name: str) -> tuple[str, ...]:
    """The path of a fact name inside the facts: `collateral[].value` is located at `collateral`."""
    return tuple(name.split("[]", 1)[0].split("."))


def _shown(v: Any) -> str:
    if v is ex.MISSING or v is None:
        return "missing"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return number_text(v)
    return str(v)


def finding_text(f: Mapping[str, Any], lang: str = "en") -> str:
    """A finding as one line (its location and code shown apart): message, facts, the check's place."""
    message = f["message"].get(lang) or f["message"].get("en") or f["check"]
    facts = ", ".join(f"{x['name']} = {_shown(x['value'])}" + (f" (line {x['line']})" if x.get("line") else "")
                      for x in f["facts"])
    extra = f"; rating date {f['rating_date']}" if "rating_date" in f else ""
    return f"{message}: {facts or 'no facts named'}{extra} (check {f['check']}, {f['at']})"


def run_checks(checks: tuple[CompiledCheck, ...], env: Any, where: Callable[[tuple[Any, ...]], Location],
               label: str, rating_date: _dt.date) -> tuple[list[Diagnostic], list[dict[str, Any]]]:
    """The errors (E540, located) and the warnings (dicts: see `Evaluation.warnings`) of the checks."""
    errors: list[Diagnostic] = []
    warnings: list[dict[str, Any]] = []
    for check, fn in checks:
        extra: dict[str, Any] = {"rating_date": rating_date}
        if check.tolerance is not None:
            extra["tolerance"] = check.tolerance
        if fn(CheckEnv(env, extra)) is not False:  # true, missing or undefined: no finding
            continue
        facts = []
        first: Location | None = None
        for name in check.facts:
            value = env.get(name) if "[]" not in name else ex.MISSING
            row: dict[str, Any] = {"name": name, "value": None if value is ex.MISSING else value}
            if value is not ex.MISSING:
                loc = where(fact_path(name))
                if loc.line > 0:
                    row["line"] = loc.line
                first = first or loc
            facts.append(row)
        code = "E540" if check.severity == "error" else "W540"
        finding: dict[str, Any] = {"code": code, "check": check.id, "severity": check.severity,
                                   "message": check.message.to_dict(), "require": check.require_text,
                                   "at": check.loc.short(), "facts": facts,
                                   "location": str(first or Location(label))}
        if "rating_date" in ex.names(check.require):
            finding["rating_date"] = rating_date.isoformat()
        if check.tolerance is not None:
            finding["tolerance"] = check.tolerance
        if check.severity == "error":
            errors.append(error("E540", finding_text(finding), first or Location(label)))
        else:
            warnings.append(finding)
    return errors, warnings
