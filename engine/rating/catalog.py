"""Finding rulebooks: by id, by path, or the most specific one that applies to a customer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pingji.builtin import rulebooks_dir
from pingji.diagnostics import did_you_mean
from pingji.errors import RulebookError, RulebookNotFound
from pingji.lang.source import load_yaml
from pingji.rating import index


@dataclass(frozen=True)
class Entry:
    id: str
    path: Path
    title: dict[str, str]
    customer_type: str | None
    industries: tuple[str, ...]
    kind: str
    extends: str | None


def _applies(data: dict[str, Any], by_id: dict[str, dict[str, Any]], seen: int = 0) -> dict[str, Any]:
    """applies_to, inherited from the parent when the rulebook does not say."""
    if "applies_to" in data or seen > 16:
        return dict(data.get("applies_to") or {})
    parent = data.get("extends")
    if isinstance(parent, str) and parent in by_id:
        return _applies(by_id[parent], by_id, seen + 1)
    return {}


def catalog(folder: Path | None = None) -> list[Entry]:
    """Every rulebook in `folder` (the built-in ones by default), sorted by id. Broken files are skipped."""
    folder = folder or rulebooks_dir()
    known = index.read(folder)
    raw: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = _head(path, known.get(path.name))
        except RulebookError:
            continue
        if isinstance(data.get("rulebook"), str):
            raw[data["rulebook"]] = (path, data)
    by_id = {k: v[1] for k, v in raw.items()}
    out = []
    for rid, (path, data) in sorted(raw.items()):
        applies = _applies(data, by_id)
        raw_title = data.get("title")
        title = ({str(k): str(v) for k, v in raw_title.items()} if isinstance(raw_title, dict)
                 else {"en": str(raw_title or rid)})
        out.append(Entry(rid, path, title, applies.get("customer_type"), tuple(applies.get("industry") or ()),
                         str(data.get("kind", "rating")), data.get("extends")))
    return out


def _head(path: Path, indexed: tuple[str, dict[str, Any]] | None) -> dict[str, Any]:
    """The rulebook's top-level keys: from the index when the file's bytes are the ones indexed, else parsed."""
    if indexed is not None:
        try:
            if hashlib.sha256(path.read_bytes()).hexdigest() == indexed[0]:
                return indexed[1]
        except OSError:
            pass
    return load_yaml(path, display_name=path.name).data


def find(name: str, folder: Path | None = None) -> Path:
    """A rulebook by path (anything with a '/' or a .yaml ending) or by id."""
    p = Path(name)
    if name.endswith((".yaml", ".yml")) or "/" in name:
        if not p.is_file():
            raise RulebookNotFound(f"rulebook file '{name}' not found")
        return p
    entries = catalog(folder)
    for e in entries:
        if e.id == name:
            return e.path
    raise RulebookNotFound(f"no rulebook with id '{name}'{did_you_mean(name, [e.id for e in entries])}; "
                           f"'pingji rulebooks' lists them")


def select(facts: dict[str, Any], folder: Path | None = None, entries: list[Entry] | None = None) -> Path:
    """The most specific rating rulebook for a customer: its division, else its section, else its type.

    `entries` (a `catalog()` read once) saves re-reading every rulebook when selecting many times.
    """
    ctype = facts.get("customer_type")
    industry = (facts.get("identity") or {}).get("industry") or {}
    section = str(industry.get("section") or "")
    division = str(industry.get("division") or "")
    best: tuple[int, str, Path] | None = None
    entries = entries if entries is not None else catalog(folder)
    for e in entries:
        if e.kind != "rating" or e.customer_type != ctype:
            continue
        if section and division and f"{section}{division}" in e.industries:
            rank = 3
        elif section and section in e.industries:
            rank = 2
        elif not e.industries:
            rank = 1
        else:
            continue
        if best is None or rank > best[0]:  # ties: the first id in order wins
            best = (rank, e.id, e.path)
    if best is None:
        if ctype is None:  # issue 12.15: say what is missing, not "customer_type 'None'"
            kinds = sorted({str(e.customer_type) for e in entries if e.kind == "rating" and e.customer_type})
            raise RulebookNotFound(f"the facts have no customer_type, so no rating rulebook can be chosen for "
                                   f"them; add customer_type ({', '.join(kinds)}) or name a rulebook with --rulebook")
        what = f"customer_type '{ctype}'"
        if section:
            what += f", industry {section}{division}"
        raise RulebookNotFound(f"no rating rulebook applies to {what}; name one with --rulebook")
    return best[2]
