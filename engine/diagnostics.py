"""Diagnostics: what the checker and the loader report, and their one-line text form.

A diagnostic reads like a compiler message::

    rulebooks/retail.yaml:14:9: error[E102]: unknown fact 'anual_income' (did you mean 'annual_income'?)

Lines and columns are 1-based. Codes are stable: tests and users rely on them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Location:
    """A place in a source file (1-based line and column)."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        if self.col <= 0:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.col}"

    def short(self) -> str:
        """`file:line`, as shown in traces."""
        return f"{self.file}:{self.line}" if self.line > 0 else self.file


UNKNOWN = Location("<unknown>")


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    location: Location = UNKNOWN
    hint: str = ""  # what may fix it, e.g. "did you mean 'annual_income'?"; shown after the message

    def __str__(self) -> str:
        text = f"{self.location}: {self.severity.value}[{self.code}]: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.location.file,
            "line": self.location.line,
            "col": self.location.col,
            **({"hint": self.hint} if self.hint else {}),
        }


def error(code: str, message: str, location: Location = UNKNOWN, hint: str = "") -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, location, hint)


def warning(code: str, message: str, location: Location = UNKNOWN, hint: str = "") -> Diagnostic:
    return Diagnostic(code, Severity.WARNING, message, location, hint)


def sort_key(d: Diagnostic) -> tuple[str, int, int, str, str]:
    return (d.location.file, d.location.line, d.location.col, d.code, d.message)


def suggest(name: str, candidates: object) -> str:
    """The hint "did you mean 'x'?" for an unknown name, or "" when nothing is close."""
    matches = difflib.get_close_matches(name, sorted(str(c) for c in candidates), n=1, cutoff=0.6)  # type: ignore[attr-defined]
    return f"did you mean '{matches[0]}'?" if matches else ""


def did_you_mean(name: str, candidates: object) -> str:
    """The same hint as a message suffix " (did you mean 'x'?)", for errors that are not diagnostics."""
    hint = suggest(name, candidates)
    return f" ({hint})" if hint else ""
