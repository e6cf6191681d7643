"""pingji (评级): YAML credit-rating rulebooks compiled into durable-rules, with a traced grade.

The public API::

    rb = load_rulebook("rulebooks/manufacturing.yaml")   # RulebookError lists every problem
    diagnostics = check("rulebooks/manufacturing.yaml")   # errors and warnings, examples run
    ev = evaluate(rb, facts)                               # Evaluation: grade, scores, trace
    ev.to_dict()                                           # JSON-serialisable, deterministic

Decision rulebooks (classification, provisioning, policy, monitoring) run on the same engine::

    book = load_decision("rulebooks/five-category.yaml", kind="classification")
    d = decide(book, loan_facts)                           # Decision: outputs, deciding rules, trace

Names load on first use (PEP 562), so that `import pingji` and a command line that needs one part do
not import the rules engine, JSON Schema and SQLite libraries all at once (issue 11.4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pingji import lazy
from pingji.version import __version__

if TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
    from pingji.checking import check
    from pingji.decisions.load import load_decision
    from pingji.decisions.model import DecisionBook
    from pingji.decisions.run import Decision, decide
    from pingji.diagnostics import Diagnostic, Location, Severity
    from pingji.errors import (
        EngineLimitError,
        EvaluationError,
        ExpressionError,
        FactsError,
        PingjiError,
        RulebookError,
        RulebookNotFound,
        RulebookSyntaxError,
    )
    from pingji.lang.facts import read_facts
    from pingji.rating.load import load_rulebook
    from pingji.rating.run import Evaluation, evaluate

# public name -> the module that defines it
_LAZY = {
    "check": "pingji.checking",
    "load_decision": "pingji.decisions.load",
    "DecisionBook": "pingji.decisions.model",
    "Decision": "pingji.decisions.run",
    "decide": "pingji.decisions.run",
    "Diagnostic": "pingji.diagnostics",
    "Location": "pingji.diagnostics",
    "Severity": "pingji.diagnostics",
    "EngineLimitError": "pingji.errors",
    "EvaluationError": "pingji.errors",
    "ExpressionError": "pingji.errors",
    "FactsError": "pingji.errors",
    "PingjiError": "pingji.errors",
    "RulebookError": "pingji.errors",
    "RulebookNotFound": "pingji.errors",
    "RulebookSyntaxError": "pingji.errors",
    "read_facts": "pingji.lang.facts",
    "load_rulebook": "pingji.rating.load",
    "Evaluation": "pingji.rating.run",
    "evaluate": "pingji.rating.run",
}


__getattr__, __dir__ = lazy.attributes("pingji", _LAZY, globals())

__all__ = [
    "Decision",
    "DecisionBook",
    "Diagnostic",
    "EngineLimitError",
    "Evaluation",
    "EvaluationError",
    "ExpressionError",
    "FactsError",
    "Location",
    "PingjiError",
    "RulebookError",
    "RulebookNotFound",
    "RulebookSyntaxError",
    "Severity",
    "check",
    "decide",
    "evaluate",
    "load_decision",
    "load_rulebook",
    "read_facts",
    "__version__",
]
