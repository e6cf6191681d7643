"""Checking a rulebook of any kind: `check(path)` reads the `kind:` it declares and hands it on.

A rating rulebook (or one that declares no kind, or cannot be read) is checked by
`pingji.rating.load.check`; a decision rulebook (kind classification, provisioning, policy or
monitoring) by `pingji.decisions.load.check_decision`.
"""

from __future__ import annotations

import os
from pathlib import Path

from pingji.decisions.load import check_decision
from pingji.diagnostics import Diagnostic, sort_key
from pingji.errors import RulebookError
from pingji.lang.schemacheck import DECISION_KINDS, display_name, rulebook_kind
from pingji.lang.source import Document, load_yaml
from pingji.rating.load import check as check_rating

__all__ = ["check", "rulebook_kind"]


def check(path: str | os.PathLike[str], *, run_examples: bool = True, document: Document | None = None
          ) -> list[Diagnostic]:
    """Every diagnostic for the rulebook at `path` (errors and warnings), sorted by location.

    With `run_examples`, a rulebook without errors also runs its examples (E170, E171). The file is
    parsed once (issue 12.8): here, or by the caller that gives its `document`.
    """
    if document is None:
        try:
            document = load_yaml(path, display_name=display_name(Path(path)))
        except RulebookError as exc:  # refused as YAML: nothing more to check
            return sorted(set(exc.diagnostics), key=sort_key)
    data = document.data
    if isinstance(data, dict) and data.get("kind") in DECISION_KINDS:
        return check_decision(path, run_examples=run_examples, document=document)
    return check_rating(path, run_examples=run_examples, document=document)
