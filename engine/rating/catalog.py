"""Finding rulebooks: by id, by path, or the most specific one that applies to a customer.

The catalog is the built-in rulebooks plus, when given, a user's own rulebook folders
(`--rulebooks DIR`, `PINGJI_RULEBOOKS`: folders separated by the system's path separator). The
precedence, documented in docs/customer-types.md:

- by id: a user's rulebook with the id of a built-in one replaces it; two user rulebooks with one
  id are an error (E742) naming both files;
- choosing for a customer: when any of the user's rating rulebooks applies to the customer, the
  most specific of them is chosen (industry division, else section, else the customer type alone)
  and the built-in ones are not considered; two of them applying equally are an error (E743)
  naming both files. Otherwise the most specific built-in one, as before.

A user folder that is not a folder (E740), a YAML file in it that cannot be read (its own located
code) or whose `rulebook:` is not an id (E741) stops the command: a user's rulebook is never
skipped in silence. Built-in files that cannot be read are skipped (`pingji check` reports them).
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pingji.builtin import RULEBOOKS_ENV_VAR, rulebooks_dir
from pingji.diagnostics import Location, did_you_mean
from pingji.errors import RulebookError, RulebookNotFound
from pingji.lang.factschema import find_schema
from pingji.lang.source import Document, load_yaml
from pingji.rating import index
from pingji.rating.load import find_parent

ENV_VAR = RULEBOOKS_ENV_VAR
MAX_EXTENDS_DEPTH = 16

Folders = Sequence["str | os.PathLike[str]"]


@dataclass(frozen=True)
class Entry:
    id: str
    path: Path
    title: dict[str, str]
    customer_type: str | None
    industries: tuple[str, ...]
    kind: str
    extends: str | None
    user: bool = False  # from a user's rulebooks folder, not built in
    where: str = ""  # file:line of its applies_to (or of the file), as messages name it


@functools.lru_cache(maxsize=256)
def _read(path: str, mtime_ns: int, display: str) -> Document:
    return load_yaml(path, display_name=display)


def _doc(path: Path, display: str | None = None) -> Document:
    """The YAML of a rulebook file, parsed once per file state."""
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = -1  # load_yaml reports the file that cannot be read
    return _read(str(path), mtime, display or str(path))


def _applies(data: dict[str, Any], by_id: dict[str, dict[str, Any]], seen: int = 0) -> dict[str, Any]:
    """applies_to, inherited from the parent when the rulebook does not say."""
    if "applies_to" in data or seen > MAX_EXTENDS_DEPTH:
        return dict(data.get("applies_to") or {})
    parent = data.get("extends")
    if isinstance(parent, str) and parent in by_id:
        return _applies(by_id[parent], by_id, seen + 1)
    return {}


def _user_docs(folders: Folders) -> dict[str, tuple[Path, Document]]:
    """Every rulebook of the user's folders by id (E740 a folder, E741 an id, E742 an id twice)."""
    out: dict[str, tuple[Path, Document]] = {}
    for folder in folders:
        root = Path(folder)
        if not root.is_dir():
            what = "does not exist" if not root.exists() else "is not a folder"
            raise RulebookNotFound(f"rulebooks folder {what} (--rulebooks, {ENV_VAR})",
                                   Location(os.fspath(folder)), code="E740")
        for path in sorted([*root.glob("*.yaml"), *root.glob("*.yml")]):
            doc = _doc(path)  # a file that cannot be read raises its own located diagnostics
            if not isinstance(doc.data, dict) or "rulebook" not in doc.data:
                continue  # not a rulebook (a facts file, say), as `pingji check DIR` says
            rid = doc.data["rulebook"]
            if not isinstance(rid, str) or not rid:
                raise RulebookNotFound(f"'rulebook:' must be the rulebook's id (text); got {rid!r}",
                                       doc.loc(("rulebook",)), code="E741")
            if rid in out:
                raise RulebookNotFound(f"two of your rulebooks have the id '{rid}': {out[rid][1].loc(('rulebook',))} "
                                       f"and this one; rename one", doc.loc(("rulebook",)), code="E742")
            out[rid] = (path, doc)
    return out


def catalog(folder: Path | None = None, user: Folders = ()) -> list[Entry]:
    """Every rulebook in `folder` (the built-in ones by default) and in the `user` folders, sorted by
    id; a user's rulebook replaces a built-in one of the same id. Broken built-in files are skipped."""
    folder = folder or rulebooks_dir()
    known = index.read(folder)
    raw: dict[str, tuple[Path, dict[str, Any], str, bool]] = {}  # id -> path, top-level keys, where, user's
    for path in sorted(folder.glob("*.yaml")):
        try:
            data, where = _head(path, known.get(path.name))
        except RulebookError:
            continue
        if isinstance(data, dict) and isinstance(data.get("rulebook"), str):
            raw[data["rulebook"]] = (path, data, where, False)
    for rid, (path, doc) in _user_docs(user).items():
        raw[rid] = (path, doc.data, _where(doc), True)
    by_id = {k: v[1] for k, v in raw.items()}
    out = []
    for rid, (path, data, where, mine) in sorted(raw.items()):
        applies = _applies(data, by_id)
        raw_title = data.get("title")
        title = ({str(k): str(v) for k, v in raw_title.items()} if isinstance(raw_title, dict)
                 else {"en": str(raw_title or rid)})
        out.append(Entry(rid, path, title, applies.get("customer_type"), tuple(applies.get("industry") or ()),
                         str(data.get("kind", "rating")), data.get("extends"), mine, where))
    return out


