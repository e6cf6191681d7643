"""`pingji verify --replay` (issue 11.2): every stored evaluation rated again from its stored facts and
its rulebook version's stored sources, and compared with what is stored, column for column.

A rulebook version is rebuilt from the texts the store kept of it (the rulebook and every file it
extends), written to a scratch folder; its facts schema is the one its `facts:` names today (the
store keeps the schema's hash inside the rulebook's content hash, not its text). When the rebuilt
rulebook does not hash to the stored version, its evaluations cannot be replayed, and verify says so.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from pingji.errors import PingjiError
from pingji.lang.schemacheck import display_name
from pingji.rating.load import load_rulebook
from pingji.rating.model import Rulebook
from pingji.rating.run import evaluate
from pingji.store.database import Store
from pingji.store.ids import format_id
from pingji.store.ledger import Problem
from pingji.store.records import prepare

__all__ = ["replay"]

CHUNK = 200
_COLUMNS = ("total", "model_grade", "final_grade", "coarse_grade", "pd", "facts_hash", "result")


class _Replayer:
    """Rulebook versions rebuilt once per process, and evaluations compared one by one."""

    def __init__(self, path: str):
        self.store = Store.open(path, create=False, readonly=True)
        self.books: dict[str, Rulebook | str] = {}  # hash -> rulebook, or why it cannot be rebuilt
        self.names: dict[str, list[tuple[str, str]]] = {}  # hash -> [(scratch file as shown, stored name)]
        self.scratch = tempfile.TemporaryDirectory(prefix="pingji-replay-")

    def close(self) -> None:
        self.store.close()
        self.scratch.cleanup()

    def rulebook(self, digest: str) -> Rulebook | str:
        if digest not in self.books:
            self.books[digest] = self._rebuild(digest)
        return self.books[digest]

    def _rebuild(self, digest: str) -> Rulebook | str:
        file, sources = self.store.conn.execute(
            "SELECT file, sources FROM rulebook_versions WHERE hash = ?", (digest,)).fetchone()
        folder = Path(self.scratch.name) / digest[:16]
        folder.mkdir()
        texts: dict[str, str | None] = json.loads(sources)
        names = []
        for name, text in texts.items():
            if text is None:
                return f"the store could not read {name} when it stored this version"
            scratch = folder / os.path.basename(name)
            if scratch.exists():
                return f"two of its files are called {scratch.name}; it cannot be rebuilt in one folder"
            scratch.write_text(text, encoding="utf-8", newline="")
            names.append((display_name(scratch.resolve()), name))
        # file:line in the trace names the files as they were named when rated: map the scratch names back
        self.names[digest] = sorted(names, key=lambda pair: -len(pair[0]))
        try:
            rb = load_rulebook(folder / os.path.basename(file))
        except PingjiError as exc:
            return f"its stored sources no longer load: {exc.message}"
        if rb.content_hash != digest:
            return (f"its stored sources and today's facts schema hash to {rb.content_hash[:12]}, not to "
                    f"{digest[:12]} (the facts schema changed since)")
        return rb

    def check(self, n: int) -> list[Problem]:
        conn = self.store.conn
        cur = conn.execute("SELECT * FROM evaluations WHERE id = ?", (n,))
        row = dict(zip([d[0] for d in cur.description], cur.fetchone()))
        where = f"evaluation {format_id(n)}"
        rb = self.rulebook(row["rulebook_hash"])
        if isinstance(rb, str):
            return [Problem(where, f"cannot be replayed: rulebook {row['rulebook_id']} {row['rulebook_version']} "
                                   f"(sha256 {row['rulebook_hash'][:12]}): {rb}")]
        facts = json.loads(row["facts"])
        try:
            p = prepare(evaluate(rb, facts), facts, evaluated_at=row["evaluated_at"])
        except PingjiError as exc:
            return [Problem(where, f"fails when rated again: {exc}")]
        names = self.names[row["rulebook_hash"]]
        p = replace(p, result=_renamed(p.result, names),
                    factors=tuple(tuple(_renamed(v, names) for v in f) for f in p.factors),
                    trace=tuple(tuple(_renamed(v, names) for v in t) for t in p.trace))
        differs = [c for c in _COLUMNS if getattr(p, c) != row[c]]
        factors = [tuple(r) for r in conn.execute(
            "SELECT factor, group_id, weight, points, contribution, basis, rule, at, input FROM factor_scores "
            "WHERE evaluation_id = ? ORDER BY factor", (n,))]
        if sorted(p.factors) != factors:
            differs.append("factor scores")
        trace = [tuple(r) for r in conn.execute(
            "SELECT seq, rule, kind, at, matched, asserted, note FROM trace WHERE evaluation_id = ? ORDER BY seq", (n,))]
        if list(p.trace) != trace:
            differs.append("trace")
        if differs:
            return [Problem(where, f"rated again from its stored facts and rulebook, it differs in: {', '.join(differs)}")]
        return []


def _renamed(value: Any, names: list[tuple[str, str]]) -> Any:
    if not isinstance(value, str):
        return value
    for scratch, stored in names:
        value = value.replace(scratch, stored)
    return value


_WORKER: _Replayer | None = None


def _init(path: str) -> None:
    global _WORKER
    _WORKER = _Replayer(path)


def _chunk(ids: list[int]) -> tuple[int, list[Problem]]:
    assert _WORKER is not None
    out: list[Problem] = []
    for n in ids:
        out += _WORKER.check(n)
    return len(ids), out


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def replay(path: str, *, workers: int = 1, progress: Callable[[int], None] | None = None) -> list[Problem]:
    """Rate every stored evaluation again and compare; the problems in evaluation order. `progress` gets
    the number of evaluations done since its last call."""
    with Store.open(path, create=False, readonly=True) as store:
        ids = [n for (n,) in store.conn.execute("SELECT id FROM evaluations ORDER BY id")]
    problems: list[Problem] = []
    if workers <= 1 or len(ids) <= CHUNK:
        here = _Replayer(path)
        try:
            for chunk in _chunks(ids):
                for n in chunk:
                    problems += here.check(n)
                if progress:
                    progress(len(chunk))
        finally:
            here.close()
        return problems
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init,
                             initargs=(path,)) as pool:
        for future in as_completed([pool.submit(_chunk, c) for c in _chunks(ids)]):
            done, found = future.result()
            problems += found
            if progress:
                progress(done)
    return sorted(problems, key=lambda p: p.where)

