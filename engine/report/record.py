"""Reading a stored evaluation record for the report: lookups that never fail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pingji.report.formats import as_list, as_map
from pingji.report.writers import MarkdownDoc


class RecordView:
    """Lookups over a record that never fail: absent parts read as empty."""

    def __init__(self, record: Mapping[str, Any]):
        self.r = record
        self.facts = as_map(record.get("facts"))
        self.factors = [f for f in as_list(record.get("factors")) if isinstance(f, Mapping)]
        self.groups = [g for g in as_list(record.get("groups")) if isinstance(g, Mapping)]
        self.metrics = as_map(record.get("metrics"))
        self.trace = [row for row in as_list(record.get("trace")) if isinstance(row, Mapping)]
        self.overrides = [o for o in as_list(record.get("overrides")) if isinstance(o, Mapping)]
        experts = [e for e in as_list(record.get("expert_overrides")) if isinstance(e, Mapping)]
        # chronological; ties keep their stored order
        self.experts = [e for _, e in sorted(enumerate(experts), key=lambda p: (str(p[1].get("at") or ""), p[0]))]
        self.group_of = {str(f.get("id")): str(f.get("group", "")) for f in self.factors}
        self.metric_factor = self._metric_factors()

    def _metric_factors(self) -> dict[str, str]:
        """metric id → the factor scored on it (from the factor dict when it says, else the trace)."""
        out: dict[str, str] = {}
        for f in self.factors:
            if f.get("metric"):
                out.setdefault(str(f["metric"]), str(f.get("id")))
        for row in self.trace:
            if row.get("kind") in ("band", "undefined"):
                matched, asserted = as_map(row.get("matched")), as_map(row.get("asserted"))
                if matched.get("metric") and asserted.get("factor"):
                    out.setdefault(str(matched["metric"]), str(asserted["factor"]))
        for f in self.factors:
            fid = str(f.get("id"))
            if fid in self.metrics:
                out.setdefault(fid, fid)
        return out

    def is_qualitative(self, f: Mapping[str, Any]) -> bool:
        kind = f.get("kind")
        if kind is not None:
            return kind == "assessed"
        if f.get("assessed") or f.get("assessments"):
            return True
        rule = str(f.get("rule", ""))
        if rule.endswith(".aggregate") or ".level" in rule:
            return True
        if rule.endswith(".missing"):  # a factor without input: qualitative unless a metric feeds it
            fid = str(f.get("id"))
            return fid not in self.metric_factor.values() and fid not in self.metrics
        return False

    def group_title(self, doc: MarkdownDoc, gid: str) -> str:
        for g in self.groups:
            if str(g.get("id")) == gid:
                return doc.pick(g.get("title"), gid)
        return gid

    def meaning_row(self) -> Mapping[str, Any]:
        for row in reversed(self.trace):
            if str(row.get("rule", "")).startswith("meaning."):
                return row
        return {}

    def combination_note(self) -> str:
        for row in reversed(self.trace):
            if row.get("kind") == "final" or row.get("rule") == "final":
                return str(row.get("note", ""))
        return ""

    def customer_type(self) -> str:
        return str(self.facts.get("customer_type") or "")

    def customer_id(self) -> str:
        return str(as_map(self.r.get("customer")).get("id") or self.facts.get("id") or "")
