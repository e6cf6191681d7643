"""Checking a rulebook of any kind: `check(path)` reads the `kind:` it declares and hands it on.

A rating rulebook (or one that declares no kind, or cannot be read) is checked by
`pingji.rating.load.check`; a decision rulebook (kind classification, provisioning, policy or
monitoring) by `pingji.decisions.load.check_decision`.
"""

from __future__ import annotations

import os

from pingji.decisions.load import check_decision
from pingji.diagnostics import Diagnostic
from pingji.lang.schemacheck import rulebook_kind
from pingji.rating.load import check as check_rating

__all__ = ["check", "rulebook_kind"]


def check(path: str | os.PathLike[str], *, run_examples: bool = True) -> list[Diagnostic]:
    """Every diagnostic for the rulebook at `path` (errors and warnings), sorted by location.

    With `run_examples`, a rulebook without errors also runs its examples (E170, E171).
    """
    if rulebook_kind(path) not in (None, "rating"):
        return check_decision(path, run_examples=run_examples)
    return check_rating(path, run_examples=run_examples)
