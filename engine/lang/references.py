"""Where the files a rulebook names (`extends:`, `facts:`) may be: its folder tree or the built-in catalog.

A rulebook reads files only from:

- **its folder tree**: the folder that holds the rulebook being loaded (the file itself, symlinks
  resolved), every folder below it, and the `facts/` folder beside it (`../facts`, the layout of
  this repository: `rulebooks/` and `facts/` side by side). A folder given to `pingji check` is
  read without its subfolders, so the tree of each rulebook in it is that folder's. A parent
  found through `extends` does not widen the tree: the whole chain reads inside the tree of the
  rulebook loaded.
- **the built-in catalog**: the built-in rulebooks and facts schemas (`pingji.builtin`), named
  by id (`extends: corporate`, `facts: corporate`).

A value with a `/` (or the file extension of its kind) is a path, relative to the file that wrote
it; the fact file an example names is always a path. An absolute path is refused, and so is a path
that leads outside both places once `..` and symlinks are resolved (E182, at the key that names
it): whether such a file exists is never said. Any other value is an id, looked up next to the
file that wrote it, then in the built-in catalog (a facts schema id in `../facts` in between); a
file found next to it that links outside is refused the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from pingji.builtin import facts_dir, rulebooks_dir
from pingji.diagnostics import Location, error
from pingji.errors import RulebookError

__all__ = ["OUTSIDE_HINT", "Scope", "confine", "find_file", "is_path", "scope_of"]

OUTSIDE_HINT = ("a rulebook names files in its own folder, its subfolders or ../facts by a relative path, "
                "or a built-in by its id")


def _real(path: Path) -> Path | None:
    """`path` with symlinks and `..` resolved; None when it cannot be (an embedded NUL, a loop)."""
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class Scope:
    """The folders a rulebook may read files from: `root` (its folder, resolved) and its subfolders,
    `root`'s sibling `facts/`, and the built-in catalog."""

    root: Path

    def allows(self, target: Path) -> bool:
        """Whether `target` (already resolved) lies in the rulebook's folder tree or the built-in catalog."""
        folders = (self.root, _real(self.root.parent / "facts"), _real(rulebooks_dir()), _real(facts_dir()))
        return any(folder is not None and target.is_relative_to(folder) for folder in folders)


def scope_of(rulebook: Path) -> Scope:
    """The scope of the rulebook file at `rulebook`: the folder it is in, once symlinks are resolved."""
    real = _real(rulebook)
    return Scope((real or rulebook.absolute()).parent)


def is_path(value: str, suffixes: tuple[str, ...]) -> bool:
    """Whether a value of `extends:` or `facts:` is a path (rather than an id)."""
    return "/" in value or "\\" in value or value.endswith(suffixes) or PureWindowsPath(value).is_absolute()


def _refuse(key: str, value: str, message: str, loc: Location) -> RulebookError:
    return RulebookError([error("E182", f"{key} '{value}': {message}", loc, hint=OUTSIDE_HINT)])


def find_file(key: str, value: str, base: Path, scope: Scope, loc: Location, *, suffixes: tuple[str, ...],
              ids: Iterable[Path]) -> Path | None:
    """The file `value` (written under `key` in a file of folder `base`, at `loc`) names, resolved;
    None when there is no such file. A path is taken relative to `base`; an id is looked for at each
    of `ids` in turn. Raises RulebookError (E182) for an absolute path or a file outside `scope`."""
    if is_path(value, suffixes):
        target = confine(key, value, base, scope, loc)
        return target if target is not None and target.is_file() else None
    for candidate in ids:
        if candidate.is_file():
            target = _real(candidate)
            if target is None:
                continue
            if not scope.allows(target):
                raise _refuse(key, value, f"{candidate.name} links outside the rulebook's folder", loc)
            return target
    return None


def confine(key: str, value: str, base: Path, scope: Scope, loc: Location) -> Path | None:
    """The path `value` (written under `key` in a file of folder `base`, at `loc`) resolved, whether or
    not a file is there (None when it cannot be resolved); RulebookError E182 when it is absolute or
    leads outside `scope`."""
    if PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute():
        raise _refuse(key, value, "an absolute path is not allowed", loc)
    target = _real(base / value)
    if target is not None and not scope.allows(target):
        raise _refuse(key, value, "the path leads outside the rulebook's folder", loc)
    return target
