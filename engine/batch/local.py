"""Rating a portfolio: CSV, JSONL or a folder of fact files, streamed, on all cores, resumable.

    result = run_batch("portfolio.csv", store, workers=4, progress=bar.update)

- Streaming: records are read one at a time and at most a few chunks per worker are in flight, so
  memory does not grow with the input.
- Parallel: worker processes (spawned; each loads and compiles its rulebooks once) rate chunks of
  records and send back rows ready to insert; only this process writes, in transactions of
  `commit_every` records, in input order.
- Resumable: a batch is identified by the hash of its input's content and of the rulebook (or of
  the whole catalog when the rulebook is chosen per customer). Every stored record carries its key
  (line number, or file name in a folder); a rerun skips the keys already stored, so a batch killed
  half-way and run again stores every record exactly once.
- Failures do not stop a batch: a record that cannot be read, fails its facts schema or has no
  rulebook is stored as a failure with its line and reason.
- Beyond one machine: `run_batch(..., scheduler="tcp://host:8786")` rates the chunks on a Dask
  cluster instead of local processes (pingji.batch.cluster); streaming, order, writing and resuming are
  the same, and still only this process writes.

Input formats. CSV: a header row of dotted fact paths (`financials.current.revenue`), one customer
per row, an empty cell is a missing fact (see pingji.lang.flatfacts). JSONL: one JSON object per line.
Folder: every *.yaml, *.yml and *.json file under it, in name order.
"""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pingji.rating import catalog
from pingji.builtin import rulebooks_dir
from pingji.diagnostics import Location
from pingji.errors import BatchError, ClusterLost, PingjiError
from pingji.rating.run import evaluate
from pingji.lang.facts import parse_facts, read_facts
from pingji.lang.flatfacts import check_header, nest
from pingji.rating.model import Rulebook
from pingji.store.records import RulebookInfo, prepare, rulebook_info
from pingji.rating.load import load_rulebook
from pingji.lang.source import read_bytes
from pingji.store.database import Outcome, Store

if TYPE_CHECKING:  # pingji.batch.cluster is imported only when a batch runs on a Dask cluster
    from pingji.batch.cluster import Cluster

DEFAULT_COMMIT_EVERY = 500
FACT_SUFFIXES = (".yaml", ".yml", ".json")
RECORDS_PER_WORKER_FOR_SPAWN = (
    200  # below this many records per worker, extra processes cost more than they save
)

__all__ = ["BatchRun", "LoadedRulebooks", "Source", "open_source", "run_batch"]


@dataclass(frozen=True)
class Raw:
    """One record as read: its key in the batch, its line (None in a folder), and what to parse."""

    key: str
    line: int | None
    data: Any  # CSV: {column: cell}; JSONL: the line's text; folder: the file's path (or its bytes)
    error: str | None = None  # a CSV row that cannot be a record (E902)
    failure: tuple[str, str] | None = None  # (code, message): a fact file that could not be read


def portable(raw: Raw, kind: str, display: str) -> Raw:
    """The record as a process on another machine can rate it: a fact file's bytes instead of its path."""
    if kind != "folder" or not isinstance(raw.data, str):
        return raw
    try:
        return replace(raw, data=read_bytes(raw.data, os.path.join(display, raw.key)))
    except PingjiError as exc:  # unreadable or too large: failed here, as it would fail there
        return replace(raw, data=None, failure=(exc.code, str(exc)))


