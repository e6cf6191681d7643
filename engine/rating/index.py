"""The built-in catalog's index: for each built-in rulebook file, its SHA-256 and the few top-level
keys the catalog needs (id, title, kind, applies_to, extends), so that choosing a rulebook does not
parse every YAML file (issue 11.4: `pingji rate` parsed 18 files to pick one).

The index is a cache, never a source of truth: a file whose bytes do not hash to its entry (an edited
checkout, a user's folder) is parsed as before. `python -m pingji.cli.docs` writes it next to the
built-in rulebooks, and `--check` (run by the tests) fails when it is stale.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pingji.lang.source import load_yaml

__all__ = ["INDEX_NAME", "KEYS", "build", "head_of", "read"]

INDEX_NAME = "index.json"
KEYS = ("rulebook", "title", "kind", "applies_to", "extends")  # what the catalog reads of a rulebook
FORMAT = 1


def head_of(data: dict[str, Any]) -> dict[str, Any]:
    """The keys of a parsed rulebook that the catalog uses."""
    return {k: data[k] for k in KEYS if k in data}


def build(folder: Path) -> str:
    """The index of every rating or decision rulebook in `folder`, as the text to write (sorted, stable)."""
    files: dict[str, Any] = {}
    for path in sorted(folder.glob("*.yaml")):
        raw = path.read_bytes()
        data = load_yaml(path, display_name=path.name).data
        if isinstance(data.get("rulebook"), str):
            files[path.name] = {"sha256": hashlib.sha256(raw).hexdigest(), "head": head_of(data)}
    doc = {"format": FORMAT, "generated_by": "python -m pingji.cli.docs", "files": files}
    return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True, default=str) + "\n"


def read(folder: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """file name -> (sha256, head) from the folder's index; empty when there is none or it is unreadable."""
    try:
        doc = json.loads((folder / INDEX_NAME).read_text(encoding="utf-8"))
        files = doc["files"] if doc.get("format") == FORMAT else {}
        return {str(name): (str(e["sha256"]), dict(e["head"])) for name, e in files.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
