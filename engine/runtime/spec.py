"""What the runtime knows of a compiled rule: its `RuleSpec`, and the session rule every run starts with.

Both rating and decision rulebooks compile to a durable-rules ruleset plus one `RuleSpec` per
rule; the runtime names a failing rule by its spec. The spec's payload fields are the compiler's
own objects (a factor, a band, an override, ...): the runtime never looks inside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pingji.diagnostics import Location

# A rule every session's first fact matches (see runtime.ruleset: a session with no handled fact
# crashes durable-rules when it is deleted). It is not a rating decision and is not traced.
SESSION_RULE = "_session"
SESSION_FACT = "_s"
SESSION_PATTERN = {SESSION_FACT: 1}
SESSION_BODY = f'"{SESSION_FACT}":1'  # the session fact's JSON members


@dataclass(frozen=True)
class RuleSpec:
    """What a rule is for: its trace identity and the data its action needs."""

    name: str
    kind: str  # band, level, missing, undefined, aggregate, group, total, grade, override, final, pd, ...
    at: Location
    factor: Any = None  # the compiler's objects, opaque to the runtime
    band: Any = None
    level: Any = None
    points: float | None = None
    group: str | None = None
    grade_index: int | None = None
    override: Any = None
    members: tuple[str, ...] = ()

    @cached_property
    def where(self) -> str:
        """`file:line` as the trace shows it."""
        return self.at.short()
