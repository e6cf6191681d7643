"""A decision rulebook's `examples:`: facts with the outputs (and rules) they must produce."""

from __future__ import annotations

from typing import Any

from pingji.decisions.model import DecisionBook, Output
from pingji.decisions.run import decide, jsonable
from pingji.diagnostics import Diagnostic, error
from pingji.numbers import money
from pingji.rating.examples import run_example


def _expected_matches(o: Output, want: Any, got: Any) -> bool:
    if o.type == "number":
        return got is not None and not isinstance(want, (str, list)) and money(want) == got
    if o.type == "list":
        return isinstance(want, list) and [str(w) for w in want] == list(got)
    return str(want) == got


def run_decision_examples(book: DecisionBook) -> list[Diagnostic]:
    """E170 for example facts that fail the schema, E171 for expectations that do not hold."""
    out: list[Diagnostic] = []
    for exm in book.examples:
        d, problems = run_example(book.file, book.facts_schema, exm,
                                  lambda facts: decide(book, facts, check_facts=False), "run failed")
        if d is None:
            out.extend(problems)
            continue
        for key, want in exm.expect.items():
            try:
                o = book.output(key)
            except KeyError:
                continue
            got = d.value(key)
            if not _expected_matches(o, want, got):
                out.append(error("E171", f"example '{exm.name}': expected {key} {jsonable(want)}, got "
                                         f"{jsonable(got)} (rules fired: {', '.join(d.fired_ids()) or 'none'})", exm.loc))
        if exm.fired is not None and sorted(exm.fired) != sorted(d.fired_ids()):
            out.append(error("E171", f"example '{exm.name}': expected rules [{', '.join(sorted(exm.fired))}] to fire, "
                                     f"got [{', '.join(sorted(d.fired_ids()))}]", exm.loc))
    return out
