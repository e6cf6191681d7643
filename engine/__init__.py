"""pingji (评级): YAML credit-rating rulebooks compiled into durable-rules, with a traced grade.

The public API::

    rb = load_rulebook("rulebooks/manufacturing.yaml")   # RulebookError lists every problem
    diagnostics = check("rulebooks/manufacturing.yaml")   # errors and warnings, examples run
    ev = evaluate(rb, facts)                               # Evaluation: grade, scores, trace
    ev.to_dict()                                           # JSON-serialisable, deterministic

Decision rulebooks (classification, provisioning, policy, monitoring) run on the same engine::

    book = load_decision("rulebooks/five-category.yaml", kind="classification")
    d = decide(book, loan_facts)                           # Decision: outputs, deciding rules, trace
"""

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
from pingji.rating.run import ENGINE_VERSION, Evaluation, evaluate

__version__ = ENGINE_VERSION

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
