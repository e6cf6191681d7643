"""The exception tree. Every error pingji raises carries a code and, where there is one, a location.

PingjiError
├── RulebookError        a rulebook cannot be loaded, checked or compiled (carries diagnostics)
│   ├── RulebookSyntaxError   the YAML itself is refused (malformed, hostile, too large)
│   └── EngineLimitError      the rulebook would exceed a durable-rules limit
├── ExpressionError      an expression or condition does not parse or type-check
├── FactsError           customer facts fail their schema or cannot be read
├── EvaluationError      something went wrong while a rulebook ran (e.g. an action raised)
├── RulebookNotFound     no rulebook has that id / applies to that customer
├── StoreError           the evaluation store cannot be opened, read or written (E800)
│   └── RecordNotFound        no evaluation / customer with that id in the store (E801)
├── ReviewError          an expert override is refused (E810)
└── BatchError           a batch input cannot be read at all (E900)
    ├── ClusterUnavailable    a batch cannot start on the Dask cluster asked for (E910)
    └── ClusterLost           the Dask cluster failed during a batch; what is stored is kept (E911)
"""

from __future__ import annotations

from collections.abc import Iterable

from pingji.diagnostics import Diagnostic, Location, error


class PingjiError(Exception):
    """Base of every error pingji raises on purpose."""

    code = "E000"

    def __init__(self, message: str, location: Location | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        if self.location is not None:
            return f"{self.location}: error[{self.code}]: {self.message}"
        return f"error[{self.code}]: {self.message}"


class RulebookError(PingjiError):
    """A rulebook has errors; `diagnostics` lists all of them."""

    code = "E100"

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = list(diagnostics)
        first = next((d for d in self.diagnostics if d.is_error), None)
        msg = "\n".join(str(d) for d in self.diagnostics if d.is_error) or "rulebook has errors"
        super().__init__(msg, first.location if first else None, first.code if first else None)

    def __str__(self) -> str:
        return self.message


class RulebookSyntaxError(RulebookError):
    """The YAML text of a rulebook (or facts file) was refused before any checking."""

    @classmethod
    def at(cls, code: str, message: str, location: Location) -> "RulebookSyntaxError":
        return cls([error(code, message, location)])


class EngineLimitError(RulebookError):
    """Compiling the rulebook would exceed a durable-rules limit (it would hang or crash)."""


class ExpressionError(PingjiError):
    """An expression or condition is refused; location points at the offending token."""

    code = "E300"


class FactsError(PingjiError):
    """Customer facts could not be read or do not match their schema; `diagnostics` lists why."""

    code = "E500"

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = list(diagnostics)
        first = self.diagnostics[0] if self.diagnostics else None
        super().__init__(
            "\n".join(str(d) for d in self.diagnostics) or "facts are invalid",
            first.location if first else None,
            first.code if first else None,
        )

    def __str__(self) -> str:
        return self.message


class EvaluationError(PingjiError):
    """A rulebook failed while running against a customer's facts."""

    code = "E600"


class RulebookNotFound(PingjiError):
    """No rulebook has the given id, or none applies to the customer."""

    code = "E700"


class BacktestError(PingjiError):
    """`pingji validate` cannot back-test: an OUTCOMES file that cannot be read or has a bad row
    (located to its line), or nothing in the store to validate (codes E701 to E713), or nothing left
    once the outcomes that cannot be used are dropped (E730)."""

    code = "E701"


class StoreError(PingjiError):
    """The evaluation store is unusable: not a SQLite file, another program's database, a newer schema."""

    code = "E800"


class RecordNotFound(StoreError):
    """No evaluation (or customer) with the given id is in the store."""

    code = "E801"


class ReviewError(PingjiError):
    """An expert override is refused: unknown grade, no change, or beyond the allowance without approval."""

    code = "E810"


class BatchError(PingjiError):
    """A batch input cannot be read at all (missing, unreadable, no CSV header, unsupported kind)."""

    code = "E900"


class ClusterUnavailable(BatchError):
    """A batch cannot start on the Dask cluster asked for: `distributed` is not installed, the
    scheduler address is malformed or does not answer, it has no workers, or a worker cannot run
    this pingji. Nothing has been stored."""

    code = "E910"


class ClusterLost(BatchError):
    """The Dask cluster failed during a batch (a worker died for good, the scheduler went away). The
    records stored before it are kept; running the batch again resumes after them."""

    code = "E911"
