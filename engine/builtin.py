"""Where the built-in rulebooks and fact schemas are.

In a source checkout they are the top-level `rulebooks/` and `facts/` folders; an installed wheel
carries the same files as package data under `engine/_builtin/`.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
# The user's own rulebook folders, separated by os.pathsep (pingji.rating.catalog; --rulebooks)
RULEBOOKS_ENV_VAR = "PINGJI_RULEBOOKS"


def _locate(name: str) -> Path:
    packaged = _HERE / "_builtin" / name
    if packaged.is_dir():
        return packaged
    return _HERE.parent / name


def rulebooks_dir() -> Path:
    return _locate("rulebooks")


def facts_dir() -> Path:
    return _locate("facts")


def schema_dir() -> Path:
    return _HERE / "schema"
