"""Expert overrides: what a reviewer may change alone, and what needs a second person's approval.

A reviewer may move a grade up to the rulebook's allowance (in notches of its fine scale, counted
from the grade the rulebook gave, not from an earlier expert override, so a grade cannot be walked
away one allowed step at a time). Beyond that, a second person must approve. The allowance is 1
notch unless the rulebook declares one (`expert_override_notches`, when the rulebook format grows it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pingji.diagnostics import did_you_mean
from pingji.errors import ReviewError

DEFAULT_ALLOWED_NOTCHES = 1
# An override is a recorded credit decision: its reason must say why in words ("..." or "ok" do not).
# Letters in any script count (订单减半 is four).
MIN_REASON_LETTERS = 4


def allowance_of(rulebook: Any) -> int:
    """The notches a reviewer may move a grade alone: the rulebook's own figure, else the default."""
    value = getattr(rulebook, "expert_override_notches", None)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return DEFAULT_ALLOWED_NOTCHES


@dataclass(frozen=True)
class Decision:
    old_grade: str
    new_grade: str
    notches: int  # + is better, counted from the rulebook's grade
    allowance: int
    approved_by: str | None


def _plural(n: int) -> str:
    return f"{n} notch" if n == 1 else f"{n} notches"


def decide(
    grades: Sequence[str],
    rulebook_grade: str,
    current_grade: str,
    new_grade: str,
    *,
    reviewer: str,
    reason: str,
    approved_by: str | None,
    allowance: int,
) -> Decision:
    """Check an expert override against the policy; raise ReviewError saying why it is refused."""
    reviewer, reason = reviewer.strip(), reason.strip()
    approver = approved_by.strip() if approved_by is not None else None
    if not reviewer:
        raise ReviewError("the reviewer must be named")
    if not reason:
        raise ReviewError("an override needs a reason")
    if sum(c.isalpha() for c in reason) < MIN_REASON_LETTERS:
        raise ReviewError(f"the reason must say why the grade changes, in words; got {reason!r}")
    if approver == "":
        raise ReviewError("the approver must be named")
    if new_grade not in grades:
        raise ReviewError(
            f"unknown grade '{new_grade}'{did_you_mean(new_grade, grades)}; "
            f"the grades are {', '.join(grades)}"
        )
    if new_grade == current_grade:
        raise ReviewError(f"the grade is already {current_grade}")
    notches = grades.index(rulebook_grade) - grades.index(new_grade)
    if approver is not None and approver.casefold() == reviewer.casefold():
        raise ReviewError(f"the approver must be a second person, not the reviewer '{reviewer}'")
    if abs(notches) > allowance and approver is None:
        raise ReviewError(
            f"{rulebook_grade} -> {new_grade} is {_plural(abs(notches))} from the rulebook's grade; "
            f"more than {_plural(allowance)} needs a second person's approval (--approved-by NAME)"
        )
    return Decision(current_grade, new_grade, notches, allowance, approver)
