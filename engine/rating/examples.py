"""Running a rulebook's own examples: facts → expected grade (and overrides, total, factor points)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pingji.diagnostics import Diagnostic, Location, error
from pingji.errors import EvaluationError, FactsError, RulebookError
from pingji.lang.factschema import check_facts
from pingji.lang.references import confine, scope_of
from pingji.lang.source import load_yaml
from pingji.rating.model import Rulebook
from pingji.rating.run import evaluate


class _Example(Protocol):
    """An example of either rulebook format: its name, its facts (inline, or a file named relative
    to the rulebook) and where it stands."""

    @property
    def name(self) -> str: ...

    @property
    def facts(self) -> Any: ...

    @property
    def facts_label(self) -> str: ...

    @property
    def loc(self) -> Location: ...


_Result = TypeVar("_Result")


def run_example(book_file: str, schema: Mapping[str, Any], ex: _Example, run: Callable[[Any], _Result],
                failed: str) -> tuple[_Result | None, list[Diagnostic]]:
    """`run` on the facts of the example `ex` of the rulebook at `book_file`, or None and the problems:
    the file's diagnostics when it cannot be read, E170 when the facts do not match `schema`, E171
    (`failed` and the error) when the run fails."""
    facts, locate, label = ex.facts, None, ex.facts_label
    if isinstance(facts, str):
        path = Path(book_file).parent / facts
        try:  # a file in the rulebook's folder tree (pingji.lang.references), as `extends:` and `facts:`
            confine(f"example '{ex.name}': facts", facts, Path(book_file).parent,
                    scope_of(Path(book_file)), ex.loc)
            doc = load_yaml(path, display_name=str(path))
        except RulebookError as exc:
            return None, list(exc.diagnostics)
        facts, locate, label = doc.data, doc.loc, doc.file
    problems = check_facts(facts, schema, locate, label)
    if problems:
        return None, [error("E170", f"example '{ex.name}': facts do not match the facts schema "
                                    f"({len(problems)} problem{'s' if len(problems) > 1 else ''}; "
                                    f"first: {problems[0]})", ex.loc)]
    try:
        return run(facts), []
    except (FactsError, EvaluationError) as exc:
        return None, [error("E171", f"example '{ex.name}': {failed}: {exc}", ex.loc)]


def run_examples(rb: Rulebook) -> list[Diagnostic]:
    """E170 for example facts that fail the schema, E171 for expectations that do not hold (a check's
    warning that `expect: {warnings: [...]}` does not list is one)."""
    out: list[Diagnostic] = []
    for ex in rb.examples:
        ev, problems = run_example(rb.file, rb.facts_schema, ex,
                                   lambda facts: evaluate(rb, facts, check_facts=False), "evaluation failed")
        if ev is None:
            out.extend(problems)
            continue
        fired = sorted(a["id"] for a in ev.overrides)
        got = f"(total {ev.total:g}, model grade {ev.model_grade}, final grade {ev.final_grade}, " \
              f"overrides: {', '.join(fired) or 'none'})"
        want = ex.expect
        if "grade" in want and str(want["grade"]) not in (ev.final_grade, ev.coarse_grade):
            out.append(error("E171", f"example '{ex.name}': expected grade {want['grade']}, got {ev.final_grade} {got}",
                             ex.loc))
        if "model_grade" in want and str(want["model_grade"]) != ev.model_grade:
            out.append(error("E171", f"example '{ex.name}': expected model grade {want['model_grade']}, "
                                     f"got {ev.model_grade} {got}", ex.loc))
        if "total" in want and abs(float(want["total"]) - ev.total) > 1e-9:
            out.append(error("E171", f"example '{ex.name}': expected total {want['total']}, got {ev.total:g} {got}",
                             ex.loc))
        if "overrides" in want and sorted(want["overrides"]) != fired:
            out.append(error("E171", f"example '{ex.name}': expected overrides "
                                     f"[{', '.join(sorted(want['overrides']))}], got [{', '.join(fired)}] {got}", ex.loc))
        warned = sorted(w["check"] for w in ev.warnings)
        if warned != sorted(want.get("warnings") or []):  # a warning no example expects fails it
            out.append(error("E171", f"example '{ex.name}': expected warnings "
                                     f"[{', '.join(sorted(want.get('warnings') or []))}], got [{', '.join(warned)}] "
                                     f"{got}", ex.loc))
        for fid, pts in (want.get("factors") or {}).items():
            try:
                actual = ev.factor(fid).points
            except KeyError:
                out.append(error("E171", f"example '{ex.name}': no factor '{fid}'", ex.loc))
                continue
            if abs(float(pts) - actual) > 1e-9:
                out.append(error("E171", f"example '{ex.name}': expected {pts:g} points for '{fid}', got {actual:g}",
                                 ex.loc))
    return out