def _where(doc: Document) -> str:
    loc = doc.loc(("applies_to",) if isinstance(doc.data, dict) and "applies_to" in doc.data else ())
    return f"{loc.file}:{loc.line}"


def _head(path: Path, indexed: tuple[str, dict[str, Any]] | None) -> tuple[Any, str]:
    """A built-in rulebook's top-level keys and where its applies_to is: from the index when the file's
    bytes are the ones indexed (issue 11.4: choosing a rulebook parsed every file), else parsed."""
    if indexed is not None:
        try:
            if hashlib.sha256(path.read_bytes()).hexdigest() == indexed[0]:
                return indexed[1], path.name
        except OSError:
            pass
    doc = _doc(path, path.name)
    return doc.data, _where(doc)


def find(name: str, folder: Path | None = None, user: Folders = ()) -> Path:
    """A rulebook by path (anything with a '/' or a .yaml ending) or by id (the user's first)."""
    p = Path(name)
    if name.endswith((".yaml", ".yml")) or "/" in name:
        if not p.is_file():
            raise RulebookNotFound(f"rulebook file '{name}' not found")
        return p
    entries = catalog(folder, user)
    for e in entries:
        if e.id == name:
            return e.path
    raise RulebookNotFound(f"no rulebook with id '{name}'{did_you_mean(name, [e.id for e in entries])}; "
                           f"'pingji rulebooks' lists them")


def _rank(e: Entry, ctype: Any, section: str, division: str) -> int:
    """How specifically `e` applies: 3 its division, 2 its section, 1 the type alone, 0 not at all."""
    if e.kind != "rating" or e.customer_type != ctype:
        return 0
    if section and division and f"{section}{division}" in e.industries:
        return 3
    if section and section in e.industries:
        return 2
    return 0 if e.industries else 1


def select(facts: dict[str, Any], folder: Path | None = None, entries: Sequence[Entry] | None = None,
           user: Folders = ()) -> Path:
    """The most specific rating rulebook for a customer: its division, else its section, else its type;
    the user's rulebooks first (see the module docstring).

    `entries` (a `catalog()` read once) saves re-reading every rulebook when selecting many times.
    """
    ctype = facts.get("customer_type")
    industry = (facts.get("identity") or {}).get("industry") or {}
    section = str(industry.get("section") or "")
    division = str(industry.get("division") or "")
    entries = entries if entries is not None else catalog(folder, user)
    what = f"customer_type '{ctype}'"
    if section:
        what += f", industry {section}{division}"
    for mine in (True, False):
        ranked = sorted(((r, e) for e in entries if e.user == mine and (r := _rank(e, ctype, section, division))),
                        key=lambda re: (-re[0], re[1].id))
        if not ranked:
            continue
        if mine and len(ranked) > 1 and ranked[1][0] == ranked[0][0]:
            a, b = ranked[0][1], ranked[1][1]
            raise RulebookNotFound(f"two of your rulebooks apply equally to {what}: {a.id} ({a.where}) and {b.id} "
                                   f"({b.where}); narrow one's applies_to or name one with --rulebook", code="E743")
        return ranked[0][1].path  # built-in ties: the first id in order wins
    if ctype is None:  # issue 12.15: say what is missing, not "customer_type 'None'"
        kinds = sorted({str(e.customer_type) for e in entries if e.kind == "rating" and e.customer_type})
        raise RulebookNotFound(f"the facts have no customer_type, so no rating rulebook can be chosen for "
                               f"them; add customer_type ({', '.join(kinds)}) or name a rulebook with --rulebook")
    raise RulebookNotFound(f"no rating rulebook applies to {what}; name one with --rulebook")


def customer_types(entries: Sequence[Entry]) -> list[str]:
    """The customer types the rating rulebooks of `entries` apply to, sorted."""
    return sorted({str(e.customer_type) for e in entries if e.kind == "rating" and e.customer_type})


def facts_schema_of(path: Path) -> Path | None:
    """The facts schema a rating rulebook file names (`facts:`, inherited through `extends`, resolved
    next to the file that wrote it; `corporate` when none says), without loading the rulebook; None
    when it cannot be found or the files cannot be read (loading the rulebook says why)."""
    current, leaf = path, path
    for _ in range(MAX_EXTENDS_DEPTH + 1):
        try:
            data = _doc(current).data
        except RulebookError:
            return None
        if not isinstance(data, dict):
            return None
        if "facts" in data:
            try:
                return find_schema(str(data["facts"]), current.parent)
            except RulebookError:  # outside the rulebook's folder, or not a schema: loading it says so
                return None
        parent = data.get("extends")
        if not isinstance(parent, str):
            break
        found = find_parent(parent, current)
        if found is None:
            return None
        current = found
    try:
        return find_schema("corporate", leaf.parent)
    except RulebookError:
        return None