class Source:
    """A batch input: its kind, the hash of its content, how many records, and the records."""

    def __init__(self, path: str | os.PathLike[str]):
        self.display = str(path)
        self.path = Path(path)
        if not self.path.exists():
            raise BatchError(f"input '{self.display}' not found")
        if self.path.is_dir():
            self.kind = "folder"
        elif self.path.suffix.lower() == ".csv":
            self.kind = "csv"
        elif self.path.suffix.lower() in (".jsonl", ".ndjson"):
            self.kind = "jsonl"
        else:
            raise BatchError(f"input '{self.display}' is not a .csv or .jsonl file or a folder of fact files")
        self.header: list[str] = []
        if self.kind == "csv":
            self.header = self._header()

    def _files(self) -> Iterator[Path]:
        for p in sorted(self.path.rglob("*"), key=lambda q: q.relative_to(self.path).as_posix()):
            if p.is_file() and p.suffix.lower() in FACT_SUFFIXES:
                yield p

    def digest(self) -> str:
        """sha256 of the content (for a folder: of every fact file's name and content)."""
        h = hashlib.sha256(self.kind.encode())
        paths = list(self._files()) if self.kind == "folder" else [self.path]
        for p in paths:
            if self.kind == "folder":
                h.update(b"\0" + p.relative_to(self.path).as_posix().encode() + b"\0")
            try:
                with open(p, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
            except OSError as exc:
                raise BatchError(f"cannot read '{p}': {exc.strerror}") from None
        return h.hexdigest()

    def count(self) -> int:
        return sum(1 for _ in self.records())

    def _open_text(self) -> Any:
        try:
            return open(self.path, encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise BatchError(f"cannot read '{self.display}': {exc.strerror}") from None

    def _header(self) -> list[str]:
        with self._open_text() as fh:
            try:
                header = next(csv.reader(fh), None)
            except (UnicodeDecodeError, csv.Error) as exc:
                raise BatchError(f"{self.display}:1: the header row cannot be read: {exc}") from None
        if not header or not any(h.strip() for h in header):
            raise BatchError(
                f"{self.display}: no header row: the first row must name the facts "
                f"(dotted paths such as financials.current.revenue)"
            )
        problems = check_header(header)
        if problems:
            raise BatchError(f"{self.display}:1: bad header: " + "; ".join(problems))
        return [h.strip() for h in header]

    def records(self) -> Iterator[Raw]:
        try:
            if self.kind == "folder":
                for p in self._files():
                    yield Raw(p.relative_to(self.path).as_posix(), None, str(p))
            elif self.kind == "jsonl":
                with self._open_text() as fh:
                    for n, text in enumerate(fh, 1):
                        if text.strip():
                            yield Raw(str(n), n, text)
            else:
                yield from self._csv_records()
        except UnicodeDecodeError as exc:
            raise BatchError(
                f"{self.display}: not UTF-8 text (byte {exc.start} of a block: {exc.reason})"
            ) from None

    def _csv_records(self) -> Iterator[Raw]:
        width = len(self.header)
        with self._open_text() as fh:
            reader = csv.reader(fh)
            next(reader, None)
            while True:
                start = reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield Raw(str(start), start, None, f"malformed CSV: {exc}")
                    continue
                if not any(c.strip() for c in row):
                    continue
                if len(row) > width:
                    yield Raw(
                        str(start), start, None, f"{len(row)} cells but the header names {width} columns"
                    )
                    continue
                yield Raw(str(start), start, dict(zip(self.header, row)))


def open_source(path: str | os.PathLike[str]) -> Source:
    return Source(path)


def catalog_key(folder: Path | None = None) -> str:
    """What identifies "the rulebook chosen per customer": a hash of every rulebook file of the catalog."""
    h = hashlib.sha256()
    for p in sorted((folder or rulebooks_dir()).glob("*.yaml")):
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return "auto:" + h.hexdigest()


# -- the work of one process ----------------------------------------------------------------------
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
    def load(cls, rulebook: str | Rulebook | None) -> LoadedRulebooks:
        if rulebook is not None:
            return cls(rulebook if isinstance(rulebook, Rulebook) else load_rulebook(catalog.find(rulebook)))
        entries = tuple(catalog.catalog())
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
    unless given them already loaded (`loaded`, see LoadedRulebooks)."""

    def __init__(self, rulebook: str | None, kind: str, display: str, loaded: LoadedRulebooks | None = None):
        self.kind, self.display = kind, display
        self.paths: dict[tuple[str, str, str], Path] = {}
        self.books: dict[Path, Rulebook | PingjiError] = {}
        self.infos: dict[str, RulebookInfo] = {}
        self.fixed: Rulebook | None
        if loaded is None:
            self.fixed = load_rulebook(catalog.find(rulebook)) if rulebook else None
            self.entries = catalog.catalog() if rulebook is None else None
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
        facts: Any = None
        where = f"{self.display}:{raw.line}" if raw.line is not None else os.path.join(self.display, raw.key)
        try:
            if raw.error is not None:
                return _failed(raw, None, "E902", f"{where}: error[E902]: {raw.error}")
            if raw.failure is not None:
                return _failed(raw, None, *raw.failure)
            locate: Any = None
            label = where
            if self.kind == "folder":
                if isinstance(raw.data, bytes):
                    doc = parse_facts(raw.data, where)
                else:
                    doc = read_facts(raw.data, display_name=where)
                facts, locate, label = doc.data, doc.locate, doc.file
            elif self.kind == "jsonl":
                try:
                    facts = json.loads(raw.data)
                except ValueError as exc:
                    col = getattr(exc, "colno", 0)
                    return _failed(
                        raw, None, "E901", f"{where}:{col}: error[E901]: not JSON: {getattr(exc, 'msg', exc)}"
                    )
            else:
                facts = nest(raw.data)
            if not isinstance(facts, dict):
                return _failed(
                    raw,
                    None,
                    "E903",
                    f"{where}: error[E903]: a record must be an object of facts; got {type(facts).__name__}",
                )
            rb = self.rulebook_for(facts)
            if self.kind == "csv":
                facts = nest(raw.data, rb.facts_schema)
            if locate is None:
                line = raw.line or 0
                locate = lambda path: Location(self.display, line)
            ev = evaluate(rb, facts, locate=locate, label=label)
            return Outcome(raw.key, raw.line, prepare(ev, facts, info=self.info(rb)), ev.customer_id)
        except PingjiError as exc:
            text = str(exc)
            return _failed(
                raw, facts, exc.code, text if not text.startswith("error[") else f"{where}: {text}"
            )
        except Exception as exc:  # noqa: BLE001 - one bad record must not stop the batch
            return _failed(
                raw, facts, "E999", f"{where}: error[E999]: internal error: {type(exc).__name__}: {exc}"
            )


def _failed(raw: Raw, facts: Any, code: str, reason: str) -> Outcome:
    cid = facts.get("id") if isinstance(facts, dict) else None
    return Outcome(
        raw.key, raw.line, customer_id=str(cid) if cid is not None else None, code=code, reason=reason
    )


_RATER: Rater | None = None


def _init(rulebook: str | None, kind: str, display: str) -> None:
    global _RATER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it keeps what is done
    _RATER = Rater(rulebook, kind, display)


def _work(chunk: list[Raw]) -> list[Outcome]:
    assert _RATER is not None
    return [_RATER.rate(r) for r in chunk]


def _chunks(records: Iterator[Raw], size: int) -> Iterator[list[Raw]]:
    chunk: list[Raw] = []
    for r in records:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _outcomes(
    records: Iterator[Raw],
    args: tuple[str | None, str, str],
    workers: int,
    chunk_size: int,
    cluster: Cluster | None = None,
    loaded: LoadedRulebooks | None = None,
    batch_id: str = "",
) -> Iterator[Outcome]:
    """Outcomes in input order; at most 4 chunks per worker in flight (per worker thread on a cluster)."""
    if cluster is not None:
        assert loaded is not None
        _, kind, display = args
        portables = (portable(r, kind, display) for r in records)
        yield from cluster.outcomes(portables, loaded, kind, display, chunk_size, batch_id)
        return
    if workers <= 1:
        rater = Rater(*args)
        for r in records:
            yield rater.rate(r)
        return
    pool = ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init, initargs=args
    )
    pending: deque[Future[list[Outcome]]] = deque()
    try:
        for chunk in _chunks(records, chunk_size):
            pending.append(pool.submit(_work, chunk))
            while len(pending) >= workers * 4:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    except BrokenProcessPool:
        raise BatchError(
            "a worker process died; the records stored so far are kept: run the batch again to resume"
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# -- the batch ------------------------------------------------------------------------------------
@dataclass
class BatchRun:
    batch_id: str
    input: str
    kind: str
    records: int
    rulebook: str
    workers: int  # local processes, or the Dask workers when `scheduler` is set
    resumed: bool
    scheduler: str | None = None  # the Dask scheduler the batch ran on
    rated: int = 0  # by this run
    failed: int = 0  # by this run
    skipped: int = 0  # already stored by an earlier run
    summary: dict[str, Any] = field(default_factory=dict)  # the whole batch, every run
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed_total(self) -> int:
        return int(self.summary.get("failed", 0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "input": self.input,
            "kind": self.kind,
            "records": self.records,
            "rulebook": self.rulebook,
            "workers": self.workers,
            "scheduler": self.scheduler,
            "resumed": self.resumed,
            "this_run": {"rated": self.rated, "failed": self.failed, "skipped": self.skipped},
            "rated": self.summary.get("rated", 0),
            "failed": self.failed_total,
            "grade_order": self.summary.get("grade_order", []),
            "sections": self.summary.get("sections", []),
            "failures": self.failures,
        }


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def run_batch(
    input_path: str | os.PathLike[str],
    store: Store,
    *,
    rulebook: str | None = None,
    workers: int | None = None,
    commit_every: int = DEFAULT_COMMIT_EVERY,
    failures_shown: int | None = None,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[BatchRun], None] | None = None,
    scheduler: str | Cluster | None = None,
    scheduler_timeout: float | None = None,
) -> BatchRun:
    """Rate every record of the input into `store`; see the module docstring.

    `scheduler` rates on a Dask cluster instead of local processes, and excludes `workers`: a
    scheduler address (tcp://host:port; `scheduler_timeout` is how long to wait for it to answer and
    to have a worker, pingji.batch.cluster.DEFAULT_TIMEOUT seconds by default), or a Cluster already
    connected (pingji.batch.cluster.connect; left open). A cluster that cannot be used raises
    ClusterUnavailable before anything is stored; one that fails during the batch raises ClusterLost
    after storing what was rated before.
    """
    if scheduler is not None and workers is not None:
        raise ValueError("run_batch: give workers (local processes) or scheduler (a Dask cluster), not both")
    source = open_source(input_path)
    rb: Rulebook | None = None
    if rulebook is not None:
        rb = load_rulebook(catalog.find(rulebook))  # refuse a bad rulebook before any record
        rb_key, rb_label = rb.content_hash, rulebook
    else:
        rb_key, rb_label = catalog_key(), "auto"
    cluster: Cluster | None = None
    if isinstance(scheduler, str):
        from pingji.batch.cluster import DEFAULT_TIMEOUT, connect

        # Connected before the store hears of the batch: a cluster that cannot be used stores nothing.
        cluster = connect(scheduler, DEFAULT_TIMEOUT if scheduler_timeout is None else scheduler_timeout)
    elif scheduler is not None:
        cluster = scheduler
    try:
        loaded = LoadedRulebooks.load(rb) if cluster is not None else None
        return _run(source, store, rulebook, rb_key, rb_label, workers, cluster, loaded, commit_every,
                    failures_shown, progress, on_start)
    finally:
        if cluster is not None and cluster is not scheduler:
            cluster.close()


def _run(
    source: Source,
    store: Store,
    rulebook: str | None,
    rb_key: str,
    rb_label: str,
    workers: int | None,
    cluster: Cluster | None,
    loaded: LoadedRulebooks | None,
    commit_every: int,
    failures_shown: int | None,
    progress: Callable[[int], None] | None,
    on_start: Callable[[BatchRun], None] | None,
) -> BatchRun:
    """The body of run_batch, once the rulebook is loaded and the cluster (if any) connected."""
    input_hash = source.digest()
    batch_id = "B" + hashlib.sha256(f"{input_hash}\n{rb_key}".encode()).hexdigest()[:12]
    total = source.count()
    if cluster is not None:
        workers = cluster.workers
    elif workers is None:
        workers = max(1, min(default_workers(), total // RECORDS_PER_WORKER_FOR_SPAWN))
    workers = max(1, workers)
    new = store.begin_batch(
        batch_id,
        input_path=source.display,
        input_hash=input_hash,
        input_kind=source.kind,
        records=total,
        rulebook=rb_label,
        rulebook_key=rb_key,
        workers=workers,
    )
    run = BatchRun(
        batch_id,
        source.display,
        source.kind,
        total,
        rb_label,
        workers,
        resumed=not new,
        scheduler=cluster.address if cluster is not None else None,
    )
    if on_start is not None:
        on_start(run)
    commit_every = max(1, commit_every)

    def todo() -> Iterator[Raw]:
        for raw in source.records():
            # A new batch has nothing stored to skip (write_outcomes still checks, under the write lock,
            # in case another run of the same batch is storing it at the same time).
            if not new and store.batch_has(batch_id, raw.key):
                run.skipped += 1
                if progress is not None:
                    progress(1)
                continue
            yield raw

    buffer: list[Outcome] = []

    def flush() -> None:
        if buffer:
            rated, failed = store.write_outcomes(batch_id, buffer)
            run.rated += rated
            run.failed += failed
            buffer.clear()

    parallel = cluster.threads if cluster is not None else workers
    chunk = max(1, min(64, commit_every // max(1, parallel)))
    args = (rulebook, source.kind, source.display)
    try:
        for outcome in _outcomes(todo(), args, workers, chunk, cluster, loaded, batch_id):
            buffer.append(outcome)
            if progress is not None:
                progress(1)
            if len(buffer) >= commit_every:
                flush()
    except (KeyboardInterrupt, ClusterLost):
        flush()  # keep what is done: a rerun resumes after it
        raise
    flush()
    store.finish_batch(batch_id, rated=run.rated, failed=run.failed, skipped=run.skipped)
    run.summary = store.batch_summary(batch_id)
    run.failures = store.batch_failures(batch_id, failures_shown)
    return run
