"""Opening a store: the SQLite connection, its checks (a pingji store, not another program's), WAL
mode, SQLite's errors turned into StoreError, write transactions, and migrations to the current schema."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import sqlite_utils

from pingji.diagnostics import Location
from pingji.errors import StoreError
from pingji.store import ledger
from pingji.store import records as _records  # _records.now(), which tests pin
from pingji.store.ids import default_path
from pingji.store.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

BUSY_TIMEOUT_S = 30.0


class Connection:
    """An open SQLite connection to a pingji store, created or migrated to the current schema."""

    def __init__(self, path: str, conn: sqlite3.Connection):
        self.path = path
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self._rulebooks: set[str] = set()
        self._tip: tuple[int, str] | None = None  # the ledger's last (seq, chain) in this write transaction

    # -- opening ----------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, create: bool = True,
             readonly: bool = False) -> Self:
        """Open the store at `path` (default: $PINGJI_DB or pingji.db); with `create`, create or migrate it.

        `readonly` (for commands that only read): the file is opened read-only and never created,
        migrated or changed, so it works in a read-only folder and an empty or foreign file stays as
        it was (issue 12.13/22)."""
        name = str(path) if path is not None else default_path()
        loc = Location(name)
        p = Path(name)
        if p.is_dir():
            raise StoreError("is a directory, not a pingji store", loc)
        if not p.exists() and (not create or readonly):
            raise StoreError("no store here: nothing has been rated into it yet", loc)
        if readonly:
            return cls._open_readonly(name, p)
        try:
            conn = sqlite3.connect(
                name, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store: {exc}", loc) from None
        store = cls(name, conn)
        try:
            with store._guard():
                store._prepare_connection()
                store._migrate()
                store._check_chain()
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def _open_readonly(cls, name: str, p: Path) -> Self:
        loc = Location(name)
        uri = p.resolve().as_uri()
        last: sqlite3.Error | None = None
        # mode=ro first; a WAL store in a folder nobody may write needs immutable=1 (no -shm can be made)
        for query in ("?mode=ro", "?mode=ro&immutable=1"):
            try:
                conn = sqlite3.connect(uri + query, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                       check_same_thread=False)
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.Error as exc:
                last = exc
                continue
            store = cls(name, conn)
            try:
                with store._guard():
                    store._check_readonly()
            except BaseException:
                conn.close()
                raise
            return store
        text = str(last)
        if "not a database" in text or "malformed" in text or "encrypted" in text:
            raise StoreError(f"not a usable pingji store: the file is corrupt or not SQLite ({text})", loc)
        raise StoreError(f"cannot open the store to read it: {text}", loc)

    def _check_readonly(self) -> None:
        """A pingji store of this schema, checked without writing anything."""
        if not self._check_owner():
            raise StoreError("not a pingji store: the file is empty or holds no pingji tables; nothing was changed",
                             Location(self.path))
        version = self._version()
        if version != SCHEMA_VERSION:
            newer = version > SCHEMA_VERSION
            raise StoreError(
                f"written by a {'newer' if newer else 'older'} pingji (store schema {version}; this pingji knows "
                f"{SCHEMA_VERSION}){'' if newer else ': a command that writes (pingji rate, batch or override) migrates it'}",
                Location(self.path))
        self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn SQLite's errors into StoreError: a corrupt file, a foreign database, a lock held too long."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise StoreError(
                    f"the store is locked by another process (waited {BUSY_TIMEOUT_S:g} s)",
                    Location(self.path),
                ) from None
            raise StoreError(f"cannot use the store: {text}", Location(self.path)) from None
        except sqlite3.DatabaseError as exc:
            text = str(exc)
            if "not a database" in text or "malformed" in text or "encrypted" in text:
                raise StoreError(
                    f"not a usable pingji store: the file is corrupt or not SQLite ({text})",
                    Location(self.path),
                ) from None
            raise StoreError(f"store error: {text}", Location(self.path)) from None

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction, taking the write lock up front (no deadlock between two writers)."""
        with self._guard():
            self.conn.execute("BEGIN IMMEDIATE")
            self._tip = None
            try:
                yield
                if self._tip is not None:
                    self.conn.execute("UPDATE store_head SET seq = ?, chain = ?, at = ? WHERE id = 1",
                                      (*self._tip, _records.now()))
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                self._rulebooks.clear()
                self._tip = None
                raise
            self._tip = None
            self.conn.execute("COMMIT")

    def _append(self, table: str, *key: Any) -> None:
        """Chain the row just inserted into the ledger (inside the write transaction; issue 11.2)."""
        if self._tip is None:
            last = self.conn.execute("SELECT seq, chain FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
            self._tip = (int(last[0]), str(last[1])) if last else (0, ledger.GENESIS)
        digest = ledger.row_hash(self.conn, table, key)
        assert digest is not None, (table, key)
        text = ledger.key_text(key)
        seq, chain = self._tip[0] + 1, ledger.chain_hash(self._tip[1], table, text, digest)
        self.conn.execute("INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?)", (seq, table, text, digest, chain,
                                                                            _records.now()))
        self._tip = (seq, chain)

    def _check_chain(self) -> None:
        """Refuse to write to a store whose append-only triggers are gone, whose head does not match its
        ledger, or whose tables hold more or fewer rows than its ledger chains (a quick look at every
        open for writing; `pingji verify` re-hashes everything)."""
        triggers = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        missing = sorted(ledger.expected_triggers() - triggers)
        problem = f"the trigger {missing[0]} is missing" if missing else None
        if problem is None:
            last = self.conn.execute("SELECT seq, chain FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
            head = self.conn.execute("SELECT seq, chain FROM store_head WHERE id = 1").fetchone()
            if tuple(last or (0, ledger.GENESIS)) != tuple(head or ()):
                problem = "its head does not match the end of its ledger"
        if problem is None:
            chained = dict(self.conn.execute("SELECT tbl, count(*) FROM ledger GROUP BY tbl").fetchall())
            for table in ledger.CHAINED:
                rows = self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                if rows != chained.get(table, 0):
                    problem = f"{table} has {rows} rows and its ledger {chained.get(table, 0)}"
                    break
        if problem is not None:
            raise StoreError(f"the store was changed outside pingji ({problem}); nothing was written. "
                             f"Run pingji verify --db {self.path} to see what changed, or start a new store",
                             Location(self.path), code="E832")

    def _tables(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]

    def _prepare_connection(self) -> None:
        conn = self.conn
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        self._check_owner()  # an empty file becomes a new store below
        self._use_wal()
        conn.execute("PRAGMA foreign_keys = ON")

    def _check_owner(self) -> bool:
        """True for a pingji store, False for an empty SQLite file; StoreError for another program's database."""
        app_id = self.conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id == APPLICATION_ID:
            return True
        tables = self._tables()
        if app_id != 0 or tables:
            shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
            raise StoreError(f"not a pingji store: another program's SQLite database (tables: {shown or 'none'})",
                             Location(self.path))
        return False

    def _use_wal(self) -> None:
        """Switch the file to WAL mode. Changing the journal mode does not wait on SQLite's busy
        handler: while another process creates a new store, it fails at once with "database is
        locked". So wait here, as a write would, up to the busy timeout."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        delay = 0.005
        while True:
            try:
                if str(self.conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                    self.conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                text = str(exc)
                if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _version(self) -> int:
        if "schema_version" not in self._tables():
            return 0
        return int(self.conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])

    def _migrate(self) -> None:
        if self._version() == SCHEMA_VERSION:
            return
        with self._write():
            current = self._version()  # again, under the write lock: another process may have migrated
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"written by a newer pingji (store schema {current}; this pingji knows up to "
                    f"{SCHEMA_VERSION})",
                    Location(self.path),
                )
            if current == 0:
                if self._tables():  # raced with another program creating its own tables
                    raise StoreError(
                        "not a pingji store: another program's SQLite database", Location(self.path)
                    )
                self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                self.db.create_table(
                    "schema_version", {"version": int, "description": str, "applied_at": str}, pk="version"
                )
            for m in MIGRATIONS:
                if m.version > current:
                    m.apply(self.db)
                    self.conn.execute(
                        "INSERT INTO schema_version VALUES (?, ?, ?)",
                        (m.version, m.description, _records.now()),
                    )

    def schema_version(self) -> int:
        with self._guard():
            return self._version()
