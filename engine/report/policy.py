"""Which rulebook `report:` section a justification report follows.

The credit policy a report shows (grade meanings, recommended measures, the solvency indicators
and the credit facts it lists) lives in the rating rulebooks' `report:` section, never here. A
caller that has the rulebook passes its section; otherwise `policy_for(record)` takes it from the
rulebook file that rated the record when that file is still the same version (same content hash),
else from the built-in rulebook of the record's rulebook id, else from the built-in corporate
rulebook. So records stored before the section existed, or rated by a rulebook without one, still
render.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pingji.builtin import rulebooks_dir
from pingji.errors import PingjiError
from pingji.rating.load import load_rulebook
from pingji.rating.model import ReportPolicy, Rulebook, Scale
from pingji.report.formats import as_map

FALLBACK_RULEBOOK = "corporate"
_RULEBOOK_ID = re.compile(r"^[a-z0-9_-]+$")


@functools.cache
def _builtin(rulebook_id: str) -> ReportPolicy | None:
    path = rulebooks_dir() / f"{rulebook_id}.yaml"
    if not _RULEBOOK_ID.match(rulebook_id) or not path.is_file():
        return None
    try:
        return load_rulebook(path).report
    except PingjiError:
        return None


def builtin_policy(rulebook_id: str = "") -> ReportPolicy:
    """The `report:` section of the built-in rulebook `rulebook_id`, else of the built-in corporate one."""
    policy = _builtin(rulebook_id) or _builtin(FALLBACK_RULEBOOK)
    if policy is None:  # pragma: no cover - the installation is broken
        raise LookupError(f"the built-in rulebook '{FALLBACK_RULEBOOK}' has no report section")
    return policy


def _same_version(record: Mapping[str, Any]) -> Rulebook | None:
    """The rulebook version that rated `record`: its file, or the built-in rulebook of its id, when the
    content hash is the one stored with the record; None when neither is that version any more."""
    rb = as_map(record.get("rulebook"))
    file, digest = str(rb.get("file") or ""), str(rb.get("hash") or "")
    rid = str(rb.get("id") or "")
    candidates = [Path(file)] if file else []
    if _RULEBOOK_ID.match(rid):
        candidates.append(rulebooks_dir() / f"{rid}.yaml")
    for path in candidates:
        if digest and path.is_file():
            rulebook = _version_at(str(path), path.stat().st_mtime_ns, digest)
            if rulebook is not None:
                return rulebook
    return None


@functools.lru_cache(maxsize=16)
def _version_at(path: str, mtime_ns: int, digest: str) -> Rulebook | None:
    """The rulebook at `path` if it is the version `digest`; loaded once per file state, as a report
    asks for its policy and, after an expert override, for its grade scale."""
    try:
        rulebook = load_rulebook(path)
    except PingjiError:
        return None
    return rulebook if rulebook.content_hash == digest else None


def policy_for(record: Mapping[str, Any]) -> ReportPolicy:
    """The `report:` section of the rulebook version that rated `record` (see the module docstring)."""
    rulebook = _same_version(record)
    if rulebook is not None and rulebook.report is not None:
        return rulebook.report
    return builtin_policy(str(as_map(record.get("rulebook")).get("id") or ""))


def scale_for(record: Mapping[str, Any]) -> Scale | None:
    """The grade scale (PDs, coarse grades) of the rulebook version that rated `record`, to show an
    expert's grade with its PD; None when that version cannot be found (then no PD is shown for it)."""
    rulebook = _same_version(record)
    return rulebook.scale if rulebook is not None else None
