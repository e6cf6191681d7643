"""Running a rulebook's own examples: facts → expected grade (and overrides, total, factor points)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pingji.diagnostics import Diagnostic, Location, error
from pingji.errors import EvaluationError, FactsError, RulebookError
from pingji.lang.factschema import check_facts
from pingji.lang.source import load_yaml
from pingji.rating.model import Rulebook
from pingji.rating.run import evaluate


def example_facts(book_file: str, name: str, facts: Any, label: str, schema: Mapping[str, Any],
                  loc: Location) -> tuple[Any, list[Diagnostic]]:
    """The facts of the example `name` of the rulebook at `book_file` (inline, or a file named relative to
    it) and, when they cannot be read (its diagnostics) or do not match `schema` (E170), the problems."""
    locate = None
    if isinstance(facts, str):
        path = Path(book_file).parent / facts
        try:
            doc = load_yaml(path, display_name=str(path))
        except RulebookError as exc:
            return None, list(exc.diagnostics)
        facts, locate, label = doc.data, doc.loc, doc.file
    problems = check_facts(facts, schema, locate, label)
    if problems:
        return None, [error("E170", f"example '{name}': facts do not match the facts schema "
                                    f"({len(problems)} problem{'s' if len(problems) > 1 else ''}; "
                                    f"first: {problems[0]})", loc)]
    return facts, []


def run_examples(rb: Rulebook) -> list[Diagnostic]:
    """E170 for example facts that fail the schema, E171 for expectations that do not hold."""
    out: list[Diagnostic] = []
    for ex in rb.examples:
        facts, problems = example_facts(rb.file, ex.name, ex.facts, ex.facts_label, rb.facts_schema, ex.loc)
        if problems:
            out.extend(problems)
            continue
        try:
            ev = evaluate(rb, facts, check_facts=False)
        except (FactsError, EvaluationError) as exc:
            out.append(error("E171", f"example '{ex.name}': evaluation failed: {exc}", ex.loc))
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
