"""Facts for the test rulebook tests/data/books/mini.yaml, shared by the engine and report tests."""

from __future__ import annotations

from typing import Any


def customer(**over: Any) -> dict[str, Any]:
    """A good customer (rated A, total 97.6); `section__field=value` or `section=value` changes it."""
    facts: dict[str, Any] = {
        "id": "c1",
        "as_of": "2026-06-30",
        "fin": {"current_assets": 2000, "current_liabilities": 1000, "total_assets": 1000,
                "total_liabilities": 300, "revenue": 1000, "net_income": 150},
        "credit": {"days_past_due": 0, "fraud": False, "strong_guarantee": False},
        "assessments": [{"factor": "management", "level": 4, "assessor": "Li", "comment": "steady team"},
                        {"factor": "management", "level": 5, "assessor": "Wang"}],
    }
    for key, value in over.items():
        section, _, field = key.partition("__")
        if field:
            facts[section][field] = value
        else:
            facts[section] = value
    return facts
