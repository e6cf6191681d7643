"""Rating batch records in one process: the rulebooks a batch rates with, and the `Rater`.

Local worker processes (pingji.batch.local) and Dask workers (pingji.batch.cluster) rate with the
same `Rater`; `chunks` cuts the records into the pieces they are sent in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pingji.batch.sources import Raw, record_facts, where
from pingji.builtin import rulebooks_dir
from pingji.errors import PingjiError
from pingji.rating import catalog
from pingji.rating.load import load_rulebook
from pingji.rating.model import Rulebook
from pingji.rating.run import evaluate
from pingji.store.database import Outcome
from pingji.store.records import RulebookInfo, prepare, rulebook_info

__all__ = ["LoadedRulebooks", "Rater", "Refusal", "RefusedRulebook", "catalog_key", "chunks"]


def catalog_key(folder: Path | None = None, user: catalog.Folders = ()) -> str:
    """What identifies "the rulebook chosen per customer": a hash of every rulebook file of the catalog,
    the user's folders (their files by path) included."""
    h = hashlib.sha256()
    for p in sorted((folder or rulebooks_dir()).glob("*.yaml")):
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    for d in user:
        for p in sorted([*Path(d).glob("*.yaml"), *Path(d).glob("*.yml")]):
            h.update(b"user\0" + str(p).encode() + b"\0" + p.read_bytes() + b"\0")
    return "auto:" + h.hexdigest()


@dataclass(frozen=True)
class Refusal:
    """A rulebook of the catalog that did not load, as text (its exception does not pickle)."""

    code: str
    text: str


class RefusedRulebook(PingjiError):
    """A rulebook that did not load where the batch started; the message is its diagnostics as they were."""

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class LoadedRulebooks:
    """What a batch rates with, already loaded: the rulebook named, or every rating rulebook of the
    catalog and its entries (to choose one per customer).

    Loaded in one process, it rates in another that cannot read the files (a Dask worker): a loaded
    `Rulebook` is frozen dataclasses that pickle, with `extends` resolved, its facts schema inside
    and the file names its trace shows. A rulebook that fails to load is kept as its `Refusal`, so
    the customers it applies to fail with its diagnostics, as in a local batch.
    """

    fixed: Rulebook | None
    entries: tuple[catalog.Entry, ...] | None = None
    books: tuple[tuple[Path, Rulebook | Refusal], ...] = ()

    @classmethod
    def load(cls, rulebook: str | Rulebook | None, user: catalog.Folders = ()) -> LoadedRulebooks:
        if rulebook is not None:
            return cls(rulebook if isinstance(rulebook, Rulebook) else load_rulebook(catalog.find(rulebook, user=user)))
        entries = tuple(catalog.catalog(user=user))
        books: list[tuple[Path, Rulebook | Refusal]] = []
        for e in entries:
            if e.kind == "rating":  # catalog.select chooses among these only
                try:
                    books.append((e.path, load_rulebook(e.path)))
                except PingjiError as exc:
                    books.append((e.path, Refusal(exc.code, str(exc))))
        return cls(None, entries, tuple(books))

    def key(self) -> str:
        """What tells two loads apart: every rulebook's content hash and file names (they show in traces)."""
        books = [(None, self.fixed)] if self.fixed is not None else self.books
        parts = [
            (str(p), rb.content_hash, rb.sources) if isinstance(rb, Rulebook) else (str(p), rb.code, rb.text)
            for p, rb in books
        ]
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


class Rater:
    """Rates records in one process: loads each rulebook once (the named one, or one per customer kind),
    unless given them already loaded (`loaded`, see LoadedRulebooks); `user`: the user's rulebook folders."""

    def __init__(self, rulebook: str | None, kind: str, display: str, loaded: LoadedRulebooks | None = None,
                 user: catalog.Folders = ()):
        self.kind, self.display = kind, display
        self.paths: dict[tuple[str, str, str], Path] = {}
        self.books: dict[Path, Rulebook | PingjiError] = {}
        self.infos: dict[str, RulebookInfo] = {}
        self.fixed: Rulebook | None
        if loaded is None:
            self.fixed = load_rulebook(catalog.find(rulebook, user=user)) if rulebook else None
            self.entries = catalog.catalog(user=user) if rulebook is None else None
            return
        self.fixed = loaded.fixed
        self.entries = list(loaded.entries) if loaded.entries is not None else None
        for path, rb in loaded.books:
            self.books[path] = rb if isinstance(rb, Rulebook) else RefusedRulebook(rb.text, code=rb.code)

    def rulebook_for(self, facts: dict[str, Any]) -> Rulebook:
        if self.fixed is not None:
            return self.fixed
        ident = facts.get("identity")
        industry = ident.get("industry") if isinstance(ident, dict) else None
        industry = industry if isinstance(industry, dict) else {}
        key = (
            str(facts.get("customer_type")),
            str(industry.get("section") or ""),
            str(industry.get("division") or ""),
        )
        path = self.paths.get(key)
        if path is None:
            path = self.paths[key] = catalog.select(facts, entries=self.entries)
        rb = self.books.get(path)
        if rb is None:
            try:
                rb = self.books[path] = load_rulebook(path)
            except PingjiError as exc:  # a broken rulebook: every customer it applies to fails, once
                rb = self.books[path] = exc
        if isinstance(rb, PingjiError):
            raise rb
        return rb

    def info(self, rb: Rulebook) -> RulebookInfo:
        i = self.infos.get(rb.content_hash)
        if i is None:
            i = self.infos[rb.content_hash] = rulebook_info(rb)
        return i

    def rate(self, raw: Raw) -> Outcome:
        """The outcome of one record: its rating, or a failure with its code and a pinned error text."""
        facts: Any = None
        place = where(self.display, raw)
        try:
            if raw.failure is not None:  # stored as the reading machine said it
                return _failed(raw, None, *raw.failure)
            facts, locate, label = record_facts(raw, self.kind, self.display)
            rb = self.rulebook_for(facts)
            if self.kind == "csv":  # typed by the facts schema of the rulebook chosen
                facts, locate, label = record_facts(raw, self.kind, self.display, rb.facts_schema)
            ev = evaluate(rb, facts, locate=locate, label=label)
            return Outcome(raw.key, raw.line, prepare(ev, facts, info=self.info(rb)), ev.customer_id)
        except PingjiError as exc:
            text = str(exc)
            return _failed(
                raw, facts, exc.code, text if not text.startswith("error[") else f"{place}: {text}"
            )
        except Exception as exc:  # noqa: BLE001 - one bad record must not stop the batch
            return _failed(
                raw, facts, "E999", f"{place}: error[E999]: internal error: {type(exc).__name__}: {exc}"
            )


def _failed(raw: Raw, facts: Any, code: str, reason: str) -> Outcome:
    cid = facts.get("id") if isinstance(facts, dict) else None
    return Outcome(
        raw.key, raw.line, customer_id=str(cid) if cid is not None else None, code=code, reason=reason
    )


def chunks(records: Iterator[Raw], size: int) -> Iterator[list[Raw]]:
    """The records in lists of `size` (the last one shorter), read as they are asked for."""
    chunk: list[Raw] = []
    for r in records:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
