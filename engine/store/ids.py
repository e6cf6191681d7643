"""What naming a store and its evaluations needs, and nothing heavier: the default file, its
environment variable, and evaluation ids (E000001). Kept apart so that the command line can declare
its options without importing SQLite and the rating engine (issue 11.4)."""

from __future__ import annotations

import os

DEFAULT_DB = "pingji.db"
ENV_VAR = "PINGJI_DB"
ID_PREFIX = "E"
ID_DIGITS = 6


def default_path() -> str:
    return os.environ.get(ENV_VAR) or DEFAULT_DB


def format_id(n: int) -> str:
    """Evaluation ids are the row number, zero-padded: E000001 (more digits past a million)."""
    return f"{ID_PREFIX}{n:0{ID_DIGITS}d}"


def parse_id(text: str) -> int | None:
    """E000012, e12 or 12 → 12; anything else → None."""
    t = text.strip()
    if t[:1] in ("E", "e"):
        t = t[1:]
    if not t.isdigit() or not t.isascii() or int(t) <= 0:
        return None
    return int(t)
